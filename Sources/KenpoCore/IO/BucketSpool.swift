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
    private var files: [UnsafeMutablePointer<FILE>] = []
    /// Each bucket's records not yet written: the spool buffers them itself (the files are
    /// unbuffered), so a caller can encode a record straight into its bucket (`append(id:tag:encode:)`).
    private var pending: [[UInt8]]
    private let bufferSize: Int
    public private(set) var count = 0

    /// `bufferSize`: the write buffer of each bucket (64 of them fill at once).
    public init(directory: String, bufferSize: Int = 64 * 1024) throws {
        self.directory = directory
        self.bufferSize = bufferSize
        pending = Array(repeating: [], count: Self.bucketCount)
        try FileSystem.makeDirectory(directory)
        for i in 0..<Self.bucketCount {
            let p = path(i)
            guard let f = fopen(p, "w+b") else { throw KenpoError.io(path: p, message: "cannot create spool file: \(String(cString: strerror(errno)))") }
            setvbuf(f, nil, _IONBF, 0)
            files.append(f)
            pending[i].reserveCapacity(bufferSize + 1024)
        }
    }

    deinit { for f in files { fclose(f) } }

    private func path(_ i: Int) -> String { directory + "/bucket-\(i)" }

    /// Removes the bucket files (the spool is not used afterwards).
    public func remove() {
        for f in files { fclose(f) }
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
    /// the record is not copied again on its way to the file).
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
        withUnsafeBytes(of: id.littleEndian) { buffer.append(contentsOf: $0) }
        let lengthAt = buffer.count
        buffer.append(0); buffer.append(0); buffer.append(0); buffer.append(0)   // the length, once known
        buffer.append(tag)
        try encode(&buffer)
        let length = UInt32(buffer.count - lengthAt - 5).littleEndian
        withUnsafeBytes(of: length) { l in for k in 0..<4 { buffer[lengthAt + k] = l[k] } }
        return buffer.count >= bufferSize
    }

    /// Writes out bucket `b`'s buffered records.
    private func write(_ b: Int) throws {
        let ok = pending[b].withUnsafeBytes { $0.isEmpty || fwrite_unlocked($0.baseAddress, 1, $0.count, files[b]) == $0.count }
        if !ok { throw KenpoError.io(path: path(b), message: "spool write failed: \(String(cString: strerror(errno)))") }
        pending[b].removeAll(keepingCapacity: true)
    }

    /// Flushes every bucket, failing loudly if the scratch disk did not take the data.
    public func finishWriting() throws {
        for i in files.indices { try write(i) }
        for (i, f) in files.enumerated() where fflush(f) != 0 {
            throw KenpoError.io(path: path(i), message: "spool write failed: \(String(cString: strerror(errno)))")
        }
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
        let f = files[i]
        fflush(f)
        let size = ftell(f)
        rewind(f)
        // Resized, not refilled: fread overwrites every byte (and appending a repeated element goes byte by byte).
        if bytes.count < size { bytes += [UInt8](repeating: 0, count: size - bytes.count) } else { bytes.removeSubrange(size...) }
        if size > 0 {
            let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
            if n != size { throw KenpoError.io(path: path(i), message: "spool read failed") }
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
        // The bucket's bytes are in memory now: free the disk space.
        ftruncate(fileno(f), 0)
        // Equal ids keep their append order (offsets grow with it).
        entries.sort { $0.id != $1.id ? $0.id < $1.id : $0.offset < $1.offset }
        return entries
    }
}
