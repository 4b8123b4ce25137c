import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// Writes bytes to a temporary file and reads every record back with the given block size.
func readAll(_ bytes: [UInt8], blockSize: Int = 1 << 20, maxRecordBytes: Int = 1 << 20) throws -> [(line: Int, fields: [String], malformed: Bool)] {
    let path = NSTemporaryDirectory() + "kenpo-csv-\(UUID().uuidString).csv"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let r = try CSVReader(path: path, blockSize: blockSize, maxRecordBytes: maxRecordBytes)
    var out: [(Int, [String], Bool)] = []
    while try r.next() {
        out.append((r.line, (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }, r.malformed != nil))
    }
    return out
}

/// Every record of a CSV file as strings.
func csvRecords(_ path: String) throws -> [[String]] {
    let r = try CSVReader(path: path)
    var rows: [[String]] = []
    while try r.next() { rows.append((0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }) }
    return rows
}

func readAll(_ text: String, blockSize: Int = 1 << 20) throws -> [(line: Int, fields: [String], malformed: Bool)] {
    try readAll(Array(text.utf8), blockSize: blockSize)
}

struct CSVReaderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var input: String
        var records: [[String]]
        var lines: [Int]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "LF", input: "a,b\nc,d\n", records: [["a", "b"], ["c", "d"]], lines: [1, 2]),
        Case(name: "CRLF", input: "a,b\r\nc,d\r\n", records: [["a", "b"], ["c", "d"]], lines: [1, 2]),
        Case(name: "lone CR", input: "a,b\rc,d\r", records: [["a", "b"], ["c", "d"]], lines: [1, 2]),
        Case(name: "mixed line ends", input: "a\r\nb\nc\rd", records: [["a"], ["b"], ["c"], ["d"]], lines: [1, 2, 3, 4]),
        Case(name: "no final newline", input: "a,b", records: [["a", "b"]], lines: [1]),
        Case(name: "quoted comma", input: "\"a,b\",c\n", records: [["a,b", "c"]], lines: [1]),
        Case(name: "doubled quote", input: "\"say \"\"hi\"\"\",x\n", records: [["say \"hi\"", "x"]], lines: [1]),
        Case(name: "line break in quotes", input: "\"a\nb\",c\nd,e\n", records: [["a\nb", "c"], ["d", "e"]], lines: [1, 3]),
        Case(name: "CRLF in quotes kept", input: "\"a\r\nb\",c\r\nd\r\n", records: [["a\r\nb", "c"], ["d"]], lines: [1, 3]),
        Case(name: "empty fields", input: ",,\n", records: [["", "", ""]], lines: [1]),
        Case(name: "empty quoted field", input: "\"\",x\n", records: [["", "x"]], lines: [1]),
        Case(name: "blank lines skipped", input: "a\n\n\r\nb\n", records: [["a"], ["b"]], lines: [1, 4]),
        Case(name: "BOM skipped", input: "\u{FEFF}h1,h2\r\n1,2\r\n", records: [["h1", "h2"], ["1", "2"]], lines: [1, 2]),
        Case(name: "trailing comma", input: "a,\n", records: [["a", ""]], lines: [1]),
        Case(name: "multibyte", input: "山田,ｶﾞ\n", records: [["山田", "ｶﾞ"]], lines: [1]),
    ]

    @Test(arguments: cases, [1, 2, 3, 7, 1 << 20])
    func records(_ c: Case, blockSize: Int) throws {
        let got = try readAll(c.input, blockSize: blockSize)
        #expect(got.map(\.fields) == c.records)
        #expect(got.map(\.line) == c.lines)
        #expect(got.allSatisfy { !$0.malformed })
    }

    @Test func unterminatedQuoteIsMalformed() throws {
        let got = try readAll("a,b\n\"open,c\nd\n")
        #expect(got.count == 2)
        #expect(got[1].line == 2)
        #expect(got[1].malformed)
    }

    @Test func textAfterClosingQuoteIsMalformedButReadingContinues() throws {
        let got = try readAll("\"a\"x,b\nc,d\n")
        #expect(got.count == 2)
        #expect(got[0].malformed)
        #expect(got[1].fields == ["c", "d"])
        #expect(!got[1].malformed)
    }

    @Test func overlongRecordIsSkippedToTheNextLine() throws {
        let long = String(repeating: "x", count: 5000)
        let got = try readAll(Array("a\n\(long),y\nb\n".utf8), blockSize: 64, maxRecordBytes: 1000)
        #expect(got.map(\.fields.first) == ["a", "", "b"])
        #expect(got.map(\.malformed) == [false, true, false])
        #expect(got.map(\.line) == [1, 2, 3])
    }

    @Test func cp932BytesSplitOnlyAtDelimiters() throws {
        // 表 is 0x95 0x5C in CP932: the trail byte is a backslash, never a delimiter.
        let bytes: [UInt8] = [0x95, 0x5C, 0x2C, 0x41, 0x0D, 0x0A]
        let got = try readAll(bytes, blockSize: 1)
        #expect(got.count == 1)
        #expect(got[0].fields.count == 2)
    }

    @Test func digestCoversEveryByte() throws {
        let text = "a,b\r\n\"c\",d\r\n"
        let path = NSTemporaryDirectory() + "kenpo-digest-\(UUID().uuidString).csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let d = SHA256Digest()
        let r = try CSVReader(path: path, digest: d, blockSize: 3)
        while try r.next() {}
        try r.drain()
        #expect(r.bytesRead == text.utf8.count)
        #expect(d.finalizeHex() == SHA256Digest.hex(of: text))
    }

    /// A file that grows, shrinks or is rewritten after the reader opened it fails at its end: what
    /// was read is not the file (a roster still being copied in is not the insurer's roster).
    @Test(arguments: ["grows", "shrinks", "same size, rewritten", "unchanged"])
    func aFileChangedWhileReadFailsAtItsEnd(_ change: String) throws {
        let folder = try ScratchFolder()
        let path = folder.file("roster.csv", "h1,h2\r\n1,2\r\n3,4\r\n")
        let r = try CSVReader(path: path, blockSize: 4)
        #expect(try r.next())   // the header: only the first blocks are read
        usleep(2_000)           // a later modification time, on any clock granularity kenpo meets
        switch change {
        case "grows": folder.append(path, "5,6\r\n")
        case "shrinks": #expect(truncate(path, 9) == 0)
        case "same size, rewritten": folder.overwrite(path, "h1,h2\r\n9,9\r\n9,9\r\n")
        default: break
        }
        let message = kenpoErrorMessage { while try r.next() {}; try r.drain() }
        if change == "unchanged" {
            #expect(message == nil)
        } else {
            #expect(message?.contains("\(path): the file changed while it was read") == true, "\(change): \(message ?? "read without complaint")")
        }
    }
}

