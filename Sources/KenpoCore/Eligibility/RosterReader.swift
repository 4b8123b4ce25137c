import Foundation

/// What is wrong with one roster row: a stable reason, the field at fault (if one), the value as
/// read, and a sentence for the operator.
public struct RowProblem: Error, Equatable {
    public var reason: RejectReason
    public var field: RosterField?
    public var value: String
    public var detail: String
    /// The detail in Japanese for the insurer's hand-back file, where the problem is not simply one
    /// field's value (that one is quoted as 列「…」の値「…」).
    public var japaneseDetail: String? = nil
}

/// The key naming a record in `rejects.csv`: the card as written, and the member reference if any.
enum RecordKey {
    static func format(_ insurer: String, _ symbol: String, _ number: String, _ branch: String, ref: String) -> String {
        let card = "\(insurer)/\(symbol)/\(number)/\(branch)"
        return ref.isEmpty ? card : "\(card) ref:\(ref)"
    }
}

/// One roster row that passed validation, normalised; the person id is assigned by the stage.
public struct RosterRow {
    public var member: MemberRecord
    public var qualified: CalendarDate?
    public var disqualified: CalendarDate?
    /// 特例退職: the card from before retirement, as `insurer:symbol_key:number_key`.
    public var formerCard: String?
}

/// The outcome of reading one record.
public enum RosterRecord {
    case accepted(RosterRow, line: Int)
    case rejected(RowProblem, line: Int, key: String, rawFields: [[UInt8]])
}

/// Reads one insurer roster file as its profile says, streaming: one record in memory at a time.
public final class RosterReader {
    public let profile: InsurerProfile
    public let path: String
    public let runDate: CalendarDate
    private let csv: CSVReader
    /// Bytes of the file read so far (progress).
    public var bytesRead: Int { csv.bytesRead }
    private let digest = SHA256Digest()
    private let decoder: CP932Decoder?
    /// Column index of each mapped field.
    private var columnIndex: [Int]  // indexed by RosterField ordinal, -1 = not mapped
    /// The header as the insurer wrote it (decoded) and as raw bytes, for hand-back files.
    public private(set) var headerNames: [String] = []
    public private(set) var headerRaw: [[UInt8]] = []
    private var expectedColumns = 0
    /// Data records read (the header is not a record).
    public private(set) var recordsRead = 0
    private var values: [String]
    private static let fields = RosterField.allCases

    public init(profile: InsurerProfile, path: String, runDate: CalendarDate) throws {
        self.profile = profile
        self.path = path
        self.runDate = runDate
        self.csv = try CSVReader(path: path, digest: digest)
        self.decoder = profile.encoding == .cp932 ? CP932Decoder() : nil
        self.columnIndex = Array(repeating: -1, count: RosterField.allCases.count)
        self.values = Array(repeating: "", count: RosterField.allCases.count)
        try readHeader()
    }

