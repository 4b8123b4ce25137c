import Foundation
import Testing
@testable import KenpoCore

/// Run checkpoints (`kenpo run`'s rollback and resume): what a restore gives back is exactly what
/// the run held at the checkpoint — files, reject rows, counts — and nothing written after it.
@Suite struct RunCheckpointTests {
    static func tempFolder() -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-cp-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @Test func aWriterReopenedAtACheckpointDropsLaterRowsAndHashesTheWholeFile() throws {
        let dir = Self.tempFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/rows.csv"
        let w = try CSVWriter(path: path, header: ["a", "b"])
        w.row(["1", "one"])
        w.row(["2", "two"])
        let size = try w.flush()
        w.row(["3", "written after the checkpoint"])
        _ = try w.flush()
        let resumed = try CSVWriter(appendingTo: path, truncatingTo: size, rows: 2)
        resumed.row(["3", "three"])
        let out = try resumed.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "a,b\r\n1,one\r\n2,two\r\n3,three\r\n")
        #expect(out.rows == 3 && out.bytes == text.utf8.count)
        #expect(out.sha256 == (try SHA256Digest.hex(ofFile: path).sha256))
    }

    @Test func restoreReturnsTheRunToItsCheckpoint() throws {
        let root = Self.tempFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = DataFolder(root: root + "/var")
        try data.lock(command: "test")
        defer { data.unlock() }
        let run = try Run(data: data, stage: "run", runDate: CalendarDate(iso: "2026-11-21")!)
        let resume = root + "/var/resume/test"

        // Step 1: a state file, an output, one reject, a count.
        let state = try run.beginStateGeneration()
        try FileSystem.writeAtomically(Array("members v1\n".utf8), to: state + "/members.csv")
        try FileSystem.writeAtomically(Array("out v1\n".utf8), to: try run.outputPath("members.csv"))
        run.rejects.add(file: "a.csv", line: 2, key: "k", reason: .fieldMissing, message: "m")
        run.summary["members"] = 1
        try run.checkpoint(into: resume, handBack: nil) { $0.pipelinePath = "p" }

        // Step 2 (then rolled back): rewrites both files, adds an output, two rejects, changes the count.
        _ = try run.stateFileForRewrite("members.csv")
        try FileSystem.writeAtomically(Array("members v2\n".utf8), to: state + "/members.csv")
        try FileSystem.writeAtomically(Array("out v2\n".utf8), to: try run.outputPath("members.csv"))
        try FileSystem.writeAtomically(Array("new\n".utf8), to: try run.outputPath("exports/x.zip"))
        run.rejects.add(file: "b.csv", line: 3, key: "k", reason: .dateInvalid, message: "m")
        run.rejects.add(file: "b.csv", line: 4, key: "k", reason: .dateInvalid, message: "m")
        run.summary["members"] = 5

        let cp = try #require(RunCheckpoint.latest(in: resume))
        #expect(cp.number == 1 && cp.pipelinePath == "p" && cp.rejects.count == 1)
        try run.restore(cp, from: resume, handBack: nil)
        #expect(try String(contentsOfFile: run.stateStaging! + "/members.csv", encoding: .utf8) == "members v1\n")
        #expect(try String(contentsOfFile: run.staging + "/members.csv", encoding: .utf8) == "out v1\n")
        #expect(!FileSystem.exists(run.staging + "/exports/x.zip"))
        #expect(run.summary == ["members": 1])
        #expect(run.rejects.count == 1 && run.rejects.countsByReason == ["FIELD_MISSING": 1])

        // The run goes on from there and publishes exactly what it holds.
        run.rejects.add(file: "c.csv", line: 5, key: "k", reason: .sexInvalid, message: "m")
        run.addInput(Manifest.Input(path: "a.csv", kind: "roster", profile: nil, bytes: 1, sha256: "", records: .init(read: 2, accepted: 0, rejected: 2)))
        let (manifest, _) = try run.publish()
        let rows = try String(contentsOfFile: data.outbox + "/" + run.id + "/rejects.csv", encoding: .utf8)
            .split(separator: "\r\n").map { String($0.split(separator: ",")[0]) }
        #expect(rows == ["file", "a.csv", "c.csv"])
        #expect(manifest.rejectReasons == ["FIELD_MISSING": 1, "SEX_INVALID": 1])
    }
}