struct CSVWriterTests {
    @Test(arguments: [
        (["a", "b"], "a,b\r\n"),
        (["a,b", "c"], "\"a,b\",c\r\n"),
        (["say \"hi\""], "\"say \"\"hi\"\"\"\r\n"),
        (["line\nbreak", ""], "\"line\nbreak\",\r\n"),
    ])
    func quoting(_ fields: [String], _ expected: String) throws {
        let path = NSTemporaryDirectory() + "kenpo-w-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try CSVWriter(path: path)
        w.row(fields)
        let out = try w.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == expected)
        #expect(out.rows == 1)
        #expect(out.sha256 == SHA256Digest.hex(of: expected))
        // What the writer writes, the reader reads back.
        #expect(try readAll(expected).map(\.fields) == [fields])
    }

    @Test func filesAreOwnerOnly() throws {
        let path = NSTemporaryDirectory() + "kenpo-perm-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try CSVWriter(path: path, header: ["h"])
        try w.close()
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }
}

struct CP932Tests {
    @Test(arguments: [
        ([0x82, 0xA0] as [UInt8], "あ"),
        ([0xB6, 0xDE], "ｶﾞ"),            // half-width kana stay half-width when decoded
        ([0x87, 0x40], "①"),             // NEC special character: CP932 only
        ([0xFB, 0xFC], "髙"),             // IBM extension: CP932 only
        ([0x81, 0x60], "～"),             // 0x8160 decodes to U+FF5E in CP932
        ([0x5C], "\\"),                   // a backslash, not a yen sign
        ([0x41, 0x42], "AB"),
    ])
    func decodes(_ bytes: [UInt8], _ expected: String) throws {
        #expect(try CP932Decoder().decode(bytes).get() == expected)
    }

