import Foundation

/// A small request CSV from the support desk or the member side (reissue, deletion, export
/// requests): UTF-8 (BOM accepted), a header naming the columns, read by name in any order; other
/// columns are ignored. The file is hashed as it is read, for the run's manifest.
final class RequestFile {
    let path: String
    /// Columns of the header row.
    let columns: Int
    private let csv: CSVReader
    private let digest: SHA256Digest
    /// Position of each wanted name in the header (-1: an optional column the header lacks).
    private let index: [Int]

    /// `kind` names the file in messages ("reissue request"); the first `required` of `names` must
    /// be in the header.
    init(path: String, kind: String, names: [String], required: Int) throws {
        self.path = path
        let digest = SHA256Digest()
        self.digest = digest
        let csv = try CSVReader(path: path, digest: digest)
        self.csv = csv
        let expected = names.joined(separator: ",")
        guard try csv.next(), csv.malformed == nil else {
            throw KenpoError.input(path: path, line: 1, message: "the \(kind) file is empty or its header is malformed; it needs the header \(expected)")
        }
        columns = csv.fieldCount
        let header = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased() }
        index = names.map { header.firstIndex(of: $0) ?? -1 }
        let missing = names.prefix(required).filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw KenpoError.input(path: path, line: 1, message: "the \(kind) header has no column \(missing.joined(separator: ", ")); expected \(expected)")
        }
    }

    /// Rows read after the header.
    private(set) var recordsRead = 0

    /// Moves to the next row; false at the end.
    func next() throws -> Bool {
        guard try csv.next() else { return false }
        recordsRead += 1
        return true
    }
    var line: Int { csv.line }
    var malformed: String? { csv.malformed }
    var fieldCount: Int { csv.fieldCount }

    /// The row's values in the order of `names`, trimmed ("" for a column the row or the header
    /// lacks), or why the row cannot be read (a malformed record, a field that is not UTF-8).
    func values() -> Result<[String], RequestFileProblem> {
        if let m = csv.malformed { return .failure(RequestFileProblem(reason: .malformedRecord, message: m)) }
        var v: [String] = []
        v.reserveCapacity(index.count)
        for i in index {
            guard i >= 0, i < csv.fieldCount else { v.append(""); continue }
            guard let s = String(validating: csv.fieldBytes(i), as: UTF8.self) else {
                return .failure(RequestFileProblem(reason: .encodingInvalid, message: "column \(i + 1) is not valid UTF-8"))
            }
            v.append(Normalise.trim(s))
        }
        return .success(v)
    }

    /// "4 columns, the header has 6".
    var columnCountMessage: String { "\(csv.fieldCount) columns, the header has \(columns)" }

    func finish() throws -> (bytes: Int, sha256: String) {
        try csv.drain()
        return (csv.bytesRead, digest.finalizeHex())
    }
}

struct RequestFileProblem: Error {
    var reason: RejectReason
    var message: String
}
