import Foundation

/// One roster file and the profile that says how to read it.
public struct RosterInput {
    public var profile: InsurerProfile
    public var path: String
    public init(profile: InsurerProfile, path: String) { self.profile = profile; self.path = path }
}

/// The eligibility stage (資格): insurer rosters → validated member master, change list, rejects.
///
/// Pass 1 streams every roster row: validate, de-duplicate, give it a person id (carried over from
/// the previous master where the person is recognised), and spill it to a bucket spool. Pass 2 walks
/// the buckets in person-id order beside the previous master (also in person-id order) and writes
/// the new master and the change list. Memory holds key hashes and one bucket, never the master.
public final class EligibilityStage {
    let run: Run
    private var previous = MasterIndex()
    private var seenRef: [UInt64: (Int, Int)] = [:]        // key → (input index, line)
    private var seenCardBranch: [UInt64: (Int, Int)] = [:]
    private var seenPerson: [UInt64: (Int, Int)] = [:]
    private var claimed: Set<UInt64> = []                   // person ids given out in this run
    private var protectedRefs: Set<UInt64> = []             // keys of rejected rows: those people are kept as they were
    private var protectedCards: Set<UInt64> = []
    private var unidentifiedRejects: [String: Int] = [:]    // insurer → rows rejected before they could be identified
    private var insurersInRun: Set<String> = []
    private var inputPaths: [String] = []

    public init(run: Run) { self.run = run }

    public func process(_ inputs: [RosterInput]) throws {
        let previousMaster = run.previousStateFile("members.csv")
        if let path = previousMaster {
            let reader = try MasterReader(path: path)
            while let (id, m) = try reader.next() { previous.add(m, pid: id) }
        }
        Log.info("eligibility: previous member master has \(previous.count) members")

        let spool = try BucketSpool(directory: run.scratch + "/members-spool")
        var scratch: [UInt8] = []
        var profilesSeen: [String: InsurerProfile] = [:]
        var handBacks: [String: InsurerRejectFile] = [:]
        inputPaths = inputs.map(\.path)

        for (inputIndex, input) in inputs.enumerated() {
            let profile = input.profile
            profilesSeen[profile.name] = profile
            if let n = profile.insurerNumber { insurersInRun.insert(n) }
            let reader = try RosterReader(profile: profile, path: input.path, runDate: run.runDate)
            if handBacks[profile.name] == nil {
                handBacks[profile.name] = try InsurerRejectFile(
                    path: try run.outputPath("insurers/\(profile.name)/rejects.csv"), profile: profile, header: reader.headerNames, headerRaw: reader.headerRaw)
            }
            let handBack = handBacks[profile.name]!
            var accepted = 0, rejected = 0
            var reasons: [String: Int] = [:]
            let fileName = input.path

            func reject(_ p: RowProblem, line: Int, key: String, raw: [[UInt8]]) {
                rejected += 1
                reasons[p.reason.rawValue, default: 0] += 1
                run.rejects.add(file: fileName, line: line, key: key, reason: p.reason, message: "\(p.reason.summary): \(p.detail)")
                handBack.add(file: (fileName as NSString).lastPathComponent, line: line, problem: p, columnName: p.field.flatMap { reader.columnLabel($0) }, raw: raw)
            }

            while let record = try reader.next() {
                switch record {
                case .rejected(let p, let line, let key, let raw):
                    protect(reader.bestEffortIdentity(), profile: profile)
                    reject(p, line: line, key: key, raw: raw)
                case .accepted(var row, let line):
                    if let earlier = duplicate(of: row.member, input: inputIndex, line: line) {
                        let p = RowProblem(reason: .duplicatePerson, field: nil, value: "",
                                           detail: "the same person as line \(earlier.1) of \(inputPaths[earlier.0])")
                        reject(p, line: line, key: Self.key(row.member), raw: reader.currentRawFields())
                        continue
                    }
                    insurersInRun.insert(row.member.insurerNumber)
                    let pid = resolvePersonID(row.member)
                    row.member.personID = StableHash.hex(pid)
                    try spool.append(id: pid, fields: row.member.fields, scratch: &scratch)
                    accepted += 1
                }
            }
            let (bytes, sha) = try reader.finish()
            if reader.recordsRead == 0 {
                throw KenpoError.input(path: input.path, line: nil, message: "the roster has no member rows; refusing to treat every member of \(profile.name) as having left. Check the hand-off (truncated file?)")
            }
            run.addInput(Manifest.Input(
                path: input.path, kind: "roster", profile: profile.name, bytes: bytes, sha256: sha,
                records: .init(read: reader.recordsRead, accepted: accepted, rejected: rejected)))
            let reasonText = reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            Log.info("eligibility: \(input.path): read \(reader.recordsRead), accepted \(accepted), rejected \(rejected)\(reasonText.isEmpty ? "" : " (\(reasonText))")")
        }
        for (name, file) in handBacks.sorted(by: { $0.key < $1.key }) {
            _ = name
            run.addOutput(try file.close())
        }
        for (insurer, n) in unidentifiedRejects.sorted(by: { $0.key < $1.key }) where n > 0 {
            Log.warning("eligibility: insurer \(insurer): \(n) rejected rows could not be identified; members missing from its roster are kept unchanged this run instead of being marked as left")
        }
        run.referenceTables = profilesSeen.values.sorted { $0.name < $1.name }.map {
            Manifest.ReferenceTable(name: "profile:\($0.name)", version: String($0.sha256.prefix(12)), path: $0.path, sha256: $0.sha256)
        }
        try merge(spool: spool, previousMaster: previousMaster)
    }

