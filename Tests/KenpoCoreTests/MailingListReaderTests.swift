import Foundation
import Testing
@testable import KenpoCore

@Suite struct MailingListReaderTests {
    static let header = "ins,sym,num,br,kana,kanji,birth,郵便番号,住所1,住所2"

    func read(_ rows: [String]) throws -> [MailingListReader.Record] {
        let profile = try InsurerProfile.parse(testProfileText, path: "test.profile")
        let path = NSTemporaryDirectory() + "kenpo-mailing-\(UUID().uuidString).csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(([Self.header] + rows).joined(separator: "\r\n").utf8 + [0x0D, 0x0A]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try MailingListReader(profile: profile, path: path)
        var out: [MailingListReader.Record] = []
        while let r = try reader.next() { out.append(r) }
        return out
    }

    /// A NUL byte is no text in a mailing list either (as in a roster): ENCODING_INVALID, naming the
    /// column and offset, whichever field holds it.
    @Test(arguments: [
        ("06139992,1001,1,00,ｻﾄｳ,佐藤\u{0}陽翔,S55.1.2,150-0001,東京都渋谷区,", "column 6: byte 0x00 at offset 6"),
        ("06139992,1001,1,00,ｻﾄｳ,佐藤,S55.1.2,150-0001,東京都渋谷区\u{0}神宮前,", "column 9: byte 0x00 at offset 18"),
    ])
    func aNULByteIsEncodingInvalid(_ row: String, _ detail: String) throws {
        let records = try read([row, "06139992,1001,2,00,ｻﾄｳ,佐藤,S55.1.2,150-0001,東京都渋谷区,"])
        guard case .rejected(let reason, let english, _, _, _, _) = try #require(records.first) else { Issue.record("accepted: \(row)"); return }
        #expect(reason == .encodingInvalid)
        #expect(english.hasPrefix(detail), "\(english)")
        guard case .row = records[1] else { Issue.record("the next row was not read"); return }
    }
}
