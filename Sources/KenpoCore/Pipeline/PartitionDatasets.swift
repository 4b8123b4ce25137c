import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How each published dataset of a run is merged across partitions (`kenpo merge`), and the merges.
///
/// Two orders occur in a run's datasets (checked in their writers):
/// - **person-id order**: `members.csv` and `member_changes.csv` (the eligibility merge walks its
///   spool in id order). Merged by a k-way merge, so the result is byte for byte what one run writes.
/// - **arrival order**: the health-record tables and `record_changes.csv` (the order the run read its
///   documents: pipeline list, folder walk, archive entries), `access_codes.csv` (issue order) and
///   `deletions.csv` (request order). Partitions cannot reproduce one run's interleaving of their
///   files, so these are sorted by person id, then record id, then each partition's own row order
///   (an external sort through `BucketSpool`: memory is one 64th of a dataset). The rows are one
///   run's rows; only their order is the merge's.
/// - `rejects.csv` names no person: each partition's rows in turn, in the order the outboxes are given.
///
/// Rows are re-encoded with `CSVWriter`'s quoting; each partition file is checked to be in exactly
/// that form (re-encoded bytes = bytes read), so an unchanged row keeps its bytes.
struct MergedDataset {
    enum Order {
        case personSorted
        case byPerson(personColumn: Int, recordColumn: Int?)
        case partitionOrder
    }

    /// The part a table plays for health records, which decides how one record found in two file
    /// partitions resolves.
    enum Records {
        case none
        /// Rows carrying the record's content hash, source and (checkups) document date.
        case head(RecordKind)
        /// Rows of a record whose head is in another table (checkup_results.csv): follow the head.
        case child
        /// record_changes.csv: the winning partition's row.
        case changes
    }

    var name: String
    var order: Order
    /// The full table as it stands, not this run's changes: a partition that did not publish it in
    /// its run (no roster, no import tonight) contributes the copy in the state generation its
    /// manifest names, as one run would have published the whole table.
    var snapshot: Bool
    var records: Records = .none
    /// File partitions all read the insurer's rosters: these must come out identical from each.
    var sameInEveryFilePartition = false
    /// Rows of one person from several file partitions are each partition's own (deletion audit).
    var personMayRepeatInFilePartitions = false

    /// In processing order: a head table before the tables that follow its decisions.
    static let all: [MergedDataset] = [
        MergedDataset(name: "members.csv", order: .personSorted, snapshot: true, sameInEveryFilePartition: true),
        MergedDataset(name: "member_changes.csv", order: .personSorted, snapshot: false, sameInEveryFilePartition: true),
        MergedDataset(name: "checkups.csv", order: .byPerson(personColumn: 1, recordColumn: 0), snapshot: true, records: .head(.checkup)),
        MergedDataset(name: "checkup_results.csv", order: .byPerson(personColumn: 1, recordColumn: 0), snapshot: true, records: .child),
        MergedDataset(name: "cost_notices.csv", order: .byPerson(personColumn: 1, recordColumn: 0), snapshot: true, records: .head(.costNotice)),
        MergedDataset(name: "prescriptions.csv", order: .byPerson(personColumn: 1, recordColumn: 0), snapshot: true, records: .head(.prescription)),
        MergedDataset(name: "record_changes.csv", order: .byPerson(personColumn: 2, recordColumn: 1), snapshot: false, records: .changes),
        MergedDataset(name: "access_codes.csv", order: .byPerson(personColumn: 0, recordColumn: nil), snapshot: true),
        MergedDataset(name: DeletionStage.auditFile, order: .byPerson(personColumn: 1, recordColumn: nil), snapshot: true,
                      personMayRepeatInFilePartitions: true),
        MergedDataset(name: "rejects.csv", order: .partitionOrder, snapshot: false),
    ]

    static func named(_ name: String) -> MergedDataset? { all.first { $0.name == name } }
}

/// One partition's copy of a dataset: published in its outbox, or taken from its state generation.
struct DatasetSource {
    var partition: Int
    var path: String
    /// The partition manifest's entry for the file (nil for a state copy): rows, bytes and SHA-256 are checked.
    var expected: OutputFile?
    var fromState: Bool
}

/// How one record found in more than one file partition was resolved (head table → its other tables).
struct RecordDecision {
    var winner: Int
    /// The union of the partitions' sources when the copies had the same content (nil: the winner's stands).
    var sources: String?
    var sourceColumn: Int?
}

