import Foundation

/// One row of an insurer mailing list (健診閲覧コード送付対象者リスト), decoded.
public struct MailingRow: Sendable {
    public var insurerNumber = ""
    public var symbol = ""
    public var number = ""
    public var branch = ""
    public var kanaName = ""
    public var kanjiName = ""
    /// As written, in one of the profile's date styles.
    public var birthDate = ""
    public var postalCode = ""
    public var address1 = ""
    public var address2 = ""
}

/// Reads an insurer mailing list the way rosters are read: the insurer profile says the encoding
/// (CP932 or UTF-8, BOM accepted) and the date styles; RFC 4180 records, any line ends; header row.
///
/// Columns: a field is found under the header name the profile's `[columns]` gives it, or else under
/// the standard mailing-list name (the layout `kenpo generate` writes):
/// 保険者番号, 記号, 番号, 枝番, カナ氏名, 氏名 (or 漢字氏名), 生年月日, 郵便番号, 住所1 (or 住所), 住所2
/// (送付先区分 is read by nobody). Header names compare after NFKC with spaces removed, so ｶﾅ氏名 =
/// カナ氏名. Required: 保険者番号, 記号 (may be empty in a row), 番号, カナ氏名, 生年月日, 郵便番号, 住所1.
public final class MailingListReader {
    public enum Record {
        case row(MailingRow, line: Int, key: String)
        /// Reason, English detail (operator), line, key, the field at fault if one, Japanese detail (insurer).
        case rejected(RejectReason, String, line: Int, key: String, field: RosterField?, japanese: String)
    }

    enum Field: Int, CaseIterable {
        case insurer, symbol, number, branch, kana, kanji, birth, postal, address1, address2
        var rosterField: RosterField {
            switch self {
            case .insurer: return .insurerNumber
            case .symbol: return .symbol
            case .number: return .number
            case .branch: return .branch
            case .kana: return .kanaName
            case .kanji: return .kanjiName
            case .birth: return .birthDate
            case .postal: return .postalCode
            case .address1: return .address
            case .address2: return .address2
            }
        }
        var standardNames: [String] {
            switch self {
            case .insurer: return ["保険者番号"]
            case .symbol: return ["記号"]
            case .number: return ["番号"]
            case .branch: return ["枝番"]
            case .kana: return ["カナ氏名"]
            case .kanji: return ["氏名", "漢字氏名"]
            case .birth: return ["生年月日"]
            case .postal: return ["郵便番号"]
            case .address1: return ["住所1", "住所"]
            case .address2: return ["住所2"]
            }
        }
        var required: Bool { ![.branch, .kanji, .address2].contains(self) }
    }

    public let profile: InsurerProfile
    public let path: String
    private let csv: CSVReader
    private let digest = SHA256Digest()
    private let decoder: CP932Decoder?
    private var index: [Int] = Array(repeating: -1, count: Field.allCases.count)
    private var columns = 0
    public private(set) var recordsRead = 0
    /// The header as the insurer wrote it (decoded, and as raw bytes for hand-back files).
    public private(set) var headerNames: [String] = []
    public private(set) var headerRaw: [[UInt8]] = []

    public init(profile: InsurerProfile, path: String) throws {
        self.profile = profile
        self.path = path
        csv = try CSVReader(path: path, digest: digest)
        decoder = profile.encoding == .cp932 ? CP932Decoder() : nil
        guard try csv.next() else {
            throw KenpoError.input(path: path, line: 1, message: "the mailing list is empty; it needs a header row")
        }
        if let m = csv.malformed { throw KenpoError.input(path: path, line: csv.line, message: "the header row is malformed: \(m)") }
        columns = csv.fieldCount
        var folded: [String: Int] = [:]
        for i in 0..<csv.fieldCount {
            guard case .success(let name) = decode(Array(csv.fieldBytes(i))) else {
                throw KenpoError.input(path: path, line: csv.line, message: "the header row is not valid \(profile.encoding.rawValue) (column \(i + 1)); is the profile's encoding right?")
            }
            headerNames.append(name)
            headerRaw.append(Array(csv.fieldBytes(i)))
            folded[RosterReader.foldHeader(name), default: i] = i
        }
        var missing: [String] = []
        for f in Field.allCases {
            let names = (profile.columns[f.rosterField].map { [$0] } ?? []) + f.standardNames
            if let i = names.lazy.compactMap({ folded[RosterReader.foldHeader($0)] }).first {
                index[f.rawValue] = i
            } else if f.required {
                missing.append(names.joined(separator: "/"))
            }
        }
        if !missing.isEmpty {
            throw KenpoError.input(path: path, line: csv.line, message: "the mailing list's header has no column \(missing.joined(separator: ", ")); profile \(profile.name) or the standard mailing-list names must name every required column")
        }
    }

