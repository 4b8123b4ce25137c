import Foundation
import Testing
@testable import KenpoCore

struct GzipByteSourceTests {
    /// Writes `bytes` to a temp .gz path and reads it back through GzipByteSource.
    private func gunzip(_ bytes: [UInt8], maxBytes: Int = 1 << 30, bufferSize: Int = 64 << 10) throws -> [UInt8] {
        let dir = ZipTestSupport.tempDir()
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/x.gz"
        ZipTestSupport.write(bytes, path)
        return try ZipTestSupport.drain(GzipByteSource(path: path, maxBytes: maxBytes), bufferSize: bufferSize)
    }

    /// The `.input` error for reading `bytes` as `x.gz`, with its path.
    private func failure(_ bytes: [UInt8], maxBytes: Int = 1 << 30) -> (path: String, error: KenpoError?, produced: Int) {
        let dir = ZipTestSupport.tempDir()
        let path = dir + "/x.gz"
        ZipTestSupport.write(bytes, path)
        var total = 0
        let e = ZipTestSupport.caught { _ = try ZipTestSupport.drain(GzipByteSource(path: path, maxBytes: maxBytes), total: &total) }
        FileSystem.removeTree(dir)
        return (path, e, total)
    }

    private var sample: [UInt8] {
        var text = ""
        for i in 0..<20_000 { text += "\(i),健診,結果\n" }
        return Array(text.utf8)
    }

    @Test func roundTrip() throws {
        let data = sample
        let gz = GzipByteSource.gzip(data)
        #expect(gz.count < data.count / 3)
        #expect(GzipByteSource.looksLikeGzip(gz))
        #expect(GzipByteSource.gzip(data) == gz)  // deterministic
        #expect(try gunzip(gz) == data)
        #expect(try gunzip(gz, bufferSize: 13) == data)
        #expect(try gunzip(GzipByteSource.gzip([])) == [])
        #expect(try gunzip(gz, maxBytes: data.count) == data)  // exactly at the limit is fine
    }

    @Test func gzipWriterAndPythonAgree() throws {
        let dir = ZipTestSupport.tempDir()
        defer { FileSystem.removeTree(dir) }
        let data = sample
        let w = try GzipWriter(path: dir + "/w.gz")
        try w.write(Array(data[0..<1000]))
        try w.write(Array(data[1000...]))
        let out = try w.finish(rows: 20_000)
        #expect(out.rows == 20_000)
        #expect(out.bytes == ZipTestSupport.bytes(dir + "/w.gz").count)
        #expect(out.sha256 == SHA256Digest.hex(of: ZipTestSupport.bytes(dir + "/w.gz")))
        #expect(try ZipTestSupport.drain(GzipByteSource(path: dir + "/w.gz", maxBytes: 1 << 30)) == data)
        #expect(GzipByteSource.looksLikeGzip(path: dir + "/w.gz"))
        #expect(!GzipByteSource.looksLikeGzip(path: dir + "/missing.gz"))

        // python3 reads ours, and writes one (with a file name and mtime in the header) that we read.
        try ZipTestSupport.python("""
            import gzip, sys
            data = gzip.open(sys.argv[1]).read()
            assert data.startswith(b'0,'), data[:10]
            with gzip.GzipFile(sys.argv[2], 'wb', mtime=1700000000) as f: f.write(data)
            """, [dir + "/w.gz", dir + "/p.gz"])
        #expect(try ZipTestSupport.drain(GzipByteSource(path: dir + "/p.gz", maxBytes: 1 << 30)) == data)
    }

    @Test func concatenatedMembers() throws {
        let a = Array("first member\n".utf8), b = sample, c = Array("third\n".utf8)
        let gz = GzipByteSource.gzip(a) + GzipByteSource.gzip(b) + GzipByteSource.gzip([]) + GzipByteSource.gzip(c)
        #expect(try gunzip(gz) == a + b + c)
        #expect(try gunzip(gz, bufferSize: 5) == a + b + c)
    }

    @Test func truncatedStreamThrows() {
        let gz = GzipByteSource.gzip(sample)
        for cut in [gz.count - 1, gz.count - 8, gz.count / 2, 12] {
            let f = failure(Array(gz.prefix(cut)))
            #expect(ZipTestSupport.isInput(f.error, path: f.path, containing: "truncated gzip stream"), "cut at \(cut): \(String(describing: f.error))")
        }
        // A second member that stops after its magic number.
        let f = failure(GzipByteSource.gzip([1, 2, 3]) + [0x1f, 0x8b])
        #expect(ZipTestSupport.isInput(f.error, path: f.path, containing: "truncated gzip stream"))
    }

    @Test func badChecksumsThrow() {
        var gz = GzipByteSource.gzip(sample)
        gz[gz.count - 8] ^= 0x01  // CRC-32 in the trailer
        let crc = failure(gz)
        #expect(ZipTestSupport.isInput(crc.error, path: crc.path, containing: "incorrect data check"))
        var len = GzipByteSource.gzip(sample)
        len[len.count - 4] ^= 0x01  // ISIZE in the trailer
        let size = failure(len)
        #expect(ZipTestSupport.isInput(size.error, path: size.path, containing: "incorrect length check"))
    }

    @Test func bombIsStoppedAtMaxBytes() {
        let zeros = [UInt8](repeating: 0, count: 50 << 20)
        let gz = GzipByteSource.gzip(zeros)
        #expect(gz.count < 100_000)
        let f = failure(gz, maxBytes: 1 << 20)
        guard case .input(let path, nil, let message)? = f.error else {
            Issue.record("expected .input, got \(String(describing: f.error))"); return
        }
        #expect(path == f.path)
        #expect(message.hasPrefix("decompressed size exceeds 1048576 bytes"))
        #expect(f.produced == 1 << 20)  // never more than maxBytes
    }

    @Test func notGzipAndTrailingJunkThrow() {
        let text = failure(Array("id,name\n1,健診\n".utf8))
        #expect(ZipTestSupport.isInput(text.error, path: text.path, containing: "not a gzip file (starts with [69 64], expected 1f 8b)"))
        let empty = failure([])
        #expect(ZipTestSupport.isInput(empty.error, path: empty.path, containing: "not a gzip file"))
        let junk = failure(GzipByteSource.gzip([1, 2, 3]) + Array("junk".utf8))
        #expect(ZipTestSupport.isInput(junk.error, path: junk.path, containing: "unexpected data after the end of the gzip stream"))
        var header = GzipByteSource.gzip([1, 2, 3])
        header[2] = 7  // compression method other than deflate
        let method = failure(header)
        #expect(ZipTestSupport.isInput(method.error, path: method.path, containing: "damaged gzip stream"))
        #expect(!GzipByteSource.looksLikeGzip([0x1f]))
        #expect(!GzipByteSource.looksLikeGzip([UInt8]()))
        #expect(GzipByteSource.looksLikeGzip([0x1f, 0x8b, 0x08]))

        let missing = ZipTestSupport.caught { _ = try GzipByteSource(path: "/nonexistent/x.gz", maxBytes: 1) }
        guard case .io(let p, _)? = missing else { Issue.record("expected .io"); return }
        #expect(p == "/nonexistent/x.gz")
    }
}
