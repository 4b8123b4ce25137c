import Foundation

/// One normalised roster member as the UTF-8 bytes of its `members.csv` fields, in one buffer.
///
/// The roster reader fills one of these per accepted row instead of a `MemberRecord` (a String per
/// field): at a million rows the Strings, their retains and releases cost more than the
/// normalisation itself. The stage hashes its keys and spools its CSV row straight from the bytes;
/// a `MemberRecord` is made only where one is needed (tests, rejects, held-back rosters).
public struct MemberRow {
    /// The fields of `MemberRecord.header`, in that order.
    public enum Field: Int, CaseIterable {
        case personID, insurerNumber, symbol, number, branch
        case symbolKey, numberKey, kanaKey, birthDate
        case kanaName, kanjiName, sex, relationship, specialRetiree
        case qualifiedDate, disqualifiedDate, status, cardAliases
        case postalCode, address, memberRef
    }

    /// Field bytes back to back, in the order they were written (not header order).
    var bytes: [UInt8] = []
    /// Where each field lies in `bytes`: its start at 2 × `Field.rawValue`, its end just after (one
    /// per `MemberRecord.header` name); an unwritten field is empty. An array reused with the row, not
    /// InlineArrays: Swift 6.3 copied a whole InlineArray (or the whole row) for every element read,
    /// dozens of times a row, and every copy of the row moved some 350 bytes.
    private var bounds = [Int](repeating: 0, count: 2 * Field.allCases.count)
    public var status: MemberStatus = .active

    public init() { bytes.reserveCapacity(512) }

