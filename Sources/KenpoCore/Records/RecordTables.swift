import Foundation

/// The datasets health records are kept in (state) and published as (outbox). A record kind owns
/// one or more tables; every row starts with the record id, so a record's rows in any table can be
/// replaced, re-sourced or deleted by id. The first table is the head: its rows carry the content
/// hash and the sources.
public struct RecordTable: Sendable {
    public var file: String
    public var header: [String]
    /// Column of `source` (nil: the table has none; the head table's sources apply).
    public var sourceColumn: Int?
}

public struct RecordKind: Sendable {
    public var name: String
    public var tables: [RecordTable]
    var contentColumn: Int
    var sourceColumn: Int
    /// Column of the document date deciding which of two versions is newer (nil: arrival order).
    var documentDateColumn: Int?

    public static let checkup = RecordKind(
        name: "checkup",
        tables: [
            RecordTable(file: "checkups.csv", header: [
                "checkup_id", "person_id", "checkup_date", "institution_number", "institution_name",
                "document_date", "result_count", "content_hash", "source", "source_file"], sourceColumn: 8),
            RecordTable(file: "checkup_results.csv", header: [
                "checkup_id", "person_id", "seq", "item_code", "item_name", "analyte", "value_type", "value_text",
                "numeric_value", "unit", "coded_value", "code_system", "interpretation", "out_of_range",
                "reference_low", "reference_high", "group_code", "null_flavor", "grade", "grade_table", "mhlw_flag", "graded_value", "grade_note"],
                sourceColumn: nil),
        ],
        contentColumn: 7, sourceColumn: 8, documentDateColumn: 5)

    public static let costNotice = RecordKind(
        name: "cost_notice",
        tables: [
            RecordTable(file: "cost_notices.csv", header: [
                "notice_id", "person_id", "month", "category", "days", "institution", "total_cost",
                "insurer_paid", "public_paid", "counter_paid", "content_hash", "source", "source_file"], sourceColumn: 11),
        ],
        contentColumn: 10, sourceColumn: 11, documentDateColumn: nil)

    public static let prescription = RecordKind(
        name: "prescription",
        tables: [
            RecordTable(file: "prescriptions.csv", header: [
                "dispensing_id", "person_id", "dispensed_date", "institution", "pharmacy", "drug_seq", "drug_code",
                "drug_name", "ingredient", "dose", "unit", "directions", "days", "content_hash", "source", "source_file"],
                sourceColumn: 14),
        ],
        contentColumn: 13, sourceColumn: 14, documentDateColumn: nil)

    public static let all: [RecordKind] = [.checkup, .costNotice, .prescription]
}

/// One record as the stager keeps it: its identity, owner, content hash and document date. Its
/// rows are already encoded (`RecordRows`) and travel beside it (`DocumentRows`).
struct StagedKey {
    var id: UInt64
    var person: UInt64
    var content: UInt64
    var documentDate: String
}

/// Rows encoded as CSV bytes exactly as `CSVWriter` writes them (CRLF, quotes only where needed),
/// built field by field into one reused buffer (raw memory: most fields are a few bytes, and an
/// Array append per field was a tenth of the encoding).
final class RowEncoder {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0
    private(set) var rows = 0
    private var first = true

    init(capacity: Int = 64 * 1024) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    func reset() { count = 0; rows = 0; first = true }

