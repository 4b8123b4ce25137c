import Foundation
import Testing
@testable import KenpoCore

/// Grading A–D: every band edge of the reference table on both sides, the published cases, each
/// special rule, table validation, and that a table edit moves only the grades it should.
@Suite struct GradingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let items = try! CheckupItems.load(path: root + "/pipelines/reference/checkup-items.tsv")
    static let grader = try! GradingReference.load(directory: root + "/pipelines/grading", items: items)
    static let sharedBands = root + "/../shared/reference/grading-bands.tsv"

    // One item per analyte, to grade through the whole path (the timing item makes tg fasting).
    static let itemFor: [String: String] = [
        "bmi": "9N011000000000001", "waist": "9N016160100000001", "sbp": "9A755000000000001", "dbp": "9A765000000000001",
        "glucose_fasting": "3D010000001926101", "hba1c": "3D046000001906202", "tg_fasting": "3F015000002327101",
        "hdl": "3F070000002327101", "ldl": "3F077000002327101", "non_hdl": "3F069000002391901", "ast": "3B035000002327201",
        "alt": "3B045000002327201", "ggt": "3B090000002327101", "creatinine": "3C015000002327101", "egfr": "8A065000002391901",
        "uric_acid": "3C020000002327101", "hemoglobin": "2A030000001930101",
        "urine_protein": "1A010000000191111", "urine_glucose": "1A020000000191111",
    ]
    static let fasting = GradingInput(itemCode: "9N141000000000011", valueType: "CD", valueText: "", unit: "", codedValue: "2")
    static let nonFasting = GradingInput(itemCode: "9N141000000000011", valueType: "CD", valueText: "", unit: "", codedValue: "1")

    /// Grades one value of an analyte through the grader (nil: no grade).
    static func grade(_ analyte: String, _ value: String, sex: GradingSex, unit: String? = nil) -> GradeOutcome {
        let code = itemFor[analyte]!
        let item = items[code]!
        let bandUnit = grader.bands.bands(for: analyte).first!.unit
        var input = GradingInput(itemCode: code, valueType: item.valueType, valueText: value, unit: unit ?? bandUnit)
        if item.valueType == "CO" {
            input = GradingInput(itemCode: code, valueType: "CO", valueText: "", unit: "", codedValue: value, codeSystem: "1.2.392.200119.6.2102")
        }
        return grader.grade([fasting, input], sex: sex)[1]
    }

    /// The reference table's rows, read independently of kenpo's loader.
    struct SharedBand { var analyte: String; var sex: String; var grade: String; var low: String; var high: String }
    static func sharedRows() throws -> [SharedBand] {
        let text = try String(contentsOfFile: sharedBands, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("analyte\t") }.map {
            let f = $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return SharedBand(analyte: f[0], sex: f[2], grade: f[3], low: f[4], high: f[5])
        }
    }

    /// The value one step below an edge at one more decimal than the edge is written with: 5.6 → 5.59, 130 → 129.9.
    static func justBelow(_ edge: String) -> String {
        let d = ExactDecimal(edge)!
        let step = ExactDecimal(significand: -1, scale: d.scale + 1)
        return (d + step).description
    }

    @Test func theRepositoryTableHoldsTheReferenceBands() throws {
        let shared = try Self.sharedRows()
        let ours = Self.grader.bands.allBands
        #expect(ours.count == shared.count)
        for (s, o) in zip(shared, ours) {
            #expect(s.analyte == o.analyte && s.grade == o.grade.rawValue && s.low == o.low.description && s.high == o.high.description,
                    "\(s.analyte) \(s.low)–\(s.high)")
            #expect((s.sex == "*" ? nil : GradingSex(rawValue: s.sex)) == o.sex)
        }
        #expect(Self.grader.bands.label == "ningen-dock 2024")
        #expect(Self.grader.bands.appliesFrom == "2024-04-01")
    }

    /// Every finite edge of every analyte and sex, on both sides: the edge itself belongs to the band
    /// starting there, the value just below to the band ending there (none where nothing ends there).
    @Test func everyBoundaryOfEveryAnalyteAndSex() throws {
        let shared = try Self.sharedRows()
        var checked = 0
        for row in shared where row.low != "-inf" {
            let sexes: [GradingSex] = row.sex == "*" ? [.male, .female, .unknown] : [GradingSex(rawValue: row.sex)!]
            let before = shared.first { $0.analyte == row.analyte && $0.sex == row.sex && $0.high == row.low }
            let isLevel = row.analyte.hasPrefix("urine_")
            for sex in sexes {
                let at = Self.grade(row.analyte, row.low, sex: sex)
                #expect(at.grade == row.grade, "\(row.analyte) \(row.sex) at \(row.low)")
                #expect(at.table == (at.grade.isEmpty ? "" : "ningen-dock 2024"))
                // Urine levels are whole numbers: the level below is the step below.
                let below = isLevel ? String(Int(row.low)! - 1) : Self.justBelow(row.low)
                let expected = before?.grade ?? ""
                if isLevel && Int(below)! < 1 { continue }
                let b = Self.grade(row.analyte, below, sex: sex)
                #expect(b.grade == expected, "\(row.analyte) \(row.sex) just below \(row.low) (\(below))")
                checked += 2
            }
        }
        #expect(checked > 150)
    }

    /// Published cases (判定区分 2024) written out by hand.
    @Test(arguments: [
        ("hba1c", "5.59", "A"), ("hba1c", "5.6", "B"), ("hba1c", "5.60", "B"), ("hba1c", "5.99", "B"), ("hba1c", "6.0", "C"),
        ("hba1c", "6.49", "C"), ("hba1c", "6.5", "D"),
        ("sbp", "129", "A"), ("sbp", "130", "B"), ("sbp", "139", "B"), ("sbp", "140", "C"), ("sbp", "159", "C"), ("sbp", "160", "D"),
        ("dbp", "84", "A"), ("dbp", "85", "B"), ("dbp", "90", "C"), ("dbp", "100", "D"),
        ("ldl", "59", "C"), ("ldl", "60", "A"), ("ldl", "119", "A"), ("ldl", "120", "B"), ("ldl", "140", "C"), ("ldl", "179", "C"), ("ldl", "180", "D"),
        ("hdl", "29", "D"), ("hdl", "30", "C"), ("hdl", "39", "C"), ("hdl", "40", "A"),
        ("bmi", "18.4", "C"), ("bmi", "18.5", "A"), ("bmi", "24.9", "A"), ("bmi", "25.0", "C"),
        ("egfr", "44.9", "D"), ("egfr", "45", "C"), ("egfr", "59.9", "C"), ("egfr", "60", "A"),
        ("glucose_fasting", "99", "A"), ("glucose_fasting", "100", "B"), ("glucose_fasting", "110", "C"), ("glucose_fasting", "126", "D"),
        ("ggt", "50", "A"), ("ggt", "51", "B"), ("ggt", "101", "D"),
        ("uric_acid", "2.0", "C"), ("uric_acid", "7.0", "A"), ("uric_acid", "7.1", "B"), ("uric_acid", "9.0", "D"),
    ])
    func publishedCases(_ analyte: String, _ value: String, _ grade: String) {
        #expect(Self.grade(analyte, value, sex: .female).grade == grade)
    }

    @Test(arguments: [
        ("hemoglobin", GradingSex.male, "13.0", "C"), ("hemoglobin", .male, "13.1", "A"), ("hemoglobin", .male, "18.1", "D"),
        ("hemoglobin", .female, "12.0", "C"), ("hemoglobin", .female, "12.1", "A"), ("hemoglobin", .female, "16.1", "D"),
        ("creatinine", .male, "1.00", "A"), ("creatinine", .male, "1.01", "B"), ("creatinine", .female, "0.71", "B"),
        ("creatinine", .female, "1.00", "D"), ("waist", .male, "85.0", "C"), ("waist", .female, "85.0", "A"),
    ])
    func sexSpecificBandsUseThePersonsSex(_ analyte: String, _ sex: GradingSex, _ value: String, _ grade: String) {
        #expect(Self.grade(analyte, value, sex: sex).grade == grade)
    }

    @Test func unknownSexIsGradedOnlyWhereBothSexesAgree() {
        #expect(Self.grade("waist", "80", sex: .unknown).grade == "A")           // A for both
        #expect(Self.grade("waist", "95", sex: .unknown).grade == "C")           // C for both
        let split = Self.grade("waist", "87", sex: .unknown)                     // C for men, A for women
        #expect(split.grade == "" && split.note.contains("sex is unknown"))
        #expect(Self.grade("hemoglobin", "13.0", sex: .unknown).grade == "")
        #expect(Self.grade("creatinine", "0.5", sex: .unknown).grade == "A")
        #expect(Self.grade("hba1c", "6.0", sex: .unknown).grade == "C")          // not sex-specific at all
    }

    @Test func exactDecimalsNeverFloat() {
        #expect(ExactDecimal("0.1")! + ExactDecimal("0.2")! == ExactDecimal("0.3")!)
        #expect(ExactDecimal("5.60")! == ExactDecimal("5.6")!)
        #expect(ExactDecimal("5.59")! < ExactDecimal("5.6")!)
        #expect(ExactDecimal("-0.25")!.description == "-0.25")
        #expect((ExactDecimal("129")! + ExactDecimal("130")!).half.description == "129.5")
        #expect(ExactDecimal("6.472")!.rounded(decimals: 1).description == "6.5")
        #expect(ExactDecimal("5.554")!.rounded(decimals: 1).description == "5.6")
        #expect(ExactDecimal("5.549")!.rounded(decimals: 1).description == "5.5")
        for bad in ["", "-", ".", "1.2.3", "1e3", "1,000", " 5", "５"] { #expect(ExactDecimal(bad) == nil, "\(bad)") }
    }

    @Test func glucoseAndTriglycerideFollowTheDrawTiming() {
        let g = GradingInput(itemCode: "3D010000001926101", valueType: "PQ", valueText: "110", unit: "mg/dl")
        // Fasting item, drawn fasting: fasting bands.
        #expect(Self.grader.grade([Self.fasting, g], sex: .male)[1].grade == "C")
        // Fasting item, but drawn less than 10 h after a meal: random glucose, no fasting band.
        let r = Self.grader.grade([Self.nonFasting, g], sex: .male)[1]
        #expect(r.grade == "" && r.analyte == "glucose_random" && r.mhlwFlag == "guidance" && r.note.contains("random"))
        // A random glucose item is never graded with fasting bands, whatever the timing says.
        let randomItem = GradingInput(itemCode: "3D010129901926101", valueType: "PQ", valueText: "130", unit: "mg/dl")
        for timing in [Self.fasting, Self.nonFasting] {
            let o = Self.grader.grade([timing, randomItem], sex: .male)[1]
            #expect(o.grade == "" && o.analyte == "glucose_random" && o.mhlwFlag == "consult")
        }
        let tg = GradingInput(itemCode: "3F015000002327101", valueType: "PQ", valueText: "180", unit: "mg/dl")
        #expect(Self.grader.grade([Self.fasting, tg], sex: .male)[1].grade == "B")
        let tgRandom = Self.grader.grade([Self.nonFasting, tg], sex: .male)[1]
        #expect(tgRandom.grade == "" && tgRandom.analyte == "tg_random" && tgRandom.mhlwFlag == "guidance")  // ≥ 175 random
        let noTiming = Self.grader.grade([tg], sex: .male)[0]
        #expect(noTiming.grade == "B" && noTiming.analyte == "tg_fasting" && noTiming.note.contains("9N141"))
    }

    @Test func jdsHbA1cIsConvertedToNGSPAndSaysSo() {
        func jds(_ v: String) -> GradeOutcome {
            Self.grader.grade([GradingInput(itemCode: "3D045000001906202", valueType: "PQ", valueText: v, unit: "%")], sex: .female)[0]
        }
        let a = jds("5.3")   // 1.02 × 5.3 + 0.25 = 5.656 → 5.7
        #expect(a.grade == "B" && a.gradedValue == "5.7" && a.analyte == "hba1c" && a.note.contains("JDS"))
        #expect(jds("6.1").gradedValue == "6.5" && jds("6.1").grade == "D")   // JDS 6.1 ≙ NGSP 6.5
        #expect(jds("5.2").gradedValue == "5.6" && jds("5.2").grade == "B")   // 5.554 rounds to 5.6
        #expect(jds("5.1").gradedValue == "5.5" && jds("5.1").grade == "A")
    }

    @Test func outOfRangeIsGradedByItsBoundsSide() {
        func oor(_ code: String, _ v: String, _ side: String) -> GradeOutcome {
            Self.grader.grade([Self.fasting, GradingInput(itemCode: code, valueType: "PQ", valueText: v, unit: Self.items[code]!.unit, outOfRange: side)], sex: .male)[1]
        }
        let ggt = oor("3B090000002327101", "500", "H")
        #expect(ggt.grade == "D" && ggt.gradedValue == ">500" && ggt.mhlwFlag == "consult")
        #expect(oor("3F015000002327101", "2000", "H").grade == "D")
        #expect(oor("3B035000002327201", "3", "L").grade == "A")          // AST below its lower bound
        let hdl = oor("3F070000002327101", "10", "L")
        #expect(hdl.grade == "D" && hdl.gradedValue == "<10" && hdl.mhlwFlag == "guidance")
        // Beyond the bound with no value given: still that end of the table.
        let noValue = oor("3B090000002327101", "", "H")
        #expect(noValue.grade == "D" && noValue.gradedValue == "H")
        // An upper bound inside a lower band still means "above it": the highest band.
        #expect(oor("3F077000002327101", "100", "H").grade == "D")
    }

    @Test(arguments: [("1", "A"), ("2", "B"), ("3", "C"), ("4", "D"), ("5", "D")])
    func urineProteinLevels(_ level: String, _ grade: String) {
        #expect(Self.grade("urine_protein", level, sex: .male).grade == grade)
    }

    @Test func urineOutsideTheLevelsIsNotGraded() {
        for bad in ["0", "6", "+", ""] {
            let o = Self.grader.grade([GradingInput(itemCode: "1A010000000191111", valueType: "CO", valueText: "", unit: "", codedValue: bad, codeSystem: "1.2.392.200119.6.2102")], sex: .male)[0]
            #expect(o.grade == "" && o.note.contains("level"), "\(bad)")
        }
        #expect(Self.grade("urine_glucose", "2", sex: .male).grade == "C")
    }

    @Test func bloodPressureIsGradedAsTheItemTableSays() {
        func bp(_ readings: [(String, String)]) -> [GradeOutcome] {
            Self.grader.grade(readings.map { GradingInput(itemCode: $0.0, valueType: "PQ", valueText: $0.1, unit: "mmHg") }, sex: .male)
        }
        let first = "9A751000000000001", second = "9A752000000000001", other = "9A755000000000001"
        let mean = bp([(first, "142"), (second, "138")])       // mean 140: C
        #expect(mean.map(\.grade) == ["C", "C"] && mean[0].gradedValue == "140" && mean[0].note.contains("mean"))
        let half = bp([(first, "129"), (second, "130")])       // mean 129.5: A, not B
        #expect(half.map(\.grade) == ["A", "A"] && half[1].gradedValue == "129.5")
        let withOther = bp([(first, "150"), (second, "150"), (other, "128")])
        #expect(withOther.map(\.grade) == ["A", "A", "A"] && withOther[0].note.contains("other"))
        #expect(bp([(first, "135")]).map(\.grade) == ["B"])
        let dbp = bp([("9A761000000000001", "88"), ("9A762000000000001", "84")])  // diastolic mean 86: B
        #expect(dbp.map(\.grade) == ["B", "B"])
    }

    @Test func convertibleUnitsConvertAndUnknownUnitsAreReported() {
        let mmol = Self.grade("glucose_fasting", "5.6", sex: .male, unit: "mmol/l")     // 100.8896 mg/dL
        #expect(mmol.grade == "B" && mmol.gradedValue == "100.8896" && mmol.note.contains("mmol/l"))
        let unknown = Self.grade("glucose_fasting", "5.6", sex: .male, unit: "mmol/mol")
        #expect(unknown.grade == "" && unknown.unknownUnit && unknown.note.contains("mmol/mol"))
        let noUnit = Self.grade("ldl", "150", sex: .male, unit: "")
        #expect(noUnit.grade == "" && noUnit.unknownUnit)
        let creat = Self.grade("creatinine", "90", sex: .male, unit: "umol/l")            // 1.01808 mg/dL: B
        #expect(creat.grade == "B")
        let ast = GradingInput(itemCode: "3B035000002327201", valueType: "PQ", valueText: "40", unit: UnitSpelling.normalise("IU/L"))
        #expect(Self.grader.grade([ast], sex: .male)[0].grade == "C")
    }

    @Test func textNotMeasuredNotDoneAndUngradedItemsGetNothing() {
        let inputs = [
            GradingInput(itemCode: "9N511000000000049", valueType: "ST", valueText: "異常なし", unit: ""),
            GradingInput(itemCode: "3B035000002327201", valueType: "NOT_MEASURED", valueText: "", unit: ""),
            GradingInput(itemCode: "3C015000002327101", valueType: "NOT_DONE", valueText: "", unit: ""),
            GradingInput(itemCode: "9N001000000000001", valueType: "PQ", valueText: "170.2", unit: "cm"),
            GradingInput(itemCode: "99999999999999999", valueType: "PQ", valueText: "1", unit: "cm"),
        ]
        for o in Self.grader.grade(inputs, sex: .male) { #expect(o == .notGraded) }
    }

    @Test func mhlwFlags() {
        #expect(Self.grade("sbp", "129", sex: .male).mhlwFlag == "none")
        #expect(Self.grade("sbp", "130", sex: .male).mhlwFlag == "guidance")
        #expect(Self.grade("sbp", "140", sex: .male).mhlwFlag == "consult")
        #expect(Self.grade("hdl", "39", sex: .male).mhlwFlag == "guidance")
        #expect(Self.grade("hdl", "40", sex: .male).mhlwFlag == "none")
        #expect(Self.grade("egfr", "44", sex: .male).mhlwFlag == "consult")
        #expect(Self.grade("hemoglobin", "12.5", sex: .female).mhlwFlag == "none")
        #expect(Self.grade("hemoglobin", "12.5", sex: .male).mhlwFlag == "guidance")
        #expect(Self.grade("bmi", "30", sex: .male).mhlwFlag == "none")   // no MHLW values for BMI here
    }

    // MARK: table files

    static func writeTable(_ text: String) -> String {
        let path = NSTemporaryDirectory() + "kenpo-grading-\(UUID().uuidString).tsv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    static let head = "@kind: grade-bands\n@name: test\n@edition: 1\n@applies_from: 2025-04-01\n@source: test\nanalyte\tunit\tsex\tgrade\tlow\thigh\tnote\n"

    @Test(arguments: [
        (head + "hdl\tmg/dL\t*\tA\t40\tinf\nhdl\tmg/dL\t*\tC\t30\t41\n", 8, "overlaps"),
        (head + "hdl\tmg/dL\t*\tE\t40\tinf\n", 7, "grade must be"),
        (head + "hdl\tmg/dL\t*\tA\t40\t30\n", 7, "below high"),
        (head + "hdl\tmg/dL\tX\tA\t40\tinf\n", 7, "sex must be"),
        (head + "hdl\tmg/dL\t*\tA\tforty\tinf\n", 7, "must be a decimal"),
        (head + "hdl\tmg/dL\t*\tA\t40\tinf\nhdl\tmg/dL\tM\tC\t30\t40\n", 8, "mixes"),
        (head + "hdl\tmg/dL\t*\tA\t40\tinf\nhdl\tmmol/L\t*\tC\t30\t40\n", 8, "one unit"),
        ("@kind: grade-bands\n@name: test\n@applies_from: 2025-04-01\n@source: s\nanalyte\tunit\tsex\tgrade\tlow\thigh\tnote\nhdl\tmg/dL\t*\tA\t40\tinf\n", 0, "@edition"),
        ("@kind: mhlw-thresholds\n@name: t\n@edition: 1\n@applies_from: 2025-04-01\n@source: s\nanalyte\tunit\tsex\tgrade\tlow\thigh\tnote\n", 1, "mhlw-thresholds table"),
        ("@kind: grade-bands\n@name: t\n@edition: 1\n@applies_from: 1 April\n@source: s\nanalyte\tunit\tsex\tgrade\tlow\thigh\tnote\n", 4, "applies_from"),
    ])
    func malformedTablesAreRefusedAtTheLine(_ text: String, _ line: Int, _ message: String) throws {
        let path = Self.writeTable(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GradeBands.load(path: path)
            Issue.record("accepted a malformed table")
        } catch let KenpoError.configuration(p, l, m) {
            #expect(p == path)
            #expect((l ?? 0) == line, "\(m)")
            #expect(m.contains(message), "\(m)")
        }
    }

    /// A second edition that moves HDL's C/D edge (the pre-2024 rule: D below 35) changes exactly the
    /// HDL grades in [30, 35), nothing else.
    @Test func aTableEditChangesGradesOnlyWhereItShould() throws {
        let text = try String(contentsOfFile: Self.root + "/pipelines/grading/ningen-dock-2024.tsv", encoding: .utf8)
            .replacingOccurrences(of: "@edition: 2024", with: "@edition: 2023")
            .replacingOccurrences(of: "hdl\tmg/dL\t*\tD\t-inf\t30\t", with: "hdl\tmg/dL\t*\tD\t-inf\t35\t")
            .replacingOccurrences(of: "hdl\tmg/dL\t*\tC\t30\t40", with: "hdl\tmg/dL\t*\tC\t35\t40")
        let dir = NSTemporaryDirectory() + "kenpo-grading-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["mhlw-r6.tsv", "unit-conversions.tsv"] {
            try FileManager.default.copyItem(atPath: Self.root + "/pipelines/grading/" + f, toPath: dir + "/" + f)
        }
        _ = FileManager.default.createFile(atPath: dir + "/ningen-dock-2023.tsv", contents: Data(text.utf8))
        let older = try GradingReference.load(directory: dir, table: "ningen-dock-2023", items: Self.items)
        #expect(older.bands.label == "ningen-dock 2023")
        var changed: [String] = []
        for (analyte, code) in Self.itemFor.sorted(by: { $0.key < $1.key }) where !analyte.hasPrefix("urine") {
            let unit = Self.grader.bands.bands(for: analyte)[0].unit
            for tenth in stride(from: 0, through: 2500, by: 5) {
                let v = ExactDecimal(significand: Int128(tenth), scale: 1).description
                let input = [Self.fasting, GradingInput(itemCode: code, valueType: "PQ", valueText: v, unit: unit)]
                for sex in [GradingSex.male, .female] where Self.grader.grade(input, sex: sex)[1].grade != older.grade(input, sex: sex)[1].grade {
                    changed.append("\(analyte) \(v) \(sex.rawValue)")
                }
            }
        }
        let expected = stride(from: 300, to: 350, by: 5).flatMap { t in ["M", "F"].map { "hdl \(ExactDecimal(significand: Int128(t), scale: 1)) \($0)" } }
        #expect(changed == expected)
    }

    @Test func theGradingFolderNamesItsTables() {
        #expect(GradingReference.tables(in: Self.root + "/pipelines/grading") == ["ningen-dock-2024"])
        #expect(throws: KenpoError.self) { try GradingReference.load(directory: Self.root + "/pipelines/grading", table: "ningen-dock-1999", items: Self.items) }
    }

    @Test func tallyCountsGradesPerAnalyte() {
        var t = GradeTally()
        t.add(Self.grade("hba1c", "5.6", sex: .male))
        t.add(Self.grade("hba1c", "6.6", sex: .male))
        t.add(Self.grade("hba1c", "5.7", sex: .male))
        t.add(Self.grade("glucose_fasting", "5.6", sex: .male, unit: "mmol/mol"))
        var summary: [String: Int] = [:]
        t.write(into: &summary)
        #expect(summary == ["grade_hba1c_B": 2, "grade_hba1c_D": 1, "grading_unknown_unit": 1, "grading_not_graded": 1])
    }
}
