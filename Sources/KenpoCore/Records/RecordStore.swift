import Foundation

/// How one record of this run compares with what the state already holds.
public enum RecordChange: String, Sendable {
    case added, replaced
    /// Same content arrived from another source: stored once, the source list grows.
    case sourceAdded = "source_added"
    case unchanged
    /// An older version of a record the state already holds in a newer one: ignored.
    case stale
}

/// Collects one kind's records during a run and merges them into the state's tables.
///
/// Records are spooled to scratch files as they arrive (rows prefixed with their arrival number),
/// so memory holds only a few numbers per record; the merge streams the previous tables once.
final class RecordStager {
    let kind: RecordKind
    private var spools: [CSVWriter]
    private let spoolPaths: [String]
    private struct Entry {
        var seq: Int
        var person: UInt64
        var content: UInt64
        var sources: Set<RecordSource>
        var documentDate: String
        var file: String
    }
    private var staged: [UInt64: Entry] = [:]
    private var order: [UInt64] = []
    private var seq = 0
    /// Records that arrived more than once in this run with the same content, or were superseded
    /// by a later version in the same run.
    private(set) var duplicatesInRun = 0
    private(set) var supersededInRun = 0
    private(set) var received = 0

    init(kind: RecordKind, scratch: String) throws {
        self.kind = kind
        spoolPaths = kind.tables.map { scratch + "/spool-" + $0.file }
        spools = try spoolPaths.map { try CSVWriter(path: $0) }
    }

    func add(_ r: StagedRecord, file: String) {
        received += 1
        seq += 1
        if var e = staged[r.id] {
            if e.content == r.content {
                duplicatesInRun += 1
                e.sources.insert(r.source)
                staged[r.id] = e
                return
            }
            // Two versions in one run: the newer document wins (arrival order when undated).
            if !r.documentDate.isEmpty, !e.documentDate.isEmpty, r.documentDate < e.documentDate {
                supersededInRun += 1
                return
            }
            supersededInRun += 1
        } else {
            order.append(r.id)
        }
        staged[r.id] = Entry(seq: seq, person: r.person, content: r.content, sources: [r.source], documentDate: r.documentDate, file: file)
        for (t, rows) in r.rows.enumerated() {
            for row in rows { spools[t].row([String(seq)] + row) }
        }
    }

    struct MergeResult {
        var outputs: [OutputFile]
        var changes: [RecordChange: Int]
    }

    /// Writes the merged tables into `stateDir` (previous tables from `previous`), and one line per
    /// change to `changes`.
    func merge(previous: (String) -> String?, stateDir: String, changes: CSVWriter) throws -> MergeResult {
        for s in spools { _ = try s.close() }
        var counts: [RecordChange: Int] = [:]
        // 1. What the state holds for the ids of this run.
        var decision: [UInt64: RecordChange] = [:]
        var newSources: [UInt64: String] = [:]
        if let head = previous(kind.tables[0].file) {
            try forEachRecord(head) { r in
                guard let id = r.withField(0, Self.hex) else {
                    throw KenpoError.input(path: head, line: r.line, message: "damaged record id; restore the previous state generation")
                }
                guard decision[id] == nil, let e = staged[id] else { return }
                func text(_ i: Int) -> String { String(decoding: r.fieldBytes(i), as: UTF8.self) }
                let prevContent = r.withField(kind.contentColumn, Self.hex)
                let prevSources = RecordSource.parse(text(kind.sourceColumn)) ?? []
                if prevContent == e.content {
                    let union = prevSources.union(e.sources)
                    if union != prevSources {
                        decision[id] = .sourceAdded
                        newSources[id] = RecordSource.format(union)
                    } else {
                        decision[id] = .unchanged
                    }
                } else if let dc = kind.documentDateColumn, !e.documentDate.isEmpty, e.documentDate < text(dc) {
                    decision[id] = .stale
                } else {
                    decision[id] = .replaced
                }
            }
        }
        // 2. Each table: previous rows (replaced ones dropped, re-sourced ones updated), then this run's.
        // Rows are copied field by field as bytes: no String per field (these tables are the big ones).
        var outputs: [OutputFile] = []
        for (t, table) in kind.tables.enumerated() {
            let out = try CSVWriter(path: stateDir + "/" + table.file, header: table.header)
            func copy(_ r: CSVReader, from first: Int, source: String?) {
                for f in first..<r.fieldCount {
                    if let source, f - first == table.sourceColumn { out.field(source) } else { r.withField(f) { out.field(bytes: $0) } }
                }
                out.endRow()
            }
            if let prev = previous(table.file) {
                try forEachRecord(prev) { r in
                    guard r.fieldCount == table.header.count, let id = r.withField(0, Self.hex) else {
                        throw KenpoError.input(path: prev, line: r.line, message: "damaged row; restore the previous state generation")
                    }
                    switch decision[id] {
                    case .replaced: return
                    case .sourceAdded: copy(r, from: 0, source: newSources[id]!)
                    default: copy(r, from: 0, source: nil)
                    }
                }
            }
            try forEachRecord(spoolPaths[t], header: false) { r in
                guard let s = r.withField(0, Self.decimal), let id = r.withField(1, Self.hex), let e = staged[id], e.seq == s else { return }
                let d = decision[id] ?? .added
                guard d == .added || d == .replaced else { return }
                copy(r, from: 1, source: table.sourceColumn == nil ? nil : RecordSource.format(e.sources))
            }
            outputs.append(try out.close())
        }
        // 3. The change list, in arrival order.
        for id in order {
            let e = staged[id]!
            let d = decision[id] ?? .added
            counts[d, default: 0] += 1
            guard d != .unchanged else { continue }
            changes.row([kind.name, StableHash.hex(id), StableHash.hex(e.person), d.rawValue, RecordSource.format(e.sources), e.file])
        }
        for p in spoolPaths { unlink(p) }
        return MergeResult(outputs: outputs, changes: counts)
    }

    private func forEachRecord(_ path: String, header: Bool = true, _ body: (CSVReader) throws -> Void) throws {
        let r = try CSVReader(path: path)
        if header { _ = try r.next() }
        while try r.next() {
            if r.malformed != nil { throw KenpoError.input(path: path, line: r.line, message: "damaged CSV row; restore the previous state generation") }
            try body(r)
        }
    }

    static func hex(_ b: UnsafeRawBufferPointer) -> UInt64? {
        guard b.count == 16 else { return nil }
        var v: UInt64 = 0
        for c in b {
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    static func decimal(_ b: UnsafeRawBufferPointer) -> Int? {
        guard !b.isEmpty, b.count < 19 else { return nil }
        var v = 0
        for c in b { guard c >= 0x30 && c <= 0x39 else { return nil }; v = v * 10 + Int(c - 0x30) }
        return v
    }
}
