import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The deletion stage (取得データ削除, `kenpo delete`): for each request, every record that came
/// from Mynaportal or a member upload for that person is removed from the current state (a new
/// generation) and from every dataset kenpo still keeps — every retained state generation and
/// every outbox run — while what the insurer supplied stays. The documents those records came from
/// become tombstones, so importing them again (an old inbox file) is refused; the member's own
/// documents are removed from the archive (`ArchivePurge`); an audit row per request
/// (deletions.csv) records what was removed, never the content.
///
/// The sweep of retained generations and outbox runs happens inside the run, before it publishes:
/// once the run is published, nothing kenpo keeps holds the deleted records. (Should the run fail
/// after the sweep, the deletion has already taken effect in those datasets, tombstones and audit
/// included; the request is then recorded as done.)
public final class DeletionStage {
    let run: Run

    public init(run: Run) { self.run = run }

    /// The audit table in state (and in the deleting run's outbox).
    public static let auditFile = "deletions.csv"
    public static var auditHeader: [String] {
        ["request_id", "person_id", "requested_at", "request_file", "run_id", "run_date", "executed_at"]
            + countColumns.map(\.column) + ["records_kept_insurer", "sources_kept", "documents_tombstoned", "archived_documents_removed"]
    }
    /// One count column per table: records removed for a kind's head table, rows for the others.
    static var countColumns: [(column: String, table: String, head: Bool)] {
        RecordKind.all.flatMap { k in
            k.tables.enumerated().map { (i, t) in (String(t.file.dropLast(4)) + "_removed", t.file, i == 0) }
        }
    }

    private struct Pending {
        var request: DeletionRequest
        var file: Int
        var line: Int
        var key: String
    }

    public func process(_ requestFiles: [String]) throws {
        let done = try Self.auditedRequestIDs(run.currentStateFile(Self.auditFile))
        var counts: [Manifest.RecordCounts] = []
        var pending: [Pending] = []
        var firstSeen: [String: (String, Int)] = [:]
        var alreadyDone = 0

        // 1. Read every request; reject what cannot be read.
        var sums: [(bytes: Int, sha256: String)] = []
        for (fi, path) in requestFiles.enumerated() {
            let reader = try DeletionRequestReader(path: path)
            var c = Manifest.RecordCounts()
            while let record = try reader.next() {
                c.read += 1
                switch record {
                case .rejected(let reason, let message, let line, let key):
                    c.rejected += 1
                    run.rejects.add(file: path, line: line, key: key, reason: reason, message: reason.summary + ": " + message)
                case .request(let r, let line, let key):
                    if let (f, l) = firstSeen[r.requestID] {
                        c.rejected += 1
                        run.rejects.add(file: path, line: line, key: key, reason: .deletionRequestInvalid,
                                        message: RejectReason.deletionRequestInvalid.summary + ": request_id '\(r.requestID)' already appears in \(f) line \(l); give every request its own id")
                        continue
                    }
                    firstSeen[r.requestID] = (path, line)
                    if done.contains(r.requestID) {
                        // Done by an earlier run (the same request file read again): never redone, as the
                        // member may have pulled new data since.
                        c.accepted += 1
                        alreadyDone += 1
                        Log.info("delete: \(path) line \(line): request \(r.requestID) was carried out by an earlier run (deletions.csv); not repeated")
                        continue
                    }
                    pending.append(Pending(request: r, file: fi, line: line, key: key))
                }
            }
            counts.append(c)
            sums.append(try reader.finish())
        }

        // 2. Unknown persons: in neither the member master nor any record table or ledger.
        let known = try knownPersons(Set(pending.map(\.request.personID)))
        var accepted: [Pending] = []
        for p in pending {
            if known.contains(p.request.personID) {
                counts[p.file].accepted += 1
                accepted.append(p)
            } else {
                counts[p.file].rejected += 1
                run.rejects.add(file: requestFiles[p.file], line: p.line, key: p.key, reason: .deletionPersonUnknown,
                                message: RejectReason.deletionPersonUnknown.summary + ": person_id \(StableHash.hex(p.request.personID)) is in neither the member master nor any record table; check the id against members.csv")
            }
        }
        for (i, path) in requestFiles.enumerated() {
            run.addInput(Manifest.Input(path: path, kind: "deletion_requests", profile: nil, bytes: sums[i].bytes, sha256: sums[i].sha256, records: counts[i]))
        }
        run.summary["deletion_requests"] = accepted.count
        if alreadyDone > 0 { run.summary["deletion_requests_already_done"] = alreadyDone }
        guard !accepted.isEmpty else {
            Log.info("delete: no request to carry out")
            return
        }
        try execute(accepted.map { ($0.request, requestFiles[$0.file]) })
    }

