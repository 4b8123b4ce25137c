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
    public private(set) var count = 0

    /// `bufferSize`: the write buffer of each bucket file (64 of them are open at once).
    public init(directory: String, bufferSize: Int = 64 * 1024) throws {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        for i in 0..<Self.bucketCount {
            let p = path(i)
            guard let f = fopen(p, "w+b") else { throw KenpoError.io(path: p, message: "cannot create spool file: \(String(cString: strerror(errno)))") }
            setvbuf(f, nil, _IOFBF, bufferSize)
            files.append(f)
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
        var header = (id.littleEndian, UInt32(payload.count).littleEndian, tag)
        let f = files[Self.bucket(of: id)]
        // Unlocked: a spool belongs to one thread, and the lock cost showed at a million rows.
        let ok = withUnsafeBytes(of: &header) { h in fwrite_unlocked(h.baseAddress, 1, 13, f) == 13 }
            && (payload.count == 0 || fwrite_unlocked(payload.baseAddress, 1, payload.count, f) == payload.count)
        if !ok { throw KenpoError.io(path: directory, message: "spool write failed: \(String(cString: strerror(errno)))") }
        count += 1
    }

    /// Flushes every bucket, failing loudly if the scratch disk did not take the data.
    public func finishWriting() throws {
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
        let f = files[i]
        fflush(f)
        let size = ftell(f)
        rewind(f)
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: repeatElement(0, count: size))
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
