import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Removes members' Mynaportal and member-upload records from one folder of datasets at a time (a
/// state generation, an outbox run), without ever writing into a file another folder links to.
///
/// Generations and outbox runs share files as hard links (one inode, many paths). A file is never
/// changed in place: its new version is written once to scratch, then linked into every path that
/// held the old inode (link in scratch, rename over the path), so the sharing survives the
/// deletion and each inode is filtered once. Files that hold nothing of the persons are not touched.
///
/// Per folder, each record kind's head table decides: a record of one of the persons whose sources
/// are only `mynaportal`/`member_upload` goes entirely (its rows in every table of the kind); one that
/// also came from the insurer stays, with source `insurer` (and its source_file cleared unless that
/// names an insurer file). `record_changes.csv` loses the persons' Mynaportal/upload change rows, and
/// `record_documents.csv` (DocumentLedger) their documents, whose hashes become tombstones.
final class DatasetPurge {
    let persons: Set<UInt64>
    private let scratch: String
    private var seq = 0
    struct Rewritten {
        var entry: OutputFile
        /// Rows dropped, per person.
        var dropped: [UInt64: Int]
        /// Persons whose rows were dropped or changed.
        var persons: Set<UInt64>
    }
    private enum Cached { case unchanged, rewritten(source: String, Rewritten) }
    private var cache: [String: Cached] = [:]

    /// Per person, what the first folder purged with `counting` held (the current state).
    struct Counts {
        var recordsRemoved: [String: Int] = [:]   // head table file → records removed
        var rowsRemoved: [String: Int] = [:]      // table file → rows removed
        var recordsKeptInsurer = 0
    }
    private(set) var counts: [UInt64: Counts] = [:]
    /// Documents (SHA-256) of the persons found in any ledger purged, in the order found.
    private(set) var documents: [(sha256: String, person: UInt64)] = []
    private var documentSeen = Set<String>()
    /// Every path replaced.
    private(set) var filesRewritten = 0

    static let memberSources: Set<RecordSource> = [.mynaportal, .memberUpload]

    init(persons: Set<UInt64>, scratch: String) {
        self.persons = persons
        self.scratch = scratch
    }

    /// The decisions taken per folder and kind (from the head table as it was before the purge).
    private var decisions: [String: [String: Decision]] = [:]

    /// Purges the datasets kenpo knows in `folder` (top level). A record table is any CSV whose header
    /// starts with a kind's id column and `person_id` (the kind's tables, and derived ones such as a
    /// regrade's grade_changes.csv). Without the kind's head table in the folder, the decision of
    /// `fallbackFolder` (the state generation the run wrote) is used, else the union of every folder
    /// purged so far. Returns the files rewritten (names relative to the folder, new manifest entries)
    /// and the persons whose data they held.
    func purge(folder: String, counting: Bool = false, fallbackFolder: String? = nil) throws -> (files: [OutputFile], persons: Set<UInt64>) {
        var out: [OutputFile] = []
        var touched = Set<UInt64>()
        func note(_ r: Rewritten?, _ name: String) {
            guard let r else { return }
            var e = r.entry
            e.path = name
            out.append(e)
            touched.formUnion(r.persons)
        }
        var tablesByKind: [String: [String]] = [:]
        for name in FileSystem.listDirectory(folder) where name.hasSuffix(".csv") && !FileSystem.isDirectory(folder + "/" + name) {
            let h = Self.header(folder + "/" + name)
            guard h.count >= 2, h[1] == "person_id", let kind = RecordKind.all.first(where: { $0.tables[0].header[0] == h[0] }) else { continue }
            tablesByKind[kind.name, default: []].append(name)
        }
        for kind in RecordKind.all {
            guard let names = tablesByKind[kind.name] else { continue }
            let headName = kind.tables[0].file
            let decision: Decision
            if names.contains(headName) {
                decision = try decide(folder + "/" + headName)
                decisions[folder, default: [:]][kind.name] = decision
            } else if let f = fallbackFolder, let d = decisions[f]?[kind.name] {
                decision = d
            } else {
                decision = union(kind)
            }
            guard !decision.delete.isEmpty || !decision.strip.isEmpty else { continue }
            if counting {
                for (p, n) in decision.recordsByPerson { counts[p, default: Counts()].recordsRemoved[headName, default: 0] += n }
                for (p, n) in decision.strippedByPerson { counts[p, default: Counts()].recordsKeptInsurer += n }
            }
            let key = "ids:" + StableHash.hex(StableHash.of(decision.delete.sorted().map(StableHash.hex) + ["|"] + decision.strip.sorted().map(StableHash.hex)))
            // Head first: its decision was read before any rewrite.
            for name in names.sorted(by: { ($0 == headName ? 0 : 1, $0) < ($1 == headName ? 0 : 1, $1) }) {
                let path = folder + "/" + name
                let r = try rewrite(path, filterKey: kind.name + "/" + name + "/" + key) { r, header in
                    guard let id = r.withField(0, StableHash.parseHex(bytes:)) else {
                        throw KenpoError.input(path: path, line: r.line, message: "damaged record id; restore this file from a copy before deleting")
                    }
                    if decision.delete.contains(id) { return .drop(decision.owner[id] ?? 0) }
                    if decision.strip.contains(id), let sc = header.firstIndex(of: "source"), sc < r.fieldCount {
                        return .replace(Self.insurerOnly(r, sourceColumn: sc, fileColumn: header.firstIndex(of: "source_file")), decision.owner[id] ?? 0)
                    }
                    return .keep
                }
                if counting, let r { for (p, n) in r.dropped { counts[p, default: Counts()].rowsRemoved[name, default: 0] += n } }
                note(r, name)
            }
        }
        let changes = folder + "/record_changes.csv"
        if FileSystem.exists(changes) {
            note(try rewrite(changes, filterKey: "changes") { r, header in
                guard let pc = header.firstIndex(of: "person_id"), let sc = header.firstIndex(of: "source"), pc < r.fieldCount, sc < r.fieldCount,
                      let pid = r.withField(pc, StableHash.parseHex(bytes:)), self.persons.contains(pid) else { return .keep }
                let sources = RecordSource.parse(String(decoding: r.fieldBytes(sc), as: UTF8.self)) ?? Self.memberSources
                let remaining = sources.subtracting(Self.memberSources)
                if remaining.isEmpty { return .drop(pid) }
                if remaining == sources { return .keep }
                return .replace(Self.insurerOnly(r, sourceColumn: sc, fileColumn: header.firstIndex(of: "source_file")), pid)
            }, "record_changes.csv")
        }
        let ledger = folder + "/" + DocumentLedger.ledgerFile
        if FileSystem.exists(ledger) {
            note(try rewrite(ledger, filterKey: "ledger") { r, _ in
                guard r.fieldCount >= 2, let pid = r.withField(1, StableHash.parseHex(bytes:)), self.persons.contains(pid) else { return .keep }
                let sha = String(decoding: r.fieldBytes(0), as: UTF8.self)
                if self.documentSeen.insert(sha).inserted { self.documents.append((sha, pid)) }
                return .drop(pid)
            }, DocumentLedger.ledgerFile)
        }
        if !out.isEmpty { FileSystem.syncDirectory(folder) }
        return (out, touched)
    }

