import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The archive (`<archive>/<run date>/<run id>/<path>`, where `kenpo run` moves committed inputs)
/// under retention and deletion.
///
/// - **Retention.** A run date folder more than `[retention] days` before the run's date is removed
///   with everything in it, like state generations and outbox runs: the archive keeps the inputs of
///   the retention window only. The folder's name is the date (the machine clock is not trusted);
///   a folder whose name is not a date is kept and named in the log.
/// - **Deletion (取得データ削除).** A member's own documents are removed from the archive with their
///   records: member uploads by their folder (`import/<person-id>/`), Mynaportal pulls by the
///   SHA-256 of their document (a pull is one person's file; plain or gzip). Which archived file
///   came from which input is in the state's `committed_inputs.csv` (`archived_to`). An insurer's
///   file holds many members and is not edited: it stays until retention removes it.
public enum ArchivePurge {
    /// Removes every `<folder>/<date>/` whose date lies more than `days` days before `runDate`.
    /// Returns the date folders removed.
    @discardableResult
    public static func prune(folder: String, retentionDays days: Int, runDate: CalendarDate) -> [String] {
        let cutoff = DataFolder.retentionCutoff(days: days, runDate: runDate)
        var removed: [String] = []
        for name in FileSystem.listDirectory(folder).sorted() {
            let path = folder + "/" + name
            guard FileSystem.isDirectory(path), !InputFile.isSymbolicLink(path) else { continue }
            guard let date = CalendarDate(iso: name) else {
                Log.warning("retention: archive folder \(path) is not named by a run date; it is kept")
                continue
            }
            if date.daysSinceEpoch < cutoff {
                FileSystem.removeTree(path)
                removed.append(name)
            }
        }
        if !removed.isEmpty {
            FileSystem.syncDirectory(folder)
            Log.info("retention (\(days) days before \(runDate.iso)): removed \(removed.count) archive date folders from \(folder) (\(removed.joined(separator: ", ")))")
        }
        return removed
    }

    /// An archived member document removed for a deletion, and whose it was.
    public struct Removed: Equatable {
        public var path: String
        public var person: UInt64
    }

    /// Removes from the archive every file committed by a run (`committedInputs`: the state's
    /// `committed_inputs.csv`) that is a document of one of `persons`: a member upload in
    /// `import/<person-id>/` of theirs, or a Mynaportal file whose document hash is one of
    /// `documents` (the ledger's hashes of their documents). Insurer files are never touched.
    static func removeMemberDocuments(committedInputs: String?, persons: Set<UInt64>,
                                      documents: [(sha256: String, person: UInt64)]) throws -> [Removed] {
        let owner = Dictionary(documents.map { ($0.sha256, $0.person) }, uniquingKeysWith: { a, _ in a })
        var removed: [Removed] = []
        // One decision per archived file: two rows naming one destination (two paths below the root
        // that map to one place) must not let the second remove what the first kept (an insurer file).
        var seen = Set<String>()
        try CommittedLedger(path: committedInputs).forEach { c in
            guard let archived = c.archivedTo, seen.insert(archived).inserted else { return }
            // Whose document, from the ledger alone first (insurer rows stop here, without a stat); a
            // gzip pull is read only when its file hash is not a document's (documentHash opens regular
            // files only, so a FIFO or link put there is not read).
            let person: UInt64?
            switch ImportFile.source(for: c.path) {
            case (.memberUpload, let folder?):
                person = StableHash.parseHex(folder).flatMap { persons.contains($0) ? $0 : nil }
            case (.mynaportal, _):
                // The committed hash is the file's; the ledger's is the document's (gzip: inflated).
                person = owner[c.sha256] ?? (try? documentHash(archived)).flatMap { owner[$0] }
            default:
                person = nil
            }
            guard let person, InputFile.isRegular(archived) else { return }
            guard unlink(archived) == 0 else {
                throw KenpoError.io(path: archived, message: "cannot remove the deleted member's archived document: \(String(cString: strerror(errno))); remove it by hand")
            }
            FileSystem.syncDirectory((archived as NSString).deletingLastPathComponent)
            removed.append(Removed(path: archived, person: person))
        }
        return removed
    }

    /// After a `kenpo run` whose delete step ran: its inputs were moved to the archive after the
    /// deletion, so a document of a member deleted in the same run (imported earlier that night) is
    /// removed now, by the tombstones that run wrote (`state`: the published state folder).
    @discardableResult
    static func removeDocumentsDeleted(byRun runId: String, state: String) throws -> [Removed] {
        let tombstones = state + "/" + DocumentLedger.tombstoneFile
        guard FileSystem.exists(tombstones) else { return [] }
        var documents: [(sha256: String, person: UInt64)] = []
        let r = try CSVReader(path: tombstones)
        _ = try r.next()
        while try r.next() {
            guard r.malformed == nil, r.fieldCount >= 4 else { continue }
            let field = { (i: Int) in String(decoding: r.fieldBytes(i), as: UTF8.self) }
            guard field(3) == runId, let person = StableHash.parseHex(field(1)) else { continue }
            documents.append((field(0), person))
        }
        guard !documents.isEmpty else { return [] }
        let removed = try removeMemberDocuments(committedInputs: state + "/" + PipelineRun.committedInputsFile,
                                                persons: Set(documents.map(\.person)), documents: documents)
        if !removed.isEmpty { Log.info("archive: removed \(removed.count) documents of members deleted by run \(runId)") }
        return removed
    }

    /// The SHA-256 of the document in a gzip file (its inflated bytes), as the import ledger records
    /// it, inflated under the import's own limit; nil for anything else (a plain file's document hash
    /// is its own) and for a file that cannot be read.
    static func documentHash(_ path: String) throws -> String? {
        guard GzipByteSource.looksLikeGzip(path: path) else { return nil }
        let source = try GzipByteSource(path: path, maxBytes: ImportExpansion.maxDecompressed)
        let digest = SHA256Digest()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if got == 0 { break }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
        }
        return digest.finalizeHex()
    }
}
