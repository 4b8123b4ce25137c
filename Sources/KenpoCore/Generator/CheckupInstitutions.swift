import Foundation

/// Unit spellings: the MHLW item master's (mg/dl, U/l, mmHg …), UCUM's (mg/dL, U/L, mm[Hg] …), or a mix.
enum CheckupUnit: Int {
    case cm, kg, bmi, pressure, massConc, enzyme, percent, hemoglobin, cellCount, egfr
}

struct CheckupUnitStyle {
    let names: [String]
    func name(_ u: CheckupUnit) -> String { names[u.rawValue] }

    static let master = CheckupUnitStyle(names: ["cm", "kg", "kg/m2", "mmHg", "mg/dl", "U/l", "%", "g/dl", "10*4/mm3", "ml/min/1.73m2"])
    static let ucum = CheckupUnitStyle(names: ["cm", "kg", "kg/m2", "mm[Hg]", "mg/dL", "U/L", "%", "g/dL", "10*4/uL", "mL/min/1.73m2"])
    static let mixed = CheckupUnitStyle(names: ["cm", "kg", "kg/m2", "mmHg", "mg/dL", "U/l", "%", "g/dl", "10*4/mm3", "mL/min/1.73m2"])
}

/// A checkup institution (特定健診機関) and the habits of its software: how its documents look.
/// Every style here validates against hc08_V08.xsd; they differ where real senders differ.
struct CheckupInstitution {
    enum KanaStyle { case fullNoSpace, fullSpace, halfWidth }
    enum BoundStyle {
        /// Since FY2013: the measured value as PQ, then a CD "H"/"L" (code system 2.16.840.1.113883.5.83).
        case valueAndCode
        /// Before FY2013: only the CD "H"/"L", no number.
        case codeOnly
    }
    enum Interpretation { case none, bare, coded }

    let number: String
    let name: String
    let phone: String
    let postal: String
    let address: String
    let weight: Int
    /// Documents declare encoding="Shift_JIS" and are written in CP932.
    let shiftJIS: Bool
    /// Share of (UTF-8) documents that start with a byte-order mark.
    let bomShare: Double
    /// [] = the whole document on one line.
    let lineEnd: [UInt8]
    let units: CheckupUnitStyle
    /// Blood pressure readings grouped in one observation through entryRelationship (else flat entries).
    let groupBloodPressure: Bool
    /// ECG presence and findings grouped through entryRelationship.
    let groupECG: Bool
    /// Both readings and their mean (9A751/9A752/9A755…), else the first reading only.
    let twoReadings: Bool
    let referenceRanges: Bool
    let interpretation: Interpretation
    let bound: BoundStyle
    /// The examining doctor as the author of 9N511 (else a separate 9N516 observation).
    let doctorAsAuthor: Bool
    let kana: KanaStyle
    /// Writes codeSystem on every item code (else relies on the schema default 1.2.392.200119.6.1005).
    let itemCodeSystem: Bool
    let displayNames: Bool
    /// ClinicalDocument/id as a UUID (else nullFlavor="NI").
    let uuidDocumentId: Bool
    /// templateId, languageCode and xsi:schemaLocation in the header.
    let headerExtras: Bool
    /// effectiveTime with a time of day (YYYYMMDDhhmmss+0900) rather than YYYYMMDD.
    let timestampCreated: Bool
    /// 受診券 (checkup ticket) participant.
    let ticket: Bool
    /// recordTarget/patientRole carries the branch (枝番, root …211).
    let branchId: Bool
    /// A second section 01990 (任意追加項目) with uric acid and urine occult blood.
    let secondSection: Bool
    /// Method code suffixes: lipids (TG/HDL/LDL), enzymes (AST/ALT), GGT, glucose, HbA1c, urine, creatinine/uric acid.
    let lipidMethod: String      // "327101" visible, "327201" UV, "399901" other
    let enzymeMethod: String     // "327201" or "399901"
    let ggtMethod: String        // "327101" or "399901"
    let glucoseMethod: String    // "1926101" potentiometry, "2227101" visible, "1927201" UV, "1999901" other
    let hba1cMethod: String      // "1906202" immuno, "1920402" HPLC, "1927102" enzyme, "1999902" other
    let urineMachine: Bool       // 機械読み取り (…191111) or 目視 (…190111)
    let chemMethod: String       // creatinine / uric acid: "327101" or "399901"
    let doctors: [String]
    /// Share of random (non-fasting) blood draws.
    let randomDrawShare: Double
    /// Share of documents reporting HbA1c as an old JDS value.
    let jdsShare: Double
}

