import Foundation
import Testing
@testable import KenpoCore

/// Shared by the ZIP and gzip tests: temp folders, python3 fixtures, byte patching.
enum ZipTestSupport {
    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "kenpo-zip-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs `python3 -c script args…`; fails the test with python's stderr when it exits non-zero.
    static func python(_ script: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            throw KenpoError.invariant("python3 failed: \(String(decoding: stderr, as: UTF8.self))")
        }
    }

    static func bytes(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path)!)
    }

    static func write(_ bytes: [UInt8], _ path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    /// The error thrown by `body`, if it is a KenpoError.
    static func caught(_ body: () throws -> Void) -> KenpoError? {
        do { try body(); return nil } catch let e as KenpoError { return e } catch { return .invariant("unexpected error \(error)") }
    }

    /// Reads a source to its end with the given buffer size; `total` keeps counting if it then throws.
    static func drain(_ source: ByteSource, bufferSize: Int = 64 << 10, total: inout Int) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return out }
            total += n
            out.append(contentsOf: buffer[0..<n])
        }
    }

    static func drain(_ source: ByteSource, bufferSize: Int = 64 << 10) throws -> [UInt8] {
        var total = 0
        return try drain(source, bufferSize: bufferSize, total: &total)
    }

    static func isInput(_ e: KenpoError?, path: String, containing text: String) -> Bool {
        guard case .input(let p, let line, let m)? = e else { return false }
        return p == path && line == nil && m.contains(text)
    }
}

/// Builds the python3 fixtures: hostile names, a zip bomb, a CRC mismatch, data descriptors, ZIP64.
private let fixtureScript = #"""
import sys, zipfile, struct, io
kind, path = sys.argv[1], sys.argv[2]

def patch_central(data, name, fn):
    i = 0
    while True:
        i = data.find(b'PK\x01\x02', i)
        assert i >= 0, name
        n = struct.unpack_from('<H', data, i + 28)[0]
        if bytes(data[i + 46:i + 46 + n]) == name:
            fn(i); return
        i += 4

def patch_local(data, name, fn):
    i = 0
    while True:
        i = data.find(b'PK\x03\x04', i)
        assert i >= 0, name
        n = struct.unpack_from('<H', data, i + 26)[0]
        if bytes(data[i + 30:i + 30 + n]) == name:
            fn(i); return
        i += 4

if kind == 'hostile':
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('ok.xml', b'<ok/>')
        z.writestr('../evil.xml', b'evil')
        z.writestr('/etc/passwd', b'root')
        z.writestr('a/../../b', b'b')
        z.writestr('C:/win.ini', b'win')
        z.writestr('dir\\..\\..\\x', b'x')
        z.writestr('nul_x.xml', b'nul')
        i = zipfile.ZipInfo('link.xml'); i.create_system = 3; i.external_attr = 0o120777 << 16
        z.writestr(i, '/etc/passwd')
        z.writestr('dup.xml', b'first'); z.writestr('dup.xml', b'second')
        z.writestr('secret.xml', b'secret')
        z.writestr('bz.xml', b'bzip2 data', compress_type=zipfile.ZIP_BZIP2)
        z.writestr('DATA/健診.xml', '<健診/>'.encode())
    data = bytearray(open(path, 'rb').read())
    data = bytearray(data.replace(b'nul_x.xml', b'nul\x00x.xml'))
    def enc(i, at): struct.pack_into('<H', data, i + at, struct.unpack_from('<H', data, i + at)[0] | 1)
    patch_central(data, b'secret.xml', lambda i: enc(i, 8))
    patch_local(data, b'secret.xml', lambda i: enc(i, 6))
    open(path, 'wb').write(data)
elif kind == 'bomb':
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('small.xml', b'<small/>')
        z.writestr('bomb.xml', b'\0' * (20 << 20))
    data = bytearray(open(path, 'rb').read())
    patch_central(data, b'bomb.xml', lambda i: struct.pack_into('<I', data, i + 24, 1000))
    patch_local(data, b'bomb.xml', lambda i: struct.pack_into('<I', data, i + 22, 1000))
    open(path, 'wb').write(data)
