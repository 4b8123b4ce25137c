import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a codes run reads: insurer mailing lists (送付対象者リスト) or support-desk reissue requests.
public enum CodeBatchInput {
    case mailing([(profile: InsurerProfile, path: String)])
    case reissue([String])

    public var kind: String {
        switch self {
        case .mailing: return "mailing"
        case .reissue: return "reissue"
        }
    }

    public var paths: [String] {
        switch self {
        case .mailing(let l): return l.map(\.path)
        case .reissue(let l): return l
        }
    }
}

/// Options of a codes run.
public struct CodesOptions {
    public var key: CodeKey
    public var printEncoding: PostcardPrintFile.Encoding = .cp932
    /// Insurer number → the insurer's name as printed (profiles' `display_name`).
    public var insurerNames: [String: String] = [:]
    /// Test hook: `KENPO_FAIL_BEFORE_PUBLISH=1` makes the process die (as a crash would) after every
    /// file of the run is staged and before the commit.
    public var failBeforePublish = false
    /// Postcards drawn on the proof sheet.
    public var proofCount = 8
    /// Insurer number → profile, so a reissued postcard is counted in its insurer's hand-back summary.
    /// When empty, a reissue run reads the profiles in `profileDirectory` (nil: none).
    public var insurerProfiles: [String: InsurerProfile] = [:]
    public var profileDirectory: String? = "pipelines/profiles"
    /// Folder of the run's outbox the batch's print file, vendor manifest and proof sheet go into
    /// ("" : the run folder itself). A pipeline run with several batches gives each its own
    /// (`postcards/<profile>/`, `postcards/reissue/`).
    public var outputFolder = ""

    public init(key: CodeKey) { self.key = key }

    /// Reads the insurer profiles in `directory`: their printed names and, for reissues, which
    /// insurer's hand-back summary a postcard counts in.
    public mutating func addInsurers(fromProfileDirectory directory: String) {
        profileDirectory = directory
        for name in FileSystem.listDirectory(directory) where name.hasSuffix(".profile") {
            if let p = try? InsurerProfile.load(path: directory + "/" + name), let n = p.insurerNumber {
                insurerNames[n] = p.displayName
                insurerProfiles[n] = p
            }
        }
    }
}

/// The checkup-viewing code stage (健診閲覧コード発行): issues one new code per postcard, updates the
/// code ledger, and writes the vendor's print file, its manifest and a proof sheet — all published
/// by the run's one commit (the outbox rename), together with the new state generation.
///
/// Rules:
/// - A listed person must be in the member master (else PERSON_UNKNOWN) and active on the run date
///   (else PERSON_NOT_ELIGIBLE); the postcard needs a 7-digit postal code and an address that fits
///   the card (ADDRESS_UNUSABLE), and a name and address CP932 can print after the documented
///   substitutions (NAME_NOT_PRINTABLE / ADDRESS_NOT_PRINTABLE).
/// - A mailing list row for a person already on this batch's postcards is rejected as
///   DUPLICATE_PERSON (one postcard per person). A second reissue request for the same person in one
///   batch is merged into the first (counted as accepted, its ticket recorded with the first's).
/// - Mailing: the person's previous active code becomes `superseded`. Reissue: it becomes `revoked`.
/// - A batch whose id (`CodeBatches.batchID`) a published run already holds issues nothing:
///   `BatchAlreadyIssued` is thrown before anything is staged.
public final class CodesStage {
    let run: Run
    let options: CodesOptions
    let hasher: CodeHasher
    let policy = CP932Policy()
    /// What goes back to each insurer (返戻); written at the end of `process` unless the caller gave it.
    public let handBack: InsurerHandBack
    private let ownsHandBack: Bool

    typealias Request = PostcardRequestSpool.Request
    /// The first accepted row of a person in this batch: its request number, and where it was read.
    struct FirstRow { var request: Int; var file: Int; var line: Int }

    /// `handBack`: a collector shared with other stages of the same run, written by the caller before
    /// the run publishes; nil: the stage keeps its own and writes it at the end of `process`.
    public init(run: Run, options: CodesOptions, handBack: InsurerHandBack? = nil) {
        self.run = run
        self.options = options
        self.hasher = CodeHasher(key: options.key)
        self.handBack = handBack ?? InsurerHandBack(run: run)
        self.ownsHandBack = handBack == nil
    }

