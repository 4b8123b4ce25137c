import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Fields packed into the bytes of one list element: length-prefixed strings and integers.
struct PackedFields {
    var bytes: [UInt8] = []

    mutating func put(_ s: String) {
        var s = s
        s.withUTF8 { p in
            put(p.count)
            bytes.append(contentsOf: p)
        }
    }

    mutating func put(_ n: Int) { withUnsafeBytes(of: Int64(n).littleEndian) { bytes.append(contentsOf: $0) } }

    /// Reads the fields back in the order they were put.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0
        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func int() -> Int {
            let v = Int(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: Int64.self)))
            at += 8
            return v
        }

        mutating func string() -> String {
            let n = int()
            defer { at += n }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]), as: UTF8.self)
        }

        mutating func stamp() -> FileStamp? {
            guard at < bytes.count, int() == 1 else { return nil }
            var st = stat()
            st.st_dev = UInt(truncatingIfNeeded: int()); st.st_ino = UInt(truncatingIfNeeded: int())
            st.st_size = Int(int())
            st.st_mtim = timespec(tv_sec: int(), tv_nsec: int())
            st.st_ctim = timespec(tv_sec: int(), tv_nsec: int())
            return FileStamp(st)
        }
    }

    /// A file stamp, or none (read back by `Reader.stamp()`; a list written without one reads as none).
    mutating func put(_ s: FileStamp?) {
        guard let s else { return put(0) }
        put(1)
        put(Int(truncatingIfNeeded: s.identity.device)); put(Int(truncatingIfNeeded: s.identity.inode))
        put(s.identity.size)
        put(s.identity.modifiedSeconds); put(s.identity.modifiedNanoseconds)
        put(s.changedSeconds); put(s.changedNanoseconds)
    }
}

/// The input files a planned pipeline step reads (`PipelineRun.StepInput`), kept in a file: the
/// import step of a night may read a million. Profiles and the rare unreadable files' errors stay
/// in memory beside it.
final class StepInputList {
    private let list: ManifestListFile
    private let folder: String
    private var profiles: [String: InsurerProfile] = [:]
    private var unreadable: [Int: KenpoError] = [:]
    private(set) var totalBytes = 0
    var count: Int { list.count }
    var isEmpty: Bool { list.count == 0 }

    init(folder: String) throws {
        try FileSystem.makeDirectory(folder)
        self.folder = folder
        list = try ManifestListFile(path: folder + "/inputs-\(UUID().uuidString)")
    }

    deinit { unlink(list.path) }

    func append(_ s: PipelineRun.StepInput) {
        var f = PackedFields()
        f.put(s.path); f.put(s.sha256); f.put(s.bytes)
        f.put(s.source?.rawValue ?? ""); f.put(s.profile?.name ?? ""); f.put(s.listed)
        if let p = s.profile { profiles[p.name] = p }
        if let e = s.unreadable { unreadable[list.count] = e }
        list.append(f.bytes)
        totalBytes += s.bytes
    }

    /// The error of the first input that could not be hashed when planned.
    var firstUnreadable: KenpoError? { unreadable.min { $0.key < $1.key }?.value }

    func forEach(_ body: (PipelineRun.StepInput) throws -> Void) throws {
        let next = try reader()
        while let input = try next() { try body(input) }
    }

    /// One input after another, pulled (the import reads them while it runs).
    func reader() throws -> () throws -> PipelineRun.StepInput? {
        let frames = try list.frames()
        var i = 0
        return { [profiles, unreadable] in
            guard let bytes = try frames.next() else { return nil }
            var r = PackedFields.Reader(bytes)
            let path = r.string(), sha = r.string(), n = r.int(), source = r.string(), profile = r.string(), listed = r.stamp()
            defer { i += 1 }
            return PipelineRun.StepInput(path: path, sha256: sha, bytes: n, profile: profile.isEmpty ? nil : profiles[profile],
                                         source: RecordSource(rawValue: source), listed: listed, unreadable: unreadable[i])
        }
    }

    func filter(_ keep: (PipelineRun.StepInput) -> Bool) throws -> [PipelineRun.StepInput] {
        var out: [PipelineRun.StepInput] = []
        try forEach { if keep($0) { out.append($0) } }
        return out
    }

    func first(where match: (PipelineRun.StepInput) -> Bool) throws -> PipelineRun.StepInput? {
        var found: PipelineRun.StepInput? = nil
        try forEach { if found == nil, match($0) { found = $0 } }
        return found
    }

    /// Every input, as values (the steps but the import take their few inputs as an array).
    func all() throws -> [PipelineRun.StepInput] { try filter { _ in true } }

    /// A new, empty list in the same folder: what is left of a step's inputs when all failed.
    func emptied() throws -> StepInputList { try StepInputList(folder: folder) }

    /// The list without the inputs at these paths (a new list).
    func removing(_ paths: Set<String>) throws -> StepInputList {
        let out = try StepInputList(folder: folder)
        try forEach { if !paths.contains($0.path) { out.append($0) } }
        return out
    }

