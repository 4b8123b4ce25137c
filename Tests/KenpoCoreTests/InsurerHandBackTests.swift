import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// Insurer hand-back files (返戻): Japanese reasons for every reject reason, the CP932 file round
/// trip, rows as sent, formula neutralising, the summary, and which insurers get a folder.
@Suite struct InsurerHandBackTests {
    static let runDate = CalendarDate(year: 2026, month: 11, day: 21)!

    static func profile(_ name: String, encoding: String, insurer: String = "06139992") throws -> InsurerProfile {
        try InsurerProfile.parse("""
            [insurer]
            name = \(name)
            display_name = かもめ健康保険組合
            insurer_number = \(insurer)
            [file]
            encoding = \(encoding)
            [columns]
            insurer_number = 保険者番号
            symbol = 記号
            number = 番号
            kana_name = ｶﾅ氏名
            birth_date = 生年月日
            """, path: "\(name).profile")
    }

    /// A run in a fresh data folder (never published: the tests read its staging folder).
    static func withRun(_ body: (Run) throws -> Void) throws {
        let root = NSTemporaryDirectory() + "kenpo-handback-\(UUID().uuidString)"
        defer { FileSystem.removeTree(root) }
        let run = try Run(data: DataFolder(root: root), stage: "test", runDate: runDate)
        defer { run.abandon() }
        try body(run)
    }

    static func cp932(_ s: String) -> [UInt8] {
        let (bytes, bad) = CP932Encoder().encode(s)
        precondition(bad.isEmpty, "test text not CP932: \(s)")
        return bytes
    }

    /// Every record of a file as raw field bytes (BOM skipped, quotes undone).
    static func records(_ path: String) throws -> [[[UInt8]]] {
        let reader = try CSVReader(path: path)
        var out: [[[UInt8]]] = []
        while try reader.next() { out.append((0..<reader.fieldCount).map { Array(reader.fieldBytes($0)) }) }
        return out
    }

