import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One invocation of a stage: its id, its staging folders, the inputs it read, the outputs and
/// rejects it wrote, and the publish step that makes them visible all at once.
public final class Run {
    public let id: String
    public let stage: String
    public let runDate: CalendarDate
    public let data: DataFolder
    public let startedAt: String
    /// Outputs are written here and renamed to `outbox/<id>` on publish.
    public let staging: String
    /// Scratch space removed at the end of the run.
    public let scratch: String
    public private(set) var stateStaging: String?
    public private(set) var newGeneration: String?
    public let previousGeneration: String?

    /// The manifest's `inputs` (one per input file; a night may read a million): kept on disk in the
    /// staging folder (`ManifestListFile`), and as values only while few (`listsHeldInMemory`).
    private var inputList: ManifestListFile
    private var heldInputs: [Manifest.Input]? = []
    /// Told of every input a stage reports (`addInput`): a pipeline run commits the bytes the step
    /// read, as hashed while it read them.
    var inputsRead: InputsRead?
    private var inputFigures = InputFigures()
    /// Beyond this many inputs (or archived inputs) the manifest `publish` returns leaves its lists
    /// empty; they are in manifest.json, and `Manifest.lists` has their figures.
    public static let listsHeldInMemory = 10_000

    /// What a checkpoint keeps of the inputs: the list file's state and its figures. `summary` also
    /// gathers the figures of `archived` (`addArchived`), which is begun after the last checkpoint.
    public struct InputFigures: Codable, Equatable {
        public var list = ManifestListFile.Checkpoint(bytes: 0, count: 0)
        public var summary = Manifest.ListSummary()
        /// The first input whose counts do not add up.
        public var unbalanced: String? = nil
        /// Rejected records over all inputs (from the groups, which count every input).
        public var rejected: Int { summary.rejected }
    }
    public private(set) var outputs: [OutputFile] = []
    public var referenceTables: [Manifest.ReferenceTable] = []
    public var summary: [String: Int] = [:]
    /// Retention: state generations and outbox runs whose run date is more than this many days
    /// before this run's date are removed after a publish (never the current generation nor the
    /// latest run; see `DataFolder.prune`). Pipeline files set it with `[retention] days = N`.
    public var retentionDays = Run.defaultRetentionDays
    public static let defaultRetentionDays = 30

    public private(set) var rejects: RejectSink
    /// Progress of the running step (terminal line; the pipeline runner logs one line per step).
    public let progress = StepProgress()
    /// Set by the pipeline runner before publishing: its steps and archived inputs, for the manifest.
    public var steps: [Manifest.Step]? = nil
    /// The manifest's `archived` (pipeline runs), on disk like `inputs`: `beginArchived` then `addArchived`.
    private var archivedList: ManifestListFile?
    private var heldArchived: [Manifest.ArchivedInput]? = []

    public convenience init(data: DataFolder, stage: String, runDate: CalendarDate) throws {
        // A sequence number leads the id, so run folders sort in commit order whatever the clock does.
        let id = String(format: "r%06d-", data.nextRunSequence()) + Timestamp.runID(stage: stage)
        try self.init(data: data, stage: stage, runDate: runDate, id: id, startedAt: Timestamp.now(),
                      previousGeneration: data.currentGeneration())
    }

    /// A run resuming a checkpoint (`RunCheckpoint`) of an earlier, interrupted attempt: same id, same
    /// start, same base generation. The caller then rebuilds its folders with `restore`.
    public convenience init(data: DataFolder, resuming checkpoint: RunCheckpoint) throws {
        guard let date = CalendarDate(iso: checkpoint.runDate) else {
            throw KenpoError.invariant("run checkpoint of \(checkpoint.runId) has no valid run date")
        }
        try self.init(data: data, stage: checkpoint.stage, runDate: date, id: checkpoint.runId,
                      startedAt: checkpoint.startedAt, previousGeneration: checkpoint.previousGeneration)
    }

    private init(data: DataFolder, stage: String, runDate: CalendarDate, id: String, startedAt: String, previousGeneration: String?) throws {
        self.data = data
        self.stage = stage
        self.runDate = runDate
        self.startedAt = startedAt
        self.id = id
        self.staging = data.outbox + "/.staging-" + id
        self.scratch = data.tmp + "/" + id
        self.previousGeneration = previousGeneration
        FileSystem.removeTree(staging)
        try FileSystem.makeDirectory(staging)
        try FileSystem.makeDirectory(scratch)
        rejects = try RejectSink(path: staging + "/rejects.csv")
        inputList = try ManifestListFile(path: staging + "/" + Self.inputListFile)
    }

    /// The inputs' list file in the staging folder (removed before the folder is published).
    static let inputListFile = ".manifest-inputs"