/// The merge of the datasets of several partitions into one folder.
final class PartitionDatasetMerger {
    let kind: PartitionMerge.Kind
    /// Outbox paths as given, for messages.
    let names: [String]
    let scratch: String
    /// Each partition's inputs (path → SHA-256, from its manifest), and for inputs read by more than
    /// one file partition (a roster), the first partition that read them: their rejects are listed once.
    var inputSHA: [[String: String]] = []
    var firstReader: [String: Int] = [:]
    private(set) var decisions: [UInt64: RecordDecision] = [:]
    /// Records found in several file partitions and resolved; the first `notedRecords` are noted.
    private(set) var resolvedRecords = 0
    static let notedRecords = 20
    private(set) var rejectReasons: [String: Int] = [:]
    private(set) var notes: [String] = []

    init(kind: PartitionMerge.Kind, names: [String], scratch: String) {
        self.kind = kind
        self.names = names
        self.scratch = scratch
    }

    /// Merges `sources` of `dataset` into `out`. Returns the written file's manifest entry.
    func merge(_ dataset: MergedDataset, sources: [DatasetSource], into out: String) throws -> OutputFile {
        if kind == .file && dataset.sameInEveryFilePartition {
            return try identical(dataset, sources: sources, into: out)
        }
        switch dataset.order {
        case .personSorted: return try kWay(dataset, sources: sources, into: out)
        case .byPerson(let p, let r): return try sorted(dataset, sources: sources, personColumn: p, recordColumn: r, into: out)
        case .partitionOrder: return try concatenated(dataset, sources: sources, into: out)
        }
    }

    // MARK: reading a partition's file

    /// A partition's dataset read record by record, each re-encoded as kenpo writes it; at the end it
    /// checks that re-encoding gave back every byte read, and the file's entry in its manifest.
    final class Source {
        let source: DatasetSource
        let reader: CSVReader
        let digest = SHA256Digest()
        let header: [String]
        let headerBytes: [UInt8]
        private(set) var row: [UInt8] = []
        private(set) var encodedBytes = 0
        private(set) var rows = 0

        init(_ source: DatasetSource) throws {
            self.source = source
            let r = try CSVReader(path: source.path, digest: digest)
            guard try r.next(), r.malformed == nil else {
                throw KenpoError.input(path: source.path, line: 1, message: "no header line; the outbox is damaged (publish the partition again)")
            }
            reader = r
            header = (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }
            var h: [UInt8] = []
            Self.encode(r, into: &h)
            headerBytes = h
            encodedBytes = h.count
        }

        static func encode(_ r: CSVReader, into out: inout [UInt8]) {
            for i in 0..<r.fieldCount {
                if i > 0 { out.append(0x2C) }
                r.withField(i) { CSVWriter.appendQuoted($0, to: &out) }
            }
            out.append(0x0D); out.append(0x0A)
        }

        /// Advances to the next record (its encoded bytes in `row`); false at the end, after the checks.
        func next() throws -> Bool {
            guard try reader.next() else {
                try finish()
                return false
            }
            if let m = reader.malformed { throw KenpoError.input(path: source.path, line: reader.line, message: "damaged CSV row (\(m)); the outbox is damaged") }
            guard reader.fieldCount == header.count else {
                throw KenpoError.input(path: source.path, line: reader.line, message: "\(reader.fieldCount) fields where the header has \(header.count); the outbox is damaged")
            }
            row.removeAll(keepingCapacity: true)
            Self.encode(reader, into: &row)
            encodedBytes += row.count
            rows += 1
            return true
        }

        var line: Int { reader.line }

        func field(_ i: Int) -> ArraySlice<UInt8> { reader.fieldBytes(i) }

        /// The 64-bit id in field `i` (16 lower-case hex digits, as kenpo writes person and record ids).
        func id(_ i: Int, what: String) throws -> UInt64 {
            guard let v = reader.withField(i, StableHash.parseHex(bytes:)) else {
                throw KenpoError.input(path: source.path, line: reader.line, message: "column \(header[i]) does not hold a \(what) (16 hex digits); the outbox is damaged")
            }
            return v
        }

        private func finish() throws {
            let hash = digest.finalizeHex()
            guard encodedBytes == reader.bytesRead else {
                throw KenpoError.input(path: source.path, line: nil, message: "not in the CSV form kenpo writes (quoting or line ends differ: \(reader.bytesRead) bytes read, \(encodedBytes) re-encoded); merge only outboxes kenpo published")
            }
            if let e = source.expected, e.sha256 != hash || e.bytes != reader.bytesRead || e.rows != rows {
                throw KenpoError.input(path: source.path, line: nil, message: "does not match its manifest (\(e.rows) rows, \(e.bytes) bytes, SHA-256 \(e.sha256.prefix(12))…; found \(rows) rows, \(reader.bytesRead) bytes, \(hash.prefix(12))…): the outbox was changed or copied incompletely; copy it again from the partition")
            }
        }
    }

