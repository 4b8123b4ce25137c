import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The per-file lists of a run's manifest (`inputs`, `archived`) kept on disk while the run goes
/// on: one element per input file, already encoded as it will stand in `manifest.json`. A night of a
/// million members reads about as many files; as Swift values and then as one JSON tree these lists
/// were most of the run's memory (profiled at 100,000 members). The file is appended to; a run
/// checkpoint records its size, and a restore cuts it back to that size (as `rejects.csv`).
public final class ManifestListFile {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var count = 0
    /// Bytes in the file, buffered ones included.
    public private(set) var size = 0
    private var failure: Error?

    /// What a checkpoint keeps of the list.
    public struct Checkpoint: Codable, Equatable {
        public var bytes: Int
        public var count: Int
    }

    /// A new, empty list.
    public init(path: String) throws {
        self.path = path
        unlink(path)
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
    }

    /// The list as it was at `checkpoint` (what was appended after it is cut off).
    public init(path: String, resumingAt checkpoint: Checkpoint) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot reopen to resume: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) >= checkpoint.bytes, ftruncate(fd, off_t(checkpoint.bytes)) == 0 else {
            Glibc.close(fd)
            throw KenpoError.io(path: path, message: "cannot cut the list back to the checkpoint (the file is shorter than it was)")
        }
        lseek(fd, off_t(checkpoint.bytes), SEEK_SET)
        size = checkpoint.bytes
        count = checkpoint.count
    }

    deinit { Glibc.close(fd) }

    /// Appends one element (its JSON as it stands in the manifest, without a separator).
    public func append(_ element: [UInt8]) {
        var n = UInt32(element.count).littleEndian
        withUnsafeBytes(of: &n) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: element)
        size += 4 + element.count
        count += 1
        if buffer.count >= 256 * 1024 { flushBuffer() }
    }

    private func flushBuffer() {
        guard failure == nil, !buffer.isEmpty else { return }
        do { try buffer.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) } } catch { failure = error }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out what is buffered and fsyncs: the list's state for a run checkpoint.
    public func checkpoint() throws -> Checkpoint {
        flushBuffer()
        if let failure { throw failure }
        if fsync(fd) != 0 { throw KenpoError.io(path: path, message: "fsync failed: \(String(cString: strerror(errno)))") }
        return Checkpoint(bytes: size, count: count)
    }

    /// Writes out what is buffered (no fsync: for reading the file back, not for a checkpoint).
    func flush() throws {
        flushBuffer()
        if let failure { throw failure }
    }

    /// Every element in order (valid during the call only).
    public func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try flush()
        let r = try SpoolFrames(path: path, limit: size)
        while let element = try r.next() { try body(element) }
    }
}

/// Reads the length-prefixed elements of a `ManifestListFile`, up to `limit` bytes.
final class SpoolFrames {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var remaining: Int

    init(path: String, limit: Int) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        remaining = limit
    }

    deinit { Glibc.close(fd) }

    private func fill(_ n: Int) throws -> Bool {
        if buffer.count - start >= n { return true }
        buffer.removeSubrange(0..<start)
        start = 0
        while buffer.count < n && remaining > 0 {
            let want = min(max(1 << 20, n - buffer.count), remaining)
            let old = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: want))
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + old, want) }
            if got <= 0 {
                buffer.removeSubrange(old...)
                if got < 0 && errno == EINTR { continue }
                throw KenpoError.io(path: path, message: "the list ends early (\(remaining) bytes missing)")
            }
            buffer.removeSubrange((old + got)...)
            remaining -= got
        }
        return buffer.count - start >= n
    }

    func next() throws -> UnsafeRawBufferPointer? {
        guard try fill(4) else { return nil }
        let n = buffer.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self))) }
        guard try fill(4 + n) else { throw KenpoError.io(path: path, message: "the list ends inside an element") }
        let at = start + 4
        start += 4 + n
        return buffer.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[at..<(at + n)]) }
    }
}

/// The manifest's JSON for list elements, byte for byte as `Manifest.encoded()` writes them
/// (`JSONEncoder`, pretty-printed, sorted keys, snake_case, slashes unescaped) at the depth of an
/// element of a top-level array.
public enum ManifestJSON {
    static let indent = [UInt8](repeating: 0x20, count: 8)

