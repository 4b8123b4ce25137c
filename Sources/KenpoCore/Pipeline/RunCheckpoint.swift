import Foundation

/// What a pipeline run holds in memory at a step boundary, saved as `journal.json` beside hard-link
/// snapshots of its staging folders (`Run.checkpoint`), so that a run killed or failed later can be
/// rolled back to the boundary, or resumed there by the next `kenpo run` of the same date.
public struct RunCheckpoint: Codable, Equatable {
    public var runId: String
    public var stage: String
    public var runDate: String
    public var startedAt: String
    public var previousGeneration: String?
    public var newGeneration: String?
    /// The manifest's inputs: the state of their list file (in the staging folder) and its figures.
    public var inputs: Run.InputFigures
    public var outputs: [OutputFile]
    public var referenceTables: [Manifest.ReferenceTable]
    public var summary: [String: Int]
    public var rejects: RejectSink.Checkpoint
    public var handBack: InsurerHandBack.Checkpoint?
    /// The pipeline runner's own books: steps done so far, the pipeline file's identity, and the
    /// inputs committed by completed steps.
    public var steps: [Manifest.Step] = []
    public var pipelinePath = ""
    public var pipelineSha256 = ""
    /// The run's committed inputs: the state of their list file (`PipelineRun`, beside the checkpoints).
    public var committed = ManifestListFile.Checkpoint(bytes: 0, count: 0)
    /// Which `cp-N` folder this is.
    public var number = 0

    /// Compact JSON with Swift's own key names: an internal file written after every step, where
    /// pretty-printing and key conversion cost seconds at 100,000 members (profiled).
    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return Array(try e.encode(self)) + [0x0A]
    }

    static func checkpointNumbers(in folder: String) -> [Int] {
        FileSystem.listDirectory(folder).compactMap { $0.hasPrefix("cp-") ? Int($0.dropFirst(3)) : nil }.sorted()
    }

    /// The newest complete checkpoint in `folder` (a `cp-N.tmp` being written when the run died is
    /// ignored), or nil.
    public static func latest(in folder: String) -> RunCheckpoint? {
        for n in checkpointNumbers(in: folder).reversed() {
            guard let data = FileManager.default.contents(atPath: folder + "/cp-\(n)/journal.json") else { continue }
            let d = JSONDecoder()
            do {
                var cp = try d.decode(RunCheckpoint.self, from: data)
                cp.number = n
                return cp
            } catch {
                Log.warning("run checkpoint \(folder)/cp-\(n)/journal.json cannot be read (\(error)); trying an older one")
            }
        }
        return nil
    }
}

/// One input file a pipeline run committed: every record of it read and accounted for, and the step
/// that read it completed. Kept in the state (`committed_inputs.csv`) so that the same bytes are never
/// applied twice, whether a rerun finds them still in the inbox or they arrive again.
public struct CommittedInput: Equatable {
    public var path: String
    public var sha256: String
    public var bytes: Int
    /// The step that read it (`eligibility`, `import`, `codes:<profile>`, …).
    public var step: String
    public var runId: String
    public var runDate: String
    /// Where it was (or is to be) moved after the commit; nil: kept in place.
    public var archivedTo: String? = nil
    /// The file as this run found it before reading it, when it had settled by then: still the same
    /// when it is archived, it holds the bytes committed and is moved without hashing it again. Not
    /// kept in the state (a later run finds it anew).
    var listed: FileStamp? = nil
}
