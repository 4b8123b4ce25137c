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

    /// The stored spelling of a source mask (`format(_:)` of its sources), looked up: it is written
    /// on every change row.
    static func format(mask: UInt8) -> String { maskSpellings[Int(mask & 7)] }

    /// `format` of each of the 8 masks of the three sources.
    private static let maskSpellings: [String] = (0..<8).map { (m: UInt8) in
        allCases.sorted().filter { m & $0.bit != 0 }.map(\.rawValue).joined(separator: ";")
    }

    static func mask(_ s: Set<RecordSource>) -> UInt8 { s.reduce(0) { $0 | $1.bit } }
}

/// The records of one document, handed from a worker to the consumer with the document: frames back
/// to back, per record and table one (kind, table, rows, length; a record's first table with its
/// key, `StagedKey`), then the rows' bytes as encoded. Past 1 MB (a big notice file) the frames go to
/// the worker's overflow file, up to 1 MB at a time, so memory holds no more than a window of
/// ordinary documents whatever their size, and nothing per record.
struct DocumentRows {
    struct Part { var kind: UInt8; var table: UInt8; var rows: UInt32; var length: UInt32 }
    /// The frames not (yet) in the overflow file.
    private var bytes: [UInt8] = []
    /// The frames written to the worker's file: `length` bytes from `offset`; `bytes` follows them.
    private var overflow: (file: OverflowFile, offset: Int, length: Int)? = nil
    /// The most bytes held in memory (a larger frame is held alone).
    static let inlineLimit = 1 << 20
    /// kind, table, rows, length; then, for table 0, id, person, content and the document date's length.
    private static let partHeader = 10, keyHeader = 28

    /// A cost notice's record (`RecordRows.costNotice`), encoded with `encoder` and added.
    mutating func add(_ n: CostNotice, person: UInt64, source: RecordSource, file: String, encoder: RowEncoder, overflowTo overflow: OverflowFile) {
        let key = RecordRows.costNotice(n, person: person, source: source, file: file, rows: encoder)
        add(kind: 1, table: 0, encoder, key: key, overflowTo: overflow)
    }

    /// A dispensing's record (`RecordRows.dispensing`), encoded with `encoder` and added.
    mutating func add(_ d: Dispensing, person: UInt64, source: RecordSource, file: String, encoder: RowEncoder, overflowTo overflow: OverflowFile) {
        let key = RecordRows.dispensing(d, person: person, source: source, file: file, rows: encoder)
        add(kind: 2, table: 0, encoder, key: key, overflowTo: overflow)
    }

    /// A record's rows for one table of its kind, its key with table 0's (`key` given exactly then).
    mutating func add(kind: Int, table: Int, _ rows: RowEncoder, key: StagedKey? = nil, overflowTo file: OverflowFile) {
        precondition((table == 0) == (key != nil), "a record's key travels with its first table")
        rows.withBytes { b in
            let size = Self.partHeader + (key.map { Self.keyHeader + $0.documentDate.utf8.count } ?? 0) + b.count
            if bytes.count + size > Self.inlineLimit && !bytes.isEmpty { spill(to: file) }
            put(UInt8(kind)); put(UInt8(table)); put(UInt32(rows.rows)); put(UInt32(b.count))
            if var key {
                put(key.id); put(key.person); put(key.content)
                key.documentDate.withUTF8 { d in
                    put(UInt32(d.count))
                    bytes.append(contentsOf: d)
                }
            }
            bytes.append(contentsOf: b)
        }
    }

    /// Moves the frames held in memory to the end of the overflow file.
    private mutating func spill(to file: OverflowFile) {
        if overflow == nil { overflow = (file, file.size, 0) }
        bytes.withUnsafeBytes { file.append($0) }
        overflow!.length += bytes.count
        bytes.removeAll(keepingCapacity: true)
    }

    private mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Drops the rows (the document is refused after they were encoded), and what of them went to
    /// the overflow file.
    mutating func discard() {
        if let o = overflow { o.file.truncate(to: o.offset) }
        self = DocumentRows()
    }

    /// Each part in order: its key (table 0) and its rows' bytes (read back from the overflow file
    /// when there).
    func forEach(_ body: (Part, StagedKey?, UnsafeRawBufferPointer) throws -> Void) throws {
        if let (file, offset, length) = overflow {
            var pending: [UInt8] = []
            var at = offset
            while at < offset + length {
                let n = min(256 << 10, offset + length - at)
                try file.read(at: at, count: n, appendingTo: &pending)
                at += n
                let used = try pending.withUnsafeBytes { try Self.frames($0, body) }
                pending.removeFirst(used)
            }
            guard pending.isEmpty else { throw KenpoError.io(path: file.path, message: "spool ends inside a record") }
        }
        let used = try bytes.withUnsafeBytes { try Self.frames($0, body) }
        precondition(used == bytes.count, "DocumentRows holds a partial frame")
    }