    private func open(_ dataset: MergedDataset, _ sources: [DatasetSource]) throws -> [Source] {
        let opened = try sources.map { try Source($0) }
        if let first = opened.first {
            for s in opened.dropFirst() where s.headerBytes != first.headerBytes {
                let a = Set(first.header), b = Set(s.header)
                let diff = (b.subtracting(a).sorted().map { "+\($0)" } + a.subtracting(b).sorted().map { "-\($0)" }).joined(separator: " ")
                throw KenpoError.input(path: s.source.path, line: 1, message: "the columns of \(dataset.name) differ from \(names[first.source.partition])'s (\(diff.isEmpty ? "same columns, another order" : diff)); merge partitions run by the same kenpo version")
            }
        }
        return opened
    }

    // MARK: person-id order: k-way merge

    private func kWay(_ dataset: MergedDataset, sources: [DatasetSource], into out: String) throws -> OutputFile {
        let inputs = try open(dataset, sources)
        let w = try CSVWriter(path: out, header: inputs[0].header)
        var heads: [UInt64?] = []
        for s in inputs { heads.append(try s.next() ? try s.id(0, what: "person id") : nil) }
        while true {
            var best: Int? = nil
            for (i, h) in heads.enumerated() {
                guard let h else { continue }
                if let b = best, let bh = heads[b] {
                    if h < bh { best = i } else if h == bh { throw duplicatePerson(h, dataset, inputs[b].source.partition, inputs[i].source.partition) }
                } else {
                    best = i
                }
            }
            guard let b = best, let id = heads[b] else { break }
            // Every row of this person from its one partition (member_changes.csv has several).
            let s = inputs[b]
            while heads[b] == id {
                s.row.withUnsafeBytes { w.rawRow($0) }
                heads[b] = try s.next() ? try s.id(0, what: "person id") : nil
                if let next = heads[b], next < id {
                    throw KenpoError.input(path: s.source.path, line: s.line, message: "not in person-id order, as kenpo writes \(dataset.name); the outbox is damaged")
                }
            }
        }
        return try w.close()
    }

    private func duplicatePerson(_ id: UInt64, _ dataset: MergedDataset, _ a: Int, _ b: Int) -> KenpoError {
        let (x, y) = (min(a, b), max(a, b))
        let why = kind == .insurer
            ? "insurer partitions hold disjoint members: each insurer's rosters, mailing lists and health documents go to one partition; fix the partitioning and run these partitions again"
            : "only one file partition of an insurer runs the codes and reissue steps (the first); fix the partitioning and run these partitions again"
        return KenpoError.input(path: names[y], line: nil, message: "person \(StableHash.hex(id)) is in \(dataset.name) of two partitions, \(names[x]) and \(names[y]): \(why)")
    }

    // MARK: file partitions: the same master in each

    private func identical(_ dataset: MergedDataset, sources: [DatasetSource], into out: String) throws -> OutputFile {
        var first: (source: DatasetSource, sha: String, bytes: Int)? = nil
        for s in sources {
            let d = try SHA256Digest.hex(ofFile: s.path)
            if let e = s.expected, e.sha256 != d.sha256 || e.bytes != d.bytes {
                throw KenpoError.input(path: s.path, line: nil, message: "does not match its manifest (SHA-256 \(e.sha256.prefix(12))…, found \(d.sha256.prefix(12))…): the outbox was changed or copied incompletely")
            }
            guard let f = first else { first = (s, d.sha256, d.bytes); continue }
            if f.sha != d.sha256 {
                throw KenpoError.input(path: s.path, line: nil, message: "\(dataset.name) differs from \(names[f.source.partition])'s: the file partitions of an insurer must all read the same rosters on the same date (each partition needs the whole member master to attach documents); run them again with the same rosters")
            }
        }
        guard let f = first else { throw KenpoError.invariant("no source for \(dataset.name)") }
        // The bytes were checked: hash by hash, they are one run's. Rows are counted from the manifest or the file.
        let rows = try f.source.expected?.rows ?? Self.countRows(f.source.path)
        return try FileSystem.linkOrCopy(OutputFile(path: f.source.path, rows: rows, bytes: f.bytes, sha256: f.sha), to: out)
    }

    static func countRows(_ path: String) throws -> Int {
        let r = try CSVReader(path: path)
        var n = -1
        while try r.next() { n += 1 }
        return max(n, 0)
    }

    // MARK: arrival order: sorted by person id, record id, partition, row

