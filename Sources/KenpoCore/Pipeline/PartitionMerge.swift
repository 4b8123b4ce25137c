import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `kenpo merge --out DIR [--by insurer|file] OUTBOX...`: the published datasets of several partition
/// runs (each a `kenpo run` on its own machine and data folder, same run date) merged into one folder
/// of the same shape as one run's outbox, with a manifest naming the partitions.
///
/// - **By insurer** (default): partitions hold disjoint members (person ids are hashes of the insurer
///   and member keys, so a member has the same id in any partition). A person in two partitions, an
///   insurer profile or an input file read by two, is an error naming both outboxes.
/// - **By file**: partitions of one insurer's night, each reading the whole roster and a share of the
///   health documents. The member master and its changes must come out identical from each (kept
///   once); a record found in several partitions resolves by one run's rules (`PartitionDatasetMerger`);
///   rejects of the shared rosters are listed once.
///
/// Datasets: `MergedDataset.all`. Folders (`insurers/`, `postcards/`, `exports/`) are linked through; a
/// path in two partitions is an error (by file, `insurers/` is the first partition's: it ran the
/// insurer's mailing list too, and every partition read the same roster; an export, which would hold
/// one share of a member's records, is refused). Every partition file is checked
/// against its manifest (rows, bytes, SHA-256) as it is read. The folder is written beside `--out` and
/// renamed into place when complete: it appears whole or not at all.
public final class PartitionMerge {
    public enum Kind: String, Sendable { case insurer, file }

