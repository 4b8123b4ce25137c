import Foundation
import KenpoCore
import Testing

/// `kenpo run` as the nightly job: resuming a killed run, a failing insurer not stopping the others,
/// committed inputs archived (moved) and never applied twice. Each test works on its own copy of the
/// samples and pipelines (a deployment root), with `[archive] mode = move`.
@Suite struct PipelineRunEndToEndTests {
    /// A deployment root: pipelines/ (profiles, grading, reference) and samples/ copied, the sample
    /// pipeline switched to moving committed inputs into the archive (or keeping them in place).
    static func deployment(archive mode: String = "move") throws -> (root: String, pipeline: String, data: String) {
        let root = KenpoProcess.tempDataFolder()
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        for folder in ["pipelines", "samples"] {
            try fm.copyItem(atPath: KenpoProcess.packageRoot.path + "/" + folder, toPath: root + "/" + folder)
        }
        let pipeline = root + "/pipelines/samples.pipeline"
        let text = try String(contentsOfFile: pipeline, encoding: .utf8).replacingOccurrences(of: "mode = keep", with: "mode = " + mode)
        try text.write(toFile: pipeline, atomically: true, encoding: .utf8)
        return (root, pipeline, root + "/var")
    }

    static func manifest(_ data: String) throws -> Manifest {
        try Manifest.decode(path: data + "/outbox/latest/manifest.json")
    }

    /// The published datasets that must not depend on how the run got there.
    static let datasets = ["members.csv", "checkups.csv", "checkup_results.csv", "cost_notices.csv", "prescriptions.csv"]

    @Test func aKilledRunResumesAfterItsLastCompletedStepAndEqualsAnUninterruptedOne() throws {
        let reference = try Self.deployment()
        let crashed = try Self.deployment()
        defer { for d in [reference.root, crashed.root] { try? FileManager.default.removeItem(atPath: d) } }
        let ref = try CodesEndToEndTests.run(["run", reference.pipeline, "--data", reference.data, "--date", "2026-11-21"])
        #expect(ref.status == 0, "\(ref.stderr)")

        // Killed right after the import step's checkpoint: eligibility and import are done, codes not yet.
        let killed = try CodesEndToEndTests.run(["run", crashed.pipeline, "--data", crashed.data, "--date", "2026-11-21"],
                                                environment: ["KENPO_CRASH_AT": "step:checkpoint:import"])
        #expect(killed.status == 9, "killed by SIGKILL; \(killed.stderr)")
        #expect(FileSystem.readSymlink(crashed.data + "/outbox/latest") == nil, "nothing published by the killed run")
        #expect(FileSystem.exists(crashed.root + "/samples/rosters/kamome-day1.csv"), "nothing archived before the commit")

        let rerun = try CodesEndToEndTests.run(["run", crashed.pipeline, "--data", crashed.data, "--date", "2026-11-21"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("resumed"))
        let m = try Self.manifest(crashed.data)
        let steps = (m.steps ?? []).map { "\($0.name):\($0.status):\($0.resumed)" }
        #expect(steps == ["eligibility:completed:true", "import:completed:true", "codes:sample-kamome:completed:false",
                          "codes:sample-tsubame:completed:false", "reissue:completed:false", "export:completed:false"])
        // One run id across the restart; the same datasets, rejects and postcards as the uninterrupted run.
        let r = try Self.manifest(reference.data)
        #expect(m.runId.hasPrefix("r000001-"))
        for f in Self.datasets {
            // Records name their source file by path: the two deployments differ in their root only.
            let a = try String(contentsOfFile: crashed.data + "/outbox/latest/" + f, encoding: .utf8).replacingOccurrences(of: crashed.root, with: "ROOT")
            let b = try String(contentsOfFile: reference.data + "/outbox/latest/" + f, encoding: .utf8).replacingOccurrences(of: reference.root, with: "ROOT")
            #expect(a == b, "\(f)")
        }
        #expect(m.rejectReasons == r.rejectReasons)
        #expect(m.summary["postcards"] == 11 && r.summary["postcards"] == 11)
        #expect(m.inputs.map(\.records) == r.inputs.map(\.records))
        for i in m.inputs { #expect(i.records.read == i.records.accepted + i.records.rejected, "\(i.path)") }
        let rejects = try csvRows(crashed.data + "/outbox/latest/rejects.csv").count - 1
        #expect(rejects == m.inputs.reduce(0) { $0 + $1.records.rejected })
        #expect(!FileSystem.isDirectory(crashed.data + "/resume/samples"), "the checkpoint is gone once published")

        // Every committed input moved to the dated archive, byte for byte (its SHA-256 in the manifest).
        let archived = m.archived ?? []
        #expect(archived.count == 19)
        for a in archived {
            let dest = try #require(a.archivedTo)
            #expect(dest.contains("/archive/2026-11-21/\(m.runId)/samples/"), "\(dest)")
            #expect(!FileSystem.exists(a.path), "\(a.path) left in the inbox")
            #expect(try SHA256Digest.hex(ofFile: dest).sha256 == a.sha256, "\(dest)")
        }
    }

