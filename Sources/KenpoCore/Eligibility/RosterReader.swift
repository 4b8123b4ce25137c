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
    /// The member as the bytes of its members.csv fields (what the stage works on).
    public var normalised: MemberRow
    public var qualified: CalendarDate?
    public var disqualified: CalendarDate?
    /// 特例退職: the card from before retirement, as `insurer:symbol_key:number_key`.
    public var formerCard: String?
    /// The member as a record of Strings (made on each call: for tests and rare paths).
    public var member: MemberRecord { normalised.record }
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
    private var columnIndex = FieldTable(repeating: -1)  // indexed by RosterField ordinal, -1 = not mapped
    /// The header as the insurer wrote it (decoded) and as raw bytes, for hand-back files.
    public private(set) var headerNames: [String] = []
    public private(set) var headerRaw: [[UInt8]] = []
    private var expectedColumns = 0
    /// Data records read (the header is not a record).
    public private(set) var recordsRead = 0
    /// The current record's mapped fields decoded to UTF-8, back to back (one buffer reused for
    /// every row: a String per field was the reader's main cost), and where each lies, indexed by
    /// RosterField ordinal; an unmapped or not yet decoded field is empty.
    private var text: [UInt8] = []
    private var textStarts = FieldTable(repeating: 0)
    private var textEnds = FieldTable(repeating: 0)
    /// The current row normalised; handed out in `.accepted` and reused when the caller lets it go.
    private var row = MemberRow()
    private var insurerMemo = ValueMemo<Result<String, InsurerNumberError>>()
    private var sexMemo = ValueMemo<String?>()
    private var relationshipMemo = ValueMemo<(relationship: String, specialRetiree: Bool)?>()
    private static let fields = RosterField.allCases
    /// One Int per RosterField, inline (no allocation or reference count per row).
    typealias FieldTable = InlineArray<18, Int>
    /// The profile's rules read once (taken from `profile` per row, each cost a retain and release).
    private let dateStyles: [DateStyle]
    private let sexValues: [String: String]
    private let relationshipValues: [String: String]

    public init(profile: InsurerProfile, path: String, runDate: CalendarDate) throws {
        self.profile = profile
        self.path = path
        self.runDate = runDate
        self.csv = try CSVReader(path: path, digest: digest)
        precondition(RosterField.allCases.count == FieldTable.count, "FieldTable needs one entry per RosterField")
        self.decoder = profile.encoding == .cp932 ? CP932Decoder() : nil
        self.dateStyles = profile.dateStyles
        self.sexValues = profile.sexValues
        self.relationshipValues = profile.relationshipValues
        text.reserveCapacity(1024)
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
        // Valid UTF-8 without NUL (nearly every field of a mailing list) becomes its String directly.
        if decoder == nil, memchr(bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, 0, bytes.count) == nil,
           let s = String(validating: bytes, as: UTF8.self) { return .success(s) }
        var out: [UInt8] = []
        if let failure = decode(bytes, decoder: decoder, appendingTo: &out) { return .failure(failure) }
        return .success(String(decoding: out, as: UTF8.self))
    }

    /// `decode`, the text appended to `out` as UTF-8; on failure nothing is appended.
    static func decode(_ bytes: UnsafeRawBufferPointer, decoder: CP932Decoder?, appendingTo out: inout [UInt8]) -> DecodeFailure? {
        // Most fields (numbers, codes, dates) are ASCII without a NUL, their own text in either encoding
        // (CP932 decodes ASCII to itself): appended without the NUL search and the decoder's call.
        if !bytes.contains(where: { $0 == 0 || $0 >= 0x80 }) {
            out.append(contentsOf: bytes)
            return nil
        }
        if let base = bytes.baseAddress, let nul = memchr(base, 0, bytes.count) {
            return DecodeFailure(byteOffset: base.distance(to: UnsafeRawPointer(nul)), byte: 0)
        }
        // Optional chaining, not `if let`: a bound copy of the decoder cost a retain and release per field.
        if decoder != nil { return decoder?.decode(bytes, appendingTo: &out) ?? nil }
        // (Here a byte is 0x80 or above: plain ASCII returned above.)
        // Valid UTF-8 is appended as it is; else the first invalid byte is named. (No String is made
        // to validate: one per non-ASCII field.)
        var offset = 0
        var it = bytes.makeIterator()
        var utf8 = UTF8()
        while true {
            switch utf8.decode(&it) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput:
                out.append(contentsOf: bytes)
                return nil
            case .error: return DecodeFailure(byteOffset: offset, byte: offset < bytes.count ? bytes[offset] : 0)
            }
        }
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

    /// The decoded value of `field` as a String (for messages and rejected rows: the hot path reads bytes).
    private func value(_ field: RosterField) -> String {
        text.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[textStarts[field.ordinal]..<textEnds[field.ordinal]]), as: UTF8.self) }
    }

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
        text.removeAll(keepingCapacity: true)
        textStarts = FieldTable(repeating: 0)
        textEnds = FieldTable(repeating: 0)
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
        if let (o, f) = decodeFields() {
            let field = Self.fields[o]
            let problem = RowProblem(
                reason: .encodingInvalid, field: field, value: "",
                detail: String(format: "column '%@': byte 0x%02X at offset %d is not valid %@", columnName(field), f.byte, f.byteOffset, profile.encoding.rawValue),
                japaneseDetail: String(format: "列「%@」の%dバイト目（0x%02X）が%@として読めません", columnName(field), f.byteOffset + 1, f.byte, profile.encoding.rawValue))
            return .rejected(problem, line: line, key: recordKey(), rawFields: rawFields())
        }
        switch normalise() {
        case .success(let row): return .accepted(row, line: line)
        case .failure(let p): return .rejected(p, line: line, key: recordKey(), rawFields: rawFields())
        }
    }

    /// Decodes every mapped field of the current record into `text`, in field order, stopping at
    /// the first that cannot be decoded (its ordinal and where it failed; the fields before it stay
    /// readable for the reject's key). The record's bytes are walked once, without a closure per
    /// field (each cost reference counting at 17 fields a row).
    private func decodeFields() -> (Int, DecodeFailure)? {
        let decoder = self.decoder
        // Worked on as locals (moved out and back: no copy), not as properties inside the loop.
        var text = self.text, starts = textStarts, ends = textEnds
        self.text = []
        defer { self.text = text; textStarts = starts; textEnds = ends }
        // Read through `span`: subscripting an InlineArray copied all of it per element read (Swift 6.3).
        let columnTable = columnIndex
        let columns = columnTable.span
        let fieldEnds = csv.fieldEnds
        return csv.fieldData.withUnsafeBytes { data -> (Int, DecodeFailure)? in
            for o in 0..<columns.count {
                let idx = columns[o]
                guard idx >= 0 else { continue }
                let start = text.count
                let field = UnsafeRawBufferPointer(rebasing: data[(idx == 0 ? 0 : fieldEnds[idx - 1])..<fieldEnds[idx]])
                if let failure = Self.decode(field, decoder: decoder, appendingTo: &text) { return (o, failure) }
                starts[o] = start
                ends[o] = text.count
            }
            return nil
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

    /// Parses a date field; blank is nil.
    private func parseDate(_ field: RosterField, _ p: UnsafeBufferPointer<UInt8>) -> Result<CalendarDate?, RowProblem> {
        if Normalise.isBlank(p) { return .success(nil) }
        switch JapaneseDate.parse(p, styles: dateStyles) {
        case .success(let d): return .success(d)
        case .failure(let e):
            return .failure(problem(.dateInvalid, field, "column '\(columnName(field))' value '\(value(field))': \(e.message)"))
        }
    }

    /// The first control character of a name or address (`ControlCharacters.first`), from its bytes:
    /// a String is made only when a byte may start one.
    private static func controlCharacter(in p: UnsafeBufferPointer<UInt8>, allowing: Set<Unicode.Scalar> = []) -> (scalar: Unicode.Scalar, position: Int)? {
        guard ControlCharacters.mayContain(p) else { return nil }
        return ControlCharacters.first(in: String(decoding: p, as: UTF8.self), allowing: allowing)
    }

    /// Line breaks and tabs an address may hold.
    private static let addressWhitespace: Set<Unicode.Scalar> = ["\n", "\r", "\t"]

    /// Validates and normalises the decoded values of the current record.
    func normalise() -> Result<RosterRow, RowProblem> {
        // The decoded fields are read in place; the result is written into `row` in place (its storage
        // is reused when the caller has let go of the previous row). Moving the row out and back cost
        // two copies of it per record: it is some 350 bytes.
        row.reset()
        let starts = textStarts, ends = textEnds
        let result = text.withUnsafeBufferPointer { t in normalise(t, starts: starts.span, ends: ends.span, into: &row) }
        switch result {
        case .success(let dates):
            return .success(RosterRow(normalised: row, qualified: dates.qualified, disqualified: dates.disqualified, formerCard: dates.formerCard))
        case .failure(let p):
            return .failure(p)
        }
    }

    /// `starts`, `ends`: `textStarts` and `textEnds` as spans (an InlineArray subscript copies the whole table per read).
    private func normalise(_ t: UnsafeBufferPointer<UInt8>, starts: Span<Int>, ends: Span<Int>, into m: inout MemberRow)
        -> Result<(qualified: CalendarDate?, disqualified: CalendarDate?, formerCard: String?), RowProblem> {
        func f(_ field: RosterField) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: t[starts[field.ordinal]..<ends[field.ordinal]])
        }
        for r in RosterField.required where Normalise.isBlank(f(r)) {
            return .failure(problem(.fieldMissing, r, "column '\(columnName(r))' (\(r.rawValue)) is empty"))
        }
        let insurer: String
        switch insurerMemo.value(f(.insurerNumber), InsurerNumber.validate) {
        case .success(let n): insurer = n
        case .failure(.notEightDigits(let hint)):
            return .failure(problem(.insurerNumberInvalid, .insurerNumber, "column '\(columnName(.insurerNumber))' value '\(value(.insurerNumber))': \(hint)"))
        case .failure(.checkDigit(let expected)):
            return .failure(problem(.insurerCheckDigit, .insurerNumber, "column '\(columnName(.insurerNumber))' value '\(value(.insurerNumber))': the check digit should be \(expected)"))
        }
        if let expected = profile.insurerNumber, expected != insurer {
            return .failure(problem(.insurerMismatch, .insurerNumber, "insurer number \(insurer) is not \(expected), the insurer of profile \(profile.name)"))
        }
        m.set(.insurerNumber, insurer)
        guard m.tryWrite(.symbolKey, { CardKeys.symbolKey(f(.symbol), into: &$0) }) else {
            return .failure(problem(.symbolInvalid, .symbol, "column '\(columnName(.symbol))' value '\(value(.symbol))' cannot be read"))
        }
        m.write(.symbol) { Normalise.foldWidth(f(.symbol), into: &$0) }
        guard m.tryWrite(.numberKey, { CardKeys.numberKey(f(.number), into: &$0) }) else {
            return .failure(problem(.numberInvalid, .number, "column '\(columnName(.number))' value '\(value(.number))' must be digits"))
        }
        m.write(.number) { Normalise.removeSpaces(f(.number), into: &$0) }
        guard m.tryWrite(.branch, { CardKeys.branch(f(.branch), into: &$0) }) else {
            return .failure(problem(.branchInvalid, .branch, "column '\(columnName(.branch))' value '\(value(.branch))' must be digits"))
        }
        var kanaError: KanaNameError?
        guard m.tryWrite(.kanaName, { kanaError = KanaName.normalise(f(.kanaName), into: &$0); return kanaError == nil }) else {
            switch kanaError! {
            case .empty:
                return .failure(problem(.fieldMissing, .kanaName, "column '\(columnName(.kanaName))' has no kana"))
            case .invalidCharacter(let c):
                // The value quoted as read, control characters shown escaped (ESC [2J must not reach a terminal).
                return .failure(problem(.kanaInvalid, .kanaName, "column '\(columnName(.kanaName))' value '\(ControlCharacters.escaped(value(.kanaName)))': '\(ControlCharacters.escaped(String(c)))' is not kana"))
            }
        }
        let kana = m.range(.kanaName)
        m.write(.kanaKey) { KanaName.appendKey(ofNormalisedAt: kana, in: &$0) }
        let kanji = UnsafeBufferPointer(rebasing: f(.kanjiName)[Normalise.trimmedRange(f(.kanjiName))])
        if let c = Self.controlCharacter(in: kanji) { return .failure(controlCharacter(.kanjiName, c)) }
        m.set(.kanjiName, kanji)
        let birth: CalendarDate
        switch parseDate(.birthDate, f(.birthDate)) {
        case .success(let d): birth = d!
        case .failure(let p): return .failure(p)
        }
        if birth > runDate {
            return .failure(problem(.birthAfterRunDate, .birthDate, "birth date \(birth.iso) is after the run date \(runDate.iso)"))
        }
        m.write(.birthDate) { birth.appendISO(to: &$0) }
        let overrides = sexValues
        guard let sex = sexMemo.value(f(.sex), { Sex.parse($0, overrides: overrides) }) else {
            return .failure(problem(.sexInvalid, .sex, "column '\(columnName(.sex))' value '\(value(.sex))' is not a sex code (1/2, 男/女, M/F)"))
        }
        m.set(.sex, sex)
        if columnIndex[RosterField.relationship.ordinal] >= 0 {
            let overrides = relationshipValues
            guard let rel = relationshipMemo.value(f(.relationship), { Relationship.parse($0, overrides: overrides) }) else {
                return .failure(problem(.relationshipInvalid, .relationship, "column '\(columnName(.relationship))' value '\(value(.relationship))' is not an insured/dependant code"))
            }
            m.set(.relationship, rel.relationship)
            m.set(.specialRetiree, rel.specialRetiree ? "true" : "false")
        } else {
            m.set(.relationship, "insured")
            m.set(.specialRetiree, "false")
        }
        var qualified: CalendarDate?, disqualified: CalendarDate?
        switch parseDate(.qualifiedDate, f(.qualifiedDate)) {
        case .success(let d): qualified = d
        case .failure(let p): return .failure(p)
        }
        switch parseDate(.disqualifiedDate, f(.disqualifiedDate)) {
        case .success(let d): disqualified = d
        case .failure(let p): return .failure(p)
        }
        if let q = qualified, let d = disqualified, d < q {
            return .failure(problem(.qualificationOrder, .disqualifiedDate, "資格喪失日 \(d.iso) is before 資格取得日 \(q.iso)"))
        }
        if let q = qualified, q < birth {
            return .failure(problem(.qualificationOrder, .qualifiedDate, "資格取得日 \(q.iso) is before the birth date \(birth.iso)"))
        }
        m.write(.qualifiedDate) { qualified?.appendISO(to: &$0) }
        m.write(.disqualifiedDate) { disqualified?.appendISO(to: &$0) }
        m.status = MemberStatus.on(runDate, qualified: qualified, disqualified: disqualified)
        m.set(.status, m.status.rawValue)

        // A former card is rare: its fields are read as Strings.
        var formerCard: String?
        if !Normalise.isBlank(f(.formerInsurerNumber)) || !Normalise.isBlank(f(.formerSymbol)) || !Normalise.isBlank(f(.formerNumber)) {
            let formerFields = [value(.formerInsurerNumber), value(.formerSymbol), value(.formerNumber)]
            guard case .success(let fi) = InsurerNumber.validate(formerFields[0]),
                  let fs = CardKeys.symbolKey(formerFields[1]), let fn = CardKeys.numberKey(formerFields[2]) else {
                return .failure(problem(.formerCardInvalid, .formerNumber, "the former card '\(formerFields.joined(separator: "/"))' needs a valid insurer number, symbol and number"))
            }
            formerCard = "\(fi):\(fs):\(fn)"
        }
        // cardAliases: insurer:symbol_key:number_key, then ;former card (MemberRecord.cardKey).
        let insurerNumber = m.range(.insurerNumber), symbolKey = m.range(.symbolKey), numberKey = m.range(.numberKey)
        m.write(.cardAliases) { b in
            for i in insurerNumber { b.append(b[i]) }
            b.append(0x3A)
            for i in symbolKey { b.append(b[i]) }
            b.append(0x3A)
            for i in numberKey { b.append(b[i]) }
            if let formerCard {
                b.append(0x3B)
                b.append(contentsOf: formerCard.utf8)
            }
        }
        m.write(.postalCode) { Self.postalCode(f(.postalCode), into: &$0) }
        let a1 = UnsafeBufferPointer(rebasing: f(.address)[Normalise.trimmedRange(f(.address))])
        let a2 = UnsafeBufferPointer(rebasing: f(.address2)[Normalise.trimmedRange(f(.address2))])
        // An address may break its lines (a quoted CR LF); no other control character is text.
        if let c = Self.controlCharacter(in: a1, allowing: Self.addressWhitespace) { return .failure(controlCharacter(.address, c)) }
        if let c = Self.controlCharacter(in: a2, allowing: Self.addressWhitespace) { return .failure(controlCharacter(.address2, c)) }
        m.write(.address) { b in
            // The two address lines joined by a space (either alone as it is).
            b.append(contentsOf: a1)
            if !a1.isEmpty && !a2.isEmpty { b.append(0x20) }
            b.append(contentsOf: a2)
        }
        m.write(.memberRef) { Normalise.foldWidth(f(.memberRef), into: &$0) }
        return .success((qualified, disqualified, formerCard))
    }

    /// 郵便番号 as 7 digits when it is one (〒123-4567, １２３－４５６７ …), else as written.
    static func postalCode(_ raw: String) -> String {
        var out: [UInt8] = []
        Normalise.withUTF8(raw) { postalCode($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `postalCode` of UTF-8 bytes, appended to `out`.
    static func postalCode(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        let start = out.count
        Normalise.foldWidth(p, into: &out)
        let digits = out[start...].reduce(0) { $0 + ($1 >= 0x30 && $1 <= 0x39 ? 1 : 0) }
        guard digits == 7 else { return }
        var w = start
        for i in start..<out.count where out[i] >= 0x30 && out[i] <= 0x39 { out[w] = out[i]; w += 1 }
        out.removeSubrange(w...)
    }
}