    /// Empties the row for the next record, keeping its storage.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        bounds.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        status = .active
    }

    /// Marks the bytes appended since `start` as `field`.
    @inline(__always)
    mutating func close(_ field: Field, from start: Int) {
        bounds[2 * field.rawValue] = start
        bounds[2 * field.rawValue + 1] = bytes.count
    }

    /// Writes `field` with `write`, which appends its bytes to the row's.
    @inline(__always)
    mutating func write(_ field: Field, _ write: (inout [UInt8]) -> Void) {
        let start = bytes.count
        write(&bytes)
        close(field, from: start)
    }

    /// Writes `field` with a byte rule that may refuse (and then appends nothing): false, the field
    /// unwritten, where it does.
    @inline(__always)
    mutating func tryWrite(_ field: Field, _ write: (inout [UInt8]) -> Bool) -> Bool {
        let start = bytes.count
        guard write(&bytes) else { return false }
        close(field, from: start)
        return true
    }

    /// Appends `text` as the whole of `field`.
    @inline(__always)
    mutating func set(_ field: Field, _ text: UnsafeBufferPointer<UInt8>) {
        let start = bytes.count
        bytes.append(contentsOf: text)
        close(field, from: start)
    }

    mutating func set(_ field: Field, _ text: String) {
        // From the String's own UTF-8 storage: appending `text.utf8` went through the view (~100
        // instructions, a retain and a release; five fields a row).
        Normalise.withUTF8(text) { set(field, $0) }
    }

    func range(_ field: Field) -> Range<Int> { bounds[2 * field.rawValue]..<bounds[2 * field.rawValue + 1] }

    func isEmpty(_ field: Field) -> Bool { bounds[2 * field.rawValue] == bounds[2 * field.rawValue + 1] }

    /// Calls `body` with the bytes of `field` (valid only inside the closure).
    @inline(__always)
    func withField<R>(_ field: Field, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let r = range(field)
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[r])) }
    }

    /// `field` as a String (for the rare paths: rejects, messages, tests).
    public func string(_ field: Field) -> String {
        withField(field) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `field` holds exactly `other`'s bytes.
    func field(_ field: Field, equals other: [UInt8]) -> Bool {
        withField(field) { p in p.count == other.count && p.elementsEqual(other) }
    }

    /// The same member as a `MemberRecord`.
    public var record: MemberRecord {
        var m = MemberRecord()
        m.personID = string(.personID); m.insurerNumber = string(.insurerNumber)
        m.symbol = string(.symbol); m.number = string(.number); m.branch = string(.branch)
        m.symbolKey = string(.symbolKey); m.numberKey = string(.numberKey); m.kanaKey = string(.kanaKey)
        m.birthDate = string(.birthDate); m.kanaName = string(.kanaName); m.kanjiName = string(.kanjiName)
        m.sex = string(.sex); m.relationship = string(.relationship); m.specialRetiree = string(.specialRetiree) == "true"
        m.qualifiedDate = string(.qualifiedDate); m.disqualifiedDate = string(.disqualifiedDate); m.status = status
        m.cardAliases = string(.cardAliases); m.postalCode = string(.postalCode); m.address = string(.address)
        m.memberRef = string(.memberRef)
        return m
    }

    /// Appends this member as one `members.csv` row (CRLF included), byte for byte what
    /// `MemberRecord.encodeCSV` writes; `personID` (16 hex digits) replaces the stored id when given.
    public func encodeCSV(personID: UInt64?, into out: inout [UInt8]) {
        bounds.withUnsafeBufferPointer { bounds in bytes.withUnsafeBufferPointer { b in
            let fieldCount = bounds.count / 2
            @inline(__always) func start(_ k: Int) -> Int { bounds[2 * k] }
            @inline(__always) func end(_ k: Int) -> Int { bounds[2 * k + 1] }
            if !Self.mayNeedQuoting(b) {
                // Nearly every row: no field holds a comma, quote, CR or LF, so none is quoted. The row is
                // put together in a buffer of its known length and appended in one go (appending field by
                // field cost a call and a uniqueness check each, 21 times a member).
                // Field 0 is the person id: `personID` replaces it when given.
                let first = personID == nil ? 0 : 1
                var total = 2 + (fieldCount - 1) + (personID == nil ? 0 : 16)
                for k in first..<fieldCount { total += end(k) - start(k) }
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { row in
                    let source = UnsafeRawPointer(b.baseAddress)
                    var w = 0
                    if let personID {
                        withHex(personID) { UnsafeMutableRawPointer(row.baseAddress!).copyMemory(from: $0.baseAddress!, byteCount: 16) }
                        w = 16
                    }
                    for k in 0..<fieldCount {
                        if k > 0 { row[w] = 0x2C; w += 1 }
                        let n = k < first ? 0 : end(k) - start(k)
                        if n > 0, let source {
                            UnsafeMutableRawPointer(row.baseAddress! + w).copyMemory(from: source + start(k), byteCount: n)
                            w += n
                        }
                    }
                    row[w] = 0x0D; row[w + 1] = 0x0A
                    out.append(contentsOf: UnsafeBufferPointer(row))
                }
                return
            }
            if let personID { withHex(personID) { out.append(contentsOf: $0) } }
            for k in 0..<fieldCount {
                if k > 0 { out.append(0x2C) } else if personID != nil { continue }
                CSVWriter.appendQuoted(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[start(k)..<end(k)])), to: &out)
            }
            out.append(0x0D); out.append(0x0A)
        } }
    }

    /// False when no byte is a comma, a quote or below 0x20 (CR, LF): then no field needs quoting.
    /// Eight bytes at a time (the usual "has a byte less than / equal to" word tricks); a true answer
    /// may be wrong only by including tabs and other controls, and sends the row down the exact path.
    static func mayNeedQuoting(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZero(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        @inline(__always) func hasLess0x20(_ v: UInt64) -> Bool { (v &- ones &* 0x20) & ~v & highs != 0 }
        let n = b.count
        var i = 0
        if let p = UnsafeRawPointer(b.baseAddress) {
            while i + 8 <= n {
                let v = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if hasLess0x20(v) || hasZero(v ^ (ones &* 0x2C)) || hasZero(v ^ (ones &* 0x22)) { return true }
                i += 8
            }
        }
        while i < n {
            let c = b[i]
            if c < 0x20 || c == 0x2C || c == 0x22 { return true }
            i += 1
        }
        return false
    }
}