elif kind == 'crc':
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('good.txt', b'good content')
        z.writestr('data.txt', b'hello world, stored')
        z.writestr('deflated.txt', b'deflated ' * 100, compress_type=zipfile.ZIP_DEFLATED)
    data = bytearray(open(path, 'rb').read())
    i = data.find(b'hello world, stored'); data[i] ^= 0x20
    j = data.find(b'PK\x01\x02')
    data[j - 1] ^= 0xff  # last byte of the deflate stream of the last entry
    open(path, 'wb').write(data)
elif kind == 'plain':
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('DATA/', b'')
        z.writestr('DATA/健診.xml', ('<健診>' + 'あ' * 5000 + '</健診>').encode(), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr('DATA/stored.txt', b'stored bytes')
        z.writestr('empty.txt', b'')
        z.writestr('NAME.xml', b'cp932 name')  # same length as 健診.xml in CP932 (8 bytes), swapped below
    data = open(path, 'rb').read().replace(b'NAME.xml', '健診.xml'.encode('cp932'))
    open(path, 'wb').write(data)
elif kind == 'descriptor':
    class Unseekable:
        def __init__(self, f): self.f = f
        def write(self, b): return self.f.write(b)
        def flush(self): self.f.flush()
    with open(path, 'wb') as f:
        with zipfile.ZipFile(Unseekable(f), 'w', zipfile.ZIP_DEFLATED) as z:
            z.writestr('a.xml', b'<a/>' * 1000)
            z.writestr('b.txt', b'b', compress_type=zipfile.ZIP_STORED)
elif kind == 'zip64':
    zipfile.ZIP64_LIMIT = 100
    zipfile.ZIP_FILECOUNT_LIMIT = 2
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('one.xml', b'1' * 500)
        z.writestr('two.xml', b'22' * 500)
        with z.open('three.xml', 'w', force_zip64=True) as f: f.write(b'333' * 500)
elif kind == 'overlap':
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('a.txt', b'a' * 100)
        z.writestr('b.txt', b'b' * 100)
        z.writestr('c.txt', b'c' * 100)
    data = bytearray(open(path, 'rb').read())
    patch_central(data, b'b.txt', lambda i: struct.pack_into('<I', data, i + 42, 0))
    open(path, 'wb').write(data)
elif kind == 'zip64missing':
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('a.txt', b'a' * 100)
        z.writestr('b.txt', b'b' * 100)
    data = bytearray(open(path, 'rb').read())
    patch_central(data, b'a.txt', lambda i: struct.pack_into('<I', data, i + 20, 0xFFFFFFFF))
    open(path, 'wb').write(data)
else:
    raise SystemExit('unknown kind ' + kind)
"""#

private func zipFixture(_ kind: String) throws -> String {
    let path = ZipTestSupport.tempDir() + "/\(kind).zip"
    try ZipTestSupport.python(fixtureScript, [kind, path])
    return path
}

private func zipEntry(_ zip: ZipArchive, _ name: String) -> ZipEntry {
    zip.entries.first { $0.name == name }!
}

struct ZipArchiveTests {
    // MARK: safeRelativePath

    static let pathCases: [(String, String?)] = [
        ("DATA/健診.xml", "DATA/健診.xml"),
        ("a.xml", "a.xml"),
        ("DATA/", "DATA"),
        ("./a//b/./c", "a/b/c"),
        ("a\\b\\c.xml", "a/b/c.xml"),
        ("..", nil),
        ("../evil.xml", nil),
        ("a/../../b", nil),
        ("a/../b", nil),
        ("a\\..\\..\\b", nil),
        ("/etc/passwd", nil),
        ("\\server\\share", nil),
        ("//server/share", nil),
        ("C:/win.ini", nil),
        ("C:win.ini", nil),
        ("a.xml:stream", nil),
        ("a\u{0}b", nil),
        ("a\nb", nil),
        ("", nil),
        (".", nil),
        ("./", nil),
        ("a/.../b", nil),
        ("a/.. /b", nil),
        ("...", nil),
        ("a/..b/c", "a/..b/c"),
        ("健診 結果/2024.xml", "健診 結果/2024.xml"),
    ]

    @Test(arguments: pathCases.indices)
    func safeRelativePath(_ i: Int) {
        let (name, expected) = Self.pathCases[i]
        #expect(ZipArchive.safeRelativePath(name) == expected, "\(name.debugDescription)")
    }

    // MARK: Round trip

    @Test func roundTripStoredAndDeflated() throws {
        let dir = ZipTestSupport.tempDir()
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/out.zip"
        var big = [UInt8](repeating: 0, count: 300_000)
        var x: UInt32 = 12345
        for i in big.indices { x = x &* 1_103_515_245 &+ 12345; big[i] = i % 3 == 0 ? UInt8(x >> 24) : UInt8(i % 7) }
        let xml = Array("<健診>\(String(repeating: "結果", count: 1000))</健診>".utf8)
        let w = try ZipWriter(path: path)
        try w.addDirectory(name: "DATA")
        try w.add(name: "DATA/健診.xml", bytes: xml)
        try w.add(name: "DATA/stored.bin", bytes: big, compress: false)
        try w.add(name: "DATA/deflated.bin", bytes: big)
        try w.add(name: "empty.txt", bytes: [])
        try w.add(name: "streamed.txt", from: MemoryByteSource(xml), compress: true,
                  modified: Date(timeIntervalSince1970: 1_700_000_000))
        let out = try w.finish()
        #expect(out.rows == 5)
        #expect(out.bytes == ZipTestSupport.bytes(path).count)
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o600)

        let zip = try ZipArchive(path: path)
        #expect(zip.entries.map(\.name) == ["DATA/", "DATA/健診.xml", "DATA/stored.bin", "DATA/deflated.bin", "empty.txt", "streamed.txt"])
        #expect(zip.entries.allSatisfy { $0.problem == nil })
        #expect(zip.entries[0].isDirectory)
        #expect(zip.entries[1].flags & 0x800 != 0)
        #expect(zip.entries[2].method == 0 && zip.entries[2].compressedSize == big.count)
        #expect(zip.entries[3].method == 8 && zip.entries[3].compressedSize < big.count)
        #expect(try zip.readAll(zip.entries[1]) == xml)
        #expect(try zip.readAll(zip.entries[2]) == big)
        #expect(try ZipTestSupport.drain(zip.open(zip.entries[3]), bufferSize: 7) == big)
        #expect(try zip.readAll(zip.entries[4]) == [])
        #expect(try zip.readAll(zip.entries[5]) == xml)
        #expect(try zip.open(zip.entries[1]).displayName == path + "!/DATA/健診.xml")

        // python3's zipfile agrees, including the DOS timestamp (Japan time).
        try ZipTestSupport.python(#"""
            import sys, zipfile
            z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
            assert z.read('DATA/健診.xml').decode().startswith('<健診>')
            assert z.getinfo('streamed.txt').date_time == (2023, 11, 15, 7, 13, 20), z.getinfo('streamed.txt').date_time
            assert z.getinfo('empty.txt').date_time == (1980, 1, 1, 0, 0, 0)
            """#, [path])
    }

    @Test func writerIsDeterministicAndRefusesBadNames() throws {
        let dir = ZipTestSupport.tempDir()
        defer { FileSystem.removeTree(dir) }
        func make(_ path: String) throws {
            let w = try ZipWriter(path: path)
            try w.add(name: "a.xml", bytes: Array("<a/>".utf8))
            try w.add(name: "b/健診.xml", bytes: Array(repeating: 65, count: 10_000), compress: false)
            try w.finish()
        }
        try make(dir + "/1.zip")
        try make(dir + "/2.zip")
        #expect(ZipTestSupport.bytes(dir + "/1.zip") == ZipTestSupport.bytes(dir + "/2.zip"))

        let w = try ZipWriter(path: dir + "/3.zip")
        try w.add(name: "a.xml", bytes: [1])
        #expect(ZipTestSupport.isInput(ZipTestSupport.caught { try w.add(name: "../x", bytes: [1]) }, path: dir + "/3.zip", containing: "unsafe name"))
        #expect(ZipTestSupport.isInput(ZipTestSupport.caught { try w.add(name: "./a.xml", bytes: [1]) }, path: dir + "/3.zip", containing: "already has"))
        try w.finish()
        #expect(try ZipArchive(path: dir + "/3.zip").entries.map(\.name) == ["a.xml"])
    }

    // MARK: Archives from python3's zipfile

    @Test func readsPythonZipWithCP932Name() throws {
        let path = try zipFixture("plain")
        let zip = try ZipArchive(path: path)
        #expect(zip.entries.map(\.name) == ["DATA/", "DATA/健診.xml", "DATA/stored.txt", "empty.txt", "健診.xml"])
        #expect(zip.entries.map(\.path) == ["DATA", "DATA/健診.xml", "DATA/stored.txt", "empty.txt", "健診.xml"])
        #expect(zip.entries.allSatisfy { $0.problem == nil })
        #expect(zip.entries.map(\.isDirectory) == [true, false, false, false, false])
        let text = String(decoding: try zip.readAll(zipEntry(zip, "DATA/健診.xml")), as: UTF8.self)
        #expect(text == "<健診>" + String(repeating: "あ", count: 5000) + "</健診>")
        #expect(try zip.readAll(zipEntry(zip, "DATA/stored.txt")) == Array("stored bytes".utf8))
        #expect(try zip.readAll(zipEntry(zip, "empty.txt")) == [])
        #expect(try zip.readAll(zipEntry(zip, "健診.xml")) == Array("cp932 name".utf8))
        #expect(zip.entry(at: "DATA/stored.txt")?.uncompressedSize == 12)
        #expect(ZipTestSupport.isInput(ZipTestSupport.caught { _ = try zip.open(zip.entries[0]) }, path: path + "!/DATA/", containing: "folder"))
    }

    @Test func readsDataDescriptorEntries() throws {
        let zip = try ZipArchive(path: try zipFixture("descriptor"))
        #expect(zip.entries.map(\.name) == ["a.xml", "b.txt"])
        #expect(zip.entries.allSatisfy { $0.flags & 0x8 != 0 && $0.problem == nil })
        #expect(try zip.readAll(zip.entries[0]) == Array(String(repeating: "<a/>", count: 1000).utf8))
        #expect(try zip.readAll(zip.entries[1]) == [98])
    }

    @Test func readsZip64() throws {
        let path = try zipFixture("zip64")
        let bytes = ZipTestSupport.bytes(path)
        #expect(bytes.windowsStarting(with: [0x50, 0x4b, 0x06, 0x06]) == 1)  // ZIP64 end record present
        let zip = try ZipArchive(path: path)
        #expect(zip.entries.map(\.name) == ["one.xml", "two.xml", "three.xml"])
        #expect(zip.entries.map(\.uncompressedSize) == [500, 1000, 1500])
        #expect(zip.entries.allSatisfy { $0.problem == nil })
        #expect(try zip.readAll(zip.entries[1]) == Array(repeating: 50, count: 1000))
        #expect(try zip.readAll(zip.entries[2]) == Array(repeating: 51, count: 1500))
    }

    // MARK: Hostile archives

    @Test func hostileEntriesAreRefusedOthersStayReadable() throws {
        let path = try zipFixture("hostile")
        let zip = try ZipArchive(path: path)
        func problem(_ name: String) -> String { zipEntry(zip, name).problem ?? "" }
        #expect(zip.entries.count == 13)
        #expect(problem("../evil.xml").contains("unsafe entry name"))
        #expect(problem("/etc/passwd").contains("unsafe entry name"))
        #expect(problem("a/../../b").contains("unsafe entry name"))
        #expect(problem("C:/win.ini").contains("unsafe entry name"))
        #expect(problem("dir\\..\\..\\x").contains("unsafe entry name"))
        #expect(problem("nul\u{0}x.xml").contains("unsafe entry name"))
        #expect(zipEntry(zip, "../evil.xml").path == nil)
        #expect(problem("link.xml").contains("symbolic link"))
        #expect(problem("secret.xml").contains("encrypted"))
        #expect(problem("bz.xml").contains("method 12 (bzip2)"))
        let dups = zip.entries.filter { $0.name == "dup.xml" }
        #expect(dups.count == 2 && dups.allSatisfy { ($0.problem ?? "").contains("appears 2 times") })
        #expect(zip.entries.filter { $0.problem == nil }.map(\.name) == ["ok.xml", "DATA/健診.xml"])

        for e in zip.entries where e.problem != nil {
            let error = ZipTestSupport.caught { _ = try zip.open(e) }
            #expect(ZipTestSupport.isInput(error, path: zip.displayName(e), containing: e.problem!))
        }
        #expect(zip.displayName(zipEntry(zip, "nul\u{0}x.xml")) == path + "!/nul\\u{0}x.xml")
        #expect(try zip.readAll(zipEntry(zip, "ok.xml")) == Array("<ok/>".utf8))
        #expect(try zip.readAll(zipEntry(zip, "DATA/健診.xml")) == Array("<健診/>".utf8))
    }

    @Test func zipBombStopsAtTheDeclaredSize() throws {
        let path = try zipFixture("bomb")
        let zip = try ZipArchive(path: path)
        let bomb = zipEntry(zip, "bomb.xml")
        #expect(bomb.uncompressedSize == 1000 && bomb.problem == nil)
        var total = 0
        let error = ZipTestSupport.caught { _ = try ZipTestSupport.drain(zip.open(bomb), bufferSize: 64 << 10, total: &total) }
        #expect(ZipTestSupport.isInput(error, path: path + "!/bomb.xml", containing: "inflates to more than the declared 1000 bytes"))
        #expect(total < 1000)  // the last chunk is withheld when the stream does not end there
        var small = 0
        let error2 = ZipTestSupport.caught { _ = try ZipTestSupport.drain(zip.open(bomb), bufferSize: 10, total: &small) }
        #expect(ZipTestSupport.isInput(error2, path: path + "!/bomb.xml", containing: "damaged entry"))
        #expect(small <= 1000)
        #expect(try zip.readAll(zipEntry(zip, "small.xml")) == Array("<small/>".utf8))
    }

    @Test func sizeLimits() throws {
        let path = try zipFixture("plain")
        let perEntry = try ZipArchive(path: path, limits: ZipLimits(maxEntryBytes: 100, maxTotalBytes: 1 << 30, maxEntries: 10))
        #expect((zipEntry(perEntry, "DATA/健診.xml").problem ?? "").contains("more than the limit of 100 bytes"))
        #expect(zipEntry(perEntry, "DATA/stored.txt").problem == nil)

        let total = ZipTestSupport.caught { _ = try ZipArchive(path: path, limits: ZipLimits(maxEntryBytes: 1 << 20, maxTotalBytes: 1000, maxEntries: 10)) }
        #expect(ZipTestSupport.isInput(total, path: path, containing: "more than the limit of 1000 bytes"))

        let count = ZipTestSupport.caught { _ = try ZipArchive(path: path, limits: ZipLimits(maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 30, maxEntries: 4)) }
        #expect(ZipTestSupport.isInput(count, path: path, containing: "lists 5 entries, more than the limit of 4"))
    }

    @Test func overlappingEntriesAreRefused() throws {
        let zip = try ZipArchive(path: try zipFixture("overlap"))
        #expect((zipEntry(zip, "a.txt").problem ?? "").contains("overlaps"))
        #expect((zipEntry(zip, "b.txt").problem ?? "").contains("overlaps"))
        #expect(zipEntry(zip, "c.txt").problem == nil)
        #expect(try zip.readAll(zipEntry(zip, "c.txt")) == Array(repeating: 99, count: 100))
    }

    @Test func zip64FieldsWithoutTheirExtraAreRefused() throws {
        let zip = try ZipArchive(path: try zipFixture("zip64missing"))
        #expect((zipEntry(zip, "a.txt").problem ?? "").contains("ZIP64 sizes are missing"))
        #expect(try zip.readAll(zipEntry(zip, "b.txt")) == Array(repeating: 98, count: 100))
    }

    @Test func crcMismatchIsDamage() throws {
        let path = try zipFixture("crc")
        let zip = try ZipArchive(path: path)
        var total = 0
        let stored = ZipTestSupport.caught { _ = try ZipTestSupport.drain(zip.open(zipEntry(zip, "data.txt")), total: &total) }
        #expect(ZipTestSupport.isInput(stored, path: path + "!/data.txt", containing: "damaged entry: CRC-32 mismatch"))
        #expect(total == 0)  // the bad content is never handed out
        let deflated = ZipTestSupport.caught { _ = try zip.readAll(zipEntry(zip, "deflated.txt")) }
        #expect(ZipTestSupport.isInput(deflated, path: path + "!/deflated.txt", containing: "damaged entry"))
        #expect(try zip.readAll(zipEntry(zip, "good.txt")) == Array("good content".utf8))
    }

    @Test func truncatedAndDamagedArchives() throws {
        let path = try zipFixture("plain")
        let good = ZipTestSupport.bytes(path)
        let dir = (path as NSString).deletingLastPathComponent
        func check(_ bytes: [UInt8], _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let p = dir + "/damaged-\(UUID().uuidString).zip"
            ZipTestSupport.write(bytes, p)
            let e = ZipTestSupport.caught { _ = try ZipArchive(path: p) }
            #expect(ZipTestSupport.isInput(e, path: p, containing: text), "\(String(describing: e))", sourceLocation: sourceLocation)
        }
        check(Array(good.prefix(good.count / 2)), "no end-of-central-directory record")
        check(Array(good.dropLast()), "no end-of-central-directory record")
        check(Array(good.prefix(10)), "too short")
        check([], "too short")
        check(Array("not a zip at all, just some text that is long enough".utf8), "not a ZIP archive")
        var outOfRange = good
        let eocd = good.count - 22
        outOfRange[eocd + 19] = 0x7F  // central directory offset
        check(outOfRange, "central directory out of range")
        var fewer = good
        fewer[eocd + 8] = 4; fewer[eocd + 10] = 4  // entry count 5 → 4
        check(fewer, "holds more than its 4 listed entries")
        var badSig = good
        let cd = Int(good[eocd + 16]) | Int(good[eocd + 17]) << 8 | Int(good[eocd + 18]) << 16
        badSig[cd] = 0
        check(badSig, "central directory is damaged at entry 1")

        // A local header that disagrees with the central directory.
        var renamed = good
        let local = good.windowIndex(of: Array("DATA/stored.txt".utf8))!
        renamed[local] = UInt8(ascii: "X")
        let p = dir + "/renamed.zip"
        ZipTestSupport.write(renamed, p)
        let zip = try ZipArchive(path: p)
        let e = ZipTestSupport.caught { _ = try zip.open(zipEntry(zip, "DATA/stored.txt")) }
        #expect(ZipTestSupport.isInput(e, path: p + "!/DATA/stored.txt", containing: "local header names a different file"))

        let missing = ZipTestSupport.caught { _ = try ZipArchive(path: dir + "/nope.zip") }
        guard case .io(let mp, _)? = missing else { Issue.record("expected .io, got \(String(describing: missing))"); return }
        #expect(mp == dir + "/nope.zip")
    }
}

extension Array where Element == UInt8 {
    func windowIndex(of needle: [UInt8]) -> Int? {
        guard needle.count <= count else { return nil }
        for i in 0...(count - needle.count) where self[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }

    func windowsStarting(with needle: [UInt8]) -> Int {
        guard needle.count <= count else { return 0 }
        var n = 0
        for i in 0...(count - needle.count) where self[i..<(i + needle.count)].elementsEqual(needle) { n += 1 }
        return n
    }
}
