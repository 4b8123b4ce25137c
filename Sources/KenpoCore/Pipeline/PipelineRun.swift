import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `kenpo run PIPELINE`: every stage of a pipeline as one run — one run id, one outbox, one commit.
///
/// Steps, in order: eligibility (every roster), import (with grading), codes (one batch per insurer
/// profile), reissue, delete, export; the insurers' hand-back files are written last.
///
/// - **Checkpoints.** After every step the run is saved (`Run.checkpoint`) into
///   `<data>/resume/<pipeline>/`. A step that throws is rolled back to the last checkpoint; when the
///   error names one of its input files, the step runs again without that file (for rosters, without
///   that insurer profile's files) and the file stays in the inbox; any other error fails the step and
///   the next steps still run. The run then publishes what succeeded, exit status 4.
/// - **Resume.** A run killed (or stopped by a full disk) is resumed by the next `kenpo run` of the
///   same pipeline and date: steps completed before the kill are not redone, nothing is read twice.
///   A checkpoint is discarded (with a log line) when the date, the pipeline file or the state it was
///   based on has changed since.
/// - **Committed inputs.** Every input of a completed step is recorded with its SHA-256 in the state
///   (`committed_inputs.csv`) and in the manifest (`archived`), then moved after the commit to
///   `<archive>/<run date>/<run id>/<path>` (`[archive] mode = move`), or left in place (`keep`). A file
///   still in the inbox with bytes a run already committed (its move was interrupted, or `keep`) is not
///   applied again.
/// - **Each input read once.** The SHA-256 committed is the one the step computed while reading the
///   file. The plan hashes only files at paths the ledger holds (to compare their bytes); the move into
///   the archive hashes only files whose stamp (`FileStamp`) changed since the plan, or that had not
///   settled by then.
public final class PipelineRun {
    public struct Outcome {
        /// nil when there was nothing to do (no input a run had not committed): nothing is published.
        public var manifest: Manifest?
        public var status: ExitStatus
        public var outboxPath: String?
        public var resumed: Bool
        /// Inputs found in the inbox that earlier runs had committed (not applied again).
        public var alreadyCommitted: Int
        /// The run of this date had published before it was stopped: this start only finished it.
        public var finishedEarlierRun = false
    }

    /// The kind of work of one step.
    enum Kind {
        case eligibility, importRecords, codes(InsurerProfile), reissue, delete, export
    }

    struct StepInput {
        var path: String
        /// Empty when the plan did not hash it (no run committed its path): the step's stage hashes it
        /// as it reads it, and that digest is committed.
        var sha256: String
        var bytes: Int
        var profile: InsurerProfile?
        var source: RecordSource?
        /// The file as the plan found it, when it had settled (`FileStamp.settled`).
        var listed: FileStamp? = nil
        /// Why the file could not be hashed when the run was planned (not a regular file, gone, changing
        /// while read): the step fails on it as on any input it cannot read, and runs without it.
        var unreadable: KenpoError? = nil
    }

    struct PlannedStep {
        var name: String
        var kind: Kind
        /// In a file: a night's import may read a million.
        var inputs: StepInputList
    }

    public static let committedInputsFile = "committed_inputs.csv"
    static let committedHeader = ["sha256", "bytes", "path", "step", "run_id", "run_date", "archived_to"]

    let pipeline: PipelineDefinition
    let data: DataFolder
    let runDate: CalendarDate
    /// The inputs this run committed, step by step: a list file beside the checkpoints (its size is
    /// in each checkpoint's journal), so a night of a million files holds none of them in memory.
    private var newlyCommitted: CommittedList!
    var committedListPath: String { resumeFolder + "/committed-inputs" }
    /// `--key-file` (else the pipeline's `[codes] key_file`, else KENPO_CODE_KEY_FILE).
    public var codeKeyFile: String?