    @Test func reportsTheOffsetOfABadByte() {
        let result = CP932Decoder().decode([0x41, 0x82, 0xA0, 0x85, 0x30])  // A あ then an invalid pair
        guard case .failure(let f) = result else { Issue.record("expected a failure"); return }
        #expect(f.byteOffset == 3)
        #expect(f.byte == 0x85)
    }

    @Test func substitutesAWholeCharacterAndReusesItsTable() {
        let e = CP932Encoder()
        // カ + combining dakuten is one character CP932 cannot hold: one 〓, not カ〓.
        let (bytes, bad) = e.encode("ア\u{30AB}\u{3099}")
        #expect(bytes == [0x83, 0x41] + CP932Encoder.substitution)
        #expect(bad == ["\u{30AB}\u{3099}"])
        // The second time comes from the table and must give the same bytes.
        #expect(e.encode("山田①").bytes == e.encode("山田①").bytes)
    }

    @Test func encodesAndSubstitutes() {
        let e = CP932Encoder()
        #expect(e.encode("山田①").bytes == [0x8E, 0x52, 0x93, 0x63, 0x87, 0x40])
        let (bytes, bad) = e.encode("𠮷田")
        #expect(bad == ["𠮷"])
        #expect(Array(bytes.prefix(2)) == CP932Encoder.substitution)
    }
}

struct StableHashTests {
    @Test func separatesParts() {
        #expect(StableHash.of(["a", "b"]) != StableHash.of(["ab"]))
        #expect(StableHash.parseHex(StableHash.hex(0x0123_4567_89ab_cdef)) == 0x0123_4567_89ab_cdef)
    }

    @Test func knownValue() {
        // FNV-1a 64 then MurmurHash3's fmix64, computed independently (Python) for "kenpo".
        #expect(StableHash.hex(StableHash.of(["kenpo"])) == "e83f492a409ce000")
    }
}

struct RosterFieldTests {
    @Test func ordinalIsThePositionInAllCases() {
        #expect(RosterField.allCases.map(\.ordinal) == Array(0..<RosterField.allCases.count))
    }
}

struct StableHashBuilderTests {
    @Test(arguments: [["a", "b", "c"], ["card", "06139992", "1001", "2345678"], ["x", "", "y", "z", "w", "v"]])
    func builderEqualsArrayForm(_ parts: [String]) {
        var b = StableHash.Builder(parts[0])
        for p in parts.dropFirst() { b.add(p) }
        #expect(b.value == StableHash.of(parts))
    }

    @Test func fixedArityFormEqualsArrayForm() {
        #expect(StableHash.of("ref", "06279996", "M1") == StableHash.of(["ref", "06279996", "M1"]))
        #expect(StableHash.of("dup", "a", "b", "c", "d", "e") == StableHash.of(["dup", "a", "b", "c", "d", "e"]))
    }
}

struct MemberRecordEncodingTests {
    @Test func encodeCSVEqualsTheGenericRowEncoder() {
        var m = MemberRecord()
        m.personID = "0123456789abcdef"; m.insurerNumber = "06139992"; m.symbol = "1001"; m.number = "0012345678"
        m.kanaName = "ヤマダキョウコ"; m.kanaKey = "ヤマダキヨウコ"; m.address = "東京都港区芝公園4-2-8,サンプルビル"
        m.kanjiName = "山田 \"恭子\""; m.memberRef = "M1"; m.status = .disqualified; m.specialRetiree = true
        var a: [UInt8] = [], b: [UInt8] = []
        m.encodeCSV(into: &a)
        CSVWriter.encodeRow(m.fields, into: &b)
        #expect(a == b)
        #expect(a.withUnsafeBytes { MemberRecord(fields: CSVLine.parse($0)) } == m)
    }
}
