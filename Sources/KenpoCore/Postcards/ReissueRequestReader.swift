import Foundation

/// One support-desk reissue request (再発行依頼).
public struct ReissueRequest: Sendable {
    public var personID = ""
    public var ticket = ""
    public var reason = ""
    /// Optional new address; both empty: the member master's address is used.
    public var postalCode = ""
    public var address1 = ""
    public var address2 = ""
}

/// Reads the support desk's reissue requests: UTF-8 CSV (BOM accepted) with the header
/// `person_id,ticket,reason,postal_code,address1,address2` (columns found by name; the address
/// columns may be absent).
public final class ReissueRequestReader {
    public enum Record {
        case request(ReissueRequest, line: Int, key: String)
        case rejected(RejectReason, String, line: Int, key: String)
    }

    static let names = ["person_id", "ticket", "reason", "postal_code", "address1", "address2"]
    public let path: String
    private let file: RequestFile
    public var recordsRead: Int { file.recordsRead }

    public init(path: String) throws {
        self.path = path
        file = try RequestFile(path: path, kind: "reissue request", names: Self.names, required: 3)
    }

    public func next() throws -> Record? {
        guard try file.next() else { return nil }
        let line = file.line
        let v: [String]
        switch file.values() {
        case .failure(let p): return .rejected(p.reason, p.message, line: line, key: "")
        case .success(let values): v = values
        }
        // Quoted as read, control characters shown escaped (a key is shown to people).
        let key = "person:\(ControlCharacters.escaped(v[0])) ticket:\(ControlCharacters.escaped(v[1]))"
        if file.fieldCount < file.columns { return .rejected(.columnCount, file.columnCountMessage, line: line, key: key) }
        return .request(ReissueRequest(personID: v[0], ticket: v[1], reason: v[2], postalCode: v[3], address1: v[4], address2: v[5]),
                        line: line, key: key)
    }

    public func finish() throws -> (bytes: Int, sha256: String) { try file.finish() }
}
