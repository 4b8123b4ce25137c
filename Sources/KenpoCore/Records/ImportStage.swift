import Foundation

/// The import stage (Mynaportal and insurer health records): XML documents → checkups with their
/// results, medical-cost notices and prescriptions, attached to members, stored once each.
///
/// Documents are parsed in parallel (one streaming parser per worker) and consumed in input order,
/// so outputs are the same whatever the scheduling. Every document is accounted for: accepted, or
/// rejected as a whole with its reason (read = accepted + rejected per input file).
public final class ImportStage {
    let run: Run
    let items: CheckupItems
    public var workers = ProcessInfo.processInfo.activeProcessorCount

    public init(run: Run, items: CheckupItems) {
        self.run = run
        self.items = items
    }

    public func process(_ inputs: [ImportInput]) throws {
        let (files, jobs) = try ImportExpansion.expand(inputs)
        let directory = try MemberDirectory(masterPath: run.currentStateFile("members.csv"))
        Log.info("import: \(jobs.count) documents in \(files.count) files; member master has \(directory.count) members")
        try FileSystem.makeDirectory(run.scratch)
        let stagers = try RecordKind.all.map { try RecordStager(kind: $0, scratch: run.scratch) }
        let checkups = stagers[0], notices = stagers[1], prescriptions = stagers[2]
        var docKinds: [String: Int] = [:]
        var results = 0
        let items = self.items

        try OrderedParallelMap.run(count: jobs.count, workers: workers, makeWorker: {
            let reader = HealthDocumentReader()
            return { i in Self.read(jobs[i], files: files, reader: reader) }
        }, consume: { i, outcome in
            let job = jobs[i]
            let file = files[job.file]
            file.counts.read += 1
            if let sha = outcome.sha256 { file.sha256 = sha }
            func reject(_ p: DocumentProblem, key: String = "") {
                file.counts.rejected += 1
                run.rejects.add(file: job.display, line: p.line, key: key, reason: p.reason, message: p.reason.summary + ": " + p.message)
            }
            let doc: HealthDocument
            switch outcome.result {
            case .failure(let p): reject(p); return
            case .success(let d): doc = d
            }
            if case .transferIndex(let t) = doc {
                if t.kind == .index { file.declaredCount = t.count }
                file.counts.accepted += 1
                docKinds[doc.kind, default: 0] += 1
                return
            }
            let subject = doc.subject!
            let key = "\(subject.insurerNumber):\(subject.symbol):\(subject.number)"
            let person: UInt64
            switch MemberDirectory.keys(subject).flatMap({ directory.resolve($0, uploadedBy: file.source == .memberUpload ? file.uploader : nil) }) {
            case .failure(let p): reject(p, key: key); return
            case .success(let pid): person = pid
            }
            file.counts.accepted += 1
            docKinds[doc.kind, default: 0] += 1
            switch doc {
            case .checkup(let c):
                file.checkupDocuments += 1
                results += c.results.count
                checkups.add(RecordRows.checkup(c, person: person, source: file.source, file: job.display, items: items), file: job.display)
            case .costNotices(let n):
                for r in RecordRows.costNotices(n, person: person, source: file.source, file: job.display) { notices.add(r, file: job.display) }
            case .prescriptions(let p):
                for r in RecordRows.prescriptions(p, person: person, source: file.source, file: job.display) { prescriptions.add(r, file: job.display) }
            case .transferIndex: break
            }
        })

        for f in files {
            run.addInput(Manifest.Input(path: f.path, kind: f.kind, profile: nil, bytes: f.bytes, sha256: f.sha256, records: f.counts))
            if let declared = f.declaredCount, declared != f.checkupDocuments {
                Log.warning("import: \(f.path): the transfer index declares \(declared) records but the archive holds \(f.checkupDocuments) readable checkups")
                run.summary["transfer_index_mismatches", default: 0] += 1
            }
        }

        // Merge into the state and publish the full datasets and this run's changes.
        let stateDir = try run.beginStateGeneration()
        let changes = try CSVWriter(path: try run.outputPath("record_changes.csv"),
                                    header: ["kind", "record_id", "person_id", "change", "source", "source_file"])
        for stager in stagers {
            if stager.received == 0 {
                // Nothing of this kind arrived: the state's tables stay as they are (carried forward).
                for t in stager.kind.tables {
                    let path = stateDir + "/" + t.file
                    if !FileSystem.exists(path) { _ = try CSVWriter(path: path, header: t.header).close() }
                    run.addOutput(try FileSystem.linkOrCopy(try Self.describe(path), to: try run.outputPath(t.file)))
                }
                continue
            }
            var before: [String: String] = [:]
            for t in stager.kind.tables { before[t.file] = try run.stateFileForRewrite(t.file) }
            let merged = try stager.merge(previous: { before[$0] }, stateDir: stateDir, changes: changes)
            for out in merged.outputs {
                let name = (out.path as NSString).lastPathComponent
                run.addOutput(try FileSystem.linkOrCopy(out, to: try run.outputPath(name)))
            }
            let k = stager.kind.name
            for (change, n) in merged.changes where n > 0 { run.summary["\(k)_\(change.rawValue)"] = n }
            if stager.duplicatesInRun > 0 { run.summary["\(k)_duplicates_in_run"] = stager.duplicatesInRun }
            if stager.supersededInRun > 0 { run.summary["\(k)_superseded_in_run"] = stager.supersededInRun }
        }
        run.addOutput(try changes.close())
        for (k, n) in docKinds { run.summary["documents_\(k)"] = n }
        run.summary["documents_read"] = jobs.count
        run.summary["documents_rejected"] = files.reduce(0) { $0 + $1.counts.rejected }
        run.summary["checkup_results_read"] = results
        if !run.referenceTables.contains(where: { $0.name == "checkup-items" }) { run.referenceTables.append(items.manifestEntry) }
        Log.info("import: \(jobs.count) documents, \(run.summary["documents_rejected"]!) rejected; " +
                 RecordKind.all.map { k in "\(k.name) +\(run.summary["\(k.name)_added", default: 0]) ~\(run.summary["\(k.name)_replaced", default: 0])" }.joined(separator: ", "))
    }