    /// Carries out readable requests for known persons (the library entry point for tests and callers
    /// that have already read their requests).
    func execute(_ requests: [(request: DeletionRequest, file: String)]) throws {
        let persons = Set(requests.map(\.request.personID))
        CrashPoint.reach("delete:begin")
        let stateDir = try run.beginStateGeneration()
        try FileSystem.makeDirectory(run.scratch)
        let purge = DatasetPurge(persons: persons, scratch: run.scratch)
        let data = run.data

        // 3. The new state generation first (its counts go into the audit), then every retained
        // generation, every published outbox run, and this run's own outbox so far.
        _ = try purge.purge(folder: stateDir, counting: true)
        var generationsSwept = 0
        for n in data.generationNumbers() {
            let (files, _) = try purge.purge(folder: data.generationPath(DataFolder.generationName(n)))
            if !files.isEmpty { generationsSwept += 1 }
        }
        let requestIDsByPerson = Dictionary(grouping: requests, by: { $0.request.personID }).mapValues { $0.map(\.request.requestID) }
        var runsSwept = 0
        CrashPoint.reach("delete:sweep-outbox")
        for name in data.publishedRuns() {
            let folder = data.outbox + "/" + name
            // Only its state generation is needed: the summary read skips the per-file lists (a big run's are a million).
            let gen = (try? Manifest.decodeSummary(path: folder + "/manifest.json"))?.stateGeneration.map { data.generationPath($0) }
            let (files, touched) = try purge.purge(folder: folder, fallbackFolder: gen)
            let exports = purge.removeExports(folder: folder)
            guard !files.isEmpty || !exports.paths.isEmpty else { continue }
            runsSwept += 1
            try annotateManifest(folder + "/manifest.json", files: files, removed: exports.paths,
                                 requestIDs: touched.union(exports.persons).flatMap { requestIDsByPerson[$0] ?? [] }.sorted())
        }
        for f in try purge.purge(folder: run.staging, fallbackFolder: stateDir).files { run.updateOutput(f) }
        for path in purge.removeExports(folder: run.staging).paths { run.removeOutput(path) }
        // A version of a state table that an earlier stage of this run moved aside (scratch) is not kept.
        for name in FileSystem.listDirectory(run.scratch) where name.hasPrefix("state-before-") {
            unlink(run.scratch + "/" + name)
        }

        // 4. Tombstones for every document of theirs the ledger listed, and the audit; both go into
        // the new generation and every retained one (a restored older generation keeps them).
        let firstRequest = Dictionary(requests.map { ($0.request.personID, $0.request.requestID) }, uniquingKeysWith: { a, _ in a })
        let existingTombstones = try DocumentLedger.hashes(in: run.currentStateFile(DocumentLedger.tombstoneFile))
        var tombstonedByPerson: [UInt64: Int] = [:]
        let tombstones = try appendCopy(of: run.currentStateFile(DocumentLedger.tombstoneFile), header: DocumentLedger.tombstoneHeader, name: "tombstones") { w in
            for d in purge.documents where !existingTombstones.contains(d.sha256) {
                w.row([d.sha256, StableHash.hex(d.person), firstRequest[d.person] ?? "", run.id])
                tombstonedByPerson[d.person, default: 0] += 1
            }
        }
        // The member's own documents in the archive (uploads, Mynaportal pulls); insurer files stay.
        CrashPoint.reach("delete:archive")
        let archivedRemoved = try ArchivePurge.removeMemberDocuments(
            committedInputs: run.currentStateFile(PipelineRun.committedInputsFile), persons: persons, documents: purge.documents)
        let archivedByPerson = Dictionary(grouping: archivedRemoved, by: \.person).mapValues(\.count)
        var seenPerson = Set<UInt64>()
        let executedAt = Timestamp.now()
        let audit = try appendCopy(of: run.currentStateFile(Self.auditFile), header: Self.auditHeader, name: "audit") { w in
            for (r, file) in requests {
                // A person named by two requests in one run: the first carries the counts.
                let first = seenPerson.insert(r.personID).inserted
                let c = first ? purge.counts[r.personID] ?? DatasetPurge.Counts() : DatasetPurge.Counts()
                var row = [r.requestID, StableHash.hex(r.personID), r.requestedAt, (file as NSString).lastPathComponent, run.id, run.runDate.iso, executedAt]
                for col in Self.countColumns {
                    row.append(String(col.head ? c.recordsRemoved[col.table, default: 0] : c.rowsRemoved[col.table, default: 0]))
                }
                row += [String(c.recordsKeptInsurer), c.recordsKeptInsurer > 0 ? RecordSource.insurer.rawValue : "",
                        String(first ? tombstonedByPerson[r.personID, default: 0] : 0),
                        String(first ? archivedByPerson[r.personID, default: 0] : 0)]
                w.row(row)
            }
        }
        for folder in [stateDir] + data.generationNumbers().map({ data.generationPath(DataFolder.generationName($0)) }) {
            try purge.place(tombstones.path, at: folder + "/" + DocumentLedger.tombstoneFile)
            try purge.place(audit.path, at: folder + "/" + Self.auditFile)
            FileSystem.syncDirectory(folder)
        }

        // 5. This run publishes the datasets as they now are, and the audit.
        for t in RecordKind.all.flatMap(\.tables) where FileSystem.exists(stateDir + "/" + t.file) {
            let out = try run.outputPath(t.file)
            try FileSystem.link(stateDir + "/" + t.file, to: out)
            run.updateOutput(try ImportStage.describe(out))
        }
        let auditOut = try run.outputPath(Self.auditFile)
        try FileSystem.link(stateDir + "/" + Self.auditFile, to: auditOut)
        var a = audit
        a.path = auditOut
        run.updateOutput(a)

        let total = purge.counts.values
        for col in Self.countColumns {
            run.summary["deleted_" + String(col.table.dropLast(4))] = total.reduce(0) { $0 + (col.head ? $1.recordsRemoved[col.table, default: 0] : $1.rowsRemoved[col.table, default: 0]) }
        }
        run.summary["records_kept_insurer"] = total.reduce(0) { $0 + $1.recordsKeptInsurer }
        run.summary["documents_tombstoned"] = tombstonedByPerson.values.reduce(0, +)
        run.summary["deletion_generations_swept"] = generationsSwept
        run.summary["deletion_outbox_runs_swept"] = runsSwept
        run.summary["deletion_files_rewritten"] = purge.filesRewritten
        run.summary["deletion_archived_documents_removed"] = archivedRemoved.count
        Log.info("delete: \(requests.count) requests for \(persons.count) members; \(generationsSwept) retained generations and \(runsSwept) outbox runs rewritten (\(purge.filesRewritten) files); \(run.summary["documents_tombstoned"]!) documents tombstoned; \(archivedRemoved.count) archived documents removed")
    }