    public func process(_ input: CodeBatchInput) throws {
        var shas: [String] = []
        for p in input.paths { shas.append(try SHA256Digest.hex(ofFile: p).sha256) }
        let batchID = CodeBatches.batchID(kind: input.kind, inputSHA256s: shas)
        var batches = try CodeBatches(path: run.currentStateFile(CodeBatches.fileName))
        if let done = batches.find(batchID) {
            throw BatchAlreadyIssued(batch: done, printFilePath: run.data.outbox + "/" + done.runID + "/" + done.printFile)
        }
        if options.key.isDemo { Log.warning("codes: the code key \(options.key.path) is a DEMO key; never use it in production") }

        let requests = try readRequests(input, batchID: batchID)

        // Issue: ledger and batch list in the new state generation, print file in the outbox.
        let stateDir = try run.beginStateGeneration()
        let generation = run.newGeneration ?? ""
        let ledger = try CodeLedger(path: try run.stateFileForRewrite("access_codes.csv"))
        let folder = options.outputFolder.isEmpty ? "" : options.outputFolder + "/"
        let printPath = try run.outputPath(folder + "postcards.csv")
        let printFile = try PostcardPrintFile(path: printPath, encoding: options.printEncoding)
        var sequence = batches.nextSequence
        var proofs: [ProofPostcard] = []
        var superseded = 0, revoked = 0, printed = 0
        let isReissue = input.kind == "reissue"
        let crashPoint = isReissue ? "reissue:postcard" : "codes:postcard"
        run.progress.expect(records: requests.count)
        try requests.forEach { r in
            CrashPoint.reach(crashPoint)
            run.progress.advance()
            let kind: CodeLedger.Issue = isReissue ? .reissue(reason: r.reason, ticket: r.tickets.joined(separator: ";")) : .mailing
            let (code, previous) = ledger.issue(person: r.personID, kind: kind, hasher: hasher, generation: generation,
                                                date: run.runDate.iso, batchID: batchID)
            if previous == .superseded { superseded += 1 }
            if previous == .revoked { revoked += 1 }
            guard case .success(let layout) = PostcardLayout.make(
                sequence: sequence, postalCode: r.postal, address1: r.address1, address2: r.address2, name: r.name,
                insurerName: r.insurer, code: code, reissue: isReissue, policy: policy) else {
                throw KenpoError.invariant("a postcard checked when its row was read could not be laid out")
            }
            try printFile.add(layout)
            if let p = r.profile {
                handBack.add(.codesIssued, for: p)
                handBack.add(.postcards, for: p)
                if isReissue { handBack.add(.reissues, for: p) }
            }
            if proofs.count < options.proofCount { proofs.append(layout.proof) }
            sequence += 1
            printed += 1
        }

        let printOutput = try printFile.close()
        run.addOutput(printOutput)

        let vendor = VendorManifest(batchId: batchID, kind: input.kind, runId: run.id, printFile: folder + "postcards.csv",
                                    encoding: options.printEncoding.rawValue, records: printed,
                                    firstSequence: printFile.firstSequence, lastSequence: printFile.lastSequence,
                                    bytes: printOutput.bytes, sha256: printOutput.sha256)
        run.addOutput(try writeSmall(try vendor.encoded(), name: folder + "postcards.manifest.json"))
        run.addOutput(try writeSmall(Array(ProofSheet.svg(postcards: proofs).utf8), name: folder + "proof.svg"))

        let ledgerOut = try ledger.write(to: stateDir + "/access_codes.csv")
        // Two batches in one run (a pipeline's mailing lists and reissues): the later ledger replaces the copy.
        let ledgerCopy = try run.outputPath("access_codes.csv")
        FileSystem.removeTree(ledgerCopy)
        run.updateOutput(try FileSystem.linkOrCopy(ledgerOut, to: ledgerCopy))
        CrashPoint.reach("\(input.kind == "reissue" ? "reissue" : "codes"):staged")
        batches.add(CodeBatch(batchID: batchID, kind: input.kind, runID: run.id, printFile: folder + "postcards.csv",
                              issuedDate: run.runDate.iso, postcards: printed,
                              firstSequence: printFile.firstSequence, lastSequence: printFile.lastSequence))
        _ = try run.stateFileForRewrite(CodeBatches.fileName)
        _ = try batches.write(to: stateDir + "/" + CodeBatches.fileName)

        // Counts add up over the batches of one run; codes_active is the ledger's, after this batch.
        run.summary["postcards", default: 0] += printed
        run.summary["codes_issued", default: 0] += printed
        run.summary["codes_superseded", default: 0] += superseded
        run.summary["codes_revoked", default: 0] += revoked
        run.summary["codes_active"] = ledger.activeCount
        if ledger.redraws > 0 { run.summary["codes_redrawn", default: 0] += ledger.redraws }
        if printed > 0 {
            run.summary["first_sequence"] = min(run.summary["first_sequence"] ?? Int.max, printFile.firstSequence)
            run.summary["last_sequence"] = max(run.summary["last_sequence"] ?? 0, printFile.lastSequence)
        }
        Log.info("codes: \(input.kind) batch \(batchID.prefix(12)): \(printed) postcards, \(superseded) superseded, \(revoked) revoked; key \(options.key.fingerprint)")
        if ownsHandBack { try handBack.write() }

        if options.failBeforePublish {
            Log.error("codes: KENPO_FAIL_BEFORE_PUBLISH is set: dying before the commit (test hook)")
            _exit(70)
        }
    }