    // MARK: checkpoints (pipeline runs)

    /// Saves the run as it stands into `folder/cp-N` (N one more than the last): the staging folder and
    /// the staged state generation as hard links (every writer makes new files, so the links keep
    /// these bytes; the two files appended to — rejects.csv and the hand-back spools — are cut back
    /// to their recorded size on restore), and `journal.json` with everything held in memory.
    /// Older checkpoints are removed once the new one is complete.
    public func checkpoint(into folder: String, handBack: InsurerHandBack?, fill: (inout RunCheckpoint) -> Void) throws {
        var cp = RunCheckpoint(
            runId: id, stage: stage, runDate: runDate.iso, startedAt: startedAt,
            previousGeneration: previousGeneration, newGeneration: newGeneration,
            inputs: try inputsCheckpoint(), outputs: outputs, referenceTables: referenceTables, summary: summary,
            rejects: try rejects.checkpoint(), handBack: try handBack?.checkpoint())
        fill(&cp)
        try FileSystem.makeDirectory(folder)
        let existing = RunCheckpoint.checkpointNumbers(in: folder)
        let n = (existing.last ?? 0) + 1
        cp.number = n
        let tmp = folder + "/cp-\(n).tmp"
        FileSystem.removeTree(tmp)
        try FileSystem.linkTree(staging, to: tmp + "/outbox")
        if let s = stateStaging { try FileSystem.linkTree(s, to: tmp + "/state") }
        try FileSystem.writeAtomically(try cp.encoded(), to: tmp + "/journal.json")
        FileSystem.syncDirectory(tmp)
        try FileSystem.rename(tmp, folder + "/cp-\(n)")
        FileSystem.syncDirectory(folder)
        for old in existing { FileSystem.removeTree(folder + "/cp-\(old)") }
    }

    /// Rebuilds the run from checkpoint `cp` saved in `folder` (`RunCheckpoint.latest`): a failed
    /// step rolled back, or an interrupted run resumed.
    public func restore(_ cp: RunCheckpoint, from folder: String, handBack: InsurerHandBack?) throws {
        let dir = folder + "/cp-\(cp.number)"
        FileSystem.removeTree(staging)
        try FileSystem.linkTree(dir + "/outbox", to: staging)
        if let s = stateStaging { FileSystem.removeTree(s) }
        stateStaging = nil
        newGeneration = cp.newGeneration
        if let gen = cp.newGeneration {
            let path = data.state + "/.staging-" + gen
            FileSystem.removeTree(path)
            if FileSystem.isDirectory(dir + "/state") { try FileSystem.linkTree(dir + "/state", to: path) } else { try FileSystem.makeDirectory(path) }
            stateStaging = path
        }
        FileSystem.removeTree(scratch)
        try FileSystem.makeDirectory(scratch)
        rejects = try RejectSink(path: staging + "/rejects.csv", resumingAt: cp.rejects)
        if let hb = cp.handBack, let handBack {
            try handBack.restore(hb) { try InsurerProfile.load(path: $0) }
        }
        inputList = try ManifestListFile(path: staging + "/" + Self.inputListFile, resumingAt: cp.inputs.list)
        inputFigures = cp.inputs
        heldInputs = nil
        if inputList.count <= Self.listsHeldInMemory {
            let d = JSONDecoder()
            d.keyDecodingStrategy = .convertFromSnakeCase
            var held: [Manifest.Input] = []
            try inputList.forEach { held.append(try d.decode(Manifest.Input.self, from: Data($0))) }
            heldInputs = held
        }
        outputs = cp.outputs
        referenceTables = cp.referenceTables
        summary = cp.summary
    }

    /// Path for an output file inside the staging folder (creating sub-folders).
    public func outputPath(_ relative: String) throws -> String {
        let path = staging + "/" + relative
        let dir = (path as NSString).deletingLastPathComponent
        try FileSystem.makeDirectory(dir)
        return path
    }

    /// Starts a new state generation; returns the folder to write it into. Every file of the
    /// previous generation is carried forward as a hard link, so a stage rewrites only what it owns;
    /// writers always create a new file (unlink first), so the previous generation keeps its bytes.
    public func beginStateGeneration() throws -> String {
        if let s = stateStaging { return s }
        let gen = data.nextGenerationName()
        let path = data.state + "/.staging-" + gen
        FileSystem.removeTree(path)
        try FileSystem.makeDirectory(path)
        if let prev = previousGeneration {
            let dir = data.generationPath(prev)
            for name in FileSystem.listDirectory(dir) where name != "generation.json" && !FileSystem.isDirectory(dir + "/" + name) {
                try FileSystem.link(dir + "/" + name, to: path + "/" + name)
            }
        }
        newGeneration = gen
        stateStaging = path
        return path
    }

