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