    /// Reads the batch's lists and checks every row; the accepted ones, in order, are the postcards.
    /// The member master is held only while the rows are read.
    private func readRequests(_ input: CodeBatchInput, batchID: String) throws -> PostcardRequestSpool {
        // The member master, read once: the directory finds a person from a card, the address book
        // holds each member's status and reads a name and address back when a postcard needs them.
        let (directory, members) = try MemberAddressBook.load(masterPath: run.currentStateFile("members.csv"))
        let requests = try PostcardRequestSpool(path: run.scratch + "/postcard-requests-" + String(batchID.prefix(16)))
        var seen: [UInt64: FirstRow] = [:]
        switch input {
        case .mailing(let lists):
            for (n, (profile, path)) in lists.enumerated() {
                try readMailing(profile: profile, path: path, file: n, paths: input.paths, directory: directory, members: members,
                                requests: requests, seen: &seen)
            }
        case .reissue(let paths):
            for path in paths { try readReissue(path: path, members: members, requests: requests, seen: &seen) }
        }
        return requests
    }

    private func writeSmall(_ bytes: [UInt8], name: String) throws -> OutputFile {
        let path = try run.outputPath(name)
        try FileSystem.writeAtomically(bytes, to: path)
        return OutputFile(path: path, rows: 0, bytes: bytes.count, sha256: SHA256Digest.hex(of: bytes))
    }

    private func reject(_ file: String, _ line: Int, _ key: String, _ reason: RejectReason, _ detail: String, _ counts: inout Manifest.RecordCounts) {
        run.rejects.add(file: file, line: line, key: key, reason: reason, message: reason.summary + ": " + detail)
        counts.rejected += 1
    }

    /// Checks that a postcard can be laid out (address, name), with a throwaway code.
    private func layoutProblem(postal: String, a1: String, a2: String, name: String) -> PostcardLayout.Problem? {
        if case .failure(let p) = PostcardLayout.make(sequence: 0, postalCode: postal, address1: a1, address2: a2, name: name,
                                                      insurerName: "", code: Self.probeCode, reissue: false, policy: policy) {
            return p
        }
        return nil
    }
    private static let probeCode: AccessCode = {
        var g = ZeroGenerator()
        return AccessCode.generate(using: &g)
    }()
    private struct ZeroGenerator: RandomNumberGenerator { mutating func next() -> UInt64 { 0 } }

    /// Nil when the person may get a postcard (in the master, active on the run date); else why not.
    private func ineligibility(_ pid: UInt64, _ members: MemberAddressBook) -> (RejectReason, String)? {
        guard let status = members.status(of: pid) else { return (.unknownPerson, "person id \(StableHash.hex(pid)) is not in the member master") }
        guard status == .active else { return (.personNotEligible, "the member's status on \(run.runDate.iso) is \(status.rawValue)") }
        return nil
    }

