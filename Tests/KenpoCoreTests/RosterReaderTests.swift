import Foundation
import Testing
@testable import KenpoCore

/// One profile for these tests: UTF-8, a header, every field mapped.
let testProfileText = """
[insurer]
name = test
insurer_number = 06139992
[file]
encoding = UTF-8
date_style = auto
[columns]
insurer_number = ins
symbol = sym
number = num
branch = br
kana_name = kana
kanji_name = kanji
birth_date = birth
sex = sex
relationship = rel
qualified_date = q
disqualified_date = dq
former_insurer_number = fins
former_symbol = fsym
former_number = fnum
"""
let testHeader = "ins,sym,num,br,kana,kanji,birth,sex,rel,q,dq,fins,fsym,fnum"
let goodRow = "06139992,1001,12345678,00,ﾔﾏﾀﾞ ｷｮｳｺ,山田 恭子,S55.1.2,2,本人,2000/04/01,,,,"

func readRoster(_ rows: [String], runDate: CalendarDate = CalendarDate(year: 2026, month: 11, day: 21)!) throws -> [RosterRecord] {
    let profile = try InsurerProfile.parse(testProfileText, path: "test.profile")
    let path = NSTemporaryDirectory() + "kenpo-roster-\(UUID().uuidString).csv"
    _ = FileManager.default.createFile(atPath: path, contents: Data(([testHeader] + rows).joined(separator: "\r\n").utf8 + [0x0D, 0x0A]))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let reader = try RosterReader(profile: profile, path: path, runDate: runDate)
    var out: [RosterRecord] = []
    while let r = try reader.next() { out.append(r) }
    return out
}

struct RosterReaderTests {
    @Test func aGoodRowIsNormalised() throws {
        let records = try readRoster([goodRow])
        guard case .accepted(let row, let line) = try #require(records.first) else { Issue.record("rejected"); return }
        #expect(line == 2)
        #expect(row.member.numberKey == "2345678")
        #expect(row.member.kanaName == "ヤマダキョウコ")
        #expect(row.member.kanaKey == "ヤマダキヨウコ")
        #expect(row.member.birthDate == "1980-01-02")
        #expect(row.member.sex == "F")
        #expect(row.member.relationship == "insured")
        #expect(row.member.status == .active)
        #expect(row.member.cardAliases == "06139992:1001:2345678")
    }

    /// Each reject reason, from one changed field of the good row.
    @Test(arguments: [
        ("\"06139992\"x,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,", RejectReason.malformedRecord),  // text after a closing quote
        ("06139992,1001,12345678", .columnCount),
        ("06139992,1001,,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,", .fieldMissing),
        ("0613999,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,", .insurerNumberInvalid),
        ("06139993,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,", .insurerCheckDigit),
        ("06279996,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,", .insurerMismatch),
        ("06139992,1001,12-34,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,", .numberInvalid),
        ("06139992,1001,1,A1,ｶﾅ,山田,S55.1.2,2,本人,,,,,", .branchInvalid),
        ("06139992,1001,1,00,山田,山田,S55.1.2,2,本人,,,,,", .kanaInvalid),
        ("06139992,1001,1,00,ｶﾅ,山田,S55.2.30,2,本人,,,,,", .dateInvalid),
        ("06139992,1001,1,00,ｶﾅ,山田,R20.1.1,2,本人,,,,,", .birthAfterRunDate),
        ("06139992,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,2000/04/01,1999/03/31,,,", .qualificationOrder),
        ("06139992,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,1979/04/01,,,,", .qualificationOrder),
        ("06139992,1001,1,00,ｶﾅ,山田,S55.1.2,X,本人,,,,,", .sexInvalid),
        ("06139992,1001,1,00,ｶﾅ,山田,S55.1.2,2,親戚,,,,,", .relationshipInvalid),
        ("06139992,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,,,06139992,,1", .formerCardInvalid),
    ])
    func eachRejectReason(_ row: String, _ reason: RejectReason) throws {
        let records = try readRoster([row, goodRow])
        try #require(records.count == 2)
        guard case .rejected(let p, let line, _, _) = records[0] else { Issue.record("accepted: \(row)"); return }
        #expect(p.reason == reason)
        #expect(line == 2)
        // The rest of the file still loads.
        guard case .accepted = records[1] else { Issue.record("the next row was not accepted"); return }
    }