    /// The rows encoded since `reset`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inline(__always)
    private func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        let bigger = max(capacity * 2, count + n)
        let b = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
        b.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = b
        capacity = bigger
    }

    @inline(__always)
    private func byte(_ c: UInt8) {
        reserve(1)
        base.storeBytes(of: c, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    private func separator() { if first { first = false } else { byte(0x2C) } }

    @inline(__always)
    func field(_ b: UnsafeRawBufferPointer) {
        separator()
        if CSVWriter.needsQuoting(b) {
            reserve(2 * b.count + 2)
            byte(0x22)
            for c in b {
                if c == 0x22 { byte(0x22) }
                byte(c)
            }
            byte(0x22)
        } else if b.count > 0 {
            reserve(b.count)
            (base + count).copyMemory(from: b.baseAddress!, byteCount: b.count)
            count += b.count
        }
    }

    @inline(__always)
    func field(_ s: String) {
        // In place when the String is contiguous (a copy to call withUTF8 costs a retain per field).
        if s.utf8.withContiguousStorageIfAvailable({ field(UnsafeRawBufferPointer($0)) }) == nil {
            var copy = s
            copy.withUTF8 { field(UnsafeRawBufferPointer($0)) }
        }
    }

    /// A field known to need no quoting (hex ids, numbers).
    @inline(__always)
    func plainField(_ b: UnsafeRawBufferPointer) {
        separator()
        reserve(b.count)
        if b.count > 0 { (base + count).copyMemory(from: b.baseAddress!, byteCount: b.count) }
        count += b.count
    }

    func number(_ n: Int) {
        separator()
        if n >= 0 && n < 10 { byte(0x30 + UInt8(n)); return }
        var v = n.magnitude
        var digits = 0
        var t = v
        repeat { digits += 1; t /= 10 } while t > 0
        if n < 0 { byte(0x2D) }
        reserve(digits)
        var at = count + digits - 1
        repeat { base.storeBytes(of: 0x30 + UInt8(v % 10), toByteOffset: at, as: UInt8.self); v /= 10; at -= 1 } while v > 0
        count += digits
    }

    func emptyFields(_ n: Int) {
        for _ in 0..<n { separator() }
    }

    func endRow() {
        byte(0x0D); byte(0x0A)
        rows += 1
        first = true
    }
}

/// The checkup item master looked up by a document's raw item code (no String made per result):
/// codes, names and analytes back to back in one byte array.
final class CheckupItemIndex: @unchecked Sendable {
    private let text: [UInt8]
    private let codes: [ByteRange], names: [ByteRange], analyteBytes: [ByteRange]
    /// Per item: the analyte ("" : not graded) and the blood-pressure reading, for grading.
    let analytes: [String]
    let readings: [String]
    private let byHash: [UInt64: [Int32]]
    /// The blood-draw timing item (9N141), when the master has it.
    let drawTiming: Int32?

    init(_ items: CheckupItems) {
        var text: [UInt8] = []
        var codes: [ByteRange] = [], names: [ByteRange] = [], analyteBytes: [ByteRange] = []
        var analytes: [String] = [], readings: [String] = []
        var byHash: [UInt64: [Int32]] = [:]
        func keep(_ s: String) -> ByteRange {
            let r = ByteRange(start: Int32(text.count), count: Int32(s.utf8.count))
            text.append(contentsOf: s.utf8)
            return r
        }
        var timing: Int32? = nil
        for (code, item) in items.items.sorted(by: { $0.key < $1.key }) {
            let k = Int32(codes.count)
            var c = code
            byHash[c.withUTF8 { Self.hash(UnsafeRawBufferPointer($0)) }, default: []].append(k)
            codes.append(keep(code)); names.append(keep(item.name)); analyteBytes.append(keep(item.analyte))
            analytes.append(item.analyte); readings.append(item.reading)
            if code == Grader.drawTimingItem { timing = k }
        }
        self.text = text; self.codes = codes; self.names = names; self.analyteBytes = analyteBytes
        self.analytes = analytes; self.readings = readings; self.byHash = byHash; drawTiming = timing
    }

    /// The key of `byHash` for a code's bytes (in memory only: never written anywhere).
    static func hash(_ code: UnsafeRawBufferPointer) -> UInt64 {
        var h = StableHash.Builder("item")
        h.add(bytes: code)
        return h.value
    }

    /// The names and analytes of items, looked up with `Names.find` inside `body`.
    func withNames<R>(_ body: (Names) -> R) -> R {
        text.withUnsafeBytes { body(Names(text: $0, index: self)) }
    }

    struct Names {
        let text: UnsafeRawBufferPointer
        let index: CheckupItemIndex

        private func bytes(_ r: ByteRange) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: text[Int(r.start)..<Int(r.end)]) }

        /// The item with this code, or nil.
        func find(_ code: UnsafeRawBufferPointer) -> Int32? {
            guard let candidates = index.byHash[CheckupItemIndex.hash(code)] else { return nil }
            for i in candidates where bytes(index.codes[Int(i)]).elementsEqual(code) { return i }
            return nil
        }

        func name(_ k: Int32) -> UnsafeRawBufferPointer { bytes(index.names[Int(k)]) }
        func analyte(_ k: Int32) -> UnsafeRawBufferPointer { bytes(index.analyteBytes[Int(k)]) }
    }
}