    private func readMailing(profile: InsurerProfile, path: String, file: Int, paths: [String], directory: MemberDirectory, members: MemberAddressBook,
                             requests: PostcardRequestSpool, seen: inout [UInt64: FirstRow]) throws {
        let reader = try MailingListReader(profile: profile, path: path)
        var counts = Manifest.RecordCounts()
        let insurerName = profile.displayName.isEmpty ? (profile.insurerNumber ?? profile.name) : profile.displayName
        handBack.source(profile, header: reader.headerRaw)
        /// Rejects a row in rejects.csv and hands it back to the insurer: the Japanese detail, the row as sent.
        func refuse(_ line: Int, _ key: String, _ reason: RejectReason, _ detail: String, field: RosterField? = nil, japanese: String) throws {
            reject(path, line, key, reason, detail, &counts)
            try handBack.reject(profile, file: path, line: line, reason: reason, field: field, detail: japanese, raw: reader.currentRawFields())
        }
        /// 列「…」の値「…」 in the list's own column name.
        func about(_ field: RosterField, _ value: String) -> String {
            InsurerHandBack.fieldDetail(column: reader.columnLabel(field) ?? field.japaneseName, value: value)
        }
        while let record = try reader.next() {
            counts.read += 1
            switch record {
            case .rejected(let reason, let detail, let line, let key, let field, let japanese):
                try refuse(line, key, reason, detail, field: field, japanese: japanese)
            case .row(let row, let line, let key):
                if let expected = profile.insurerNumber, Normalise.foldWidth(row.insurerNumber) != expected {
                    try refuse(line, key, .insurerMismatch, "insurer number '\(row.insurerNumber)' is not \(expected), the insurer of profile \(profile.name)",
                               field: .insurerNumber, japanese: about(.insurerNumber, row.insurerNumber) + "（この保険者の番号は\(expected)）")
                    continue
                }
                guard case .success(let birth) = JapaneseDate.parse(row.birthDate, styles: profile.dateStyles) else {
                    try refuse(line, key, .dateInvalid, "the birth date '\(row.birthDate)' cannot be read", field: .birthDate, japanese: about(.birthDate, row.birthDate))
                    continue
                }
                var subject = DocumentSubject()
                subject.insurerNumber = row.insurerNumber; subject.symbol = row.symbol; subject.number = row.number
                subject.branch = row.branch; subject.kanaName = row.kanaName; subject.birthDate = birth.iso
                let keys: MemberDirectory.SubjectKeys
                switch MemberDirectory.keys(subject) {
                case .success(let k): keys = k
                case .failure(let p):
                    // The field MemberDirectory.keys found unreadable, checked in its order.
                    var field: RosterField?
                    var value = ""
                    if case .failure = InsurerNumber.validate(row.insurerNumber) { field = .insurerNumber; value = row.insurerNumber }
                    else if CardKeys.numberKey(row.number) == nil { field = .number; value = row.number }
                    else if !row.kanaName.isEmpty, case .failure = KanaName.key(row.kanaName) { field = .kanaName; value = row.kanaName }
                    try refuse(line, key, .requestInvalid, p.message, field: field,
                               japanese: field.map { about($0, value) } ?? "保険者番号・記号・番号・カナ氏名・生年月日のいずれかが読み取れません")
                    continue
                }
                let pid: UInt64
                switch directory.resolve(keys) {
                case .success(let id): pid = id
                case .failure(let p):
                    try refuse(line, key, .unknownPerson, p.message,
                               japanese: "保険者番号・記号・番号・生年月日・カナ氏名が資格名簿のどの加入者とも一致しません（または一人に絞れません）")
                    continue
                }
                if let (reason, detail) = ineligibility(pid, members) {
                    let japanese = members.status(of: pid).map { "処理日（\(run.runDate.iso)）時点の資格の状態：\($0.japaneseName)" }
                        ?? "資格名簿に記載がありません"
                    try refuse(line, key, reason, detail, japanese: japanese)
                    continue
                }
                if let first = seen[pid] {
                    let firstFile = paths[first.file]
                    try refuse(line, key, .duplicatePerson, "the person already has a postcard in this batch (\(firstFile) line \(first.line)); one postcard per person",
                               japanese: "同じ方のはがきがこの回に既にあります（\((firstFile as NSString).lastPathComponent) の\(first.line)行目）。はがきは一人一枚です")
                    continue
                }
                // The list's kanji name; without one, the master's (kanji, else kana).
                var name = row.kanjiName
                if name.isEmpty, let m = try members.member(pid) { name = !m.kanjiName.isEmpty ? m.kanjiName : m.kanaName }
                if let p = layoutProblem(postal: row.postalCode, a1: row.address1, a2: row.address2, name: name) {
                    let field: RosterField
                    let japanese: String
                    switch p.reason {
                    case .nameNotPrintable:
                        field = .kanjiName
                        japanese = about(.kanjiName, name)
                    case .addressUnusable where Self.postalCodeUnusable(row.postalCode):
                        field = .postalCode
                        japanese = about(.postalCode, row.postalCode)
                    default:
                        field = .address
                        japanese = about(.address, row.address1) + (row.address2.isEmpty ? "" : "、" + about(.address2, row.address2))
                    }
                    try refuse(line, key, p.reason, p.detail, field: field, japanese: japanese)
                    continue
                }
                seen[pid] = FirstRow(request: requests.count, file: file, line: line)
                requests.append(Request(personID: pid, postal: row.postalCode, address1: row.address1, address2: row.address2,
                                        name: name, insurer: insurerName, reason: "mailing", tickets: [], profile: profile))
                counts.accepted += 1
            }
        }
        let (bytes, sha) = try reader.finish()
        run.addInput(Manifest.Input(path: path, kind: "mailing", profile: profile.name, bytes: bytes, sha256: sha, records: counts))
        handBack.add(.mailingRowsRead, counts.read, for: profile)
        handBack.add(.mailingRowsAccepted, counts.accepted, for: profile)
        handBack.add(.mailingRowsRejected, counts.rejected, for: profile)
        if !run.referenceTables.contains(where: { $0.name == "profile:" + profile.name }) {
            run.referenceTables.append(Manifest.ReferenceTable(name: "profile:" + profile.name, version: profile.sha256.isEmpty ? "" : String(profile.sha256.prefix(12)),
                                                               path: profile.path, sha256: profile.sha256))
        }
        Log.info("codes: \(path): read \(counts.read), accepted \(counts.accepted), rejected \(counts.rejected)")
    }

