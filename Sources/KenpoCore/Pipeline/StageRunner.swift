import Foundation

/// What a finished command reports.
public struct RunOutcome {
    public var manifest: Manifest
    public var status: ExitStatus
    public var outboxPath: String
    public init(manifest: Manifest, status: ExitStatus, outboxPath: String) {
        self.manifest = manifest; self.status = status; self.outboxPath = outboxPath
    }
}

/// Runs one stage as one run: lock, stage, publish — or abandon everything on failure.
public enum StageRunner {
    public static func run(dataRoot: String, stage: String, runDate: CalendarDate, body: (Run) throws -> Void) throws -> RunOutcome {
        let data = DataFolder(root: dataRoot)
        try data.lock(command: stage)
        defer { data.unlock() }
        let run = try Run(data: data, stage: stage, runDate: runDate)
        do {
            try body(run)
            let (manifest, status) = try run.publish()
            return RunOutcome(manifest: manifest, status: status, outboxPath: data.outbox + "/" + run.id)
        } catch {
            run.abandon()
            throw error
        }
    }
}
