import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Buffered RFC 4180 CSV writer (CRLF line ends, quotes only where needed) that counts rows and
/// hashes every byte it writes, so a manifest entry costs no second pass over the file.
/// Files are created readable by the owner only.
public final class CSVWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let flushThreshold = 256 * 1024
    private let digest = SHA256Digest()
    private var closed = false
    private var firstField = true
    /// Data rows written (the header is not counted).
    public private(set) var rows = 0
    public private(set) var bytesWritten = 0
    private var headerPending = false

    public init(path: String, header: [String]? = nil, bom: Bool = false) throws {
        self.path = path
        // A new file, never a rewrite in place: the path may be a hard link into an older state
        // generation (carried forward), which must keep its bytes.
        unlink(path)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(flushThreshold + 4096)
        if bom { buffer.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        if let header {
            headerPending = true
            for h in header { field(h) }
            endRow()
        }
    }

    /// Reopens a file this writer wrote earlier (a run's resumable reject list or hand-back spool) to
    /// append to it, first cutting it back to `size` bytes — what it held at the last checkpoint — so
    /// rows written after that checkpoint by a step that then failed or was killed are gone.
    public init(appendingTo path: String, truncatingTo size: Int, rows: Int) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot reopen to resume: \(String(cString: strerror(errno)))") }
        guard ftruncate(fd, off_t(size)) == 0 else {
            let m = String(cString: strerror(errno)); Glibc.close(fd)
            throw KenpoError.io(path: path, message: "cannot cut back to the checkpoint: \(m)")
        }
        // The digest covers the whole file: feed it the kept prefix.
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while offset < size {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, min($0.count, size - offset), off_t(offset)) }
            guard n > 0 else {
                Glibc.close(fd)
                throw KenpoError.io(path: path, message: "cannot read back to resume (short file)")
            }
            chunk.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
        lseek(fd, off_t(size), SEEK_SET)
        buffer.reserveCapacity(flushThreshold + 4096)
        bytesWritten = size
        self.rows = rows
    }

    deinit { if !closed { Glibc.close(fd) } }

    /// Writes out what is buffered and fsyncs, keeping the file open: a checkpoint. Returns the
    /// file's size, which `init(appendingTo:truncatingTo:rows:)` cuts it back to.
    public func flush() throws -> Int {
        precondition(firstField, "flush in the middle of a row")
        if let writeError { throw writeError }
        try flushBuffer()
        if fsync(fd) != 0 { throw KenpoError.io(path: path, message: "fsync failed: \(String(cString: strerror(errno)))") }
        return bytesWritten
    }

    @inline(__always)
    private func separator() {
        if firstField { firstField = false } else { buffer.append(0x2C) }
    }

    /// Appends a text field (UTF-8).
    public func field(_ value: String) {
        var v = value
        v.withUTF8 { field(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Appends a field given as raw bytes (already in the file's encoding).
    public func field(bytes: UnsafeRawBufferPointer) {
        separator()
        Self.appendQuoted(bytes, to: &buffer)
    }

    /// RFC 4180 quoting: only fields holding a comma, quote, CR or LF are quoted; quotes are doubled.
    @inline(__always)
    public static func appendQuoted(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        if !needsQuoting(bytes) {
            out.append(contentsOf: bytes)
        } else {
            out.append(0x22)
            for b in bytes {
                if b == 0x22 { out.append(0x22) }
                out.append(b)
            }
            out.append(0x22)
        }
    }

    /// Whether a field must be quoted: it holds a comma, a quote, CR or LF.
    @inline(__always)
    public static func needsQuoting(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where b == 0x2C || b == 0x22 || b == 0x0D || b == 0x0A { return true }
        return false
    }

    /// Encodes one complete row (CRLF included) as this writer would write it.
    public static func encodeRow(_ fields: [String], into out: inout [UInt8]) {
        for (i, f) in fields.enumerated() {
            if i > 0 { out.append(0x2C) }
            var v = f
            v.withUTF8 { appendQuoted(UnsafeRawBufferPointer($0), to: &out) }
        }
        out.append(0x0D); out.append(0x0A)
    }

    /// Appends a row already encoded by `encodeRow`.
    public func rawRow(_ bytes: UnsafeRawBufferPointer) {
        precondition(firstField, "rawRow in the middle of a row")
        buffer.append(contentsOf: bytes)
        rows += 1
        if buffer.count >= flushThreshold { try? flushBuffer() }
    }

    /// Appends `count` complete rows already encoded as this writer writes them (a run of rows copied
    /// as bytes: no field is looked at).
    public func rawRows(_ bytes: UnsafeRawBufferPointer, count: Int) {
        precondition(firstField, "rawRows in the middle of a row")
        if buffer.count + bytes.count > flushThreshold { try? flushBuffer() }
        if bytes.count >= flushThreshold && buffer.isEmpty {
            // A long run goes straight to the file (hashed, counted) without a copy into the buffer.
            if writeError == nil {
                digest.update(bytes)
                do { try FileSystem.writeAll(fd, bytes, path: path); bytesWritten += bytes.count } catch { writeError = error }
            }
        } else {
            buffer.append(contentsOf: bytes)
        }
        rows += count
    }

    /// Ends the current row.
    public func endRow() {
        buffer.append(0x0D); buffer.append(0x0A)
        if headerPending { headerPending = false } else { rows += 1 }
        firstField = true
        if buffer.count >= flushThreshold { try? flushBuffer() }
    }

    public func row(_ fields: [String]) {
        for f in fields { field(f) }
        endRow()
    }

    private var writeError: Error?

    private func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        digest.update(buffer)
        do {
            try buffer.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) }
        } catch {
            writeError = error  // endRow cannot throw: the error is raised again by close
            throw error
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and closes. Returns the entry for the manifest.
    @discardableResult
    public func close() throws -> OutputFile {
        precondition(!closed)
        defer { closed = true }
        if let writeError { Glibc.close(fd); throw writeError }
        do { try flushBuffer() } catch { Glibc.close(fd); throw error }
        if fsync(fd) != 0 {
            let m = String(cString: strerror(errno)); Glibc.close(fd)
            throw KenpoError.io(path: path, message: "fsync failed: \(m)")
        }
        if Glibc.close(fd) != 0 { throw KenpoError.io(path: path, message: "close failed: \(String(cString: strerror(errno)))") }
        return OutputFile(path: path, rows: rows, bytes: bytesWritten, sha256: digest.finalizeHex())
    }
}

/// One written file as the manifest lists it.
public struct OutputFile: Codable, Equatable, Sendable {
    public var path: String
    public var rows: Int
    public var bytes: Int
    public var sha256: String
}
