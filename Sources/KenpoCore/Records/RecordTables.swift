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

/// One record ready to store: its id, owner, content hash and rows per table (without the content
/// hash and source columns filled: `RecordRows` fills them).
struct StagedRecord {
    var id: UInt64
    var person: UInt64
    var content: UInt64
    var source: RecordSource
    var documentDate: String
    var rows: [[[String]]]   // per table, rows of fields
}

/// Turns documents into records: ids by identity (person + what the record is about), content
/// hashes over everything a member sees, so the same record arriving twice is recognised.
enum RecordRows {
    /// `grading`: the grader and the person's sex; the grade columns stay empty without one.
    static func checkup(_ d: CheckupDocument, person: UInt64, source: RecordSource, file: String, items: CheckupItems,
                        grading: (Grader, GradingSex)? = nil, tally: inout GradeTally) -> StagedRecord {
        let pid = StableHash.hex(person)
        let date = Self.isoDate(d.checkupDate)
        let id = StableHash.of("checkup", pid, date, d.institutionNumber)
        let cid = StableHash.hex(id)
        var content = StableHash.Builder("checkup-content")
        content.add(date); content.add(d.institutionNumber); content.add(d.institutionName)
        var results: [[String]] = []
        results.reserveCapacity(d.results.count)
        // Grades are not content: a regrade changes them without making the record a new version.
        let grades = grading.map { g, sex in g.grade(d.results.map(GradingInput.init), sex: sex) }
        for (i, r) in d.results.enumerated() {
            let item = items[r.itemCode]
            var row = [cid, pid, String(i + 1), r.itemCode, item?.name ?? "", item?.analyte ?? "", r.valueType.rawValue,
                       r.valueText, Self.numeric(r), r.unit, r.codedValue, r.codeSystem, r.interpretation, r.outOfRange,
                       r.referenceLow, r.referenceHigh, r.groupCode, r.nullFlavor]
            if let g = grades?[i] { row += g.columns; tally.add(g) } else { row += ["", "", "", "", ""] }
            for f in row[3...17] { content.add(f) }
            results.append(row)
        }
        let hash = StableHash.hex(content.value)
        let head = [cid, pid, date, d.institutionNumber, d.institutionName, Self.isoDate(d.documentDate),
                    String(d.results.count), hash, source.rawValue, file]
        return StagedRecord(id: id, person: person, content: content.value, source: source,
                            documentDate: Self.isoDate(d.documentDate), rows: [[head], results])
    }

    static func costNotices(_ d: CostNoticeDocument, person: UInt64, source: RecordSource, file: String) -> [StagedRecord] {
        let pid = StableHash.hex(person)
        return d.notices.map { n in
            let id = StableHash.of("cost-notice", pid, n.month, n.category, n.institution)
            let fields = [n.month, n.category, String(n.days), n.institution, String(n.totalCost),
                          String(n.insurerPaid), String(n.publicPaid), String(n.counterPaid)]
            var c = StableHash.Builder("notice-content")
            for f in fields { c.add(f) }
            let row = [StableHash.hex(id), pid] + fields + [StableHash.hex(c.value), source.rawValue, file]
            return StagedRecord(id: id, person: person, content: c.value, source: source, documentDate: "", rows: [[row]])
        }
    }

    static func prescriptions(_ d: PrescriptionDocument, person: UInt64, source: RecordSource, file: String) -> [StagedRecord] {
        let pid = StableHash.hex(person)
        return d.dispensings.map { disp in
            let id = StableHash.of("dispensing", pid, disp.date, disp.institution, disp.pharmacy)
            var c = StableHash.Builder("dispensing-content")
            c.add(disp.date); c.add(disp.institution); c.add(disp.pharmacy)
            var drugRows: [[String]] = []
            for (i, g) in disp.drugs.enumerated() {
                let f = [g.code, g.name, g.ingredient, g.dose, g.unit, g.directions, String(g.days)]
                for x in f { c.add(x) }
                drugRows.append([disp.date, disp.institution, disp.pharmacy, String(i + 1)] + f)
            }
            let hash = StableHash.hex(c.value)
            let rows = drugRows.map { [StableHash.hex(id), pid] + $0 + [hash, source.rawValue, file] }
            return StagedRecord(id: id, person: person, content: c.value, source: source, documentDate: "", rows: [rows])
        }
    }

    /// CDA dates (YYYYMMDD, YYYYMMDDhhmmss…) → YYYY-MM-DD; anything else as given.
    static func isoDate(_ s: String) -> String {
        let u = Array(s.utf8)
        guard u.count >= 8, u[0..<8].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return s }
        return String(decoding: u[0..<4], as: UTF8.self) + "-" + String(decoding: u[4..<6], as: UTF8.self) + "-" + String(decoding: u[6..<8], as: UTF8.self)
    }

    /// The value as a plain decimal (no sign for positives, no leading zeros), precision kept:
    /// "05.60" → "5.60". Empty for non-numeric results.
    static func numeric(_ r: CheckupResult) -> String {
        guard r.valueType == .pq, DecimalText.isDecimal(r.valueText) else { return "" }
        var s = Substring(r.valueText)
        var negative = false
        if s.first == "+" { s = s.dropFirst() } else if s.first == "-" { negative = true; s = s.dropFirst() }
        while s.count > 1, s.first == "0", s.dropFirst().first != "." { s = s.dropFirst() }
        return (negative ? "-" : "") + s
    }
}