    /// The same postal-code rule as PostcardLayout.make: 7 digits, written with digits, -, 〒 and spaces only.
    static func postalCodeUnusable(_ postal: String) -> Bool {
        let folded = Normalise.foldWidth(postal)
        let digits = folded.filter { $0.isASCII && $0.isNumber }
        return digits.count != 7 || !folded.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "〒" || $0 == " " })
    }

    /// Insurer number → profile for reissues: the options' table, else the profiles in `profileDirectory`.
    private lazy var reissueProfiles: [String: InsurerProfile] = {
        if !options.insurerProfiles.isEmpty { return options.insurerProfiles }
        guard let dir = options.profileDirectory else { return [:] }
        var out: [String: InsurerProfile] = [:]
        for name in FileSystem.listDirectory(dir).sorted() where name.hasSuffix(".profile") {
            guard let p = try? InsurerProfile.load(path: dir + "/" + name), let n = p.insurerNumber, out[n] == nil else { continue }
            out[n] = p
        }
        return out
    }()

    private func readReissue(path: String, members: MemberAddressBook, requests: PostcardRequestSpool, seen: inout [UInt64: FirstRow]) throws {
        let reader = try ReissueRequestReader(path: path)
        var counts = Manifest.RecordCounts()
        var merged = 0
        while let record = try reader.next() {
            counts.read += 1
            switch record {
            case .rejected(let reason, let detail, let line, let key):
                reject(path, line, key, reason, detail, &counts)
            case .request(let q, let line, let key):
                guard let id = StableHash.parseHex(q.personID), q.personID.count == 16 else {
                    reject(path, line, key, .requestInvalid, "person_id '\(ControlCharacters.escaped(q.personID))' is not a 16-digit person id from members.csv", &counts)
                    continue
                }
                let pid = id
                guard !q.ticket.isEmpty else { reject(path, line, key, .requestInvalid, "the ticket number is empty", &counts); continue }
                if let (reason, detail) = ineligibility(pid, members) { reject(path, line, key, reason, detail, &counts); continue }
                if let first = seen[pid] {
                    requests.addTicket(q.ticket, to: first.request)
                    merged += 1
                    counts.accepted += 1
                    continue
                }
                guard let m = try members.member(pid) else { throw KenpoError.invariant("a member found by status has no row") }
                let newAddress = !q.postalCode.isEmpty || !q.address1.isEmpty || !q.address2.isEmpty
                let (postal, a1, a2) = newAddress ? (q.postalCode, q.address1, q.address2) : (m.postal, m.address, "")
                let name = !m.kanjiName.isEmpty ? m.kanjiName : m.kanaName
                if let p = layoutProblem(postal: postal, a1: a1, a2: a2, name: name) {
                    reject(path, line, key, p.reason, (newAddress ? "new address: " : "member master address: ") + p.detail, &counts)
                    continue
                }
                seen[pid] = FirstRow(request: requests.count, file: 0, line: line)
                // Support-desk requests are not the insurer's file: nothing is handed back for them, but the
                // postcard counts in the summary of the person's insurer (its profile, when one names it).
                let profile = reissueProfiles[m.insurer]
                if let profile { handBack.touch(profile) }
                requests.append(Request(personID: pid, postal: postal, address1: a1, address2: a2, name: name,
                                        insurer: options.insurerNames[m.insurer] ?? m.insurer,
                                        reason: q.reason.isEmpty ? "reissue" : q.reason, tickets: [q.ticket], profile: profile))
                counts.accepted += 1
            }
        }
        let (bytes, sha) = try reader.finish()
        run.addInput(Manifest.Input(path: path, kind: "reissue", profile: nil, bytes: bytes, sha256: sha, records: counts))
        if merged > 0 { run.summary["reissue_merged", default: 0] += merged }
        Log.info("codes: \(path): read \(counts.read), accepted \(counts.accepted) (\(merged) merged), rejected \(counts.rejected)")
    }
}
