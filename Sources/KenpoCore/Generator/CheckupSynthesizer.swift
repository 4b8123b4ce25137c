import Foundation

/// One result item of a synthetic checkup, before it is written as XML.
struct SynthResult {
    enum XsiType {
        case pq, cd, co, st
        var name: StaticString {
            switch self {
            case .pq: return "PQ"
            case .cd: return "CD"
            case .co: return "CO"
            case .st: return "ST"
            }
        }
    }

    enum Value {
        /// PQ: `scaled / 10^decimals` in `unit`.
        case quantity(scaled: Int, decimals: Int, unit: CheckupUnit)
        /// CD or CO with a code from `system`.
        case coded(type: XsiType, code: String, system: String, display: String)
        case text(String)
        /// Could not be measured: `<value xsi:type=… nullFlavor=…/>`.
        case missing(type: XsiType, flavor: String)
        /// Not done: `negationInd="true"` and no value.
        case notDone
        /// Beyond the input range: the measured value (unless the institution writes the code only)
        /// and a CD "H" (at or above the upper bound) or "L" (at or below the lower bound).
        case outOfRange(scaled: Int, decimals: Int, unit: CheckupUnit, high: Bool)
    }

    var code: String
    var name: String
    var value: Value
    /// "H", "L", "N" or nil.
    var interpretation: StaticString? = nil
    /// Reference range (same scale and unit as the value).
    var range: (low: Int, high: Int)? = nil
    /// The examining doctor, written as the observation's author.
    var author: String? = nil
}

enum CheckupEntry {
    case single(SynthResult)
    /// A group observation (code nullFlavor="NA") with its members through entryRelationship typeCode="COMP".
    case group([SynthResult])
}

struct CheckupSection {
    var code: StaticString
    var title: StaticString
    var entries: [CheckupEntry] = []
}

/// A synthetic checkup: who, where, when, and the results.
struct SyntheticCheckup {
    var subject: HealthRecordSubject
    var institution: Int
    var checkupDate: CalendarDate
    /// The document's own date (file creation), after the checkup date.
    var createdDate: CalendarDate
    var sections: [CheckupSection] = []
    /// Result observations written (group containers not counted; nullFlavor and not-done items counted).
    var resultCount = 0
    /// Any value at or beyond MHLW's consultation threshold (受診勧奨判定値), bound values included.
    var abnormal = false
    /// Edge cases present, for tests: see `CheckupFeature`.
    var features: CheckupFeature = []
    /// 11-digit checkup ticket number (when the institution writes the ticket participant).
    var ticket: Int = 0
    /// A UUID for ClinicalDocument/id (when the institution writes one).
    var uuid: (UInt64, UInt64) = (0, 0)
    /// Whether this document gets a byte-order mark.
    var bom = false
}

/// Which value kinds and edge cases a generated checkup contains.
struct CheckupFeature: OptionSet, Hashable {
    let rawValue: Int
    static let quantity = CheckupFeature(rawValue: 1 << 0)
    static let cd = CheckupFeature(rawValue: 1 << 1)
    static let co = CheckupFeature(rawValue: 1 << 2)
    static let st = CheckupFeature(rawValue: 1 << 3)
    static let nullFlavor = CheckupFeature(rawValue: 1 << 4)
    static let notDone = CheckupFeature(rawValue: 1 << 5)
    static let boundHigh = CheckupFeature(rawValue: 1 << 6)
    static let boundLow = CheckupFeature(rawValue: 1 << 7)
    static let interpretation = CheckupFeature(rawValue: 1 << 8)
    static let referenceRange = CheckupFeature(rawValue: 1 << 9)
    static let group = CheckupFeature(rawValue: 1 << 10)
    static let doctorAuthor = CheckupFeature(rawValue: 1 << 11)
    static let nonHDL = CheckupFeature(rawValue: 1 << 12)
    static let hba1cJDS = CheckupFeature(rawValue: 1 << 13)
    static let escapedText = CheckupFeature(rawValue: 1 << 14)
}

/// Makes realistic checkup values for one person: by sex and age, with about a quarter of people
/// "at risk" (one to three conditions with values at or beyond MHLW's consultation thresholds) and
/// everyone else below them (guidance-level values do occur). Rare edge cases (could not measure,
/// not done, beyond the input range) are injected at `edgeCaseRate`.
struct CheckupSynthesizer {
    var edgeCaseRate: Double

