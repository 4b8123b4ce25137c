import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How many records of each kind one export holds.
public struct ExportCounts: Codable, Equatable, Sendable {
    public var checkups = 0
    public var checkupResults = 0
    public var costNotices = 0
    public var dispensings = 0
    public var prescriptionDrugs = 0

    public init() {}

    /// Records (checkups, notices, dispensings), not result rows or drug lines.
    public var records: Int { checkups + costNotices + dispensings }

    enum CodingKeys: String, CodingKey {
        case checkups, checkupResults = "checkup_results", costNotices = "cost_notices"
        case dispensings, prescriptionDrugs = "prescription_drugs"
    }
}

/// One person's export: the ZIP written and what it holds.
public struct MemberExportResult: Equatable, Sendable {
    public var personID: String
    /// The ZIP (path, file entries, bytes, SHA-256).
    public var file: OutputFile
    public var counts: ExportCounts
}

/// What became of one person asked for.
public enum MemberExportOutcome: Equatable, Sendable {
    case exported(MemberExportResult)
    /// Not exported: why (`REQUEST_INVALID` for an id that is not 16 hex digits, `PERSON_UNKNOWN` for
    /// one not in the member master), with a message naming the id.
    case refused(personID: String, reason: RejectReason, message: String)

    public var personID: String {
        switch self {
        case .exported(let r): return r.personID
        case .refused(let p, _, _): return p
        }
    }
}

/// Writes a member's health records back as files in the formats kenpo imports (data rights:
/// エクスポート). One ZIP per person, `kenpo-export-<person_id>-<YYYY-MM-DD>.zip`:
///
///     export.json                            what the ZIP holds: format and version of every file,
///                                            person id, export date, record counts (ExportManifest)
///     checkups/<checkup_id>.xml              one MHLW hc08 V08 CDA document per checkup
///     cost-notices/cost-notices-<YYYY>.xml   kenpo-cost-notice 1, the notices of one treatment year
///     prescriptions/prescriptions-<YYYY>.xml kenpo-prescription 1, the dispensings of one year
///
/// Every record of the person in the state is exported, whatever its source (insurer, Mynaportal,
/// member upload). Importing the ZIP again for the same person changes no record: the same ids and
/// content hashes come back (as a member upload, `member_upload` joins a record's source list).
/// The card details in every file are the person's current card from the member master.
///
/// The state is read, never written: a generation is immutable once published, so an export can run
/// while a nightly run works. Tables are read once for all persons of a call, by column name.
public final class MemberExport {
    /// The state file of that name, nil when the state has none (no records of that kind yet).
    private let stateFile: (String) -> String?
    /// The generation folder read, when reading one (to notice it vanishing under retention).
    private var stateDirectory: String?
    /// The state generation read (recorded in export.json).
    public let generation: String?
    public let exportDate: CalendarDate

    /// Reads the state through `stateFile` (e.g. a run's `currentStateFile`, so that a pipeline
    /// exports what its earlier stages just imported).
    public init(stateFile: @escaping (String) -> String?, generation: String?, exportDate: CalendarDate) {
        self.stateFile = stateFile
        self.generation = generation
        self.exportDate = exportDate
    }

    /// Reads one state generation folder.
    public convenience init(stateDirectory: String, exportDate: CalendarDate) {
        self.init(stateFile: { name in
            let p = stateDirectory + "/" + name
            return FileSystem.exists(p) ? p : nil
        }, generation: (stateDirectory as NSString).lastPathComponent, exportDate: exportDate)
        self.stateDirectory = stateDirectory
    }

    /// Reads the data folder's current state generation (resolved once: the export reads one
    /// consistent generation even if a run publishes a new one meanwhile).
    public convenience init(data: DataFolder, exportDate: CalendarDate) throws {
        guard let gen = data.currentGeneration(), FileSystem.isDirectory(data.generationPath(gen)) else {
            throw KenpoError.usage("\(data.root) holds no state (state/current): nothing to export; is --data right?")
        }
        self.init(stateDirectory: data.generationPath(gen), exportDate: exportDate)
    }

    /// The file name of a person's export.
    public func fileName(person: String) -> String { "kenpo-export-\(person)-\(exportDate.iso).zip" }

    /// Exports one person into `directory`; throws for a person who cannot be exported.
    public func export(person: String, to directory: String) throws -> MemberExportResult {
        switch try export(persons: [person], to: directory)[0] {
        case .exported(let r): return r
        case .refused(_, let reason, let message): throw KenpoError.usage("\(reason.rawValue): \(message)")
        }
    }