    static func key(_ m: MemberRecord) -> String {
        let card = [m.insurerNumber, m.symbol, m.number, m.branch].joined(separator: "/")
        return m.memberRef.isEmpty ? card : "\(card) ref:\(m.memberRef)"
    }

    /// Records keys of a rejected row so the person it probably is keeps their previous state.
    private func protect(_ identity: (insurer: String, symbolKey: String?, numberKey: String?, ref: String), profile: InsurerProfile) {
        let insurer = profile.insurerNumber ?? identity.insurer
        var identified = false
        if !identity.ref.isEmpty { protectedRefs.insert(MasterIndex.Keys.ref(insurer, identity.ref)); identified = true }
        if let s = identity.symbolKey, let n = identity.numberKey {
            protectedCards.insert(MasterIndex.Keys.card(insurer, s, n)); identified = true
        }
        if !identified { unidentifiedRejects[insurer, default: 0] += 1 }
    }

    private func duplicate(of m: MemberRecord, input: Int, line: Int) -> (Int, Int)? {
        let here = (input, line)
        if !m.memberRef.isEmpty {
            let k = MasterIndex.Keys.ref(m.insurerNumber, m.memberRef)
            if let e = seenRef[k] { return e }
            seenRef[k] = here
        }
        if !m.branch.isEmpty {
            let k = MasterIndex.Keys.cardBranch(m)
            if let e = seenCardBranch[k] { return e }
            seenCardBranch[k] = here
        }
        let k = MasterIndex.Keys.sameCardPerson(m)
        if let e = seenPerson[k] { return e }
        seenPerson[k] = here
        return nil
    }

    /// The person id: the previous master's id when the person is recognised (by the insurer's
    /// member reference, then by card and branch, card and kana name, card and birth date, and
    /// finally kana name and birth date within the insurer), else a new stable id.
    private func resolvePersonID(_ m: MemberRecord) -> UInt64 {
        var candidates: [UInt64?] = []
        if !m.memberRef.isEmpty { candidates.append(previous.byRef[MasterIndex.Keys.ref(m.insurerNumber, m.memberRef)]) }
        if !m.branch.isEmpty { candidates.append(previous.byCardBranch[MasterIndex.Keys.cardBranch(m)]) }
        candidates.append(previous.byCardKana[MasterIndex.Keys.cardKana(m)])
        candidates.append(previous.byCardBirth[MasterIndex.Keys.cardBirth(m)])
        candidates.append(previous.byIdentity[MasterIndex.Keys.identity(m)])
        for c in candidates {
            if let pid = c, pid != MasterIndex.ambiguous, !claimed.contains(pid) {
                claimed.insert(pid)
                return pid
            }
        }
        var pid = m.memberRef.isEmpty
            ? StableHash.of(["person", m.insurerNumber, m.symbolKey, m.numberKey, m.branch, m.kanaKey, m.birthDate])
            : StableHash.of(["person-ref", m.insurerNumber, m.memberRef])
        while pid == MasterIndex.ambiguous || claimed.contains(pid) || previous.personIDs.contains(pid) {
            pid = StableHash.of(["next", StableHash.hex(pid)])
        }
        claimed.insert(pid)
        return pid
    }

    private func isProtected(_ m: MemberRecord) -> Bool {
        (!m.memberRef.isEmpty && protectedRefs.contains(MasterIndex.Keys.ref(m.insurerNumber, m.memberRef)))
            || protectedCards.contains(MasterIndex.Keys.card(m.insurerNumber, m.symbolKey, m.numberKey))
    }