    private enum Condition: Int, CaseIterable { case hypertension, ldl, triglyceride, diabetes, liver, kidney, anemia }
    private enum Edge { case none, missing, notDone, boundHigh, boundLow }
    /// Items an edge case can hit.
    private enum Target: Int { case waist, tg, ldl, ast, ggt, urineProtein, urineGlucose, hba1c }

    // Item codes (code system 1.2.392.200119.6.1005).
    static let height = "9N001000000000001", weight = "9N006000000000001", bmi = "9N011000000000001"
    static let waistMeasured = "9N016160100000001", waistSelfJudged = "9N016160200000001", waistSelfReported = "9N016160300000001"
    static let sbp1 = "9A751000000000001", sbp2 = "9A752000000000001", sbpOther = "9A755000000000001"
    static let dbp1 = "9A761000000000001", dbp2 = "9A762000000000001", dbpOther = "9A765000000000001"
    static let drawTiming = "9N141000000000011"
    static let egfr = "8A065000002391901", nonHDL = "3F069000002391901"
    static let hematocrit = "2A040000001930102", hemoglobin = "2A030000001930101", rbc = "2A020000001930101"
    static let ecgDone = "9A110160700000011", ecgFindings = "9A110160800000049"
    static let metabo = "9N501000000000011", guidance = "9N506000000000011"
    static let doctorJudgement = "9N511000000000049", doctorName = "9N516000000000049"
    static let medsBP = "9N701000000000011", medsGlucose = "9N706000000000011", medsLipid = "9N711000000000011"
    static let smoking = "9N736000000000011"

    // Value code systems.
    static let urineLevels = "1.2.392.200119.6.2102"
    static let mealTiming = "1.2.392.200119.6.2202"
    static let findingCodes = "1.2.392.200119.6.2002"
    static let yesNo = "1.2.392.200119.6.2003"
    static let metaboCodes = "1.2.392.200119.6.1008"
    static let guidanceCodes = "1.2.392.200119.6.3001"

    static let urineDisplay = ["－", "±", "＋", "２＋", "３＋"]
    static let ecgTexts = ["洞性徐脈", "左室高電位", "不完全右脚ブロック", "上室性期外収縮", "ＳＴ－Ｔ変化", "左軸偏位"]