    func paths() throws -> [String] {
        var out: [String] = []
        try forEach { out.append($0.path) }
        return out
    }

    /// A new, empty list of what a stage reports reading, in the same folder.
    func readList() throws -> InputsRead { try InputsRead(path: folder + "/read-\(UUID().uuidString)") }
}

/// The inputs a step's stage read, with the SHA-256 and size of the bytes it read (its manifest
/// entries, `Run.addInput`), kept in a file: what the run commits, so no input is read a second time
/// only to hash it.
final class InputsRead {
    private var list: ManifestListFile

    init(path: String) throws { list = try ManifestListFile(path: path) }
    deinit { unlink(list.path) }

    /// Empties the list (a step's attempt rolled back: what it read is not what the next one reads).
    func clear() throws { list = try ManifestListFile(path: list.path) }

    func append(path: String, sha256: String, bytes: Int) {
        var f = PackedFields()
        f.put(path); f.put(sha256); f.put(bytes)
        list.append(f.bytes)
    }

    /// One report after another, in the order the stage made them.
    func reader() throws -> () throws -> (path: String, sha256: String, bytes: Int)? {
        let frames = try list.frames()
        return {
            guard let bytes = try frames.next() else { return nil }
            var r = PackedFields.Reader(bytes)
            return (r.string(), r.string(), r.int())
        }
    }
}

/// Committed inputs (`CommittedInput`) kept in a list file: those of this run (checkpointed with
/// it, in the staging folder) and those earlier runs committed that are still in the inbox.
final class CommittedList {
    let list: ManifestListFile

    init(path: String) throws { list = try ManifestListFile(path: path) }
    init(path: String, resumingAt cp: ManifestListFile.Checkpoint) throws { list = try ManifestListFile(path: path, resumingAt: cp) }

    var count: Int { list.count }

    func append(_ c: CommittedInput) {
        var f = PackedFields()
        f.put(c.path); f.put(c.sha256); f.put(c.bytes); f.put(c.step); f.put(c.runId); f.put(c.runDate)
        f.put(c.archivedTo == nil ? 0 : 1); f.put(c.archivedTo ?? ""); f.put(c.listed)
        list.append(f.bytes)
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> CommittedInput {
        var r = PackedFields.Reader(bytes)
        let path = r.string(), sha = r.string(), n = r.int(), step = r.string(), runId = r.string(), runDate = r.string()
        let hasArchive = r.int(), archivedTo = r.string(), listed = r.stamp()
        return CommittedInput(path: path, sha256: sha, bytes: n, step: step, runId: runId, runDate: runDate,
                              archivedTo: hasArchive == 1 ? archivedTo : nil, listed: listed)
    }

    func forEach(_ body: (CommittedInput) throws -> Void) throws {
        try list.forEach { try body(Self.decode($0)) }
    }

    func checkpoint() throws -> ManifestListFile.Checkpoint { try list.checkpoint() }

    /// The rows sorted by path, then SHA-256 (String order; equal ones in the order appended),
    /// pulled one by one, through sorted runs of at most `runLength` rows in `folder`: memory holds
    /// one run, not the list.
    func sortedByPath(folder: String, runLength: Int = 50_000) throws -> () throws -> CommittedInput? {
        try FileSystem.makeDirectory(folder)
        var readers: [SpoolFrames] = []
        var chunk: [CommittedInput] = []
        func spill() throws {
            let sorted = chunk.enumerated().sorted { a, b in
                if a.element.path != b.element.path { return a.element.path < b.element.path }
                if a.element.sha256 != b.element.sha256 { return a.element.sha256 < b.element.sha256 }
                return a.offset < b.offset
            }
            let run = try CommittedList(path: folder + "/sorted-\(readers.count)-\(UUID().uuidString)")
            for (_, c) in sorted { run.append(c) }
            readers.append(try run.list.frames())
            unlink(run.list.path)   // read through the open descriptor; gone when done
            chunk.removeAll(keepingCapacity: true)
        }
        try forEach { c in
            chunk.append(c)
            if chunk.count >= runLength { try spill() }
        }
        if !chunk.isEmpty { try spill() }
        var heads: [CommittedInput?] = try readers.map { try $0.next().map(Self.decode) }
        return {
            var best: Int? = nil
            for (k, h) in heads.enumerated() {
                guard let h else { continue }
                if let b = best, let x = heads[b], !(h.path < x.path || (h.path == x.path && h.sha256 < x.sha256)) { continue }
                best = k   // ties: the earlier run (appended first)
            }
            guard let b = best else { return nil }
            let c = heads[b]
            heads[b] = try readers[b].next().map(Self.decode)
            return c
        }
    }
}

extension ManifestListFile {
    /// Its elements, pulled one by one (valid until the next pull).
    func frames() throws -> SpoolFrames {
        try flush()
        return try SpoolFrames(path: path, limit: size)
    }
}

/// The state's `committed_inputs.csv` (every input a run committed) looked up by path and SHA-256
/// without holding its rows: 16 bytes per row (a hash of the key and where the row is), the row
/// read back when the key is there.
final class CommittedLedger {
    let path: String?
    private var keys: [UInt64] = []
    private var offsets: [UInt64] = []
    /// Every row's path, hashed and sorted: an input whose path no run committed is new whatever its
    /// bytes, and need not be hashed before it is read.
    private var pathKeys: [UInt64] = []
    var count: Int { keys.count }