    private struct Key: Comparable {
        var person: UInt64, record: UInt64, partition: UInt32, position: UInt64
        var offset: Int, length: Int
        static func < (a: Key, b: Key) -> Bool {
            (a.person, a.record, a.partition, a.position) < (b.person, b.record, b.partition, b.position)
        }
    }

    private func sorted(_ dataset: MergedDataset, sources: [DatasetSource], personColumn: Int, recordColumn: Int?, into out: String) throws -> OutputFile {
        let inputs = try open(dataset, sources)
        let spoolDir = scratch + "/" + dataset.name
        let spool = try BucketSpool(directory: spoolDir)
        defer { FileSystem.removeTree(spoolDir) }
        // Payload: record id, partition, row position (little-endian), then the encoded row.
        var payload: [UInt8] = []
        for s in inputs {
            var position: UInt64 = 0
            while try s.next() {
                let person = try s.id(personColumn, what: "person id")
                let record = try recordColumn.map { try s.id($0, what: "record id") } ?? 0
                payload.removeAll(keepingCapacity: true)
                withUnsafeBytes(of: record.littleEndian) { payload.append(contentsOf: $0) }
                withUnsafeBytes(of: UInt32(s.source.partition).littleEndian) { payload.append(contentsOf: $0) }
                withUnsafeBytes(of: position.littleEndian) { payload.append(contentsOf: $0) }
                payload.append(contentsOf: s.row)
                try payload.withUnsafeBytes { try spool.append(id: person, tag: 0, payload: $0) }
                position += 1
            }
        }
        try spool.finishWriting()

        let w = try CSVWriter(path: out, header: inputs[0].header)
        for bucket in 0..<BucketSpool.bucketCount {
            let (bytes, entries) = try spool.sortedBucket(bucket)
            guard !entries.isEmpty else { continue }
            try bytes.withUnsafeBytes { raw in
                var keys = entries.map { e -> Key in
                    Key(person: e.id,
                        record: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: e.offset, as: UInt64.self)),
                        partition: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: e.offset + 8, as: UInt32.self)),
                        position: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: e.offset + 12, as: UInt64.self)),
                        offset: e.offset + 20, length: e.length - 20)
                }
                keys.sort()
                var i = 0
                while i < keys.count {
                    // One person's rows.
                    var j = i
                    while j < keys.count && keys[j].person == keys[i].person { j += 1 }
                    try emitPerson(dataset, keys[i..<j], raw: raw, recordColumn: recordColumn, to: w)
                    i = j
                }
            }
        }
        return try w.close()
    }

    private func emitPerson(_ dataset: MergedDataset, _ rows: ArraySlice<Key>, raw: UnsafeRawBufferPointer, recordColumn: Int?, to w: CSVWriter) throws {
        let first = rows.first!
        if let other = rows.first(where: { $0.partition != first.partition }) {
            let allowed = kind == .file && (recordColumn != nil || dataset.personMayRepeatInFilePartitions)
            if !allowed { throw duplicatePerson(first.person, dataset, Int(first.partition), Int(other.partition)) }
        }
        func bytes(_ k: Key) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: raw[k.offset..<(k.offset + k.length)]) }
        guard recordColumn != nil, kind == .file else {
            for k in rows { w.rawRow(bytes(k)) }
            return
        }
        // File partitions: one record may have come from several (the same checkup in two files).
        var i = rows.startIndex
        while i < rows.endIndex {
            var j = i
            while j < rows.endIndex && rows[j].record == rows[i].record { j += 1 }
            let group = rows[i..<j]
            if group.allSatisfy({ $0.partition == group.first!.partition }) {
                for k in group { w.rawRow(bytes(k)) }
            } else {
                let decision = try decide(dataset, group, bytes: bytes)
                let partitions = Set(group.map(\.partition))
                let keep = partitions.contains(UInt32(decision.winner)) ? UInt32(decision.winner) : group.first!.partition
                for k in group where k.partition == keep {
                    if let s = decision.sources, let c = decision.sourceColumn {
                        var fields = CSVLine.parse(bytes(k))
                        fields[c] = s
                        var row: [UInt8] = []
                        CSVWriter.encodeRow(fields, into: &row)
                        row.withUnsafeBytes { w.rawRow($0) }
                    } else {
                        w.rawRow(bytes(k))
                    }
                }
            }
            i = j
        }
    }

    /// One record in several file partitions, by one run's rules (`RecordStager`): the same content is
    /// stored once with the union of its sources; different contents, the newer document wins (by
    /// document date, checkups); otherwise one run would have taken the file it read later, which
    /// partitions cannot tell: an error.
    private func decide(_ dataset: MergedDataset, _ group: ArraySlice<Key>, bytes: (Key) -> UnsafeRawBufferPointer) throws -> RecordDecision {
        let record = group.first!.record
        switch dataset.records {
        case .head(let kind):
            // Each partition's first row of the record carries its content hash, source and date.
            var firsts: [(partition: Int, fields: [String])] = []
            for k in group where !firsts.contains(where: { $0.partition == Int(k.partition) }) {
                firsts.append((Int(k.partition), CSVLine.parse(bytes(k))))
            }
            let contents = Set(firsts.map { $0.fields[kind.contentColumn] })
            var d: RecordDecision
            if contents.count == 1 {
                var union = Set<RecordSource>()
                for f in firsts { union.formUnion(RecordSource.parse(f.fields[kind.sourceColumn]) ?? []) }
                let formatted = RecordSource.format(union)
                d = RecordDecision(winner: firsts[0].partition, sources: formatted == firsts[0].fields[kind.sourceColumn] ? nil : formatted,
                                   sourceColumn: kind.sourceColumn)
            } else if let dc = kind.documentDateColumn {
                let newest = firsts.map { $0.fields[dc] }.max()!
                let winners = firsts.filter { $0.fields[dc] == newest }
                guard !newest.isEmpty, Set(winners.map { $0.fields[kind.contentColumn] }).count == 1 else {
                    throw conflict(dataset, record, firsts.map(\.partition), why: "with different contents and the same document date")
                }
                d = RecordDecision(winner: winners[0].partition, sources: nil, sourceColumn: nil)
            } else {
                throw conflict(dataset, record, firsts.map(\.partition), why: "with different contents and no document date to tell the newer")
            }
            decisions[record] = d
            resolvedRecords += 1
            let others = firsts.map(\.partition).filter { $0 != d.winner }.map { names[$0] }
            // The first ones tell the operator what happened; the count says how often.
            if resolvedRecords <= Self.notedRecords { notes.append("\(dataset.name): record \(StableHash.hex(record)) came from several file partitions; kept \(names[d.winner])'s" +
                         (d.sources.map { " with sources \($0)" } ?? "") + " over " + others.joined(separator: ", ")) }
            return d
        case .child, .changes:
            guard var d = decisions[record] else {
                throw KenpoError.input(path: names[Int(group.last!.partition)], line: nil, message: "\(dataset.name): record \(StableHash.hex(record)) is in several partitions but its head row is not; the outboxes do not belong together")
            }
            if case .changes = dataset.records { d.sourceColumn = 4 } else { d.sources = nil }
            return d
        case .none:
            throw KenpoError.invariant("\(dataset.name) has no record rule")
        }
    }

    private func conflict(_ dataset: MergedDataset, _ record: UInt64, _ partitions: [Int], why: String) -> KenpoError {
        KenpoError.input(path: names[partitions.last!], line: nil, message: "\(dataset.name): record \(StableHash.hex(record)) came from \(partitions.map { names[$0] }.joined(separator: " and ")) \(why); one machine would have kept the file it read later, which partitions cannot tell — route both files to one partition (by the person) and run it again")
    }

    // MARK: rejects: partition by partition

    private func concatenated(_ dataset: MergedDataset, sources: [DatasetSource], into out: String) throws -> OutputFile {
        let inputs = try open(dataset, sources)
        let w = try CSVWriter(path: out, header: inputs[0].header)
        let fileColumn = inputs[0].header.firstIndex(of: "file") ?? 0
        let reasonColumn = inputs[0].header.firstIndex(of: "reason_code")
        for s in inputs {
            while try s.next() {
                // An input every file partition read (a roster): its rejects are listed once, from the first.
                if !firstReader.isEmpty {
                    let file = String(decoding: s.field(fileColumn), as: UTF8.self)
                    if let first = readFirstBy(file, partition: s.source.partition), first < s.source.partition { continue }
                }
                if let rc = reasonColumn { rejectReasons[String(decoding: s.field(rc), as: UTF8.self), default: 0] += 1 }
                s.row.withUnsafeBytes { w.rawRow($0) }
            }
        }
        return try w.close()
    }

    /// The first partition that read the input a reject row names (`path`, `path!entry`, `path#n`),
    /// matched by its SHA-256, so partitions may keep the shared file at different paths.
    private func readFirstBy(_ file: String, partition: Int) -> Int? {
        guard partition < inputSHA.count else { return nil }
        var candidates = [file]
        for sep in ["!", "#"] { if let r = file.range(of: sep) { candidates.append(String(file[..<r.lowerBound])) } }
        for c in candidates { if let sha = inputSHA[partition][c] { return firstReader[sha] } }
        return nil
    }
}