    static func line(_ out: inout [UInt8], _ depth: Int, _ key: String, _ value: (inout [UInt8]) -> Void, last: Bool = false) {
        out.append(0x0A)
        out.append(contentsOf: indent[0..<(depth * 2)])
        string(key, into: &out)
        out.append(contentsOf: " : ".utf8)   // no Array made per line (one entry per input file)
        value(&out)
        if !last { out.append(0x2C) }
    }

    static func number(_ n: Int, into out: inout [UInt8]) { out.append(contentsOf: String(n).utf8) }

    /// A JSON string as `JSONEncoder` writes it: quote, backslash and control characters escaped
    /// (those few by `JSONEncoder` itself), everything else as is.
    public static func string(_ s: String, into out: inout [UInt8]) {
        var s = s
        let plain = s.withUTF8 { p in !p.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } }
        if plain {
            out.append(0x22)
            s.withUTF8 { out.append(contentsOf: $0) }
            out.append(0x22)
            return
        }
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        let encoded = (try? e.encode([s])).map { Array($0) } ?? Array("[\"\"]".utf8)
        out.append(contentsOf: encoded.dropFirst().dropLast())
    }

    /// One element of `inputs`.
    public static func input(_ i: Manifest.Input) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(192 + i.path.utf8.count)   // grown once, not a few times per entry
        out.append(contentsOf: "    {".utf8)
        line(&out, 3, "bytes") { number(i.bytes, into: &$0) }
        line(&out, 3, "kind") { string(i.kind, into: &$0) }
        line(&out, 3, "path") { string(i.path, into: &$0) }
        if let p = i.profile { line(&out, 3, "profile") { string(p, into: &$0) } }
        line(&out, 3, "records") { o in
            o.append(0x7B)
            line(&o, 4, "accepted") { number(i.records.accepted, into: &$0) }
            line(&o, 4, "read") { number(i.records.read, into: &$0) }
            line(&o, 4, "rejected", { number(i.records.rejected, into: &$0) }, last: true)
            o.append(0x0A); o.append(contentsOf: indent[0..<6]); o.append(0x7D)
        }
        line(&out, 3, "sha256", { string(i.sha256, into: &$0) }, last: true)
        out.append(0x0A); out.append(contentsOf: indent[0..<4]); out.append(0x7D)
        return out
    }

    /// One element of `archived`.
    public static func archived(_ a: Manifest.ArchivedInput) -> [UInt8] {
        var out: [UInt8] = Array("    {".utf8)
        if let to = a.archivedTo { line(&out, 3, "archived_to") { string(to, into: &$0) } }
        line(&out, 3, "bytes") { number(a.bytes, into: &$0) }
        line(&out, 3, "committed_by") { string(a.committedBy, into: &$0) }
        line(&out, 3, "path") { string(a.path, into: &$0) }
        line(&out, 3, "sha256", { string(a.sha256, into: &$0) }, last: true)
        out.append(0x0A); out.append(contentsOf: indent[0..<4]); out.append(0x7D)
        return out
    }

    /// Puts the elements of `lists` (top-level key → list) into the encoded manifest `head`, whose
    /// arrays under those keys are empty, and hands the result to `write` piece by piece.
    static func splice(_ head: [UInt8], _ lists: [(key: String, list: ManifestListFile)], write: (UnsafeRawBufferPointer) throws -> Void) throws {
        let separator: [UInt8] = [0x2C, 0x0A]
        var places: [(at: Int, list: ManifestListFile)] = []
        for (key, list) in lists where list.count > 0 {
            let empty = Array("\n  \"\(key)\" : [\n\n  ]".utf8)
            guard let r = head.firstRange(of: empty) else { throw KenpoError.invariant("manifest: no empty \(key) list to fill") }
            places.append((r.lowerBound + empty.count - 4, list))   // right after "[\n"
        }
        places.sort { $0.at < $1.at }
        var from = 0
        try head.withUnsafeBytes { h in
            for (at, list) in places {
                try write(UnsafeRawBufferPointer(rebasing: h[from..<at]))
                var first = true
                try list.forEach { element in
                    if !first { try separator.withUnsafeBytes { try write($0) } }
                    first = false
                    try write(element)
                }
                from = at   // the empty line's "\n" now ends the last element
            }
            try write(UnsafeRawBufferPointer(rebasing: h[from...]))
        }
    }
}