    /// An input changed after its step read it is not moved into the archive as though committed: it
    /// stays in the inbox, and the next run applies the new bytes.
    @Test func anInputChangedAfterItWasReadStaysInTheInboxForTheNextRun() throws {
        let d = try Self.deployment()
        defer { try? FileManager.default.removeItem(atPath: d.root) }
        // Inputs settled before the run (`FileStamp.settled`), as a night's deliveries are: the run
        // trusts their stamps, so only a stamp that changed can keep one from the archive.
        sleep(3)
        // Killed after every step, before publishing; the checkup is sent again while kenpo is down.
        let killed = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-21"],
                                                environment: ["KENPO_CRASH_AT": "publish:handback-written"])
        #expect(killed.status == 9, "\(killed.stderr)")
        let changed = d.root + "/samples/health/insurer/tsubame-checkup-haruto.xml"
        var bytes = try #require(fileBytes(changed))
        bytes.append(contentsOf: Array("<!-- sent again -->\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: changed))

        let resumed = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-21"])
        #expect(resumed.status == 0, "\(resumed.stdout) \(resumed.stderr)")
        #expect(resumed.stderr.contains("\(changed) changed after it was read; it stays in the inbox"), "\(resumed.stderr)")
        #expect(FileSystem.exists(changed))
        let m = try Self.manifest(d.data)
        for a in m.archived ?? [] where a.path != changed {
            #expect(!FileSystem.exists(a.path), "\(a.path) left in the inbox")
            #expect(try SHA256Digest.hex(ofFile: try #require(a.archivedTo)).sha256 == a.sha256, "\(a.path)")
        }

        let next = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-22"])
        #expect(next.status == 0, "\(next.stdout) \(next.stderr)")
        let n = try Self.manifest(d.data)
        #expect(n.inputs.map(\.path) == [changed])
        #expect(n.archived?.map(\.path) == [changed])
        #expect(!FileSystem.exists(changed))
        let dest = try #require(n.archived?.first?.archivedTo)
        #expect(fileBytes(dest) == bytes, "the new bytes, archived by the run that applied them")
    }

    /// Inputs kept in place (`mode = keep`): a file at a path a run committed is applied again only
    /// when its bytes changed; a new file is read once, by its step, and committed with the SHA-256 of
    /// what the step read.
    @Test func keptInputsAreAppliedAgainOnlyWhenTheirBytesChange() throws {
        let d = try Self.deployment(archive: "keep")
        defer { try? FileManager.default.removeItem(atPath: d.root) }
        let first = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-21"])
        #expect(first.status == 0, "\(first.stderr)")
        let idle = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-22"])
        #expect(idle.status == 0 && idle.stdout.contains("nothing to do"), "\(idle.stdout) \(idle.stderr)")

        // One checkup sent again with other bytes at the same path, one new file beside it.
        let changed = d.root + "/samples/health/insurer/tsubame-checkup-haruto.xml"
        let added = d.root + "/samples/health/insurer/tsubame-checkup-haruto-copy.xml"
        var bytes = try #require(fileBytes(changed))
        try bytes.write(to: URL(fileURLWithPath: added))
        bytes.append(contentsOf: Array("<!-- sent again -->\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: changed))
        let third = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-23"])
        #expect(third.status == 0, "\(third.stdout) \(third.stderr)")
        let m = try Self.manifest(d.data)
        #expect(m.runDate == "2026-11-23")
        let ran = (m.steps ?? []).filter { $0.status != "nothing_to_do" }
        #expect(ran.map(\.name) == ["import"], "only the import had anything new")
        #expect(ran.first?.files == 2)
        #expect(Set(m.inputs.map(\.path)) == [changed, added])
        // Committed with the digest of the bytes read, equal to the files' own.
        let archived = m.archived ?? []
        #expect(Set(archived.map(\.path)) == [changed, added])
        for a in archived {
            #expect(a.archivedTo == nil, "kept in place")
            #expect(try SHA256Digest.hex(ofFile: a.path).sha256 == a.sha256, "\(a.path)")
            #expect(m.inputs.first { $0.path == a.path }?.sha256 == a.sha256)
        }
        let ledger = try csvRows(d.data + "/state/current/committed_inputs.csv")
        #expect(ledger.first == ["sha256", "bytes", "path", "step", "run_id", "run_date", "archived_to"])
        #expect(ledger.filter { $0.count > 2 && $0[2] == changed }.map(\.[5]).sorted() == ["2026-11-21", "2026-11-23"],
                "both versions of the changed file are in the ledger")
        #expect(ledger.filter { $0.count > 2 && $0[2] == added }.map(\.[0]) == [try SHA256Digest.hex(ofFile: added).sha256])

        let last = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-24"])
        #expect(last.status == 0 && last.stdout.contains("nothing to do"), "\(last.stdout) \(last.stderr)")
    }

    /// The committed-inputs ledger does not grow with every night: past retention (30 days) a row goes
    /// once its file is no longer in the inbox; a file still kept there keeps its row, and is never
    /// applied again.
    @Test func theLedgerDropsOldRowsOfFilesNoLongerInTheInboxAndKeepsTheRest() throws {
        let d = try Self.deployment(archive: "keep")
        defer { try? FileManager.default.removeItem(atPath: d.root) }
        let first = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-21"])
        #expect(first.status == 0, "\(first.stderr)")
        func ledger() throws -> [[String]] { Array(try csvRows(d.data + "/state/current/committed_inputs.csv").dropFirst()) }
        let committed = try ledger()
        #expect(committed.count == 19)

        // The operator clears the reissue requests away; 45 days later one new checkup arrives.
        let removed = d.root + "/samples/reissue/requests.csv"
        try FileManager.default.removeItem(atPath: removed)
        let added = d.root + "/samples/health/insurer/tsubame-checkup-haruto-again.xml"
        try FileManager.default.copyItem(atPath: d.root + "/samples/health/insurer/tsubame-checkup-haruto.xml", toPath: added)
        let later = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2027-01-05"])
        #expect(later.status == 0, "\(later.stdout) \(later.stderr)")
        #expect(later.stderr.contains("1 committed inputs no longer in the inbox dropped from committed_inputs.csv"), "\(later.stderr)")
        let rows = try ledger()
        #expect(rows.count == 19)
        #expect(!rows.contains { $0[2] == removed }, "the row of a file gone from the inbox went with retention")
        #expect(rows.filter { $0[5] == "2026-11-21" }.count == 18, "rows of files still in the inbox stay")
        #expect(rows.filter { $0[5] == "2027-01-05" }.map(\.[2]) == [added])

        // The files still kept in the inbox are not applied again.
        let idle = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2027-01-06"])
        #expect(idle.status == 0 && idle.stdout.contains("nothing to do"), "\(idle.stdout) \(idle.stderr)")
    }

    @Test func aFailingInsurerRosterIsLeftInTheInboxWhileEverythingElseRuns() throws {
        let d = try Self.deployment()
        defer { try? FileManager.default.removeItem(atPath: d.root) }
        // つばめ's hand-off arrived empty (header only): refused as a whole, not "everyone left".
        let tsubame = d.root + "/samples/rosters/tsubame-day1.csv"
        let bytes = try #require(fileBytes(tsubame))
        let headerEnd = try #require(bytes.firstIndex(of: 0x0A))
        try bytes[...headerEnd].write(to: URL(fileURLWithPath: tsubame))

        let r = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-21"])
        #expect(r.status == 4, "completed with a failure: \(r.stdout) \(r.stderr)")
        let m = try Self.manifest(d.data)
        #expect(m.status == "completed_with_failures" && m.exitStatus == 4)
        let eligibility = try #require(m.steps?.first { $0.name == "eligibility" })
        #expect(eligibility.status == "completed_with_failures")
        #expect(eligibility.notes.contains { $0.contains("sample-tsubame") && $0.contains("tsubame-day1.csv") && $0.contains("no member rows") })
        // かもめ's members are in; つばめ's roster stays in the inbox, かもめ's is archived.
        let members = try csvRows(d.data + "/outbox/latest/members.csv")
        let insurer = try #require(members.first?.firstIndex(of: "insurer_number"))
        #expect(Set(members.dropFirst().map { $0[insurer] }) == ["06139992"])
        #expect(FileSystem.exists(tsubame))
        #expect(!FileSystem.exists(d.root + "/samples/rosters/kamome-day1.csv"))
        #expect(!(m.archived ?? []).contains { $0.path.hasSuffix("tsubame-day1.csv") })
        // The later steps ran: health records imported, かもめ's postcards printed.
        #expect(m.steps?.first { $0.name == "import" }?.status == "completed")
        #expect(m.steps?.first { $0.name == "codes:sample-kamome" }?.status == "completed")
        #expect(FileSystem.exists(d.data + "/outbox/latest/postcards/sample-kamome/postcards.csv"))
        // つばめ's postcards wait for its roster: the step is held, the mailing list stays.
        #expect(m.steps?.first { $0.name == "codes:sample-tsubame" }?.status == "held")
        #expect(FileSystem.exists(d.root + "/samples/mailing/tsubame-mailing.csv"))
        // The report says what failed, first.
        let report = try String(contentsOfFile: d.data + "/outbox/latest/report.txt", encoding: .utf8)
        #expect(report.contains("FAILED") && report.contains("tsubame-day1.csv"))
        let html = try String(contentsOfFile: d.data + "/outbox/latest/report.html", encoding: .utf8)
        #expect(html.contains("class=\"fail\""))

        // The fixed roster arrives; the next run applies just that (everything else was committed).
        try FileManager.default.copyItem(atPath: KenpoProcess.packageRoot.path + "/samples/rosters/tsubame-day1.csv", toPath: tsubame + ".new")
        try FileManager.default.removeItem(atPath: tsubame)
        try FileManager.default.moveItem(atPath: tsubame + ".new", toPath: tsubame)
        let again = try CodesEndToEndTests.run(["run", d.pipeline, "--data", d.data, "--date", "2026-11-22"])
        #expect(again.status == 0, "\(again.stderr)")
        let m2 = try Self.manifest(d.data)
        #expect(m2.inputs.map { ($0.path as NSString).lastPathComponent } == ["tsubame-day1.csv", "tsubame-mailing.csv"])
        #expect(m2.summary["change_joined"] == 8)
        #expect(m2.summary["postcards"] == 3)
        #expect(!FileSystem.exists(tsubame) && !FileSystem.exists(d.root + "/samples/mailing/tsubame-mailing.csv"))
    }
}
