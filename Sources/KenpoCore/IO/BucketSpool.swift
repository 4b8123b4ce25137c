import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Spills records keyed by a 64-bit id into 64 files by the id's top bits, so that a later pass can
/// load one bucket at a time, sort it, and emit all records in id order with memory bounded by one
/// bucket — an external sort in two sequential passes. Records with the same id come back in the
/// order they were appended.
public final class BucketSpool {
    public static let bucketCount = 64
    private let directory: String
    private var files: [Int32] = []
    /// Bytes written to each bucket's file (its size: the spool is the file's only writer).
    private var written: [Int]
    /// Each bucket's records not yet written: the spool buffers them itself (written with plain
    /// write(2)), so a caller can encode a record straight into its bucket (`append(id:tag:encode:)`).
    private var pending: [[UInt8]]
    private let bufferSize: Int
    public private(set) var count = 0

    /// `bufferSize`: the write buffer of each bucket (64 of them fill at once).
    public init(directory: String, bufferSize: Int = 64 * 1024) throws {
        self.directory = directory
        self.bufferSize = bufferSize
        pending = Array(repeating: [], count: Self.bucketCount)
        written = Array(repeating: 0, count: Self.bucketCount)
        try FileSystem.makeDirectory(directory)
        for i in 0..<Self.bucketCount {
            let p = path(i)
            let fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                for f in files { close(f) }
                throw KenpoError.io(path: p, message: "cannot create spool file: \(String(cString: strerror(errno)))")
            }
            files.append(fd)
            pending[i].reserveCapacity(bufferSize + 1024)
        }
    }

    deinit { for f in files { close(f) } }

    private func path(_ i: Int) -> String { directory + "/bucket-\(i)" }

    /// Removes the bucket files (the spool is not used afterwards).
    public func remove() {
        for f in files { close(f) }
        files = []
        FileSystem.removeTree(directory)
    }

    @inline(__always)
    public static func bucket(of id: UInt64) -> Int { Int(id >> 58) }

    /// Appends one record: the id, a one-byte tag and an opaque payload.
    public func append(id: UInt64, tag: UInt8, payload: UnsafeRawBufferPointer) throws {
        try append(id: id, tag: tag) { $0.append(contentsOf: payload) }
    }

    /// Appends one record whose payload `encode` appends to the buffer it is given (the bucket's own:
    /// the record is not copied again on its way to the file). If `encode` throws, nothing of the
    /// record stays in the spool.
    public func append(id: UInt64, tag: UInt8, encode: (inout [UInt8]) throws -> Void) throws {
        let b = Self.bucket(of: id)
        let full = try Self.add(&pending[b], id: id, tag: tag, bufferSize: bufferSize, encode)
        count += 1
        if full { try write(b) }
    }

    /// The record's 13-byte header (id, payload length, tag), then the payload; whether the buffer is full.
    @inline(__always)
    private static func add(_ buffer: inout [UInt8], id: UInt64, tag: UInt8, bufferSize: Int,
                            _ encode: (inout [UInt8]) throws -> Void) throws -> Bool {
        let start = buffer.count
        withUnsafeBytes(of: id.littleEndian) { buffer.append(contentsOf: $0) }
        let lengthAt = buffer.count
        buffer.append(0); buffer.append(0); buffer.append(0); buffer.append(0)   // the length, once known
        buffer.append(tag)
        do { try encode(&buffer) } catch {
            buffer.removeSubrange(start...)   // a half record would misframe every record after it
            throw error
        }
        let length = UInt32(buffer.count - lengthAt - 5).littleEndian
        withUnsafeBytes(of: length) { l in for k in 0..<4 { buffer[lengthAt + k] = l[k] } }
        return buffer.count >= bufferSize
    }

    /// Writes out bucket `b`'s buffered records.
    private func write(_ b: Int) throws {
        let fd = files[b], p = path(b)
        try pending[b].withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: p) }
        written[b] += pending[b].count
        pending[b].removeAll(keepingCapacity: true)
    }

    /// Flushes every bucket, failing loudly if the scratch disk did not take the data.
    public func finishWriting() throws {
        for i in files.indices { try write(i) }
    }

    /// One spooled record: the id, the tag and where its payload lies in the bucket's bytes.
    public struct Entry {
        public var id: UInt64
        public var tag: UInt8
        public var offset: Int
        public var length: Int
    }

    /// Loads bucket `i`: its bytes and its entries sorted by id.
    public func sortedBucket(_ i: Int) throws -> (bytes: [UInt8], entries: [Entry]) {
        var bytes: [UInt8] = []
        let entries = try sortedBucket(i, into: &bytes)
        return (bytes, entries)
    }

    /// `sortedBucket`, the bytes read into `bytes` (its storage reused from bucket to bucket: a new
    /// array per bucket cost page faults and zeroing for every one).
    public func sortedBucket(_ i: Int, into bytes: inout [UInt8]) throws -> [Entry] {
        try write(i)
        let fd = files[i], p = path(i), size = written[i]
        // Resized, not refilled: the read overwrites every byte (and appending a repeated element goes byte by byte).
        if bytes.count < size { bytes += [UInt8](repeating: 0, count: size - bytes.count) } else { bytes.removeSubrange(size...) }
        if size > 0 {
            try bytes.withUnsafeMutableBytes { b in
                try FileSystem.preadAll(fd, b.baseAddress!, count: size, at: 0, path: p) {
                    KenpoError.io(path: p, message: "spool read failed: the file holds fewer than the \(size) bytes written")
                }
            }
        }
        var entries: [Entry] = []
        bytes.withUnsafeBytes { raw in
            var p = 0
            while p + 13 <= raw.count {
                let id = raw.loadUnaligned(fromByteOffset: p, as: UInt64.self).littleEndian
                let n = Int(raw.loadUnaligned(fromByteOffset: p + 8, as: UInt32.self).littleEndian)
                let tag = raw[p + 12]
                entries.append(Entry(id: id, tag: tag, offset: p + 13, length: n))
                p += 13 + n
            }
        }
        var end = 0
        if let last = entries.last { end = last.offset + last.length }
        if end != size { throw KenpoError.io(path: path(i), message: "spool bucket is damaged (\(size - end) stray bytes)") }
        // The bucket's bytes are in memory now: free the disk space (and write any later records from the start).
        ftruncate(fd, 0)
        lseek(fd, 0, SEEK_SET)
        written[i] = 0
        // Equal ids keep their append order (offsets grow with it).
        entries.sort { $0.id != $1.id ? $0.id < $1.id : $0.offset < $1.offset }
        return entries
    }
}