    /// Builds the checkup (values and document features) for `subject` at `institution`.
    func make(subject: HealthRecordSubject, institution index: Int, checkupDate: CalendarDate,
              createdDate: CalendarDate, rng: inout SeededRandom) -> SyntheticCheckup {
        let inst = CheckupInstitutions.all[index]
        var c = SyntheticCheckup(subject: subject, institution: index, checkupDate: checkupDate, createdDate: createdDate)
        let male = subject.male
        let age = Double(ageOn(checkupDate, born: subject.birthDate))
        let a40 = age - 40

        // Document-level draws.
        c.ticket = 10_000_000_000 + rng.below(90_000_000_000)
        c.uuid = (rng.next(), rng.next())
        c.bom = !inst.shiftJIS && rng.chance(inst.bomShare)

        // Who is at risk, and of what.
        let riskShare = (male ? 0.19 : 0.12) + 0.003 * a40
        var conditions = Set<Condition>()
        if rng.chance(riskShare) {
            let n = 1 + rng.weighted([65, 27, 8])
            while conditions.count < n {
                let k = rng.weighted([30, 30, 12, 14, 14, 5, male ? 3 : 9])
                conditions.insert(Condition(rawValue: k)!)
            }
        }
        let metabolic = conditions.contains(.hypertension) || conditions.contains(.diabetes) || conditions.contains(.triglyceride)

        // Edge case for this document.
        var edge = Edge.none
        var target = Target.waist
        if rng.chance(edgeCaseRate) {
            edge = [Edge.missing, .notDone, .boundHigh, .boundLow][rng.below(4)]
            switch edge {
            case .missing: target = [Target.ast, .urineProtein, .tg, .waist][rng.below(4)]
            case .notDone: target = [Target.waist, .urineGlucose, .urineProtein, .ldl, .hba1c][rng.below(5)]
            case .boundHigh: target = rng.chance(0.5) ? .tg : .ggt
            case .boundLow: target = rng.chance(0.5) ? .tg : .ldl
            case .none: break
            }
        }
        func hit(_ t: Target) -> Edge { edge != .none && target == t ? edge : .none }

        var s1 = CheckupSection(code: "01010", title: "特定健診検査・問診結果")
        var s2 = CheckupSection(code: "01990", title: "任意追加項目")

        // Body measurements.
        let height = rng.normal(male ? 171.5 - 0.15 * a40 : 158.5 - 0.15 * a40, male ? 5.8 : 5.3)
        var bmiTrue = male ? rng.normal(23.2, 2.6) : rng.normal(21.6, 2.8)
        bmiTrue = min(max(bmiTrue, 16.5), 31)
        if metabolic { bmiTrue += rng.halfNormal(1.5, 2.0) }
        let heightScaled = Int((height * 10).rounded())
        let h = Double(heightScaled) / 1000
        let weightScaled = Int((bmiTrue * h * h * 10).rounded())
        let bmiScaled = Int((Double(weightScaled) / 10 / (h * h) * 10).rounded())
        let bmiValue = Double(bmiScaled) / 10
        let waistScaled = Int(((male ? 84 + (bmiValue - 23.2) * 2.6 + rng.normal(0, 3.5)
                                    : 80 + (bmiValue - 21.6) * 2.4 + rng.normal(0, 4)) * 10).rounded())
        s1.entries.append(.single(quantity(Self.height, "身長", heightScaled, 1, .cm, &c)))
        s1.entries.append(.single(quantity(Self.weight, "体重", weightScaled, 1, .kg, &c)))
        let waistCode = rng.chance(0.93) ? Self.waistMeasured : (rng.chance(0.5) ? Self.waistSelfJudged : Self.waistSelfReported)
        var waist = quantity(waistCode, "腹囲", waistScaled, 1, .cm, &c)
        apply(hit(.waist), to: &waist, type: .pq, &c)
        s1.entries.append(.single(waist))
        var bmi = quantity(Self.bmi, "ＢＭＩ", bmiScaled, 1, .bmi, &c)
        if inst.referenceRanges { addRange(&bmi, 185, 249, inst, &c) }
        s1.entries.append(.single(bmi))

        // Blood pressure: two readings and their mean.
        var sbp: Double, dbp: Double
        if conditions.contains(.hypertension) {
            sbp = rng.halfNormal(143, 12)
            dbp = rng.chance(0.7) ? rng.halfNormal(91, 6) : min(89, rng.normal(84, 4))
        } else {
            sbp = min(max(rng.normal(male ? 122 + 0.45 * a40 : 114 + 0.6 * a40, male ? 11 : 12), 90), 136)
            dbp = min(max(0.45 * sbp + 20 + rng.normal(0, 6), 50), 86)
        }
        let r1s = Int((sbp + rng.normal(0, 3)).rounded()), r2s = Int((sbp + rng.normal(0, 3)).rounded())
        let r1d = Int((dbp + rng.normal(0, 2)).rounded()), r2d = Int((dbp + rng.normal(0, 2)).rounded())
        let meanS = (r1s + r2s + 1) / 2, meanD = (r1d + r2d + 1) / 2
        var bp: [SynthResult] = []
        if inst.twoReadings {
            bp = [quantity(Self.sbp1, "収縮期血圧(1回目)", r1s, 0, .pressure, &c),
                  quantity(Self.sbp2, "収縮期血圧(2回目)", r2s, 0, .pressure, &c),
                  quantity(Self.sbpOther, "収縮期血圧(その他)", meanS, 0, .pressure, &c),
                  quantity(Self.dbp1, "拡張期血圧(1回目)", r1d, 0, .pressure, &c),
                  quantity(Self.dbp2, "拡張期血圧(2回目)", r2d, 0, .pressure, &c),
                  quantity(Self.dbpOther, "拡張期血圧(その他)", meanD, 0, .pressure, &c)]
            flag(meanS >= 140 || meanD >= 90, &c)
        } else {
            bp = [quantity(Self.sbp1, "収縮期血圧(1回目)", r1s, 0, .pressure, &c),
                  quantity(Self.dbp1, "拡張期血圧(1回目)", r1d, 0, .pressure, &c)]
            flag(r1s >= 140 || r1d >= 90, &c)
        }
        if inst.groupBloodPressure {
            s1.entries.append(.group(bp))
            c.features.insert(.group)
        } else {
            for r in bp { s1.entries.append(.single(r)) }
        }

        // Blood draw timing decides fasting or random glucose and triglycerides.
        let random = rng.chance(inst.randomDrawShare)
        s1.entries.append(.single(coded(Self.drawTiming, "採血時間(食後)", .cd, random ? "1" : "2", Self.mealTiming,
                                        random ? "食後10時間未満" : "食後10時間以上", &c)))

        // Lipids.
        var tg: Double
        if conditions.contains(.triglyceride) {
            tg = min(rng.halfNormal(320, 230), 1900)
        } else {
            tg = min(max(rng.logNormal(median: male ? 105 : 75, sigma: 0.42) * (random ? 1.15 : 1), 35), 290)
        }
        var hdl = conditions.contains(.triglyceride) && rng.chance(0.6)
            ? rng.normal(36, 3) : min(max(rng.normal(male ? 55 : 67, male ? 12 : 14), 36), 110)
        var ldl = conditions.contains(.ldl)
            ? min(rng.halfNormal(142, 30), 290)
            : min(max(rng.normal(112 + 0.3 * a40 + (male ? 0 : (age >= 50 ? 8 : -5)), 22), 62), 138)
        var tgEdge = hit(.tg)
        if tgEdge == .boundHigh { tg = Double(2000 + rng.below(2800)) }
        if tgEdge == .boundLow { tg = Double(5 + rng.below(6)) }
        let ldlEdge = hit(.ldl)
        if ldlEdge == .boundLow { ldl = Double(10 + rng.below(11)) }
        let tgScaled = Int(tg.rounded())
        var tgItem = quantity("3F01500000" + "2" + inst.lipidMethod, "中性脂肪(トリグリセリド)", tgScaled, 0, .massConc, &c)
        if tgEdge == .boundHigh || tgEdge == .boundLow {
            tgItem.value = .outOfRange(scaled: tgScaled, decimals: 0, unit: .massConc, high: tgEdge == .boundHigh)
            c.features.insert(tgEdge == .boundHigh ? .boundHigh : .boundLow)
            tgEdge = .none
        } else if inst.referenceRanges {
            addRange(&tgItem, 30, 149, inst, &c)
        }
        apply(tgEdge, to: &tgItem, type: .pq, &c)
        flag(tgScaled >= 300 && isValue(tgItem), &c)
        s1.entries.append(.single(tgItem))
        hdl = hdl.rounded()
        var hdlItem = quantity("3F07000000" + "2" + inst.lipidMethod, "HDLコレステロール", Int(hdl), 0, .massConc, &c)
        if inst.referenceRanges { addRange(&hdlItem, 40, 99, inst, &c) }
        s1.entries.append(.single(hdlItem))
        if tgScaled >= 400 && isValue(tgItem) {
            // LDL is not measured directly above TG 400: Non-HDL cholesterol instead.
            let nonHDLScaled = Int((ldl + tg / 5).rounded())
            var item = quantity(Self.nonHDL, "Non-HDLコレステロール", nonHDLScaled, 0, .massConc, &c)
            if inst.referenceRanges { addRange(&item, 90, 149, inst, &c) }
            flag(nonHDLScaled >= 170, &c)
            c.features.insert(.nonHDL)
            s1.entries.append(.single(item))
        } else {
            let ldlScaled = Int(ldl.rounded())
            var item = quantity("3F07700000" + "2" + inst.lipidMethod, "LDLコレステロール", ldlScaled, 0, .massConc, &c)
            if ldlEdge == .boundLow {
                item.value = .outOfRange(scaled: ldlScaled, decimals: 0, unit: .massConc, high: false)
                c.features.insert(.boundLow)
            } else {
                if inst.referenceRanges { addRange(&item, 60, 119, inst, &c) }
                apply(ldlEdge, to: &item, type: .pq, &c)
                flag(ldlScaled >= 140 && isValue(item), &c)
            }
            s1.entries.append(.single(item))
        }

        // Liver.
        let liver = conditions.contains(.liver)
        var ast = liver ? rng.halfNormal(40, 25) : min(max(rng.logNormal(median: 21, sigma: 0.25), 10), 48)
        var alt = liver ? rng.halfNormal(45, 35) : min(max(rng.logNormal(median: male ? 22 : 15, sigma: 0.4), 6), 48)
        var ggt = liver ? rng.halfNormal(95, 140) : min(max(rng.logNormal(median: male ? 32 : 18, sigma: 0.5), 8), 98)
        if liver && ast < 51 && alt < 51 && ggt < 101 { alt = rng.halfNormal(52, 20); ast = max(ast, 30) }
        ast = min(ast, 900); alt = min(alt, 900); ggt = min(ggt, 980)
        var ggtEdge = hit(.ggt)
        if ggtEdge == .boundHigh { ggt = Double(1000 + rng.below(900)) }
        var astItem = quantity("3B03500000" + "2" + inst.enzymeMethod, "AST(GOT)", Int(ast.rounded()), 0, .enzyme, &c)
        if inst.referenceRanges { addRange(&astItem, 10, 30, inst, &c) }
        apply(hit(.ast), to: &astItem, type: .pq, &c)
        flag(Int(ast.rounded()) >= 51 && isValue(astItem), &c)
        s1.entries.append(.single(astItem))
        var altItem = quantity("3B04500000" + "2" + inst.enzymeMethod, "ALT(GPT)", Int(alt.rounded()), 0, .enzyme, &c)
        if inst.referenceRanges { addRange(&altItem, 5, 30, inst, &c) }
        flag(Int(alt.rounded()) >= 51, &c)
        s1.entries.append(.single(altItem))
        let ggtScaled = Int(ggt.rounded())
        var ggtItem = quantity("3B09000000" + "2" + inst.ggtMethod, "γ-GT(γ-GTP)", ggtScaled, 0, .enzyme, &c)
        if ggtEdge == .boundHigh {
            ggtItem.value = .outOfRange(scaled: ggtScaled, decimals: 0, unit: .enzyme, high: true)
            c.features.insert(.boundHigh)
            ggtEdge = .none
        } else if inst.referenceRanges {
            addRange(&ggtItem, 5, 50, inst, &c)
        }
        flag(ggtScaled >= 101, &c)
        s1.entries.append(.single(ggtItem))

        // Glucose and HbA1c (sometimes only one of them).
        let diabetes = conditions.contains(.diabetes)
        var hba1c = diabetes ? min(rng.halfNormal(6.6, 0.9), 12.5) : min(max(rng.normal(5.4 + 0.008 * a40, 0.25), 4.5), 6.4)
        var glucose: Double
        if diabetes {
            glucose = min(rng.halfNormal(random ? 150 : 128, 40), 420)
        } else {
            glucose = random ? min(max(rng.normal(101, 12), 75), 124) : min(max(rng.normal(92 + 0.15 * a40, 7), 70), 124)
        }
        if diabetes && hba1c < 6.5 && glucose < 126 { hba1c = 6.5 + abs(rng.normal(0, 0.5)) }
        let which = rng.weighted([70, 20, 10])  // both, HbA1c only, glucose only
        if which != 1 {
            // JLAC10: analyte 3D010, identification 0000 (fasting) or 1299 (random), material + method + result.
            let code = (random ? "3D01012990" : "3D01000000") + inst.glucoseMethod
            let gScaled = Int(glucose.rounded())
            var item = quantity(code, random ? "随時血糖" : "空腹時血糖", gScaled, 0, .massConc, &c)
            if inst.referenceRanges && !random { addRange(&item, 70, 99, inst, &c) }
            flag(gScaled >= 126, &c)
            s1.entries.append(.single(item))
        }
        if which != 2 {
            let a1cScaled = Int((hba1c * 10).rounded())
            var item: SynthResult
            if rng.chance(inst.jdsShare) {
                // An old JDS value (NGSP = 1.02 × JDS + 0.25).
                let jds = Int(((Double(a1cScaled) / 10 - 0.25) / 1.02 * 10).rounded())
                item = quantity("3D04500000" + inst.hba1cMethod, "HbA1c(JDS値)", jds, 1, .percent, &c)
                c.features.insert(.hba1cJDS)
            } else {
                item = quantity("3D04600000" + inst.hba1cMethod, "HbA1c(NGSP値)", a1cScaled, 1, .percent, &c)
                if inst.referenceRanges { addRange(&item, 46, 55, inst, &c) }
            }
            apply(hit(.hba1c), to: &item, type: .pq, &c)
            flag(a1cScaled >= 65 && isValue(item), &c)
            s1.entries.append(.single(item))
        }

        // Urine.
        let urineSuffix = inst.urineMachine ? "191111" : "190111"
        var ug = diabetes && glucose >= 180 ? 2 + rng.below(3) : (rng.chance(0.03) ? 1 : 0)
        if !diabetes && ug > 1 { ug = 1 }
        var ugItem = coded("1A020000000" + urineSuffix, "尿糖", .co, String(ug + 1), Self.urineLevels, Self.urineDisplay[ug], &c)
        apply(hit(.urineGlucose), to: &ugItem, type: .co, &c)
        s1.entries.append(.single(ugItem))
        let kidney = conditions.contains(.kidney)
        let up = kidney ? 2 + rng.below(2) : (rng.chance(0.08) ? 1 : 0)
        var upItem = coded("1A010000000" + urineSuffix, "尿蛋白", .co, String(up + 1), Self.urineLevels, Self.urineDisplay[up], &c)
        apply(hit(.urineProtein), to: &upItem, type: .co, &c)
        s1.entries.append(.single(upItem))
        if rng.chance(0.4) {
            let ob = rng.chance(male ? 0.05 : 0.12) ? 1 + rng.below(2) : 0
            let item = coded("1A100000000" + urineSuffix, "尿潜血", .co, String(ob + 1), Self.urineLevels, Self.urineDisplay[ob], &c)
            if inst.secondSection { s2.entries.append(.single(item)) } else { s1.entries.append(.single(item)) }
        }

        // Kidney: creatinine and eGFR (194 × Cr^-1.094 × age^-0.287, × 0.739 for women).
        if kidney || rng.chance(0.7) {
            let cr = kidney ? rng.halfNormal(male ? 1.45 : 1.12, male ? 0.5 : 0.4)
                            : min(max(rng.normal(male ? 0.85 : 0.62, male ? 0.12 : 0.09), male ? 0.55 : 0.4), male ? 1.10 : 0.85)
            let crScaled = Int((cr * 100).rounded())
            var item = quantity("3C01500000" + "2" + inst.chemMethod, "血清クレアチニン", crScaled, 2, .massConc, &c)
            if inst.referenceRanges { addRange(&item, male ? 65 : 46, male ? 107 : 79, inst, &c) }
            s1.entries.append(.single(item))
            var egfr = 194 * DetMath.pow(Double(crScaled) / 100, -1.094) * DetMath.pow(age, -0.287)
            if !male { egfr *= 0.739 }
            let egfrScaled = Int((egfr * 10).rounded())
            s1.entries.append(.single(quantity(Self.egfr, "eGFR", egfrScaled, 1, .egfr, &c)))
            flag(egfrScaled < 450, &c)
        }
        // Uric acid.
        if rng.chance(0.5) {
            let ua = min(max(rng.normal(male ? 6.0 : 4.5, male ? 1.1 : 0.9), 2.5), male ? 8.9 : 7.4)
            var item = quantity("3C02000000" + "2" + inst.chemMethod, "尿酸", Int((ua * 10).rounded()), 1, .massConc, &c)
            if inst.referenceRanges { addRange(&item, male ? 37 : 26, 70, inst, &c) }
            if inst.secondSection { s2.entries.append(.single(item)) } else { s1.entries.append(.single(item)) }
        }
        // Anemia panel.
        if conditions.contains(.anemia) || rng.chance(0.6) {
            let hb = conditions.contains(.anemia) ? (male ? rng.normal(11.2, 0.4) : rng.normal(10.2, 0.4))
                                                  : min(max(rng.normal(male ? 14.8 : 13.0, male ? 1.0 : 0.9), male ? 12.3 : 11.3), male ? 17.5 : 15.5)
            let hbScaled = Int((hb * 10).rounded())
            let ht = Int(((Double(hbScaled) / 10 * 3.0 + rng.normal(0, 0.8)) * 10).rounded())
            let rbcCount = Int((Double(hbScaled) / 10 * 32 + rng.normal(0, 15)).rounded())
            var htItem = quantity(Self.hematocrit, "ヘマトクリット値", ht, 1, .percent, &c)
            var hbItem = quantity(Self.hemoglobin, "血色素量(ヘモグロビン値)", hbScaled, 1, .hemoglobin, &c)
            var rbcItem = quantity(Self.rbc, "赤血球数", rbcCount, 0, .cellCount, &c)
            if inst.referenceRanges {
                addRange(&htItem, male ? 400 : 350, male ? 500 : 450, inst, &c)
                addRange(&hbItem, male ? 131 : 121, male ? 163 : 145, inst, &c)
                addRange(&rbcItem, male ? 435 : 386, male ? 555 : 492, inst, &c)
            }
            flag(hbScaled <= (male ? 120 : 110), &c)
            s1.entries.append(.single(htItem))
            s1.entries.append(.single(hbItem))
            s1.entries.append(.single(rbcItem))
        }

        // ECG.
        if rng.chance(0.4) {
            let finding = rng.chance(0.13 + 0.004 * a40)
            let done = coded(Self.ecgDone, "心電図(所見の有無)", .cd, finding ? "1" : "2", Self.findingCodes,
                             finding ? "所見あり" : "所見なし", &c)
            let text = textResult(Self.ecgFindings, "心電図(所見)", finding ? rng.pick(Self.ecgTexts) : "所見なし", &c)
            if inst.groupECG {
                s1.entries.append(.group([done, text]))
                c.features.insert(.group)
            } else {
                s1.entries.append(.single(done))
                s1.entries.append(.single(text))
            }
        }

        // Questionnaire: medication and smoking.
        let older = age >= 55
        let medsBP = conditions.contains(.hypertension) ? rng.chance(older ? 0.5 : 0.25) : rng.chance(older ? 0.06 : 0.02)
        let medsDM = diabetes ? rng.chance(0.45) : false
        let medsLipid = conditions.contains(.ldl) || conditions.contains(.triglyceride) ? rng.chance(0.35) : rng.chance(older ? 0.05 : 0.01)
        let smoker = rng.chance(male ? 0.28 : 0.08)
        s1.entries.append(.single(yesNo(Self.medsBP, "服薬1(血圧)", medsBP, "服薬あり", "服薬なし", &c)))
        s1.entries.append(.single(yesNo(Self.medsGlucose, "服薬2(血糖)", medsDM, "服薬あり", "服薬なし", &c)))
        s1.entries.append(.single(yesNo(Self.medsLipid, "服薬3(脂質)", medsLipid, "服薬あり", "服薬なし", &c)))
        s1.entries.append(.single(yesNo(Self.smoking, "喫煙", smoker, "はい", "いいえ", &c)))

        // Metabolic syndrome and guidance level (simplified MHLW criteria).
        let waistOver = Double(waistScaled) / 10 >= (male ? 85 : 90)
        var risks = 0
        if Double(tgScaled) >= 150 || hdl < 40 || medsLipid { risks += 1 }
        if meanS >= 130 || meanD >= 85 || medsBP { risks += 1 }
        if glucose >= 110 || hba1c >= 6.0 || medsDM { risks += 1 }
        let metaboCode = waistOver ? (risks >= 2 ? 1 : (risks == 1 ? 2 : 3)) : 3
        let metaboText = ["基準該当", "予備群該当", "非該当", "判定不能"][metaboCode - 1]
        s1.entries.append(.single(coded(Self.metabo, "メタボリックシンドローム判定", .cd, String(metaboCode), Self.metaboCodes, metaboText, &c)))
        var level = 3
        if !(medsBP || medsDM || medsLipid) {
            if waistOver || bmiValue >= 25 {
                if risks >= 2 || (risks == 1 && smoker) { level = age < 65 ? 1 : 2 } else if risks >= 1 { level = 2 }
            }
        }
        let levelText = ["積極的支援", "動機付け支援", "なし（情報提供）", "判定不能"][level - 1]
        s1.entries.append(.single(coded(Self.guidance, "保健指導レベル", .cd, String(level), Self.guidanceCodes, levelText, &c)))

        // Doctor's judgement (ST) and the doctor.
        var judgement: String
        if c.abnormal {
            judgement = rng.pick(["要医療：早めに医療機関を受診してください。", "要精密検査：医療機関での精密検査をお勧めします。",
                                  "要治療：かかりつけ医にご相談ください。"])
        } else if metaboCode <= 2 || bmiValue >= 25 {
            judgement = rng.pick(["要経過観察：生活習慣の改善に努めてください。", "軽度異常：食事と運動に気をつけてください。"])
        } else {
            judgement = rng.pick(["異常なし", "異常を認めません。", "特記すべき所見なし"])
        }
        if bmiValue < 18.5 {
            judgement = "BMI<18.5：やせ傾向です。栄養に気をつけてください。"
            c.features.insert(.escapedText)
        }
        let doctor = rng.pick(inst.doctors)
        var judgementItem = textResult(Self.doctorJudgement, "医師の判断", judgement, &c)
        if inst.doctorAsAuthor {
            judgementItem.author = doctor
            c.features.insert(.doctorAuthor)
            s1.entries.append(.single(judgementItem))
        } else {
            s1.entries.append(.single(judgementItem))
            s1.entries.append(.single(textResult(Self.doctorName, "判断した医師の氏名", doctor, &c)))
        }

        c.sections.append(s1)
        if !s2.entries.isEmpty { c.sections.append(s2) }
        return c
    }