/// Turns documents into records: ids by identity (person + what the record is about), content
/// hashes over everything a member sees, so the same record arriving twice is recognised. Rows are
/// encoded straight into bytes (`RowEncoder`): the same bytes the String rows made before.
enum RecordRows {
    /// The rows of one checkup (`head`: checkups.csv, `body`: checkup_results.csv) from a document
    /// read in import mode (`CheckupDocumentFormat.compact`). `grading`: the grader and the person's
    /// sex; the grade columns stay empty without one.
    static func checkup(_ d: CheckupDocument, results: [CompactResult], arena: [UInt8], person: UInt64, source: RecordSource, file: String,
                        items: CheckupItemIndex, grading: (Grader, GradingSex)?, tally: inout GradeTally,
                        head: RowEncoder, body: RowEncoder) -> StagedKey {
        let date = Self.isoDate(d.checkupDate), documentDate = Self.isoDate(d.documentDate)
        let id = withHex(person) { pid in
            var h = StableHash.Builder("checkup")
            h.add(bytes: pid); h.add(date); h.add(d.institutionNumber)
            return h.value
        }
        var content = StableHash.Builder("checkup-content")
        content.add(date); content.add(d.institutionNumber); content.add(d.institutionName)
        // Items looked up once per result; grades are not content (a regrade changes them without
        // making the record a new version).
        var itemOf = [Int32](repeating: -1, count: results.count)
        // Per result, its outcome's place in `grades` (-1: not graded): outcomes are not copied
        // into an array of optionals (six Strings retained and released per copy).
        var gradeOf = [Int32](repeating: -1, count: results.count)
        var grades: [GradeOutcome] = []
        items.withNames { names in
        arena.withUnsafeBytes { a in
            func b(_ r: ByteRange) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: a[Int(r.start)..<Int(r.end)]) }
            func s(_ r: ByteRange) -> String { String(decoding: b(r), as: UTF8.self) }
            for (i, r) in results.enumerated() { itemOf[i] = names.find(b(r.itemCode)) ?? -1 }
            if let (grader, sex) = grading {
                var timing: Grader.Timing? = nil
                if let t = items.drawTiming,
                   let i = results.indices.first(where: { itemOf[$0] == t && (results[$0].valueType == .cd || results[$0].valueType == .co) }) {
                    timing = Grader.timing(code: s(results[i].codedValue))
                }
                var gradable: [Int] = []
                var values: [Grader.Value] = []
                for (i, r) in results.enumerated() where itemOf[i] >= 0 && !names.analyte(itemOf[i]).isEmpty {
                    let k = Int(itemOf[i])
                    let system = b(r.codeSystem)
                    gradable.append(i)
                    values.append(Grader.Value(analyte: items.analytes[k], reading: items.readings[k], valueType: r.valueType.rawValue,
                                               valueText: s(r.valueText), unit: s(r.unit), codedValue: s(r.codedValue),
                                               urineSystem: system.isEmpty || system.elementsEqual(Grader.urineLevelSystem.utf8), outOfRange: s(r.outOfRange)))
                }
                grades = grader.grade(values, timing: timing, sex: sex)
                for (k, i) in gradable.enumerated() where k < grades.count {
                    gradeOf[i] = Int32(k)
                    tally.add(grades[k])
                }
            }
            body.reset()
            withHex(id) { cid in
                withHex(person) { pid in
                    for (i, r) in results.enumerated() {
                        body.plainField(cid); body.plainField(pid); body.number(i + 1)
                        // Fields 3…17 are the content.
                        func put(_ v: UnsafeRawBufferPointer) { body.field(v); content.add(bytes: v) }
                        put(b(r.itemCode))
                        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
                        put(itemOf[i] >= 0 ? names.name(itemOf[i]) : empty)
                        put(itemOf[i] >= 0 ? names.analyte(itemOf[i]) : empty)
                        let type = r.valueType.rawValue
                        body.field(type); content.add(type)
                        let text = b(r.valueText)
                        put(text)
                        Self.numeric(r.valueType, text) { put($0) }
                        put(b(r.unit)); put(b(r.codedValue)); put(b(r.codeSystem)); put(b(r.interpretation)); put(b(r.outOfRange))
                        put(b(r.referenceLow)); put(b(r.referenceHigh)); put(b(r.groupCode)); put(b(r.nullFlavor))
                        if gradeOf[i] >= 0 {
                            let k = Int(gradeOf[i])
                            body.field(grades[k].grade); body.field(grades[k].table); body.field(grades[k].mhlwFlag)
                            body.field(grades[k].gradedValue); body.field(grades[k].note)
                        } else {
                            body.emptyFields(5)
                        }
                        body.endRow()
                    }
                    head.reset()
                    head.plainField(cid); head.plainField(pid); head.field(date); head.field(d.institutionNumber); head.field(d.institutionName)
                    head.field(documentDate); head.number(results.count)
                    withHex(content.value) { head.plainField($0) }
                    head.field(source.rawValue); head.field(file)
                    head.endRow()
                }
            }
        }
        }
        return StagedKey(id: id, person: person, content: content.value, documentDate: documentDate)
    }

    /// A notice's record (cost_notices.csv): its key, and its row encoded into `rows` (reset first). Each value is written
    /// as bytes (`number` for amounts, hex ids from `withHex`): no String per field.
    static func costNotice(_ n: CostNotice, person: UInt64, source: RecordSource, file: String, rows: RowEncoder) -> StagedKey {
        withHex(person) { pid in
            var h = StableHash.Builder("cost-notice")
            h.add(bytes: pid); h.add(n.month); h.add(n.category); h.add(n.institution)
            let id = h.value
            var c = StableHash.Builder("notice-content")
            c.add(n.month); c.add(n.category); c.add(decimal: n.days); c.add(n.institution); c.add(decimal: n.totalCost)
            c.add(decimal: n.insurerPaid); c.add(decimal: n.publicPaid); c.add(decimal: n.counterPaid)
            rows.reset()
            withHex(id) { rows.plainField($0) }
            rows.plainField(pid)
            rows.field(n.month); rows.field(n.category); rows.number(n.days); rows.field(n.institution)
            rows.number(n.totalCost); rows.number(n.insurerPaid); rows.number(n.publicPaid); rows.number(n.counterPaid)
            withHex(c.value) { rows.plainField($0) }
            rows.field(source.rawValue); rows.field(file)
            rows.endRow()
            return StagedKey(id: id, person: person, content: c.value, documentDate: "")
        }
    }

    /// A dispensing's record (prescriptions.csv): its key, and one row per drug encoded into `rows`
    /// (reset first), as `costNotice` writes.
    static func dispensing(_ disp: Dispensing, person: UInt64, source: RecordSource, file: String, rows: RowEncoder) -> StagedKey {
        withHex(person) { pid in
            var h = StableHash.Builder("dispensing")
            h.add(bytes: pid); h.add(disp.date); h.add(disp.institution); h.add(disp.pharmacy)
            let id = h.value
            var c = StableHash.Builder("dispensing-content")
            c.add(disp.date); c.add(disp.institution); c.add(disp.pharmacy)
            for g in disp.drugs {
                c.add(g.code); c.add(g.name); c.add(g.ingredient); c.add(g.dose); c.add(g.unit); c.add(g.directions); c.add(decimal: g.days)
            }
            rows.reset()
            withHex(id) { hexID in
                withHex(c.value) { hash in
                    for (i, g) in disp.drugs.enumerated() {
                        rows.plainField(hexID); rows.plainField(pid)
                        rows.field(disp.date); rows.field(disp.institution); rows.field(disp.pharmacy); rows.number(i + 1)
                        rows.field(g.code); rows.field(g.name); rows.field(g.ingredient); rows.field(g.dose); rows.field(g.unit)
                        rows.field(g.directions); rows.number(g.days)
                        rows.plainField(hash); rows.field(source.rawValue); rows.field(file)
                        rows.endRow()
                    }
                }
            }
            return StagedKey(id: id, person: person, content: c.value, documentDate: "")
        }
    }

    /// CDA dates (YYYYMMDD, YYYYMMDDhhmmss…) → YYYY-MM-DD; anything else as given.
    static func isoDate(_ s: String) -> String {
        let u = Array(s.utf8)
        guard u.count >= 8, u[0..<8].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return s }
        return String(decoding: u[0..<4], as: UTF8.self) + "-" + String(decoding: u[4..<6], as: UTF8.self) + "-" + String(decoding: u[6..<8], as: UTF8.self)
    }

    /// The value as a plain decimal (no sign for positives, no leading zeros), precision kept:
    /// "05.60" → "5.60", handed to `body` as bytes. Empty for non-numeric results.
    static func numeric<R>(_ type: CheckupResult.ValueType, _ text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard type == .pq, DecimalText.isDecimal(text) else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        var lo = 0
        let negative = text[0] == 0x2D
        if text[0] == 0x2B || negative { lo = 1 }
        while text.count - lo > 1, text[lo] == 0x30, text[lo + 1] != 0x2E { lo += 1 }
        guard negative else { return body(UnsafeRawBufferPointer(rebasing: text[lo...])) }
        if lo == 1 { return body(text) }
        let signed = [0x2D] + Array(text[lo...])
        return signed.withUnsafeBytes(body)
    }
}
