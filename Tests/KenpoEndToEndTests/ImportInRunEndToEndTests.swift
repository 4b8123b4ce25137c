import Foundation
import KenpoCore
import Testing

/// Records that arrive more than once within one import run (the import keeps no record in memory:
/// its rows are spooled and merged by id afterwards, see `RecordStager`).
@Suite struct ImportInRunEndToEndTests {
    static let root = KenpoProcess.packageRoot.path

    /// The same notices from the insurer and from Mynaportal in one run: one record each, both
    /// sources; a checkup and its correction in one run, in either order: the newer document stays.
    @Test(arguments: [["v1.xml", "v2.xml"], ["v2.xml", "v1.xml"]])
    func oneRecordPerIdWithEverySourceAndTheNewestVersion(_ order: [String]) throws {
        let data = try KenpoProcess.dataWithMembers()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let notices = try String(contentsOfFile: Self.root + "/samples/health/mynaportal/takahashi-cost-notices.xml", encoding: .utf8)
        let original = try String(contentsOfFile: Self.root + "/samples/health/insurer/tsubame-checkup-haruto.xml", encoding: .utf8)
        let corrected = original.replacingOccurrences(of: "value=\"170.2\"", with: "value=\"171.0\"").replacingOccurrences(of: "20261010", with: "20261020")
        for d in ["insurer", "mynaportal", "a", "b"] { try FileManager.default.createDirectory(atPath: data + "/in/" + d, withIntermediateDirectories: true) }
        try notices.write(toFile: data + "/in/insurer/n.xml", atomically: true, encoding: .utf8)
        try notices.write(toFile: data + "/in/mynaportal/n.xml", atomically: true, encoding: .utf8)
        try (order[0] == "v1.xml" ? original : corrected).write(toFile: data + "/in/a/c.xml", atomically: true, encoding: .utf8)
        try (order[0] == "v1.xml" ? corrected : original).write(toFile: data + "/in/b/c.xml", atomically: true, encoding: .utf8)
        let r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-21", "--workers", "2",
                                      data + "/in/insurer", data + "/in/a", data + "/in/mynaportal", data + "/in/b"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = data + "/outbox/latest/"
        let rows = try csvRows(out + "cost_notices.csv").dropFirst()
        #expect(rows.count == 2 && rows.allSatisfy { $0[11] == "insurer;mynaportal" && $0[12].hasSuffix("/in/insurer/n.xml") })
        #expect(try csvRows(out + "checkups.csv").count == 2)
        #expect(try csvRows(out + "checkup_results.csv").filter { $0[3] == "9N001000000000001" }.map { $0[7] } == ["171.0"])
        let changes = try csvRows(out + "record_changes.csv").dropFirst()
        #expect(changes.map { "\($0[0]) \($0[3]) \($0[4])" } == ["checkup added insurer", "cost_notice added insurer;mynaportal", "cost_notice added insurer;mynaportal"])
        let m = try Manifest.decode(path: out + "manifest.json")
        #expect(m.summary["checkup_superseded_in_run"] == 1 && m.summary["cost_notice_duplicates_in_run"] == 2)
    }
}
