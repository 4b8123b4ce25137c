import Foundation

/// `manifest.json` of one run: what came in, what went out, with which versions.
public struct Manifest: Codable, Equatable {
    public struct RecordCounts: Codable, Equatable {
        public var read: Int
        public var accepted: Int
        public var rejected: Int
        public init(read: Int = 0, accepted: Int = 0, rejected: Int = 0) {
            self.read = read; self.accepted = accepted; self.rejected = rejected
        }
    }

    public struct Input: Codable, Equatable {
        public var path: String
        public var kind: String
        public var profile: String?
        public var bytes: Int
        public var sha256: String
        public var records: RecordCounts
    }

    /// A versioned table or configuration file that shaped the outputs (profiles now; grading tables later).
    public struct ReferenceTable: Codable, Equatable {
        public var name: String
        public var version: String
        public var path: String
        public var sha256: String
    }

    public var kenpoVersion: String
    public var runId: String
    public var stage: String
    public var runDate: String
    public var startedAt: String
    public var finishedAt: String
    public var status: String
    public var exitStatus: Int32
    public var stateGeneration: String?
    public var previousStateGeneration: String?
    public var inputs: [Input]
    public var outputs: [OutputFile]
    public var referenceTables: [ReferenceTable]
    public var rejectReasons: [String: Int]
    public var summary: [String: Int]
    /// Deletions applied to this run's outputs after it was published (`kenpo delete`): which files
    /// were rewritten, at whose request, so that `outputs` (rows, bytes, SHA-256) stay true.
    /// Absent (not written) until a deletion touches the run.
    public var deletions: [DeletionNote]? = nil
    /// The steps of a pipeline run (`kenpo run`), in order: what each did, how long it took, its peak
    /// memory, and whether it failed (the others still ran). Absent for single-stage commands.
    public var steps: [Step]? = nil
    /// Inputs of a pipeline run that were fully committed, with their SHA-256 and where they were
    /// archived (moved after the commit). Absent for single-stage commands.
    public var archived: [ArchivedInput]? = nil

    public struct Step: Codable, Equatable {
        /// e.g. `eligibility`, `import`, `codes:sample-kamome`, `reissue`, `delete`, `export`.
        public var name: String
        /// `completed`; `completed_with_failures` (some inputs failed and were left in the inbox);
        /// `failed` (rolled back, nothing of it published); `held` (not run: the insurer's roster failed
        /// in this run, so its mailing list waits in the inbox); `already_done` (a code batch a
        /// published run issued); `nothing_to_do` (no new input tonight).
        public var status: String
        /// What failed (file and reason) or why the step did nothing, for an operator (no personal data).
        public var notes: [String]
        /// How many input files the step read (their paths, sizes and SHA-256 are in `inputs` and
        /// `archived`; listing them again per step made a 100,000-member manifest 50 MB).
        public var files: Int
        /// Inputs that failed and were left out (they stay in the inbox).
        public var failedInputs: [String] = []
        public var records: Int
        public var bytes: Int
        public var seconds: Double
        public var peakRssBytes: Int
        /// The step completed in an earlier attempt of this run, killed or failed later; it was not redone.
        public var resumed: Bool
        public init(name: String, status: String, notes: [String] = [], files: Int = 0, records: Int = 0, bytes: Int = 0,
                    seconds: Double = 0, peakRssBytes: Int = 0, resumed: Bool = false) {
            self.name = name; self.status = status; self.notes = notes; self.files = files; self.records = records
            self.bytes = bytes; self.seconds = seconds; self.peakRssBytes = peakRssBytes; self.resumed = resumed
        }
    }

    public struct ArchivedInput: Codable, Equatable {
        public var path: String
        public var sha256: String
        public var bytes: Int
        /// The run that committed it: this one, or an earlier one whose archiving was interrupted.
        public var committedBy: String
        /// Where it is moved after the commit; nil when the pipeline keeps inputs in place (`[archive] mode = keep`).
        public var archivedTo: String?
    }

    public struct DeletionNote: Codable, Equatable {
        /// The deletion requests (request ids) applied.
        public var requestIds: [String]
        /// The run that applied them, and its run date.
        public var deletionRunId: String
        public var runDate: String
        /// The files of this run rewritten (paths as in `outputs`).
        public var files: [String]
        /// Files removed entirely (a member's export written before the deletion); gone from `outputs`.
        public var removed: [String]? = nil
    }

    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        return Array(try e.encode(self)) + [0x0A]
    }

    public static func decode(path: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KenpoError.io(path: path, message: "cannot read manifest")
        }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        do { return try d.decode(Manifest.self, from: data) } catch {
            throw KenpoError.input(path: path, line: nil, message: "manifest is not valid: \(error)")
        }
    }
}

public enum KenpoVersion {
    public static let current = "0.1.0"
}
