import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How one record of this run compares with what the state already holds.
public enum RecordChange: String, Sendable {
    case added, replaced
    /// Same content arrived from another source: stored once, the source list grows.
    case sourceAdded = "source_added"
    case unchanged
    /// An older version of a record the state already holds in a newer one: ignored.
    case stale

    var code: UInt8 {
        switch self { case .added: return 0; case .replaced: return 1; case .sourceAdded: return 2; case .unchanged: return 3; case .stale: return 4 }
    }
    init(code: UInt8) {
        switch code { case 1: self = .replaced; case 2: self = .sourceAdded; case 3: self = .unchanged; case 4: self = .stale; default: self = .added }
    }
}

extension RecordSource {
    /// One bit per source, in the stored order (insurer, mynaportal, member_upload).
    var bit: UInt8 { 1 << UInt8(order) }

    static func format(mask: UInt8) -> String {
        allCases.sorted().filter { mask & $0.bit != 0 }.map(\.rawValue).joined(separator: ";")
    }

    static func mask(_ s: Set<RecordSource>) -> UInt8 { s.reduce(0) { $0 | $1.bit } }
}

/// A worker's scratch files of encoded rows, one per table (`slots`): each record's rows are one
/// blob, labelled with the document's index and the record's place in it, so the merge can put the
/// workers' files back into input order without keeping any row in memory.
final class RecordRowSpool {
    /// Every table of every kind, in `RecordKind.all` order: (kind index, table index).
    static let slots: [(kind: Int, table: Int)] = RecordKind.all.enumerated().flatMap { k, kind in kind.tables.indices.map { (k, $0) } }

    static func slot(kind: Int, table: Int) -> Int { slots.firstIndex { $0.kind == kind && $0.table == table }! }

    static func path(directory: String, worker: Int, slot: Int) -> String {
        let (k, t) = slots[slot]
        return directory + "/w\(worker)/spool-" + RecordKind.all[k].tables[t].file
    }

    private let writers: [SpoolWriter]

    init(directory: String, worker: Int) throws {
        try FileSystem.makeDirectory(directory + "/w\(worker)")
        writers = try Self.slots.indices.map { try SpoolWriter(path: Self.path(directory: directory, worker: worker, slot: $0), bufferSize: 128 * 1024) }
    }

    /// The rows of record `record` of document `document` for one table.
    func put(kind: Int, table: Int, document: Int, record: Int, rows: RowEncoder) {
        rows.withBytes {
            writers[Self.slot(kind: kind, table: table)].append(UInt32(document), UInt32(record), UInt32(rows.rows), $0)
        }
    }

    /// The first write error (a full disk), if any.
    var failure: KenpoError? { writers.lazy.compactMap(\.failure).first }

    func finish() throws { for w in writers { try w.finish() } }
}

/// Collects one kind's records during a run and merges them into the state's tables.
///
/// Nothing of a record is kept in memory while the run reads: its rows are in the workers' spools
/// (`RecordRowSpool`) and its key (id, content hash, sources, date, file) goes to a bucketed spool
/// file here. The merge then takes the spool one id bucket at a time (1/64 of the run), joins it
/// with the previous state's records of the same bucket, and decides per record; what it keeps in
/// memory is a bit per record of this run and the ids of previous records to drop or re-source.
final class RecordStager {
    let kind: RecordKind
    let kindIndex: Int
    private let scratch: String
    private var keys: BucketSpool?
    private var payload: [UInt8] = []
    /// Records that arrived more than once in this run with the same content, or were superseded
    /// by a later version in the same run (known after the merge).
    private(set) var duplicatesInRun = 0
    private(set) var supersededInRun = 0
    private(set) var received = 0

    init(kind: RecordKind, scratch: String) throws {
        self.kind = kind
        self.kindIndex = RecordKind.all.firstIndex { $0.name == kind.name }!
        self.scratch = scratch + "/stage-" + kind.name
    }

