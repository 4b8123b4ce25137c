import Foundation
import KenpoCore
import Testing

/// A roster under half the insurer's previous size (a truncated hand-off) is held back unless the
/// operator confirms it with --confirm-short-roster (RosterSizeCheck).
@Suite struct ShortRosterEndToEndTests {
    static let kamome = "06139992", tsubame = "06279996"

    /// The first `keep` data lines of a roster, header kept, bytes as they were (encoding, BOM, CRLF):
    /// the file is cut at a line boundary, as a hand-off interrupted mid-transfer would leave it.
    func truncate(_ source: String, to target: String, keepLines keep: (Int) -> Int) throws -> Int {
        let data = try #require(fileBytes(source))
        var ends: [Int] = []  // offsets just past each LF (0x0A never occurs inside a CP932 or UTF-8 character)
        for (i, b) in data.enumerated() where b == 0x0A { ends.append(i + 1) }
        let dataLines = ends.count - 1
        let kept = keep(dataLines)
        try data.prefix(ends[kept]).write(to: URL(fileURLWithPath: target))
        return kept
    }

    @Test func aThirdSizeRosterIsHeldBackUntilConfirmed() throws {
        let root = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let gen = root + "/gen", data = root + "/data"
        let g = try KenpoProcess.run(["generate", "--members", "200", "--seed", "3", "--out", gen, "--date", "2026-11-21"])
        try #require(g.status == 0, "\(g.stderr)")
        let kamomeRoster = gen + "/sample-kamome/roster.csv", tsubameRoster = gen + "/sample-tsubame/roster.csv"

        // Day 1: both rosters in full.
        let day1 = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-21",
                                         "--profile", "sample-kamome", kamomeRoster, "--profile", "sample-tsubame", tsubameRoster])
        try #require(day1.status == 0, "\(day1.stderr)")
        let day1Members = try csvRows(data + "/outbox/latest/members.csv")
        let h = day1Members[0]
        let insurerCol = try #require(h.firstIndex(of: "insurer_number"))
        let statusCol = try #require(h.firstIndex(of: "status"))
        func of(_ rows: [[String]], _ insurer: String) -> [[String]] { rows.dropFirst().filter { $0[insurerCol] == insurer } }
        let kamomeBefore = of(day1Members, Self.kamome)
        #expect(kamomeBefore.count >= 40)

        // Day 2: かもめ's roster cut to a third of its lines; つばめ's has lost its last 5 members (ordinary churn).
        let short = root + "/kamome-day2.csv", tsubame2 = root + "/tsubame-day2.csv"
        let kept = try truncate(kamomeRoster, to: short) { $0 / 3 }
        _ = try truncate(tsubameRoster, to: tsubame2) { $0 - 5 }
        let day2Args = ["eligibility", "--data", data, "--date", "2026-11-22",
                        "--profile", "sample-kamome", short, "--profile", "sample-tsubame", tsubame2]
        let held = try KenpoProcess.run(day2Args)
        #expect(held.status == 3, "exit 3: completed with rejects; \(held.stderr)")
        #expect(held.stderr.contains("ROSTER HELD BACK"))
        #expect(held.stderr.contains("\(kept) rows") && held.stderr.contains("\(kamomeBefore.count) members"))
        #expect(held.stderr.contains("--confirm-short-roster sample-kamome"))

        // Every row of the short roster is rejected as held back, and nothing else is rejected.
        let rejects = try csvRows(data + "/outbox/latest/rejects.csv").dropFirst()
        #expect(rejects.count == kept)
        #expect(rejects.allSatisfy { $0[0] == short && $0[3] == "ROSTER_HELD_BACK" && $0[4].contains("--confirm-short-roster sample-kamome") })
        let manifest = try Manifest.decode(path: data + "/outbox/latest/manifest.json")
        #expect(manifest.inputs.map(\.records) == [.init(read: kept, accepted: 0, rejected: kept), .init(read: 95, accepted: 95, rejected: 0)])
        #expect(manifest.rejectReasons == ["ROSTER_HELD_BACK": kept])
        // かもめ gets its rows back, in CP932, with the Japanese reason.
        let handBack = try CP932Decoder().decode([UInt8](try #require(fileBytes(data + "/outbox/latest/insurers/sample-kamome/rejects.csv")))).get()
        let handBackLines = handBack.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(handBackLines.count == 1 + kept)
        #expect(handBackLines.dropFirst().allSatisfy { $0.contains(",ROSTER_HELD_BACK,") })

        // かもめ's members are exactly as on day 1: nobody left, changed or joined. つばめ's roster was applied.
        let heldMembers = try csvRows(data + "/outbox/latest/members.csv")
        #expect(of(heldMembers, Self.kamome) == kamomeBefore)
        let heldChanges = try csvRows(data + "/outbox/latest/member_changes.csv").dropFirst()
        #expect(!heldChanges.contains { $0[1] == Self.kamome })
        #expect(heldChanges.filter { $0[1] == Self.tsubame && $0[2] == "left" }.count == 5)
        #expect(of(heldMembers, Self.tsubame).filter { $0[statusCol] == "left" }.count == 5)

        // The operator confirms the short roster: it is applied, and the members missing from it leave.
        let confirmed = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-22", "--confirm-short-roster", "sample-kamome",
                                              "--profile", "sample-kamome", short, "--profile", "sample-tsubame", tsubame2])
        #expect(confirmed.status == 0, "\(confirmed.stderr)")
        #expect(confirmed.stderr.contains("confirmed"))
        let changes = try csvRows(data + "/outbox/latest/member_changes.csv").dropFirst()
        let kamomeLeft = kamomeBefore.filter { $0[statusCol] != "left" }.count - kept
        #expect(changes.filter { $0[1] == Self.kamome && $0[2] == "left" }.count == kamomeLeft)
        #expect(of(try csvRows(data + "/outbox/latest/members.csv"), Self.kamome).filter { $0[statusCol] == "left" }.count == kamomeLeft)
        #expect(try csvRows(data + "/outbox/latest/rejects.csv").count == 1)

        // Confirming a profile that has no roster in the run is a usage error.
        let typo = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-22", "--confirm-short-roster", "sample-kamone",
                                         "--profile", "sample-kamome", short])
        #expect(typo.status == 2 && typo.stderr.contains("sample-kamone"))
    }
}
