import Foundation

/// Export requests in a run (the pipeline's `[export]` section): each request file's rows are read,
/// the persons exported from the run's current state (after this run's own deletions and imports)
/// into `outbox/<run>/exports/`, published with the run. A request for an unknown person or a row
/// that cannot be read is a reject; read = accepted + rejected per request file.
public final class ExportStage {
    let run: Run

    public init(run: Run) { self.run = run }

    public func process(_ requestFiles: [String]) throws {
        var requests: [(file: Int, line: Int, request: ExportRequest)] = []
        var counts: [Manifest.RecordCounts] = []
        var sums: [(bytes: Int, sha256: String)] = []
        for (fi, path) in requestFiles.enumerated() {
            let reader = try ExportRequestReader(path: path)
            var c = Manifest.RecordCounts()
            while let record = try reader.next() {
                c.read += 1
                switch record {
                case .rejected(let reason, let message, let line, let key):
                    c.rejected += 1
                    run.rejects.add(file: path, line: line, key: key, reason: reason, message: reason.summary + ": " + message)
                case .request(let r, let line):
                    requests.append((fi, line, r))
                }
            }
            counts.append(c)
            sums.append(try reader.finish())
        }
        let exporter = MemberExport(stateFile: { self.run.currentStateFile($0) }, generation: run.newGeneration ?? run.previousGeneration,
                                    exportDate: run.runDate)
        let folder = run.staging + "/exports"
        var exported = 0
        var files = Set<String>()
        for (req, outcome) in try exporter.export(requests: requests.map(\.request), to: folder) {
            let at = requests.first { $0.request == req }!
            CrashPoint.reach("export:person")
            run.progress.advance()
            switch outcome {
            case .exported(let r):
                counts[at.file].accepted += 1
                if files.insert(r.file.path).inserted {
                    run.addOutput(r.file)
                    exported += 1
                }
            case .refused(_, let reason, let message):
                counts[at.file].rejected += 1
                run.rejects.add(file: requestFiles[at.file], line: at.line, key: "request:\(req.requestID) person:\(req.personID)",
                                reason: reason, message: reason.summary + ": " + message)
            }
        }
        for (fi, path) in requestFiles.enumerated() {
            run.addInput(Manifest.Input(path: path, kind: "export_requests", profile: nil, bytes: sums[fi].bytes, sha256: sums[fi].sha256, records: counts[fi]))
        }
        run.summary["exports_written"] = exported
        Log.info("export: \(requests.count) requests, \(exported) export files")
    }
}
