import Foundation

/// Support-desk reissue requests (再発行依頼) for the generated members, written beside the rosters:
/// `<out>/reissue/requests.csv` in the format `ReissueRequestReader` reads (UTF-8, CRLF, header
/// `person_id,ticket,reason,postal_code,address1,address2`) and `<out>/reissue/expected_rejects.csv`
/// (`line,reason_code`, like the rosters').
///
/// **Who.** Per profile, `max(1, round(valid rows × share))` members (`GeneratorOptions.reissueShare`,
/// 1% by default), spread evenly over the profile's valid roster rows: a slot is taken by the next
/// member who is on the mailing list and active on the run date (only someone who was sent a postcard
/// can lose it, and kenpo refuses a reissue for someone no longer eligible). If no slot of a profile
/// was taken by its last row, its last such member is requested. A member is named by the person_id
/// kenpo's eligibility stage gives a new person (`personID(...)`): right for the generated roster read
/// into an empty data folder, as the tests and the samples do.
///
/// **Requests.** Tickets `T-0000001` … in file order; reason `lost`, `damaged`, or `moved` — a moved
/// member's request carries a new postal code and address, the others none (the master's address is used).
///
/// **Faulty rows**, only when the faulty share is above 0: `max(1, round(requests × faulty share))` of
/// each kind, spread over the file:
/// - unknown person: a well-formed person id nobody has → `PERSON_UNKNOWN`;
/// - missing ticket: the request before it again, with an empty ticket → `REQUEST_INVALID`;
/// - duplicate: a second request (its own ticket) for the person of the request before it → **not** a
///   reject: kenpo merges it into that person's one postcard (`reissue_merged`), so it is not in
///   `expected_rejects.csv`.
final class ReissueRequestGenerator {
    /// One faulty row's kind, in the order they take turns.
    enum Fault: Int, CaseIterable {
        case duplicate, unknownPerson, missingTicket
        var reason: RejectReason? {
            switch self {
            case .duplicate: return nil
            case .unknownPerson: return .unknownPerson
            case .missingTicket: return .requestInvalid
            }
        }
    }

    static let header = ["person_id", "ticket", "reason", "postal_code", "address1", "address2"]

    let share: Double
    let requestsPath: String
    let rejectsPath: String
    private let requests: GeneratorFileWriter
    private let rejects: GeneratorFileWriter
    private let text = GeneratorTextEncoder(cp932: false)
    private var rng: SeededRandom
    /// Valid requests the slots add up to, over all profiles (faulty rows are spread against it).
    private let expectedRequests: Int
    private let faultyTotal: Int
    /// Lines written so far, the header included: after a row is written, its line number.
    private var line = 0
    private var ticketCounter = 0
    private var lastRequest: (personID: String, reason: String)?
    private(set) var validWritten = 0
    private(set) var faultyWritten: [Fault: Int] = [:]

    // The current profile.
    private var rows = 0
    private var slots = 0
    private var index = 0
    private var owed = 0
    private var writtenInProfile = 0

