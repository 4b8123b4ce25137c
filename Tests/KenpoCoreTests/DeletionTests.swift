import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// Deletion of members' Mynaportal and uploaded records (`kenpo delete`), tombstones and retention,
/// driven through the library on small hand-made data folders.
struct DeletionTests {
    static let p = "00000000000000aa", q = "00000000000000bb"

    func tempRoot() -> String { NSTemporaryDirectory() + "kenpo-del-\(UUID().uuidString)" }

    func date(_ s: String) -> CalendarDate { CalendarDate(iso: s)! }

    func write(_ path: String, header: [String], _ rows: [[String]]) throws {
        let w = try CSVWriter(path: path, header: header)
        for r in rows { w.row(r) }
        try w.close()
    }

    func rows(_ path: String) throws -> [[String]] {
        let r = try CSVReader(path: path)
        var out: [[String]] = []
        while try r.next() { out.append((0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }) }
        return out
    }

    func inode(_ path: String) -> UInt64 {
        var st = stat()
        stat(path, &st)
        return UInt64(st.st_ino)
    }

    static let checkupHeader = RecordKind.checkup.tables[0].header
    static let resultHeader = RecordKind.checkup.tables[1].header
    static let noticeHeader = RecordKind.costNotice.tables[0].header

    func checkup(_ id: String, _ person: String, _ source: String, file: String = "in/x.xml") -> [String] {
        [id, person, "2026-09-01", "1310000011", "かもめ健診センター", "2026-09-15", "2", "c0ffee00c0ffee00", source, file]
    }
    func result(_ id: String, _ person: String, _ seq: Int, _ value: String) -> [String] {
        [id, person, String(seq), "9N001000000000001", "身長", "", "PQ", value, value] + Array(repeating: "", count: Self.resultHeader.count - 9)
    }
    func notice(_ id: String, _ person: String, _ source: String, _ institution: String) -> [String] {
        [id, person, "2026-08", "外来", "2", institution, "78040", "54628", "0", "23412", "0e0e754bb63a8afb", source, "in/n.xml"]
    }

    /// Two published runs: the first writes every table, the second changes the cost notices only,
    /// so the checkup tables are shared (hard links) by g000001, g000002 and both outbox runs.
    func makeData(_ root: String) throws -> DataFolder {
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let r1 = try Run(data: data, stage: "import", runDate: date("2026-11-21"))
        let s1 = try r1.beginStateGeneration()
        try write(s1 + "/members.csv", header: ["person_id", "kana_name"], [[Self.p, "タカハシ"], [Self.q, "ヤマダ"]])
        try write(s1 + "/checkups.csv", header: Self.checkupHeader, [
            checkup("1000000000000001", Self.p, "mynaportal"),
            checkup("1000000000000002", Self.p, "insurer;member_upload", file: "inbox/import/\(Self.p)/mine.xml"),
            checkup("1000000000000003", Self.q, "mynaportal"),
        ])
        try write(s1 + "/checkup_results.csv", header: Self.resultHeader, [
            result("1000000000000001", Self.p, 1, "170.2"), result("1000000000000001", Self.p, 2, "171.9"),
            result("1000000000000002", Self.p, 1, "168.0"), result("1000000000000003", Self.q, 1, "155.5"),
        ])
        try write(s1 + "/cost_notices.csv", header: Self.noticeHeader, [notice("2000000000000001", Self.p, "member_upload", "かもめ内科クリニック")])
        try write(s1 + "/" + DocumentLedger.ledgerFile, header: DocumentLedger.ledgerHeader, [
            [String(repeating: "a", count: 64), Self.p, "mynaportal", "checkup", r1.id],
            [String(repeating: "b", count: 64), Self.p, "member_upload", "cost_notice", r1.id],
            [String(repeating: "c", count: 64), Self.q, "mynaportal", "checkup", r1.id],
        ])
        try write(try r1.outputPath("record_changes.csv"), header: ["kind", "record_id", "person_id", "change", "source", "source_file"], [
            ["checkup", "1000000000000001", Self.p, "added", "mynaportal", "in/mynaportal/x.xml"],
            ["checkup", "1000000000000002", Self.p, "added", "insurer;member_upload", "inbox/import/\(Self.p)/mine.xml"],
            ["checkup", "1000000000000003", Self.q, "added", "mynaportal", "in/mynaportal/y.xml"],
        ])
        r1.addOutput(try ImportStage.describe(r1.outputPath("record_changes.csv")))
        for t in ["checkups.csv", "checkup_results.csv", "cost_notices.csv"] {
            r1.addOutput(try FileSystem.linkOrCopy(try ImportStage.describe(s1 + "/" + t), to: try r1.outputPath(t)))
        }
        _ = try r1.publish()

        let r2 = try Run(data: data, stage: "import", runDate: date("2026-11-22"))
        let s2 = try r2.beginStateGeneration()
        try write(s2 + "/cost_notices.csv", header: Self.noticeHeader, [
            notice("2000000000000001", Self.p, "member_upload", "かもめ内科クリニック"), notice("2000000000000002", Self.q, "insurer", "つばめ医院"),
        ])
        for t in ["checkups.csv", "checkup_results.csv", "cost_notices.csv"] {
            r2.addOutput(try FileSystem.linkOrCopy(try ImportStage.describe(s2 + "/" + t), to: try r2.outputPath(t)))
        }
        // A member export written before the deletion (it holds the records to delete).
        let export = try r2.outputPath("exports/kenpo-export-\(Self.p)-2026-11-22.zip")
        try FileSystem.writeAtomically(Array("PK export".utf8), to: export)
        r2.addOutput(OutputFile(path: export, rows: 0, bytes: 9, sha256: SHA256Digest.hex(of: Array("PK export".utf8))))
        _ = try r2.publish()
        return data
    }

