import Foundation
import KenpoCore
import Testing

/// The health-record import, run as operators run it: the built `kenpo` on the bundled samples.
@Suite struct ImportEndToEndTests {
    static let root = KenpoProcess.packageRoot.path
    static let datasets = ["checkups.csv", "checkup_results.csv", "cost_notices.csv", "prescriptions.csv"]

    func importArgs(_ data: String, _ inputs: [String], extra: [String] = []) -> [String] {
        ["import", "--data", data, "--date", "2026-11-21"] + extra + inputs
    }

    static let sampleInputs = ["samples/health/insurer", "samples/health/mynaportal", "samples/health/import"]

    func sha(_ path: String) throws -> String { try SHA256Digest.hex(ofFile: path).sha256 }

    @Test func samplesAcceptEveryGoodDocumentAndRejectEachBadOneWithItsReason() throws {
        let data = try KenpoProcess.dataWithMembers()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try KenpoProcess.run(importArgs(data, Self.sampleInputs))
        #expect(r.status == 3, "completed with rejects; \(r.stderr)")
        let out = data + "/outbox/latest"
        // Exactly the expected rejects, file by file.
        let expected = try csvRows(Self.root + "/samples/health/expected-rejects.csv").dropFirst().map { "samples/health/\($0[0]) \($0[1])" }.sorted()
        let rejects = try csvRows(out + "/rejects.csv").dropFirst().map { "\($0[0]) \($0[3])" }.sorted()
        #expect(rejects == expected)
        // The manifest reconciles documents: read = accepted + rejected, per input and in total.
        let m = try Manifest.decode(path: out + "/manifest.json")
        #expect(m.inputs.allSatisfy { $0.records.read == $0.records.accepted + $0.records.rejected })
        #expect(m.inputs.reduce(0) { $0 + $1.records.rejected } == expected.count)
        #expect(m.inputs.reduce(0) { $0 + $1.records.read } == 17)
        let zip = try #require(m.inputs.first { $0.path.hasSuffix(".zip") })
        #expect(zip.kind == "checkup_transfer_zip")
        #expect(zip.records == .init(read: 5, accepted: 5, rejected: 0))   // 3 checkups + index + summary
        #expect(zip.sha256 == (try sha(Self.root + "/" + zip.path)))
        for i in m.inputs where !i.path.hasSuffix(".gz") && !i.path.hasSuffix(".zip") {
            #expect(i.sha256 == (try sha(Self.root + "/" + i.path)), "\(i.path)")
        }
        for o in m.outputs { #expect(o.sha256 == (try sha(out + "/" + o.path)), "\(o.path)") }
        #expect(m.referenceTables.contains { $0.name == "checkup-items" })
        // What was accepted.
        let checkups = try csvRows(out + "/checkups.csv")
        #expect(checkups.first == RecordKind.checkup.tables[0].header)
        #expect(checkups.count - 1 == 6)
        let sources = Dictionary(grouping: checkups.dropFirst(), by: { $0[8] }).mapValues(\.count)
        #expect(sources == ["insurer": 5, "member_upload": 1])
        // Checkup date is the serviceEvent's, not the file's.
        let taro = try #require(checkups.first { $0[9].hasSuffix("h0613999220260901000001.xml") })
        #expect(taro[2] == "2026-09-01" && taro[5] == "2026-09-15")
        let results = try csvRows(out + "/checkup_results.csv")
        let h = results[0]
        func col(_ row: [String], _ name: String) -> String { row[h.firstIndex(of: name)!] }
        // Units in one spelling; decimal text exactly as given; flags carried.
        #expect(Set(results.dropFirst().filter { col($0, "item_code") == "3F015000002327101" }.map { col($0, "unit") }) == ["mg/dl"])
        #expect(results.dropFirst().contains { col($0, "item_code") == "9N011000000000001" && col($0, "value_text") == "25.0" })
        #expect(results.dropFirst().contains { col($0, "item_code") == "3F015000002327101" && col($0, "out_of_range") == "H" && col($0, "value_text") == "2000" })
        #expect(results.dropFirst().contains { col($0, "item_code") == "3B035000002327201" && col($0, "value_type") == "NOT_MEASURED" })
        #expect(results.dropFirst().contains { col($0, "item_code") == "3C015000002327101" && col($0, "value_type") == "NOT_DONE" })
        // The Shift_JIS checkup was read as CP932 (① exists only there).
        #expect(results.dropFirst().contains { col($0, "value_text") == "所見①：異常なし～経過観察不要" })
        let notices = try csvRows(out + "/cost_notices.csv")
        #expect(notices.dropFirst().map { $0[6] } == ["78040", "3210"])
        #expect(try csvRows(out + "/prescriptions.csv").count - 1 == 1)
        // Nothing personal in the log: no kana names, no card numbers.
        #expect(!r.stderr.contains("タカハシ") && !r.stderr.contains("0012345678"))
    }

    @Test func importingTheSameInputsTwiceLeavesTheDatasetsUnchanged() throws {
        let data = try KenpoProcess.dataWithMembers()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try KenpoProcess.run(importArgs(data, Self.sampleInputs))
        let first = try Self.datasets.map { try sha(data + "/outbox/latest/" + $0) }
        let again = try KenpoProcess.run(importArgs(data, Self.sampleInputs))
        #expect(again.status == 3)
        let second = try Self.datasets.map { try sha(data + "/outbox/latest/" + $0) }
        #expect(first == second)
        #expect(try csvRows(data + "/outbox/latest/record_changes.csv").count == 1)   // header only
    }

    @Test func oneWorkerAndAllWorkersGiveTheSameOutputs() throws {
        let a = try KenpoProcess.dataWithMembers(), b = try KenpoProcess.dataWithMembers()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        _ = try KenpoProcess.run(importArgs(a, Self.sampleInputs, extra: ["--workers", "1"]))
        _ = try KenpoProcess.run(importArgs(b, Self.sampleInputs, extra: ["--workers", "4"]))
        for f in Self.datasets + ["rejects.csv", "record_changes.csv"] {
            #expect(try sha(a + "/outbox/latest/" + f) == sha(b + "/outbox/latest/" + f), "\(f)")
        }
    }

    @Test func aCorrectedCheckupReplacesTheEarlierOneAndAnOlderOneDoesNot() throws {
        let data = try KenpoProcess.dataWithMembers()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let dir = data + "/in"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let original = try String(contentsOfFile: Self.root + "/samples/health/insurer/tsubame-checkup-haruto.xml", encoding: .utf8)
        try original.write(toFile: dir + "/v1.xml", atomically: true, encoding: .utf8)
        _ = try KenpoProcess.run(importArgs(data, [dir + "/v1.xml"]))
        // Same person, date and institution; a newer file with a corrected height.
        let corrected = original.replacingOccurrences(of: "value=\"170.2\"", with: "value=\"171.0\"")
            .replacingOccurrences(of: "20261010", with: "20261020")
        try corrected.write(toFile: dir + "/v2.xml", atomically: true, encoding: .utf8)
        let r = try KenpoProcess.run(importArgs(data, [dir + "/v2.xml"]))
        #expect(r.status == 0, "\(r.stderr)")
        let changes = try csvRows(data + "/outbox/latest/record_changes.csv")
        #expect(changes.count == 2 && changes[1][0] == "checkup" && changes[1][3] == "replaced")
        let checkups = try csvRows(data + "/outbox/latest/checkups.csv")
        #expect(checkups.count == 2)   // still one checkup
        let heights = try csvRows(data + "/outbox/latest/checkup_results.csv").filter { $0[3] == "9N001000000000001" }
        #expect(heights.map { $0[7] } == ["171.0"])
        // The older version arriving again (a rerun of an old inbox file) does not undo the correction.
        let stale = try KenpoProcess.run(importArgs(data, [dir + "/v1.xml"]))
        #expect(stale.status == 0)
        #expect(try csvRows(data + "/outbox/latest/record_changes.csv").dropFirst().map { $0[3] } == ["stale"])
        #expect(try csvRows(data + "/outbox/latest/checkup_results.csv").filter { $0[3] == "9N001000000000001" }.map { $0[7] } == ["171.0"])
    }

    @Test func theSameRecordFromMynaportalAndAnUploadIsStoredOnceWithBothSources() throws {
        let data = try KenpoProcess.dataWithMembers()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let pid = "1d18ed023e17ccd0"
        let upload = data + "/inbox/import/\(pid)", pull = data + "/inbox/mynaportal"
        for d in [upload, pull] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let notices = try String(contentsOfFile: Self.root + "/samples/health/mynaportal/takahashi-cost-notices.xml", encoding: .utf8)
        try notices.write(toFile: pull + "/n.xml", atomically: true, encoding: .utf8)
        _ = try KenpoProcess.run(importArgs(data, [pull]))
        try notices.write(toFile: upload + "/my-export.xml", atomically: true, encoding: .utf8)
        let r = try KenpoProcess.run(importArgs(data, [upload]))
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try csvRows(data + "/outbox/latest/cost_notices.csv")
        #expect(rows.count == 3)
        #expect(rows.dropFirst().allSatisfy { $0[11] == "mynaportal;member_upload" })
        #expect(try csvRows(data + "/outbox/latest/record_changes.csv").dropFirst().map { $0[3] } == ["source_added", "source_added"])
    }
}