    /// The whole frames at the start of `b`, each handed to `body`; returns the bytes they take.
    private static func frames(_ b: UnsafeRawBufferPointer, _ body: (Part, StagedKey?, UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        var at = 0
        while b.count - at >= partHeader {
            let part = Part(kind: b[at], table: b[at + 1], rows: u32(at + 2), length: u32(at + 6))
            var head = partHeader
            if part.table == 0 {
                guard b.count - at >= partHeader + keyHeader else { break }
                head += keyHeader + Int(u32(at + partHeader + 24))
            }
            let end = at + head + Int(part.length)
            guard end <= b.count else { break }
            var key: StagedKey? = nil
            if part.table == 0 {
                let k = at + partHeader
                key = StagedKey(id: u64(k), person: u64(k + 8), content: u64(k + 16),
                                documentDate: String(decoding: b[(k + keyHeader)..<(at + head)], as: UTF8.self))
            }
            try body(part, key, UnsafeRawBufferPointer(rebasing: b[(at + head)..<end]))
            at = end
        }
        return at
    }
}

/// A worker's file for the rows of documents too big to hand over in memory (`DocumentRows`).
final class OverflowFile: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private(set) var size = 0
    private(set) var failure: KenpoError?

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot create spool file: \(String(cString: strerror(errno)))") }
    }

    deinit { Glibc.close(fd); unlink(path) }

    func append(_ b: UnsafeRawBufferPointer) {
        guard failure == nil, b.count > 0 else { return }
        do { try FileSystem.writeAll(fd, b, path: path); size += b.count } catch let e as KenpoError { failure = e } catch {}
    }

    /// Forgets what was written from `offset` on (the rows of a document refused after they were
    /// spooled): later appends go there. The file is cut short too, when it can be (only disk space).
    func truncate(to offset: Int) {
        guard failure == nil, offset < size, lseek(fd, off_t(offset), SEEK_SET) >= 0 else { return }
        size = offset
        _ = ftruncate(fd, off_t(offset))
    }

    /// Reads `count` bytes from `offset` onto the end of `buffer`.
    func read(at offset: Int, count: Int, appendingTo buffer: inout [UInt8]) throws {
        if let failure { throw failure }
        guard count > 0 else { return }
        let base = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: count))
        try buffer.withUnsafeMutableBytes { b in
            try FileSystem.preadAll(fd, b.baseAddress! + base, count: count, at: offset, path: path) {
                KenpoError.io(path: path, message: "spool read failed: the file ends before byte \(offset + count)")
            }
        }
    }
}

/// Collects one kind's records during a run and merges them into the state's tables.
///
/// Nothing of a record is kept in memory while the run reads: its rows go, in arrival order, to a
/// file per table that is written (and hashed) as the final table would be, and its key (id,
/// content hash, sources, date, file) to a bucketed spool file. The merge then takes the keys one
/// id bucket at a time (1/64 of the run), joins them with the previous state's records of the same
/// bucket, and decides per record; what it keeps in memory is a bit per record of this run and the
/// ids of previous records to drop or re-source. When there is no previous table and every record
/// is new (a first import), the rows file *is* the table: nothing is copied.
final class RecordStager {
    let kind: RecordKind
    private let scratch: String
    private var keys: BucketSpool?
    private var payload: [UInt8] = []
    /// Records that arrived more than once in this run with the same content, or were superseded
    /// by a later version in the same run (known after the merge).
    private(set) var duplicatesInRun = 0
    private(set) var supersededInRun = 0
    private(set) var received = 0
    /// Per table: this run's rows in arrival order behind the table's header, and per record the
    /// length and row count of its rows there.
    private var rows: [CSVWriter]
    private var lengths: [SpoolWriter]
    private var header: [Int]

    init(kind: RecordKind, scratch: String) throws {
        self.kind = kind
        self.scratch = scratch + "/stage-" + kind.name
        try FileSystem.makeDirectory(self.scratch)
        rows = try kind.tables.map { try CSVWriter(path: scratch + "/stage-" + kind.name + "/spool-" + $0.file, header: $0.header) }
        lengths = try kind.tables.map { try SpoolWriter(path: scratch + "/stage-" + kind.name + "/lengths-" + $0.file, bufferSize: 64 * 1024) }
        header = kind.tables.map { t in
            var h: [UInt8] = []
            CSVWriter.encodeRow(t.header, into: &h)
            return h.count
        }
    }