    /// `validRows`: the valid roster rows of each profile, in generation order.
    init(outDirectory: String, seed: UInt64, share: Double, faultyShare: Double, validRows: [Int]) throws {
        self.share = share
        let dir = outDirectory + "/reissue"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KenpoError.io(path: dir, message: "cannot create the output folder: \(error.localizedDescription)")
        }
        requestsPath = dir + "/requests.csv"
        rejectsPath = dir + "/expected_rejects.csv"
        requests = try GeneratorFileWriter(path: requestsPath)
        rejects = try GeneratorFileWriter(path: rejectsPath)
        rng = SeededRandom(seed: seed, stream: "kenpo-reissue")
        expectedRequests = validRows.reduce(0) { $0 + Self.slots(validRows: $1, share: share) }
        faultyTotal = faultyShare > 0 && expectedRequests > 0
            ? Fault.allCases.count * max(1, Int((Double(expectedRequests) * faultyShare).rounded())) : 0
        writeRow(Self.header)
        rejects.write(Array("line,reason_code\n".utf8))
    }

    static func slots(validRows: Int, share: Double) -> Int {
        share > 0 && validRows > 0 ? max(1, Int((Double(validRows) * share).rounded())) : 0
    }

    func beginProfile(validRows: Int) {
        rows = validRows
        slots = Self.slots(validRows: validRows, share: share)
        index = 0
        owed = 0
        writtenInProfile = 0
    }

    /// Called for every valid roster row of the profile, in order; `eligible`: on the mailing list and
    /// active on the run date. True: write a request for this row now (`add`).
    func wants(eligible: Bool) -> Bool {
        let i = index
        index += 1
        if slots > 0 && rows > 0 {
            let half = rows / 2
            if ((i + 1) * slots + half) / rows > (i * slots + half) / rows { owed += 1 }
        }
        guard eligible && owed > 0 else { return false }
        owed -= 1
        return true
    }

    /// True at the end of a profile that should have requests but got none: the caller adds one for
    /// its last eligible row.
    var needsFallback: Bool { slots > 0 && writtenInProfile == 0 }

    /// A valid request for `personID`, then the faulty rows now due.
    func add(personID: String) {
        ticketCounter += 1
        var reason = ["lost", "lost", "damaged", "moved"][rng.below(4)]
        var postal = "", a1 = "", a2 = ""
        if reason == "moved" {
            (postal, a1, a2) = Self.address(&rng)
        } else if rng.chance(0.1) {
            reason = "not received"
        }
        writeRow([personID, Self.ticket(ticketCounter), reason, postal, a1, a2])
        lastRequest = (personID, reason)
        validWritten += 1
        writtenInProfile += 1
        let due = expectedRequests == 0 ? 0 : min(faultyTotal, validWritten * faultyTotal / expectedRequests)
        while faultyCount < due { writeFaulty() }
    }

    private var faultyCount: Int { faultyWritten.values.reduce(0, +) }

    private func writeFaulty() {
        var fault = Fault.allCases[faultyCount % Fault.allCases.count]
        if lastRequest == nil && fault != .unknownPerson { fault = .unknownPerson }
        switch fault {
        case .duplicate:
            ticketCounter += 1
            writeRow([lastRequest!.personID, Self.ticket(ticketCounter), lastRequest!.reason + " (second call)", "", "", ""])
        case .unknownPerson:
            ticketCounter += 1
            writeRow([StableHash.hex(rng.next()), Self.ticket(ticketCounter), "lost", "", "", ""])
        case .missingTicket:
            writeRow([lastRequest!.personID, "", lastRequest!.reason, "", "", ""])
        }
        if let reason = fault.reason { rejects.write(Array("\(line),\(reason.rawValue)\n".utf8)) }
        faultyWritten[fault, default: 0] += 1
    }

    /// Writes what is still due (when fewer requests were written than the slots promised), closes the
    /// files; the requests file, then the expected rejects.
    func finish() throws -> [GeneratedFile] {
        while faultyCount < faultyTotal { writeFaulty() }
        try requests.close()
        try rejects.close()
        let rejected = faultyWritten.filter { $0.key.reason != nil }.values.reduce(0, +)
        return [
            GeneratedFile(profile: "", kind: "reissue", path: requestsPath, rows: line - 1, faultyRows: rejected,
                          mergedRows: faultyWritten[.duplicate] ?? 0),
            GeneratedFile(profile: "", kind: "reissue_expected_rejects", path: rejectsPath, rows: rejected, faultyRows: rejected),
        ]
    }

    func abandon() {
        requests.abandon()
        rejects.abandon()
    }

    private func writeRow(_ values: [String]) {
        for (i, v) in values.enumerated() {
            if i > 0 { requests.write(0x2C) }
            text.writeField(v, to: requests)
        }
        requests.write([0x0D, 0x0A])
        line += 1
    }

    static func ticket(_ n: Int) -> String {
        let s = String(n)
        return "T-" + String(repeating: "0", count: max(0, 7 - s.count)) + s
    }

    /// A new address for a member who moved: postal code, street (prefecture … block) and, now and then, a building.
    static func address(_ rng: inout SeededRandom) -> (String, String, String) {
        let place = rng.pick(SyntheticPeople.places)
        let townIndex = rng.below(place.towns.count)
        let code = (townIndex * 3331 + place.postalPrefix * 17 + 7) % 10000
        let postal = String(format: "%03d-%04d", place.postalPrefix, code)
        let a1 = place.prefecture + place.city + place.towns[townIndex] + "\(rng.int(in: 1...9))-\(rng.int(in: 1...30))-\(rng.int(in: 1...25))"
        let a2 = rng.chance(0.4) ? rng.pick(SyntheticPeople.buildings) + " \(rng.int(in: 1...12) * 100 + rng.int(in: 1...12))号室" : ""
        return (postal, a1, a2)
    }

    /// The person_id kenpo's eligibility stage gives a **new** person read from a roster row
    /// (`EligibilityStage.newPersonID`): FNV-1a/fmix64 (`StableHash`) of the insurer's member reference
    /// when the profile maps one, else of the card (insurer number, symbol key, number key, branch),
    /// the kana key and the birth date, as the roster reader normalises them. A person the previous
    /// master already knows keeps that master's id instead, and an id that would meet one of the
    /// previous master's is moved on; so this is the id for a roster read into an empty data folder.
    /// nil when the row would be rejected.
    static func personID(insurerNumber: String, symbol: String, number: String, branch: String, kana: String,
                         birthDate: CalendarDate, memberRef: String) -> String? {
        guard case .success(let insurer) = InsurerNumber.validate(insurerNumber) else { return nil }
        var m = MemberRecord()
        m.insurerNumber = insurer
        m.memberRef = Normalise.foldWidth(memberRef)
        if m.memberRef.isEmpty {
            guard let s = CardKeys.symbolKey(symbol), let n = CardKeys.numberKey(number), let b = CardKeys.branch(branch),
                  case .success(let k) = KanaName.key(kana) else { return nil }
            m.symbolKey = s; m.numberKey = n; m.branch = b; m.kanaKey = k; m.birthDate = birthDate.iso
        }
        // The stage's own formula (MatchKey.person / .personRef), not a copy of it.
        return StableHash.hex(EligibilityStage.newPersonHash(m))
    }
}