    /// Exports each person into `directory` (created if missing), one ZIP each; a person named twice
    /// is exported once. Outcomes in the order asked, one per distinct id.
    public func export(persons: [String], to directory: String) throws -> [MemberExportOutcome] {
        var ids: [String] = []
        var seen = Set<String>()
        for p in persons.map({ $0.lowercased() }) where seen.insert(p).inserted { ids.append(p) }
        var outcomes: [String: MemberExportOutcome] = [:]
        var wanted = Set<String>()
        for p in ids {
            guard p.utf8.count == 16, StableHash.parseHex(p) != nil else {
                outcomes[p] = .refused(personID: p, reason: .requestInvalid, message: "'\(p)' is not a person id (16 hex digits, the person_id of members.csv)")
                continue
            }
            wanted.insert(p)
        }
        // Every table is opened before any is read: an open file stays readable even if retention
        // removes the generation meanwhile; a generation gone before its tables were opened is an error,
        // never an export with missing records.
        let tables = try StateTables(open: stateFile)
        if let dir = stateDirectory, !FileSystem.isDirectory(dir) {
            throw KenpoError.io(path: dir, message: "the state generation was removed while the export read it; run the export again")
        }
        let members = try readMembers(wanted, tables.members)
        for p in wanted where members[p] == nil {
            outcomes[p] = .refused(personID: p, reason: .unknownPerson, message: "person \(p) is not in the member master (members.csv of state \(generation ?? "?"))")
            wanted.remove(p)
        }
        if !wanted.isEmpty {
            let records = try readRecords(wanted, tables)
            try FileSystem.makeDirectory(directory)
            for p in ids where wanted.contains(p) {
                let r = try write(person: p, member: members[p]!, records: records[p] ?? PersonRecords(), to: directory)
                outcomes[p] = .exported(r)
            }
        }
        return ids.map { outcomes[$0]! }
    }

    /// Exports what export requests ask for; one outcome per request (requests for the same person
    /// share one file).
    public func export(requests: [ExportRequest], to directory: String) throws -> [(request: ExportRequest, outcome: MemberExportOutcome)] {
        let outcomes = try export(persons: requests.map(\.personID), to: directory)
        let byPerson = Dictionary(outcomes.map { ($0.personID, $0) }, uniquingKeysWith: { a, _ in a })
        return requests.map { ($0, byPerson[$0.personID.lowercased()]!) }
    }

    // MARK: - Reading the state

    /// The state's tables, opened (nil: the state has no such table yet).
    struct StateTables {
        var members: MasterReader?
        var checkups, results, notices, prescriptions: CSVReader?

        init(open stateFile: (String) -> String?) throws {
            members = try stateFile("members.csv").map { try MasterReader(path: $0) }
            checkups = try stateFile("checkups.csv").map { try CSVReader(path: $0) }
            results = try stateFile("checkup_results.csv").map { try CSVReader(path: $0) }
            notices = try stateFile("cost_notices.csv").map { try CSVReader(path: $0) }
            prescriptions = try stateFile("prescriptions.csv").map { try CSVReader(path: $0) }
        }
    }

    private func readMembers(_ wanted: Set<String>, _ reader: MasterReader?) throws -> [String: MemberRecord] {
        guard !wanted.isEmpty, let reader else { return [:] }
        var out: [String: MemberRecord] = [:]
        while let (_, m) = try reader.next() {
            if wanted.contains(m.personID) { out[m.personID] = m }
        }
        return out
    }

    struct PersonRecords {
        var checkups: [ExportCheckupDocument.Head] = []
        var results: [String: [ExportCheckupDocument.Result]] = [:]
        var notices: [(month: String, line: CostNoticeLine)] = []
        var dispensings: [String: DispensingRows] = [:]
    }

    struct DispensingRows {
        var date: CalendarDate
        var institution: String
        var pharmacy: String
        var drugs: [(seq: Int, drug: DispensingLine.Drug)] = []
    }

