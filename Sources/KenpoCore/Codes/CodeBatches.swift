import Foundation

/// One published batch of postcards (はがき発行バッチ): a mailing list or a set of reissue requests,
/// the run that published it, its print file and its sequence-number range.
public struct CodeBatch: Equatable, Sendable {
    public static let header = ["batch_id", "kind", "run_id", "print_file", "issued_date", "postcards", "first_sequence", "last_sequence"]
    /// SHA-256 over the batch kind and the SHA-256 of every input file (`CodeBatches.batchID`).
    public var batchID: String
    /// `mailing` or `reissue`.
    public var kind: String
    public var runID: String
    /// The print file, relative to the run's outbox folder.
    public var printFile: String
    public var issuedDate: String
    public var postcards: Int
    /// 0 when the batch printed nothing.
    public var firstSequence: Int
    public var lastSequence: Int

    public var fields: [String] {
        [batchID, kind, runID, printFile, issuedDate, String(postcards), String(firstSequence), String(lastSequence)]
    }

    public init(batchID: String, kind: String, runID: String, printFile: String, issuedDate: String,
                postcards: Int, firstSequence: Int, lastSequence: Int) {
        self.batchID = batchID; self.kind = kind; self.runID = runID; self.printFile = printFile
        self.issuedDate = issuedDate; self.postcards = postcards
        self.firstSequence = firstSequence; self.lastSequence = lastSequence
    }
}

/// The state file `code_batches.csv`: every batch ever published, so that a rerun of the same batch
/// issues nothing, and the postcard sequence counter, so that the vendor never sees a number twice
/// (the next number is one more than the highest `last_sequence`).
public struct CodeBatches {
    public static let fileName = "code_batches.csv"
    public private(set) var batches: [CodeBatch] = []

    public init() {}

    public init(path: String?) throws {
        guard let path else { return }
        let csv = try CSVReader(path: path)
        guard try csv.next() else { return }
        while try csv.next() {
            let f = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }
            guard csv.malformed == nil, f.count == CodeBatch.header.count, let n = Int(f[5]), let first = Int(f[6]), let last = Int(f[7]) else {
                throw KenpoError.input(path: path, line: csv.line, message: "the batch list has a damaged row; restore the previous state generation")
            }
            batches.append(CodeBatch(batchID: f[0], kind: f[1], runID: f[2], printFile: f[3], issuedDate: f[4],
                                     postcards: n, firstSequence: first, lastSequence: last))
        }
    }

    /// The batch already published with this id, if any.
    public func find(_ batchID: String) -> CodeBatch? { batches.first { $0.batchID == batchID } }

    /// The next postcard sequence number.
    public var nextSequence: Int { (batches.map(\.lastSequence).max() ?? 0) + 1 }

    public mutating func add(_ b: CodeBatch) { batches.append(b) }

    public func write(to path: String) throws -> OutputFile {
        let w = try CSVWriter(path: path, header: CodeBatch.header)
        for b in batches { w.row(b.fields) }
        return try w.close()
    }

    /// The id of a batch: SHA-256 of `kind`, then for each input in order its SHA-256, one per line.
    /// The same files handed over again give the same id, whatever they are called.
    public static func batchID(kind: String, inputSHA256s: [String]) -> String {
        SHA256Digest.hex(of: ([kind] + inputSHA256s).joined(separator: "\n"))
    }
}

/// A batch that a published run already issued: nothing is issued again.
public struct BatchAlreadyIssued: Error, CustomStringConvertible {
    public let batch: CodeBatch
    public let printFilePath: String
    public var description: String {
        "batch already issued in run \(batch.runID): print file at \(printFilePath) (\(batch.postcards) postcards, sequence \(batch.firstSequence)–\(batch.lastSequence)); no new codes issued"
    }
}