    @Test func deletionRemovesMemberRecordsFromEveryRetainedDatasetAndKeepsInsurerOnes() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = try makeData(root)
        let out1 = root + "/outbox/" + data.publishedRuns()[0], out2 = root + "/outbox/" + data.publishedRuns()[1]
        #expect(inode(out1 + "/checkups.csv") == inode(root + "/state/generations/g000002/checkups.csv"))

        let requests = root + "/requests.csv"
        try write(requests, header: ["request_id", "person_id", "requested_at"], [["DR-1", Self.p, "2026-11-22T10:00:00+09:00"]])
        let run = try Run(data: data, stage: "delete", runDate: date("2026-11-23"))
        try DeletionStage(run: run).process([requests])
        let (manifest, status) = try run.publish()
        #expect(status == .success)

        // Every folder: P's Mynaportal/upload records gone, its insurer record kept with the insurer source only.
        let folders = ["g000001", "g000002", "g000003"].map { root + "/state/generations/" + $0 } + [out1, out2, root + "/outbox/" + run.id]
        for f in folders {
            let checkups = try rows(f + "/checkups.csv").dropFirst()
            #expect(checkups.map { $0[0] } == ["1000000000000002", "1000000000000003"], "\(f)")
            #expect(checkups.map { $0[8] } == ["insurer", "mynaportal"], "\(f)")
            #expect(checkups.first?[9] == "", "an upload's file name goes with it: \(f)")
            #expect(try rows(f + "/checkup_results.csv").dropFirst().map { $0[7] } == ["168.0", "155.5"], "\(f)")
            #expect(try !rows(f + "/cost_notices.csv").contains { $0[1] == Self.p }, "\(f)")
        }
        #expect(try rows(out2 + "/cost_notices.csv").dropFirst().map(\.[0]) == ["2000000000000002"])
        // The change list keeps the insurer's part only.
        #expect(try rows(out1 + "/record_changes.csv").dropFirst().map { [$0[1], $0[4], $0[5]] }
                == [["1000000000000002", "insurer", ""], ["1000000000000003", "mynaportal", "in/mynaportal/y.xml"]])
        // Files shared before are still shared: one new inode per old one.
        #expect(inode(out1 + "/checkups.csv") == inode(root + "/state/generations/g000003/checkups.csv"))
        #expect(inode(out2 + "/checkup_results.csv") == inode(root + "/state/generations/g000001/checkup_results.csv"))
        // Published manifests stay true and name the request.
        for f in [out1, out2] {
            let m = try Manifest.decode(path: f + "/manifest.json")
            for o in m.outputs { #expect(o.sha256 == (try SHA256Digest.hex(ofFile: f + "/" + o.path).sha256), "\(f)/\(o.path)") }
            #expect(m.deletions?.map(\.requestIds) == [["DR-1"]])
            #expect(m.deletions?.first?.deletionRunId == run.id)
        }
        #expect(try Manifest.decode(path: out1 + "/manifest.json").outputs.first { $0.path == "checkups.csv" }?.rows == 2)
        // The export of P written before the deletion is gone, and so is its manifest entry.
        #expect(!FileSystem.exists(out2 + "/exports/kenpo-export-\(Self.p)-2026-11-22.zip"))
        let out2Manifest = try Manifest.decode(path: out2 + "/manifest.json")
        #expect(!out2Manifest.outputs.contains { $0.path.hasPrefix("exports/") })
        #expect(out2Manifest.deletions?.first?.removed == ["exports/kenpo-export-\(Self.p)-2026-11-22.zip"])

        // Audit: counts, no content; tombstones: P's documents; the ledger keeps Q's only.
        let audit = try rows(root + "/state/current/" + DeletionStage.auditFile)
        #expect(audit[0] == DeletionStage.auditHeader)
        let a = Dictionary(uniqueKeysWithValues: zip(audit[0], audit[1]))
        #expect(a["request_id"] == "DR-1" && a["person_id"] == Self.p && a["run_id"] == run.id && a["run_date"] == "2026-11-23")
        #expect(a["checkups_removed"] == "1" && a["checkup_results_removed"] == "2" && a["cost_notices_removed"] == "1" && a["prescriptions_removed"] == "0")
        #expect(a["records_kept_insurer"] == "1" && a["sources_kept"] == "insurer" && a["documents_tombstoned"] == "2")
        let tombstones = try rows(root + "/state/current/" + DocumentLedger.tombstoneFile).dropFirst()
        #expect(tombstones.map { "\($0[0].prefix(1)) \($0[1]) \($0[2])" } == ["a \(Self.p) DR-1", "b \(Self.p) DR-1"])
        #expect(try rows(root + "/state/current/" + DocumentLedger.ledgerFile).dropFirst().map { $0[1] } == [Self.q])
        // Retained generations carry the tombstones and audit too (a restored one does not forget them).
        #expect(inode(root + "/state/generations/g000001/" + DocumentLedger.tombstoneFile) == inode(root + "/state/current/" + DocumentLedger.tombstoneFile))
        #expect(manifest.outputs.contains { $0.path == DeletionStage.auditFile && $0.rows == 1 })
        #expect(manifest.summary["deleted_checkups"] == 1 && manifest.summary["documents_tombstoned"] == 2)

        // The same request again (the request file read a second time) is not carried out again.
        let again = try Run(data: data, stage: "delete", runDate: date("2026-11-24"))
        try DeletionStage(run: again).process([requests])
        let (m2, _) = try again.publish()
        #expect(m2.summary["deletion_requests_already_done"] == 1 && m2.summary["deletion_requests"] == 0)
        #expect(try rows(root + "/state/current/" + DeletionStage.auditFile).count == 2)
        data.unlock()
    }

    @Test func unreadableRequestsAndUnknownPersonsAreRejectedWithTheirReason() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = try makeData(root)
        let requests = root + "/requests.csv"
        try Array("""
        request_id,person_id,requested_at,note\r
        DR-1,\(Self.q),2026-11-22,ok\r
        ,\(Self.p),2026-11-22,no id\r
        DR-2,not-a-person-id!,2026-11-22,bad person\r
        DR-3,\(Self.p),2026-13-01,bad date\r
        DR-1,\(Self.p),2026-11-22,repeated id\r
        DR-4,00000000000000cc,2026-11-22,nobody\r
        DR-5,\(Self.p)\r

        """.utf8).withUnsafeBytes { try FileSystem.writeAtomically(Array($0), to: requests) }
        let run = try Run(data: data, stage: "delete", runDate: date("2026-11-23"))
        try DeletionStage(run: run).process([requests])
        let (m, status) = try run.publish()
        #expect(status == .completedWithRejects)
        let rejects = try rows(root + "/outbox/latest/rejects.csv").dropFirst().map { "\($0[1]) \($0[3])" }
        #expect(rejects == ["3 DELETION_REQUEST_INVALID", "4 DELETION_REQUEST_INVALID", "5 DELETION_REQUEST_INVALID",
                            "6 DELETION_REQUEST_INVALID", "8 COLUMN_COUNT", "7 DELETION_PERSON_UNKNOWN"])
        #expect(m.inputs.first?.records == .init(read: 7, accepted: 1, rejected: 6))
        // Q's Mynaportal checkup went; P was not touched.
        #expect(try rows(root + "/state/current/checkups.csv").dropFirst().map { $0[0] } == ["1000000000000001", "1000000000000002"])
        data.unlock()
    }

    @Test func aMissingHeaderColumnFailsTheFileNamingIt() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        try FileSystem.makeDirectory(root)
        try write(root + "/r.csv", header: ["request_id", "person"], [["DR-1", Self.p]])
        #expect {
            _ = try DeletionRequestReader(path: root + "/r.csv")
        } throws: { e in
            "\(e)".contains("r.csv:1") && "\(e)".contains("person_id") && "\(e)".contains("requested_at")
        }
    }

    @Test func tombstonesRefuseMemberDocumentsOnlyNeverTheInsurers() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let r = try Run(data: data, stage: "t", runDate: date("2026-11-21"))
        let s = try r.beginStateGeneration()
        let sha = String(repeating: "d", count: 64)
        try write(s + "/" + DocumentLedger.tombstoneFile, header: DocumentLedger.tombstoneHeader, [[sha, Self.p, "DR-1", "r1"]])
        let book = try ImportDocumentBook(run: r)
        #expect(book.isDeleted(sha, source: .mynaportal) && book.isDeleted(sha, source: .memberUpload))
        #expect(!book.isDeleted(sha, source: .insurer))
        #expect(!book.isDeleted(String(repeating: "e", count: 64), source: .mynaportal))
        // Accepted member documents are listed once each; insurer documents never.
        try book.record(sha256: String(repeating: "e", count: 64), person: 0xaa, source: .mynaportal, kind: "cost_notice")
        try book.record(sha256: String(repeating: "e", count: 64), person: 0xaa, source: .mynaportal, kind: "cost_notice")
        try book.record(sha256: String(repeating: "f", count: 64), person: 0xbb, source: .insurer, kind: "checkup")
        try book.finish()
        #expect(try rows(s + "/" + DocumentLedger.ledgerFile).dropFirst().map { [$0[1], $0[2]] } == [[Self.p, "mynaportal"]])
        data.unlock()
    }

    // MARK: Retention

    func publish(_ data: DataFolder, _ runDate: String, days: Int = 30) throws -> Run {
        let run = try Run(data: data, stage: "t", runDate: date(runDate))
        run.retentionDays = days
        let s = try run.beginStateGeneration()
        try FileSystem.writeAtomically(Array(runDate.utf8), to: s + "/members.csv")
        _ = try run.publish()
        return run
    }

    @Test func retentionRemovesGenerationsAndRunsOlderThanTheRetentionDaysByRunDate() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let runs = try ["2026-10-01", "2026-10-20", "2026-11-10", "2026-11-21"].map { try publish(data, $0) }
        // 2026-11-21 − 30 days = 2026-10-22: the runs of 10-01 and 10-20 are gone, with their generations.
        #expect(data.generationNumbers() == [3, 4])
        #expect(data.publishedRuns() == [runs[2].id, runs[3].id])
        let info = try String(contentsOfFile: root + "/state/current/generation.json", encoding: .utf8)
        #expect(info.contains("\"run_date\": \"2026-11-21\""))
        data.unlock()
    }

    @Test func retentionNeverRemovesTheCurrentGenerationNorTheLatestRunNorWhatHasNoRunDate() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let a = try publish(data, "2026-01-01", days: 3650)
        _ = try publish(data, "2026-01-02", days: 3650)
        // A generation from before run dates were recorded, whose run is gone: kept, and said so.
        try FileSystem.makeDirectory(root + "/state/generations/g000000")
        try FileSystem.writeAtomically(Array("{\"generation\": \"g000000\", \"run_id\": \"r000000-x\", \"previous\": null}\n".utf8),
                                       to: root + "/state/generations/g000000/generation.json")
        let removed = data.prune(retentionDays: 0, runDate: date("2030-01-01"))
        #expect(removed.generations == ["g000001"])
        #expect(removed.runs == [a.id])
        #expect(data.generationNumbers() == [0, 2])
        #expect(data.currentGeneration() == "g000002")
        #expect(data.publishedRuns().count == 1 && data.latestRun() == data.publishedRuns()[0])
        data.unlock()
    }

    @Test func pipelineRetentionDaysAreReadAndCheckedWithTheirLine() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        try FileSystem.makeDirectory(root + "/pipelines")
        let path = root + "/pipelines/p.pipeline"
        try FileSystem.writeAtomically(Array("[pipeline]\nname = p\n[retention]\ndays = 7\n".utf8), to: path)
        #expect(try PipelineDefinition.load(path: path).retentionDays == 7)
        try FileSystem.writeAtomically(Array("[pipeline]\nname = p\n".utf8), to: path)
        #expect(try PipelineDefinition.load(path: path).retentionDays == nil)
        try FileSystem.writeAtomically(Array("[pipeline]\nname = p\n[retention]\ndays = a week\n".utf8), to: path)
        #expect {
            _ = try PipelineDefinition.load(path: path)
        } throws: { e in
            "\(e)".contains("p.pipeline:4") && "\(e)".contains("days")
        }
    }

    // MARK: the archive

    /// Retention removes archive/<date>/ folders older than the window, by the date in their name;
    /// what is not named by a date is kept.
    @Test func retentionRemovesArchiveDateFoldersOlderThanTheRetentionDays() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        for name in ["2026-10-21", "2026-10-22", "2026-11-21", "notes"] {
            try FileSystem.makeDirectory(root + "/archive/" + name + "/r1")
            try FileSystem.writeAtomically(Array("x".utf8), to: root + "/archive/" + name + "/r1/roster.csv")
        }
        let removed = ArchivePurge.prune(folder: root + "/archive", retentionDays: 30, runDate: date("2026-11-21"))
        #expect(removed == ["2026-10-21"])
        #expect(FileSystem.listDirectory(root + "/archive").sorted() == ["2026-10-22", "2026-11-21", "notes"])
        #expect(ArchivePurge.prune(folder: root + "/archive", retentionDays: 0, runDate: date("2026-11-21")) == ["2026-10-22"])
        #expect(ArchivePurge.prune(folder: root + "/no-archive", retentionDays: 0, runDate: date("2026-11-21")).isEmpty)
    }

    /// A deletion removes the member's own archived documents — uploads by their folder, Mynaportal
    /// pulls (plain or gzip) by their document's hash — and nothing of anyone else's nor any insurer file.
    @Test func aDeletionRemovesTheMembersArchivedDocumentsOnly() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let archive = root + "/archive/2026-11-20/r1"
        var committed: [[String]] = []
        var documents: [(sha256: String, person: UInt64)] = []
        /// Writes `bytes` as an archived input committed from `path` (below root); returns its archived path.
        func archived(_ path: String, _ bytes: [UInt8]) throws -> String {
            let dest = archive + "/" + path
            try FileSystem.makeDirectory((dest as NSString).deletingLastPathComponent)
            try FileSystem.writeAtomically(bytes, to: dest)
            committed.append([SHA256Digest.hex(of: bytes), String(bytes.count), root + "/" + path, "import", "r1", "2026-11-20", dest])
            return dest
        }
        let upload = try archived("inbox/import/\(Self.p)/upload.xml", Array("<p/>".utf8))
        let otherUpload = try archived("inbox/import/\(Self.q)/upload.xml", Array("<q/>".utf8))
        let pull = try archived("inbox/mynaportal/p-notices.xml", Array("<notices p/>".utf8))
        documents.append((SHA256Digest.hex(of: Array("<notices p/>".utf8)), StableHash.parseHex(Self.p)!))
        let gzPath = root + "/p-checkup.xml.gz"
        try FileSystem.makeDirectory(root)
        let gz = try GzipWriter(path: gzPath)
        try gz.write(Array("<checkup p/>".utf8))
        _ = try gz.finish()
        let gzPull = try archived("inbox/mynaportal/p-checkup.xml.gz", [UInt8](try Data(contentsOf: URL(fileURLWithPath: gzPath))))
        documents.append((SHA256Digest.hex(of: Array("<checkup p/>".utf8)), StableHash.parseHex(Self.p)!))
        let otherPull = try archived("inbox/mynaportal/q-notices.xml", Array("<notices q/>".utf8))
        // An insurer's file with the very bytes of p's document: an insurer's file is never touched.
        let insurer = try archived("inbox/insurer/checkups.xml", Array("<notices p/>".utf8))
        let ledger = root + "/committed_inputs.csv"
        try write(ledger, header: PipelineRun.committedHeader, committed)

        let removed = try ArchivePurge.removeMemberDocuments(committedInputs: ledger, persons: [StableHash.parseHex(Self.p)!], documents: documents)
        #expect(Set(removed.map(\.path)) == [upload, pull, gzPull])
        #expect(removed.allSatisfy { $0.person == StableHash.parseHex(Self.p)! })
        for kept in [otherUpload, otherPull, insurer] { #expect(FileSystem.exists(kept), "\(kept)") }
        for gone in [upload, pull, gzPull] { #expect(!FileSystem.exists(gone), "\(gone)") }
        // Run again: nothing left to remove, no error for the files already gone.
        #expect(try ArchivePurge.removeMemberDocuments(committedInputs: ledger, persons: [StableHash.parseHex(Self.p)!], documents: documents).isEmpty)
    }

    /// `kenpo run` moves its inputs to the archive after the commit, so a document the same run
    /// imported and then deleted is removed after the move, by that run's tombstones only (an earlier
    /// deletion's person may have sent new documents since).
    @Test func aRunRemovesTheArchivedDocumentsItsOwnDeletionTombstoned() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        try FileSystem.makeDirectory(root + "/state")
        var committed: [[String]] = []
        func archived(_ name: String, _ text: String) throws -> String {
            let dest = root + "/archive/2026-11-21/r2/inbox/mynaportal/" + name
            try FileSystem.makeDirectory((dest as NSString).deletingLastPathComponent)
            try FileSystem.writeAtomically(Array(text.utf8), to: dest)
            committed.append([SHA256Digest.hex(of: text), String(text.utf8.count), root + "/inbox/mynaportal/" + name, "import", "r2", "2026-11-21", dest])
            return dest
        }
        let tonight = try archived("p.xml", "<p/>"), earlier = try archived("q.xml", "<q/>")
        try write(root + "/state/" + PipelineRun.committedInputsFile, header: PipelineRun.committedHeader, committed)
        try write(root + "/state/" + DocumentLedger.tombstoneFile, header: DocumentLedger.tombstoneHeader, [
            [SHA256Digest.hex(of: "<p/>"), Self.p, "DEL-2", "r2"],
            [SHA256Digest.hex(of: "<q/>"), Self.q, "DEL-1", "r1"],
        ])
        let removed = try ArchivePurge.removeDocumentsDeleted(byRun: "r2", state: root + "/state")
        #expect(removed == [ArchivePurge.Removed(path: tonight, person: StableHash.parseHex(Self.p)!)])
        #expect(!FileSystem.exists(tonight) && FileSystem.exists(earlier))
    }
}