    private func readRecords(_ wanted: Set<String>, _ tables: StateTables) throws -> [String: PersonRecords] {
        var out: [String: PersonRecords] = [:]
        try StateTable.rows(tables.checkups, persons: wanted, columns: [
            "checkup_id", "checkup_date", "institution_number", "institution_name", "document_date",
        ]) { p, f, _ in
            out[p, default: PersonRecords()].checkups.append(ExportCheckupDocument.Head(
                checkupID: f[0], checkupDate: f[1], institutionNumber: f[2], institutionName: f[3], documentDate: f[4]))
        }
        try StateTable.rows(tables.results, persons: wanted, columns: [
            "checkup_id", "seq", "item_code", "item_name", "value_type", "value_text", "unit", "coded_value", "code_system",
            "interpretation", "out_of_range", "reference_low", "reference_high", "group_code", "null_flavor",
        ]) { p, f, place in
            guard let seq = Int(f[1]) else { throw KenpoError.input(path: place.path, line: place.line, message: "seq '\(f[1])' is not a number; the state generation is damaged") }
            out[p, default: PersonRecords()].results[f[0], default: []].append(ExportCheckupDocument.Result(
                seq: seq, itemCode: f[2], itemName: f[3], valueType: f[4], valueText: f[5], unit: f[6], codedValue: f[7],
                codeSystem: f[8], interpretation: f[9], outOfRange: f[10], referenceLow: f[11], referenceHigh: f[12],
                groupCode: f[13], nullFlavor: f[14]))
        }
        try StateTable.rows(tables.notices, persons: wanted, columns: [
            "month", "category", "days", "institution", "total_cost", "insurer_paid", "public_paid", "counter_paid",
        ]) { p, f, place in
            let u = Array(f[0].utf8)
            guard u.count == 7, u[4] == 0x2D, let y = Int(f[0].prefix(4)), let m = Int(f[0].suffix(2)),
                  let days = Int(f[2]), let total = Int(f[4]), let insurer = Int(f[5]), let pub = Int(f[6]), let counter = Int(f[7]) else {
                throw KenpoError.input(path: place.path, line: place.line, message: "a cost notice with an unreadable month, days or amount; the state generation is damaged")
            }
            out[p, default: PersonRecords()].notices.append((f[0], CostNoticeLine(
                year: y, month: m, category: f[1], days: days, institution: f[3], total: total, insurer: insurer,
                publicFunds: pub, counter: counter)))
        }
        try StateTable.rows(tables.prescriptions, persons: wanted, columns: [
            "dispensing_id", "dispensed_date", "institution", "pharmacy", "drug_seq", "drug_code", "drug_name", "ingredient",
            "dose", "unit", "directions", "days",
        ]) { p, f, place in
            guard let date = CalendarDate(iso: f[1]), let seq = Int(f[4]), let days = Int(f[11]) else {
                throw KenpoError.input(path: place.path, line: place.line, message: "a dispensing with an unreadable date, drug_seq or days; the state generation is damaged")
            }
            let drug = DispensingLine.Drug(code: f[5], name: f[6], ingredient: f[7].isEmpty ? nil : f[7], dose: f[8],
                                           unit: f[9], directions: f[10], days: days)
            out[p, default: PersonRecords()].dispensings[f[0], default: DispensingRows(date: date, institution: f[2], pharmacy: f[3])]
                .drugs.append((seq, drug))
        }
        return out
    }

    // MARK: - Writing the ZIP