    /// Removes the persons' member exports (`kenpo-export-<person_id>-….zip`, anywhere under an outbox
    /// run folder): written before the deletion, they hold the deleted records. Returns the paths
    /// removed (relative to the folder) and whose they were.
    func removeExports(folder: String) -> (paths: [String], persons: Set<UInt64>) {
        var files: [String] = []
        let walk = DirectoryWalk(folder)
        while let p = walk.next() { files.append(p) }
        var removed: [String] = [], whose = Set<UInt64>()
        for path in files {
            let name = (path as NSString).lastPathComponent
            guard name.hasPrefix("kenpo-export-"), let p = persons.first(where: { name.hasPrefix("kenpo-export-" + StableHash.hex($0)) }) else { continue }
            unlink(path)
            removed.append(String(path.dropFirst(folder.count + 1)))
            whose.insert(p)
            filesRewritten += 1
        }
        return (removed.sorted(), whose)
    }

    /// A row's fields with the member sources removed from `source`, and `source_file` kept only
    /// when it names an insurer's file.
    static func insurerOnly(_ r: CSVReader, sourceColumn: Int, fileColumn: Int?) -> [String] {
        var fields = (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }
        let sources = RecordSource.parse(fields[sourceColumn]) ?? []
        fields[sourceColumn] = RecordSource.format(sources.subtracting(memberSources))
        if let fc = fileColumn, fc < fields.count, ImportFile.source(for: fields[fc]).0 != .insurer { fields[fc] = "" }
        return fields
    }

    struct Decision {
        var delete = Set<UInt64>()
        var strip = Set<UInt64>()
        var owner: [UInt64: UInt64] = [:]
        var recordsByPerson: [UInt64: Int] = [:]
        var strippedByPerson: [UInt64: Int] = [:]
    }

    /// Every decision taken so far for a kind: ids deleted anywhere and kept (insurer) nowhere are
    /// deleted; ids kept with the insurer source anywhere are stripped.
    func union(_ kind: RecordKind) -> Decision {
        var d = Decision()
        for folder in decisions.values {
            guard let k = folder[kind.name] else { continue }
            d.delete.formUnion(k.delete); d.strip.formUnion(k.strip)
            d.owner.merge(k.owner, uniquingKeysWith: { a, _ in a })
        }
        d.delete.subtract(d.strip)
        return d
    }

