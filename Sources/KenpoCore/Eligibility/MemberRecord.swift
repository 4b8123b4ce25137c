import Foundation

/// One person in the member master (加入者マスタ) — a row of `members.csv`.
///
/// Match keys (`symbol_key`, `number_key`, `kana_key`, `birth_date`, with `insurer_number`) are built
/// exactly as the registration screen folds what a member types, so the web side compares keys.
public struct MemberRecord: Equatable {
    public static let header = [
        "person_id", "insurer_number", "symbol", "number", "branch",
        "symbol_key", "number_key", "kana_key", "birth_date",
        "kana_name", "kanji_name", "sex", "relationship", "special_retiree",
        "qualified_date", "disqualified_date", "status", "card_aliases",
        "postal_code", "address", "member_ref",
    ]

    public var personID: String = ""
    public var insurerNumber: String = ""
    public var symbol: String = ""
    public var number: String = ""
    public var branch: String = ""
    public var symbolKey: String = ""
    public var numberKey: String = ""
    public var kanaKey: String = ""
    public var birthDate: String = ""
    public var kanaName: String = ""
    public var kanjiName: String = ""
    public var sex: String = ""
    public var relationship: String = ""
    public var specialRetiree: Bool = false
    public var qualifiedDate: String = ""
    public var disqualifiedDate: String = ""
    public var status: MemberStatus = .active
    /// Every card that identifies this person, `insurer:symbol_key:number_key`, current card first;
    /// a special retiree's (特例退職) card from before retirement follows, separated by `;`.
    public var cardAliases: String = ""
    public var postalCode: String = ""
    public var address: String = ""
    public var memberRef: String = ""

    public init() {}

    /// Calls `body` with each field in `header` order: the one place that order is written down.
    @inline(__always)
    public func forEachField(_ body: (String) -> Void) {
        body(personID); body(insurerNumber); body(symbol); body(number); body(branch)
        body(symbolKey); body(numberKey); body(kanaKey); body(birthDate)
        body(kanaName); body(kanjiName); body(sex); body(relationship); body(specialRetiree ? "true" : "false")
        body(qualifiedDate); body(disqualifiedDate); body(status.rawValue); body(cardAliases)
        body(postalCode); body(address); body(memberRef)
    }

    public var fields: [String] {
        var f: [String] = []
        f.reserveCapacity(Self.header.count)
        forEachField { f.append($0) }
        return f
    }

    /// Appends this record as one `members.csv` row (CRLF included), field by field, without
    /// building the `fields` array (this runs once per roster row).
    public func encodeCSV(into out: inout [UInt8]) {
        var first = true
        forEachField { s in
            if first { first = false } else { out.append(0x2C) }
            Normalise.withUTF8(s) { CSVWriter.appendQuoted(UnsafeRawBufferPointer($0), to: &out) }
        }
        out.append(0x0D); out.append(0x0A)
    }

    public init?(fields f: [String]) {
        guard f.count == Self.header.count, let status = MemberStatus(rawValue: f[16]) else { return nil }
        personID = f[0]; insurerNumber = f[1]; symbol = f[2]; number = f[3]; branch = f[4]
        symbolKey = f[5]; numberKey = f[6]; kanaKey = f[7]; birthDate = f[8]
        kanaName = f[9]; kanjiName = f[10]; sex = f[11]; relationship = f[12]
        specialRetiree = f[13] == "true"
        qualifiedDate = f[14]; disqualifiedDate = f[15]; self.status = status
        cardAliases = f[17]; postalCode = f[18]; address = f[19]; memberRef = f[20]
    }

    /// The card as a registration key (branch is not typed at registration).
    public var cardKey: String { "\(insurerNumber):\(symbolKey):\(numberKey)" }
}

/// 資格状態 on the run date.
public enum MemberStatus: String, Sendable {
    /// Qualified on the run date.
    case active
    /// Qualification starts after the run date.
    case pending
    /// 資格喪失日 is on or before the run date.
    case disqualified
    /// No longer in the insurer's roster.
    case left

    /// One-byte code for spool files.
    public var code: UInt8 {
        switch self {
        case .active: return 0
        case .pending: return 1
        case .disqualified: return 2
        case .left: return 3
        }
    }

    public init(code: UInt8) {
        switch code {
        case 1: self = .pending
        case 2: self = .disqualified
        case 3: self = .left
        default: self = .active
        }
    }

    public static func on(_ runDate: CalendarDate, qualified: CalendarDate?, disqualified: CalendarDate?) -> MemberStatus {
        if let d = disqualified, d <= runDate { return .disqualified }
        if let q = qualified, q > runDate { return .pending }
        return .active
    }
}
