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
    private let csv: CSVReader
    private let digest = SHA256Digest()
    private var index: [Int] = []
    private var columns = 0
    public private(set) var recordsRead = 0

    public init(path: String) throws {
        self.path = path
        csv = try CSVReader(path: path, digest: digest)
        guard try csv.next(), csv.malformed == nil else {
            throw KenpoError.input(path: path, line: 1, message: "the reissue request file is empty or its header is malformed; it needs the header person_id,ticket,reason,postal_code,address1,address2")
        }
        columns = csv.fieldCount
        let header = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased() }
        index = Self.names.map { header.firstIndex(of: $0) ?? -1 }
        let missing = Self.names.prefix(3).filter { header.firstIndex(of: $0) == nil }
        if !missing.isEmpty {
            throw KenpoError.input(path: path, line: 1, message: "the reissue request header has no column \(missing.joined(separator: ", ")); expected person_id,ticket,reason,postal_code,address1,address2")
        }
    }

    public func next() throws -> Record? {
        guard try csv.next() else { return nil }
        recordsRead += 1
        let line = csv.line
        if let m = csv.malformed { return .rejected(.malformedRecord, m, line: line, key: "") }
        var v: [String] = []
        for i in index {
            guard i >= 0, i < csv.fieldCount else { v.append(""); continue }
            guard let s = String(validating: csv.fieldBytes(i), as: UTF8.self) else {
                return .rejected(.encodingInvalid, "column \(i + 1) is not valid UTF-8", line: line, key: "")
            }
            v.append(Normalise.trim(s))
        }
        let key = "person:\(v[0]) ticket:\(v[1])"
        if csv.fieldCount < columns { return .rejected(.columnCount, "\(csv.fieldCount) columns, the header has \(columns)", line: line, key: key) }
        return .request(ReissueRequest(personID: v[0], ticket: v[1], reason: v[2], postalCode: v[3], address1: v[4], address2: v[5]),
                        line: line, key: key)
    }

    public func finish() throws -> (bytes: Int, sha256: String) {
        try csv.drain()
        return (csv.bytesRead, digest.finalizeHex())
    }
}