    /// A manifest entry for an existing CSV table (rows counted, bytes hashed).
    static func describe(_ path: String) throws -> OutputFile {
        let digest = SHA256Digest()
        let r = try CSVReader(path: path, digest: digest)
        var rows = -1
        while try r.next() { rows += 1 }
        var st = stat()
        stat(path, &st)
        return OutputFile(path: path, rows: max(rows, 0), bytes: Int(st.st_size), sha256: digest.finalizeHex())
    }

    struct Outcome {
        var result: Result<HealthDocument, DocumentProblem>
        var sha256: String?
    }

    /// Reads one document on a worker thread.
    static func read(_ job: DocumentJob, files: [ImportFile], reader: HealthDocumentReader) -> Outcome {
        if let refused = job.refused { return Outcome(result: .failure(refused), sha256: nil) }
        let file = files[job.file]
        do {
            let upload = file.source == .memberUpload
            let tooLarge = DocumentProblem(.uploadTooLarge, "the document is larger than 10 MB once decompressed; a member upload may be at most 10 MB")
            func limited(_ s: ByteSource) -> ByteSource {
                upload ? LimitedByteSource(s, limit: ImportExpansion.uploadLimit, problem: tooLarge) : s
            }
            switch file.container {
            case .xml:
                let src = HashingByteSource(try FileByteSource(path: file.path))
                let r = reader.read(limited(src))
                return Outcome(result: r, sha256: src.digest.finalizeHex())
            case .gzip:
                return Outcome(result: reader.read(limited(try GzipByteSource(path: file.path, maxBytes: ImportExpansion.maxDecompressed))), sha256: nil)
            case .zip(let archive):
                return Outcome(result: reader.read(limited(try archive.open(job.entry!))), sha256: nil)
            }
        } catch let e as KenpoError {
            return Outcome(result: .failure(DocumentProblem(.archiveEntryRefused, e.description)), sha256: nil)
        } catch {
            return Outcome(result: .failure(DocumentProblem(.malformedXML, "\(error)")), sha256: nil)
        }
    }
}