    struct Partition {
        var index: Int
        /// As given on the command line (messages name it).
        var outbox: String
        /// Resolved (outbox/latest → outbox/<run-id>).
        var folder: String
        var manifest: Manifest
        var manifestSHA256: String
        /// `<data>` of `<data>/outbox/<run-id>`: where its state generations are.
        var dataRoot: String { ((folder as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent }
        var profiles: [String] { Array(Set(manifest.inputs.compactMap(\.profile))).sorted() }
        func output(_ path: String) -> OutputFile? { manifest.outputs.first { $0.path == path } }
    }

    let kind: Kind
    let outboxes: [String]
    let out: String

    public init(outboxes: [String], kind: Kind, out: String) {
        self.outboxes = outboxes
        self.kind = kind
        self.out = out
    }

    /// Files of a run's outbox that belong to that run alone: the merged folder has its own manifest,
    /// and the partitions' reports stay in their outboxes (listed in the merged manifest).
    static let ownFiles: Set<String> = ["manifest.json", "report.txt", "report.html"]

    public func execute() throws -> MergeManifest {
        guard !outboxes.isEmpty else { throw KenpoError.usage("merge needs the outboxes of the partitions: kenpo merge --out DIR OUTBOX...") }
        guard !FileSystem.exists(out) else {
            throw KenpoError.usage("--out \(out) exists; kenpo merge writes a new folder (it appears complete, in one rename): name one that does not exist yet")
        }
        let partitions = try load()
        let parent = (out as NSString).deletingLastPathComponent
        let staging = (parent.isEmpty ? "." : parent) + "/." + (out as NSString).lastPathComponent + ".merging-\(getpid())"
        let merger = PartitionDatasetMerger(kind: kind, names: partitions.map(\.outbox), scratch: staging + "/.spool")
        try check(partitions, merger)

        FileSystem.removeTree(staging)
        try FileSystem.makeDirectory(staging)
        do {
            let manifest = try merge(partitions, merger, into: staging)
            try FileSystem.writeAtomically(try manifest.encoded(), to: staging + "/manifest.json")
            FileSystem.syncDirectory(staging)
            try FileSystem.rename(staging, out)
            FileSystem.syncDirectory(parent.isEmpty ? "." : parent)
            return manifest
        } catch {
            FileSystem.removeTree(staging)
            throw error
        }
    }

    // MARK: partitions

    private func load() throws -> [Partition] {
        var partitions: [Partition] = []
        for (i, outbox) in outboxes.enumerated() {
            guard FileSystem.isDirectory(outbox) else {
                throw KenpoError.usage("\(outbox) is not a folder: give each partition's published outbox (<data>/outbox/<run-id> or <data>/outbox/latest)")
            }
            guard let resolved = realpath(outbox, nil) else { throw KenpoError.io(path: outbox, message: "cannot resolve: \(String(cString: strerror(errno)))") }
            let folder = String(cString: resolved)
            free(resolved)
            let manifestPath = folder + "/manifest.json"
            guard FileSystem.exists(manifestPath) else {
                throw KenpoError.input(path: outbox, line: nil, message: "no manifest.json: not a published kenpo outbox (a run folder appears with its manifest, in one rename)")
            }
            let manifest = try Manifest.decode(path: manifestPath)
            let sha = try SHA256Digest.hex(ofFile: manifestPath).sha256
            if let same = partitions.first(where: { $0.folder == folder || $0.manifestSHA256 == sha }) {
                throw KenpoError.usage("\(outbox) and \(same.outbox) are the same run (\(manifest.runId)); give each partition once")
            }
            partitions.append(Partition(index: i, outbox: outbox, folder: folder, manifest: manifest, manifestSHA256: sha))
        }
        return partitions
    }

    /// Partitions of one night: one kenpo version, one run date; by insurer, disjoint insurers and
    /// inputs; by file, the inputs every partition read (rosters) noted so their rejects count once.
    private func check(_ partitions: [Partition], _ merger: PartitionDatasetMerger) throws {
        let first = partitions[0]
        for p in partitions.dropFirst() {
            if p.manifest.kenpoVersion != first.manifest.kenpoVersion {
                throw KenpoError.input(path: p.outbox, line: nil, message: "was published by kenpo \(p.manifest.kenpoVersion), \(first.outbox) by \(first.manifest.kenpoVersion): run every partition with the same kenpo")
            }
            if p.manifest.runDate != first.manifest.runDate {
                throw KenpoError.input(path: p.outbox, line: nil, message: "is the run of \(p.manifest.runDate), \(first.outbox) of \(first.manifest.runDate): the partitions of one night run with the same --date")
            }
        }
        var readBy: [String: Int] = [:]  // input SHA-256 → first partition that read it
        var shared: Set<String> = []
        var profileOwner: [String: Int] = [:]
        for p in partitions {
            var mine: [String: String] = [:]
            for i in p.manifest.inputs {
                mine[i.path] = i.sha256
                if let q = readBy[i.sha256], q != p.index {
                    // A header-only file (no requests tonight) may well be the same bytes everywhere.
                    if kind == .insurer && i.records.read > 0 {
                        throw KenpoError.input(path: p.outbox, line: nil, message: "read \(i.path) (SHA-256 \(i.sha256.prefix(12))…), which \(partitions[q].outbox) read too: insurer partitions read disjoint inputs; route each file to one insurer's partition")
                    }
                    shared.insert(i.sha256)
                } else if readBy[i.sha256] == nil {
                    readBy[i.sha256] = p.index
                }
            }
            merger.inputSHA.append(mine)
            if kind == .insurer {
                for profile in p.profiles {
                    if let q = profileOwner[profile] {
                        throw KenpoError.input(path: p.outbox, line: nil, message: "read files of insurer profile \(profile), as \(partitions[q].outbox) did: partition by insurer puts each insurer in one partition (use --by file for partitions of one insurer's documents)")
                    }
                    profileOwner[profile] = p.index
                }
            }
        }
        for sha in shared { merger.firstReader[sha] = readBy[sha] }
    }

    // MARK: merging

    private func merge(_ partitions: [Partition], _ merger: PartitionDatasetMerger, into staging: String) throws -> MergeManifest {
        defer { FileSystem.removeTree(staging + "/.spool") }
        var outputs: [OutputFile] = []
        var fromState: [String] = []

        // Top-level files: datasets kenpo knows how to merge, the run's own files, folders.
        for p in partitions {
            for name in FileSystem.listDirectory(p.folder) where !FileSystem.isDirectory(p.folder + "/" + name) {
                guard Self.ownFiles.contains(name) || MergedDataset.named(name) != nil else {
                    throw KenpoError.input(path: p.folder + "/" + name, line: nil, message: "kenpo merge does not know how to merge \(name) (a run of another kind?); merge the outboxes of kenpo run")
                }
            }
        }

        for dataset in MergedDataset.all {
            var sources: [DatasetSource] = []
            for p in partitions {
                if let s = try source(of: dataset, in: p) { sources.append(s) }
            }
            // Published by none tonight: one run would not have published it either.
            guard sources.contains(where: { !$0.fromState }) else { continue }
            if kind == .file && dataset.sameInEveryFilePartition && sources.count != partitions.count {
                let missing = partitions.filter { p in !sources.contains { $0.partition == p.index } }.map(\.outbox)
                throw KenpoError.input(path: missing[0], line: nil, message: "has no \(dataset.name) while other file partitions have one: the file partitions of an insurer must all read the same rosters")
            }
            try FileSystem.makeDirectory(staging + "/.spool")
            var o = try merger.merge(dataset, sources: sources, into: staging + "/" + dataset.name)
            o.path = dataset.name
            outputs.append(o)
            for s in sources where s.fromState {
                fromState.append("\(dataset.name) of \(partitions[s.partition].outbox): from its state generation \(partitions[s.partition].manifest.stateGeneration ?? "")")
            }
        }
        var notes = merger.notes
        if merger.resolvedRecords > PartitionDatasetMerger.notedRecords {
            notes.append("… \(merger.resolvedRecords - PartitionDatasetMerger.notedRecords) more records found in several file partitions and resolved likewise")
        }
        outputs += try copyFolders(partitions, into: staging, notes: &notes)

        let worst = partitions.map(\.manifest.exitStatus).max { Self.severity($0) < Self.severity($1) } ?? 0
        return MergeManifest(
            kenpoVersion: KenpoVersion.current, partitionedBy: kind.rawValue, runDate: partitions[0].manifest.runDate,
            mergedAt: Timestamp.now(),
            partitions: partitions.map {
                MergeManifest.Partition(outbox: $0.outbox, runId: $0.manifest.runId, manifestSha256: $0.manifestSHA256,
                                        status: $0.manifest.status, exitStatus: $0.manifest.exitStatus,
                                        stateGeneration: $0.manifest.stateGeneration, profiles: $0.profiles)
            },
            worstPartitionExitStatus: worst,
            outputs: outputs.sorted { $0.path < $1.path },
            rejectReasons: merger.rejectReasons, fromState: fromState, notes: notes)
    }

    /// Exit statuses by how much they say went wrong: 4 (a step failed) over 3 (rejects) over 0.
    static func severity(_ s: Int32) -> Int { s == 4 ? 3 : s == 3 ? 2 : s == 0 ? 0 : 1 }

    /// The partition's copy of a dataset: its outbox's; for a full table it did not publish in its
    /// run, its state generation's.
    private func source(of dataset: MergedDataset, in p: Partition) throws -> DatasetSource? {
        let published = p.folder + "/" + dataset.name
        if FileSystem.exists(published) {
            guard let entry = p.output(dataset.name) else {
                throw KenpoError.input(path: published, line: nil, message: "is not in its run's manifest: the outbox was changed after it was published")
            }
            return DatasetSource(partition: p.index, path: published, expected: entry, fromState: false)
        }
        if p.output(dataset.name) != nil {
            throw KenpoError.input(path: published, line: nil, message: "is listed in its run's manifest but missing: copy the outbox again from the partition")
        }
        guard dataset.snapshot, let gen = p.manifest.stateGeneration else { return nil }
        let folder = DataFolder(root: p.dataRoot).generationPath(gen)
        guard FileSystem.isDirectory(folder) else {
            throw KenpoError.input(path: p.outbox, line: nil, message: "did not publish \(dataset.name) in its run, and its state generation \(gen) is not at \(folder), where the whole table is: give the outbox inside its data folder (<data>/outbox/<run-id>)")
        }
        let path = folder + "/" + dataset.name
        return FileSystem.exists(path) ? DatasetSource(partition: p.index, path: path, expected: nil, fromState: true) : nil
    }

    /// Links every file below the partitions' folders (insurers/, postcards/, exports/) into the merged folder.
    private func copyFolders(_ partitions: [Partition], into staging: String, notes: inout [String]) throws -> [OutputFile] {
        var placed: [String: (partition: Int, sha256: String)] = [:]
        var outputs: [OutputFile] = []
        for p in partitions {
            var files: [String] = []
            func walk(_ rel: String) {
                for name in FileSystem.listDirectory(p.folder + "/" + rel) {
                    let r = rel.isEmpty ? name : rel + "/" + name
                    if FileSystem.isDirectory(p.folder + "/" + r) { walk(r) } else if !rel.isEmpty { files.append(r) }
                }
            }
            walk("")
            for rel in files {
                let from = p.folder + "/" + rel
                let digest = try SHA256Digest.hex(ofFile: from)
                let entry = p.output(rel)
                if let e = entry, e.sha256 != digest.sha256 || e.bytes != digest.bytes {
                    throw KenpoError.input(path: from, line: nil, message: "does not match its manifest (SHA-256 \(e.sha256.prefix(12))…, found \(digest.sha256.prefix(12))…): the outbox was changed or copied incompletely; copy it again from the partition")
                }
                if kind == .file && rel.hasPrefix("exports/") {
                    throw KenpoError.input(path: from, line: nil, message: "a member export from a file partition holds only that partition's share of the member's records; run export requests on a night the insurer runs as one partition")
                }
                if let earlier = placed[rel] {
                    if kind == .file && rel.hasPrefix("insurers/") {
                        // Every file partition read the roster; the first also ran the insurer's mailing
                        // list, so its hand-back holds the others' roster rejects and its own run's counts.
                        if earlier.sha256 != digest.sha256 { notes.append("\(rel): \(partitions[earlier.partition].outbox)'s, not \(p.outbox)'s (the first file partition's hand-back covers the roster every partition read)") }
                        continue
                    }
                    throw KenpoError.input(path: from, line: nil, message: "\(rel) is in two partitions, \(partitions[earlier.partition].outbox) and \(p.outbox): " +
                        (kind == .insurer ? "an insurer's files belong to one insurer partition" : "only the first file partition of an insurer runs the codes, reissue and export steps") +
                        "; fix the partitioning and run these partitions again")
                }
                placed[rel] = (p.index, digest.sha256)
                let to = staging + "/" + rel
                try FileSystem.makeDirectory((to as NSString).deletingLastPathComponent)
                try FileSystem.link(from, to: to)
                outputs.append(OutputFile(path: rel, rows: entry?.rows ?? 0, bytes: digest.bytes, sha256: digest.sha256))
            }
        }
        return outputs
    }
}

/// `manifest.json` of a merged folder: the partitions it came from and what it holds.
public struct MergeManifest: Codable, Equatable {
    public struct Partition: Codable, Equatable {
        /// The outbox as given to `kenpo merge`.
        public var outbox: String
        public var runId: String
        /// SHA-256 of the partition's manifest.json: which publication of the partition was merged.
        public var manifestSha256: String
        public var status: String
        public var exitStatus: Int32
        public var stateGeneration: String?
        /// The insurer profiles whose files the partition read.
        public var profiles: [String]
    }

    public var kenpoVersion: String
    public var stage = "merge"
    /// `insurer` or `file`.
    public var partitionedBy: String
    public var runDate: String
    public var mergedAt: String
    public var partitions: [Partition]
    /// The most serious exit status among the partitions (4 over 3 over 0): each partition's own
    /// outbox and report tell what failed or was rejected.
    public var worstPartitionExitStatus: Int32
    /// Every file of the merged folder (paths relative to it), with rows, bytes and SHA-256.
    public var outputs: [OutputFile]
    /// Counts by reason code of the merged rejects.csv.
    public var rejectReasons: [String: Int]
    /// Full tables a partition did not publish in its run, taken from its state generation.
    public var fromState: [String]
    /// Records resolved across file partitions and files kept from one partition, for the operator.
    public var notes: [String]

    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        return Array(try e.encode(self)) + [0x0A]
    }

    public static func decode(path: String) throws -> MergeManifest {
        guard let data = FileManager.default.contents(atPath: path) else { throw KenpoError.io(path: path, message: "cannot read the merge manifest") }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        do { return try d.decode(MergeManifest.self, from: data) } catch {
            throw KenpoError.input(path: path, line: nil, message: "merge manifest is not valid: \(error)")
        }
    }
}
