import Foundation
import Testing
@testable import KenpoCore

/// Person ids across days, driven through the stage in-process with small rosters.
struct PersonMatchingTests {
    let profileText: String
    init() {
        // The test profile with an optional member reference column.
        profileText = testProfileText + "\nmember_ref = ref\n"
    }
    let header = testHeader + ",ref"

    /// `profileInsurer: false`: a profile built in code without an insurer number (a profile file
    /// must name one), to show the stage's own guard.
    func runDay(_ data: String, _ rows: [String], date: String, profileInsurer: Bool = true) throws -> (members: [[String]], changes: [[String]]) {
        var profile = try InsurerProfile.parse(profileText, path: "test.profile")
        if !profileInsurer { profile.insurerNumber = nil }
        let path = NSTemporaryDirectory() + "kenpo-pm-\(UUID().uuidString).csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(([header] + rows).joined(separator: "\r\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let outcome = try StageRunner.run(dataRoot: data, stage: "eligibility", runDate: CalendarDate(iso: date)!) { run in
            try EligibilityStage(run: run).process([RosterInput(profile: profile, path: path)])
        }
        return (try csvRecords(outcome.outboxPath + "/members.csv"), try csvRecords(outcome.outboxPath + "/member_changes.csv"))
    }

    func id(_ members: [[String]], kanji: String) -> String? { members.first { $0[10] == kanji }?[0] }

    @Test func aNewcomerWithTheSameNameAndBirthDateNeverTakesAnExistingId() throws {
        let data = NSTemporaryDirectory() + "kenpo-pm-\(UUID().uuidString)"
        defer { FileSystem.removeTree(data) }
        let taro = "06139992,1001,100,00,ﾔﾏﾀﾞ ﾀﾛｳ,山田 太郎,19800102,1,1,2000/04/01,,,,,"
        let day1 = try runDay(data, [taro], date: "2026-11-21")
        let taroID = try #require(id(day1.members, kanji: "山田 太郎"))
        // Day 2: another 山田太郎 born the same day, on another card, listed first.
        let other = "06139992,2002,200,00,ﾔﾏﾀﾞ ﾀﾛｳ,山田 太郎2,19800102,1,1,2010/04/01,,,,,"
        let day2 = try runDay(data, [other, taro], date: "2026-11-22")
        #expect(id(day2.members, kanji: "山田 太郎") == taroID)
        #expect(id(day2.members, kanji: "山田 太郎2") != taroID)
        #expect(day2.changes.dropFirst().map { $0[2] } == ["joined"])
    }

    @Test func differentMemberReferencesAreDifferentPeople() throws {
        let data = NSTemporaryDirectory() + "kenpo-pm-\(UUID().uuidString)"
        defer { FileSystem.removeTree(data) }
        let a = "06139992,1001,100,00,ﾔﾏﾀﾞ ﾀﾛｳ,山田 太郎,19800102,1,1,2000/04/01,,,,,R1"
        let day1 = try runDay(data, [a], date: "2026-11-21")
        let aID = try #require(id(day1.members, kanji: "山田 太郎"))
        // Same card, name and birth date, but the insurer says it is another person (R2), and R1 left.
        let b = "06139992,1001,100,00,ﾔﾏﾀﾞ ﾀﾛｳ,山田 太郎B,19800102,1,1,2000/04/01,,,,,R2"
        let day2 = try runDay(data, [b], date: "2026-11-22")
        #expect(id(day2.members, kanji: "山田 太郎B") != aID)
        #expect(Set(day2.changes.dropFirst().map { $0[2] }) == ["joined", "left"])
    }

    @Test func twinsOnOneCardKeepTheirOwnIds() throws {
        let data = NSTemporaryDirectory() + "kenpo-pm-\(UUID().uuidString)"
        defer { FileSystem.removeTree(data) }
        let twinA = "06139992,1001,100,02,ｻﾄｳ ｱｵｲ,佐藤 葵,20100505,2,2,2010/05/05,,,,,"
        let day1 = try runDay(data, [twinA], date: "2026-11-21")
        let aID = try #require(id(day1.members, kanji: "佐藤 葵"))
        let twinB = "06139992,1001,100,03,ｻﾄｳ ﾋﾅﾀ,佐藤 陽向,20100505,2,2,2010/05/05,,,,,"
        let day2 = try runDay(data, [twinB, twinA], date: "2026-11-22")
        #expect(id(day2.members, kanji: "佐藤 葵") == aID)
        #expect(id(day2.members, kanji: "佐藤 陽向") != aID)
    }

    @Test func aCardChangeWithoutReferenceKeepsTheId() throws {
        let data = NSTemporaryDirectory() + "kenpo-pm-\(UUID().uuidString)"
        defer { FileSystem.removeTree(data) }
        let before = "06139992,1001,100,00,ｽｽﾞｷ ｲﾁﾛｳ,鈴木 一郎,19700310,1,1,1990/04/01,,,,,"
        let day1 = try runDay(data, [before], date: "2026-11-21")
        let after = "06139992,2100,999,00,ｽｽﾞｷ ｲﾁﾛｳ,鈴木 一郎,19700310,1,1,1990/04/01,,,,,"
        let day2 = try runDay(data, [after], date: "2026-11-22")
        #expect(id(day2.members, kanji: "鈴木 一郎") == id(day1.members, kanji: "鈴木 一郎"))
        #expect(day2.changes.dropFirst().map { $0[2] } == ["card_changed"])
    }

    @Test func anUnidentifiableRejectStopsLeavingEvenWithoutAProfileInsurerNumber() throws {
        let data = NSTemporaryDirectory() + "kenpo-pm-\(UUID().uuidString)"
        defer { FileSystem.removeTree(data) }
        let a = "06139992,1001,100,00,ﾔﾏﾀﾞ ﾀﾛｳ,山田 太郎,19800102,1,1,2000/04/01,,,,,"
        let b = "06139992,1001,101,00,ﾔﾏﾀﾞ ﾊﾅｺ,山田 花子,19820202,2,1,2000/04/01,,,,,"
        _ = try runDay(data, [a, b], date: "2026-11-21", profileInsurer: false)
        // Day 2: b's row has an unquoted comma: too many columns, so it cannot be identified.
        let bBroken = "06139992,1001,101,00,ﾔﾏﾀﾞ ﾊﾅｺ,山田 花子,19820202,2,1,2000/04/01,,,,,extra,x"
        let day2 = try runDay(data, [a, bBroken], date: "2026-11-22", profileInsurer: false)
        #expect(day2.changes.count == 1, "nobody may be marked as left: \(day2.changes)")
        #expect(day2.members.count == 3)
    }
}
