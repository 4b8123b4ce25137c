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
    /// Where each field lies in `bytes`, indexed by `Field` (one per `MemberRecord.header` name); an
    /// unwritten field is empty. Inline, not arrays: no allocation or reference count per row.
    private var starts = InlineArray<21, Int>(repeating: 0)
    private var ends = InlineArray<21, Int>(repeating: 0)
    public var status: MemberStatus = .active

    public init() { bytes.reserveCapacity(512) }

    /// A row that holds no storage, to stand in while the reader's row is moved out.
    static let placeholder = MemberRow(empty: ())
    private init(empty: Void) {}

    /// Empties the row for the next record, keeping its storage.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        starts = InlineArray(repeating: 0)
        ends = InlineArray(repeating: 0)
        status = .active
    }

    /// Marks the bytes appended since `start` as `field`.
    @inline(__always)
    mutating func close(_ field: Field, from start: Int) {
        starts[field.rawValue] = start
        ends[field.rawValue] = bytes.count
    }

    /// Appends `text` as the whole of `field`.
    @inline(__always)
    mutating func set(_ field: Field, _ text: UnsafeBufferPointer<UInt8>) {
        let start = bytes.count
        bytes.append(contentsOf: text)
        close(field, from: start)
    }

    mutating func set(_ field: Field, _ text: StaticString) {
        set(field, UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func set(_ field: Field, _ text: String) {
        let start = bytes.count
        bytes.append(contentsOf: text.utf8)
        close(field, from: start)
    }

    func range(_ field: Field) -> Range<Int> { starts[field.rawValue]..<ends[field.rawValue] }

    func isEmpty(_ field: Field) -> Bool { starts[field.rawValue] == ends[field.rawValue] }

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
        if let personID { Self.appendHex(personID, to: &out) }
        bytes.withUnsafeBufferPointer { b in
            // By index, not `Field.allCases` (a new array on every call).
            for k in 0..<starts.count {
                if k > 0 { out.append(0x2C) } else if personID != nil { continue }
                MemberRecord.appendField(UnsafeBufferPointer(rebasing: b[starts[k]..<ends[k]]), to: &out)
            }
        }
        out.append(0x0D); out.append(0x0A)
    }

    /// `StableHash.hex(id)` appended as bytes (no String per member).
    @inline(__always)
    static func appendHex(_ v: UInt64, to out: inout [UInt8]) {
        for k in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: v >> UInt64(60 - 4 * k)) & 0xF
            out.append(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
        }
    }
}
