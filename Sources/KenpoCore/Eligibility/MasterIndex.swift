import Foundation

/// Compact look-up of the previous member master: 64-bit stable hashes of each matching key to
/// the person id, so a million members cost tens of MB, not a copy of the master.
/// A key shared by two people is marked ambiguous and never used for matching.
final class MasterIndex {
    static let ambiguous = UInt64.max
    var byRef: [UInt64: UInt64] = [:]
    var byCardBranch: [UInt64: UInt64] = [:]
    var byCardKana: [UInt64: UInt64] = [:]
    var byCardBirth: [UInt64: UInt64] = [:]
    var byIdentity: [UInt64: UInt64] = [:]
    /// What tells two people apart even when a weak key matches: member reference and branch.
    var traits: [UInt64: PersonTraits] = [:]
    var count = 0

    func contains(_ pid: UInt64) -> Bool { traits[pid] != nil }

    private func insert(_ dict: inout [UInt64: UInt64], _ key: UInt64, _ pid: UInt64) {
        if let existing = dict[key], existing != pid { dict[key] = Self.ambiguous } else { dict[key] = pid }
    }

    func add(_ m: MemberRecord, pid: UInt64) {
        count += 1
        traits[pid] = PersonTraits(m)
        if !m.memberRef.isEmpty { insert(&byRef, Keys.ref(m.insurerNumber, m.memberRef), pid) }
        if !m.branch.isEmpty { insert(&byCardBranch, Keys.cardBranch(m), pid) }
        insert(&byCardKana, Keys.cardKana(m), pid)
        insert(&byCardBirth, Keys.cardBirth(m), pid)
        insert(&byIdentity, Keys.identity(m), pid)
    }

    /// The key hashes used both for the previous master and for this run's rows (`MatchKey`).
    enum Keys {
        /// `MatchKey.ref` of these values (an identity read from a rejected row, not a record).
        static func ref(_ insurer: String, _ ref: String) -> UInt64 {
            MatchKey.ref.hash { h, field in h.add(field == .insurerNumber ? insurer : ref) }
        }
        /// `MatchKey.card` of these values.
        static func card(_ insurer: String, _ symbolKey: String, _ numberKey: String) -> UInt64 {
            MatchKey.card.hash { h, field in h.add(field == .insurerNumber ? insurer : field == .symbolKey ? symbolKey : numberKey) }
        }
        static func cardBranch(_ m: MemberRecord) -> UInt64 { m.key(.cardBranch) }
        static func cardKana(_ m: MemberRecord) -> UInt64 { m.key(.cardKana) }
        static func cardBirth(_ m: MemberRecord) -> UInt64 { m.key(.cardBirth) }
        static func identity(_ m: MemberRecord) -> UInt64 { m.key(.identity) }
        static func sameCardPerson(_ m: MemberRecord) -> UInt64 { m.key(.sameCardPerson) }
    }
}

/// A person's member reference (hashed) and branch: two records whose references differ, or whose
/// branches on the same card differ, are never the same person, whatever else matches.
struct PersonTraits: Equatable {
    var ref: UInt64      // 0: no member reference
    var branch: UInt32   // 0: no branch; else the branch's value + 1

    init(_ m: MemberRecord) {
        ref = m.memberRef.isEmpty ? 0 : MasterIndex.Keys.ref(m.insurerNumber, m.memberRef) | 1
        branch = Normalise.withUTF8(m.branch) { Self.branch($0) }
    }

    /// A branch (枝番, normalised digits) as `branch` holds it: 0 when there is none, else its value
    /// + 1; `.max` when the digits do not fit (any value, even 4294967295: it may not trap, and such
    /// branches compare equal, which is as far as a conflict check needs them).
    static func branch(_ p: UnsafeBufferPointer<UInt8>) -> UInt32 {
        if p.isEmpty { return 0 }
        var v: UInt32 = 0
        for b in p {
            let d = b &- 0x30
            guard d <= 9 else { return .max }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt32(d))
            if o1 || o2 { return .max }
            v = s
        }
        return v == .max ? .max : v + 1
    }

    init(ref: UInt64, branch: UInt32) { self.ref = ref; self.branch = branch }

    func refConflicts(_ o: PersonTraits) -> Bool { ref != 0 && o.ref != 0 && ref != o.ref }
    func branchConflicts(_ o: PersonTraits) -> Bool { branch != 0 && o.branch != 0 && branch != o.branch }
}

/// Reads `members.csv` of a state generation in person-id order (the order kenpo writes it in).
final class MasterReader {
    private let csv: CSVReader
    private var lastID: UInt64?
    let path: String

    init(path: String) throws {
        self.path = path
        csv = try CSVReader(path: path)
        guard try csv.next() else { throw Self.empty(path) }
        try Self.checkHeader((0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }, path: path)
    }

    /// The next member with its numeric id; nil at the end.
    func next() throws -> (UInt64, MemberRecord)? {
        guard try csv.next() else { return nil }
        let fields = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }
        guard csv.malformed == nil, let m = MemberRecord(fields: fields), let id = StableHash.parseHex(m.personID) else {
            throw Self.damagedRow(path, line: csv.line)
        }
        try Self.checkOrder(id, after: &lastID, path: path, line: csv.line)
        return (id, m)
    }

    // The checks of a member master, shared with `MemberDirectory`'s byte loader (which reads the
    // master with `CSVRowReader`): the same refusals and messages either way.

    static func empty(_ path: String) -> KenpoError {
        .input(path: path, line: 1, message: "the member master is empty; the state generation is damaged")
    }

    static func checkHeader(_ header: [String], path: String) throws {
        guard header == MemberRecord.header else {
            throw KenpoError.input(path: path, line: 1, message: "the member master's header is not the one this kenpo version writes (\(KenpoVersion.current)); the state generation is from another version or damaged")
        }
    }

    static func damagedRow(_ path: String, line: Int) -> KenpoError {
        .input(path: path, line: line, message: "the member master has a damaged row; restore the previous state generation")
    }

    /// Person ids strictly ascending; `last` becomes `id`.
    static func checkOrder(_ id: UInt64, after last: inout UInt64?, path: String, line: Int) throws {
        if let l = last, id <= l {
            throw KenpoError.input(path: path, line: line, message: "the member master is not in person-id order; the state generation is damaged")
        }
        last = id
    }
}