    // MARK: items

    private func quantity(_ code: String, _ name: String, _ scaled: Int, _ decimals: Int, _ unit: CheckupUnit,
                          _ c: inout SyntheticCheckup) -> SynthResult {
        c.resultCount += 1
        c.features.insert(.quantity)
        return SynthResult(code: code, name: name, value: .quantity(scaled: scaled, decimals: decimals, unit: unit))
    }

    private func coded(_ code: String, _ name: String, _ type: SynthResult.XsiType, _ value: String, _ system: String,
                       _ display: String, _ c: inout SyntheticCheckup) -> SynthResult {
        c.resultCount += 1
        c.features.insert(type == .co ? .co : .cd)
        return SynthResult(code: code, name: name, value: .coded(type: type, code: value, system: system, display: display))
    }

    private func yesNo(_ code: String, _ name: String, _ yes: Bool, _ yesText: String, _ noText: String,
                       _ c: inout SyntheticCheckup) -> SynthResult {
        coded(code, name, .cd, yes ? "1" : "2", Self.yesNo, yes ? yesText : noText, &c)
    }

    private func textResult(_ code: String, _ name: String, _ text: String, _ c: inout SyntheticCheckup) -> SynthResult {
        c.resultCount += 1
        c.features.insert(.st)
        return SynthResult(code: code, name: name, value: .text(text))
    }