    /// The substitution mark 〓 (0x81AC) at a character boundary of CP932 bytes.
    static func hasGeta(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let lead = (0x81...0x9F).contains(b) || (0xE0...0xFC).contains(b)
            if lead, i + 1 < bytes.count, b == 0x81, bytes[i + 1] == 0xAC { return true }
            i += lead ? 2 : 1
        }
        return false
    }

    static func decoded(_ record: [[UInt8]]) throws -> [String] {
        let d = CP932Decoder()
        return try record.map { try d.decode($0).get() }
    }

    /// True when iconv can write `s` as ISO-2022-JP: ASCII and JIS X 0208 only (no half-width kana,
    /// no NEC/IBM extensions, nothing outside JIS).
    static func isJISX0208(_ s: String) -> Bool {
        let cd = iconv_open("ISO-2022-JP", "UTF-8")
        guard cd != iconv_t(bitPattern: -1) else { return false }
        defer { iconv_close(cd) }
        var input = Array(s.utf8)
        var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
        return input.withUnsafeMutableBytes { inBuf in
            output.withUnsafeMutableBytes { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress?.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                return iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) != -1 && inLeft == 0
            }
        }
    }

    /// Every Japanese text a hand-back file can hold: each reason, each reason naming each field, the
    /// column and summary labels, the member statuses.
    static var allJapaneseTexts: [String] {
        var texts = RejectReason.allCases.map(\.japaneseMessage)
        for r in RejectReason.allCases { for f in RosterField.allCases { texts.append(r.japaneseMessage(field: f)) } }
        texts += RosterField.allCases.map(\.japaneseName)
        texts += InsurerHandBack.Count.allCases.map(\.japaneseLabel)
        texts += [MemberStatus.active, .pending, .disqualified, .left].map(\.japaneseName)
        texts += InsurerHandBack.rejectColumns + InsurerHandBack.summaryHeader
        return texts
    }

    @Test func everyReasonHasItsOwnJapaneseText() {
        for r in RejectReason.allCases {
            let t = r.japaneseMessage
            #expect(!t.isEmpty && t != r.summary, "\(r.rawValue)")
            #expect(t.unicodeScalars.contains { $0.value >= 0x3000 }, "\(r.rawValue): '\(t)' is not Japanese")
        }
        // No two reasons share a text: the insurer can tell them apart without the code.
        let texts = RejectReason.allCases.map(\.japaneseMessage)
        #expect(Set(texts).count == texts.count)
        #expect(RejectReason.insurerCheckDigit.japaneseMessage == "保険者番号の検証番号が一致しません")
    }

    @Test func reasonsAboutAFieldNameIt() {
        #expect(RejectReason.dateInvalid.japaneseMessage(field: .birthDate) == "生年月日が読み取れません（存在しない日付を含む）")
        #expect(RejectReason.dateInvalid.japaneseMessage(field: .qualifiedDate) == "資格取得日が読み取れません（存在しない日付を含む）")
        #expect(RejectReason.fieldMissing.japaneseMessage(field: .number) == "番号が空です")
        #expect(RejectReason.encodingInvalid.japaneseMessage(field: .kanaName) == "カナ氏名に文字コードとして読めないバイトがあります")
        #expect(RejectReason.qualificationOrder.japaneseMessage(field: .disqualifiedDate) == "資格喪失日が資格取得日より前です")
        #expect(RejectReason.qualificationOrder.japaneseMessage(field: .qualifiedDate) == "資格取得日が生年月日より前です")
        #expect(RejectReason.numberInvalid.japaneseMessage(field: .number) == "被保険者番号（番号）が数字ではありません")
        #expect(RejectReason.sexInvalid.japaneseMessage(field: nil) == RejectReason.sexInvalid.japaneseMessage)
    }

    @Test func everyJapaneseTextIsJISX0208AndSurvivesCP932Unchanged() throws {
        let encoder = CP932Encoder(), decoder = CP932Decoder()
        for t in Self.allJapaneseTexts {
            #expect(Self.isJISX0208(t), "'\(t)' has a character outside JIS X 0208")
            let (bytes, bad) = encoder.encode(t)
            #expect(bad.isEmpty, "'\(t)': \(bad) cannot be written in CP932")
            #expect(!Self.hasGeta(bytes), "'\(t)' became 〓")
            #expect(try decoder.decode(bytes).get() == t, "'\(t)' does not round-trip through CP932")
        }
        // The check itself tells JIS X 0208 from the rest.
        #expect(Self.isJISX0208("生年月日が読み取れません"))
        #expect(!Self.isJISX0208("①") && !Self.isJISX0208("髙") && !Self.isJISX0208("ｶﾅ") && !Self.isJISX0208("𠮷"))
    }

    @Test func cp932FileRoundTripsWithRowsExactlyAsSent() throws {
        let kamome = try Self.profile("kamome", encoding: "CP932")
        let header = ["保険者番号", "記号", "番号", "ｶﾅ氏名", "漢字氏名", "生年月日", "住所"].map(Self.cp932)
        // NEC ① and IBM 髙 exist only in CP932; a comma, a quote and a line break need quoting; 0xFF is not CP932 at all.
        let row1 = ["06139993", "3010", "100", "ｷﾑﾗ ｻﾄｼ", "髙橋　①", "3600101", "東京都\"本社\", 2F\r\n別館"].map(Self.cp932)
        let row2: [[UInt8]] = [Self.cp932("06139992"), Self.cp932("30"), [0x31, 0xFF, 0x32], Self.cp932("ﾊﾔｼ"), [], Self.cp932("4310501"), []]
        try Self.withRun { run in
            let h = InsurerHandBack(run: run)
            h.source(kamome, header: header)
            try h.reject(kamome, file: "inbox/kamome-day1.csv", line: 12, reason: .insurerCheckDigit, field: .insurerNumber,
                         detail: InsurerHandBack.fieldDetail(column: "保険者番号", value: "06139993"), raw: row1)
            try h.reject(kamome, file: "inbox/kamome-day1.csv", line: 14, reason: .encodingInvalid, field: .number,
                         detail: "列「番号」の2バイト目（0xFF）がCP932として読めません", raw: row2)
            h.add(.rosterRowsRead, 3, for: kamome)
            h.add(.rosterRowsRejected, 2, for: kamome)
            h.add(.rosterRowsAccepted, 1, for: kamome)
            try h.write()

            let path = run.staging + "/insurers/kamome/rejects.csv"
            let bytes = try #require(FileManager.default.contents(atPath: path))
            #expect(String(data: bytes, encoding: .utf8) == nil, "CP932, not UTF-8")
            #expect(Array(bytes.prefix(3)) != [0xEF, 0xBB, 0xBF], "no BOM in a CP932 file")
            let records = try Self.records(path)
            #expect(records.count == 3)
            #expect(try Self.decoded(records[0]) == InsurerHandBack.rejectColumns + ["保険者番号", "記号", "番号", "ｶﾅ氏名", "漢字氏名", "生年月日", "住所"])
            #expect(try Self.decoded(Array(records[1].prefix(5))) == [
                "kamome-day1.csv", "12", "INSURER_CHECK_DIGIT", "保険者番号の検証番号が一致しません", "列「保険者番号」の値「06139993」"])
            #expect(Array(records[1].dropFirst(5)) == row1, "the row goes back byte for byte")
            #expect(try Self.decoded(Array(records[1].dropFirst(5)))[4] == "髙橋　①")
            #expect(try Self.decoded(Array(records[2].prefix(5))) == [
                "kamome-day1.csv", "14", "ENCODING_INVALID", "番号に文字コードとして読めないバイトがあります", "列「番号」の2バイト目（0xFF）がCP932として読めません"])
            #expect(Array(records[2].dropFirst(5)) == row2, "even bytes that are not CP932 go back as sent")
            #expect(!Self.hasGeta([UInt8](bytes)), "nothing became 〓")
            // The manifest entry counts rejected rows (not the header) and matches the bytes.
            let out = try #require(run.outputs.first { $0.path == "insurers/kamome/rejects.csv" })
            let (sha, size) = try SHA256Digest.hex(ofFile: path)
            #expect(out.rows == 2 && out.sha256 == sha && out.bytes == size)
            // Owner-only, like every output.
            var st = stat()
            stat(path, &st)
            #expect(st.st_mode & 0o077 == 0)

            // summary.csv: CP932 too; the counts, no other numbers.
            let summary = try Self.records(run.staging + "/insurers/kamome/summary.csv").map { try Self.decoded($0) }
            #expect(summary.first == InsurerHandBack.summaryHeader)
            let values = Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[1], $0[2]) })
            #expect(values["insurer_profile"] == "kamome" && values["insurer_name"] == "かもめ健康保険組合" && values["insurer_number"] == "06139992")
            #expect(values["run_id"] == run.id && values["run_date"] == "2026-11-21")
            #expect(values["roster_rows_read"] == "3" && values["roster_rows_accepted"] == "1" && values["roster_rows_rejected"] == "2")
            #expect(values["codes_issued"] == "0" && values["postcards"] == "0" && values["reissues"] == "0")
            #expect(Array(summary.dropFirst().map { $0[1] }.suffix(InsurerHandBack.Count.allCases.count)) == InsurerHandBack.Count.allCases.map(\.rawValue))
            #expect(summary.dropFirst().allSatisfy { $0.count == 3 })
        }
    }

    @Test func cellsASpreadsheetWouldRunAreNeutralised() throws {
        let kamome = try Self.profile("kamome", encoding: "CP932")
        let tsubame = try Self.profile("tsubame", encoding: "UTF-8", insurer: "06279996")
        let cells = ["=HYPERLINK(\"http://x\")", "+81-3-1234", "-ｻﾄｳ", "@SUM(A1)", "\tx", "＝1+1", "＋1", "－1", "＠x",
                     "-5", "+12.5", "12", "ﾔﾏﾀﾞ", "", "a=b"]
        let expected = [true, true, true, true, true, true, true, true, true, false, false, false, false, false, false]
        try Self.withRun { run in
            let h = InsurerHandBack(run: run)
            h.source(kamome, header: cells.indices.map { Self.cp932("列\($0)") })
            try h.reject(kamome, file: "=evil.csv", line: 2, reason: .malformedRecord, detail: "=1+2", raw: cells.map(Self.cp932))
            h.source(tsubame, header: [Array("=head".utf8)])
            // UTF-8: a formula start before a byte that is not UTF-8 is still a formula start.
            try h.reject(tsubame, file: "t.csv", line: 3, reason: .encodingInvalid, detail: "d",
                         raw: cells.map { Array($0.utf8) } + [[0x3D, 0xFF], [0xFF, 0x3D]])
            try h.write()

            let k = try Self.records(run.staging + "/insurers/kamome/rejects.csv")
            let row = k[1]
            #expect(try Self.decoded([row[0]]) == ["'=evil.csv"])
            #expect(try Self.decoded([row[4]]) == ["'=1+2"])
            for (i, cell) in cells.enumerated() {
                let sent = row[5 + i]
                if expected[i] {
                    #expect(sent == [0x27] + Self.cp932(cell), "'\(cell)' must start with ' and keep every other byte")
                } else {
                    #expect(sent == Self.cp932(cell), "'\(cell)' is not a formula and goes back unchanged")
                }
            }
            let t = try Self.records(run.staging + "/insurers/tsubame/rejects.csv")
            #expect(t[0].last == Array("'=head".utf8), "the insurer's header cells too")
            for (i, cell) in cells.enumerated() {
                #expect(t[1][5 + i] == (expected[i] ? [0x27] : []) + Array(cell.utf8), "UTF-8 '\(cell)'")
            }
            #expect(t[1][5 + cells.count] == [0x27, 0x3D, 0xFF])
            #expect(t[1][6 + cells.count] == [0xFF, 0x3D])
        }
        // The rule is the print file's: SpreadsheetSafe.
        for (cell, formula) in zip(cells, expected) {
            #expect(SpreadsheetSafe.needsNeutralising(cell) == formula, "\(cell)")
            #expect(InsurerHandBack.startsLikeFormula(Self.cp932(cell), encoding: .cp932, decoder: CP932Decoder()) == formula, "\(cell)")
        }
    }

    @Test func utf8InsurersGetABOMAndOnlyTouchedInsurersGetAFolder() throws {
        let kamome = try Self.profile("kamome", encoding: "CP932")
        let tsubame = try Self.profile("tsubame", encoding: "UTF-8", insurer: "06279996")
        _ = kamome
        try Self.withRun { run in
            let h = InsurerHandBack(run: run)
            h.touch(tsubame)
            h.add(.reissues, 2, for: tsubame)
            try h.write()
            #expect(!FileManager.default.fileExists(atPath: run.staging + "/insurers/kamome"))
            let rejects = try #require(FileManager.default.contents(atPath: run.staging + "/insurers/tsubame/rejects.csv"))
            #expect(Array(rejects.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(String(decoding: rejects.dropFirst(3), as: UTF8.self) == "ファイル名,行番号,理由コード,理由,詳細\r\n")
            let summary = try #require(FileManager.default.contents(atPath: run.staging + "/insurers/tsubame/summary.csv"))
            #expect(Array(summary.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(String(decoding: summary, as: UTF8.self).contains("再発行したはがきの枚数,reissues,2\r\n"))
            #expect(run.outputs.map(\.path).sorted() == ["insurers/tsubame/rejects.csv", "insurers/tsubame/summary.csv"])
            #expect(run.outputs.first { $0.path.hasSuffix("rejects.csv") }?.rows == 0)
        }
    }

    @Test func filesWithDifferentHeadersShareNumberedColumns() throws {
        let kamome = try Self.profile("kamome", encoding: "CP932")
        try Self.withRun { run in
            let h = InsurerHandBack(run: run)
            h.source(kamome, header: ["保険者番号", "記号"].map(Self.cp932))
            h.source(kamome, header: ["保険者番号", "記号"].map(Self.cp932))   // the same header again: one header
            h.source(kamome, header: ["保険者番号", "記号", "番号"].map(Self.cp932))
            try h.reject(kamome, file: "roster.csv", line: 2, reason: .symbolInvalid, field: .symbol, detail: "x", raw: [Self.cp932("1"), Self.cp932("?")])
            try h.reject(kamome, file: "mailing.csv", line: 5, reason: .unknownPerson, detail: "y",
                         raw: ["06139992", "1", "2", "ﾔﾏﾀﾞ"].map(Self.cp932))
            try h.write()
            let records = try Self.records(run.staging + "/insurers/kamome/rejects.csv")
            #expect(try Self.decoded(records[0]) == InsurerHandBack.rejectColumns + ["元の列1", "元の列2", "元の列3", "元の列4"])
            #expect(try Self.decoded(records[1]).prefix(4) == ["roster.csv", "2", "SYMBOL_INVALID", "記号が読み取れません"])
            #expect(records[2].count == 5 + 4)
        }
    }

    @Test func manyRejectedRowsAreSpooledNotHeld() throws {
        let tsubame = try Self.profile("tsubame", encoding: "UTF-8", insurer: "06279996")
        try Self.withRun { run in
            let h = InsurerHandBack(run: run)
            h.source(tsubame, header: [Array("a".utf8), Array("b".utf8)])
            for line in 2...20_001 {
                try h.reject(tsubame, file: "big.csv", line: line, reason: .insurerMismatch, field: .insurerNumber,
                             detail: "列「a」の値「06139992」", raw: [Array("06139992".utf8), Array(String(line).utf8)])
            }
            #expect(h.rejectedRows(profile: "tsubame") == 20_000)
            try h.write()
            let records = try Self.records(run.staging + "/insurers/tsubame/rejects.csv")
            #expect(records.count == 1 + 20_000)
            #expect(records.last?.last == Array("20001".utf8))
            #expect(run.outputs.first { $0.path == "insurers/tsubame/rejects.csv" }?.rows == 20_000)
            #expect(!FileManager.default.fileExists(atPath: run.scratch + "/handback-tsubame.rows"), "the spool is removed")
        }
    }
}