    private func readHeader() throws {
        if profile.hasHeader {
            guard try csv.next() else {
                throw KenpoError.input(path: path, line: 1, message: "the file is empty; a roster needs a header row and at least one member")
            }
            if let m = csv.malformed { throw KenpoError.input(path: path, line: csv.line, message: "the header row is malformed: \(m)") }
            expectedColumns = csv.fieldCount
            var folded: [String: Int] = [:]
            for i in 0..<csv.fieldCount {
                let raw = Array(csv.fieldBytes(i))
                headerRaw.append(raw)
                let name: String
                switch decode(raw) {
                case .success(let s): name = s
                case .failure:
                    throw KenpoError.input(path: path, line: csv.line, message: "the header row is not valid \(profile.encoding.rawValue) (column \(i + 1)); is the profile's encoding right?")
                }
                headerNames.append(name)
                folded[Self.foldHeader(name), default: i] = i
            }
            var missing: [String] = []
            for field in RosterField.allCases {
                guard let column = profile.columns[field] else { continue }
                guard let idx = folded[Self.foldHeader(column)] else { missing.append("'\(column)' (\(field.rawValue))"); continue }
                columnIndex[field.ordinal] = idx
            }
            if !missing.isEmpty {
                throw KenpoError.input(
                    path: path, line: csv.line,
                    message: "the header has no column \(missing.joined(separator: ", ")) that profile \(profile.name) (\(profile.path)) maps; the first row has \(headerNames.count) columns, \(profile.columns.count - missing.count) of them named as the profile expects. Fix the profile's [columns], or check that the file has a header row and belongs to this insurer")
            }
        } else {
            for (field, column) in profile.columns {
                let idx = Int(column)! - 1
                columnIndex[field.ordinal] = idx
                expectedColumns = max(expectedColumns, idx + 1)
            }
            headerNames = (0..<expectedColumns).map { "列\($0 + 1)" }
            // No header in the file: the hand-back file heads the row's columns 列1, 列2 … in the file's encoding.
            let encoder = profile.encoding == .cp932 ? CP932Encoder() : nil
            headerRaw = headerNames.map { encoder?.encode($0).bytes ?? Array($0.utf8) }
        }
    }

    /// Header names compare after NFKC, trimming and dropping spaces, so ｶﾅ氏名 matches カナ氏名.
    static func foldHeader(_ s: String) -> String {
        s.precomposedStringWithCompatibilityMapping.filter { !$0.isWhitespace }
    }

    private func decode(_ bytes: [UInt8]) -> Result<String, DecodeFailure> {
        bytes.withUnsafeBytes { decode($0) }
    }

    private func decode(_ bytes: UnsafeRawBufferPointer) -> Result<String, DecodeFailure> {
        Self.decode(bytes, decoder: decoder)
    }

    /// One field of an insurer's file as text: CP932 when `decoder` is given, else UTF-8; a NUL byte
    /// is refused in either (no text holds one). Also read so: mailing lists (`MailingListReader`).
    static func decode(_ bytes: UnsafeRawBufferPointer, decoder: CP932Decoder?) -> Result<String, DecodeFailure> {
        if let base = bytes.baseAddress, let nul = memchr(base, 0, bytes.count) {
            return .failure(DecodeFailure(byteOffset: base.distance(to: UnsafeRawPointer(nul)), byte: 0))
        }
        if let decoder { return decoder.decode(bytes) }
        if let s = String(validating: bytes, as: UTF8.self) { return .success(s) }
        // Find the first invalid byte for the message.
        var offset = 0
        var it = bytes.makeIterator()
        var utf8 = UTF8()
        loop: while true {
            switch utf8.decode(&it) {
            case .scalarValue(let s): offset += String(s).utf8.count
            case .emptyInput: break loop
            case .error: break loop
            }
        }
        return .failure(DecodeFailure(byteOffset: offset, byte: offset < bytes.count ? bytes[offset] : 0))
    }

    /// Total bytes and SHA-256 of the file; call after the last record.
    public func finish() throws -> (bytes: Int, sha256: String) {
        try csv.drain()
        return (csv.bytesRead, digest.finalizeHex())
    }

    private func columnName(_ field: RosterField) -> String {
        let idx = columnIndex[field.ordinal]
        return idx >= 0 && idx < headerNames.count ? headerNames[idx] : field.rawValue
    }

    @inline(__always)
    private func value(_ field: RosterField) -> String { values[field.ordinal] }

    private func rawFields() -> [[UInt8]] { (0..<csv.fieldCount).map { Array(csv.fieldBytes($0)) } }

    /// The current record's fields as they are in the file (its encoding), for hand-back files.
    public func currentRawFields() -> [[UInt8]] { rawFields() }

    /// The insurer's own name of the column holding `field`.
    public func columnLabel(_ field: RosterField) -> String? {
        let idx = columnIndex[field.ordinal]
        return idx >= 0 && idx < headerNames.count ? headerNames[idx] : nil
    }

