import Foundation

/// Where a record came from (取得元). Deletion of Mynaportal data removes `mynaportal` and
/// `memberUpload` records and keeps what the insurer supplied.
public enum RecordSource: String, CaseIterable, Sendable, Comparable {
    case insurer
    case mynaportal
    case memberUpload = "member_upload"

    public static func < (a: RecordSource, b: RecordSource) -> Bool { a.order < b.order }
    var order: Int { switch self { case .insurer: return 0; case .mynaportal: return 1; case .memberUpload: return 2 } }

    /// A record's sources as stored: sorted, `;`-separated (the same checkup from the insurer and
    /// from Mynaportal is one record with two sources).
    static func format(_ s: Set<RecordSource>) -> String { s.sorted().map(\.rawValue).joined(separator: ";") }
    static func parse(_ s: String) -> Set<RecordSource>? {
        var out = Set<RecordSource>()
        for part in s.split(separator: ";") {
            guard let r = RecordSource(rawValue: String(part)) else { return nil }
            out.insert(r)
        }
        return out.isEmpty ? nil : out
    }
}

/// The card details and identity a document names (被保険者 / 受診者), as written in the document.
public struct DocumentSubject: Equatable, Sendable {
    public var insurerNumber = ""
    public var symbol = ""
    public var number = ""
    public var branch = ""
    public var kanaName = ""
    /// "1" male, "2" female, "" unknown.
    public var sex = ""
    /// As written: YYYYMMDD or YYYY-MM-DD.
    public var birthDate = ""
    public init() {}
}

/// One observation of a checkup (健診結果の検査項目).
public struct CheckupResult: Equatable, Sendable {
    /// How the result is given: `PQ` measured value, `CD`/`CO` coded, `ST` text, `IVL_PQ` a range,
    /// `NOT_MEASURED` (nullFlavor: could not be measured), `NOT_DONE` (negationInd: not performed).
    public enum ValueType: String, Sendable { case pq = "PQ", cd = "CD", co = "CO", st = "ST", ivlPQ = "IVL_PQ", notMeasured = "NOT_MEASURED", notDone = "NOT_DONE" }

    public var itemCode = ""
    public var valueType: ValueType = .st
    /// The decimal text exactly as the document gives it (PQ), or the ST text.
    public var valueText = ""
    /// Unit in kenpo's one spelling (see `UnitSpelling`).
    public var unit = ""
    public var codedValue = ""
    public var codeSystem = ""
    /// `interpretationCode/@code` (H, L, N, A …) as given.
    public var interpretation = ""
    /// "H": above the upper measurable bound, "L": below the lower one; `valueText` is then the bound.
    public var outOfRange = ""
    public var referenceLow = ""
    public var referenceHigh = ""
    /// The code of the enclosing observation when the result is nested through entryRelationship.
    public var groupCode = ""
    /// nullFlavor as given (NI, UNK, NA …) for NOT_MEASURED.
    public var nullFlavor = ""
    public init() {}
}

/// A checkup document's content (特定健診情報).
public struct CheckupDocument: Equatable, Sendable {
    public var subject = DocumentSubject()
    /// serviceEvent/effectiveTime, as given (YYYYMMDD …).
    public var checkupDate = ""
    /// The document's own effectiveTime: when the file was made (a correction is newer).
    public var documentDate = ""
    public var institutionNumber = ""
    public var institutionName = ""
    public var results: [CheckupResult] = []
    public init() {}
}

/// One line of a medical-cost notice (医療費通知情報). Amounts are whole yen.
public struct CostNotice: Equatable, Sendable {
    public var month = ""          // 診療年月, YYYY-MM
    public var category = ""       // 診療区分
    public var days = 0            // 日数
    public var institution = ""    // 医療機関等名称
    public var totalCost = 0       // 医療費の総額
    public var insurerPaid = 0     // 保険者の負担額
    public var publicPaid = 0      // その他の公費の負担額
    public var counterPaid = 0     // 窓口相当負担額
    public var line = 0
    public init() {}
}

public struct CostNoticeDocument: Equatable, Sendable {
    public var subject = DocumentSubject()
    public var notices: [CostNotice] = []
    public init() {}
}

/// One drug of a dispensing (薬剤情報の医薬品).
public struct DispensedDrug: Equatable, Sendable {
    public var code = ""           // 医薬品コード
    public var name = ""           // 薬剤名
    public var ingredient = ""     // 成分名
    public var dose = ""           // 用量 (decimal text as given)
    public var unit = ""           // 単位
    public var directions = ""     // 用法
    public var days = 0            // 日数
    public init() {}
}

/// One dispensing (調剤): date, prescribing institution, pharmacy, drugs.
public struct Dispensing: Equatable, Sendable {
    public var date = ""           // 調剤年月日, YYYY-MM-DD
    public var institution = ""    // 医療機関名称
    public var pharmacy = ""       // 薬局名称
    public var drugs: [DispensedDrug] = []
    public var line = 0
    public init() {}
}

public struct PrescriptionDocument: Equatable, Sendable {
    public var subject = DocumentSubject()
    public var dispensings: [Dispensing] = []
    public init() {}
}

/// The transfer set's index (ix08) or summary (su08): counts to check, no records.
public struct TransferIndex: Equatable, Sendable {
    public enum Kind: String, Sendable { case index, summary }
    public var kind: Kind
    /// totalRecordCount (index) or totalSubjectCount (summary).
    public var count: Int?
}

/// What one document held.
public enum HealthDocument: Equatable, Sendable {
    case checkup(CheckupDocument)
    case costNotices(CostNoticeDocument)
    case prescriptions(PrescriptionDocument)
    case transferIndex(TransferIndex)

    public var kind: String {
        switch self {
        case .checkup: return "checkup"
        case .costNotices: return "cost_notice"
        case .prescriptions: return "prescription"
        case .transferIndex(let t): return "transfer_" + t.kind.rawValue
        }
    }

    public var subject: DocumentSubject? {
        switch self {
        case .checkup(let d): return d.subject
        case .costNotices(let d): return d.subject
        case .prescriptions(let d): return d.subject
        case .transferIndex: return nil
        }
    }
}