    /// Pass 2: new master in person-id order, beside the previous one, with the change list.
    private func merge(spool: BucketSpool, previousMaster: String?) throws {
        let stateDir = try run.beginStateGeneration()
        let stateMembers = try CSVWriter(path: stateDir + "/members.csv", header: MemberRecord.header)
        let changes = try CSVWriter(path: try run.outputPath("member_changes.csv"), header: MemberChange.header)
        let prevReader = try previousMaster.map { try MasterReader(path: $0) }
        var prev = try prevReader?.next()
        var counts: [String: Int] = [:]

        func write(_ m: MemberRecord) {
            let f = m.fields
            stateMembers.row(f)
            counts["members", default: 0] += 1
            counts["members_\(m.status.rawValue)", default: 0] += 1
        }
        func record(_ list: [MemberChange]) {
            for c in list {
                changes.row(c.fields)
                counts["change_\(c.change)", default: 0] += 1
            }
        }
        func previousOnly(_ p: MemberRecord) {
            let leaves = insurersInRun.contains(p.insurerNumber) && unidentifiedRejects[p.insurerNumber, default: 0] == 0
            if p.status != .left && leaves && !isProtected(p) {
                var q = p
                q.status = .left
                record([MemberChange(member: p, change: "left", before: p.status.rawValue, after: "left")])
                write(q)
            } else {
                if p.status != .left && leaves { counts["kept_because_row_rejected", default: 0] += 1 }
                write(p)
            }
        }

        for bucket in 0..<BucketSpool.bucketCount {
            for (id, fields) in try spool.sortedBucket(bucket) {
                guard let m = MemberRecord(fields: fields) else { throw KenpoError.invariant("spooled member record damaged") }
                while let (pid, p) = prev, pid < id {
                    previousOnly(p)
                    prev = try prevReader?.next()
                }
                if let (pid, p) = prev, pid == id {
                    record(MemberChange.between(p, m))
                    prev = try prevReader?.next()
                } else {
                    record([MemberChange(member: m, change: "joined", before: "", after: m.status.rawValue)])
                }
                write(m)
            }
        }
        while let (_, p) = prev {
            previousOnly(p)
            prev = try prevReader?.next()
        }
        // The published copy shares the state file's bytes (a hard link: both are immutable once written).
        run.addOutput(try FileSystem.linkOrCopy(try stateMembers.close(), to: try run.outputPath("members.csv")))
        run.addOutput(try changes.close())
        for (k, v) in counts { run.summary[k] = v }
        Log.info("eligibility: member master now has \(counts["members", default: 0]) members; changes: " +
                 counts.filter { $0.key.hasPrefix("change_") }.sorted { $0.key < $1.key }.map { "\($0.key.dropFirst(7)) \($0.value)" }.joined(separator: ", "))
    }
}

/// One row of `member_changes.csv`.
public struct MemberChange: Equatable {
    public static let header = ["person_id", "insurer_number", "change", "before", "after"]
    public var personID: String
    public var insurerNumber: String
    /// joined, left, rejoined, card_changed, name_changed, address_changed, birth_date_corrected,
    /// sex_corrected, relationship_changed, qualification_changed, status_changed, reference_changed.
    public var change: String
    public var before: String
    public var after: String

    init(member: MemberRecord, change: String, before: String, after: String) {
        personID = member.personID; insurerNumber = member.insurerNumber
        self.change = change; self.before = before; self.after = after
    }

    var fields: [String] { [personID, insurerNumber, change, before, after] }

    /// The changes from one day's record of a person to the next, in a fixed order.
    static func between(_ p: MemberRecord, _ n: MemberRecord) -> [MemberChange] {
        var out: [MemberChange] = []
        func add(_ change: String, _ before: String, _ after: String) {
            out.append(MemberChange(member: n, change: change, before: before, after: after))
        }
        if p.status == .left { add("rejoined", "left", n.status.rawValue) }
        let card = { (m: MemberRecord) in "\(m.symbol)/\(m.number)/\(m.branch)" }
        if card(p) != card(n) || p.cardAliases != n.cardAliases {
            add("card_changed", card(p) + (p.cardAliases.contains(";") ? " (\(p.cardAliases))" : ""),
                card(n) + (n.cardAliases.contains(";") ? " (\(n.cardAliases))" : ""))
        }
        if p.kanaName != n.kanaName || p.kanjiName != n.kanjiName {
            add("name_changed", "\(p.kanaName) \(p.kanjiName)", "\(n.kanaName) \(n.kanjiName)")
        }
        if p.postalCode != n.postalCode || p.address != n.address {
            add("address_changed", "\(p.postalCode) \(p.address)", "\(n.postalCode) \(n.address)")
        }
        if p.birthDate != n.birthDate { add("birth_date_corrected", p.birthDate, n.birthDate) }
        if p.sex != n.sex { add("sex_corrected", p.sex, n.sex) }
        if p.relationship != n.relationship || p.specialRetiree != n.specialRetiree {
            let r = { (m: MemberRecord) in m.relationship + (m.specialRetiree ? " special_retiree" : "") }
            add("relationship_changed", r(p), r(n))
        }
        if p.qualifiedDate != n.qualifiedDate || p.disqualifiedDate != n.disqualifiedDate {
            add("qualification_changed", "\(p.qualifiedDate)..\(p.disqualifiedDate)", "\(n.qualifiedDate)..\(n.disqualifiedDate)")
        }
        if p.status != n.status && p.status != .left { add("status_changed", p.status.rawValue, n.status.rawValue) }
        if p.memberRef != n.memberRef { add("reference_changed", p.memberRef, n.memberRef) }
        return out
    }
}
