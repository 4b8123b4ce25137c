import Foundation
import KenpoCore
import Testing

/// `kenpo delete` as operators run it: the sample pipeline, more imports (retained generations and
/// outbox runs), a deletion for Takahashi (1d18ed023e17ccd0: Mynaportal notices and prescription, a
/// member-upload checkup), then the old inbox again and a new Mynaportal pull.
@Suite struct DeletionEndToEndTests {
    static let root = KenpoProcess.packageRoot.path
    static let person = "1d18ed023e17ccd0"
    static let upload = "samples/health/import/1d18ed023e17ccd0/my-checkup-2025.xml"

    /// Every regular file under `dir` (state, outbox, tmp …), with its bytes.
    func everyFile(_ dir: String) -> [(path: String, text: String)] {
        var out: [(String, String)] = []
        let e = FileManager.default.enumerator(atPath: dir)
        while let rel = e?.nextObject() as? String {
            let p = dir + "/" + rel
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue, let d = fileBytes(p) else { continue }
            out.append((rel, String(decoding: d, as: UTF8.self)))
        }
        return out
    }

    @Test func deletedRecordsAreGoneEverywhereStayGoneAndANewPullComesIn() throws {
        let data = KenpoProcess.tempDataFolder()
        let work = data + "-in"
        defer { try? FileManager.default.removeItem(atPath: data); try? FileManager.default.removeItem(atPath: work) }
        // Day 1: the samples. Day 2: the insurer hands over the checkup Takahashi uploaded (one record,
        // two sources). Day 3: he uploads another checkup (an upload-only record).
        var r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", data, "--date", "2026-11-21"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-22", "--source", "insurer", Self.upload])
        #expect(r.status == 0, "\(r.stderr)")
        let uploads = work + "/inbox/import/" + Self.person
        try FileManager.default.createDirectory(atPath: uploads, withIntermediateDirectories: true)
        let checkup = try String(contentsOfFile: Self.root + "/" + Self.upload, encoding: .utf8)
        try checkup.replacingOccurrences(of: "20251105", with: "20250601").write(toFile: uploads + "/c2.xml", atomically: true, encoding: .utf8)
        r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-23", uploads])
        #expect(r.status == 0, "\(r.stderr)")

        // What he has now: records from Mynaportal or his uploads only (to go), and one shared with the insurer (to stay).
        var doomed: [String] = []        // record ids and content hashes
        var kept: [String] = []
        for (table, sourceCol, hashCol) in [("checkups.csv", 8, 7), ("cost_notices.csv", 11, 10), ("prescriptions.csv", 14, 13)] {
            for row in try csvRows(data + "/state/current/" + table).dropFirst() where row[1] == Self.person {
                if row[sourceCol].split(separator: ";").contains("insurer") { kept.append(row[0]) } else { doomed += [row[0], row[hashCol]] }
            }
        }
        #expect(Set(doomed).count == 8)     // 1 upload-only checkup, 2 notices, 1 dispensing: 4 ids, 4 content hashes
        #expect(kept.count == 1)
        let contents = ["アムロジピン", "かもめ内科クリニック"]   // only in his Mynaportal documents

        // The deletion request, with a row for nobody and an unreadable one.
        let requests = work + "/deletions.csv"
        try "request_id,person_id,requested_at\nDR-2026-0001,\(Self.person),2026-11-23T18:00:00+09:00\nDR-2026-0002,ffffffffffffffff,2026-11-23\nDR-2026-0003,1d18,2026-11-23\n"
            .write(toFile: requests, atomically: true, encoding: .utf8)
        r = try KenpoProcess.run(["delete", "--data", data, "--date", "2026-11-24", requests])
        #expect(r.status == 3, "completed with rejects; \(r.stderr)")
        #expect(r.stdout.contains("deleted: 1 requests"))
        let rejects = try csvRows(data + "/outbox/latest/rejects.csv").dropFirst().map { "\($0[1]) \($0[3])" }
        #expect(rejects.sorted() == ["3 DELETION_PERSON_UNKNOWN", "4 DELETION_REQUEST_INVALID"])

        // Nothing under the data folder holds them: state, every retained generation, every outbox run, tmp.
        func assertGone(_ when: String) {
            let files = everyFile(data)
            #expect(files.contains { $0.path.hasPrefix("state/generations/g000001/") } && files.contains { $0.path.contains("r000001-") },
                    "the earlier generations and runs are retained")
            for f in files {
                for s in doomed + contents { #expect(!f.text.contains(s), "\(when): \(f.path) still holds \(s)") }
            }
        }
        assertGone("after delete")
        // The insurer's record stays, with the insurer as its only source.
        let current = try csvRows(data + "/state/current/checkups.csv").filter { $0[1] == Self.person }
        #expect(current.map { [$0[0], $0[8]] } == [[kept[0], "insurer"]])
        // Audit entry with counts, and no content.
        let audit = try csvRows(data + "/outbox/latest/deletions.csv")
        let a = Dictionary(uniqueKeysWithValues: zip(audit[0], audit[1]))
        #expect(audit.count == 2)
        #expect(a["request_id"] == "DR-2026-0001" && a["person_id"] == Self.person && a["requested_at"] == "2026-11-23T18:00:00+09:00")
        #expect(a["checkups_removed"] == "1" && a["checkup_results_removed"] == "20" && a["cost_notices_removed"] == "2" && a["prescriptions_removed"] == "1")
        #expect(a["records_kept_insurer"] == "1" && a["sources_kept"] == "insurer" && a["documents_tombstoned"] == "4")
        #expect(try csvRows(data + "/state/current/deletions.csv") == audit)
        // Every outbox run's manifest still matches its files.
        for run in try FileManager.default.contentsOfDirectory(atPath: data + "/outbox") where run.hasPrefix("r") {
            let m = try Manifest.decode(path: data + "/outbox/\(run)/manifest.json")
            for o in m.outputs {
                #expect(o.sha256 == (try SHA256Digest.hex(ofFile: data + "/outbox/\(run)/" + o.path).sha256), "\(run)/\(o.path)")
            }
        }

        // The nightly inputs again (the old inbox, imported as new deliveries — the pipeline itself
        // would skip files it has committed): his documents are refused, nothing comes back.
        r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", data, "--date", "2026-11-25"])
        #expect(r.status == 0 && r.stdout.contains("nothing to do"), "\(r.stdout) \(r.stderr)")
        r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-25", "samples/health/insurer", "samples/health/mynaportal", "samples/health/import"])
        #expect(r.status == 3, "\(r.stderr)")
        let again = try csvRows(data + "/outbox/latest/rejects.csv").filter { $0[3] == "DELETED_AT_MEMBER_REQUEST" }.map { $0[0] }
        #expect(again.sorted() == [Self.upload, "samples/health/mynaportal/takahashi-cost-notices.xml", "samples/health/mynaportal/takahashi-prescriptions.xml"])
        r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-25", uploads])
        #expect(r.status == 3)
        assertGone("after the old inputs again")

        // A new pull from Mynaportal (new bytes) after the deletion is imported as usual.
        let pull = work + "/inbox/mynaportal"
        try FileManager.default.createDirectory(atPath: pull, withIntermediateDirectories: true)
        let notices = try String(contentsOfFile: Self.root + "/samples/health/mynaportal/takahashi-cost-notices.xml", encoding: .utf8)
        try notices.replacingOccurrences(of: "78,040", with: "79,040").write(toFile: pull + "/pull-2026-11-26.xml", atomically: true, encoding: .utf8)
        r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-26", pull])
        #expect(r.status == 0, "\(r.stderr)")
        let mine = try csvRows(data + "/state/current/cost_notices.csv").filter { $0[1] == Self.person }
        #expect(mine.map { [$0[6], $0[11]] } == [["79040", "mynaportal"], ["3210", "mynaportal"]])
    }
}