    /// Reference range and interpretation (H/L/N against the range), as the institution writes them.
    private func addRange(_ r: inout SynthResult, _ low: Int, _ high: Int, _ inst: CheckupInstitution,
                          _ c: inout SyntheticCheckup) {
        guard case .quantity(let v, _, _) = r.value else { return }
        r.range = (low, high)
        c.features.insert(.referenceRange)
        if inst.interpretation != .none {
            r.interpretation = v < low ? "L" : (v > high ? "H" : "N")
            c.features.insert(.interpretation)
        }
    }

    /// Turns the item into 'could not measure' or 'not done'.
    private func apply(_ edge: Edge, to r: inout SynthResult, type: SynthResult.XsiType, _ c: inout SyntheticCheckup) {
        switch edge {
        case .missing:
            r.value = .missing(type: type, flavor: "NI")
            r.range = nil
            r.interpretation = nil
            c.features.insert(.nullFlavor)
        case .notDone:
            r.value = .notDone
            r.range = nil
            r.interpretation = nil
            c.features.insert(.notDone)
        default:
            break
        }
    }

    private func isValue(_ r: SynthResult) -> Bool {
        switch r.value {
        case .missing, .notDone: return false
        default: return true
        }
    }

    private func flag(_ condition: Bool, _ c: inout SyntheticCheckup) {
        if condition { c.abnormal = true }
    }
}

/// Whole years of age on `day`.
func ageOn(_ day: CalendarDate, born: CalendarDate) -> Int {
    var a = day.year - born.year
    if (day.month, day.day) < (born.month, born.day) { a -= 1 }
    return a
}
