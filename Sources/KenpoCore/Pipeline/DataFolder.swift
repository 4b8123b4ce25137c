import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The data folder (`--data`, default `./var`) and its layout:
///
///     var/.lock                       held (flock) by the one run allowed at a time
///     var/outbox/<run-id>/            a run's outputs; appears only once complete (rename)
///     var/outbox/latest -> <run-id>   the newest complete run
///     var/state/generations/gNNNNNN/  state generations (member master, later ledger and records)
///     var/state/current -> generations/gNNNNNN
///     var/tmp/<run-id>/               a run's scratch space, removed when it ends
///
/// Publishing order (see `Run.publish`): state generation renamed into place, then the outbox run
/// renamed into place — the commit point — then `current` and `latest` switched. A crash before the
/// commit point leaves only staging folders, removed at the next start; a crash after it is rolled
/// forward at the next start, so state and outbox never disagree.
public final class DataFolder {
    public let root: String
    private var lockFD: Int32 = -1

    public init(root: String) { self.root = root }

    public var outbox: String { root + "/outbox" }
    public var state: String { root + "/state" }
    public var generations: String { state + "/generations" }
    public var tmp: String { root + "/tmp" }
    public var lockPath: String { root + "/.lock" }
    public var currentLink: String { state + "/current" }
    public var latestLink: String { outbox + "/latest" }