    /// Path of a file in the current (previous) state generation, if there is one and it has the file.
    public func previousStateFile(_ name: String) -> String? {
        guard let g = previousGeneration else { return nil }
        let p = data.generationPath(g) + "/" + name
        return FileSystem.exists(p) ? p : nil
    }

    /// The newest version of a state file: the one an earlier stage of this run wrote, else the
    /// previous generation's.
    public func currentStateFile(_ name: String) -> String? {
        if let s = stateStaging, FileSystem.exists(s + "/" + name) { return s + "/" + name }
        return previousStateFile(name)
    }

    /// The current version of a state file that a stage is about to rewrite, at a path that stays
    /// readable while the new version is written: a version in this run's staging (an earlier stage's,
    /// or the previous generation's carried forward) is moved aside to scratch first.
    public func stateFileForRewrite(_ name: String) throws -> String? {
        if let s = stateStaging, FileSystem.exists(s + "/" + name) {
            let aside = scratch + "/state-before-" + name
            try FileSystem.rename(s + "/" + name, aside)
            return aside
        }
        return previousStateFile(name)
    }

    public func addInput(_ input: Manifest.Input) {
        inputList.append(ManifestJSON.input(input))
        inputsRead?.append(path: input.path, sha256: input.sha256, bytes: input.bytes)
        inputFigures.summary.add(input)
        if inputFigures.unbalanced == nil, input.records.read != input.records.accepted + input.records.rejected {
            inputFigures.unbalanced = "\(input.path): read \(input.records.read) ≠ accepted \(input.records.accepted) + rejected \(input.records.rejected)"
        }
        if heldInputs != nil, inputList.count <= Self.listsHeldInMemory { heldInputs!.append(input) } else { heldInputs = nil }
    }

    private func inputsCheckpoint() throws -> InputFigures {
        var f = inputFigures
        f.list = try inputList.checkpoint()
        return f
    }

    /// Starts the manifest's `archived` list (pipeline runs, before publishing).
    public func beginArchived() throws {
        archivedList = try ManifestListFile(path: scratch + "/manifest-archived")
        heldArchived = []
        // Its figures are counted in the inputs' summary, from nothing.
        (inputFigures.summary.archived, inputFigures.summary.archivedMoved, inputFigures.summary.firstArchived) = (0, 0, [])
    }

    public func addArchived(_ a: Manifest.ArchivedInput) {
        guard let list = archivedList else { return }
        list.append(ManifestJSON.archived(a))
        inputFigures.summary.add(a)
        if heldArchived != nil, list.count <= Self.listsHeldInMemory { heldArchived!.append(a) } else { heldArchived = nil }
    }

    /// Replaces the manifest entry of an output rewritten after it was added (a deletion later in
    /// the same run), or adds it.
    public func updateOutput(_ file: OutputFile) {
        var f = file
        if f.path.hasPrefix(staging + "/") { f.path = String(f.path.dropFirst(staging.count + 1)) }
        if let i = outputs.firstIndex(where: { $0.path == f.path }) { outputs[i] = f } else { outputs.append(f) }
    }

    /// Drops the manifest entry of an output removed after it was added (relative path).
    public func removeOutput(_ relative: String) { outputs.removeAll { $0.path == relative } }

    /// The manifest entries of the outputs added so far (paths relative to the run folder).
    public var outputEntries: [OutputFile] { outputs }

    /// Records an output written under the staging folder.
    public func addOutput(_ file: OutputFile) {
        var f = file
        if f.path.hasPrefix(staging + "/") { f.path = String(f.path.dropFirst(staging.count + 1)) }
        outputs.append(f)
    }

