import Foundation

/// One support-desk deletion request (取得データ削除): a member asked for everything pulled from
/// Mynaportal (and everything they uploaded) to be deleted.
public struct DeletionRequest: Sendable, Equatable {
    /// The support desk's id of the request; appears in the audit (deletions.csv), never twice.
    public var requestID: String
    public var personID: UInt64
    /// When the member asked, as given (`YYYY-MM-DD` or an ISO 8601 date-time).
    public var requestedAt: String
    public init(requestID: String, personID: UInt64, requestedAt: String) {
        self.requestID = requestID; self.personID = personID; self.requestedAt = requestedAt
    }
}

/// Reads deletion requests: UTF-8 CSV (BOM accepted, CRLF or LF) with a header naming at least
/// `request_id,person_id,requested_at` (columns found by name, in any order; other columns are
/// ignored). Format: pipelines/formats/README.md, "Deletion requests".
public final class DeletionRequestReader {
    public enum Record {
        case request(DeletionRequest, line: Int, key: String)
        case rejected(RejectReason, String, line: Int, key: String)
    }

    public static let names = ["request_id", "person_id", "requested_at"]
    public let path: String
    private let file: RequestFile

    public init(path: String) throws {
        self.path = path
        file = try RequestFile(path: path, kind: "deletion request", names: Self.names, required: Self.names.count)
    }

    public func next() throws -> Record? {
        guard try file.next() else { return nil }
        let line = file.line
        let v: [String]
        switch file.values() {
        case .failure(let p): return .rejected(p.reason, p.message, line: line, key: "")
        case .success(let values): v = values
        }
        let key = "request:\(v[0]) person:\(v[1])"
        if file.fieldCount < file.columns { return .rejected(.columnCount, file.columnCountMessage, line: line, key: key) }
        if let problem = Self.requestIDProblem(v[0]) { return .rejected(.deletionRequestInvalid, problem, line: line, key: key) }
        let hexDigits = v[1].utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
        guard hexDigits, v[1].utf8.count == 16, let pid = StableHash.parseHex(v[1].lowercased()) else {
            return .rejected(.deletionRequestInvalid, "person_id '\(v[1])' must be a kenpo person id (16 hex digits, as in members.csv)", line: line, key: key)
        }
        guard Self.isRequestTime(v[2]) else {
            return .rejected(.deletionRequestInvalid, "requested_at '\(v[2])' must be a date (2026-11-21) or an ISO 8601 date-time (2026-11-21T09:30:00+09:00)", line: line, key: key)
        }
        return .request(DeletionRequest(requestID: v[0], personID: pid, requestedAt: v[2]), line: line, key: key)
    }

    /// Request ids: 1–64 characters, ASCII letters, digits and - _ . : / #.
    static func requestIDProblem(_ id: String) -> String? {
        if id.isEmpty { return "request_id is empty; every request needs the support desk's id" }
        let ok = id.utf8.count <= 64 && id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "-_.:/#".utf8.contains(b)
        }
        return ok ? nil : "request_id '\(id)' may hold only ASCII letters, digits and - _ . : / # (at most 64)"
    }

    /// `YYYY-MM-DD`, optionally followed by `T` or a space and a time.
    static func isRequestTime(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 10, CalendarDate(iso: String(decoding: u[0..<10], as: UTF8.self)) != nil else { return false }
        return u.count == 10 || u[10] == 0x54 || u[10] == 0x20
    }

    public func finish() throws -> (bytes: Int, sha256: String) { try file.finish() }
}
