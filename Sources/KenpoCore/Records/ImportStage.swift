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
    /// Grades checkup results as they are stored (nil: the grade columns stay empty).
    public var grader: Grader?

    public init(run: Run, items: CheckupItems) {
        self.run = run
        self.items = items
    }

    public func process(_ inputs: [ImportInput]) throws {
        let (files, jobs) = try ImportExpansion.expand(inputs)
        let directory = try MemberDirectory(masterPath: run.currentStateFile("members.csv"))
        Log.info("import: \(jobs.count) documents in \(files.count) files; member master has \(directory.count) members")
        // Member documents deleted at the member's request are refused; accepted ones are listed (DocumentLedger).
        let book = try ImportDocumentBook(run: run)
        try FileSystem.makeDirectory(run.scratch)
        let stagers = try RecordKind.all.map { try RecordStager(kind: $0, scratch: run.scratch) }
        var docKinds: [String: Int] = [:]
        var results = 0
        let items = self.items
        let grader = self.grader
        var tally = GradeTally()

        // Workers parse, attach and build the records (the member directory is only read); the
        // consumer, in input order, keeps the books and stages the records.
        try OrderedParallelMap.run(count: jobs.count, workers: workers, makeWorker: {
            let reader = HealthDocumentReader()
            return { i in Self.prepare(Self.read(jobs[i], files: files, reader: reader), job: jobs[i], file: files[jobs[i].file], directory: directory, items: items, grader: grader) }
        }, consume: { i, outcome in
            let job = jobs[i]
            let file = files[job.file]
            CrashPoint.reach("import:document")
            run.progress.advance(records: 1, bytes: job.entry?.compressedSize ?? file.bytes)
            file.counts.read += 1
            // outcome.sha256 is the document's hash; for a plain XML file that is the file's too.
            if let sha = outcome.sha256, case .xml = file.container { file.sha256 = sha }
            switch outcome.prepared {
            case .failure(let p):
                file.counts.rejected += 1
                run.rejects.add(file: job.display, line: p.line, key: outcome.key, reason: p.reason, message: p.reason.summary + ": " + p.message)
            case .success(let prepared) where !prepared.records.isEmpty && book.isDeleted(outcome.sha256, source: file.source):
                file.counts.rejected += 1
                run.rejects.add(file: job.display, line: 0, key: outcome.key, reason: .deletedAtMemberRequest,
                                message: RejectReason.deletedAtMemberRequest.summary + ": this very document (SHA-256 \(outcome.sha256!.prefix(12))…) was deleted at the member's request; a new pull from Mynaportal is imported normally")
            case .success(let prepared):
                if let first = prepared.records.first {
                    try book.record(sha256: outcome.sha256, person: first.1.person, source: file.source, kind: prepared.kind)
                }
                file.counts.accepted += 1
                docKinds[prepared.kind, default: 0] += 1
                if let declared = prepared.declaredCount { file.declaredCount = declared }
                if prepared.kind == "checkup" { file.checkupDocuments += 1 }
                results += prepared.results
                tally.add(prepared.grades)
                for (k, r) in prepared.records { stagers[k].add(r, file: job.display) }
            }
        })
        try book.finish()

        for f in files {
            run.addInput(Manifest.Input(path: f.path, kind: f.kind, profile: nil, bytes: f.bytes, sha256: f.sha256, records: f.counts))
            if case .zip = f.container, let declared = f.declaredCount, declared != f.checkupDocuments {
                Log.warning("import: \(f.path): the transfer index declares \(declared) records but the archive holds \(f.checkupDocuments) readable checkups")
                run.summary["transfer_index_mismatches", default: 0] += 1
            }
        }

        // Merge into the state and publish the full datasets and this run's changes.
        CrashPoint.reach("import:merge")
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
        if let grader {
            tally.write(into: &run.summary)
            for t in GradingReference.manifestEntries(grader) where !run.referenceTables.contains(t) { run.referenceTables.append(t) }
            if tally.unknownUnits > 0 {
                Log.warning("import: \(tally.unknownUnits) results are in a unit no grading table or conversion knows; they are stored ungraded (grade_note says which)")
            }
        }
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

    /// A document made ready to stage: its records per kind (index into `RecordKind.all`).
    struct Prepared {
        var kind: String
        var declaredCount: Int?
        var results = 0
        var records: [(Int, StagedRecord)] = []
        var grades = GradeTally()
    }

    struct PreparedOutcome {
        var prepared: Result<Prepared, DocumentProblem>
        var sha256: String?
        var key = ""
    }

    /// Attaches a read document to its member and builds its records (on a worker thread).
    static func prepare(_ o: Outcome, job: DocumentJob, file: ImportFile, directory: MemberDirectory, items: CheckupItems, grader: Grader? = nil) -> PreparedOutcome {
        let doc: HealthDocument
        switch o.result {
        case .failure(let p): return PreparedOutcome(prepared: .failure(p), sha256: o.sha256)
        case .success(let d): doc = d
        }
        if case .transferIndex(let t) = doc {
            return PreparedOutcome(prepared: .success(Prepared(kind: doc.kind, declaredCount: t.kind == .index ? t.count : nil)), sha256: o.sha256)
        }
        let subject = doc.subject!
        let key = "\(subject.insurerNumber):\(subject.symbol):\(subject.number)"
        let person: UInt64
        switch MemberDirectory.keys(subject).flatMap({ directory.resolve($0, uploadedBy: file.source == .memberUpload ? file.uploader : nil) }) {
        case .failure(let p): return PreparedOutcome(prepared: .failure(p), sha256: o.sha256, key: key)
        case .success(let pid): person = pid
        }
        var p = Prepared(kind: doc.kind)
        switch doc {
        case .checkup(let c):
            p.results = c.results.count
            p.records = [(0, RecordRows.checkup(c, person: person, source: file.source, file: job.display, items: items,
                                                grading: grader.map { ($0, directory.sex(of: person)) }, tally: &p.grades))]
        case .costNotices(let n):
            p.records = RecordRows.costNotices(n, person: person, source: file.source, file: job.display).map { (1, $0) }
        case .prescriptions(let rx):
            p.records = RecordRows.prescriptions(rx, person: person, source: file.source, file: job.display).map { (2, $0) }
        case .transferIndex: break
        }
        return PreparedOutcome(prepared: .success(p), sha256: o.sha256, key: key)
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
                // Every document is hashed as read (decompressed), for the deletion tombstones.
                let src = HashingByteSource(try GzipByteSource(path: file.path, maxBytes: ImportExpansion.maxDecompressed))
                let r = reader.read(limited(src))
                return Outcome(result: r, sha256: src.digest.finalizeHex())
            case .zip(let archive):
                let src = HashingByteSource(try archive.open(job.entry!))
                let r = reader.read(limited(src))
                return Outcome(result: r, sha256: src.digest.finalizeHex())
            }
        } catch let e as KenpoError {
            return Outcome(result: .failure(DocumentProblem(.archiveEntryRefused, e.description)), sha256: nil)
        } catch {
            return Outcome(result: .failure(DocumentProblem(.malformedXML, "\(error)")), sha256: nil)
        }
    }
}
