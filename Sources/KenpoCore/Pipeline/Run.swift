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

    public private(set) var inputs: [Manifest.Input] = []
    public private(set) var outputs: [OutputFile] = []
    public var referenceTables: [Manifest.ReferenceTable] = []
    public var summary: [String: Int] = [:]
    /// Retention: state generations and outbox runs whose run date is more than this many days
    /// before this run's date are removed after a publish (never the current generation nor the
    /// latest run; see `DataFolder.prune`). Pipeline files set it with `[retention] days = N`.
    public var retentionDays = Run.defaultRetentionDays
    public static let defaultRetentionDays = 30

    public let rejects: RejectSink

    public init(data: DataFolder, stage: String, runDate: CalendarDate) throws {
        self.data = data
        self.stage = stage
        self.runDate = runDate
        self.startedAt = Timestamp.now()
        // A sequence number leads the id, so run folders sort in commit order whatever the clock does.
        self.id = String(format: "r%06d-", data.nextRunSequence()) + Timestamp.runID(stage: stage)
        self.staging = data.outbox + "/.staging-" + id
        self.scratch = data.tmp + "/" + id
        self.previousGeneration = data.currentGeneration()
        try FileSystem.makeDirectory(staging)
        try FileSystem.makeDirectory(scratch)
        rejects = try RejectSink(path: staging + "/rejects.csv")
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

    public func addInput(_ input: Manifest.Input) { inputs.append(input) }

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
        // read = accepted + rejected, for every input, and the reject file holds exactly the rejected.
        var totalRejected = 0
        for i in inputs {
            guard i.records.read == i.records.accepted + i.records.rejected else {
                throw KenpoError.invariant("\(i.path): read \(i.records.read) ≠ accepted \(i.records.accepted) + rejected \(i.records.rejected)")
            }
            totalRejected += i.records.rejected
        }
        guard totalRejected == rejects.count else {
            throw KenpoError.invariant("inputs report \(totalRejected) rejected records but rejects.csv holds \(rejects.count)")
        }
        addOutput(try rejects.close())

        let status: ExitStatus = totalRejected > 0 ? .completedWithRejects : .success
        if let staged = stateStaging, let gen = newGeneration {
            let info = "{\"generation\": \"\(gen)\", \"run_id\": \"\(id)\", \"run_date\": \"\(runDate.iso)\", \"previous\": \(previousGeneration.map { "\"\($0)\"" } ?? "null")}\n"
            try FileSystem.writeAtomically(Array(info.utf8), to: staged + "/generation.json")
            FileSystem.syncDirectory(staged)
            try FileSystem.rename(staged, data.generationPath(gen))
            FileSystem.syncDirectory(data.generations)
        }
        let manifest = Manifest(
            kenpoVersion: KenpoVersion.current, runId: id, stage: stage, runDate: runDate.iso,
            startedAt: startedAt, finishedAt: Timestamp.now(),
            status: status == .success ? "completed" : "completed_with_rejects",
            exitStatus: status.rawValue,
            stateGeneration: newGeneration ?? previousGeneration,
            previousStateGeneration: previousGeneration,
            inputs: inputs, outputs: outputs.sorted { $0.path < $1.path },
            referenceTables: referenceTables, rejectReasons: rejects.countsByReason, summary: summary)
        try FileSystem.writeAtomically(try manifest.encoded(), to: staging + "/manifest.json")
        // The report compares with the previous published run (outbox/latest, before this one replaces it).
        let previous = try? Manifest.decode(path: data.latestLink + "/manifest.json")
        try RunReport(manifest: manifest, previous: previous).write(into: staging)
        FileSystem.syncDirectory(staging)
        // Commit point: the run folder appears complete, in one rename.
        try FileSystem.rename(staging, data.outbox + "/" + id)
        FileSystem.syncDirectory(data.outbox)
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

    init(path: String) throws {
        writer = try CSVWriter(path: path, header: ["file", "line", "record_key", "reason_code", "message"])
    }

    public func add(file: String, line: Int, key: String, reason: RejectReason, message: String) {
        writer.row([file, String(line), key, reason.rawValue, message])
        count += 1
        countsByReason[reason.rawValue, default: 0] += 1
    }

    func close() throws -> OutputFile { try writer.close() }
}