enum CheckupInstitutions {
    static let all: [CheckupInstitution] = [
        // A large checkup centre using the MHLW reference software's habits (ORCA-like output).
        CheckupInstitution(
            number: "1311234561", name: "かもめ健診センター", phone: "03-5412-3301", postal: "105-0011",
            address: "東京都港区芝公園二丁目4番1号", weight: 28, shiftJIS: false, bomShare: 0, lineEnd: [0x0A],
            units: .master, groupBloodPressure: true, groupECG: false, twoReadings: true, referenceRanges: true,
            interpretation: .bare, bound: .valueAndCode, doctorAsAuthor: true, kana: .fullNoSpace,
            itemCodeSystem: false, displayNames: true, uuidDocumentId: false, headerExtras: false,
            timestampCreated: false, ticket: true, branchId: true, secondSection: true,
            lipidMethod: "327101", enzymeMethod: "327201", ggtMethod: "327101", glucoseMethod: "2227101",
            hba1cMethod: "1906202", urineMachine: true, chemMethod: "327101",
            doctors: ["佐藤　健一", "田中　恭子", "中村　誠"], randomDrawShare: 0.15, jdsShare: 0),
        // A hospital's checkup department: UCUM units, CRLF, BOM on some files, flat blood pressure.
        CheckupInstitution(
            number: "1410000025", name: "つばめ総合病院　健診センター", phone: "045-221-0800", postal: "222-0033",
            address: "神奈川県横浜市港北区新横浜三丁目1番", weight: 20, shiftJIS: false, bomShare: 0.35, lineEnd: [0x0D, 0x0A],
            units: .ucum, groupBloodPressure: false, groupECG: true, twoReadings: false, referenceRanges: false,
            interpretation: .coded, bound: .valueAndCode, doctorAsAuthor: false, kana: .fullSpace,
            itemCodeSystem: true, displayNames: true, uuidDocumentId: true, headerExtras: true,
            timestampCreated: true, ticket: false, branchId: true, secondSection: false,
            lipidMethod: "327201", enzymeMethod: "327201", ggtMethod: "399901", glucoseMethod: "1926101",
            hba1cMethod: "1920402", urineMachine: true, chemMethod: "399901",
            doctors: ["山本　陽子", "小林　直樹"], randomDrawShare: 0.2, jdsShare: 0),
        // A clinic on an old system: Shift_JIS, one line per document, half-width kana, no branch id,
        // out-of-range values as a bare H/L code (pre-FY2013 style).
        CheckupInstitution(
            number: "2710000033", name: "ひばりクリニック", phone: "06-6341-2210", postal: "530-0001",
            address: "大阪府大阪市北区梅田一丁目2番3号", weight: 14, shiftJIS: true, bomShare: 0, lineEnd: [],
            units: .master, groupBloodPressure: true, groupECG: false, twoReadings: true, referenceRanges: true,
            interpretation: .none, bound: .codeOnly, doctorAsAuthor: false, kana: .halfWidth,
            itemCodeSystem: true, displayNames: false, uuidDocumentId: false, headerExtras: false,
            timestampCreated: false, ticket: false, branchId: false, secondSection: false,
            lipidMethod: "399901", enzymeMethod: "399901", ggtMethod: "399901", glucoseMethod: "1999901",
            hba1cMethod: "1999902", urineMachine: false, chemMethod: "399901",
            doctors: ["木村　茂", "井上　和子"], randomDrawShare: 0.35, jdsShare: 0),
        // A medical plaza: mixed unit spellings, a second section, both styles of doctor.
        CheckupInstitution(
            number: "0110000041", name: "白鷺メディカルプラザ", phone: "011-231-4400", postal: "060-0042",
            address: "北海道札幌市中央区大通西四丁目", weight: 14, shiftJIS: false, bomShare: 0.1, lineEnd: [0x0A],
            units: .mixed, groupBloodPressure: true, groupECG: true, twoReadings: true, referenceRanges: true,
            interpretation: .coded, bound: .valueAndCode, doctorAsAuthor: true, kana: .fullSpace,
            itemCodeSystem: true, displayNames: false, uuidDocumentId: true, headerExtras: true,
            timestampCreated: false, ticket: true, branchId: true, secondSection: true,
            lipidMethod: "327201", enzymeMethod: "399901", ggtMethod: "327101", glucoseMethod: "1927201",
            hba1cMethod: "1927102", urineMachine: true, chemMethod: "327101",
            doctors: ["清水　隆", "森田　美穂", "藤田　亮"], randomDrawShare: 0.1, jdsShare: 0),
        // A mobile-checkup association: UCUM units, ranges without interpretation.
        CheckupInstitution(
            number: "2310000058", name: "北斗健康管理協会", phone: "052-961-7788", postal: "460-0003",
            address: "愛知県名古屋市中区錦三丁目5番", weight: 14, shiftJIS: false, bomShare: 0, lineEnd: [0x0A],
            units: .ucum, groupBloodPressure: false, groupECG: false, twoReadings: true, referenceRanges: true,
            interpretation: .none, bound: .valueAndCode, doctorAsAuthor: false, kana: .fullNoSpace,
            itemCodeSystem: true, displayNames: true, uuidDocumentId: false, headerExtras: false,
            timestampCreated: false, ticket: false, branchId: true, secondSection: false,
            lipidMethod: "327101", enzymeMethod: "327201", ggtMethod: "327101", glucoseMethod: "2227101",
            hba1cMethod: "1906202", urineMachine: true, chemMethod: "327101",
            doctors: ["前田　浩", "岡田　由美子"], randomDrawShare: 0.3, jdsShare: 0),
        // A small clinic: CRLF, mixed units, a few old JDS HbA1c values.
        CheckupInstitution(
            number: "4010000066", name: "浪速ヘルスケアクリニック", phone: "092-441-3030", postal: "812-0011",
            address: "福岡県福岡市博多区博多駅前二丁目9番", weight: 10, shiftJIS: false, bomShare: 0.2, lineEnd: [0x0D, 0x0A],
            units: .mixed, groupBloodPressure: true, groupECG: true, twoReadings: false, referenceRanges: false,
            interpretation: .coded, bound: .valueAndCode, doctorAsAuthor: true, kana: .fullNoSpace,
            itemCodeSystem: false, displayNames: false, uuidDocumentId: true, headerExtras: false,
            timestampCreated: true, ticket: false, branchId: true, secondSection: false,
            lipidMethod: "399901", enzymeMethod: "327201", ggtMethod: "399901", glucoseMethod: "1926101",
            hba1cMethod: "1920402", urineMachine: false, chemMethod: "399901",
            doctors: ["原田　純子", "石田　修"], randomDrawShare: 0.25, jdsShare: 0.05),
    ]

    static let weights: [Int] = all.map(\.weight)

    /// The institution that delivers through the transfer ZIP (to the insurer, 種別 6).
    static let transferSender = 0
}