    /// The first record of a CSV file (its header), or [] when unreadable.
    static func header(_ path: String) -> [String] {
        guard let r = try? CSVReader(path: path), (try? r.next()) == true, r.malformed == nil else { return [] }
        return (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }
    }

    /// Which records of the persons a head table holds go entirely, and which keep the insurer source.
    func decide(_ head: String) throws -> Decision {
        var d = Decision()
        let r = try CSVReader(path: head)
        guard try r.next() else { return d }
        let header = (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) }
        guard let pc = header.firstIndex(of: "person_id"), let sc = header.firstIndex(of: "source") else {
            throw KenpoError.input(path: head, line: 1, message: "the header has no person_id or source column; this is not a kenpo record table")
        }
        while try r.next() {
            guard r.malformed == nil, r.fieldCount == header.count, let id = r.withField(0, StableHash.parseHex(bytes:)), let pid = r.withField(pc, StableHash.parseHex(bytes:)) else {
                throw KenpoError.input(path: head, line: r.line, message: "damaged row; restore this file from a copy before deleting")
            }
            guard persons.contains(pid), d.owner[id] == nil else { continue }
            guard let sources = RecordSource.parse(String(decoding: r.fieldBytes(sc), as: UTF8.self)) else {
                throw KenpoError.input(path: head, line: r.line, message: "the source column cannot be read; restore this file from a copy before deleting")
            }
            guard !sources.isDisjoint(with: Self.memberSources) else { continue }
            d.owner[id] = pid
            if sources.contains(.insurer) {
                d.strip.insert(id); d.strippedByPerson[pid, default: 0] += 1
            } else {
                d.delete.insert(id); d.recordsByPerson[pid, default: 0] += 1
            }
        }
        return d
    }

    enum RowAction { case keep, drop(UInt64), replace([String], UInt64) }

    /// Rewrites `path` through `action` (header kept); nil when no row changes. The new version is
    /// linked into `path` by rename; every later path with the same inode and filter gets the same file.
    func rewrite(_ path: String, filterKey: String, _ action: (CSVReader, [String]) throws -> RowAction) throws -> Rewritten? {
        var st = stat()
        guard stat(path, &st) == 0 else { throw KenpoError.io(path: path, message: "cannot read: \(String(cString: strerror(errno)))") }
        let cacheKey = "\(st.st_dev):\(st.st_ino):\(filterKey)"
        switch cache[cacheKey] {
        case .unchanged?: return nil
        case .rewritten(let source, let done)?:
            try place(source, at: path)
            return done
        case nil: break
        }
        // Pass 1: does anything change? (Reading twice is cheaper than writing every file.)
        var changed = false
        var header: [String] = []
        do {
            let r = try CSVReader(path: path)
            if try r.next() { header = (0..<r.fieldCount).map { String(decoding: r.fieldBytes($0), as: UTF8.self) } }
            while try r.next() {
                if r.malformed != nil { throw KenpoError.input(path: path, line: r.line, message: "damaged CSV row; restore this file from a copy before deleting") }
                if case .keep = try action(r, header) { continue }
                changed = true
                break
            }
        }
        guard changed else { cache[cacheKey] = .unchanged; return nil }
        // Pass 2: the new version, in scratch.
        seq += 1
        let newFile = scratch + "/purge-\(seq).csv"
        let w = try CSVWriter(path: newFile, header: header)
        var touched = Set<UInt64>()
        var dropped: [UInt64: Int] = [:]
        let r = try CSVReader(path: path)
        _ = try r.next()
        while try r.next() {
            if r.malformed != nil { throw KenpoError.input(path: path, line: r.line, message: "damaged CSV row; restore this file from a copy before deleting") }
            switch try action(r, header) {
            case .keep:
                for f in 0..<r.fieldCount { r.withField(f) { w.field(bytes: $0) } }
                w.endRow()
            case .drop(let p): touched.insert(p); dropped[p, default: 0] += 1
            case .replace(let fields, let p): touched.insert(p); w.row(fields)
            }
        }
        let done = Rewritten(entry: try w.close(), dropped: dropped, persons: touched)
        cache[cacheKey] = .rewritten(source: newFile, done)
        try place(newFile, at: path)
        return done
    }

    /// Makes `path` a new link to `source` (atomically: a link made in scratch is renamed over it).
    func place(_ source: String, at path: String) throws {
        seq += 1
        let tmp = scratch + "/place-\(seq)"
        unlink(tmp)
        if link(source, tmp) == 0, Glibc.rename(tmp, path) == 0 {
            filesRewritten += 1
            return
        }
        unlink(tmp)
        // Another file system (scratch elsewhere): a copy beside the target, renamed over it.
        let beside = path + ".tmp-delete-\(getpid())"
        _ = try FileSystem.copy(source, to: beside, rows: 0)
        try FileSystem.rename(beside, path)
        filesRewritten += 1
    }
}