    static func key(_ path: String, _ sha256: String) -> UInt64 { StableHash.of([path, sha256]) }
    static func pathKey(_ path: String) -> UInt64 { StableHash.of([path]) }

    init(path: String?) throws {
        guard let path, FileSystem.exists(path) else { self.path = nil; return }
        self.path = path
        let r = try CSVRowReader(path: path)
        _ = try r.next()   // header
        var pairs: [(UInt64, UInt64)] = []
        while try r.next() {
            guard r.fieldCount >= 7 else { continue }
            let sha = r.withField(0) { String(decoding: $0, as: UTF8.self) }
            let p = r.withField(2) { String(decoding: $0, as: UTF8.self) }
            pairs.append((Self.key(p, sha), UInt64(r.rowOffset)))
            pathKeys.append(Self.pathKey(p))
        }
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        keys = pairs.map(\.0)
        offsets = pairs.map(\.1)
        pathKeys.sort()
    }

    /// False when no row has this path (true may also be a hash collision: then `find` decides).
    func mayHold(path p: String) -> Bool {
        pathKeys.hashIndex(of: Self.pathKey(p)) != nil
    }

    /// The committed input with this path and SHA-256 (the last row of it, as the ledger's map kept it).
    func find(path p: String, sha256: String) throws -> CommittedInput? {
        guard let path else { return nil }
        let k = Self.key(p, sha256)
        var lo = keys.lowerBound(of: k, by: { $0 })
        var found: CommittedInput? = nil
        while lo < keys.count && keys[lo] == k {
            if let c = try Self.row(path, at: offsets[lo]), c.path == p, c.sha256 == sha256 { found = c }
            lo += 1
        }
        return found
    }

    /// The row `r` stands on (`committedHeader` order), or nil when it has fewer than 7 fields.
    static func decode(_ r: CSVRowReader) -> CommittedInput? {
        guard r.fieldCount >= 7 else { return nil }
        let f = (0..<7).map { i in r.withField(i) { String(decoding: $0, as: UTF8.self) } }
        return CommittedInput(path: f[2], sha256: f[0], bytes: Int(f[1]) ?? 0, step: f[3], runId: f[4], runDate: f[5],
                              archivedTo: f[6].isEmpty ? nil : f[6])
    }

    /// The row starting at `offset`.
    static func row(_ path: String, at offset: UInt64) throws -> CommittedInput? {
        let r = try CSVRowReader(path: path, offset: Int(offset), bufferSize: 64 * 1024)
        guard try r.next() else { return nil }
        return decode(r)
    }

    /// Every row in file order (already sorted by run and path: this is how it is written).
    func forEach(_ body: (CommittedInput) throws -> Void) throws {
        guard let path else { return }
        let r = try CSVRowReader(path: path)
        _ = try r.next()
        while try r.next() {
            guard let c = Self.decode(r) else { continue }
            try body(c)
        }
    }

    /// Writes the ledger anew: the previous rows that `keep` keeps but those committed again now, and
    /// `added` (all of this run, `archivedTo` set as it will be), ordered by run and path — the rows
    /// and order the ledger had when it was rebuilt from a map of every row, without holding them.
    /// Returns how many previous rows `keep` dropped.
    @discardableResult
    func write(to out: String, header: [String], adding added: CommittedList, sortFolder: String,
               keep: (CommittedInput) -> Bool = { _ in true }, archivedTo: (CommittedInput) -> String?) throws -> Int {
        var again = Set<UInt64>()
        try added.forEach { again.insert(Self.key($0.path, $0.sha256)) }
        let w = try CSVWriter(path: out, header: header)
        func put(_ c: CommittedInput) { w.row([c.sha256, String(c.bytes), c.path, c.step, c.runId, c.runDate, c.archivedTo ?? ""]) }
        let sorted = try added.sortedByPath(folder: sortFolder)
        var look = try sorted()
        // This run's rows in order; of one path and SHA-256 committed twice, the last.
        func pull() throws -> CommittedInput? {
            guard var c = look else { return nil }
            look = try sorted()
            while let l = look, l.path == c.path, l.sha256 == c.sha256 { c = l; look = try sorted() }
            c.archivedTo = archivedTo(c)
            return c
        }
        var n = try pull()
        var dropped = 0
        try forEach { p in
            guard !again.contains(Self.key(p.path, p.sha256)) else { return }
            guard keep(p) else { dropped += 1; return }
            while let c = n, (c.runId, c.path) < (p.runId, p.path) { put(c); n = try pull() }
            put(p)
        }
        while let c = n { put(c); n = try pull() }
        try w.close()
        return dropped
    }
}
