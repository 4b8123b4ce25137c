import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Streaming decompression of a .gz file with zlib's inflate (gzip wrapper only), read in 64 KB
/// chunks. Concatenated members are read as one stream. A stream that ends before its trailer, a
/// CRC-32 or length mismatch, bytes after the last member that are not another member, and output
/// beyond `maxBytes` (gzip bomb) all throw `.input`. Never returns more than `maxBytes` bytes.
public final class GzipByteSource: ByteSource {
    public let displayName: String
    public let maxBytes: Int
    /// Uncompressed bytes returned so far.
    public private(set) var bytesProduced = 0
    /// Compressed bytes read from the file so far.
    public private(set) var bytesRead = 0
    private let fd: Int32
    private let stream: UnsafeMutablePointer<z_stream>
    private static let chunk = 64 << 10
    private let input: UnsafeMutableRawPointer
    private var eof = false
    private var memberEnded = false
    private var finished = false
    private var members = 0

    public init(path: String, maxBytes: Int) throws {
        displayName = path
        self.maxBytes = maxBytes
        let fd = try InputFile.open(path).fd   // a regular file only: a FIFO would block
        self.fd = fd
        var magic = [UInt8](repeating: 0, count: 2)
        let got = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 2, 0) }
        guard got == 2, Self.looksLikeGzip(magic) else {
            let m = got < 0 ? String(cString: strerror(errno)) : nil
            close(fd)
            if let m { throw KenpoError.io(path: path, message: "read failed: \(m)") }
            let shown = magic.prefix(max(got, 0)).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw KenpoError.input(path: path, line: nil,
                                   message: "not a gzip file (starts with [\(shown)], expected 1f 8b): check the file, or drop the .gz name if it is not compressed")
        }
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = UnsafeMutableRawPointer.allocate(byteCount: Self.chunk, alignment: 16)
        let r = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard r == Z_OK else {
            close(fd); stream.deinitialize(count: 1); stream.deallocate(); input.deallocate()
            throw KenpoError.io(path: path, message: "cannot start inflate (zlib error \(r))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        input.deallocate()
        close(fd)
    }

    /// True when the bytes start with the gzip magic number 1f 8b.
    public static func looksLikeGzip<C: Collection>(_ firstBytes: C) -> Bool where C.Element == UInt8 {
        var it = firstBytes.makeIterator()
        return it.next() == 0x1f && it.next() == 0x8b
    }

    /// True when the file at `path` starts with 1f 8b (false when it cannot be read).
    public static func looksLikeGzip(path: String) -> Bool {
        guard let fd = try? InputFile.open(path).fd else { return false }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 2)
        let n = magic.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 2, 0) }
        return n == 2 && looksLikeGzip(magic)
    }

    /// Compresses `bytes` into one gzip member (deterministic: no name, mtime 0).
    public static func gzip(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        defer { deflateEnd(s); s.deinitialize(count: 1); s.deallocate() }
        let r = deflateInit2_(s, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(r == Z_OK, "deflateInit2 failed: \(r)")
        var out = [UInt8](repeating: 0, count: Int(deflateBound(s, uLong(bytes.count))) + 32)
        let produced: Int = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                s.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.assumingMemoryBound(to: Bytef.self))
                s.pointee.avail_in = uInt(src.count)
                s.pointee.next_out = dst.baseAddress!.assumingMemoryBound(to: Bytef.self)
                s.pointee.avail_out = uInt(dst.count)
                let r = deflate(s, Z_FINISH)
                precondition(r == Z_STREAM_END, "deflate did not finish: \(r)")
                return dst.count - Int(s.pointee.avail_out)
            }
        }
        out.removeSubrange(produced...)
        return out
    }

    private func damaged(_ why: String) -> KenpoError {
        KenpoError.input(path: displayName, line: nil, message: "\(why); the file is damaged or incomplete: re-send or re-download it")
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if finished || buffer.count == 0 { return 0 }
        let room = min(buffer.count, maxBytes - bytesProduced)
        if room <= 0 {
            // At the limit: the stream must end here.
            var probe: UInt8 = 0
            if try inflateSome(&probe, 1) > 0 { throw tooBig() }
            finished = true
            return 0
        }
        let n = try inflateSome(buffer.baseAddress!, room)
        if n == 0 { finished = true }
        bytesProduced += n
        return n
    }

    private func tooBig() -> KenpoError {
        KenpoError.input(path: displayName, line: nil,
                         message: "decompressed size exceeds \(maxBytes) bytes: refused (gzip bomb guard); if the file is genuine, raise the limit")
    }

    /// Reads the next compressed chunk; false at end of file.
    private func refill() throws -> Bool {
        while true {
            let n = Glibc.read(fd, input, Self.chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw KenpoError.io(path: displayName, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { eof = true; return false }
            bytesRead += n
            stream.pointee.next_in = input.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(n)
            return true
        }
    }

    /// Inflates up to `count` bytes; 0 only at the clean end of the last member.
    private func inflateSome(_ out: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        let s = stream
        while true {
            if s.pointee.avail_in == 0 && !eof { _ = try refill() }
            if memberEnded || members == 0 {
                if s.pointee.avail_in == 0 {
                    if eof {
                        if members == 0 { throw damaged("truncated gzip stream (no data)") }
                        return 0
                    }
                    continue
                }
                // Another member must follow; anything else is trailing junk.
                if s.pointee.next_in[0] != 0x1f {
                    throw damaged("unexpected data after the end of the gzip stream (at byte \(bytesRead - Int(s.pointee.avail_in)))")
                }
                if members > 0 { inflateReset(s) }
                memberEnded = false
                members += 1
            }
            s.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
            s.pointee.avail_out = uInt(count)
            let r = inflate(s, Z_NO_FLUSH)
            let produced = count - Int(s.pointee.avail_out)
            switch r {
            case Z_STREAM_END:
                memberEnded = true
                if produced > 0 { return produced }
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if s.pointee.avail_in == 0 && eof { throw damaged("truncated gzip stream") }
            case Z_MEM_ERROR:
                throw KenpoError.io(path: displayName, message: "out of memory while decompressing")
            default:
                let msg = s.pointee.msg.map { String(cString: $0) } ?? "zlib error \(r)"
                throw damaged("damaged gzip stream (\(msg))")
            }
        }
    }
}

/// Writes a gzip file (one member, deterministic header) to a new owner-only (0600) file, streamed
/// through raw 64 KB chunks.
public final class GzipWriter {
    public let path: String
    private let fd: Int32
    private let stream: UnsafeMutablePointer<z_stream>
    private var out = [UInt8](repeating: 0, count: 64 << 10)
    private var closed = false
    private let digest = SHA256Digest()
    private var written = 0

    public init(path: String, level: Int32 = 6) throws {
        self.path = path
        unlink(path)  // never truncate a file that may be hard-linked elsewhere
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw KenpoError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        fchmod(fd, 0o600)
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let r = deflateInit2_(stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard r == Z_OK else {
            close(fd); stream.deinitialize(count: 1); stream.deallocate()
            throw KenpoError.io(path: path, message: "cannot start deflate (zlib error \(r))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        if !closed { close(fd) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var start = 0
        while start < bytes.count {  // avail_in is 32-bit
            let end = min(bytes.count, start + (1 << 30))
            try run(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), flush: Z_NO_FLUSH)
            start = end
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Ends the stream, fsyncs and closes; `rows` is recorded in the returned manifest entry.
    @discardableResult
    public func finish(rows: Int = 0) throws -> OutputFile {
        guard !closed else { throw KenpoError.invariant("GzipWriter.finish called twice for \(path)") }
        try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        if fsync(fd) != 0 {
            throw KenpoError.io(path: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        closed = true
        close(fd)
        return OutputFile(path: path, rows: rows, bytes: written, sha256: digest.finalizeHex())
    }

    private func run(_ bytes: UnsafeRawBufferPointer, flush: Int32) throws {
        guard !closed else { throw KenpoError.invariant("GzipWriter.write after finish for \(path)") }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        repeat {
            let have: Int = out.withUnsafeMutableBytes { raw in
                stream.pointee.next_out = raw.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(raw.count)
                _ = deflate(stream, flush)
                return raw.count - Int(stream.pointee.avail_out)
            }
            if have > 0 {
                try out.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<have])
                    digest.update(chunk)
                    try FileSystem.writeAll(fd, chunk, path: path)
                }
                written += have
            }
        } while stream.pointee.avail_out == 0
    }
}
