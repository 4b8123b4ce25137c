import Foundation
import Testing
@testable import KenpoCore

/// Inputs the fuzz targets (Tests/fuzz) found, each pinned to the behaviour it must have. The inputs
/// are inline, or in Tests/fuzz/regressions/TARGET/ (which every fuzz run also starts from).
struct FuzzRegressionTests {
    // MARK: csv

    /// A record that grows one byte at a time — doubled quotes, line breaks inside quotes, bare
    /// commas — got past CSVReader's `maxRecordBytes` guard, which only counted runs copied in one
    /// go: one such record in a hostile roster could hold the whole file in memory.
    @Test(arguments: [
        ("doubled quotes", "\"" + String(repeating: "\"\"", count: 500) + "\"\nnext,row\n", true),
        ("bare commas", String(repeating: ",", count: 500) + "\nnext,row\n", true),
        ("line breaks inside quotes", "\"" + String(repeating: "\n", count: 500) + "\"\n", false),
    ])
    func csvRecordLimitCountsEveryByte(name: String, input: String, nextRowReadable: Bool) throws {
        let records = try readAll(Array(input.utf8), blockSize: 16, maxRecordBytes: 64)
        let first = try #require(records.first)
        #expect(first.malformed, "\(name): the over-long record must be reported, not returned")
        for r in records {
            let size = r.fields.reduce(0) { $0 + $1.utf8.count } + r.fields.count
            #expect(size <= 64 + 16, "\(name): a record of \(size) bytes got past the 64-byte limit")
        }
        if nextRowReadable {
            #expect(records.last?.fields == ["next", "row"] && records.last?.malformed == false, "\(name): the row after it")
        }
    }
}

extension FuzzRegressionTests {
    // MARK: barcode

    /// 19 or more kanji numerals with 十百千 before a marker (番, 号 …) overflowed Int in
    /// `kanjiNumberValue` and trapped: one hostile mailing-list address stopped the whole run. Such a
    /// run is no address number: it stays kanji, and the numbers around it are still extracted.
    @Test func barcodeLongKanjiNumeralRunStaysText() throws {
        let address = "東京都千代田区" + String(repeating: "一", count: 19) + "十番地5号"
        #expect(CustomerBarcode.addressNumber(from: address) == "5")
        let code = try CustomerBarcode.encode(postalCode: "100-0001", address: address)
        #expect(code.dataString == "10000015CC4CC4CC4CC4CC4CC4CC4CC4CC4CC4CC4CC4")
        // Real numbers with units still convert.
        #expect(CustomerBarcode.addressNumber(from: "千二百三十四番地") == "1234")
    }

    // MARK: profile

    private static func profile(_ file: String, _ columns: String) -> String {
        "[insurer]\nname = fuzz\ninsurer_number = 06139992\n[file]\n\(file)\n[columns]\n\(columns)\n"
    }
    private static let requiredByNumber = "insurer_number = 1\nsymbol = 2\nnumber = 3\nkana_name = 4\nbirth_date = 5"

    /// `header = no` with a column number like 999999999999: RosterReader names every column up to
    /// it (列1 … 列N) and ran out of memory. Column numbers now stop at 10,000, with a message.
    @Test func profileColumnNumberIsBounded() throws {
        let huge = Self.profile("header = no", Self.requiredByNumber.replacingOccurrences(of: "birth_date = 5", with: "birth_date = 999999999999"))
        #expect {
            try InsurerProfile.parse(huge, path: "fuzz.profile")
        } throws: { error in
            guard case KenpoError.configuration(_, let line, let message) = error else { return false }
            return line == 11 && message.contains("from 1 (the first column) to 10000")
        }
        let widest = Self.profile("header = no", Self.requiredByNumber.replacingOccurrences(of: "birth_date = 5", with: "birth_date = 10000"))
        #expect(try InsurerProfile.parse(widest, path: "fuzz.profile").columns[.birthDate] == "10000")
    }

    /// `date_style = ,` (or an empty value) parsed to no style at all, so every row with a date would
    /// be rejected as DATE_INVALID with no hint that the profile is at fault.
    @Test(arguments: ["date_style =", "date_style = ,", "date_style = , ,"])
    func profileDateStyleMustNameAStyle(line: String) throws {
        #expect {
            try InsurerProfile.parse(Self.profile(line, Self.requiredByNumber), path: "fuzz.profile")
        } throws: { error in
            guard case KenpoError.configuration(_, let l, let message) = error else { return false }
            return l == 5 && message.contains("names no style")
        }
    }
}

