import Foundation

/// Which member documents (Mynaportal pulls and member uploads) the state's records came from, and
/// which of them a member had deleted — so that a deletion is not undone by importing the same
/// documents again (an old inbox file read a second time).
///
/// A document is identified by the SHA-256 of its XML bytes as read by the import: a plain file as
/// it is, a gzip stream decompressed, a ZIP entry inflated. Two state files (UTF-8 CSV):
///
///     record_documents.csv     document_sha256, person_id, source, kind, run_id
///                              one row per accepted Mynaportal / member-upload document and person
///     deletion_tombstones.csv  document_sha256, person_id, request_id, run_id
///                              the documents of members who asked for their data to be deleted
///
/// Neither holds any record content: a hash, a person id, where the document came from.
/// Insurer documents are never listed and never refused by a tombstone.
public enum DocumentLedger {
    public static let ledgerFile = "record_documents.csv"
    public static let ledgerHeader = ["document_sha256", "person_id", "source", "kind", "run_id"]
    public static let tombstoneFile = "deletion_tombstones.csv"
    public static let tombstoneHeader = ["document_sha256", "person_id", "request_id", "run_id"]

    /// The document hashes listed in column 0 of a state file (tombstones).
    static func hashes(in path: String?) throws -> Set<String> {
        guard let path else { return [] }
        var out = Set<String>()
        let r = try CSVReader(path: path)
        _ = try r.next()
        while try r.next() {
            guard r.malformed == nil, r.fieldCount >= 1 else {
                throw KenpoError.input(path: path, line: r.line, message: "damaged row; restore the previous state generation")
            }
            out.insert(String(decoding: r.fieldBytes(0), as: UTF8.self))
        }
        return out
    }
}

/// The import's side of the ledger: refuses tombstoned member documents and lists every accepted one.
/// The new ledger is written only when a member document was accepted (otherwise the previous
/// generation's file is carried forward untouched).
final class ImportDocumentBook {
    private let run: Run
    private let tombstones: Set<String>
    private var writer: CSVWriter?
    private var listed = Set<UInt64>()

    init(run: Run) throws {
        self.run = run
        tombstones = try DocumentLedger.hashes(in: run.currentStateFile(DocumentLedger.tombstoneFile))
    }

    var tombstoneCount: Int { tombstones.count }

    /// Whether a member document (not an insurer's) was deleted at the member's request.
    func isDeleted(_ sha256: String?, source: RecordSource) -> Bool {
        guard source != .insurer, let sha256 else { return false }
        return tombstones.contains(sha256)
    }

    /// Lists an accepted member document (insurer documents are not listed).
    func record(sha256: String?, person: UInt64, source: RecordSource, kind: String) throws {
        guard source != .insurer, let sha256 else { return }
        if writer == nil { try open() }
        let key = StableHash.of([sha256, StableHash.hex(person)])
        guard listed.insert(key).inserted else { return }
        writer!.row([sha256, StableHash.hex(person), source.rawValue, kind, run.id])
    }

    private func open() throws {
        let stateDir = try run.beginStateGeneration()
        let previous = try run.stateFileForRewrite(DocumentLedger.ledgerFile)
        let w = try CSVWriter(path: stateDir + "/" + DocumentLedger.ledgerFile, header: DocumentLedger.ledgerHeader)
        if let previous {
            let r = try CSVReader(path: previous)
            _ = try r.next()
            while try r.next() {
                guard r.malformed == nil, r.fieldCount == DocumentLedger.ledgerHeader.count else {
                    throw KenpoError.input(path: previous, line: r.line, message: "damaged ledger row; restore the previous state generation")
                }
                let sha = String(decoding: r.fieldBytes(0), as: UTF8.self), pid = String(decoding: r.fieldBytes(1), as: UTF8.self)
                listed.insert(StableHash.of([sha, pid]))
                for f in 0..<r.fieldCount { r.withField(f) { w.field(bytes: $0) } }
                w.endRow()
            }
        }
        writer = w
    }

    /// Closes the new ledger, if one was started.
    func finish() throws {
        if let w = writer { _ = try w.close(); writer = nil }
    }
}