    /// Decoded as roster fields are (`RosterReader.decode`): the profile's encoding, NUL refused.
    private func decode(_ bytes: [UInt8]) -> Result<String, DecodeFailure> {
        bytes.withUnsafeBytes { RosterReader.decode($0, decoder: decoder) }
    }

    /// The current record's fields as they are in the file (its encoding), for hand-back files.
    public func currentRawFields() -> [[UInt8]] { (0..<csv.fieldCount).map { Array(csv.fieldBytes($0)) } }

    /// The insurer's own name of the column holding `field`, if the list has it.
    public func columnLabel(_ field: RosterField) -> String? {
        guard let f = Field.allCases.first(where: { $0.rosterField == field }) else { return nil }
        let i = index[f.rawValue]
        return i >= 0 && i < headerNames.count ? headerNames[i] : nil
    }

    public func next() throws -> Record? {
        guard try csv.next() else { return nil }
        recordsRead += 1
        let line = csv.line
        if let m = csv.malformed {
            return .rejected(.malformedRecord, m, line: line, key: "", field: nil, japanese: "引用符の対応などが崩れていて、CSVの行として読めません")
        }
        var values = Array(repeating: "", count: Field.allCases.count)
        var problem: (english: String, japanese: String, field: RosterField)?
        for f in Field.allCases where index[f.rawValue] >= 0 {
            let i = index[f.rawValue]
            guard i < csv.fieldCount else { continue }
            switch decode(Array(csv.fieldBytes(i))) {
            case .success(let s): values[f.rawValue] = Normalise.trim(s)
            case .failure(let e):
                if problem == nil {
                    problem = (String(format: "column %d: byte 0x%02X at offset %d is not valid %@", i + 1, e.byte, e.byteOffset, profile.encoding.rawValue),
                               String(format: "列「%@」の%dバイト目（0x%02X）が%@として読めません", headerNames[i], e.byteOffset + 1, e.byte, profile.encoding.rawValue),
                               f.rosterField)
                }
            }
        }
        let key = RecordKey.format(Normalise.foldWidth(values[Field.insurer.rawValue]), Normalise.foldWidth(values[Field.symbol.rawValue]),
                                   Normalise.foldWidth(values[Field.number.rawValue]), Normalise.foldWidth(values[Field.branch.rawValue]), ref: "")
        if csv.fieldCount < columns {
            return .rejected(.columnCount, "\(csv.fieldCount) columns, the header has \(columns)", line: line, key: key, field: nil,
                             japanese: "列の数が\(csv.fieldCount)です（見出し行は\(columns)列）")
        }
        if let problem { return .rejected(.encodingInvalid, problem.english, line: line, key: key, field: problem.field, japanese: problem.japanese) }
        var r = MailingRow()
        r.insurerNumber = values[Field.insurer.rawValue]; r.symbol = values[Field.symbol.rawValue]
        r.number = values[Field.number.rawValue]; r.branch = values[Field.branch.rawValue]
        r.kanaName = values[Field.kana.rawValue]; r.kanjiName = values[Field.kanji.rawValue]
        r.birthDate = values[Field.birth.rawValue]; r.postalCode = values[Field.postal.rawValue]
        r.address1 = values[Field.address1.rawValue]; r.address2 = values[Field.address2.rawValue]
        return .row(r, line: line, key: key)
    }

    /// Total bytes and SHA-256 of the file; call after the last record.
    public func finish() throws -> (bytes: Int, sha256: String) {
        try csv.drain()
        return (csv.bytesRead, digest.finalizeHex())
    }
}
