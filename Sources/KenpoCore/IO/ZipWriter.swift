import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a ZIP archive (stored or raw-deflate entries, no ZIP64) to a new owner-only (0600) file.
/// Output is deterministic: the same calls give the same bytes (timestamps default to 1980-01-01
/// 00:00, times are taken in Japan time, file modes are fixed). Each entry is streamed: the local
/// header is written first and its CRC-32 and sizes are patched in with pwrite(2) afterwards.
public final class ZipWriter {
    public let path: String
    private let fd: Int32
    private let timeZone: TimeZone
    private var offset = 0  // bytes written so far (the next local header's position)
    private var central: [UInt8] = []
    private var names: Set<String> = []
    private var entryCount = 0
    private var fileCount = 0
    private var closed = false
    private static let chunk = 64 << 10
    private var inBuffer = [UInt8](repeating: 0, count: chunk)
    private var outBuffer = [UInt8](repeating: 0, count: chunk)

    /// Creates `path` anew (an existing file is replaced, not truncated) with mode 0600.
    public init(path: String, timeZone: TimeZone = TimeZone(identifier: "Asia/Tokyo")!) throws {
        self.path = path
        self.timeZone = timeZone
        unlink(path)  // a new file, never a rewrite in place: the path may be hard-linked (run checkpoints)
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw KenpoError.io(path: path, message: "cannot create ZIP archive: \(String(cString: strerror(errno)))")
        }
    }

    deinit { if !closed { close(fd) } }

    /// Adds a file entry from memory; deflated (level 6) unless `compress` is false.
    public func add(name: String, bytes: [UInt8], compress: Bool = true, modified: Date? = nil) throws {
        try add(name: name, from: MemoryByteSource(bytes, displayName: name), compress: compress, modified: modified)
    }

    /// Adds a file entry streamed from `source` (read to its end in 64 KB chunks).
    public func add(name: String, from source: ByteSource, compress: Bool = true, modified: Date? = nil) throws {
        let rawName = try checkName(name, directory: false)
        let method: UInt16 = compress ? 8 : 0
        let headerOffset = offset
        try writeLocalHeader(rawName: rawName, method: method, modified: modified)
        let dataStart = offset
        var crc: uLong = 0
        var size = 0
        if compress {
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            let r = deflateInit2_(s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard r == Z_OK else {
                s.deinitialize(count: 1); s.deallocate()
                throw KenpoError.io(path: path, message: "cannot start deflate (zlib error \(r))")
            }
            defer { deflateEnd(s); s.deinitialize(count: 1); s.deallocate() }
            var ended = false
            while !ended {
                let n = try inBuffer.withUnsafeMutableBytes { try source.read(into: $0) }
                size += n
                try inBuffer.withUnsafeMutableBytes { inRaw in
                    let inPtr = inRaw.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    crc = crc32(crc, inPtr, uInt(n))
                    s.pointee.next_in = inPtr
                    s.pointee.avail_in = uInt(n)
                    let flush = n == 0 ? Z_FINISH : Z_NO_FLUSH
                    repeat {
                        let have: Int = outBuffer.withUnsafeMutableBytes { outRaw in
                            s.pointee.next_out = outRaw.baseAddress!.assumingMemoryBound(to: Bytef.self)
                            s.pointee.avail_out = uInt(outRaw.count)
                            let r = deflate(s, flush)
                            if r == Z_STREAM_END { ended = true }
                            return outRaw.count - Int(s.pointee.avail_out)
                        }
                        if have > 0 { try writeOut(outBuffer, count: have) }
                    } while s.pointee.avail_out == 0
                }
                try checkSize(size, name: name)
            }
        } else {
            while true {
                let n = try inBuffer.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                size += n
                try checkSize(size, name: name)
                inBuffer.withUnsafeBytes { crc = crc32(crc, $0.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(n)) }
                try writeOut(inBuffer, count: n)
            }
        }
        let compressedSize = offset - dataStart
        try checkSize(compressedSize, name: name)
        var patch: [UInt8] = []
        put32(&patch, UInt32(truncatingIfNeeded: crc))
        put32(&patch, UInt32(compressedSize))
        put32(&patch, UInt32(size))
        try pwriteAll(patch, at: headerOffset + 14)
        appendCentral(rawName: rawName, method: method, modified: modified, crc: UInt32(truncatingIfNeeded: crc),
                      compressedSize: compressedSize, size: size, headerOffset: headerOffset, directory: false)
        fileCount += 1
    }

    /// Adds a folder entry (`name/`).
    public func addDirectory(name: String) throws {
        let rawName = try checkName(name, directory: true)
        let headerOffset = offset
        try writeLocalHeader(rawName: rawName, method: 0, modified: nil)
        appendCentral(rawName: rawName, method: 0, modified: nil, crc: 0, compressedSize: 0, size: 0,
                      headerOffset: headerOffset, directory: true)
    }

    /// Writes the central directory and end record, fsyncs and closes. Returns the manifest entry
    /// (`rows` = number of file entries).
    @discardableResult
    public func finish() throws -> OutputFile {
        guard !closed else { throw KenpoError.invariant("ZipWriter.finish called twice for \(path)") }
        let cdOffset = offset
        guard entryCount <= 0xFFFF, cdOffset + central.count < 0xFFFF_FFFF else {
            throw KenpoError.io(path: path, message: "archive would need ZIP64 (over 65,535 entries or 4 GB), which kenpo does not write: split the output")
        }
        try writeOut(central, count: central.count)
        var end: [UInt8] = []
        put32(&end, 0x0605_4b50)
        put16(&end, 0); put16(&end, 0)
        put16(&end, UInt16(entryCount)); put16(&end, UInt16(entryCount))
        put32(&end, UInt32(central.count)); put32(&end, UInt32(cdOffset))
        put16(&end, 0)
        try writeOut(end, count: end.count)
        if fsync(fd) != 0 {
            throw KenpoError.io(path: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        closed = true
        close(fd)
        let (sha, bytes) = try SHA256Digest.hex(ofFile: path)
        return OutputFile(path: path, rows: fileCount, bytes: bytes, sha256: sha)
    }

    // MARK: - Records

    private func checkName(_ name: String, directory: Bool) throws -> [UInt8] {
        guard !closed else { throw KenpoError.invariant("ZipWriter.add after finish for \(path)") }
        guard let safe = ZipArchive.safeRelativePath(name) else {
            throw KenpoError.input(path: path, line: nil, message: "cannot add entry '\(name)': unsafe name (absolute, '..', colon, backslash-root or control character)")
        }
        let stored = directory ? safe + "/" : safe
        guard names.insert(safe).inserted else {
            throw KenpoError.input(path: path, line: nil, message: "cannot add entry '\(stored)': the archive already has an entry of that name")
        }
        let raw = Array(stored.utf8)
        guard raw.count <= 0xFFFF else {
            throw KenpoError.input(path: path, line: nil, message: "cannot add entry: name is longer than 65,535 bytes")
        }
        entryCount += 1
        return raw
    }

    private func checkSize(_ size: Int, name: String) throws {
        if size >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF {
            throw KenpoError.io(path: path, message: "entry '\(name)' would need ZIP64 (4 GB or more), which kenpo does not write: split the output")
        }
    }

    private func dosTime(_ date: Date?) -> (time: UInt16, date: UInt16) {
        guard let date else { return (0, 0x21) }  // 1980-01-01 00:00:00
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = c.year ?? 1980
        if year < 1980 { return (0, 0x21) }
        if year > 2107 { return (0xBF7D, 0xFF9F) }  // 2107-12-31 23:59:58
        let t = UInt16(c.hour! << 11 | c.minute! << 5 | c.second! / 2)
        let d = UInt16((year - 1980) << 9 | c.month! << 5 | c.day!)
        return (t, d)
    }

    private func flags(_ rawName: [UInt8]) -> UInt16 {
        rawName.contains { $0 >= 0x80 } ? 0x800 : 0
    }

    private func writeLocalHeader(rawName: [UInt8], method: UInt16, modified: Date?) throws {
        let (t, d) = dosTime(modified)
        var h: [UInt8] = []
        h.reserveCapacity(30 + rawName.count)
        put32(&h, 0x0403_4b50)
        put16(&h, 20)  // version needed: 2.0
        put16(&h, flags(rawName))
        put16(&h, method)
        put16(&h, t); put16(&h, d)
        put32(&h, 0); put32(&h, 0); put32(&h, 0)  // CRC-32 and sizes: patched after the data
        put16(&h, UInt16(rawName.count)); put16(&h, 0)
        h.append(contentsOf: rawName)
        try writeOut(h, count: h.count)
    }

    private func appendCentral(rawName: [UInt8], method: UInt16, modified: Date?, crc: UInt32, compressedSize: Int,
                               size: Int, headerOffset: Int, directory: Bool) {
        let (t, d) = dosTime(modified)
        put32(&central, 0x0201_4b50)
        put16(&central, 0x0314)  // made by Unix, spec 2.0: the external attributes carry a Unix mode
        put16(&central, 20)
        put16(&central, flags(rawName))
        put16(&central, method)
        put16(&central, t); put16(&central, d)
        put32(&central, crc)
        put32(&central, UInt32(compressedSize)); put32(&central, UInt32(size))
        put16(&central, UInt16(rawName.count)); put16(&central, 0); put16(&central, 0)
        put16(&central, 0)  // disk
        put16(&central, 0)  // internal attributes
        put32(&central, directory ? (0o040700 << 16 | 0x10) : 0o100600 << 16)  // owner-only modes
        put32(&central, UInt32(headerOffset))
        central.append(contentsOf: rawName)
    }

    private func writeOut(_ bytes: [UInt8], count: Int) throws {
        guard count > 0 else { return }
        try bytes.withUnsafeBytes { try FileSystem.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<count]), path: path) }
        offset += count
    }

    private func pwriteAll(_ bytes: [UInt8], at position: Int) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(position + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw KenpoError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    private func put16(_ b: inout [UInt8], _ v: UInt16) {
        b.append(UInt8(v & 0xFF)); b.append(UInt8(v >> 8))
    }

    private func put32(_ b: inout [UInt8], _ v: UInt32) {
        b.append(UInt8(v & 0xFF)); b.append(UInt8((v >> 8) & 0xFF))
        b.append(UInt8((v >> 16) & 0xFF)); b.append(UInt8(v >> 24))
    }
}
