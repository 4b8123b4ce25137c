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
    private let file: RequestFile
    public var recordsRead: Int { file.recordsRead }

    public init(path: String) throws {
        self.path = path
        file = try RequestFile(path: path, kind: "export request", names: Self.names, required: Self.names.count)
    }

    public func next() throws -> Record? {
        guard try file.next() else { return nil }
        let line = file.line
        // A malformed record is named as such before its column count (values() would say so after it).
        if let m = file.malformed { return .rejected(.malformedRecord, m, line: line, key: "") }
        if file.fieldCount != file.columns { return .rejected(.columnCount, file.columnCountMessage, line: line, key: "") }
        let v: [String]
        switch file.values() {
        case .failure(let p): return .rejected(p.reason, p.message, line: line, key: "")
        case .success(let values): v = values
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

    public func finish() throws -> (bytes: Int, sha256: String) { try file.finish() }
}