    /// Whatever identifies the current (rejected) record, as far as it can be read.
    public func bestEffortIdentity() -> (insurer: String, symbolKey: String?, numberKey: String?, ref: String) {
        let insurer: String
        switch InsurerNumber.validate(value(.insurerNumber)) {
        case .success(let n): insurer = n
        case .failure: insurer = Normalise.foldWidth(value(.insurerNumber))
        }
        return (insurer, CardKeys.symbolKey(value(.symbol)), CardKeys.numberKey(value(.number)), Normalise.foldWidth(value(.memberRef)))
    }

    private func recordKey() -> String {
        RecordKey.format(Normalise.foldWidth(value(.insurerNumber)), Normalise.foldWidth(value(.symbol)),
                         Normalise.foldWidth(value(.number)), Normalise.foldWidth(value(.branch)), ref: value(.memberRef))
    }

    /// Reads the next record; nil at the end of the file.
    public func next() throws -> RosterRecord? {
        guard try csv.next() else { return nil }
        recordsRead += 1
        let line = csv.line
        for i in values.indices { values[i] = "" }
        if let m = csv.malformed {
            return .rejected(RowProblem(reason: .malformedRecord, field: nil, value: "", detail: m,
                                        japaneseDetail: "引用符の対応などが崩れていて、CSVの行として読めません"),
                             line: line, key: "", rawFields: rawFields())
        }
        if csv.fieldCount != expectedColumns {
            var extraEmpty = csv.fieldCount > expectedColumns
            if extraEmpty { for i in expectedColumns..<csv.fieldCount where !csv.fieldBytes(i).isEmpty { extraEmpty = false; break } }
            if !extraEmpty {
                let detail = csv.fieldCount < expectedColumns
                    ? "\(csv.fieldCount) columns, the header has \(expectedColumns)"
                    : "\(csv.fieldCount) columns, the header has \(expectedColumns) (an unquoted comma in a field?)"
                let japanese = "列の数が\(csv.fieldCount)です（見出し行は\(expectedColumns)列）"
                    + (csv.fieldCount > expectedColumns ? "。引用符で囲まれていない「,」がありませんか" : "")
                return .rejected(RowProblem(reason: .columnCount, field: nil, value: "", detail: detail, japaneseDetail: japanese),
                                 line: line, key: "", rawFields: rawFields())
            }
        }
        for (o, idx) in columnIndex.enumerated() where idx >= 0 {
            let result = csv.withField(idx) { decode($0) }
            switch result {
            case .success(let s): values[o] = s
            case .failure(let f):
                let field = Self.fields[o]
                let problem = RowProblem(
                    reason: .encodingInvalid, field: field, value: "",
                    detail: String(format: "column '%@': byte 0x%02X at offset %d is not valid %@", columnName(field), f.byte, f.byteOffset, profile.encoding.rawValue),
                    japaneseDetail: String(format: "列「%@」の%dバイト目（0x%02X）が%@として読めません", columnName(field), f.byteOffset + 1, f.byte, profile.encoding.rawValue))
                return .rejected(problem, line: line, key: recordKey(), rawFields: rawFields())
            }
        }
        switch normalise() {
        case .success(let row): return .accepted(row, line: line)
        case .failure(let p): return .rejected(p, line: line, key: recordKey(), rawFields: rawFields())
        }
    }

    private func problem(_ reason: RejectReason, _ field: RosterField?, _ detail: String) -> RowProblem {
        RowProblem(reason: reason, field: field, value: field.map { value($0) } ?? "", detail: detail)
    }

    /// A name or address holding a control character (ESC, BEL, CR …): ENCODING_INVALID, as a NUL is.
    private func controlCharacter(_ field: RosterField, _ c: (scalar: Unicode.Scalar, position: Int)) -> RowProblem {
        let code = ControlCharacters.name(c.scalar)
        return RowProblem(reason: .encodingInvalid, field: field, value: value(field),
                          detail: "column '\(columnName(field))' holds the control character \(code) at character \(c.position); a name or address is text only",
                          japaneseDetail: "列「\(columnName(field))」の\(c.position)文字目に制御文字（\(code)）があります")
    }