extension FuzzRegressionTests {
    // MARK: xml

    /// Hands out its bytes in pieces of the given sizes (cycled), as a gzip member or a ZIP entry may.
    final class PiecesSource: ByteSource {
        let bytes: [UInt8], pieces: [Int]
        var offset = 0, k = 0
        let displayName = "pieces.xml"
        init(_ bytes: [UInt8], _ pieces: [Int]) { self.bytes = bytes; self.pieces = pieces }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(pieces[k % pieces.count], buffer.count, bytes.count - offset)
            k += 1
            guard n > 0 else { return 0 }
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
    }

    static func costNotice(encoding: String, institution: String = "かもめ内科クリニック") -> String {
        """
        <?xml version="1.0" encoding="\(encoding)"?>
        <医療費通知情報 xmlns="urn:kenpo:xml:cost-notice:1" 版="1"><被保険者><保険者番号>06139992</保険者番号>\
        <番号>1234567</番号><生年月日>1980-01-02</生年月日></被保険者><通知><診療年月>2026-04</診療年月>\
        <診療区分>外来</診療区分><医療機関等名称>\(institution)</医療機関等名称><医療費の総額>78,040</医療費の総額></通知></医療費通知情報>
        """
    }

    /// A declared encoding glibc's iconv does not know ("U-TF8", "UTF_8") went to libxml2's ICU
    /// fallback, which matches such names loosely and then fails on a character split between two
    /// reads: the document was accepted read whole and refused read in pieces (so, in real runs,
    /// depending on where the 64 KB reads fell). It is refused however it is read.
    @Test(arguments: ["U-TF8", "UTF_8"])
    func xmlEncodingOnlyICUKnowsIsRefusedWhateverTheReads(encoding: String) {
        let doc = Array(Self.costNotice(encoding: encoding).utf8)
        for pieces in [[doc.count], [3, 5, 7]] {
            guard case .failure(let p) = HealthDocumentReader().read(PiecesSource(doc, pieces)) else {
                Issue.record("\(encoding) accepted in reads of \(pieces)"); continue
            }
            #expect(p.reason == .malformedXML && p.message.contains("'\(encoding.lowercased())'"), "\(p)")
        }
        let utf8 = Array(Self.costNotice(encoding: "UTF-8").utf8)
        for pieces in [[utf8.count], [3, 5, 7]] {
            guard case .success(.costNotices(let d)) = HealthDocumentReader().read(PiecesSource(utf8, pieces)) else {
                Issue.record("UTF-8 refused in reads of \(pieces)"); continue
            }
            #expect(d.notices.first?.institution == "かもめ内科クリニック")
        }
    }

    /// The Shift_JIS declaration was sniffed from the first read only: a source whose first read
    /// held a few bytes made kenpo leave the document to libxml2's strict Shift_JIS, which cannot
    /// read NEC characters such as ①. The first 256 bytes are now gathered before sniffing.
    @Test func xmlShiftJISDeclarationSniffedAcrossSmallReads() throws {
        let sjis = CP932Encoder().encode(Self.costNotice(encoding: "Shift_JIS", institution: "かもめ①クリニック")).bytes
        for pieces in [[sjis.count], [3, 5, 7]] {
            guard case .success(.costNotices(let d)) = HealthDocumentReader().read(PiecesSource(sjis, pieces)) else {
                Issue.record("refused in reads of \(pieces)"); continue
            }
            #expect(d.notices.first?.institution == "かもめ①クリニック")
        }
    }
}

extension FuzzRegressionTests {
    // MARK: pipeline, profile

    /// `= rosters/a.csv` in [eligibility] (the profile name forgotten) was read as a roster for a
    /// profile named "", which failed only when the run looked that profile up. The INI reader now
    /// refuses a line with nothing before its '=', in pipeline and profile files alike.
    @Test func iniLineWithoutKeyIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-fuzz-\(UUID().uuidString)/pipelines")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let path = dir.appendingPathComponent("p.pipeline").path
        try "[eligibility]\n = rosters/a.csv\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            try PipelineDefinition.load(path: path)
        } throws: { error in
            guard case KenpoError.configuration(_, let line, let message) = error else { return false }
            return line == 2 && message.contains("nothing stands before the '='")
        }
        #expect(throws: KenpoError.self) {
            try InsurerProfile.parse(Self.profile("header = yes\n[values.sex]\n = M", Self.requiredByNumber), path: "fuzz.profile")
        }
    }
}
