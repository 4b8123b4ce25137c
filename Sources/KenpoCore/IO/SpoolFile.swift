import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An append-only scratch file of length-prefixed blobs, written through one buffer: the import's
/// workers put each record's encoded rows here, so nothing of a record stays in memory until the
/// merge reads the blobs back in order. Scratch data: no hashing, no fsync.
final class SpoolWriter {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let flushThreshold: Int
    /// Bytes written so far (flushed or buffered).
    private(set) var size = 0
    private var closed = false
    /// The first write error; every later call is a no-op and `finish` throws it.
    private(set) var failure: KenpoError?

    init(path: String, bufferSize: Int = 256 * 1024) throws {
        self.path = path
        unlink(path)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot create spool file: \(String(cString: strerror(errno)))") }
        flushThreshold = bufferSize
        buffer.reserveCapacity(bufferSize + 4096)
    }

    deinit { if !closed { Glibc.close(fd) } }

    /// One blob: a 16-byte header (`a`, `b`, `c` and the length, little-endian UInt32s) and the bytes.
    func append(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        var header = (a.littleEndian, b.littleEndian, c.littleEndian, UInt32(bytes.count).littleEndian)
        withUnsafeBytes(of: &header) { buffer.append(contentsOf: $0) }
        if bytes.count > 0 { buffer.append(contentsOf: bytes) }
        size += 16 + bytes.count
        if buffer.count >= flushThreshold { flush() }
    }

    private func flush() {
        guard failure == nil, !buffer.isEmpty else { return }
        do {
            try buffer.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) }
        } catch let e as KenpoError {
            failure = e
        } catch {
            failure = .io(path: path, message: "\(error)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out the buffer and closes the file; throws the first write error (a full disk).
    func finish() throws {
        guard !closed else { return }
        flush()
        closed = true
        Glibc.close(fd)
        if let failure { throw failure }
    }
}

/// Reads a `SpoolWriter` file back, blob by blob, through a fixed buffer.
final class SpoolReader {
    let path: String
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0
    private var atEOF = false
    /// The current blob (valid until the next call to `next`).
    private(set) var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0
    private(set) var bytes = UnsafeRawBufferPointer(start: nil, count: 0)

    init(path: String, bufferSize: Int = 1 << 20) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot open spool file: \(String(cString: strerror(errno)))") }
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit {
        Glibc.close(fd)
        buffer.deallocate()
    }

    /// Makes at least `n` bytes available from `start`; false at the end of the file.
    private func fill(_ n: Int) throws -> Bool {
        if end - start >= n { return true }
        if start > 0 {
            let have = end - start
            if have > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, have) }
            start = 0; end = have
        }
        if n > buffer.count {
            // A blob larger than the buffer: grow it (one record's rows; rare).
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, buffer.count * 2), alignment: 16)
            if end > 0 { bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end) }
            buffer.deallocate()
            buffer = bigger
        }
        while end < n && !atEOF {
            let r = Glibc.read(fd, buffer.baseAddress! + end, buffer.count - end)
            if r < 0 {
                if errno == EINTR { continue }
                throw KenpoError.io(path: path, message: "spool read failed: \(String(cString: strerror(errno)))")
            }
            if r == 0 { atEOF = true } else { end += r }
        }
        return end - start >= n
    }

    /// Advances to the next blob; false at the end.
    func next() throws -> Bool {
        start += bytes.count
        bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        guard try fill(16) else {
            if end > start { throw KenpoError.io(path: path, message: "spool file is damaged (\(end - start) stray bytes at its end)") }
            return false
        }
        let p = UnsafeRawPointer(buffer.baseAddress! + start)
        a = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
        b = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        c = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let n = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        start += 16
        guard try fill(n) else { throw KenpoError.io(path: path, message: "spool file is damaged (a blob is cut off)") }
        bytes = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: n)
        return true
    }
}

/// Reads a file front to back in pieces of a given length, through one buffer (a table's rows
/// written by the import, record after record).
final class RawPieceReader {
    let path: String
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0

    init(path: String, skipping: Int) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        if skipping > 0 { lseek(fd, off_t(skipping), SEEK_SET) }
    }

    deinit {
        Glibc.close(fd)
        buffer.deallocate()
    }

    /// The next `count` bytes into `out` (replacing its contents).
    func read(_ count: Int, into out: inout [UInt8]) throws {
        out.removeAll(keepingCapacity: true)
        var need = count
        while need > 0 {
            if start == end {
                let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw KenpoError.io(path: path, message: "the file ends early (\(need) bytes missing)") }
                start = 0; end = n
            }
            let take = min(need, end - start)
            out.append(contentsOf: UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: take))
            start += take
            need -= take
        }
    }
}