    private func write(person: String, member m: MemberRecord, records: PersonRecords, to directory: String) throws -> MemberExportResult {
        guard let birth = CalendarDate(iso: m.birthDate) else {
            throw KenpoError.input(path: stateFile("members.csv") ?? "members.csv", line: nil,
                                   message: "person \(person) has an unreadable birth date; the state generation is damaged")
        }
        var counts = ExportCounts()
        var files: [(path: String, kind: ExportManifest.FileKind, records: Int, bytes: [UInt8])] = []

        // Checkups: one document each, in checkup-date order.
        var cda = CDAWriter()
        for head in records.checkups.sorted(by: { ($0.checkupDate, $0.checkupID) < ($1.checkupDate, $1.checkupID) }) {
            let results = (records.results[head.checkupID] ?? []).sorted { $0.seq < $1.seq }
            let bytes = ExportCheckupDocument.render(head, results: results, member: m, writer: &cda)
            files.append(("checkups/\(head.checkupID).xml", .checkup, 1, bytes))
            counts.checkups += 1
            counts.checkupResults += results.count
        }

        // Cost notices and prescriptions: one file per year.
        let style = KenpoFileStyle.export
        let insured = KenpoInsured(insurerNumber: m.insurerNumber, symbol: m.symbol, number: m.number,
                                   branch: m.branch.isEmpty ? nil : m.branch, kana: m.kanaName, birthDate: birth)
        let notices = records.notices.sorted { ($0.month, $0.line.category, $0.line.institution) < ($1.month, $1.line.category, $1.line.institution) }
        let noticeWriter = CostNoticeWriter()
        for (year, group) in Self.byYear(notices, year: { $0.line.year }) {
            let bytes = noticeWriter.render(insured, group.map(\.line), style: style)
            files.append(("cost-notices/cost-notices-\(CalendarDate.pad(year, 4)).xml", .costNotice, group.count, bytes))
            counts.costNotices += group.count
        }
        let dispensings: [DispensingLine] = records.dispensings.values.map { d in
            DispensingLine(date: d.date, institution: d.institution, pharmacy: d.pharmacy.isEmpty ? nil : d.pharmacy,
                           drugs: d.drugs.sorted { $0.seq < $1.seq }.map(\.drug))
        }.sorted { ($0.date.iso, $0.institution, $0.pharmacy ?? "") < ($1.date.iso, $1.institution, $1.pharmacy ?? "") }
        let prescriptionWriter = PrescriptionWriter()
        for (year, group) in Self.byYear(dispensings, year: { $0.date.year }) {
            let bytes = prescriptionWriter.render(insured, group, style: style)
            files.append(("prescriptions/prescriptions-\(CalendarDate.pad(year, 4)).xml", .prescription, group.count, bytes))
            counts.dispensings += group.count
            counts.prescriptionDrugs += group.reduce(0) { $0 + $1.drugs.count }
        }

        let manifest = ExportManifest(
            personID: person, exportDate: exportDate.iso, kenpoVersion: KenpoVersion.current, stateGeneration: generation,
            counts: counts,
            files: files.map { ExportManifest.File(path: $0.path, kind: $0.kind, records: $0.records, bytes: $0.bytes.count,
                                                   sha256: SHA256Digest.hex(of: $0.bytes)) })

        let name = fileName(person: person)
        let path = directory + "/" + name
        let part = directory + "/." + name + ".part"
        let modified = Self.midnightInJapan(exportDate)
        do {
            let zip = try ZipWriter(path: part)
            try zip.add(name: ExportManifest.entryName, bytes: try manifest.encoded(), modified: modified)
            for f in files { try zip.add(name: f.path, bytes: f.bytes, modified: modified) }
            var out = try zip.finish()
            try FileSystem.rename(part, path)
            out.path = path
            return MemberExportResult(personID: person, file: out, counts: counts)
        } catch {
            unlink(part)
            throw error
        }
    }

    /// Consecutive runs of one year (the input is sorted by date).
    private static func byYear<T>(_ items: [T], year: (T) -> Int) -> [(Int, [T])] {
        var out: [(Int, [T])] = []
        for item in items {
            let y = year(item)
            if out.last?.0 == y { out[out.count - 1].1.append(item) } else { out.append((y, [item])) }
        }
        return out
    }

    /// ZIP entry times: the export date, 00:00 Japan time (deterministic for a given date).
    private static func midnightInJapan(_ d: CalendarDate) -> Date {
        Date(timeIntervalSince1970: TimeInterval(d.daysSinceEpoch * 86400 - 9 * 3600))
    }
}

extension KenpoFileStyle {
    /// How the member export spells kenpo-format files: UTF-8 without BOM, ISO dates, amounts without
    /// digit grouping, the kana name as the master holds it, 枝番 when the card has one, every element.
    static let export = KenpoFileStyle(bom: false, shiftJIS: false, commas: false, isoDates: true, kana: 1, branch: true,
                                       omitZeroPublicFunds: false)
}

/// Reads state tables for an export: the header names the columns (tables gain columns over time,
/// e.g. checkup_results' grade columns), rows of the wanted persons only.
enum StateTable {
    struct Place { var path: String; var line: Int }

    /// Calls `body` with the person id and the named columns of each row of a wanted person.
    static func rows(_ reader: CSVReader?, persons: Set<String>, columns: [String],
                     _ body: (String, [String], Place) throws -> Void) throws {
        guard let r = reader else { return }
        let path = r.path
        guard try r.next() else { return }
        let header = (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }
        guard let personColumn = header.firstIndex(of: "person_id") else {
            throw KenpoError.input(path: path, line: 1, message: "the table has no person_id column; the state generation is damaged")
        }
        let index = try columns.map { c -> Int in
            guard let i = header.firstIndex(of: c) else {
                throw KenpoError.input(path: path, line: 1, message: "the table has no column \(c); the state generation is from another kenpo version or damaged")
            }
            return i
        }
        let needed = max(personColumn, index.max() ?? 0)
        while try r.next() {
            guard r.malformed == nil, r.fieldCount > needed else {
                throw KenpoError.input(path: path, line: r.line, message: "damaged row; restore the previous state generation")
            }
            let person = String(decoding: r.fieldBytes(personColumn), as: UTF8.self)
            guard persons.contains(person) else { continue }
            try body(person, index.map { String(decoding: r.fieldBytes($0), as: UTF8.self) }, Place(path: path, line: r.line))
        }
    }
}