    /// One record arriving, in input order (its rows are in a worker's spool, see `RecordRowSpool`).
    func add(_ r: StagedKey, source: RecordSource, file: String) throws {
        if keys == nil { keys = try BucketSpool(directory: scratch + "/keys", bufferSize: 16 * 1024) }
        received += 1
        payload.removeAll(keepingCapacity: true)
        Self.put(UInt64(received), &payload)
        Self.put(r.person, &payload)
        Self.put(r.content, &payload)
        payload.append(source.bit)
        var date = r.documentDate
        date.withUTF8 { d in
            Self.put16(UInt16(min(d.count, 0xFFFF)), &payload)
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(d)[0..<min(d.count, 0xFFFF)]))
        }
        var f = file
        f.withUTF8 { payload.append(contentsOf: UnsafeRawBufferPointer($0)) }
        try payload.withUnsafeBytes { try keys!.append(id: r.id, tag: 0, payload: $0) }
    }

    struct MergeResult {
        var outputs: [OutputFile]
        var changes: [RecordChange: Int]
    }

    /// One arrival as the key spool holds it.
    private struct Arrival {
        var seq: Int
        var person: UInt64
        var content: UInt64
        var sources: UInt8
        var date: UnsafeRawBufferPointer
        var file: UnsafeRawBufferPointer
    }

    private func arrival(_ e: BucketSpool.Entry, _ bytes: UnsafeRawBufferPointer) -> Arrival {
        let p = bytes.baseAddress! + e.offset
        let dateLength = Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 25, as: UInt16.self)))
        return Arrival(seq: Int(UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))),
                       person: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                       content: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                       sources: p.load(fromByteOffset: 24, as: UInt8.self),
                       date: UnsafeRawBufferPointer(start: p + 27, count: dateLength),
                       file: UnsafeRawBufferPointer(start: p + 27 + dateLength, count: e.length - 27 - dateLength))
    }

    /// "a < b" for document dates as Strings compare (ISO dates compare as their bytes).
    private static func earlier(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        String(decoding: a, as: UTF8.self) < String(decoding: b, as: UTF8.self)
    }

    /// Writes the merged tables into `stateDir` (previous tables from `previous`), and one line per
    /// change to `changes`. `rowSpools`: per table of this kind, the workers' spool files.
    func merge(previous: (String) -> String?, stateDir: String, changes: CSVWriter, rowSpools: [[String]]) throws -> MergeResult {
        guard let keys else { return MergeResult(outputs: [], changes: [:]) }
        try keys.finishWriting()
        var counts: [RecordChange: Int] = [:]

        // 1. The previous state's records of this kind, spooled by the same id buckets: id, content
        //    hash, sources and document date of each (the first row of an id counts).
        var previousKeys: BucketSpool? = nil
        if let head = previous(kind.tables[0].file) {
            let spool = try BucketSpool(directory: scratch + "/previous", bufferSize: 16 * 1024)
            previousKeys = spool
            let r = try CSVRowReader(path: head)
            _ = try r.next()   // header
            var p: [UInt8] = []
            while try r.next() {
                if r.malformed != nil { throw KenpoError.input(path: head, line: r.line, message: "damaged CSV row; restore the previous state generation") }
                guard let id = r.withField(0, Self.hex) else {
                    throw KenpoError.input(path: head, line: r.line, message: "damaged record id; restore the previous state generation")
                }
                let needed = max(kind.contentColumn, kind.sourceColumn, kind.documentDateColumn ?? 0)
                guard r.fieldCount > needed else { throw KenpoError.input(path: head, line: r.line, message: "damaged row; restore the previous state generation") }
                p.removeAll(keepingCapacity: true)
                let content = r.withField(kind.contentColumn, Self.hex)
                p.append(content == nil ? 0 : 1)
                Self.put(content ?? 0, &p)
                let sources = r.withField(kind.sourceColumn) { RecordSource.parse(String(decoding: $0, as: UTF8.self)).map(RecordSource.mask) ?? 0 }
                p.append(sources)
                if let dc = kind.documentDateColumn { r.withField(dc) { p.append(contentsOf: $0) } }
                try p.withUnsafeBytes { try spool.append(id: id, tag: 0, payload: $0) }
            }
            try spool.finishWriting()
        }

        // 2. Per bucket: each id's arrivals replayed in order (same content again: one more source;
        //    an older document date: ignored; else the later version wins), then compared with the
        //    state's record.
        var kept = [UInt64](repeating: 0, count: received / 64 + 1)
        var sourcesOf: [Int: UInt8] = [:]          // winning arrivals that gathered more than their own source
        var dropIDs: [UInt64] = [], resourceIDs: [UInt64] = [], resourceMasks: [UInt8] = []
        let changeSpool = try BucketSpool(directory: scratch + "/changes", bufferSize: 16 * 1024)
        let shift = UInt64(max(0, (UInt64(received) + 1).leadingZeroBitCount))
        var change: [UInt8] = []
        for bucket in 0..<BucketSpool.bucketCount {
            let run = try keys.sortedBucket(bucket)
            let prev: (bytes: [UInt8], entries: [BucketSpool.Entry]) = try previousKeys?.sortedBucket(bucket) ?? ([], [])
            try run.bytes.withUnsafeBytes { rb in
                try prev.bytes.withUnsafeBytes { pb in
                    var i = 0, pi = 0
                    while i < run.entries.count {
                        let id = run.entries[i].id
                        var e = arrival(run.entries[i], rb)
                        let firstSeq = e.seq
                        var j = i + 1
                        while j < run.entries.count && run.entries[j].id == id {
                            let r = arrival(run.entries[j], rb)
                            j += 1
                            if r.content == e.content { duplicatesInRun += 1; e.sources |= r.sources; continue }
                            supersededInRun += 1
                            if !r.date.isEmpty, !e.date.isEmpty, Self.earlier(r.date, e.date) { continue }
                            e = r
                        }
                        i = j
                        while pi < prev.entries.count && prev.entries[pi].id < id { pi += 1 }
                        let d: RecordChange
                        var newSources: UInt8 = 0
                        if pi < prev.entries.count && prev.entries[pi].id == id {
                            let pe = prev.entries[pi]
                            let p = pb.baseAddress! + pe.offset
                            let prevContent: UInt64? = p.load(as: UInt8.self) == 1 ? UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt64.self)) : nil
                            let prevSources = p.load(fromByteOffset: 9, as: UInt8.self)
                            let prevDate = UnsafeRawBufferPointer(start: p + 10, count: pe.length - 10)
                            if prevContent == e.content {
                                newSources = prevSources | e.sources
                                d = newSources != prevSources ? .sourceAdded : .unchanged
                            } else if kind.documentDateColumn != nil, !e.date.isEmpty, Self.earlier(e.date, prevDate) {
                                d = .stale
                            } else {
                                d = .replaced
                            }
                        } else {
                            d = .added
                        }
                        counts[d, default: 0] += 1
                        if d == .added || d == .replaced {
                            kept[e.seq >> 6] |= 1 << UInt64(e.seq & 63)
                            if e.sources.nonzeroBitCount > 1 { sourcesOf[e.seq] = e.sources }
                        }
                        if d == .replaced { dropIDs.append(id) }
                        if d == .sourceAdded { resourceIDs.append(id); resourceMasks.append(newSources) }
                        guard d != .unchanged else { continue }
                        change.removeAll(keepingCapacity: true)
                        Self.put(id, &change)
                        Self.put(e.person, &change)
                        change.append(d.code)
                        change.append(e.sources)   // this run's sources (the stored list may hold more)
                        change.append(contentsOf: e.file)
                        try change.withUnsafeBytes { try changeSpool.append(id: UInt64(firstSeq) << shift, tag: 0, payload: $0) }
                    }
                }
            }
        }
        try changeSpool.finishWriting()
        previousKeys?.remove()
        keys.remove()
        self.keys = nil
        dropIDs.sort()
        let order = resourceIDs.indices.sorted { resourceIDs[$0] < resourceIDs[$1] }
        resourceIDs = order.map { resourceIDs[$0] }
        resourceMasks = order.map { resourceMasks[$0] }

        // 3. Each table: previous rows (replaced ones dropped, re-sourced ones updated), then this
        //    run's winning rows in arrival order — both copied as the bytes they are.
        var outputs: [OutputFile] = []
        for (t, table) in kind.tables.enumerated() {
            let out = try CSVWriter(path: stateDir + "/" + table.file, header: table.header)
            if let prev = previous(table.file) {
                try copyPrevious(prev, table: table, into: out, drop: dropIDs, resource: (resourceIDs, resourceMasks))
            }
            var seq = 0
            try Self.mergeSpools(rowSpools[t]) { rows, count in
                seq += 1
                guard seq <= received, kept[seq >> 6] & (1 << UInt64(seq & 63)) != 0 else { return }
                if let column = table.sourceColumn, let mask = sourcesOf[seq] {
                    Self.resource(rows, column: column, to: RecordSource.format(mask: mask), into: out)
                } else {
                    out.rawRows(rows, count: count)
                }
            }
            guard seq == received else {
                throw KenpoError.invariant("import: \(kind.name) staged \(received) records but the row spools of \(table.file) hold \(seq)")
            }
            outputs.append(try out.close())
        }

        // 4. The change list, in the order records first arrived.
        for bucket in 0..<BucketSpool.bucketCount {
            let (bytes, entries) = try changeSpool.sortedBucket(bucket)
            bytes.withUnsafeBytes { b in
                for e in entries {
                    let p = b.baseAddress! + e.offset
                    let id = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                    let person = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                    let d = RecordChange(code: p.load(fromByteOffset: 16, as: UInt8.self))
                    let sources = p.load(fromByteOffset: 17, as: UInt8.self)
                    changes.field(kind.name)
                    withHex(id) { changes.field(bytes: $0) }
                    withHex(person) { changes.field(bytes: $0) }
                    changes.field(d.rawValue)
                    changes.field(RecordSource.format(mask: sources))
                    changes.field(bytes: UnsafeRawBufferPointer(start: p + 18, count: e.length - 18))
                    changes.endRow()
                }
            }
        }
        changeSpool.remove()
        FileSystem.removeTree(scratch)
        return MergeResult(outputs: outputs, changes: counts)
    }

    /// The previous version of a table into `out`: rows of replaced records left out, the source
    /// column of re-sourced ones rewritten, every other row copied as it is.
    private func copyPrevious(_ path: String, table: RecordTable, into out: CSVWriter, drop: [UInt64],
                              resource: (ids: [UInt64], masks: [UInt8])) throws {
        let r = try CSVRowReader(path: path)
        _ = try r.next()   // header
        let filtering = !drop.isEmpty || !resource.ids.isEmpty
        while try r.next() {
            if r.malformed != nil { throw KenpoError.input(path: path, line: r.line, message: "damaged CSV row; restore the previous state generation") }
            guard r.fieldCount == table.header.count, let id = r.withField(0, Self.hex) else {
                throw KenpoError.input(path: path, line: r.line, message: "damaged row; restore the previous state generation")
            }
            var source: String? = nil
            if filtering {
                if Self.contains(drop, id) { continue }
                if table.sourceColumn != nil, let i = Self.index(resource.ids, id) { source = RecordSource.format(mask: resource.masks[i]) }
            }
            if source == nil && r.canonical {
                out.rawRows(r.row, count: 1)
                continue
            }
            for f in 0..<r.fieldCount {
                if let source, f == table.sourceColumn { out.field(source) } else { r.withField(f) { out.field(bytes: $0) } }
            }
            out.endRow()
        }
    }

    /// Reads the workers' spools of one table back in input order (document, then record) and hands
    /// each record's rows and their count to `body`.
    static func mergeSpools(_ paths: [String], _ body: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        let readers = try paths.map { try SpoolReader(path: $0) }
        var live = try readers.filter { try $0.next() }
        if live.count == 1 {
            let r = live[0]
            repeat { try body(r.bytes, Int(r.c)) } while try r.next()
            return
        }
        while !live.isEmpty {
            var best = 0
            for k in 1..<live.count where (live[k].a, live[k].b) < (live[best].a, live[best].b) { best = k }
            let r = live[best]
            try body(r.bytes, Int(r.c))
            if try !r.next() { live.remove(at: best) }
        }
    }

    /// Rows kenpo encoded, rewritten with another value in the source column (a record that came
    /// from more than one source in this run).
    static func resource(_ rows: UnsafeRawBufferPointer, column: Int, to source: String, into out: CSVWriter) {
        var start = 0, inQuotes = false
        for i in 0..<rows.count {
            let c = rows[i]
            if c == 0x22 { inQuotes.toggle() }
            if !inQuotes && c == 0x0A {
                var fields = CSVLine.parse(UnsafeRawBufferPointer(rebasing: rows[start...i]))
                if column < fields.count { fields[column] = source }
                out.row(fields)
                start = i + 1
            }
        }
    }

    private static func contains(_ sorted: [UInt64], _ v: UInt64) -> Bool { index(sorted, v) != nil }

    private static func index(_ sorted: [UInt64], _ v: UInt64) -> Int? {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo] == v ? lo : nil
    }

    @inline(__always)
    private static func put(_ v: UInt64, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    @inline(__always)
    private static func put16(_ v: UInt16, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
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
