import Foundation
import Testing
@testable import KenpoCore

/// Publishing and crash recovery of the data folder, driven through the library.
struct DataFolderTests {
    let runDate = CalendarDate(year: 2026, month: 11, day: 21)!

    func tempRoot() -> String { NSTemporaryDirectory() + "kenpo-df-\(UUID().uuidString)" }

    /// A run that writes one state file and one output, then publishes.
    func publishRun(_ data: DataFolder, content: String) throws -> Run {
        let run = try Run(data: data, stage: "test", runDate: runDate)
        let state = try run.beginStateGeneration()
        try FileSystem.writeAtomically(Array(content.utf8), to: state + "/members.csv")
        let w = try CSVWriter(path: try run.outputPath("out.csv"), header: ["v"])
        w.row([content])
        run.addOutput(try w.close())
        _ = try run.publish()
        return run
    }

    @Test func publishSwitchesStateAndLatestTogether() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let r1 = try publishRun(data, content: "one")
        #expect(data.currentGeneration() == "g000001")
        #expect(data.latestRun() == r1.id)
        let r2 = try publishRun(data, content: "two")
        #expect(data.currentGeneration() == "g000002")
        #expect(data.latestRun() == r2.id)
        #expect(try String(contentsOfFile: root + "/state/current/members.csv", encoding: .utf8) == "two")
        let m = try Manifest.decode(path: root + "/outbox/latest/manifest.json")
        #expect(m.stateGeneration == "g000002" && m.previousStateGeneration == "g000001")
        data.unlock()
    }

    @Test func leftoversOfACrashBeforeTheCommitPointAreRemoved() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let r1 = try publishRun(data, content: "one")
        // A second run crashed after renaming its generation into place but before its outbox commit.
        let crashed = try Run(data: data, stage: "test", runDate: runDate)
        let state = try crashed.beginStateGeneration()
        try FileSystem.writeAtomically(Array("half".utf8), to: state + "/members.csv")
        try FileSystem.rename(state, data.generationPath(crashed.newGeneration!))
        data.unlock()

        let again = DataFolder(root: root)
        try again.lock(command: "test")
        #expect(again.currentGeneration() == "g000001")
        #expect(again.latestRun() == r1.id)
        #expect(!FileSystem.exists(again.generationPath("g000002")), "an uncommitted generation must not survive")
        #expect(FileSystem.listDirectory(root + "/outbox").filter { $0.hasPrefix(".staging") }.isEmpty)
        #expect(FileSystem.listDirectory(root + "/tmp").isEmpty)
        #expect(try String(contentsOfFile: root + "/state/current/members.csv", encoding: .utf8) == "one")
        again.unlock()
    }

    @Test func aCrashAfterTheCommitPointIsRolledForward() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let r1 = try publishRun(data, content: "one")
        let r2 = try publishRun(data, content: "two")
        // Simulate the crash: the outbox run is committed but the symlinks still name the previous run.
        try FileSystem.replaceSymlink(data.currentLink, target: "generations/g000001")
        try FileSystem.replaceSymlink(data.latestLink, target: r1.id)
        data.unlock()

        let again = DataFolder(root: root)
        try again.lock(command: "test")
        #expect(again.currentGeneration() == "g000002")
        #expect(again.latestRun() == r2.id)
        again.unlock()
    }

    @Test func runIdsFollowCommitOrderWhateverTheClockSays() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let ids = try (0..<3).map { try publishRun(data, content: "\($0)").id }
        #expect(ids.map { String($0.prefix(8)) } == ["r000001-", "r000002-", "r000003-"])
        #expect(data.publishedRuns() == ids)
        // A later run whose stage name sorts first, in the same second, is still the newest.
        data.unlock()
        let again = DataFolder(root: root)
        try again.lock(command: "test")
        #expect(again.latestRun() == ids[2])
        #expect(again.currentGeneration() == "g000003")
        again.unlock()
    }

    @Test func aSecondLockOnTheSameFolderIsRefused() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let a = DataFolder(root: root)
        try a.lock(command: "first")
        let b = DataFolder(root: root)
        #expect(throws: KenpoError.self) { try b.lock(command: "second") }
        do { try b.lock(command: "second") } catch let e as KenpoError {
            #expect(e.exitStatus == .failed)
            #expect(e.description.contains("first"))
        }
        a.unlock()
        try b.lock(command: "second")
        b.unlock()
    }

    @Test func publishRefusesWhenTheBooksDoNotBalance() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let data = DataFolder(root: root)
        try data.lock(command: "test")
        let run = try Run(data: data, stage: "test", runDate: runDate)
        run.addInput(Manifest.Input(path: "x.csv", kind: "roster", profile: nil, bytes: 1, sha256: "", records: .init(read: 3, accepted: 1, rejected: 1)))
        #expect(throws: KenpoError.self) { _ = try run.publish() }
        run.abandon()
        #expect(data.latestRun() == nil)
        #expect(FileSystem.listDirectory(root + "/outbox").isEmpty)
        data.unlock()
    }
}
