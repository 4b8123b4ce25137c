import Foundation
import Testing
@testable import KenpoCore

/// The generator's support-desk reissue requests: person ids as the eligibility stage gives them,
/// the share, the faulty rows and their expected rejects.
struct ReissueRequestGeneratorTests {
    static let profilesFolder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/pipelines/profiles"
    }()
    let runDate = CalendarDate(year: 2026, month: 11, day: 21)!

    /// Person ids of the samples' day-1 members, as `kenpo eligibility` publishes them in members.csv.
    @Test("person ids as the eligibility stage gives them", arguments: [
        // かもめ: no member reference: card, branch, kana key and birth date (half-width kana, leading zeros).
        ("06139992", "1001", "0012345678", "00", "ﾔﾏﾀﾞ ｷﾖｳｺ", CalendarDate(year: 1980, month: 1, day: 2)!, "", "aee18e008e288d81"),
        // つばめ: the member reference decides; the card does not.
        ("06279996", "ア12", "0001234", "00", "サトウ　ハルト", CalendarDate(year: 1990, month: 4, day: 15)!, "M000000001", "e0105234c3879790"),
    ])
    func personIDs(_ c: (String, String, String, String, String, CalendarDate, String, String)) {
        #expect(ReissueRequestGenerator.personID(insurerNumber: c.0, symbol: c.1, number: c.2, branch: c.3, kana: c.4,
                                                 birthDate: c.5, memberRef: c.6) == c.7)
    }

    @Test func requestsFollowTheShareAndNameOneFaultyRowOfEachKind() throws {
        let out = NSTemporaryDirectory() + "kenpo-reissue-\(UUID().uuidString)"
        defer { FileSystem.removeTree(out) }
        let profiles = try ["sample-kamome", "sample-tsubame"].map { try InsurerProfile.resolve($0, searchDirectory: Self.profilesFolder) }
        let options = GeneratorOptions(members: 4000, seed: 3, faultyShare: 0.02, runDate: runDate, profiles: profiles, outDirectory: out)
        let files = try RosterGenerator.generate(options)
        let file = try #require(files.first { $0.kind == "reissue" })
        // 1960 valid rows per profile: 20 requests each; round(40 × 0.02) = 1 faulty row of each kind.
        #expect(file.path == out + "/reissue/requests.csv" && file.rows == 43 && file.faultyRows == 2 && file.mergedRows == 1)
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        let lines = text.components(separatedBy: "\r\n").dropLast()
        #expect(text.hasSuffix("\r\n") && lines.count == 44)
        #expect(lines.first == "person_id,ticket,reason,postal_code,address1,address2")
        let rows = lines.dropFirst().map { $0.components(separatedBy: ",") }
        let expected = try String(contentsOfFile: out + "/reissue/expected_rejects.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(expected.map { $0[1] } == ["PERSON_UNKNOWN", "REQUEST_INVALID"])
        let unknown = rows[Int(expected[0][0])! - 2], noTicket = rows[Int(expected[1][0])! - 2]
        #expect(noTicket[1] == "")
        #expect(rows.allSatisfy { $0[0].count == 16 && StableHash.parseHex($0[0]) != nil })
        // Every other row names a valid member of the roster who is on the mailing list and active;
        // exactly one person is named twice (the merged repeat), and "moved" requests carry an address.
        let valid = rows.filter { $0 != unknown && $0 != noTicket }
        #expect(valid.count == 41 && Set(valid.map { $0[0] }).count == 40)
        #expect(Set(rows.filter { !$0[1].isEmpty }.map { $0[1] }).count == 42, "tickets are unique")
        for r in valid where r[2] == "moved" { #expect(r[3].count == 8 && !r[4].isEmpty) }
        for r in valid where r[2] != "moved" { #expect(r[3].isEmpty && r[4].isEmpty) }
        // The persons are the roster's: the tsubame ones by member reference.
        let ids = Set(RosterGenerator.subjects(options).map { s in
            ReissueRequestGenerator.personID(insurerNumber: s.insurerNumber, symbol: s.symbol, number: s.number, branch: s.branch,
                                             kana: s.kana, birthDate: s.birthDate, memberRef: s.profile == "sample-tsubame" ? s.memberRef : "")!
        })
        #expect(valid.allSatisfy { ids.contains($0[0]) })
        #expect(!ids.contains(unknown[0]))
    }

    @Test func noFaultyShareNoFaultyRowsAndAtLeastOneRequestPerProfile() throws {
        let out = NSTemporaryDirectory() + "kenpo-reissue-\(UUID().uuidString)"
        defer { FileSystem.removeTree(out) }
        let profiles = try ["sample-kamome", "sample-tsubame"].map { try InsurerProfile.resolve($0, searchDirectory: Self.profilesFolder) }
        let files = try RosterGenerator.generate(GeneratorOptions(members: 60, seed: 9, faultyShare: 0, runDate: runDate,
                                                                   profiles: profiles, outDirectory: out))
        let file = try #require(files.first { $0.kind == "reissue" })
        #expect(file.rows == 2 && file.faultyRows == 0 && file.mergedRows == 0)
        #expect(try String(contentsOfFile: out + "/reissue/expected_rejects.csv", encoding: .utf8) == "line,reason_code\n")
    }
}
