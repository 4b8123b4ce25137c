import Foundation
import Testing
import KenpoCore

@Suite("RosterSizeCheck")
struct RosterSizeCheckTests {
    typealias Verdict = RosterSizeCheck.Verdict

    @Test("held back when under half of 20 or more previous members, unless confirmed", arguments: [
        // (previous members, rows this run, confirmed, verdict)
        (100, 32, false, Verdict.heldBack),
        (100, 32, true, .applyConfirmed),
        (100, 49, false, .heldBack),
        (100, 50, false, .apply),            // exactly half: not short
        (100, 51, false, .apply),
        (100, 100, false, .apply),
        (100, 150, false, .apply),           // grew: never held back
        (100, 0, false, .heldBack),
        (100, 50, true, .apply),             // confirming a roster that is not short changes nothing
        (20, 9, false, .heldBack),           // the smallest insurer judged
        (20, 10, false, .apply),
        (21, 10, false, .heldBack),          // 10 × 2 < 21
        (19, 0, false, .apply),              // under 20 members: never held back
        (19, 5, false, .apply),
        (10, 1, false, .apply),
        (0, 0, false, .apply),               // a new insurer
        (0, 500, false, .apply),
        (1_000_000, 499_999, false, .heldBack),
        (1_000_000, 500_000, false, .apply),
    ])
    func verdict(_ c: (Int, Int, Bool, Verdict)) {
        let check = RosterSizeCheck(previousMembers: c.0, rows: c.1, confirmed: c.2)
        #expect(check.verdict == c.3, "previous \(c.0), rows \(c.1), confirmed \(c.2)")
        #expect(check.isShort == (c.3 != .apply))
    }

    @Test func heldBackMessageNamesTheCountsAndHowToConfirm() {
        let check = RosterSizeCheck(previousMembers: 100, rows: 32, confirmed: false)
        let m = check.heldBackMessage(insurer: "06139992", profiles: ["sample-kamome"])
        #expect(m.contains("06139992") && m.contains("32 rows") && m.contains("100 members"))
        #expect(m.contains("--confirm-short-roster sample-kamome"))
        #expect(m.contains("confirm_short_roster = sample-kamome"))
        let j = check.heldBackJapanese
        #expect(j.contains("32件") && j.contains("100名"))
        // The hand-back file may be CP932: the text must round-trip through it.
        #expect(CP932Encoder().encode(j).unencodable.isEmpty)
        #expect(CP932Encoder().encode(RejectReason.rosterHeldBack.japaneseMessage).unencodable.isEmpty)
    }

    @Test func pipelineReadsConfirmShortRosterAsAReservedKeyNotAProfile() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-rsc-\(UUID().uuidString)").path
        defer { FileSystem.removeTree(root) }
        try FileSystem.makeDirectory(root + "/pipelines")
        try FileSystem.makeDirectory(root + "/in")
        try FileSystem.writeAtomically(Array("x\n".utf8), to: root + "/in/kamome.csv")
        try FileSystem.writeAtomically(Array("x\n".utf8), to: root + "/in/tsubame.csv")
        let path = root + "/pipelines/p.pipeline"
        let base = "[pipeline]\nname = p\n[eligibility]\nsample-kamome = in/kamome.csv\nsample-tsubame = in/tsubame.csv\n"

        try FileSystem.writeAtomically(Array(base.utf8), to: path)
        let plain = try PipelineDefinition.load(path: path)
        #expect(plain.confirmShortRoster.isEmpty)
        #expect(plain.eligibility.map(\.profile) == ["sample-kamome", "sample-tsubame"])

        try FileSystem.writeAtomically(Array((base + "confirm_short_roster = sample-kamome sample-tsubame\n").utf8), to: path)
        let confirmed = try PipelineDefinition.load(path: path)
        #expect(confirmed.confirmShortRoster == ["sample-kamome", "sample-tsubame"])
        #expect(confirmed.eligibility.map(\.profile) == ["sample-kamome", "sample-tsubame"])

        // A profile with no roster in [eligibility] is a typo, said with its line.
        try FileSystem.writeAtomically(Array((base + "confirm_short_roster = sample-kamone\n").utf8), to: path)
        #expect {
            _ = try PipelineDefinition.load(path: path)
        } throws: { e in
            "\(e)".contains("p.pipeline:6") && "\(e)".contains("sample-kamone")
        }
    }
}
