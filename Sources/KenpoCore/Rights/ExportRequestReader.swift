import Foundation

/// One export request (エクスポート依頼) from the member side or the support desk.
public struct ExportRequest: Equatable, Sendable {
    public var requestID: String
    public var personID: String
    public init(requestID: String, personID: String) { self.requestID = requestID; self.personID = personID }
}

/// Reads export requests: UTF-8 CSV (BOM accepted) with the header `request_id,person_id` (columns
/// found by name, others ignored), one request per row. A row that cannot be read is returned as
/// rejected with its reason; whether the person exists is the export's to decide (`PERSON_UNKNOWN`).
public final class ExportRequestReader {
    public enum Record: Equatable {
        case request(ExportRequest, line: Int)
        case rejected(RejectReason, String, line: Int, key: String)
    }

    static let names = ["request_id", "person_id"]
    public let path: String
    private let csv: CSVReader
    private let digest = SHA256Digest()
    private var index: [Int] = []
    private var columns = 0
    public private(set) var recordsRead = 0

    public init(path: String) throws {
        self.path = path
        csv = try CSVReader(path: path, digest: digest)
        guard try csv.next(), csv.malformed == nil else {
            throw KenpoError.input(path: path, line: 1, message: "the export request file is empty or its header is malformed; it needs the header request_id,person_id")
        }
        columns = csv.fieldCount
        let header = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased() }
        let missing = Self.names.filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw KenpoError.input(path: path, line: 1, message: "the export request header has no column \(missing.joined(separator: ", ")); expected request_id,person_id")
        }
        index = Self.names.map { header.firstIndex(of: $0)! }
    }

    public func next() throws -> Record? {
        guard try csv.next() else { return nil }
        recordsRead += 1
        let line = csv.line
        if let m = csv.malformed { return .rejected(.malformedRecord, m, line: line, key: "") }
        if csv.fieldCount != columns {
            return .rejected(.columnCount, "\(csv.fieldCount) columns, the header has \(columns)", line: line, key: "")
        }
        var v: [String] = []
        for i in index {
            guard let s = String(validating: csv.fieldBytes(i), as: UTF8.self) else {
                return .rejected(.encodingInvalid, "column \(i + 1) is not valid UTF-8", line: line, key: "")
            }
            v.append(Normalise.trim(s))
        }
        let key = "request:\(v[0]) person:\(v[1])"
        if v[0].isEmpty { return .rejected(.fieldMissing, "request_id is empty", line: line, key: key) }
        if v[1].isEmpty { return .rejected(.fieldMissing, "person_id is empty", line: line, key: key) }
        guard v[1].utf8.count == 16, StableHash.parseHex(v[1]) != nil else {
            return .rejected(.requestInvalid, "person_id '\(v[1])' is not a person id (16 hex digits, the person_id of members.csv)", line: line, key: key)
        }
        return .request(ExportRequest(requestID: v[0], personID: v[1].lowercased()), line: line)
    }

    /// Every record (for small request files).
    public func readAll() throws -> [Record] {
        var out: [Record] = []
        while let r = try next() { out.append(r) }
        return out
    }

    public func finish() throws -> (bytes: Int, sha256: String) {
        try csv.drain()
        return (csv.bytesRead, digest.finalizeHex())
    }
}
