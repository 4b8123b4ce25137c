import Foundation
import Testing
@testable import KenpoCore

/// The manifest's per-file lists streamed from files (`ManifestListFile`): manifest.json comes out
/// byte for byte as `Manifest.encoded()` writes it, and reads back without the lists in memory.
@Suite struct ManifestListsTests {
    static func tempFolder() -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-lists-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    static let inputs: [Manifest.Input] = [
        .init(path: "inbox/sample-kamome/roster.csv", kind: "roster", profile: "sample-kamome", bytes: 614_683, sha256: String(repeating: "a", count: 64),
              records: .init(read: 5000, accepted: 4990, rejected: 10)),
        .init(path: "inbox/health/h1.xml", kind: "health_xml", profile: nil, bytes: 19_002, sha256: String(repeating: "b", count: 64),
              records: .init(read: 1, accepted: 1, rejected: 0)),
        // Characters JSON escapes, a slash, non-ASCII, an empty string.
        .init(path: "in/\"quoted\"\\back\tslash/line\nbreak/\u{1}/白鷺.xml", kind: "", profile: "p/ü", bytes: 0, sha256: "",
              records: .init(read: 2, accepted: 0, rejected: 2)),
    ]

    static let archived: [Manifest.ArchivedInput] = [
        .init(path: "inbox/a.csv", sha256: String(repeating: "c", count: 64), bytes: 1, committedBy: "r000001-x-run", archivedTo: nil),
        .init(path: "inbox/b\"c.xml", sha256: "", bytes: 22, committedBy: "r000001-x-run", archivedTo: "var/archive/2026-11-21/r1/inbox/b\"c.xml"),
    ]

    static func manifest(inputs: [Manifest.Input], archived: [Manifest.ArchivedInput]?) -> Manifest {
        var m = Manifest(kenpoVersion: "0.1.0", runId: "r000001-x-run", stage: "run", runDate: "2026-11-21", startedAt: "s", finishedAt: "f",
                         status: "completed", exitStatus: 0, stateGeneration: "g-000001", previousStateGeneration: nil, inputs: inputs,
                         outputs: [OutputFile(path: "members.csv", rows: 2, bytes: 10, sha256: "d")], referenceTables: [],
                         rejectReasons: ["X": 2], summary: ["documents_read": 3])
        m.steps = [Manifest.Step(name: "import", status: "completed", files: 2)]
        m.archived = archived
        return m
    }

    @Test(arguments: [0, 1, 3])
    func theStreamedManifestIsTheEncodedOne(_ n: Int) throws {
        let dir = Self.tempFolder()
        defer { FileSystem.removeTree(dir) }
        let ins = Array(Self.inputs.prefix(n)), arch = Array(Self.archived.prefix(max(0, n - 1)))
        let inputs = try ManifestListFile(path: dir + "/inputs")
        for i in ins { inputs.append(ManifestJSON.input(i)) }
        let archived = try ManifestListFile(path: dir + "/archived")
        for a in arch { archived.append(ManifestJSON.archived(a)) }
        try Self.manifest(inputs: [], archived: []).write(to: dir + "/manifest.json", inputs: inputs, archived: archived)
        let written = try #require(FileManager.default.contents(atPath: dir + "/manifest.json"))
        let expected = try Self.manifest(inputs: ins, archived: arch).encoded()
        #expect(Array(written) == expected, "\(String(decoding: written, as: UTF8.self))")

        // Read back whole, and without the lists.
        #expect(try Manifest.decode(path: dir + "/manifest.json").inputs == ins)
        let summary = try Manifest.decodeSummary(path: dir + "/manifest.json")
        #expect(summary.inputs.isEmpty && summary.archived == [] && summary.runDate == "2026-11-21" && summary.summary == ["documents_read": 3])
        var figures = Manifest.ListSummary()
        for i in ins { figures.add(i) }
        for a in arch { figures.add(a) }
        #expect(summary.lists == figures)
    }

