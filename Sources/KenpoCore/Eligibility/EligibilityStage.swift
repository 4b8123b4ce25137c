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
    // key hash → where it was first seen, packed as input index << 40 | line (8 bytes, not a tuple's 16:
    // these tables are the stage's main memory and cache cost at a million rows).
    private var seenRef = SeenKeys()
    private var seenCardBranch = SeenKeys()
    private var seenPerson = SeenKeys()
    private var claimed: Set<UInt64> = []                   // person ids given out in this run
    private var protectedRefs: Set<UInt64> = []             // keys of rejected rows: those people are kept as they were
    private var protectedCards: Set<UInt64> = []
    private var unidentifiedRejects: [String: Int] = [:]    // insurer → rows rejected before they could be identified
    private var insurersInRun: Set<String> = []
    private var insurersInFile: Set<String> = []
    private var unidentifiedInFile = 0
    /// Rows of the current file whose insurer number is readable and another insurer's than the profile's.
    private var foreignInFile = 0
    /// Insurers with a file sent under their profile that is mostly another insurer's rows (a
    /// misdirected hand-off): such a file is no snapshot of the insurer, so nobody of it leaves this run.
    private var misdirected: Set<String> = []
    private var inputPaths: [String] = []
    /// What goes back to each insurer (返戻); written at the end of `process` unless the caller gave it.
    public let handBack: InsurerHandBack
    private let ownsHandBack: Bool
    /// Insurer number → the profile whose roster holds it, for the per-insurer change counts.
    private var profileByInsurer: [String: InsurerProfile] = [:]
    /// Profiles whose short roster the operator confirmed (`--confirm-short-roster`): applied even if
    /// RosterSizeCheck finds it under half the insurer's previous members.
    public var confirmedShortRosters: Set<String> = []
    /// Insurer number → members of the previous master still on its roster (status other than left).
    private var previousPresent: [String: Int] = [:]
    /// Insurer number → rows this run's rosters hold for it (rejected ones included), and the profiles
    /// of the files they came from (RosterSizeCheck).
    private var rowsByInsurer: [String: Int] = [:]
    private var rosterProfilesByInsurer: [String: Set<String>] = [:]
    /// Insurers whose roster is held back this run: none of its rows are applied, its members are kept.
    private(set) public var heldBackInsurers: Set<String> = []
    /// Roster files holding rows of a held-back insurer: not committed (they stay in the inbox).
    private(set) public var heldBackPaths: Set<String> = []
    private var heldBackKeys: Set<UInt64> = []

    /// One roster file's books, settled once RosterSizeCheck has decided which rosters are held back.
    private struct FileBooks {
        var input: RosterInput
        var bytes: Int
        var sha256: String
        var read: Int
        var accepted: Int
        var rejected: Int
        var reasons: [String: Int]
        /// Accepted rows per insurer number.
        var acceptedByInsurer: [String: Int]
        /// Lines rejected after the reader accepted them (duplicates): not accepted, so never held back.
        var duplicateLines: Set<Int>
    }

    /// `handBack`: a collector shared with later stages of the same run, written by the caller before
    /// the run publishes; nil: the stage keeps its own and writes it at the end of `process`.
    public init(run: Run, handBack: InsurerHandBack? = nil) {
        self.run = run
        self.handBack = handBack ?? InsurerHandBack(run: run)
        self.ownsHandBack = handBack == nil
    }

    public func process(_ inputs: [RosterInput]) throws {
        // The master as this run has it so far: an earlier step's (a pipeline that retried without a
        // failing roster), else the previous generation's. Moved aside if staged, so it stays readable.
        let previousMaster = try run.stateFileForRewrite("members.csv")
        if let path = previousMaster {
            let reader = try MasterReader(path: path)
            while let (id, m) = try reader.next() {
                previous.add(m, pid: id)
                if m.status != .left { previousPresent[m.insurerNumber, default: 0] += 1 }
            }
        }
        Log.info("eligibility: previous member master has \(previous.count) members")

        let spool = try BucketSpool(directory: run.scratch + "/members-spool")
        let pending = try PendingSpool(path: run.scratch + "/pending-matches")
        var scratch: [UInt8] = []
        /// Gives the member its id and spills its members.csv row to the bucket spool.
        func spoolMember(_ member: MemberRecord, id: UInt64) throws {
            var m = member
            m.personID = StableHash.hex(id)
            scratch.removeAll(keepingCapacity: true)
            m.encodeCSV(into: &scratch)
            try scratch.withUnsafeBytes { try spool.append(id: id, tag: m.status.code, payload: $0) }
        }
        /// The same for a roster row, straight from its bytes into the spool's buffer.
        func spoolMember(_ row: MemberRow, id: UInt64) throws {
            try spool.append(id: id, tag: row.status.code) { row.encodeCSV(personID: id, into: &$0) }
        }
        var profilesSeen: [String: InsurerProfile] = [:]
        inputPaths = inputs.map(\.path)
        var books: [FileBooks] = []

        for (inputIndex, input) in inputs.enumerated() {
            let profile = input.profile
            profilesSeen[profile.name] = profile
            if let n = profile.insurerNumber {
                insurersInRun.insert(n)
                if profileByInsurer[n] == nil { profileByInsurer[n] = profile }
            }
            let reader = try RosterReader(profile: profile, path: input.path, runDate: run.runDate)
            // Size the duplicate indexes once (a roster row is rarely shorter than 100 bytes) instead of rehashing as they grow.
            if let size = try? FileManager.default.attributesOfItem(atPath: input.path)[.size] as? Int {
                let rows = size / 100
                seenPerson.reserveCapacity(seenPerson.count + rows)
                seenCardBranch.reserveCapacity(seenCardBranch.count + rows)
                if profile.columns[.memberRef] != nil { seenRef.reserveCapacity(seenRef.count + rows) }
            }
            handBack.source(profile, header: reader.headerRaw)
            var accepted = 0, rejected = 0
            insurersInFile = profile.insurerNumber.map { [$0] } ?? []
            var lastInsurer = ""
            unidentifiedInFile = 0
            foreignInFile = 0
            var reasons: [String: Int] = [:]
            let fileName = input.path
            // Rows per insurer (RosterSizeCheck). Accepted rows are counted per run of one insurer (a
            // roster holds one) rather than by a string-keyed increment per row.
            var acceptedByInsurer: [String: Int] = [:]
            var lastInsurerBytes: [UInt8] = []
            var rowsOfInsurer: [String: Int] = [:]
            var unattributedRows = 0
            var acceptedRun = 0
            var duplicateLines: Set<Int> = []

            func reject(_ p: RowProblem, line: Int, key: String, raw: [[UInt8]]) throws {
                rejected += 1
                reasons[p.reason.rawValue, default: 0] += 1
                run.rejects.add(file: fileName, line: line, key: key, reason: p.reason, message: "\(p.reason.summary): \(p.detail)")
                // The insurer reads the detail in Japanese: its own column name and the value as read.
                let detail = p.japaneseDetail
                    ?? p.field.flatMap { reader.columnLabel($0) }.map { InsurerHandBack.fieldDetail(column: $0, value: p.value) }
                    ?? p.detail
                try handBack.reject(profile, file: fileName, line: line, reason: p.reason, field: p.field, detail: detail, raw: raw)
            }

            var progressBytes = 0
            while let record = try reader.next() {
                CrashPoint.reach("eligibility:row")
                run.progress.advance(records: 1, bytes: reader.bytesRead - progressBytes)
                progressBytes = reader.bytesRead
                switch record {
                case .rejected(let p, let line, let key, let raw):
                    let identity = reader.bestEffortIdentity()
                    protect(identity, profile: profile)
                    let insurer = profile.insurerNumber ?? identity.insurer
                    if Self.isForeign(identity.insurer, profile: profile) {
                        foreignInFile += 1   // says nothing about this insurer's roster being whole
                    } else if insurer.isEmpty { unattributedRows += 1 } else { rowsOfInsurer[insurer, default: 0] += 1 }
                    try reject(p, line: line, key: key, raw: raw)
                case .accepted(let acceptedRow, let line):
                    // The row's keys are hashed and its CSV row written from its bytes (MemberRow).
                    let row = acceptedRow.normalised
                    if let earlier = duplicate(of: row, input: inputIndex, line: line) {
                        let p = RowProblem(reason: .duplicatePerson, field: nil, value: "",
                                           detail: "the same person as line \(earlier.1) of \(inputPaths[earlier.0])",
                                           japaneseDetail: "\((inputPaths[earlier.0] as NSString).lastPathComponent) の\(earlier.1)行目と同じ方です")
                        let m = row.record
                        try reject(p, line: line, key: RecordKey.format(m.insurerNumber, m.symbol, m.number, m.branch, ref: m.memberRef),
                               raw: reader.currentRawFields())
                        rowsOfInsurer[m.insurerNumber, default: 0] += 1
                        duplicateLines.insert(line)
                        continue
                    }
                    if !row.field(.insurerNumber, equals: lastInsurerBytes) {  // rosters hold one insurer: skip the set most of the time
                        if acceptedRun > 0 { acceptedByInsurer[lastInsurer, default: 0] += acceptedRun; acceptedRun = 0 }
                        lastInsurer = row.string(.insurerNumber)
                        lastInsurerBytes = Array(lastInsurer.utf8)
                        insurersInRun.insert(lastInsurer)
                        insurersInFile.insert(lastInsurer)
                        if profileByInsurer[lastInsurer] == nil { profileByInsurer[lastInsurer] = profile }
                    }
                    let traits = previous.count > 0 ? row.traits : PersonTraits(ref: 0, branch: 0)
                    let strong = strongMatch(row, traits)
                    if strong == nil, let weak = weakCandidates(row) {
                        // Decided after every strong match (below); the id is filled in then.
                        scratch.removeAll(keepingCapacity: true)
                        row.encodeCSV(personID: nil, into: &scratch)
                        try pending.append(candidates: weak, traits: traits, row: scratch)
                    } else {
                        try spoolMember(row, id: strong ?? newPersonID(row))
                    }
                    accepted += 1
                    acceptedRun += 1
                }
            }
            if acceptedRun > 0 { acceptedByInsurer[lastInsurer, default: 0] += acceptedRun }
            for (insurer, n) in acceptedByInsurer { rowsOfInsurer[insurer, default: 0] += n }
            // A row whose insurer cannot be read counts for every insurer of its file.
            for insurer in insurersInFile {
                rowsOfInsurer[insurer, default: 0] += unattributedRows
                rosterProfilesByInsurer[insurer, default: []].insert(profile.name)
            }
            for (insurer, n) in rowsOfInsurer { rowsByInsurer[insurer, default: 0] += n }
            if unidentifiedInFile > 0 {
                // A row nobody can identify might be anyone this file lists: nobody of its insurers leaves this run.
                for i in insurersInFile { unidentifiedRejects[i, default: 0] += unidentifiedInFile }
            }
            let (bytes, sha) = try reader.finish()
            if let own = profile.insurerNumber, Self.isMisdirected(foreignRows: foreignInFile, rows: reader.recordsRead) {
                misdirected.insert(own)
                Log.warning("eligibility: \(input.path): \(foreignInFile) of its \(reader.recordsRead) rows are another insurer's (INSURER_MISMATCH), not \(own)'s (profile \(profile.name)): a misdirected hand-off? It is not applied as \(own)'s roster: nobody of \(own) is marked as left this run")
            }
            if reader.recordsRead == 0 {
                throw KenpoError.input(path: input.path, line: nil, message: "the roster has no member rows; refusing to treat every member of \(profile.name) as having left. Check the hand-off (truncated file?)")
            }
            books.append(FileBooks(input: input, bytes: bytes, sha256: sha, read: reader.recordsRead, accepted: accepted, rejected: rejected,
                                   reasons: reasons, acceptedByInsurer: acceptedByInsurer, duplicateLines: duplicateLines))
        }
        try holdBackShortRosters(&books)
        for b in books {
            let profile = b.input.profile
            run.addInput(Manifest.Input(
                path: b.input.path, kind: "roster", profile: profile.name, bytes: b.bytes, sha256: b.sha256,
                records: .init(read: b.read, accepted: b.accepted, rejected: b.rejected)))
            handBack.add(.rosterRowsRead, b.read, for: profile)
            handBack.add(.rosterRowsAccepted, b.accepted, for: profile)
            handBack.add(.rosterRowsRejected, b.rejected, for: profile)
            let reasonText = b.reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            Log.info("eligibility: \(b.input.path): read \(b.read), accepted \(b.accepted), rejected \(b.rejected)\(reasonText.isEmpty ? "" : " (\(reasonText))")")
        }
        for (insurer, n) in unidentifiedRejects.sorted(by: { $0.key < $1.key }) where n > 0 {
            Log.warning("eligibility: insurer \(insurer): \(n) rejected rows could not be identified; members missing from its roster are kept unchanged this run instead of being marked as left")
        }
        // Rows that only a weak key may tie to a previous person, now that strong keys have claimed theirs.
        try pending.forEach { candidates, traits, row in
            guard let m = MemberRecord(fields: row.withUnsafeBytes { CSVLine.parse($0) }) else {
                throw KenpoError.invariant("pending member record damaged")
            }
            if heldBackInsurers.contains(m.insurerNumber) { return }  // held back: not applied
            try spoolMember(m, id: resolveWeak(candidates, traits) ?? newPersonID(m))
        }
        try spool.finishWriting()
        run.referenceTables = profilesSeen.values.sorted { $0.name < $1.name }.map {
            Manifest.ReferenceTable(name: "profile:\($0.name)", version: String($0.sha256.prefix(12)), path: $0.path, sha256: $0.sha256)
        }
        try merge(spool: spool, previousMaster: previousMaster)
        if ownsHandBack { try handBack.write() }
    }

    /// RosterSizeCheck per insurer of the run: a roster under half the insurer's previous members is
    /// held back unless confirmed. Its accepted rows become ROSTER_HELD_BACK rejects (the file is read
    /// again for their lines and raw fields: a held-back roster is short, so that costs little); pass 2
    /// then applies none of its rows and keeps every member of the insurer as they were.
    private func holdBackShortRosters(_ books: inout [FileBooks]) throws {
        var messages: [String: (english: String, japanese: String)] = [:]
        for insurer in insurersInRun.sorted() {
            let profiles = rosterProfilesByInsurer[insurer, default: []].sorted()
            let check = RosterSizeCheck(previousMembers: previousPresent[insurer, default: 0], rows: rowsByInsurer[insurer, default: 0],
                                        confirmed: !profiles.isEmpty && !confirmedShortRosters.isDisjoint(with: profiles))
            switch check.verdict {
            case .apply: break
            case .applyConfirmed:
                Log.warning("eligibility: " + check.confirmedMessage(insurer: insurer, profiles: profiles))
            case .heldBack:
                heldBackInsurers.insert(insurer)
                heldBackKeys.insert(Self.insurerKey(insurer.utf8))
                let english = check.heldBackMessage(insurer: insurer, profiles: profiles)
                messages[insurer] = (english, check.heldBackJapanese)
                Log.warning("eligibility: ROSTER HELD BACK: " + english)
            }
        }
        guard !heldBackInsurers.isEmpty else { return }
        for index in books.indices {
            let held = books[index].acceptedByInsurer.filter { heldBackInsurers.contains($0.key) }.values.reduce(0, +)
            guard held > 0 else { continue }
            let b = books[index]
            heldBackPaths.insert(b.input.path)
            let reader = try RosterReader(profile: b.input.profile, path: b.input.path, runDate: run.runDate)
            var found = 0
            while let record = try reader.next() {
                guard case .accepted(let row, let line) = record, !b.duplicateLines.contains(line) else { continue }
                let m = row.member
                guard let message = messages[m.insurerNumber] else { continue }
                let reason = RejectReason.rosterHeldBack
                run.rejects.add(file: b.input.path, line: line, key: RecordKey.format(m.insurerNumber, m.symbol, m.number, m.branch, ref: m.memberRef),
                                reason: reason, message: "\(reason.summary): \(message.english)")
                try handBack.reject(b.input.profile, file: b.input.path, line: line, reason: reason, detail: message.japanese,
                                    raw: reader.currentRawFields())
                found += 1
            }
            _ = try reader.finish()
            guard found == held else {
                throw KenpoError.invariant("\(b.input.path): \(held) accepted rows to hold back, but \(found) found on reading it again (did the file change during the run?)")
            }
            books[index].accepted -= held
            books[index].rejected += held
            books[index].reasons[RejectReason.rosterHeldBack.rawValue, default: 0] += held
        }
    }

    /// Whether a row's insurer number (as far as it can be read) is a valid number other than the one
    /// of its profile: a row of another insurer.
    static func isForeign(_ insurer: String, profile: InsurerProfile) -> Bool {
        guard let own = profile.insurerNumber, case .success(let n) = InsurerNumber.validate(insurer) else { return false }
        return n != own
    }

    /// A roster at least half of whose rows are another insurer's is a misdirected hand-off, not a
    /// snapshot of its profile's insurer (whose missing members would otherwise all leave). A few such
    /// rows in a roster are typing slips: rejected, and the members they stand for kept.
    public static func isMisdirected(foreignRows: Int, rows: Int) -> Bool {
        foreignRows > 0 && foreignRows * 2 >= rows
    }

    /// Records keys of a rejected row so the person it probably is keeps their previous state.
    private func protect(_ identity: (insurer: String, symbolKey: String?, numberKey: String?, ref: String), profile: InsurerProfile) {
        let insurer = profile.insurerNumber ?? identity.insurer
        var identified = false
        if !identity.ref.isEmpty { protectedRefs.insert(MasterIndex.Keys.ref(insurer, identity.ref)); identified = true }
        if let s = identity.symbolKey, let n = identity.numberKey {
            protectedCards.insert(MasterIndex.Keys.card(insurer, s, n)); identified = true
        }
        if !identified { unidentifiedInFile += 1 }
    }

    private func duplicate(of m: MemberRow, input: Int, line: Int) -> (Int, Int)? {
        let here = UInt64(input) << 40 | UInt64(line)
        func unpack(_ v: UInt64) -> (Int, Int) { (Int(v >> 40), Int(v & 0xFF_FFFF_FFFF)) }
        if !m.isEmpty(.memberRef) {
            if let e = seenRef.insertIfAbsent(m.refKey, here) { return unpack(e) }
        }
        // Both keys are hashed before either table is probed: each probe is a cache miss at a million
        // rows, and with nothing between them the processor overlaps the two instead of waiting twice.
        let person = m.sameCardPersonKey
        if !m.isEmpty(.branch) {
            if let e = seenCardBranch.insertIfAbsent(m.cardBranchKey, here) { return unpack(e) }
        }
        if let e = seenPerson.insertIfAbsent(person, here) { return unpack(e) }
        return nil
    }

    /// Pass 1 of person matching: the insurer's member reference, or card and branch. These strong
    /// keys claim previous ids first, so a weak key can never take an id a strong key will claim later.
    private func strongMatch(_ m: MemberRow, _ traits: PersonTraits) -> UInt64? {
        guard previous.count > 0 else { return nil }
        if !m.isEmpty(.memberRef), let pid = previous.byRef[m.refKey],
           pid != MasterIndex.ambiguous, !claimed.contains(pid) {
            claimed.insert(pid)
            return pid
        }
        if !m.isEmpty(.branch), let pid = previous.byCardBranch[m.cardBranchKey], pid != MasterIndex.ambiguous,
           !claimed.contains(pid), let t = previous.traits[pid], !t.refConflicts(traits) {
            claimed.insert(pid)
            return pid
        }
        return nil
    }

    /// Previous ids this row might be by a weak key (card and kana name, card and birth date, kana name
    /// and birth date within the insurer), looked up now and decided after every strong match.
    private func weakCandidates(_ m: MemberRow) -> WeakCandidates? {
        guard previous.count > 0 else { return nil }
        let c = WeakCandidates(
            cardKana: previous.byCardKana[m.cardKanaKey] ?? MasterIndex.ambiguous,
            cardBirth: previous.byCardBirth[m.cardBirthKey] ?? MasterIndex.ambiguous,
            identity: previous.byIdentity[m.identityKey] ?? MasterIndex.ambiguous)
        return c.isEmpty ? nil : c
    }

    /// Pass 1½: a weakly matched row takes the previous id if no strong match claimed it and nothing
    /// tells the two apart (a different member reference; a different branch on the same card).
    private func resolveWeak(_ c: WeakCandidates, _ traits: PersonTraits) -> UInt64? {
        for (pid, sameCard) in [(c.cardKana, true), (c.cardBirth, true), (c.identity, false)] {
            guard pid != MasterIndex.ambiguous, !claimed.contains(pid), let t = previous.traits[pid] else { continue }
            if t.refConflicts(traits) || (sameCard && t.branchConflicts(traits)) { continue }
            claimed.insert(pid)
            return pid
        }
        return nil
    }

    /// A new person's id: stable (the member reference, else card, branch, kana name and birth date).
    private func newPersonID(_ m: MemberRecord) -> UInt64 { unclaimedPersonID(Self.newPersonHash(m)) }

    /// That id before collision handling (`MemberRow.newPersonHash` is the same from bytes).
    static func newPersonHash(_ m: MemberRecord) -> UInt64 { m.key(m.memberRef.isEmpty ? .person : .personRef) }

    /// The same from a roster row's bytes (MemberRowKeys).
    private func newPersonID(_ m: MemberRow) -> UInt64 { unclaimedPersonID(m.newPersonHash) }

    /// `pid`, or the next free id after it when the previous master or this run has it.
    private func unclaimedPersonID(_ hash: UInt64) -> UInt64 {
        var pid = hash
        // Ids given out in this run must not meet the previous master's. Among themselves, distinct
        // people cannot share an id unless 64-bit hashes collide (identical keys are duplicates, rejected
        // above); pass 2 checks that on the sorted ids rather than keeping a set of every id here.
        if previous.count > 0 {
            while pid == MasterIndex.ambiguous || claimed.contains(pid) || previous.contains(pid) {
                pid = StableHash.of(["next", StableHash.hex(pid)])
            }
            claimed.insert(pid)
        }
        return pid
    }

    /// An insurer number's 8 bytes as one integer (the per-insurer counts of the merge).
    static func insurerKey<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var k: UInt64 = 0
        for b in bytes.prefix(8) { k = k << 8 | UInt64(b) }
        return k
    }

    private func isProtected(_ m: MemberRecord) -> Bool {
        (!m.memberRef.isEmpty && protectedRefs.contains(MasterIndex.Keys.ref(m.insurerNumber, m.memberRef)))
            || protectedCards.contains(MasterIndex.Keys.card(m.insurerNumber, m.symbolKey, m.numberKey))
    }

    /// Pass 2: new master in person-id order, beside the previous one, with the change list.
    private func merge(spool: BucketSpool, previousMaster: String?) throws {
        CrashPoint.reach("eligibility:merge")
        let stateDir = try run.beginStateGeneration()
        let stateMembers = try CSVWriter(path: stateDir + "/members.csv", header: MemberRecord.header)
        let changes = try CSVWriter(path: try run.outputPath("member_changes.csv"), header: MemberChange.header)
        let prevReader = try previousMaster.map { try MasterReader(path: $0) }
        var prev = try prevReader?.next()
        var counts: [String: Int] = [:]
        // Per-row counters as plain integers (string-keyed counts per row showed in the merge's profile).
        var membersByStatus = [Int](repeating: 0, count: 4)
        var joined = 0
        // Per insurer (keyed by the 8 bytes of its number, no String per row): joined, changed, left.
        var perInsurer: [UInt64: (joined: Int, changed: Int, left: Int)] = [:]

        func write(_ m: MemberRecord) {
            stateMembers.row(m.fields)
            membersByStatus[Int(m.status.code)] += 1
        }
        func record(_ list: [MemberChange]) {
            if let first = list.first {
                let k = Self.insurerKey(first.insurerNumber.utf8)
                if first.change == "left" { perInsurer[k, default: (0, 0, 0)].left += 1 } else { perInsurer[k, default: (0, 0, 0)].changed += 1 }
            }
            for c in list {
                changes.row(c.fields)
                counts["change_\(c.change)", default: 0] += 1
            }
        }
        func previousOnly(_ p: MemberRecord) {
            if !heldBackKeys.isEmpty && heldBackInsurers.contains(p.insurerNumber) {
                // The insurer's roster was held back (RosterSizeCheck): everyone is kept as they were.
                if p.status != .left { counts["kept_because_roster_held_back", default: 0] += 1 }
                write(p)
                return
            }
            let misdirectedRoster = misdirected.contains(p.insurerNumber)
            let leaves = insurersInRun.contains(p.insurerNumber) && unidentifiedRejects[p.insurerNumber, default: 0] == 0 && !misdirectedRoster
            if misdirectedRoster && p.status != .left { counts["kept_because_roster_misdirected", default: 0] += 1 }
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

        var changeRow: [UInt8] = []
        // The end of a new person's change row, per status code (no String built per row).
        let joinedTail: [[UInt8]] = (0..<4).map { Array("joined,,\(MemberStatus(code: UInt8($0)).rawValue)\r\n".utf8) }
        var spooled = 0
        var bytes: [UInt8] = []
        for bucket in 0..<BucketSpool.bucketCount {
            let entries = try spool.sortedBucket(bucket, into: &bytes)
            spooled += entries.count
            try bytes.withUnsafeBytes { raw in
                var lastID: UInt64?
                for e in entries {
                    if e.id == lastID {
                        throw KenpoError.invariant("two people were given the same person id \(StableHash.hex(e.id)) (a 64-bit hash collision); nothing was published — report this")
                    }
                    lastID = e.id
                    let row = UnsafeRawBufferPointer(rebasing: raw[e.offset..<(e.offset + e.length)])
                    // A row of a held-back roster is not applied: its person, if known, is written as they were.
                    if !heldBackKeys.isEmpty && heldBackKeys.contains(Self.insurerKey(row[17..<25])) { continue }
                    while let (pid, p) = prev, pid < e.id {
                        previousOnly(p)
                        prev = try prevReader?.next()
                    }
                    if let (pid, p) = prev, pid == e.id {
                        guard let m = MemberRecord(fields: CSVLine.parse(row)) else { throw KenpoError.invariant("spooled member record damaged") }
                        record(MemberChange.between(p, m))
                        prev = try prevReader?.next()
                    } else {
                        // A new person: the row goes out as spooled; the change row is built from its fixed-width start.
                        let status = MemberStatus(code: e.tag)
                        changeRow.removeAll(keepingCapacity: true)
                        changeRow.append(contentsOf: UnsafeRawBufferPointer(rebasing: row[0..<26]))  // person_id,insurer_number,
                        changeRow.append(contentsOf: joinedTail[Int(status.code)])
                        changeRow.withUnsafeBytes { changes.rawRow($0) }
                        joined += 1
                        perInsurer[Self.insurerKey(row[17..<25]), default: (0, 0, 0)].joined += 1
                    }
                    stateMembers.rawRow(row)
                    membersByStatus[Int(e.tag)] += 1
                }
            }
        }
        while let (_, p) = prev {
            previousOnly(p)
            prev = try prevReader?.next()
        }
        for (code, n) in membersByStatus.enumerated() where n > 0 {
            counts["members_\(MemberStatus(code: UInt8(code)).rawValue)"] = n
        }
        let members = membersByStatus.reduce(0, +)
        if members > 0 { counts["members"] = members }
        if joined > 0 { counts["change_joined", default: 0] += joined }
        guard spooled == spool.count else {
            throw KenpoError.invariant("\(spool.count) members were spooled but \(spooled) read back")
        }
        // The published copy shares the state file's bytes (a hard link: both are immutable once written).
        run.addOutput(try FileSystem.linkOrCopy(try stateMembers.close(), to: try run.outputPath("members.csv")))
        run.addOutput(try changes.close())
        for (k, v) in counts { run.summary[k] = v }
        for (insurer, profile) in profileByInsurer {
            guard let c = perInsurer[Self.insurerKey(insurer.utf8)] else { continue }
            handBack.add(.membersJoined, c.joined, for: profile)
            handBack.add(.membersChanged, c.changed, for: profile)
            handBack.add(.membersLeft, c.left, for: profile)
        }
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