    /// A new file in scratch: the previous table's rows (if any), then what `append` writes.
    private func appendCopy(of previous: String?, header: [String], name: String, _ append: (CSVWriter) throws -> Void) throws -> OutputFile {
        let path = run.scratch + "/new-" + name + ".csv"
        let w = try CSVWriter(path: path, header: header)
        if let previous {
            let r = try CSVReader(path: previous)
            _ = try r.next()
            while try r.next() {
                guard r.malformed == nil else { throw KenpoError.input(path: previous, line: r.line, message: "damaged row; restore the previous state generation") }
                for f in 0..<r.fieldCount { r.withField(f) { w.field(bytes: $0) } }
                // A row written before a column was added (the audit's archived_documents_removed): empty.
                for _ in min(r.fieldCount, header.count)..<header.count { w.field("") }
                w.endRow()
            }
        }
        try append(w)
        return try w.close()
    }

    /// Request ids already carried out (the audit's first column).
    static func auditedRequestIDs(_ path: String?) throws -> Set<String> { try DocumentLedger.hashes(in: path) }

    /// Which of `persons` kenpo knows: in the member master, or owning rows in a record table or the ledger.
    private func knownPersons(_ persons: Set<UInt64>) throws -> Set<UInt64> {
        var known = Set<UInt64>()
        func scan(_ file: String, column: Int) throws {
            guard known.count < persons.count, let path = run.currentStateFile(file) else { return }
            let r = try CSVReader(path: path)
            _ = try r.next()
            while try r.next() {
                guard r.fieldCount > column, let pid = r.withField(column, StableHash.parseHex(bytes:)), persons.contains(pid) else { continue }
                known.insert(pid)
            }
        }
        try scan("members.csv", column: 0)
        for k in RecordKind.all { try scan(k.tables[0].file, column: 1) }
        try scan(DocumentLedger.ledgerFile, column: 1)
        return known
    }

    /// Brings a published run's manifest up to date with its rewritten files, noting the requests.
    private func annotateManifest(_ path: String, files: [OutputFile], removed: [String], requestIDs: [String]) throws {
        guard FileSystem.exists(path) else { return }
        var m = try Manifest.decode(path: path)
        for f in files {
            if let i = m.outputs.firstIndex(where: { $0.path == f.path }) {
                m.outputs[i].rows = f.rows; m.outputs[i].bytes = f.bytes; m.outputs[i].sha256 = f.sha256
            }
        }
        m.outputs.removeAll { removed.contains($0.path) }
        var notes = m.deletions ?? []
        notes.append(Manifest.DeletionNote(requestIds: requestIDs, deletionRunId: run.id, runDate: run.runDate.iso,
                                           files: files.map(\.path).sorted(), removed: removed.isEmpty ? nil : removed))
        m.deletions = notes
        try FileSystem.writeAtomically(try m.encoded(), to: path)
    }
}