    @Test func theCommandLinePrintsEveryInputOfASmallRunAndGroupsOfABigOne() throws {
        var m = Self.manifest(inputs: Self.inputs, archived: nil)
        var figures = Manifest.ListSummary()
        for i in Self.inputs { figures.add(i) }
        m.lists = figures
        let small = RunReport.inputLines(m, manifestPath: "var/outbox/r1/manifest.json")
        #expect(small.count == 3)
        #expect(small[0] == "inbox/sample-kamome/roster.csv: read 5000, accepted 4990, rejected 10")
        // A run over Run.listsHeldInMemory inputs holds none: the lines are per insurer and kind.
        for _ in 0..<Run.listsHeldInMemory { figures.add(Self.inputs[1]) }
        m.lists = figures
        m.inputs = []
        let big = RunReport.inputLines(m, manifestPath: "var/outbox/r1/manifest.json")
        #expect(big == [
            "health_xml: 10001 files, read 10001, accepted 10001, rejected 0",
            "p/ü · : 1 files, read 2, accepted 0, rejected 2",
            "sample-kamome · roster: 1 files, read 5000, accepted 4990, rejected 10",
            "10003 input files, each listed in var/outbox/r1/manifest.json",
        ])
    }

    @Test func aListCheckpointCutsLaterElementsOff() throws {
        let dir = Self.tempFolder()
        defer { FileSystem.removeTree(dir) }
        let list = try ManifestListFile(path: dir + "/l")
        list.append(Array("one".utf8))
        let cp = try list.checkpoint()
        list.append(Array("two".utf8))
        _ = try list.checkpoint()
        let resumed = try ManifestListFile(path: dir + "/l", resumingAt: cp)
        resumed.append(Array("three".utf8))
        var got: [String] = []
        try resumed.forEach { got.append(String(decoding: $0, as: UTF8.self)) }
        #expect(got == ["one", "three"])
    }

    /// The committed-inputs ledger keeps its order (run, then path) and each path and SHA-256 once.
    @Test func theLedgerIsRewrittenInOrderWithoutDuplicates() throws {
        let dir = Self.tempFolder()
        defer { FileSystem.removeTree(dir) }
        func c(_ path: String, _ sha: String, _ run: String) -> CommittedInput {
            CommittedInput(path: path, sha256: sha, bytes: 1, step: "import", runId: run, runDate: "2026-11-20")
        }
        let header = ["sha256", "bytes", "path", "step", "run_id", "run_date", "archived_to"]
        let old = try CSVWriter(path: dir + "/old.csv", header: header)
        for r in [c("a", "1", "r1"), c("z", "2", "r1"), c("b", "3", "r2")] {
            old.row([r.sha256, String(r.bytes), r.path, r.step, r.runId, r.runDate, ""])
        }
        try old.close()
        let ledger = try CommittedLedger(path: dir + "/old.csv")
        #expect(try ledger.find(path: "z", sha256: "2")?.runId == "r1")
        #expect(try ledger.find(path: "z", sha256: "9") == nil)
        let added = try CommittedList(path: dir + "/added")
        for r in [c("y", "5", "r3"), c("a", "1", "r3"), c("x", "4", "r3"), c("y", "5", "r3")] { added.append(r) }
        try ledger.write(to: dir + "/new.csv", header: header, adding: added, sortFolder: dir + "/sort") { $0.path == "x" ? "arch/x" : nil }
        let rows = try String(contentsOfFile: dir + "/new.csv", encoding: .utf8).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.dropFirst().map { "\($0[4]):\($0[2]):\($0[6])" } == ["r1:z:", "r2:b:", "r3:a:", "r3:x:arch/x", "r3:y:"])
    }

    /// A state table's rows are copied as they are when kenpo wrote them, re-encoded when not.
    @Test func rowsKenpoWroteAreCopiedAsTheyAre() throws {
        let dir = Self.tempFolder()
        defer { FileSystem.removeTree(dir) }
        let text = "id,note\r\n1,plain\r\n2,\"a, b\"\r\n3,\"needless\"\n\n4,\"multi\r\nline\"\r\n5,last"
        try FileSystem.writeAtomically(Array(text.utf8), to: dir + "/t.csv")
        let r = try CSVRowReader(path: dir + "/t.csv", bufferSize: 8)
        var got: [(String, Bool, Int)] = []
        while try r.next() {
            got.append((String(decoding: r.row, as: UTF8.self), r.canonical, r.fieldCount))
            #expect(r.malformed == nil)
        }
        #expect(got.map(\.0) == ["id,note\r\n", "1,plain\r\n", "2,\"a, b\"\r\n", "3,\"needless\"\n", "4,\"multi\r\nline\"\r\n", "5,last"])
        #expect(got.map(\.1) == [true, true, true, false, true, false])
        #expect(got.allSatisfy { $0.2 == 2 })
    }
}
