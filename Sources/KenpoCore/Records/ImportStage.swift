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
        var i = 0
        try process(next: {
            guard i < inputs.count else { return nil }
            i += 1
            return inputs[i - 1]
        })
    }

    /// The inputs as `next` hands them over, one at a time (a pipeline's import reads them from a
    /// file: no list of every input is held).
    public func process(next: @escaping () throws -> ImportInput?) throws {
        let directory = try MemberDirectory(masterPath: run.currentStateFile("members.csv"))
        Log.info("import: member master has \(directory.count) members")
        // Member documents deleted at the member's request are refused; accepted ones are listed (DocumentLedger).
        let book = try ImportDocumentBook(run: run)
        try FileSystem.makeDirectory(run.scratch)
        let stagers = try RecordKind.all.map { try RecordStager(kind: $0, scratch: run.scratch) }
        var docKinds: [String: Int] = [:]
        var results = 0
        var documents = 0
        var rejected = 0
        let items = self.items
        let grader = self.grader
        let itemIndex = CheckupItemIndex(items)
        let rowDirectory = run.scratch + "/import-rows"
        let workerCount = max(1, workers)
        let contexts = try (0..<workerCount).map { try ImportWorker(rowDirectory: rowDirectory, number: $0, directory: directory) }
        let listing = ImportListing(next: next)

        // Workers parse, attach, grade and encode the records' rows (the member directory is only
        // read); the consumer, in input order, keeps the books and stages each record: its key and
        // its rows, written (and hashed) as the table will hold them.
        try OrderedParallelMap.run(workers: workerCount, next: { try listing.next() }, makeWorker: { w in
            let context = contexts[w]
            return { job in
                guard job.isDocument else { return PreparedOutcome(prepared: .failure(DocumentProblem(.malformedXML, "no document"))) }
                return Self.prepare(Self.read(job, reader: context.reader, streamingTo: context.records), job: job, directory: directory, items: itemIndex,
                                    grader: grader, book: book, context: context)
            }
        }, consume: { job, outcome in
            let file = job.file
            defer { if job.lastOfFile { self.finish(file) } }
            guard job.isDocument else { return }
            // A file that vanished, could not be read or changed while read is a failed input, not a
            // rejected document: the import fails on it (a pipeline step runs again without it).
            if let failure = outcome.failure { throw failure }
            CrashPoint.reach("import:document")
            run.progress.advance(records: 1, bytes: job.entry?.compressedSize ?? file.bytes)
            documents += 1
            file.counts.read += 1
            // outcome.sha256 is the document's hash; for a plain XML file (read to its end, rejected or
            // not) that is the file's too, and outcome.bytes its size as read.
            if let sha = outcome.sha256, case .xml = file.container, job.refused == nil {
                file.sha256 = sha
                if let n = outcome.bytes { file.bytes = n }
            }
            switch outcome.prepared {
            case .failure(let p):
                file.counts.rejected += 1
                rejected += 1
                run.rejects.add(file: job.display, line: p.line, key: outcome.key, reason: p.reason, message: p.reason.summary + ": " + p.message)
            case .success(let prepared) where prepared.deleted:
                file.counts.rejected += 1
                rejected += 1
                run.rejects.add(file: job.display, line: 0, key: outcome.key, reason: .deletedAtMemberRequest,
                                message: RejectReason.deletedAtMemberRequest.summary + ": this very document (SHA-256 \(outcome.sha256!.prefix(12))…) was deleted at the member's request; a new pull from Mynaportal is imported normally")
            case .success(let prepared):
                if let person = prepared.person {
                    try book.record(sha256: outcome.sha256, person: person, source: file.source, kind: prepared.kind)
                }
                file.counts.accepted += 1
                docKinds[prepared.kind, default: 0] += 1
                if let declared = prepared.declaredCount { file.declaredCount = declared }
                if prepared.kind == "checkup" { file.checkupDocuments += 1 }
                results += prepared.results
                // Each record's key, then its rows per table (encoded by the worker), in input order.
                try prepared.rows.forEach { part, key, bytes in
                    let stager = stagers[Int(part.kind)]
                    if let key { try stager.add(key, source: file.source, file: job.display) }
                    stager.addRows(table: Int(part.table), bytes, count: Int(part.rows))
                }
            }
        })
        try book.finish()
        var tally = GradeTally()
        // (A worker's overflow failure is not checked here: `prepare` hands it over with the document
        // that met it, and the consumer threw on it.)
        for c in contexts { tally.add(c.tally) }

        // Merge into the state and publish the full datasets and this run's changes.
        CrashPoint.reach("import:merge")
        let stateDir = try run.beginStateGeneration()
        let changes = try CSVWriter(path: try run.outputPath("record_changes.csv"),
                                    header: ["kind", "record_id", "person_id", "change", "source", "source_file"])
        for stager in stagers {
            if stager.received == 0 {
                stager.discard()
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
        FileSystem.removeTree(rowDirectory)
        for (k, n) in docKinds { run.summary["documents_\(k)"] = n }
        run.summary["documents_read"] = documents
        run.summary["documents_rejected"] = rejected
        run.summary["checkup_results_read"] = results
        if !run.referenceTables.contains(where: { $0.name == "checkup-items" }) { run.referenceTables.append(items.manifestEntry) }
        if let grader {
            tally.write(into: &run.summary)
            for t in GradingReference.manifestEntries(grader) where !run.referenceTables.contains(t) { run.referenceTables.append(t) }
            if tally.unknownUnits > 0 {
                Log.warning("import: \(tally.unknownUnits) results are in a unit no grading table or conversion knows; they are stored ungraded (grade_note says which)")
            }
        }
        Log.info("import: \(documents) documents, \(run.summary["documents_rejected"]!) rejected; " +
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
        /// Bytes hashed (a plain XML file: all of it).
        var bytes: Int? = nil
        /// The input could not be read (`KenpoError.io`): no document outcome at all.
        var failure: KenpoError? = nil
    }

    /// A file whose documents are all consumed: its manifest entry.
    private func finish(_ f: ImportFile) {
        run.addInput(Manifest.Input(path: f.path, kind: f.kind, profile: nil, bytes: f.bytes, sha256: f.sha256, records: f.counts))
        if case .zip = f.container, let declared = f.declaredCount, declared != f.checkupDocuments {
            Log.warning("import: \(f.path): the transfer index declares \(declared) records but the archive holds \(f.checkupDocuments) readable checkups")
            run.summary["transfer_index_mismatches", default: 0] += 1
        }
    }

    /// One worker's reader, overflow file, encoding buffers and grade counts.
    final class ImportWorker {
        let reader = HealthDocumentReader()
        let overflow: OverflowFile
        var tally = GradeTally()
        let head = RowEncoder(), body = RowEncoder()
        /// The notices and dispensings of the document being read, encoded as they are read.
        let records: StreamedRecords

        init(rowDirectory: String, number: Int, directory: MemberDirectory) throws {
            reader.compactCheckups = true
            try FileSystem.makeDirectory(rowDirectory)
            overflow = try OverflowFile(path: rowDirectory + "/overflow-w\(number)")
            records = StreamedRecords(directory: directory, overflow: overflow, rows: head)
        }
    }

    /// The import's `HealthRecordSink`: a document's notices and dispensings encoded into rows (and
    /// spooled with `DocumentRows`) as the reader hands them over, for the member its 被保険者 names,
    /// so no document holds its records. What was taken goes with the document if it is accepted
    /// (`handOver`), else it is dropped (`discard`).
    final class StreamedRecords: HealthRecordSink {
        private let directory: MemberDirectory
        private let overflow: OverflowFile
        private let encoder: RowEncoder
        private var file: ImportFile?
        private var display = ""
        /// The 被保険者 of the records taken, and the member it names (nil: nothing taken yet).
        private(set) var subject: DocumentSubject?
        private var person: Result<UInt64, DocumentProblem>?
        private var rows = DocumentRows()

        init(directory: MemberDirectory, overflow: OverflowFile, rows: RowEncoder) {
            self.directory = directory; self.overflow = overflow; self.encoder = rows
        }

        /// The next document, from `job`, is read.
        func begin(_ job: DocumentJob) {
            discard()
            file = job.file
            display = job.display
        }

        func take(_ notice: CostNotice, of subject: DocumentSubject) {
            guard let (pid, file) = member(subject) else { return }
            rows.add(notice, person: pid, source: file.source, file: display, encoder: encoder, overflowTo: overflow)
        }

        func take(_ dispensing: Dispensing, of subject: DocumentSubject) {
            guard let (pid, file) = member(subject) else { return }
            rows.add(dispensing, person: pid, source: file.source, file: display, encoder: encoder, overflowTo: overflow)
        }

        /// The member the records are for, resolved with the first one (nil: none; the document is
        /// then refused for it, once read, and nothing is encoded).
        private func member(_ s: DocumentSubject) -> (UInt64, ImportFile)? {
            guard let file else { return nil }
            if person == nil {
                subject = s
                person = ImportStage.resolve(s, file: file, directory: directory)
            }
            guard case .success(let pid) = person else { return nil }
            return (pid, file)
        }

        /// The member it resolved for `s`, if the records it took were for that 被保険者.
        func resolved(_ s: DocumentSubject) -> Result<UInt64, DocumentProblem>? { s == subject ? person : nil }

        /// The rows of the records taken (the document is accepted); the sink is empty after.
        func handOver() -> DocumentRows {
            defer { rows = DocumentRows(); subject = nil; person = nil }
            return rows
        }

        /// Drops whatever was taken (the document is refused, or read again).
        func discard() {
            rows.discard()
            subject = nil
            person = nil
        }
    }

    /// The member a document's subject names (a member upload: only the uploader).
    static func resolve(_ subject: DocumentSubject, file: ImportFile, directory: MemberDirectory) -> Result<UInt64, DocumentProblem> {
        MemberDirectory.keys(subject).flatMap { directory.resolve($0, uploadedBy: file.source == .memberUpload ? file.uploader : nil) }
    }

    /// A document made ready to stage: its records' keys and their encoded rows.
    struct Prepared {
        var kind: String
        var declaredCount: Int?
        var results = 0
        /// The member of the document's records (none: a transfer index or summary).
        var person: UInt64?
        var rows = DocumentRows()
        /// A member document deleted at the member's request (nothing of it is staged).
        var deleted = false
    }

    struct PreparedOutcome {
        var prepared: Result<Prepared, DocumentProblem>
        var sha256: String?
        var key = ""
        var bytes: Int? = nil
        var failure: KenpoError? = nil
    }

    /// Attaches a read document to its member, grades it and encodes its records' rows into the
    /// worker's spool (on a worker thread).
    static func prepare(_ o: Outcome, job: DocumentJob, directory: MemberDirectory, items: CheckupItemIndex, grader: Grader?,
                        book: ImportDocumentBook, context: ImportWorker) -> PreparedOutcome {
        var prepared = prepareDocument(o, job: job, directory: directory, items: items, grader: grader, book: book, context: context)
        context.records.discard()   // what it took, unless the document took it over
        prepared.bytes = o.bytes
        prepared.failure = o.failure ?? context.overflow.failure
        return prepared
    }

    private static func prepareDocument(_ o: Outcome, job: DocumentJob, directory: MemberDirectory, items: CheckupItemIndex, grader: Grader?,
                                        book: ImportDocumentBook, context: ImportWorker) -> PreparedOutcome {
        let file = job.file
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
        switch context.records.resolved(subject) ?? resolve(subject, file: file, directory: directory) {
        case .failure(let p): return PreparedOutcome(prepared: .failure(p), sha256: o.sha256, key: key)
        case .success(let pid): person = pid
        }
        var p = Prepared(kind: doc.kind, person: person)
        // Every checkup, notice and prescription document holds at least one record: a deleted one is
        // refused before anything of it is staged.
        if book.isDeleted(o.sha256, source: file.source) {
            p.deleted = true
            return PreparedOutcome(prepared: .success(p), sha256: o.sha256, key: key)
        }
        let overflow = context.overflow
        switch doc {
        case .checkup(let c):
            let format = context.reader.checkupFormat
            p.results = format.results.count
            let r = RecordRows.checkup(c, results: format.results, arena: format.arena, person: person, source: file.source, file: job.display,
                                       items: items, grading: grader.map { ($0, directory.sex(of: person)) }, tally: &context.tally,
                                       head: context.head, body: context.body)
            p.rows.add(kind: 0, table: 0, context.head, key: r, overflowTo: overflow)
            p.rows.add(kind: 0, table: 1, context.body, overflowTo: overflow)
        case .costNotices(let n):
            // The notices the reader handed over as it read them, then any the document holds.
            p.rows = context.records.handOver()
            for notice in n.notices {
                p.rows.add(notice, person: person, source: file.source, file: job.display, encoder: context.head, overflowTo: overflow)
            }
        case .prescriptions(let rx):
            p.rows = context.records.handOver()
            for dispensing in rx.dispensings {
                p.rows.add(dispensing, person: person, source: file.source, file: job.display, encoder: context.head, overflowTo: overflow)
            }
        case .transferIndex: break
        }
        return PreparedOutcome(prepared: .success(p), sha256: o.sha256, key: key)
    }

    /// Reads one document on a worker thread. A document is accepted only from a file that is still
    /// as it was listed and as it was opened (`InputFile`); one rejected for what was read stays
    /// rejected (it is not what was sent either way; a pipeline leaves a file that changed after
    /// it was hashed in the inbox). A plain XML file given up on part-way is read to its end, so the
    /// manifest carries the whole file's SHA-256.
    ///
    /// With `sink`, the reader hands it a cost notice's or prescription's records as it reads them.
    /// Should 被保険者 come again after records and name someone else, they went to the wrong member:
    /// the document is then read again, its records held by the document.
    static func read(_ job: DocumentJob, reader: HealthDocumentReader, streamingTo sink: StreamedRecords? = nil) -> Outcome {
        sink?.begin(job)
        reader.recordSink = sink
        defer { reader.recordSink = nil }
        let o = readDocument(job, reader: reader)
        guard let sink, let taken = sink.subject, case .success(let doc) = o.result, doc.subject != taken else { return o }
        sink.discard()
        reader.recordSink = nil
        return readDocument(job, reader: reader)
    }

    private static func readDocument(_ job: DocumentJob, reader: HealthDocumentReader) -> Outcome {
        if let refused = job.refused { return Outcome(result: .failure(refused), sha256: nil) }
        let file = job.file
        do {
            let upload = file.source == .memberUpload
            let tooLarge = DocumentProblem(.uploadTooLarge, "the document is larger than 10 MB once decompressed; a member upload may be at most 10 MB")
            func limited(_ s: ByteSource) -> ByteSource {
                upload ? LimitedByteSource(s, limit: ImportExpansion.uploadLimit, problem: tooLarge) : s
            }
            /// The file still as listed, once a document from it was read.
            func unchangedSinceListing() throws {
                if let listed = file.identity { try InputFile.checkUnchanged(path: file.path, since: listed) }
            }
            switch file.container {
            case .xml:
                // The descriptor the listing opened (so the file as listed), else the path again.
                let plain = try job.opened ?? FileByteSource(path: file.path)
                plain.rewind()   // a document read again (see `read`) starts over
                let src = HashingByteSource(plain)
                let r = try reader.document(from: limited(src))
                if case .failure = r {
                    try src.drain()
                    // Read through the listing's descriptor, a file deleted since still reads: gone,
                    // it is a failed input, never a rejected document (as when it could not be opened).
                    if job.opened != nil { _ = try InputFile.identity(of: file.path) }
                } else {
                    // One look at the path: still the file as listed (the descriptor read is that
                    // file, so the same inode, unchanged), and read to its end.
                    try InputFile.checkUnchanged(path: file.path, since: file.identity ?? plain.identity, bytesRead: plain.bytesRead)
                }
                return Outcome(result: r, sha256: src.digest.finalizeHex(), bytes: src.bytes)
            case .gzip:
                // Every document is hashed as read (decompressed), for the deletion tombstones.
                let src = HashingByteSource(try GzipByteSource(path: file.path, maxBytes: ImportExpansion.maxDecompressed))
                let r = try reader.document(from: limited(src))
                if case .success = r { try unchangedSinceListing() }
                return Outcome(result: r, sha256: src.digest.finalizeHex())
            case .zip(let archive):
                let src = HashingByteSource(try archive.open(job.entry!))
                let r = try reader.document(from: limited(src))
                if case .success = r { try unchangedSinceListing() }
                return Outcome(result: r, sha256: src.digest.finalizeHex())
            }
        } catch let e as KenpoError {
            if case .io = e { return Outcome(result: .failure(DocumentProblem(.archiveEntryRefused, e.description)), sha256: nil, failure: e) }
            return Outcome(result: .failure(DocumentProblem(.archiveEntryRefused, e.description)), sha256: nil)
        } catch let p as DocumentProblem {
            return Outcome(result: .failure(p), sha256: nil)
        } catch {
            return Outcome(result: .failure(DocumentProblem(.malformedXML, "\(error)")), sha256: nil)
        }
    }
}