    private func parseDate(_ field: RosterField) -> Result<CalendarDate?, RowProblem> {
        let raw = value(field)
        if Normalise.isBlank(raw) { return .success(nil) }
        switch JapaneseDate.parse(raw, styles: profile.dateStyles) {
        case .success(let d): return .success(d)
        case .failure(let e):
            return .failure(problem(.dateInvalid, field, "column '\(columnName(field))' value '\(raw)': \(e.message)"))
        }
    }

    /// Validates and normalises the decoded values of the current record.
    func normalise() -> Result<RosterRow, RowProblem> {
        for f in RosterField.required where Normalise.isBlank(value(f)) {
            return .failure(problem(.fieldMissing, f, "column '\(columnName(f))' (\(f.rawValue)) is empty"))
        }
        var m = MemberRecord()
        switch InsurerNumber.validate(value(.insurerNumber)) {
        case .success(let n): m.insurerNumber = n
        case .failure(.notEightDigits(let hint)):
            return .failure(problem(.insurerNumberInvalid, .insurerNumber, "column '\(columnName(.insurerNumber))' value '\(value(.insurerNumber))': \(hint)"))
        case .failure(.checkDigit(let expected)):
            return .failure(problem(.insurerCheckDigit, .insurerNumber, "column '\(columnName(.insurerNumber))' value '\(value(.insurerNumber))': the check digit should be \(expected)"))
        }
        if let expected = profile.insurerNumber, expected != m.insurerNumber {
            return .failure(problem(.insurerMismatch, .insurerNumber, "insurer number \(m.insurerNumber) is not \(expected), the insurer of profile \(profile.name)"))
        }
        guard let symbolKey = CardKeys.symbolKey(value(.symbol)) else {
            return .failure(problem(.symbolInvalid, .symbol, "column '\(columnName(.symbol))' value '\(value(.symbol))' cannot be read"))
        }
        m.symbol = Normalise.foldWidth(value(.symbol))
        m.symbolKey = symbolKey
        guard let numberKey = CardKeys.numberKey(value(.number)) else {
            return .failure(problem(.numberInvalid, .number, "column '\(columnName(.number))' value '\(value(.number))' must be digits"))
        }
        m.number = Normalise.removeSpaces(value(.number))
        m.numberKey = numberKey
        guard let branch = CardKeys.branch(value(.branch)) else {
            return .failure(problem(.branchInvalid, .branch, "column '\(columnName(.branch))' value '\(value(.branch))' must be digits"))
        }
        m.branch = branch
        switch KanaName.normalise(value(.kanaName)) {
        case .success(let k):
            m.kanaName = k
            m.kanaKey = KanaName.key(normalised: k)
        case .failure(.empty):
            return .failure(problem(.fieldMissing, .kanaName, "column '\(columnName(.kanaName))' has no kana"))
        case .failure(.invalidCharacter(let c)):
            // The value quoted as read, control characters shown escaped (ESC [2J must not reach a terminal).
            return .failure(problem(.kanaInvalid, .kanaName, "column '\(columnName(.kanaName))' value '\(ControlCharacters.escaped(value(.kanaName)))': '\(ControlCharacters.escaped(String(c)))' is not kana"))
        }
        m.kanjiName = Normalise.trim(value(.kanjiName))
        if let c = ControlCharacters.first(in: m.kanjiName) { return .failure(controlCharacter(.kanjiName, c)) }
        let birth: CalendarDate
        switch parseDate(.birthDate) {
        case .success(let d): birth = d!
        case .failure(let p): return .failure(p)
        }
        if birth > runDate {
            return .failure(problem(.birthAfterRunDate, .birthDate, "birth date \(birth.iso) is after the run date \(runDate.iso)"))
        }
        m.birthDate = birth.iso
        guard let sex = Sex.parse(value(.sex), overrides: profile.sexValues) else {
            return .failure(problem(.sexInvalid, .sex, "column '\(columnName(.sex))' value '\(value(.sex))' is not a sex code (1/2, 男/女, M/F)"))
        }
        m.sex = sex
        if columnIndex[RosterField.relationship.ordinal] >= 0 {
            guard let rel = Relationship.parse(value(.relationship), overrides: profile.relationshipValues) else {
                return .failure(problem(.relationshipInvalid, .relationship, "column '\(columnName(.relationship))' value '\(value(.relationship))' is not an insured/dependant code"))
            }
            m.relationship = rel.relationship
            m.specialRetiree = rel.specialRetiree
        } else {
            m.relationship = "insured"
        }
        var qualified: CalendarDate?, disqualified: CalendarDate?
        switch parseDate(.qualifiedDate) {
        case .success(let d): qualified = d
        case .failure(let p): return .failure(p)
        }
        switch parseDate(.disqualifiedDate) {
        case .success(let d): disqualified = d
        case .failure(let p): return .failure(p)
        }
        if let q = qualified, let d = disqualified, d < q {
            return .failure(problem(.qualificationOrder, .disqualifiedDate, "資格喪失日 \(d.iso) is before 資格取得日 \(q.iso)"))
        }
        if let q = qualified, q < birth {
            return .failure(problem(.qualificationOrder, .qualifiedDate, "資格取得日 \(q.iso) is before the birth date \(birth.iso)"))
        }
        m.qualifiedDate = qualified?.iso ?? ""
        m.disqualifiedDate = disqualified?.iso ?? ""
        m.status = MemberStatus.on(runDate, qualified: qualified, disqualified: disqualified)

        var formerCard: String?
        let formerFields = [value(.formerInsurerNumber), value(.formerSymbol), value(.formerNumber)]
        if formerFields.contains(where: { !Normalise.isBlank($0) }) {
            guard case .success(let fi) = InsurerNumber.validate(formerFields[0]),
                  let fs = CardKeys.symbolKey(formerFields[1]), let fn = CardKeys.numberKey(formerFields[2]) else {
                return .failure(problem(.formerCardInvalid, .formerNumber, "the former card '\(formerFields.joined(separator: "/"))' needs a valid insurer number, symbol and number"))
            }
            formerCard = "\(fi):\(fs):\(fn)"
        }
        m.cardAliases = m.cardKey + (formerCard.map { ";" + $0 } ?? "")
        m.postalCode = Self.postalCode(value(.postalCode))
        let a1 = Normalise.trim(value(.address))
        let a2 = Normalise.trim(value(.address2))
        // An address may break its lines (a quoted CR LF); no other control character is text.
        for (field, text) in [(RosterField.address, a1), (.address2, a2)] {
            if let c = ControlCharacters.first(in: text, allowing: ["\n", "\r", "\t"]) { return .failure(controlCharacter(field, c)) }
        }
        m.address = a2.isEmpty ? a1 : (a1.isEmpty ? a2 : a1 + " " + a2)
        m.memberRef = Normalise.foldWidth(value(.memberRef))
        return .success(RosterRow(member: m, qualified: qualified, disqualified: disqualified, formerCard: formerCard))
    }

    /// 郵便番号 as 7 digits when it is one (〒123-4567, １２３－４５６７ …), else as written.
    static func postalCode(_ raw: String) -> String {
        let folded = Normalise.foldWidth(raw)
        var digits: [UInt8] = []
        digits.reserveCapacity(8)
        for b in folded.utf8 where b >= 0x30 && b <= 0x39 { digits.append(b) }
        return digits.count == 7 ? String(decoding: digits, as: UTF8.self) : folded
    }
}
