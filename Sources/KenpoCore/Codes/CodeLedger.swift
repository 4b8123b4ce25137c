import Foundation

/// Status of one checkup-viewing code (健診閲覧コード) in the ledger.
public enum CodeStatus: String, Sendable {
    /// The newest code of the person: the web side accepts it.
    case active
    /// Replaced by a newer postcard from a mailing list (only the newest postcard works).
    case superseded
    /// Stopped on request (lost postcard, 再発行): a reissue revokes the previous code.
    case revoked
}

/// One row of the code ledger (閲覧コード台帳), `access_codes.csv`. Holds the code's keyed hash only,
/// never the code.
public struct CodeLedgerEntry: Equatable, Sendable {
    public static let header = ["person_id", "code_hash", "key_fingerprint", "generation", "issued_date",
                                "batch_id", "status", "changed_date", "reason", "ticket"]
    public var personID: String
    /// Lower-case hex HMAC-SHA256(key, compact code).
    public var codeHash: String
    /// `CodeKey.fingerprint` of the key the hash was made under.
    public var keyFingerprint: String
    /// The state generation that issued the code.
    public var generation: String
    public var issuedDate: String
    /// The batch (mailing list or reissue requests) that issued it.
    public var batchID: String
    public var status: CodeStatus
    /// When the status last changed (the issue date for an active code).
    public var changedDate: String
    /// Why the status changed: `mailing`, `reissue`, or for a revoked code the support desk's reason.
    public var reason: String
    /// Support-desk ticket(s) of a reissue, `;`-separated.
    public var ticket: String

    public var fields: [String] {
        [personID, codeHash, keyFingerprint, generation, issuedDate, batchID, status.rawValue, changedDate, reason, ticket]
    }

    public init(personID: String, codeHash: String, keyFingerprint: String, generation: String, issuedDate: String,
                batchID: String, status: CodeStatus, changedDate: String, reason: String, ticket: String) {
        self.personID = personID; self.codeHash = codeHash; self.keyFingerprint = keyFingerprint
        self.generation = generation; self.issuedDate = issuedDate; self.batchID = batchID
        self.status = status; self.changedDate = changedDate; self.reason = reason; self.ticket = ticket
    }

    init?(fields f: [String]) {
        guard f.count == Self.header.count, let status = CodeStatus(rawValue: f[6]) else { return nil }
        self.init(personID: f[0], codeHash: f[1], keyFingerprint: f[2], generation: f[3], issuedDate: f[4],
                  batchID: f[5], status: status, changedDate: f[7], reason: f[8], ticket: f[9])
    }
}

/// The code ledger (閲覧コード台帳): every code ever issued, as its HMAC, with its status.
///
/// Rules:
/// - A person has at most one active code. Issuing a new code changes the person's active code to
///   `superseded` (a mailing) or `revoked` (a reissue) in the same ledger version.
/// - No two active codes are equal: a newly drawn code whose hash equals any active hash is thrown
///   away and drawn again.
/// - Plain codes never enter the ledger; `issue` hands the code back to the caller (the print file).
///
/// The ledger is held in memory (a hash and a few short strings per code).
public final class CodeLedger {
    public private(set) var entries: [CodeLedgerEntry] = []
    /// active hash → entry index.
    private var activeByHash: [String: Int] = [:]
    /// person id → index of the person's active entry.
    private var activeByPerson: [String: Int] = [:]
    /// Codes drawn again because their hash was already active (for the run summary).
    public private(set) var redraws = 0

    public init() {}

    /// Reads `access_codes.csv` (nil: no ledger yet).
    public convenience init(path: String?) throws {
        self.init()
        guard let path else { return }
        let csv = try CSVReader(path: path)
        guard try csv.next() else { return }
        let header = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }
        guard header == CodeLedgerEntry.header else {
            throw KenpoError.input(path: path, line: 1, message: "the code ledger's header is not the one this kenpo version writes; the state generation is damaged or from another version")
        }
        while try csv.next() {
            let f = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }
            guard csv.malformed == nil, let e = CodeLedgerEntry(fields: f) else {
                throw KenpoError.input(path: path, line: csv.line, message: "the code ledger has a damaged row; restore the previous state generation")
            }
            try append(e, path: path, line: csv.line)
        }
    }

    private func append(_ e: CodeLedgerEntry, path: String, line: Int) throws {
        if e.status == .active {
            if activeByHash[e.codeHash] != nil || activeByPerson[e.personID] != nil {
                throw KenpoError.input(path: path, line: line, message: "the code ledger holds two active codes with one hash or for one person; the state generation is damaged")
            }
            activeByHash[e.codeHash] = entries.count
            activeByPerson[e.personID] = entries.count
        }
        entries.append(e)
    }

    /// The person's active entry, if any.
    public func activeEntry(person: String) -> CodeLedgerEntry? { activeByPerson[person].map { entries[$0] } }

    /// True when `hash` is the hash of an active code.
    public func isActive(hash: String) -> Bool { activeByHash[hash] != nil }

    public var activeCount: Int { activeByHash.count }

    /// Why a code is being issued.
    public enum Issue: Sendable {
        /// From an insurer mailing list: a previous active code becomes `superseded`.
        case mailing
        /// A reissue (再発行): a previous active code becomes `revoked` with the request's reason and ticket.
        case reissue(reason: String, ticket: String)
    }

    /// Issues a new code to `person`, updating the person's previous active code, and returns the
    /// code (the only place the plain code exists, for the print file) and the status the previous
    /// code was given (nil when there was none).
    public func issue(person: String, kind: Issue, hasher: CodeHasher, generation: String, date: String, batchID: String,
                      draw: () -> AccessCode = { AccessCode.generate() }) -> (code: AccessCode, previous: CodeStatus?) {
        var code = draw()
        var hash = hasher.hash(code)
        while activeByHash[hash] != nil {
            redraws += 1
            code = draw()
            hash = hasher.hash(code)
        }
        var previous: CodeStatus?
        let (status, reason, ticket): (CodeStatus, String, String)
        switch kind {
        case .mailing: (status, reason, ticket) = (.superseded, "mailing", "")
        case .reissue(let r, let t): (status, reason, ticket) = (.revoked, r, t)
        }
        if let old = activeByPerson[person] {
            entries[old].status = status
            entries[old].changedDate = date
            entries[old].reason = reason
            entries[old].ticket = ticket
            activeByHash[entries[old].codeHash] = nil
            previous = status
        }
        let entry = CodeLedgerEntry(personID: person, codeHash: hash, keyFingerprint: hasher.key.fingerprint,
                                    generation: generation, issuedDate: date, batchID: batchID, status: .active,
                                    changedDate: date, reason: { if case .mailing = kind { return "mailing" } else { return "reissue" } }(),
                                    ticket: ticket)
        activeByHash[hash] = entries.count
        activeByPerson[person] = entries.count
        entries.append(entry)
        return (code, previous)
    }

    /// Writes the ledger (owner-only, CRLF) and returns its manifest entry.
    public func write(to path: String) throws -> OutputFile {
        let w = try CSVWriter(path: path, header: CodeLedgerEntry.header)
        for e in entries { w.row(e.fields) }
        return try w.close()
    }

    /// Counts by status, for the run summary.
    public var countsByStatus: [CodeStatus: Int] {
        var c: [CodeStatus: Int] = [:]
        for e in entries { c[e.status, default: 0] += 1 }
        return c
    }
}
