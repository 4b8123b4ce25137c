import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Spills records keyed by a 64-bit id into 64 files by the id's top bits, so that a later pass can
/// load one bucket at a time, sort it, and emit all records in id order with memory bounded by one
/// bucket — an external sort in two sequential passes.
public final class BucketSpool {
    public static let bucketCount = 64
    private let directory: String
    private var files: [UnsafeMutablePointer<FILE>] = []
    public private(set) var count = 0

    public init(directory: String) throws {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        for i in 0..<Self.bucketCount {
            let p = path(i)
            guard let f = fopen(p, "w+b") else { throw KenpoError.io(path: p, message: "cannot create spool file: \(String(cString: strerror(errno)))") }
            setvbuf(f, nil, _IOFBF, 64 * 1024)
            files.append(f)
        }
    }

    deinit { for f in files { fclose(f) } }

    private func path(_ i: Int) -> String { directory + "/bucket-\(i)" }

    @inline(__always)
    public static func bucket(of id: UInt64) -> Int { Int(id >> 58) }

    /// Appends one record: id, then the fields, each as a 4-byte length and its UTF-8 bytes.
    public func append(id: UInt64, fields: [String], scratch: inout [UInt8]) throws {
        scratch.removeAll(keepingCapacity: true)
        var idLE = id.littleEndian
        withUnsafeBytes(of: &idLE) { scratch.append(contentsOf: $0) }
        var total = UInt32(0)
        for f in fields { total += UInt32(f.utf8.count) + 4 }
        var totalLE = total.littleEndian
        withUnsafeBytes(of: &totalLE) { scratch.append(contentsOf: $0) }
        for f in fields {
            var n = UInt32(f.utf8.count).littleEndian
            withUnsafeBytes(of: &n) { scratch.append(contentsOf: $0) }
            scratch.append(contentsOf: f.utf8)
        }
        let f = files[Self.bucket(of: id)]
        let written = scratch.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        if written != scratch.count { throw KenpoError.io(path: directory, message: "spool write failed: \(String(cString: strerror(errno)))") }
        count += 1
    }

    /// Returns the records of bucket `i`, sorted by id.
    public func sortedBucket(_ i: Int) throws -> [(id: UInt64, fields: [String])] {
        let f = files[i]
        fflush(f)
        let size = ftell(f)
        rewind(f)
        var bytes = [UInt8](repeating: 0, count: size)
        if size > 0 {
            let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
            if n != size { throw KenpoError.io(path: path(i), message: "spool read failed") }
        }
        var records: [(id: UInt64, fields: [String])] = []
        bytes.withUnsafeBytes { raw in
            var p = 0
            while p < raw.count {
                let id = raw.loadUnaligned(fromByteOffset: p, as: UInt64.self).littleEndian
                let total = Int(raw.loadUnaligned(fromByteOffset: p + 8, as: UInt32.self).littleEndian)
                p += 12
                let end = p + total
                var fields: [String] = []
                while p < end {
                    let n = Int(raw.loadUnaligned(fromByteOffset: p, as: UInt32.self).littleEndian)
                    p += 4
                    fields.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[p..<(p + n)]), as: UTF8.self))
                    p += n
                }
                records.append((id, fields))
            }
        }
        // Truncate now: the bucket's bytes are no longer needed on disk.
        ftruncate(fileno(f), 0)
        records.sort { $0.id < $1.id }
        return records
    }
}