    @Test func encodingInvalidNamesTheColumnAndOffset() throws {
        let profile = try InsurerProfile.parse(testProfileText.replacingOccurrences(of: "encoding = UTF-8", with: "encoding = CP932"), path: "t.profile")
        let path = NSTemporaryDirectory() + "kenpo-cp-\(UUID().uuidString).csv"
        var bytes = Array((testHeader + "\r\n06139992,1001,1,00,").utf8)
        bytes += [0xB6, 0x85, 0x20]  // ｶ then 0x85 0x20: not a CP932 character
        bytes += Array(",x,S55.1.2,2,1,,,,,\r\n".utf8)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try RosterReader(profile: profile, path: path, runDate: CalendarDate(year: 2026, month: 11, day: 21)!)
        guard case .rejected(let p, _, _, _) = try #require(try reader.next()) else { Issue.record("accepted"); return }
        #expect(p.reason == .encodingInvalid)
        #expect(p.detail.contains("'kana'"))
        #expect(p.detail.contains("offset 1"))
    }

    /// Control characters in a name are no text (ESC [2J clears the terminal of whoever views
    /// members.csv): ENCODING_INVALID, as a NUL byte is. A bidi override (a format character) is text.
    @Test(arguments: [
        ("\u{1B}]0;pwned\u{07}\u{1B}[2J佐藤", "U+001B", 1),
        ("佐藤\u{07}", "U+0007", 3),
        ("\"佐藤\r三郎\"", "U+000D", 3),
        ("佐藤\t三郎", "U+0009", 3),
        ("佐藤\u{7F}", "U+007F", 3),
        ("佐藤\u{85}三郎", "U+0085", 3),
        ("佐藤\u{202E}郎次", nil, 0),
    ])
    func aControlCharacterInTheKanjiNameIsRefused(_ kanji: String, _ code: String?, _ position: Int) throws {
        let row = "06139992,1001,1,00,ｶﾅ,\(kanji),S55.1.2,2,本人,,,,,"
        let records = try readRoster([row])
        guard let code else {
            guard case .accepted(let r, _) = try #require(records.first) else { Issue.record("rejected: \(records)"); return }
            #expect(r.member.kanjiName == "佐藤\u{202E}郎次")
            return
        }
        guard case .rejected(let p, _, _, _) = try #require(records.first) else { Issue.record("accepted: \(kanji)"); return }
        #expect(p.reason == .encodingInvalid)
        #expect(p.field == .kanjiName)
        #expect(p.detail == "column 'kanji' holds the control character \(code) at character \(position); a name or address is text only")
        #expect(p.japaneseDetail == "列「kanji」の\(position)文字目に制御文字（\(code)）があります")
    }