    public init(pipeline: PipelineDefinition, dataRoot: String, runDate: CalendarDate) {
        self.pipeline = pipeline
        self.data = DataFolder(root: dataRoot)
        self.runDate = runDate
    }

    var resumeFolder: String {
        let safe = String(pipeline.name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return data.root + "/resume/" + safe
    }

    public func execute() throws -> Outcome {
        // Reference data first: a broken table or profile is a configuration error before anything runs.
        let eligibilityProfiles = try pipeline.eligibility.map { g in
            (try InsurerProfile.resolve(g.profile, searchDirectory: pipeline.profileDirectory), g.files)
        }
        let mailingProfiles = try pipeline.mailingLists.map { g in
            (try InsurerProfile.resolve(g.profile, searchDirectory: pipeline.profileDirectory), g.files)
        }
        let items = pipeline.imports.isEmpty ? nil : try CheckupItems.load(path: pipeline.checkupItemsPath)
        let grader = try items.map { try GradingReference.load(directory: pipeline.gradingDirectory, table: pipeline.gradingTable, items: $0) }
        var codes: CodesOptions? = nil
        if mailingProfiles.contains(where: { !$0.1.isEmpty }) || !pipeline.reissueRequests.isEmpty {
            var o = CodesOptions(key: try CodeKey.resolve(keyFile: codeKeyFile ?? pipeline.codeKeyFile))
            o.printEncoding = pipeline.printEncoding
            o.addInsurers(fromProfileDirectory: pipeline.profileDirectory)
            codes = o
        }
        let pipelineSHA = try SHA256Digest.hex(ofFile: pipeline.path).sha256

        try data.lock(command: "run \(pipeline.name) \(runDate.iso)")
        defer { data.unlock() }
        for u in pipeline.unmatched { Log.info("run: nothing in the inbox matches \(u)") }

        // Killed after its commit (while switching links or archiving): that run is done; finish its
        // archive moves and report its outcome, as the uninterrupted run would have.
        if let cp = RunCheckpoint.latest(in: resumeFolder), data.publishedRuns().contains(cp.runId),
           let manifest = try? Manifest.decode(path: data.outbox + "/" + cp.runId + "/manifest.json") {
            Log.info("run: run \(cp.runId) of \(cp.runDate) was published before it stopped; finishing its archive moves")
            for a in manifest.archived ?? [] { if let dest = a.archivedTo { archive(a.path, sha256: a.sha256, to: dest) } }
            FileSystem.removeTree(resumeFolder)
            return Outcome(manifest: manifest, status: ExitStatus(rawValue: manifest.exitStatus) ?? .success,
                           outboxPath: data.outbox + "/" + cp.runId, resumed: true, alreadyCommitted: 0, finishedEarlierRun: true)
        }
        let committed = try CommittedLedger(path: data.currentGeneration().map { data.generationPath($0) + "/" + Self.committedInputsFile })
        let handBack: InsurerHandBack
        let run: Run
        var done: [Manifest.Step] = []
        var resumed = false
        if let cp = resumableCheckpoint(pipelineSHA: pipelineSHA) {
            run = try Run(data: data, resuming: cp)
            handBack = InsurerHandBack(run: run)
            try run.restore(cp, from: resumeFolder, handBack: handBack)
            done = cp.steps.map { var s = $0; s.resumed = true; return s }
            newlyCommitted = try CommittedList(path: committedListPath, resumingAt: cp.committed)
            resumed = true
            Log.info("run: resuming run \(run.id) of \(runDate.iso): \(done.count) steps were completed before it stopped (" + done.map(\.name).joined(separator: ", ") + ")")
        } else {
            FileSystem.removeTree(resumeFolder)
            run = try Run(data: data, stage: "run", runDate: runDate)
            handBack = InsurerHandBack(run: run)
            try FileSystem.makeDirectory(resumeFolder)
            newlyCommitted = try CommittedList(path: committedListPath)
            try saveCheckpoint(run, handBack: handBack, steps: [], pipelineSHA: pipelineSHA)
        }
        if let days = pipeline.retentionDays { run.retentionDays = days }

        do {
            // Plan: the files each step reads tonight; those a run already committed are set aside. Only a
            // file at a path the ledger holds is hashed here (to compare its bytes); any other is new, and
            // is read once, by its step. The lists are files (in var/tmp): a night's import may read a million.
            let planFolder = data.tmp + "/plan-" + run.id
            defer { FileSystem.removeTree(planFolder) }
            try FileSystem.makeDirectory(planFolder)
            let alreadyCommitted = try CommittedList(path: planFolder + "/already-committed")
            var alreadyCommittedPaths = Set<UInt64>()
            // A stamp counts only for a file settled before the plan began (stricter than before each stamp).
            let planStart = Int(Date().timeIntervalSince1970)
            func plan(_ name: String, _ kind: Kind, _ files: [(String, InsurerProfile?, RecordSource?)]) throws -> PlannedStep {
                try plan(name, kind) { add in for f in files { try add(f.0, f.1, f.2) } }
            }
            func plan(_ name: String, _ kind: Kind, _ each: ((String, InsurerProfile?, RecordSource?) throws -> Void) throws -> Void) throws -> PlannedStep {
                let inputs = try StepInputList(folder: planFolder)
                try each { path, profile, source in
                    let digest: (sha256: String, bytes: Int)
                    var listed: FileStamp?
                    do {
                        let stamp = try InputFile.stamp(of: path)   // a regular file, not a link to one
                        listed = stamp.settled(before: planStart) ? stamp : nil
                        guard committed.mayHold(path: path) else {
                            inputs.append(StepInput(path: path, sha256: "", bytes: stamp.identity.size, profile: profile, source: source, listed: listed))
                            return
                        }
                        digest = try SHA256Digest.hex(ofFile: path)   // never blocks: a FIFO is refused (InputFile)
                    } catch let e as KenpoError {
                        inputs.append(StepInput(path: path, sha256: "", bytes: 0, profile: profile, source: source, unreadable: e))
                        return
                    }
                    let (bytes, sha) = (digest.bytes, digest.sha256)
                    if var c = try committed.find(path: path, sha256: sha),
                       pipeline.archiveMode == .keep || c.archivedTo.map({ !FileSystem.exists($0) }) ?? true {
                        c.listed = listed
                        if alreadyCommittedPaths.insert(CommittedLedger.pathKey(path)).inserted { alreadyCommitted.append(c) }
                        return
                    }
                    inputs.append(StepInput(path: path, sha256: sha, bytes: bytes, profile: profile, source: source, listed: listed))
                }
                return PlannedStep(name: name, kind: kind, inputs: inputs)
            }
            var steps: [PlannedStep] = []
            let rosterFiles = eligibilityProfiles.flatMap { p, files in files.map { ($0, Optional(p), RecordSource?.none) } }
            if !pipeline.eligibility.isEmpty { steps.append(try plan("eligibility", .eligibility, rosterFiles)) }
            if !pipeline.imports.isEmpty {
                steps.append(try plan("import", .importRecords) { add in
                    for input in pipeline.imports {
                        if InputFile.isSymbolicLink(input.path) {
                            try add(input.path, nil, input.source)   // refused as an input, never walked
                        } else if FileSystem.isDirectory(input.path) {
                            let walk = DirectoryWalk(input.path)
                            while let path = walk.next() { try add(path, nil, input.source) }
                        } else if FileSystem.exists(input.path) {
                            try add(input.path, nil, input.source)
                        }
                    }
                })
            }
            for (profile, files) in mailingProfiles {
                steps.append(try plan("codes:\(profile.name)", .codes(profile), files.map { ($0, profile, nil) }))
            }
            if !pipeline.reissueRequests.isEmpty { steps.append(try plan("reissue", .reissue, pipeline.reissueRequests.map { ($0, nil, nil) })) }
            if !pipeline.deletionRequests.isEmpty { steps.append(try plan("delete", .delete, pipeline.deletionRequests.map { ($0, nil, nil) })) }
            if !pipeline.exportRequests.isEmpty { steps.append(try plan("export", .export, pipeline.exportRequests.map { ($0, nil, nil) })) }
            if alreadyCommitted.count > 0 {
                var runs = Set<String>()
                try alreadyCommitted.forEach { runs.insert($0.runId) }
                Log.info("run: \(alreadyCommitted.count) input files were committed by earlier runs (\(runs.sorted().joined(separator: ", "))); not applied again")
            }
            if !resumed && steps.allSatisfy({ $0.inputs.isEmpty }) {
                // Nothing new tonight: no run is published; moves an earlier run could not finish are done.
                run.abandon()
                FileSystem.removeTree(resumeFolder)
                if pipeline.archiveMode == .move {
                    try alreadyCommitted.forEach { c in
                        archive(c.path, sha256: c.sha256, to: c.archivedTo ?? archiveDestination(c.path, runDate: c.runDate, runId: c.runId))
                    }
                }
                Log.info("run: nothing to do: no input that a run has not committed; nothing published")
                return Outcome(manifest: nil, status: .success, outboxPath: nil, resumed: false, alreadyCommitted: alreadyCommitted.count)
            }

            for step in steps {
                if let earlier = done.first(where: { $0.name == step.name }) {
                    Log.info("run: step \(step.name) was completed (\(earlier.status)) before the run stopped; not redone")
                    continue
                }
                if case .codes(let profile) = step.kind, !step.inputs.isEmpty,
                   let failed = done.first(where: { $0.name == "eligibility" })?.failedInputs,
                   rosterFiles.contains(where: { $0.1?.name == profile.name && failed.contains($0.0) }) {
                    // Postcards for an insurer whose roster failed tonight would go by yesterday's master.
                    var held = Manifest.Step(name: step.name, status: "held", files: step.inputs.count)
                    held.notes = ["\(profile.name)'s roster failed in this run; its mailing list stays in the inbox for the run that applies the roster"]
                    done.append(held)
                    Log.warning("run: step \(step.name): " + held.notes[0])
                    try saveCheckpoint(run, handBack: handBack, steps: done, pipelineSHA: pipelineSHA)
                    continue
                }
                CrashPoint.reach("step:begin:\(step.name)")
                let record = try perform(step, run: run, handBack: handBack, items: items, grader: grader, codes: codes)
                done.append(record)
                Log.info(Self.logLine(record))
                try saveCheckpoint(run, handBack: handBack, steps: done, pipelineSHA: pipelineSHA)
                CrashPoint.reach("step:checkpoint:\(step.name)")
            }

            let ran = done.filter { $0.status != "nothing_to_do" }
            if !ran.isEmpty && ran.allSatisfy({ $0.status == "failed" }) {
                throw KenpoError.input(path: pipeline.path, line: nil, message: "every step failed; nothing was published: "
                                       + ran.flatMap(\.notes).joined(separator: "; "))
            }

            // Publish: hand-back files, the committed-inputs ledger, the manifest's steps and archive list.
            try handBack.write()
            CrashPoint.reach("publish:handback-written")
            // The committed inputs are streamed from their lists (a night may commit a million files):
            // this run's, then those earlier runs committed whose move was interrupted (or kept in place).
            let move = pipeline.archiveMode == .move
            func ownArchive(_ c: CommittedInput) -> String? { move ? archiveDestination(c.path, runDate: runDate.iso, runId: run.id) : nil }
            func earlierArchive(_ c: CommittedInput) -> String { c.archivedTo ?? archiveDestination(c.path, runDate: c.runDate, runId: c.runId) }
            try run.beginArchived()
            try newlyCommitted.forEach { c in
                run.addArchived(Manifest.ArchivedInput(path: c.path, sha256: c.sha256, bytes: c.bytes, committedBy: run.id, archivedTo: ownArchive(c)))
            }
            if move {
                try alreadyCommitted.forEach { c in
                    run.addArchived(Manifest.ArchivedInput(path: c.path, sha256: c.sha256, bytes: c.bytes, committedBy: c.runId, archivedTo: earlierArchive(c)))
                }
            }
            try writeCommitted(previous: committed, adding: newlyCommitted, run: run, sortFolder: planFolder, archivedTo: ownArchive)
            run.steps = done
            let (manifest, status) = try run.publish()
            // After the commit: move what was committed. Killed before the checkpoint is removed, the
            // next start finishes the moves and reports this run's outcome (above).
            if move {
                try newlyCommitted.forEach { c in archive(c.path, sha256: c.sha256, listed: c.listed, to: ownArchive(c)!) }
                try alreadyCommitted.forEach { c in archive(c.path, sha256: c.sha256, listed: c.listed, to: earlierArchive(c)) }
                // A member deleted tonight whose documents this run also imported: those just moved in go too.
                if done.contains(where: { $0.name == "delete" && $0.status != "failed" && $0.status != "nothing_to_do" }) {
                    do {
                        try ArchivePurge.removeDocumentsDeleted(byRun: run.id, state: data.currentLink)
                    } catch {
                        Log.warning("archive: \(error)")
                    }
                }
                // A folder of the pipeline's own (`[archive] folder`); <data>/archive is pruned with the run.
                if let folder = pipeline.archiveFolder, folder != data.root + "/archive" {
                    ArchivePurge.prune(folder: folder, retentionDays: run.retentionDays, runDate: runDate)
                }
            }
            FileSystem.removeTree(resumeFolder)
            FileSystem.syncDirectory(data.root + "/resume")
            return Outcome(manifest: manifest, status: status, outboxPath: data.outbox + "/" + run.id, resumed: resumed,
                           alreadyCommitted: alreadyCommitted.count)
        } catch {
            // After a full disk or an I/O error the last checkpoint stays: rerunning the same date resumes
            // from it. Anything else starts afresh on the rerun (nothing of this run was published).
            run.abandon()
            if case KenpoError.io = error {} else if !isDiskFull(error) { FileSystem.removeTree(resumeFolder) }
            if isDiskFull(error) {
                let after = done.last.map { "after step \($0.name)" } ?? "from the start"
                throw KenpoError.io(path: data.root, message: "the disk is full (\(error)); nothing of this run was published. Free space (df -h \(data.root)) and run the same command again: it resumes \(after)")
            }
            throw error
        }
    }

    // MARK: steps

    /// Runs one step; on an error naming one of its inputs, rolls back and runs it again without that
    /// input (without every file of that profile, for rosters). Any other error fails the step.
    private func perform(_ step: PlannedStep, run: Run, handBack: InsurerHandBack, items: CheckupItems?, grader: Grader?,
                         codes: CodesOptions?) throws -> Manifest.Step {
        var record = Manifest.Step(name: step.name, status: "completed", files: step.inputs.count)
        guard !step.inputs.isEmpty else {
            record.status = "nothing_to_do"
            return record
        }
        var inputs = step.inputs
        var failures: [String] = []
        var heldBack: Set<String> = []
        ProcessMemory.resetPeak()
        run.progress.begin(step: step.name, totalBytes: inputs.totalBytes)
        // What the stage reads, with its digests; emptied for each attempt (one rolled back leaves nothing).
        let read = try inputs.readList()
        run.inputsRead = read
        defer { run.inputsRead = nil }
        while true {
            do {
                try read.clear()
                if let unreadable = inputs.firstUnreadable { throw unreadable }
                heldBack = try body(step.kind, inputs: inputs, run: run, handBack: handBack, items: items, grader: grader, codes: codes)
                break
            } catch let e as BatchAlreadyIssued {
                // A batch a published run issued: nothing new is printed; its inputs count as committed.
                try rollback(run, handBack: handBack)
                try read.clear()
                record.status = "already_done"
                failures.append(e.description.replacingOccurrences(of: "\n", with: " "))
                break
            } catch {
                if isDiskFull(error) { throw error }
                try rollback(run, handBack: handBack)
                let named = (error as? KenpoError)?.path
                let culprit = try named.flatMap { p in try inputs.first { p == $0.path || p.hasPrefix($0.path + "!") || p.hasPrefix($0.path + "#") } }
                guard let culprit else {
                    failures.append("\(error)")
                    record.status = "failed"
                    record.failedInputs = try inputs.paths()
                    inputs = try inputs.emptied()
                    break
                }
                let dropped: [StepInput]
                if case .eligibility = step.kind, let profile = culprit.profile {
                    // A profile's rosters stand together: none of them is applied without the others.
                    dropped = try inputs.filter { $0.profile?.name == profile.name }
                    failures.append("\(profile.name): \(error); its rosters (\(dropped.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", "))) stay in the inbox")
                } else {
                    dropped = [culprit]
                    failures.append("\(error); the file stays in the inbox")
                }
                Log.error("run: step \(step.name): \(failures.last!)")
                inputs = try inputs.removing(Set(dropped.map(\.path)))
                record.failedInputs += dropped.map(\.path)
                record.status = "completed_with_failures"
                if inputs.isEmpty { record.status = "failed"; break }
                run.progress.begin(step: step.name, totalBytes: inputs.totalBytes)
            }
        }
        record.seconds = run.progress.end()
        record.peakRssBytes = ProcessMemory.peakBytes()
        record.records = run.progress.records
        record.bytes = inputs.totalBytes
        record.notes = failures
        try commit(inputs, read: read, heldBack: heldBack, step: step.name, run: run)
        for p in heldBack.sorted() { record.notes.append("\(p): held back (ROSTER_HELD_BACK); it stays in the inbox until confirmed") }
        return record
    }

    /// The step's committed inputs join the run's list (checkpointed with the step), each with the
    /// SHA-256 and size of the bytes its stage read (the stages report their inputs in the order they
    /// were handed them; one out of order is found all the same). An input the stage did not report
    /// with a digest (a batch already issued, a document refused unread …) is hashed now, unless the
    /// plan did.
    private func commit(_ inputs: StepInputList, read: InputsRead, heldBack: Set<String>, step: String, run: Run) throws {
        let next = try read.reader()
        var early: [String: [(sha256: String, bytes: Int)]] = [:]   // reports ahead of their input
        func reported(_ path: String) throws -> (sha256: String, bytes: Int)? {
            if var waiting = early[path], !waiting.isEmpty {
                let d = waiting.removeFirst()
                early[path] = waiting
                return d
            }
            while let r = try next() {
                if r.path == path { return (r.sha256, r.bytes) }
                early[r.path, default: []].append((r.sha256, r.bytes))
            }
            return nil
        }
        try inputs.forEach { i in
            guard !heldBack.contains(i.path) else { return }
            var (sha256, bytes) = (i.sha256, i.bytes)
            if let d = try reported(i.path), !d.sha256.isEmpty {
                (sha256, bytes) = d
            } else if sha256.isEmpty {
                do {
                    (sha256, bytes) = try SHA256Digest.hex(ofFile: i.path)
                } catch {
                    Log.warning("run: step \(step): \(error); not recorded as committed, so the next run reads it again")
                    return
                }
            }
            newlyCommitted.append(CommittedInput(path: i.path, sha256: sha256, bytes: bytes, step: step, runId: run.id,
                                                 runDate: runDate.iso, listed: i.listed))
        }
    }

    /// The stage behind a step. Returns the input paths held back (not committed).
    private func body(_ kind: Kind, inputs list: StepInputList, run: Run, handBack: InsurerHandBack, items: CheckupItems?, grader: Grader?,
                      codes: CodesOptions?) throws -> Set<String> {
        switch kind {
        case .importRecords:
            // Streamed: the import's inputs are never all in memory.
            let stage = ImportStage(run: run, items: items!)
            stage.grader = grader
            let next = try list.reader()
            try stage.process(next: { try next().map { ImportInput(path: $0.path, source: $0.source) } })
        case .eligibility:
            let rosters = try list.all().map { RosterInput(profile: $0.profile!, path: $0.path) }
            let stage = EligibilityStage(run: run, handBack: handBack)
            stage.confirmedShortRosters = Set(pipeline.confirmShortRoster)
            try stage.process(rosters)
            return stage.heldBackPaths
        case .codes(let profile):
            var o = codes!
            o.outputFolder = "postcards/" + profile.name
            try CodesStage(run: run, options: o, handBack: handBack).process(.mailing(try list.all().map { (profile: profile, path: $0.path) }))
        case .reissue:
            var o = codes!
            o.outputFolder = "postcards/reissue"
            try CodesStage(run: run, options: o, handBack: handBack).process(.reissue(try list.paths()))
        case .delete:
            try DeletionStage(run: run).process(try list.paths())
        case .export:
            try ExportStage(run: run).process(try list.paths())
        }
        return []
    }

    private func rollback(_ run: Run, handBack: InsurerHandBack) throws {
        guard let cp = RunCheckpoint.latest(in: resumeFolder) else {
            throw KenpoError.invariant("the run's checkpoint in \(resumeFolder) is gone; cannot roll back a failed step")
        }
        try run.restore(cp, from: resumeFolder, handBack: handBack)
    }

    private func saveCheckpoint(_ run: Run, handBack: InsurerHandBack, steps: [Manifest.Step], pipelineSHA: String) throws {
        let committed = try newlyCommitted.checkpoint()
        try run.checkpoint(into: resumeFolder, handBack: handBack) { cp in
            cp.steps = steps
            cp.committed = committed
            cp.pipelinePath = pipeline.path
            cp.pipelineSha256 = pipelineSHA
        }
    }

    /// The checkpoint of an interrupted run of this pipeline and date, if it can still be resumed.
    private func resumableCheckpoint(pipelineSHA: String) -> RunCheckpoint? {
        guard FileSystem.isDirectory(resumeFolder) else { return nil }
        guard let cp = RunCheckpoint.latest(in: resumeFolder) else {
            Log.info("run: \(resumeFolder) holds no complete checkpoint; starting afresh")
            return nil
        }
        var why: String? = nil
        if cp.runDate != runDate.iso {
            why = "it was for run date \(cp.runDate); its inputs are still in the inbox and are read by this run"
        } else if cp.pipelineSha256 != pipelineSHA {
            why = "the pipeline file has changed since"
        } else if cp.previousGeneration != data.currentGeneration() {
            why = "the state has moved on since (another command published generation \(data.currentGeneration() ?? "none"))"
        } else if let seq = DataFolder.runSequence(cp.runId), data.publishedRuns().contains(where: { (DataFolder.runSequence($0) ?? 0) >= seq }) {
            why = "a later run has been published since"
        }
        if let why {
            Log.warning("run: discarding the unfinished run \(cp.runId) (nothing of it was published): \(why)")
            return nil
        }
        return cp
    }

    static func logLine(_ s: Manifest.Step) -> String {
        let mb = Double(s.bytes) / 1_048_576
        var line = String(format: "step %@: %@, %d records, %.1f MB in %.1f s", s.name, s.status, s.records, mb, s.seconds)
        if s.seconds > 0 && s.bytes > 0 { line += String(format: " (%.1f MB/s)", mb / s.seconds) }
        if s.peakRssBytes > 0 { line += String(format: ", peak memory %.0f MB", Double(s.peakRssBytes) / 1_048_576) }
        if !s.notes.isEmpty { line += "; " + s.notes.joined(separator: "; ") }
        return line
    }

    // MARK: committed inputs and the archive

    /// The committed-inputs ledger anew: the previous one's rows and this run's (streamed, see
    /// `CommittedLedger.write`). A row goes with retention (`Run.retentionDays`, the same cut as the
    /// archive's date folders) once its file is no longer at its path: moved into the archive (whose
    /// folder of that date goes now too) or removed. A row whose file is still there stays, whatever its
    /// age, so a file kept in the inbox is never applied again; without this the ledger, which every run
    /// reads and rewrites, would grow by every file of every night.
    private func writeCommitted(previous: CommittedLedger, adding rows: CommittedList, run: Run, sortFolder: String,
                                archivedTo: (CommittedInput) -> String?) throws {
        let stateDir = try run.beginStateGeneration()
        _ = try run.stateFileForRewrite(Self.committedInputsFile)
        let cutoff = DataFolder.retentionCutoff(days: run.retentionDays, runDate: runDate)
        let dropped = try previous.write(to: stateDir + "/" + Self.committedInputsFile, header: Self.committedHeader, adding: rows,
                                         sortFolder: sortFolder, keep: { c in
            guard let date = CalendarDate(iso: c.runDate), date.daysSinceEpoch < cutoff else { return true }
            return InputFile.isRegular(c.path)
        }, archivedTo: archivedTo)
        if dropped > 0 {
            Log.info("retention (\(run.retentionDays) days before \(runDate.iso)): \(dropped) committed inputs no longer in the inbox dropped from \(Self.committedInputsFile)")
        }
    }

    /// Where a committed input goes: `<archive>/<run date>/<run id>/<its path below the deployment root>`.
    private func archiveDestination(_ path: String, runDate: String, runId: String) -> String {
        (pipeline.archiveFolder ?? (data.root + "/archive")) + "/" + runDate + "/" + runId + "/" + relativePath(path)
    }

    /// The path of an input below the deployment root (its place inside the archive).
    private func relativePath(_ path: String) -> String {
        let root = pipeline.root == "." ? "" : pipeline.root
        var rel = path
        if !root.isEmpty, path.hasPrefix(root + "/") { rel = String(path.dropFirst(root.count + 1)) }
        while rel.hasPrefix("/") || rel.hasPrefix("./") { rel = String(rel.drop { $0 == "/" || $0 == "." }) }
        return rel.replacingOccurrences(of: "../", with: "")
    }

    /// Moves a committed input into the archive, unless it changed since it was read (then it is a new
    /// delivery and stays) or is gone. Failures are warnings: the commit has happened.
    /// The file is not hashed again when its stamp is still the one taken before it was read (`listed`).
    private func archive(_ path: String, sha256: String, listed: FileStamp? = nil, to dest: String) {
        CrashPoint.reach("archive:file")
        guard FileSystem.exists(path) else { return }
        let unchanged = listed != nil && (try? InputFile.stamp(of: path)) == listed
        guard unchanged || (try? SHA256Digest.hex(ofFile: path))?.sha256 == sha256 else {
            Log.warning("archive: \(path) changed after it was read; it stays in the inbox and is read by the next run")
            return
        }
        do {
            try FileSystem.makeDirectory((dest as NSString).deletingLastPathComponent)
            if Glibc.rename(path, dest) != 0 {
                guard errno == EXDEV else { throw KenpoError.io(path: path, message: "cannot move to \(dest): \(String(cString: strerror(errno)))") }
                _ = try FileSystem.copy(path, to: dest, rows: 0)
                unlink(path)
            }
            FileSystem.syncDirectory((dest as NSString).deletingLastPathComponent)
            FileSystem.syncDirectory((path as NSString).deletingLastPathComponent)
        } catch {
            Log.warning("archive: \(error); the next run moves it")
        }
    }
}
