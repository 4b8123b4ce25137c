import Foundation
import Testing
@testable import KenpoCore

/// What the codes stage holds instead of the member master and its requests: the address book
/// (status in memory, name and address read back from members.csv) and the request spool.
@Suite("Codes stage: address book and request spool")
struct CodesMemoryTests {
    func temp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
    }

    static func member(_ pid: UInt64, status: MemberStatus = .active, kanji: String, kana: String, address: String,
                       postal: String = "1050011", insurer: String = "06139999") -> MemberRecord {
        var m = MemberRecord()
        m.personID = StableHash.hex(pid); m.insurerNumber = insurer; m.symbol = "1"; m.number = String(pid)
        m.symbolKey = "1"; m.numberKey = String(pid); m.kanaKey = kana; m.birthDate = "1980-01-0\(pid % 9 + 1)"
        m.kanaName = kana; m.kanjiName = kanji; m.sex = "1"; m.relationship = "1"; m.qualifiedDate = "2020-04-01"
        m.status = status; m.postalCode = postal; m.address = address
        return m
    }

    /// members.csv as kenpo writes it, with the given line end, and the last row's line end optional.
    func writeMaster(_ members: [MemberRecord], lineEnd: String = "\r\n", lastLineEnd: Bool = true) throws -> String {
        var text = MemberRecord.header.joined(separator: ",") + lineEnd
        for (i, m) in members.enumerated() {
            var row: [UInt8] = []
            CSVWriter.encodeRow(m.fields, into: &row)
            var line = String(decoding: row.dropLast(2), as: UTF8.self)
            if i < members.count - 1 || lastLineEnd { line += lineEnd }
            text += line
        }
        let path = temp("members")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: [("\r\n", true), ("\n", true), ("\r\n", false)])
    func readsBackNameAndAddressOfAnyRow(lineEnd: String, lastLineEnd: Bool) throws {
        // Sorted ids; addresses with a comma, a quote and a line break inside quotes; a long row.
        let members = [
            Self.member(3, kanji: "山田　太郎", kana: "ヤマダ タロウ", address: "東京都港区芝公園4-2-8"),
            Self.member(7, status: .left, kanji: "", kana: "スズキ ハナコ", address: "大阪府大阪市北区1-1, \"梅田\"ビル"),
            Self.member(11, kanji: "佐藤　一", kana: "サトウ ハジメ", address: "札幌市中央区\r\n北1条西2丁目"),
            Self.member(19, status: .pending, kanji: "高橋　次郎", kana: "タカハシ ジロウ", address: String(repeating: "長い住所", count: 2000)),
        ]
        let path = try writeMaster(members, lineEnd: lineEnd, lastLineEnd: lastLineEnd)
        defer { unlink(path) }
        let (directory, book) = try MemberAddressBook.load(masterPath: path)
        #expect(directory.count == 4 && book.count == 4)
        #expect([3, 7, 11, 19, 5].map { book.status(of: $0) } == [.active, .left, .active, .pending, nil])
        // Out of order, and twice: each read is independent of the one before.
        for pid in [UInt64(19), 3, 11, 7, 3, 19] {
            let expected = members.first { $0.personID == StableHash.hex(pid) }!
            let m = try #require(try book.member(pid))
            #expect(m.kanjiName == expected.kanjiName && m.kanaName == expected.kanaName)
            #expect(m.address == expected.address && m.postal == expected.postalCode && m.insurer == expected.insurerNumber)
            #expect(m.status == expected.status)
        }
        #expect(try book.member(5) == nil)
    }

    @Test func noMasterMeansNobody() throws {
        let (directory, book) = try MemberAddressBook.load(masterPath: nil)
        #expect(directory.count == 0 && book.count == 0)
        #expect(book.status(of: 1) == nil)
        #expect(try book.member(1) == nil)
    }

    @Test func aMasterChangedUnderTheBookIsAnErrorNotAWrongPostcard() throws {
        let path = try writeMaster([Self.member(3, kanji: "山田", kana: "ヤマダ", address: "東京都"),
                                    Self.member(4, kanji: "田中", kana: "タナカ", address: "京都府")])
        defer { unlink(path) }
        let (_, book) = try MemberAddressBook.load(masterPath: path)
        // Rewritten in place with person 4's row where person 3's was.
        let other = try writeMaster([Self.member(4, kanji: "田中", kana: "タナカ", address: "京都府")])
        defer { unlink(other) }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.write(contentsOf: try Data(contentsOf: URL(fileURLWithPath: other)))
        try h.close()
        #expect(throws: KenpoError.self) { _ = try book.member(3) }
    }

    @Test func theSpoolGivesBackEveryRequestInOrderWithMergedTickets() throws {
        let path = temp("spool")
        let spool = try PostcardRequestSpool(path: path)
        let folder = ReissueRequestGeneratorTests.profilesFolder
        let kamome = try InsurerProfile.load(path: folder + "/sample-kamome.profile")
        let tsubame = try InsurerProfile.load(path: folder + "/sample-tsubame.profile")
        let requests: [PostcardRequestSpool.Request] = [
            .init(personID: 1, postal: "105-0011", address1: "東京都港区芝公園4-2-8", address2: "=1+2ビル", name: "𠮷田　恭子",
                  insurer: "かもめ健保", reason: "mailing", tickets: [], profile: kamome),
            .init(personID: UInt64.max, postal: "", address1: "a,\"b\"\r\nc", address2: "", name: "",
                  insurer: "", reason: "lost", tickets: ["T-1"], profile: nil),
            .init(personID: 0x0123_4567_89ab_cdef, postal: "1000001", address1: "千代田区", address2: "", name: "スズキ",
                  insurer: "つばめ健保", reason: "stolen", tickets: ["T-2", ""], profile: tsubame),
            .init(personID: 4, postal: "1000001", address1: "x", address2: "y", name: "z",
                  insurer: "かもめ健保", reason: "mailing", tickets: [], profile: kamome),
        ]
        for (i, r) in requests.enumerated() { #expect(spool.append(r) == i) }
        spool.addTicket("T-3", to: 1)
        spool.addTicket("T-4", to: 1)
        #expect(spool.count == 4)
        var back: [PostcardRequestSpool.Request] = []
        try spool.forEach { back.append($0) }
        #expect(back.count == 4)
        for (a, b) in zip(back, requests) {
            #expect(a.personID == b.personID && a.postal == b.postal && a.address1 == b.address1 && a.address2 == b.address2)
            #expect(a.name == b.name && a.insurer == b.insurer && a.reason == b.reason && a.profile?.name == b.profile?.name)
        }
        #expect(back.map(\.tickets) == [[], ["T-1", "T-3", "T-4"], ["T-2", ""], []])
        #expect(!FileManager.default.fileExists(atPath: path), "the spool file is removed once read")
    }
}
