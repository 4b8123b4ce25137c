import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    /// What the run report shows of `inputs` and `archived` when they are not held here: a big run
    /// keeps its per-file lists on disk (`ManifestListFile`) and streams them into manifest.json;
    /// a manifest read back with `decodeSummary` has only this. Never encoded.
    public var lists: ListSummary? = nil

    enum CodingKeys: String, CodingKey {
        case kenpoVersion, runId, stage, runDate, startedAt, finishedAt, status, exitStatus, stateGeneration,
             previousStateGeneration, inputs, outputs, referenceTables, rejectReasons, summary, deletions, steps, archived
    }

    /// The per-file lists in figures: input files per group (insurer profile and kind), archived
    /// inputs, and the first few archived (the report lists 50).
    public struct ListSummary: Codable, Equatable {
        public struct Group: Codable, Equatable {
            public var files = 0
            public var counts = RecordCounts()
        }
        public var inputs = 0
        public var groups: [String: Group] = [:]
        public var archived = 0
        public var archivedMoved = 0
        public var firstArchived: [ArchivedInput] = []
        /// Rejected records over all inputs (the groups count every input).
        public var rejected: Int { groups.values.reduce(0) { $0 + $1.counts.rejected } }
        public init() {}

        /// The report's row for an input: per insurer and kind (a roster and a mailing list of one
        /// insurer are two rows).
        public static func groupName(_ i: Input) -> String { i.profile.map { "\($0) · \(i.kind)" } ?? i.kind }

        public mutating func add(_ i: Input) {
            inputs += 1
            var g = groups[Self.groupName(i)] ?? Group()
            g.files += 1
            g.counts.read += i.records.read
            g.counts.accepted += i.records.accepted
            g.counts.rejected += i.records.rejected
            groups[Self.groupName(i)] = g
        }

        public mutating func add(_ a: ArchivedInput) {
            archived += 1
            if a.archivedTo != nil { archivedMoved += 1 }
            if firstArchived.count < 50 { firstArchived.append(a) }
        }
    }

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

    /// Writes the manifest to `path` atomically with the elements of `inputs` and `archived` taken
    /// from list files (this manifest's own `inputs` / `archived` must be empty then), streamed: the
    /// lists are never held as values or as one JSON text.
    public func write(to path: String, inputs: ManifestListFile?, archived: ManifestListFile?) throws {
        let head = try encoded()
        var lists: [(key: String, list: ManifestListFile)] = []
        if let inputs { lists.append(("inputs", inputs)) }
        if let archived { lists.append(("archived", archived)) }
        try FileSystem.writeAtomically(to: path) { write in
            // The splice's pieces are small (one list element each): written a megabyte at a time.
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20)
            try ManifestJSON.splice(head, lists) { piece in
                buffer.append(contentsOf: piece)
                if buffer.count >= 1 << 20 {
                    try buffer.withUnsafeBytes { try write($0) }
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try buffer.withUnsafeBytes { try write($0) }
        }
    }

    /// Reads a manifest without materialising its per-file lists: `inputs` and `archived` come back
    /// empty (`archived` nil when absent) and `lists` holds their figures. For manifests of big runs
    /// (a million inputs) read only for their totals: the run report's comparison, retention.
    public static func decodeSummary(path: String) throws -> Manifest {
        var reader = try ManifestSummaryReader(path: path)
        let rest = try reader.read()
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        var m: Manifest
        do { m = try d.decode(Manifest.self, from: Data(rest)) } catch {
            throw KenpoError.input(path: path, line: nil, message: "manifest is not valid: \(error)")
        }
        m.lists = reader.summary
        return m
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

/// Streams a manifest.json, keeping everything but the elements of its top-level `inputs` and
/// `archived` arrays (left as empty arrays) and summing those elements up as it goes.
struct ManifestSummaryReader {
    let path: String
    private(set) var summary = Manifest.ListSummary()

    init(path: String) throws { self.path = path }

    mutating func read() throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot read manifest") }
        defer { close(fd) }
        var rest: [UInt8] = []
        var element: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var depth = 0, inString = false, escaped = false
        var token: [UInt8] = []       // the last string at depth 1 (a top-level key)
        var capturing: String? = nil  // inside the elements of this list
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw KenpoError.io(path: path, message: "read failed") }
            if n == 0 { break }
            for i in 0..<n {
                let c = chunk[i]
                if capturing != nil {
                    if inString {
                        if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
                        element.append(c)
                        continue
                    }
                    switch c {
                    case 0x22: inString = true; element.append(c)
                    case 0x7B, 0x5B:
                        depth += 1
                        element.append(c)
                    case 0x7D, 0x5D:
                        depth -= 1
                        if depth == 1 {
                            // The list ends.
                            capturing = nil
                            rest.append(c)
                            continue
                        }
                        element.append(c)
                        if depth == 2 { try take(element, list: capturing!); element.removeAll(keepingCapacity: true) }
                    default:
                        if depth >= 3 { element.append(c) }
                    }
                    continue
                }
                rest.append(c)
                if inString {
                    if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false } else if depth == 1 { token.append(c) }
                    continue
                }
                switch c {
                case 0x22:
                    inString = true
                    if depth == 1 { token.removeAll(keepingCapacity: true) }
                case 0x7B: depth += 1
                case 0x5B:
                    depth += 1
                    if depth == 2, token == Array("inputs".utf8) || token == Array("archived".utf8) {
                        capturing = String(decoding: token, as: UTF8.self)
                        element.removeAll(keepingCapacity: true)
                    }
                case 0x7D, 0x5D: depth -= 1
                default: break
                }
            }
        }
        return rest
    }

    /// `"key" : ` as it stands in an element, for each key `take` looks up: made once, not per element
    /// (a big run's manifest has a million).
    private static func keyBytes(_ key: String) -> [UInt8] { Array("\"\(key)\" : ".utf8) }
    private static let kindKey = keyBytes("kind"), readKey = keyBytes("read"), acceptedKey = keyBytes("accepted"),
                       rejectedKey = keyBytes("rejected"), profileKey = keyBytes("profile"), archivedToKey = keyBytes("archived_to")

    /// The value after `k` (`"key" : `, `keyBytes`) in a flat element kenpo wrote: a string (without escapes) or digits.
    private static func value(_ k: [UInt8], in e: [UInt8]) -> ArraySlice<UInt8>? {
        guard let r = e.firstRange(of: k) else { return nil }
        var i = r.upperBound
        if i < e.count, e[i] == 0x22 {
            i += 1
            let start = i
            while i < e.count, e[i] != 0x22 { if e[i] == 0x5C { return nil }; i += 1 }
            return i < e.count ? e[start..<i] : nil
        }
        let start = i
        while i < e.count, e[i] >= 0x30 && e[i] <= 0x39 { i += 1 }
        return i > start ? e[start..<i] : nil
    }

    private mutating func take(_ element: [UInt8], list: String) throws {
        if list == "archived" && summary.firstArchived.count >= 50 {
            // Only counted beyond the first 50.
            summary.archived += 1
            if element.firstRange(of: Self.archivedToKey) != nil { summary.archivedMoved += 1 }
            return
        }
        if list == "inputs", let kind = Self.value(Self.kindKey, in: element),
           let read = Self.value(Self.readKey, in: element).flatMap({ Int(String(decoding: $0, as: UTF8.self)) }),
           let accepted = Self.value(Self.acceptedKey, in: element).flatMap({ Int(String(decoding: $0, as: UTF8.self)) }),
           let rejected = Self.value(Self.rejectedKey, in: element).flatMap({ Int(String(decoding: $0, as: UTF8.self)) }),
           element.firstRange(of: Self.profileKey) == nil || Self.value(Self.profileKey, in: element) != nil {
            let profile = Self.value(Self.profileKey, in: element).map { String(decoding: $0, as: UTF8.self) }
            summary.add(Manifest.Input(path: "", kind: String(decoding: kind, as: UTF8.self), profile: profile, bytes: 0, sha256: "",
                                       records: .init(read: read, accepted: accepted, rejected: rejected)))
            return
        }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        do {
            if list == "inputs" {
                summary.add(try d.decode(Manifest.Input.self, from: Data(element)))
            } else {
                summary.add(try d.decode(Manifest.ArchivedInput.self, from: Data(element)))
            }
        } catch {
            throw KenpoError.input(path: path, line: nil, message: "manifest is not valid: an element of \(list): \(error)")
        }
    }
}
