import Foundation
import Testing
@testable import KenpoCore

/// A roster sent under the wrong insurer's profile (every row INSURER_MISMATCH) must not mark that
/// insurer's members as left: it is no snapshot of the insurer.
@Suite struct MisdirectedRosterTests {
    /// Three members of 06139992 (the test profile's insurer).
    static let own = [
        "06139992,1001,101,00,ﾔﾏﾀﾞ ﾀﾛｳ,山田 太郎,19800102,1,1,2000/04/01,,,,",
        "06139992,1001,102,00,ﾔﾏﾀﾞ ﾊﾅｺ,山田 花子,19820304,2,1,2000/04/01,,,,",
        "06139992,1001,103,00,ﾔﾏﾀﾞ ｼﾞﾛｳ,山田 次郎,19850506,1,1,2000/04/01,,,,",
    ]
    /// Rows of another insurer (06279996), as a misdirected hand-off holds them.
    static let foreign = [
        "06279996,90,2001,00,ﾍﾞﾂﾉ ｲﾁ,別野 一,19900101,1,1,2020/04/01,,,,",
        "06279996,90,2002,00,ﾍﾞﾂﾉ ﾆ,別野 二,19900102,1,1,2020/04/01,,,,",
        "06279996,90,2003,00,ﾍﾞﾂﾉ ｻﾝ,別野 三,19900103,1,1,2020/04/01,,,,",
    ]

    func runDay(_ data: String, _ rows: [String], date: String) throws -> RunOutcome {
        let profile = try InsurerProfile.parse(testProfileText, path: "test.profile")
        let path = NSTemporaryDirectory() + "kenpo-mis-\(UUID().uuidString).csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(([testHeader] + rows).joined(separator: "\r\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try StageRunner.run(dataRoot: data, stage: "eligibility", runDate: CalendarDate(iso: date)!) { run in
            try EligibilityStage(run: run).process([RosterInput(profile: profile, path: path)])
        }
    }

    /// (rows of day 2, members expected to leave): all or most rows foreign — nobody leaves; a stray
    /// foreign row in the insurer's own roster — the roster is applied, its missing member leaves.
    @Test(arguments: [
        ("every row another insurer's", foreign, 0),
        ("two of three rows another insurer's", [foreign[0], foreign[1], own[0]], 0),
        ("one foreign row beside two of the members", [own[0], own[1], foreign[0]], 1),
        ("the insurer's own roster without one member", [own[0], own[1]], 1),
    ])
    func membersLeaveOnlyByTheirInsurersOwnRoster(_ name: String, _ day2: [String], _ leaving: Int) throws {
        let data = NSTemporaryDirectory() + "kenpo-mis-\(UUID().uuidString)"
        defer { FileSystem.removeTree(data) }
        _ = try runDay(data, Self.own, date: "2026-11-21")
        let outcome = try runDay(data, day2, date: "2026-11-22")
        let changes = try csvRecords(outcome.outboxPath + "/member_changes.csv").dropFirst()
        #expect(changes.filter { $0[2] == "left" }.count == leaving, "\(name): \(Array(changes))")
        let foreignRows = day2.filter { $0.hasPrefix("06279996") }.count
        #expect(outcome.manifest.rejectReasons == (foreignRows == 0 ? [:] : ["INSURER_MISMATCH": foreignRows]), "\(name)")
        let members = try csvRecords(outcome.outboxPath + "/members.csv").dropFirst()
        #expect(members.count == 3, "\(name): the foreign rows' people never join 06139992's members")
    }

    @Test(arguments: [(0, 10, false), (1, 10, false), (4, 10, false), (5, 10, true), (3, 3, true), (1, 1, true), (0, 0, false)])
    func aRosterIsMisdirectedWhenHalfItsRowsOrMoreAreAnotherInsurers(_ foreign: Int, _ rows: Int, _ misdirected: Bool) {
        #expect(EligibilityStage.isMisdirected(foreignRows: foreign, rows: rows) == misdirected)
    }
}