    /// The rows of the record last added, for table `table` (every table of the kind, in order).
    func addRows(table: Int, _ bytes: UnsafeRawBufferPointer, count: Int) {
        rows[table].rawRows(bytes, count: count)
        lengths[table].append(UInt32(count), UInt32(bytes.count), 0, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Drops the scratch files (nothing of this kind arrived).
    func discard() {
        for r in rows { _ = try? r.close() }
        for l in lengths { try? l.finish() }
        keys?.remove()
        FileSystem.removeTree(scratch)
    }

    /// One record arriving, in input order; its rows follow through `addRows`.
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

    /// "a < b" for document dates as Strings compare. ASCII (ISO dates) compares as its bytes, with
    /// no String made; anything else (a date kept as the document gave it) as Strings (Unicode order).
    private static func earlier(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        if a.allSatisfy({ $0 < 0x80 }) && b.allSatisfy({ $0 < 0x80 }) { return a.lexicographicallyPrecedes(b) }
        return String(decoding: a, as: UTF8.self) < String(decoding: b, as: UTF8.self)
    }

    /// Writes the merged tables into `stateDir` (previous tables from `previous`), and one line per
    /// change to `changes`. This run's rows are in the stager's own per-table rows files (`addRows`).
    func merge(previous: (String) -> String?, stateDir: String, changes: CSVWriter) throws -> MergeResult {
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
                guard let id = r.withField(0, StableHash.parseHex(bytes:)) else {
                    throw KenpoError.input(path: head, line: r.line, message: "damaged record id; restore the previous state generation")
                }
                let needed = max(kind.contentColumn, kind.sourceColumn, kind.documentDateColumn ?? 0)
                guard r.fieldCount > needed else { throw KenpoError.input(path: head, line: r.line, message: "damaged row; restore the previous state generation") }
                p.removeAll(keepingCapacity: true)
                let content = r.withField(kind.contentColumn, StableHash.parseHex(bytes:))
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
        //    run's winning rows in arrival order — both copied as the bytes they are. A first import
        //    (no previous table, every record new and once) keeps the rows file as the table.
        var outputs: [OutputFile] = []
        for l in lengths { try l.finish() }
        let allNew = counts[.added, default: 0] == received && duplicatesInRun == 0 && supersededInRun == 0
        for (t, table) in kind.tables.enumerated() {
            let written = try rows[t].close()
            let final = stateDir + "/" + table.file
            if allNew && previous(table.file) == nil {
                try FileSystem.rename(written.path, final)
                outputs.append(OutputFile(path: final, rows: written.rows, bytes: written.bytes, sha256: written.sha256))
                continue
            }
            let out = try CSVWriter(path: final, header: table.header)
            if let prev = previous(table.file) {
                try copyPrevious(prev, table: table, into: out, drop: dropIDs, resource: (resourceIDs, resourceMasks))
            }
            let runRows = try RawPieceReader(path: written.path, skipping: header[t])
            let index = try SpoolReader(path: lengths[t].path)
            var seq = 0
            var buffer: [UInt8] = []
            while try index.next() {
                seq += 1
                let count = Int(index.a), length = Int(index.b)
                try runRows.read(length, into: &buffer)
                guard seq <= received, kept[seq >> 6] & (1 << UInt64(seq & 63)) != 0 else { continue }
                buffer.withUnsafeBytes { b in
                    if let column = table.sourceColumn, let mask = sourcesOf[seq] {
                        Self.resource(b, column: column, to: RecordSource.format(mask: mask), into: out)
                    } else {
                        out.rawRows(b, count: count)
                    }
                }
            }
            guard seq == received else {
                throw KenpoError.invariant("import: \(kind.name) staged \(received) records but the rows of \(table.file) hold \(seq)")
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
            guard r.fieldCount == table.header.count, let id = r.withField(0, StableHash.parseHex(bytes:)) else {
                throw KenpoError.input(path: path, line: r.line, message: "damaged row; restore the previous state generation")
            }
            var source: String? = nil
            if filtering {
                if drop.hashIndex(of: id) != nil { continue }
                if table.sourceColumn != nil, let i = resource.ids.hashIndex(of: id) { source = RecordSource.format(mask: resource.masks[i]) }
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

    @inline(__always)
    private static func put(_ v: UInt64, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    @inline(__always)
    private static func put16(_ v: UInt16, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
}