    /// Creates the layout, takes the lock (refusing at once if held) and recovers from any crash.
    public func lock(command: String) throws {
        try FileSystem.makeDirectory(root)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: lockPath, message: "cannot open lock file: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 512)
            let n = read(fd, &buf, buf.count)
            close(fd)
            let holder = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown holder"
            throw KenpoError.locked(path: root, holder: holder)
        }
        lockFD = fd
        ftruncate(fd, 0)
        let info = "pid \(getpid()), \(command), since \(Timestamp.now())\n"
        _ = info.withCString { write(fd, $0, strlen($0)) }
        for dir in [outbox, state, generations, tmp] { try FileSystem.makeDirectory(dir) }
        try recover()
    }

    public func unlock() {
        if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD); lockFD = -1 }
    }

    deinit { unlock() }

    /// The current state generation's name (e.g. g000003), if any.
    public func currentGeneration() -> String? {
        guard let target = FileSystem.readSymlink(currentLink) else { return nil }
        return (target as NSString).lastPathComponent
    }

    public func generationPath(_ name: String) -> String { generations + "/" + name }

    public func latestRun() -> String? { FileSystem.readSymlink(latestLink) }

    /// Names of published runs, oldest first (run ids begin with a zero-padded sequence number).
    public func publishedRuns() -> [String] {
        FileSystem.listDirectory(outbox).filter { Self.runSequence($0) != nil && !$0.contains(".tmp-") }
    }

    static func runSequence(_ name: String) -> Int? {
        guard name.hasPrefix("r"), name.count > 8, name.dropFirst(7).first == "-" else { return nil }
        return Int(name.dropFirst().prefix(6))
    }

    /// The next run's sequence number: one more than any run folder, published or staged.
    func nextRunSequence() -> Int {
        let names = FileSystem.listDirectory(outbox).map { $0.hasPrefix(".staging-") ? String($0.dropFirst(9)) : $0 }
        return (names.compactMap(Self.runSequence).max() ?? 0) + 1
    }

    /// Generation folders are named g000001, g000002, …: the number orders them.
    static func generationName(_ n: Int) -> String { "g" + String(format: "%06d", n) }

    static func generationNumber(_ name: String) -> Int? { name.hasPrefix("g") ? Int(name.dropFirst()) : nil }

    func generationNumbers() -> [Int] {
        FileSystem.listDirectory(generations).compactMap(Self.generationNumber).sorted()
    }

    func nextGenerationName() -> String { Self.generationName((generationNumbers().last ?? 0) + 1) }

    /// Removes leftovers of an interrupted run and completes an interrupted publish.
    func recover() throws {
        for name in FileSystem.listDirectory(outbox) where name.hasPrefix(".staging-") || name.contains(".tmp-") {
            Log.info("recovery: removing unfinished outbox folder \(name)")
            FileSystem.removeTree(outbox + "/" + name)
        }
        for name in FileSystem.listDirectory(state) where name.hasPrefix(".staging-") || name.contains(".tmp-") {
            Log.info("recovery: removing unfinished state generation \(name)")
            FileSystem.removeTree(state + "/" + name)
        }
        for name in FileSystem.listDirectory(tmp) { FileSystem.removeTree(tmp + "/" + name) }

        // Roll forward, never back: the newest committed run (highest sequence) names the generation
        // that must be current; `current` only ever moves to a higher generation.
        let currentNumber = currentGeneration().flatMap(Self.generationNumber) ?? 0
        var committed = currentNumber
        if let newest = publishedRuns().last {
            let manifestPath = outbox + "/" + newest + "/manifest.json"
            if let manifest = try? Manifest.decodeSummary(path: manifestPath), let gen = manifest.stateGeneration,
               let n = Self.generationNumber(gen), FileSystem.isDirectory(generationPath(gen)) {
                if n > currentNumber {
                    Log.info("recovery: completing the publish of run \(newest)")
                    try FileSystem.replaceSymlink(currentLink, target: "generations/" + gen)
                }
                committed = max(committed, n)
            }
            if latestRun() != newest { try FileSystem.replaceSymlink(latestLink, target: newest) }
        }
        // A generation renamed into place whose run never committed is not state: drop it.
        for n in generationNumbers() where n > committed {
            let name = Self.generationName(n)
            Log.info("recovery: removing uncommitted state generation \(name)")
            FileSystem.removeTree(generationPath(name))
        }
    }

    /// The first day (`CalendarDate.daysSinceEpoch`) retention keeps: what dates from before it goes.
    static func retentionCutoff(days: Int, runDate: CalendarDate) -> Int { runDate.daysSinceEpoch - max(days, 0) }

    /// Retention (`Run.retentionDays`, pipeline `[retention] days`): removes every state generation,
    /// every published outbox run and every date folder of `archive/` (ArchivePurge) whose **run date**
    /// lies more than `days` days before `runDate`
    /// — never the current generation, never the run `latest` points to. Run dates are the ones
    /// recorded by the runs (generation.json `run_date`, else the manifest of the generation's run;
    /// manifest.json `run_date` for outbox runs), not file times: the machine clock is not trusted.
    /// Anything whose run date cannot be read is kept (and named in the log). Returns what was removed.
    /// Manifests are read without their per-file lists (`Manifest.decodeSummary`): a big night's
    /// manifest lists a million files.
    @discardableResult
    public func prune(retentionDays days: Int, runDate: CalendarDate) -> (generations: [String], runs: [String]) {
        let cutoff = Self.retentionCutoff(days: days, runDate: runDate)
        var removedGenerations: [String] = [], removedRuns: [String] = []
        let current = currentGeneration()
        for n in generationNumbers() {
            let name = Self.generationName(n)
            guard name != current else { continue }
            guard let date = generationRunDate(name) else {
                Log.warning("retention: state generation \(name) records no run date; it is kept")
                continue
            }
            if date.daysSinceEpoch < cutoff {
                FileSystem.removeTree(generationPath(name))
                removedGenerations.append(name)
            }
        }
        let latest = latestRun()
        for run in publishedRuns() where run != latest {
            guard let m = try? Manifest.decodeSummary(path: outbox + "/" + run + "/manifest.json"), let date = CalendarDate(iso: m.runDate) else {
                Log.warning("retention: outbox run \(run) has no readable run date; it is kept")
                continue
            }
            if date.daysSinceEpoch < cutoff {
                FileSystem.removeTree(outbox + "/" + run)
                removedRuns.append(run)
            }
        }
        if !removedGenerations.isEmpty || !removedRuns.isEmpty {
            FileSystem.syncDirectory(generations)
            FileSystem.syncDirectory(outbox)
            Log.info("retention (\(days) days before \(runDate.iso)): removed \(removedGenerations.count) state generations, \(removedRuns.count) outbox runs")
        }
        ArchivePurge.prune(folder: root + "/archive", retentionDays: days, runDate: runDate)
        return (removedGenerations, removedRuns)
    }

    /// A generation's run date: `run_date` of its generation.json, else the run date in the manifest of
    /// the run that wrote it (generations written before run dates were recorded).
    func generationRunDate(_ name: String) -> CalendarDate? {
        guard let data = FileManager.default.contents(atPath: generationPath(name) + "/generation.json"),
              let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if let d = info["run_date"] as? String, let date = CalendarDate(iso: d) { return date }
        if let run = info["run_id"] as? String, !run.contains("/"),
           let m = try? Manifest.decodeSummary(path: outbox + "/" + run + "/manifest.json") {
            return CalendarDate(iso: m.runDate)
        }
        return nil
    }
}

public enum Timestamp {
    public static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "Asia/Tokyo")
        return f.string(from: Date())
    }

    /// A run id: UTC time to the second, sortable, plus the stage name.
    public static func runID(stage: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: Date()) + "-" + stage
    }
}
