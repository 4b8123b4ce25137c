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

/// A code's keyed hash (HMAC-SHA256), its 32 bytes packed into four words: the ledger keeps one per
/// active code — a million and more — so not as a 64-character `String` (about 100 bytes each).
/// Words are big-endian, so `<` orders hashes as their bytes (and their hex) would.
struct PackedCodeHash: Hashable, Comparable {
    var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a code hash is 32 bytes")
        func word(_ k: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[k * 8 + $1]) } }
        (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3))
    }

    /// From the ledger's text: exactly 64 lower-case hex digits, as `hex` writes them; nil otherwise.
    init?(hex: UnsafeRawBufferPointer) {
        guard hex.count == 64,
              let a = Self.word(hex, 0), let b = Self.word(hex, 1), let c = Self.word(hex, 2), let d = Self.word(hex, 3) else { return nil }
        (w0, w1, w2, w3) = (a, b, c, d)
    }

    /// Word `k` of the hex text: its 16 digits as `StableHash.hex` writes an id.
    private static func word(_ hex: UnsafeRawBufferPointer, _ k: Int) -> UInt64? {
        StableHash.parseHex(bytes: UnsafeRawBufferPointer(rebasing: hex[(k * 16)..<(k * 16 + 16)]))
    }

    init?(hex: String) {
        var s = hex
        guard let h = s.withUTF8({ PackedCodeHash(hex: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = h
    }

    var hex: String { StableHash.hex(w0) + StableHash.hex(w1) + StableHash.hex(w2) + StableHash.hex(w3) }

    static func < (a: PackedCodeHash, b: PackedCodeHash) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }
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
/// Memory: the ledger grows by a row per postcard for as long as the service runs, so its rows are
/// never held. Opening it reads the file once and keeps only the active codes (person id and packed
/// hash, 40 bytes each, sorted); `write` reads it again, copying each row and rewriting the status of
/// the ones this version replaced, then appends the codes issued (about 150 bytes each while held).
/// The file it starts from must stay as it is until `write` (`Run.stateFileForRewrite` sees to that).
public final class CodeLedger {
    /// The version this one starts from (nil: none yet).
    private let basePath: String?
    private struct ActiveCode { var person: UInt64; var hash: PackedCodeHash }
    /// The base's active codes, sorted by person; and their hashes, sorted.
    private var baseActive: [ActiveCode] = []
    private var baseActiveHashes: [PackedCodeHash] = []
    private var baseCounts: [CodeStatus: Int] = [:]
    /// Base persons whose active code this version replaced → the issued code that replaced it.
    private var baseReplaced: [UInt64: Int32] = [:]
    /// Base hashes that are no longer active.
    private var freedBaseHashes: Set<PackedCodeHash> = []

    /// What the codes of one call to `issue` share (for a mailing batch: all of them).
    private struct IssueContext: Hashable {
        var keyFingerprint: String, generation: String, date: String, batchID: String
        var kind: Issue
    }
    private var contexts: [IssueContext] = []
    private var contextIndex: [IssueContext: Int32] = [:]
    private struct IssuedCode { var person: UInt64; var hash: PackedCodeHash; var context: Int32; var replacedBy: Int32 = -1 }
    /// Codes issued by this version, in issue order.
    private var issued: [IssuedCode] = []
    /// person → index in `issued` of the person's active code, and the active hashes among `issued`.
    private var activeIssued: [UInt64: Int32] = [:]
    private var issuedActiveHashes: Set<PackedCodeHash> = []
    /// Codes drawn again because their hash was already active (for the run summary).
    public private(set) var redraws = 0

    private init(basePath: String?) { self.basePath = basePath }

    /// An empty ledger.
    public convenience init() { self.init(basePath: nil) }

    /// Opens `access_codes.csv` (nil: no ledger yet), checking every row.
    public convenience init(path: String?) throws {
        self.init(basePath: path)
        guard let path else { return }
        let csv = try Self.open(path)
        while try csv.next() {
            let row = try Self.keyFields(csv, path)
            baseCounts[row.status, default: 0] += 1
            if row.status == .active { baseActive.append(ActiveCode(person: row.person, hash: row.hash)) }
        }
        baseActive.sort { $0.person < $1.person }
        baseActiveHashes = baseActive.map(\.hash)
        baseActiveHashes.sort()
        let twoForOnePerson = zip(baseActive, baseActive.dropFirst()).contains { $0.person == $1.person }
        let twoWithOneHash = zip(baseActiveHashes, baseActiveHashes.dropFirst()).contains { $0 == $1 }
        if twoForOnePerson || twoWithOneHash { try Self.refuseDuplicateActive(path) }
    }

    private static func open(_ path: String) throws -> CSVReader {
        let csv = try CSVReader(path: path)
        guard try csv.next() else { return csv }
        let header = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }
        guard header == CodeLedgerEntry.header else {
            throw KenpoError.input(path: path, line: 1, message: "the code ledger's header is not the one this kenpo version writes; the state generation is damaged or from another version")
        }
        return csv
    }

    /// The fields a ledger row is kept by, read as bytes; throws for a damaged row.
    private static func keyFields(_ csv: CSVReader, _ path: String) throws -> (person: UInt64, hash: PackedCodeHash, status: CodeStatus) {
        guard csv.malformed == nil, csv.fieldCount == CodeLedgerEntry.header.count,
              let person = csv.withField(0, StableHash.parseHex(bytes:)), let hash = csv.withField(1, { PackedCodeHash(hex: $0) }),
              let status = CodeStatus(rawValue: csv.withField(6) { String(decoding: $0, as: UTF8.self) }) else {
            throw KenpoError.input(path: path, line: csv.line, message: "the code ledger has a damaged row; restore the previous state generation")
        }
        return (person, hash, status)
    }

    /// Reads the file again to name the line of the second active code for one person or with one hash.
    private static func refuseDuplicateActive(_ path: String) throws -> Never {
        let csv = try open(path)
        var persons = Set<UInt64>(), hashes = Set<PackedCodeHash>()
        var line = 0
        while try csv.next() {
            let row = try keyFields(csv, path)
            if row.status == .active, !persons.insert(row.person).inserted || !hashes.insert(row.hash).inserted { line = csv.line; break }
        }
        throw KenpoError.input(path: path, line: line, message: "the code ledger holds two active codes with one hash or for one person; the state generation is damaged")
    }

    private func baseActiveHash(of person: UInt64) -> PackedCodeHash? {
        baseActive.sortedIndex(of: person, by: \.person).map { baseActive[$0].hash }
    }

    private func isActive(_ h: PackedCodeHash) -> Bool {
        if issuedActiveHashes.contains(h) { return true }
        return baseActiveHashes.sortedIndex(of: h) != nil && !freedBaseHashes.contains(h)
    }

    /// True when `hash` is the hash of an active code.
    public func isActive(hash: String) -> Bool { PackedCodeHash(hex: hash).map(isActive) ?? false }

    public var activeCount: Int { baseActive.count - baseReplaced.count + activeIssued.count }

    /// Why a code is being issued.
    public enum Issue: Hashable, Sendable {
        /// From an insurer mailing list: a previous active code becomes `superseded`.
        case mailing
        /// A reissue (再発行): a previous active code becomes `revoked` with the request's reason and ticket.
        case reissue(reason: String, ticket: String)

        /// What the person's previous active code becomes.
        var replacing: (status: CodeStatus, reason: String, ticket: String) {
            switch self {
            case .mailing: return (.superseded, "mailing", "")
            case .reissue(let reason, let ticket): return (.revoked, reason, ticket)
            }
        }

        /// The new code's own reason and ticket.
        var reason: String { if case .mailing = self { return "mailing" } else { return "reissue" } }
        var ticket: String { replacing.ticket }
    }

    /// Issues a new code to `person` (a person id of members.csv), updating the person's previous
    /// active code, and returns the code (the only place the plain code exists, for the print file)
    /// and the status the previous code was given (nil when there was none).
    public func issue(person: UInt64, kind: Issue, hasher: CodeHasher, generation: String, date: String, batchID: String,
                      draw: () -> AccessCode = { AccessCode.generate() }) -> (code: AccessCode, previous: CodeStatus?) {
        var code = draw()
        var hash = PackedCodeHash(bytes: hasher.hashBytes(code))
        while isActive(hash) {
            redraws += 1
            code = draw()
            hash = PackedCodeHash(bytes: hasher.hashBytes(code))
        }
        let context = IssueContext(keyFingerprint: hasher.key.fingerprint, generation: generation, date: date, batchID: batchID, kind: kind)
        let contextNumber: Int32
        if let n = contextIndex[context] { contextNumber = n } else {
            contextNumber = Int32(contexts.count)
            contexts.append(context)
            contextIndex[context] = contextNumber
        }
        let index = Int32(issued.count)
        var previous: CodeStatus?
        if let old = activeIssued[person] {
            issued[Int(old)].replacedBy = index
            issuedActiveHashes.remove(issued[Int(old)].hash)
            previous = kind.replacing.status
        } else if baseReplaced[person] == nil, let old = baseActiveHash(of: person) {
            baseReplaced[person] = index
            freedBaseHashes.insert(old)
            previous = kind.replacing.status
        }
        issued.append(IssuedCode(person: person, hash: hash, context: contextNumber))
        activeIssued[person] = index
        issuedActiveHashes.insert(hash)
        return (code, previous)
    }

    /// The new status, date, reason and ticket of a code that issued code `index` replaced.
    private func replacement(by index: Int32) -> (status: CodeStatus, changedDate: String, reason: String, ticket: String) {
        let c = contexts[Int(issued[Int(index)].context)]
        let r = c.kind.replacing
        return (r.status, c.date, r.reason, r.ticket)
    }

    private func entry(issued i: Int) -> CodeLedgerEntry {
        let code = issued[i]
        let c = contexts[Int(code.context)]
        var e = CodeLedgerEntry(personID: StableHash.hex(code.person), codeHash: code.hash.hex, keyFingerprint: c.keyFingerprint,
                                generation: c.generation, issuedDate: c.date, batchID: c.batchID, status: .active,
                                changedDate: c.date, reason: c.kind.reason, ticket: c.kind.ticket)
        if code.replacedBy >= 0 {
            let r = replacement(by: code.replacedBy)
            (e.status, e.changedDate, e.reason, e.ticket) = (r.status, r.changedDate, r.reason, r.ticket)
        }
        return e
    }

    /// Reads the base file row by row, with the new status, date, reason and ticket of each active
    /// row this version replaced (nil for a row kept as it is).
    private func forEachBaseRow(_ body: (CSVReader, (status: CodeStatus, changedDate: String, reason: String, ticket: String)?) throws -> Void) throws {
        guard let basePath else { return }
        let csv = try Self.open(basePath)
        while try csv.next() {
            let row = try Self.keyFields(csv, basePath)
            let by = row.status == .active ? baseReplaced[row.person] : nil
            try body(csv, by.map(replacement))
        }
    }

    /// Writes this version (owner-only, CRLF): the base's rows in their order, those this version
    /// replaced with their new status, then the codes issued, and returns its manifest entry.
    public func write(to path: String) throws -> OutputFile {
        let w = try CSVWriter(path: path, header: CodeLedgerEntry.header)
        try forEachBaseRow { csv, replaced in
            if let r = replaced {
                for i in 0..<6 { csv.withField(i) { w.field(bytes: $0) } }
                w.field(r.status.rawValue); w.field(r.changedDate); w.field(r.reason); w.field(r.ticket)
            } else {
                for i in 0..<csv.fieldCount { csv.withField(i) { w.field(bytes: $0) } }
            }
            w.endRow()
        }
        for i in issued.indices { w.row(entry(issued: i).fields) }
        return try w.close()
    }

    /// Every row of this version, as `write` would write them. Reads the base file: for tests and
    /// tools, not for a loop.
    public var entries: [CodeLedgerEntry] {
        get throws {
            var out: [CodeLedgerEntry] = []
            try forEachBaseRow { csv, replaced in
                // keyFields checked the row: ten fields and a known status.
                var e = CodeLedgerEntry(fields: (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) })!
                if let r = replaced { (e.status, e.changedDate, e.reason, e.ticket) = (r.status, r.changedDate, r.reason, r.ticket) }
                out.append(e)
            }
            for i in issued.indices { out.append(entry(issued: i)) }
            return out
        }
    }

    /// The person's active entry, if any (reads the base file when the code is the base's).
    public func activeEntry(person: UInt64) throws -> CodeLedgerEntry? {
        if let i = activeIssued[person] { return entry(issued: Int(i)) }
        guard baseReplaced[person] == nil, baseActiveHash(of: person) != nil else { return nil }
        return try entries.first { $0.status == .active && $0.personID == StableHash.hex(person) }
    }

    /// Counts by status, for the run summary.
    public var countsByStatus: [CodeStatus: Int] {
        var c = baseCounts
        for (_, by) in baseReplaced {
            c[.active, default: 0] -= 1
            c[replacement(by: by).status, default: 0] += 1
        }
        for code in issued {
            let status = code.replacedBy >= 0 ? replacement(by: code.replacedBy).status : .active
            c[status, default: 0] += 1
        }
        return c.filter { $0.value != 0 }
    }
}