    /// Checks the books, writes the manifest and publishes state and outbox. Returns the exit status.
    public func publish() throws -> (Manifest, ExitStatus) {
        // read = accepted + rejected, for every input (checked as each was added), and the reject
        // file holds exactly the rejected.
        if let unbalanced = inputFigures.unbalanced { throw KenpoError.invariant(unbalanced) }
        let totalRejected = inputFigures.rejected
        guard totalRejected == rejects.count else {
            throw KenpoError.invariant("inputs report \(totalRejected) rejected records but rejects.csv holds \(rejects.count)")
        }
        addOutput(try rejects.close())

        let failedSteps = (steps ?? []).filter { $0.status == "failed" || $0.status == "completed_with_failures" }
        let status: ExitStatus = !failedSteps.isEmpty ? .completedWithFailures : totalRejected > 0 ? .completedWithRejects : .success
        if let staged = stateStaging, let gen = newGeneration {
            let info = "{\"generation\": \"\(gen)\", \"run_id\": \"\(id)\", \"run_date\": \"\(runDate.iso)\", \"previous\": \(previousGeneration.map { "\"\($0)\"" } ?? "null")}\n"
            try FileSystem.writeAtomically(Array(info.utf8), to: staged + "/generation.json")
            FileSystem.syncDirectory(staged)
            try FileSystem.rename(staged, data.generationPath(gen))
            FileSystem.syncDirectory(data.generations)
            CrashPoint.reach("publish:state-renamed")
        }
        var manifest = Manifest(
            kenpoVersion: KenpoVersion.current, runId: id, stage: stage, runDate: runDate.iso,
            startedAt: startedAt, finishedAt: Timestamp.now(),
            status: status == .success ? "completed" : status == .completedWithFailures ? "completed_with_failures" : "completed_with_rejects",
            exitStatus: status.rawValue,
            stateGeneration: newGeneration ?? previousGeneration,
            previousStateGeneration: previousGeneration,
            inputs: [], outputs: outputs.sorted { $0.path < $1.path },
            referenceTables: referenceTables, rejectReasons: rejects.countsByReason, summary: summary)
        manifest.steps = steps
        manifest.archived = archivedList == nil ? nil : []
        // The per-file lists go from their files straight into manifest.json.
        try manifest.write(to: staging + "/manifest.json", inputs: inputList, archived: archivedList)
        unlink(staging + "/" + Self.inputListFile)
        manifest.lists = inputFigures.summary
        manifest.inputs = heldInputs ?? []
        if archivedList != nil { manifest.archived = heldArchived ?? [] }
        // The report compares with the previous published run (outbox/latest, before this one replaces it).
        let previous = try? Manifest.decodeSummary(path: data.latestLink + "/manifest.json")
        try RunReport(manifest: manifest, previous: previous).write(into: staging)
        FileSystem.syncDirectory(staging)
        CrashPoint.reach("publish:before-commit")
        // Commit point: the run folder appears complete, in one rename.
        try FileSystem.rename(staging, data.outbox + "/" + id)
        FileSystem.syncDirectory(data.outbox)
        CrashPoint.reach("publish:after-commit")
        // Past the commit point the run is published whatever happens next: a failure to switch the
        // links is completed by the next start's recovery, so it is a warning, not "nothing published".
        do {
            if let gen = newGeneration {
                try FileSystem.replaceSymlink(data.currentLink, target: "generations/" + gen)
            }
            try FileSystem.replaceSymlink(data.latestLink, target: id)
            data.prune(retentionDays: retentionDays, runDate: runDate)
        } catch {
            Log.warning("run \(id) is published, but switching state/current and outbox/latest failed (\(error)); the next kenpo start completes it")
        }
        FileSystem.removeTree(scratch)
        return (manifest, status)
    }

    /// Drops everything this run staged; the previous state and outbox stay as they were.
    public func abandon() {
        FileSystem.removeTree(staging)
        if let s = stateStaging { FileSystem.removeTree(s) }
        FileSystem.removeTree(scratch)
    }
}

/// `rejects.csv`: file, line, record key, reason code, message — one row per rejected record.
public final class RejectSink {
    private let writer: CSVWriter
    public private(set) var count = 0
    public private(set) var countsByReason: [String: Int] = [:]

    /// What the sink held at a run checkpoint (`Run.checkpoint`).
    public struct Checkpoint: Codable, Equatable {
        public var bytes: Int
        public var count: Int
        public var countsByReason: [String: Int]
    }

    init(path: String) throws {
        writer = try CSVWriter(path: path, header: ["file", "line", "record_key", "reason_code", "message"])
    }

    /// Reopens the sink as it was at `checkpoint`, dropping rows written after it.
    init(path: String, resumingAt checkpoint: Checkpoint) throws {
        writer = try CSVWriter(appendingTo: path, truncatingTo: checkpoint.bytes, rows: checkpoint.count)
        count = checkpoint.count
        countsByReason = checkpoint.countsByReason
    }

    func checkpoint() throws -> Checkpoint {
        Checkpoint(bytes: try writer.flush(), count: count, countsByReason: countsByReason)
    }

    /// Every cell is written as `SpreadsheetSafe.textCell` makes it: a key or message quoting the input
    /// (`=cmd|…`, ESC [2J, NUL) neither runs in a spreadsheet nor reaches a terminal as a control.
    public func add(file: String, line: Int, key: String, reason: RejectReason, message: String) {
        writer.row([file, String(line), key, reason.rawValue, message].map(SpreadsheetSafe.textCell))
        count += 1
        countsByReason[reason.rawValue, default: 0] += 1
    }

    func close() throws -> OutputFile { try writer.close() }
}