    /// An address may break its lines (CR LF, LF, tab kept); any other control character is refused.
    @Test(arguments: [
        ("\"東京都\r\n渋谷区\n神宮前9\"", nil as String?),
        ("東京都\t渋谷区", nil),
        ("東京都渋谷区\u{1B}[31m神宮前", "U+001B"),
        ("東京都\u{0}渋谷区", "ENCODING"),
    ])
    func anAddressKeepsLineBreaksButNoOtherControl(_ address: String, _ code: String?) throws {
        let profile = try InsurerProfile.parse(testProfileText + "\naddress = addr\n", path: "test.profile")
        let path = NSTemporaryDirectory() + "kenpo-roster-\(UUID().uuidString).csv"
        let rows = [testHeader + ",addr", "06139992,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,,,,,," + address]
        _ = FileManager.default.createFile(atPath: path, contents: Data((rows.joined(separator: "\r\n") + "\r\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try RosterReader(profile: profile, path: path, runDate: CalendarDate(year: 2026, month: 11, day: 21)!)
        let record = try #require(try reader.next())
        switch (record, code) {
        case (.accepted, nil): break
        case (.rejected(let p, _, _, _), let code?):
            #expect(p.reason == .encodingInvalid)
            if code.hasPrefix("U+") { #expect(p.detail.contains("control character \(code)")) } else { #expect(p.detail.contains("byte 0x00")) }
        default: Issue.record("\(address): \(record)")
        }
    }

    /// The KANA_INVALID detail quotes the value as read, its control characters escaped.
    @Test func aKanaNameWithATerminalEscapeIsQuotedEscaped() throws {
        let records = try readRoster(["06139992,1001,1,00,\u{1B}[2Jｻﾄｳ,佐藤,S55.1.2,2,本人,,,,,"])
        guard case .rejected(let p, _, _, _) = try #require(records.first) else { Issue.record("accepted"); return }
        #expect(p.reason == .kanaInvalid)
        #expect(p.detail == "column 'kana' value '\\x1B[2Jｻﾄｳ': '\\x1B' is not kana")
        #expect(!p.detail.unicodeScalars.contains { ControlCharacters.isControl($0) })
    }

    @Test func statusFollowsTheRunDate() throws {
        let future = "06139992,1001,1,00,ｶﾅ,山田,S55.1.2,2,本人,2027/01/01,,,,"
        let lost = "06139992,1001,2,00,ｶﾅ,山田,S55.1.2,2,本人,2000/01/01,2026/11/21,,,"
        let records = try readRoster([future, lost])
        guard case .accepted(let a, _) = records[0], case .accepted(let b, _) = records[1] else { Issue.record("rejected"); return }
        #expect(a.member.status == .pending)
        #expect(b.member.status == .disqualified)  // 資格喪失日 on the run date: no longer qualified
    }
}

struct InsurerProfileTests {
    @Test(arguments: [
        ("[insurer]\nname = x\n[columns]\ninsurer_number = a\n", 3, "must map"),
        ("[insurer]\nname = x\n[file]\nencoding = EBCDIC\n", 4, "encoding"),
        ("[insurer]\nname = x\nname = y\n", 3, "set twice"),
        ("[insurer]\nname = x\n[colums]\n", 3, "unknown section"),
        ("[insurer]\nname = x\ninsurer_number = 06139993\n", 3, "check digit"),
        ("name = x\n", 1, "before any [section]"),
        // No insurer_number: named at [insurer], saying what to add (a roster must be one insurer's).
        ("# comment\n[insurer]\nname = x\n[columns]\ninsurer_number = a\nsymbol = b\nnumber = c\nkana_name = d\nbirth_date = e\n", 2,
         "[insurer] has no insurer_number: add 'insurer_number = NNNNNNNN'"),
    ])
    func malformedProfilesNameTheLine(_ text: String, _ line: Int, _ fragment: String) {
        do {
            _ = try InsurerProfile.parse(text, path: "p.profile")
            Issue.record("accepted a malformed profile")
        } catch let e as KenpoError {
            if case .configuration(_, let l, let m) = e {
                #expect(l == line, "\(e)")
                #expect(m.contains(fragment), "\(m)")
            } else { Issue.record("\(e)") }
        } catch { Issue.record("\(error)") }
    }

    @Test func bundledProfilesLoad() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let k = try InsurerProfile.load(path: root + "/pipelines/profiles/sample-kamome.profile")
        #expect(k.encoding == .cp932 && k.dateStyles.first == .eraCode && k.relationshipValues["5"] == "special_retiree_insured")
        let t = try InsurerProfile.load(path: root + "/pipelines/profiles/sample-tsubame.profile")
        #expect(t.encoding == .utf8 && t.columns[.memberRef] == "個人管理番号" && t.sexValues["男"] == "M")
    }
}
