import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What to generate: `members` roster rows in total, split across `profiles`.
public struct GeneratorOptions {
    /// Data rows in total over all profiles (persons: insured and dependants), faulty rows included.
    public var members: Int
    public var seed: UInt64
    /// Share of rows that carry exactly one fault (0…1); round(members × faultyShare) rows in total.
    public var faultyShare: Double
    /// "Today" for ages, dates of qualification and the birth-after-run-date fault.
    public var runDate: CalendarDate
    public var profiles: [InsurerProfile]
    /// Files go to `outDirectory/<profile.name>/`.
    public var outDirectory: String
    /// Share of each profile's valid rows (at least one per profile) named in support-desk reissue
    /// requests, `outDirectory/reissue/requests.csv` (`ReissueRequestGenerator`); 0: no reissue files.
    public var reissueShare = 0.01

    public init(members: Int, seed: UInt64 = 42, faultyShare: Double = 0.01, runDate: CalendarDate,
                profiles: [InsurerProfile], outDirectory: String) {
        self.members = members
        self.seed = seed
        self.faultyShare = faultyShare
        self.runDate = runDate
        self.profiles = profiles
        self.outDirectory = outDirectory
    }
}

/// One file the generator wrote.
public struct GeneratedFile: Sendable {
    public var profile: String
    /// "roster" | "mailing" | "expected_rejects" | "reissue" | "reissue_expected_rejects"
    public var kind: String
    public var path: String
    /// Data rows (the header is not counted).
    public var rows: Int
    /// Rows that must be rejected (roster, expected_rejects and reissue requests; 0 for the mailing list).
    public var faultyRows: Int
    /// Reissue requests only: second requests for a person already requested, which kenpo merges
    /// into one postcard (accepted, not rejected).
    public var mergedRows = 0
}

/// Writes synthetic eligibility rosters, mailing lists, support-desk reissue requests and the rejects
/// each roster must produce.
///
/// For each profile: `roster.csv` in the profile's encoding, line ends, header, column order, kana width and
/// first date style; `mailing.csv` (same encoding and line ends) with about 60% of the valid persons;
/// `expected_rejects.csv` (UTF-8, `line,reason_code`) naming the physical line and reject code of every
/// faulty row. Each faulty row carries exactly one fault. For all profiles together:
/// `reissue/requests.csv` and `reissue/expected_rejects.csv` (`ReissueRequestGenerator`). The same seed
/// gives the same bytes; the reissue requests draw from their own random stream, so the rosters and
/// mailing lists are the same bytes with or without them.
///
/// Streams: rows are produced one household at a time and written through 1 MB buffers, so memory
/// does not grow with `members`.
public enum RosterGenerator {
    /// Changes whenever the same options would produce different bytes (so cached rosters can be regenerated).
    public static let version = 2

    public static func generate(_ options: GeneratorOptions) throws -> [GeneratedFile] {
        try generate(options, onSubject: nil)
    }

    /// As `generate(_:)`, and calls `onSubject` for every valid row written (faulty rows are not
    /// reported), in roster order, profile by profile. The roster bytes are the same as without it.
    public static func generate(_ options: GeneratorOptions,
                                onSubject: ((HealthRecordSubject) throws -> Void)?) throws -> [GeneratedFile] {
        guard !options.profiles.isEmpty else { throw KenpoError.usage("the generator needs at least one insurer profile") }
        guard options.members >= 0 else { throw KenpoError.usage("the number of members must not be negative") }
        guard options.faultyShare >= 0, options.faultyShare <= 1 else {
            throw KenpoError.usage("the faulty share must lie between 0 and 1 (0.01 = 1% faulty rows)")
        }
        var names = Set<String>()
        for p in options.profiles where !names.insert(p.name).inserted {
            throw KenpoError.usage("profile \(p.name) is listed twice")
        }
        let count = options.profiles.count
        let totalFaulty = Int((Double(options.members) * options.faultyShare).rounded())
        var split: [(rows: Int, faulty: Int)] = []
        var rowsBefore = 0
        for i in 0..<count {
            let rows = options.members / count + (i < options.members % count ? 1 : 0)
            // Faulty rows proportional to rows, summing exactly to the total.
            let faulty = faultyShareOf(totalFaulty, upTo: rowsBefore + rows, of: options.members)
                - faultyShareOf(totalFaulty, upTo: rowsBefore, of: options.members)
            rowsBefore += rows
            split.append((rows, faulty))
        }
        let reissue = options.reissueShare > 0
            ? try ReissueRequestGenerator(outDirectory: options.outDirectory, seed: options.seed, share: options.reissueShare,
                                          faultyShare: options.faultyShare, validRows: split.map { $0.rows - $0.faulty })
            : nil
        var ok = false
        defer { if !ok { reissue?.abandon() } }
        var files: [GeneratedFile] = []
        for (i, profile) in options.profiles.enumerated() {
            let (rows, faulty) = split[i]
            let dir = options.outDirectory + "/" + profile.name
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw KenpoError.io(path: dir, message: "cannot create the output folder: \(error.localizedDescription)")
            }
            let run = try ProfileGeneration(profile: profile, rows: rows, faulty: faulty, seed: options.seed,
                                            runDate: options.runDate, directory: dir)
            reissue?.beginProfile(validRows: rows - faulty)
            files.append(contentsOf: try run.generate(onSubject: onSubject, reissue: reissue))
        }
        if let reissue { files += try reissue.finish() }
        ok = true
        return files
    }

    /// The valid persons `generate(options)` writes (faulty rows left out), in roster order, profile by
    /// profile, without writing any file: the same persons, card details and readings as the roster for
    /// the same options. Lazy: one household at a time.
    public static func subjects(_ options: GeneratorOptions) -> RosterSubjects {
        RosterSubjects(options: options)
    }

    @inline(__always)
    static func faultyShareOf(_ total: Int, upTo rows: Int, of all: Int) -> Int {
        all == 0 ? 0 : Int((Double(total) * Double(rows) / Double(all)).rounded(.down))
    }

    /// Impossible dates spelled in a style: they look right but no such day exists (or the era had ended).
    static func impossibleDates(_ style: DateStyle) -> [String] {
        switch style {
        case .yyyymmdd: return ["20230230", "20190229", "19990431"]
        case .iso: return ["2023/02/30", "2019/02/29", "1999/04/31"]
        case .eraKanji: return ["平成31年5月1日", "令和5年2月30日", "昭和64年1月8日"]
        case .eraLetter: return ["H31.05.01", "R05.02.30", "S64.01.08"]
        case .eraCode: return ["4310501", "5050230", "3640108"]
        }
    }
}

/// The valid roster persons of `RosterGenerator.subjects(_:)`.
public struct RosterSubjects: Sequence {
    let options: GeneratorOptions

    public func makeIterator() -> Iterator { Iterator(options: options) }

    public struct Iterator: IteratorProtocol {
        let options: GeneratorOptions
        private var profileIndex = 0
        private var rowsBefore = 0
        private var current: ProfileGeneration?

        init(options: GeneratorOptions) { self.options = options }

        public mutating func next() -> HealthRecordSubject? {
            let count = options.profiles.count
            let totalFaulty = Int((Double(options.members) * options.faultyShare).rounded())
            while true {
                if let run = current {
                    while let (record, fault) = run.nextRow() {
                        if fault == nil { return run.subject(record) }
                    }
                    current = nil
                }
                guard profileIndex < count, options.members >= 0 else { return nil }
                let i = profileIndex
                profileIndex += 1
                let rows = options.members / count + (i < options.members % count ? 1 : 0)
                let faulty = RosterGenerator.faultyShareOf(totalFaulty, upTo: rowsBefore + rows, of: options.members)
                    - RosterGenerator.faultyShareOf(totalFaulty, upTo: rowsBefore, of: options.members)
                rowsBefore += rows
                // Only opening output files can throw; none are opened here.
                current = try? ProfileGeneration(profile: options.profiles[i], rows: rows, faulty: faulty,
                                                 seed: options.seed, runDate: options.runDate, directory: "")
            }
        }
    }
}

// MARK: - one profile

/// The faults a faulty row can carry, one per row.
private enum Fault: CaseIterable {
    case checkDigit, dateInvalid, kanaInvalid, fieldMissing, birthAfterRunDate, qualificationOrder, sexInvalid, duplicate

    var reason: RejectReason {
        switch self {
        case .checkDigit: return .insurerCheckDigit
        case .dateInvalid: return .dateInvalid
        case .kanaInvalid: return .kanaInvalid
        case .fieldMissing: return .fieldMissing
        case .birthAfterRunDate: return .birthAfterRunDate
        case .qualificationOrder: return .qualificationOrder
        case .sexInvalid: return .sexInvalid
        case .duplicate: return .duplicatePerson
        }
    }
}

/// One roster row, every field as it is written (before encoding).
private struct PersonRecord {
    var insurerNumber = ""
    var symbol = ""
    var number = ""
    var branch = ""
    var kana = ""
    var kanji = ""
    var birth = ""
    var sex = ""
    var relationship = ""
    var qualified = ""
    var disqualified = ""
    var memberRef = ""
    var postal = ""
    var address1 = ""
    var address2 = ""
    var formerInsurer = ""
    var formerSymbol = ""
    var formerNumber = ""
    /// Whether this person is on the mailing list.
    var mailed = false
    /// False when the 資格喪失日 is on or before the run date (kenpo: status disqualified).
    var active = true
    // Canonical values for `HealthRecordSubject` (not written to the roster).
    var birthDay = 0
    var male = false
    /// Full-width katakana reading, surname U+3000 given name.
    var kanaFull = ""
}

/// A card symbol (記号) and how numbers under it are spelled.
private struct SymbolSlot {
    enum Style { case padded, plain, long }
    var text: String
    var style: Style
    var width: Int
    var prefix: String
    var next: Int

    /// The next number under this symbol. Number keys (last 7 digits when 8 or more, leading zeros
    /// dropped) stay unique per symbol: padded/plain use the counter itself, long keeps it in the last 7.
    mutating func take() -> String {
        let c = next
        next += 1
        switch style {
        case .padded: return zeroPad(c, width)
        case .plain: return String(pow10(width - 1) + c)
        case .long: return prefix + zeroPad(c, 7)
        }
    }
}

@inline(__always)
private func pow10(_ n: Int) -> Int {
    var v = 1
    for _ in 0..<max(0, n) { v *= 10 }
    return v
}

@inline(__always)
private func zeroPad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    let n = s.utf8.count
    return n >= width ? s : String(repeating: "0", count: width - n) + s
}

/// Days for `years` whole years (leap days approximated; exact enough for ages).
@inline(__always)
private func years(_ n: Int) -> Int { n * 365 + n / 4 }

private final class ProfileGeneration {
    let profile: InsurerProfile
    let rows: Int
    let faulty: Int
    let runDay: Int
    let directory: String
    var rng: SeededRandom

    let insurerNumber: String
    let wrongCheckDigitNumbers: [String]
    let formerInsurers: [String]
    /// Output columns: the field in each column (nil = a column no field uses).
    let layout: [RosterField?]
    let headerNames: [String]?
    let combineAddress: Bool
    let lineEnd: [UInt8]
    let text: GeneratorTextEncoder
    let dates: DateTextCache
    let impossible: [String]
    let faults: [Fault]

    // Names in the profile's kana width.
    let surnames: [SyntheticPeople.Name]
    let surnameKana: [String]
    let maleKana: [String]
    let femaleKana: [String]
    let kanaSpace: String

    let sexRaw: (male: String, female: String)
    let relInsured: String
    let relDependant: String
    /// Raw codes when the profile maps special retirees; nil = this profile has none.
    let relSpecial: (insured: String, dependant: String)?
    let hasFormerColumns: Bool

    var symbols: [SymbolSlot] = []
    var formerSymbols: [String] = []
    var formerNext = 0
    let refMultiplier: Int
    let refOffset: Int
    var personCounter = 0

    var reservoir: [PersonRecord] = []
    var pending: [PersonRecord] = []
    var pendingIndex = 0

    init(profile: InsurerProfile, rows: Int, faulty: Int, seed: UInt64, runDate: CalendarDate, directory: String) throws {
        self.profile = profile
        self.rows = rows
        self.faulty = faulty
        self.runDay = runDate.daysSinceEpoch
        self.directory = directory
        var rng = SeededRandom(seed: seed, stream: "kenpo-roster:" + profile.name)

        // Insurer numbers.
        if let n = profile.insurerNumber {
            insurerNumber = n
        } else {
            insurerNumber = ProfileGeneration.makeInsurerNumber(&rng, excluding: [])
        }
        let first7 = String(insurerNumber.prefix(7))
        let check = InsurerNumber.checkDigit(first7: first7) ?? 0
        wrongCheckDigitNumbers = (0...9).filter { $0 != check }.map { first7 + String($0) }
        var formers: [String] = []
        for _ in 0..<3 { formers.append(ProfileGeneration.makeInsurerNumber(&rng, excluding: formers + [insurerNumber])) }
        formerInsurers = formers

        // Layout.
        if profile.hasHeader {
            let mapped = RosterField.allCases.filter { profile.columns[$0] != nil }
            layout = mapped
            headerNames = mapped.map { profile.columns[$0]! }
        } else {
            var width = 0
            for (_, c) in profile.columns { width = max(width, Int(c) ?? 0) }
            var l = [RosterField?](repeating: nil, count: width)
            for f in RosterField.allCases { if let c = profile.columns[f], let i = Int(c), i >= 1 { l[i - 1] = f } }
            layout = l
            headerNames = nil
        }
        combineAddress = profile.columns[.address2] == nil
        lineEnd = profile.lineEnding == "LF" ? [0x0A] : [0x0D, 0x0A]
        text = GeneratorTextEncoder(cp932: profile.encoding == .cp932)
        let style = profile.dateStyles.first ?? .yyyymmdd
        dates = DateTextCache(style: style)
        impossible = RosterGenerator.impossibleDates(style)

        // Faults this profile's columns can carry.
        var fs: [Fault] = [.checkDigit, .dateInvalid, .kanaInvalid, .fieldMissing, .birthAfterRunDate, .duplicate]
        if profile.columns[.qualifiedDate] != nil && profile.columns[.disqualifiedDate] != nil { fs.append(.qualificationOrder) }
        if profile.columns[.sex] != nil { fs.append(.sexInvalid) }
        faults = fs

        // Names; 𠮷 only where the encoding can hold it.
        surnames = profile.encoding == .utf8 ? SyntheticPeople.surnames + SyntheticPeople.utf8OnlySurnames : SyntheticPeople.surnames
        let half = profile.halfWidthKana
        func kana(_ s: String) -> String { half ? KanaName.toHalfWidth(s) : s }
        surnameKana = surnames.map { kana($0.kana) }
        maleKana = SyntheticPeople.maleGivenNames.map { kana($0.kana) }
        femaleKana = SyntheticPeople.femaleGivenNames.map { kana($0.kana) }
        kanaSpace = kana("\u{3000}")

        // Codes.
        func raw(_ values: [String: String], _ canonical: String, _ fallback: String) -> String {
            values.keys.sorted().first { values[$0] == canonical } ?? fallback
        }
        sexRaw = (raw(profile.sexValues, "M", "1"), raw(profile.sexValues, "F", "2"))
        relInsured = raw(profile.relationshipValues, "insured", "本人")
        relDependant = raw(profile.relationshipValues, "dependant", "家族")
        if let si = profile.relationshipValues.keys.sorted().first(where: { profile.relationshipValues[$0] == "special_retiree_insured" }) {
            relSpecial = (si, raw(profile.relationshipValues, "special_retiree_dependant", relDependant))
        } else {
            relSpecial = nil
        }
        hasFormerColumns = profile.columns[.formerInsurerNumber] != nil && profile.columns[.formerSymbol] != nil
            && profile.columns[.formerNumber] != nil

        // Member references: an affine bijection of the person counter modulo 10⁹.
        var a = 0
        repeat { a = rng.int(in: 100_000_001...999_999_999) } while a % 2 == 0 || a % 5 == 0
        refMultiplier = a
        refOffset = rng.below(1_000_000_000)
        self.rng = rng
        makeSymbols()
    }

    static func makeInsurerNumber(_ rng: inout SeededRandom, excluding: [String]) -> String {
        while true {
            let first7 = "06" + zeroPad(rng.int(in: 1...47), 2) + zeroPad(rng.int(in: 1...999), 3)
            let n = first7 + String(InsurerNumber.checkDigit(first7: first7)!)
            if !excluding.contains(n) { return n }
        }
    }

    /// Card symbols: digits, office word + digits, full-width digits; unique after width folding.
    func makeSymbols() {
        let count = 6 + rows / 5000
        var seen = Set<String>()
        func fold(_ s: String) -> String {
            String(String.UnicodeScalarView(s.unicodeScalars.map { v in
                (0xFF10...0xFF19).contains(v.value) ? Unicode.Scalar(v.value - 0xFEE0)! : v
            }))
        }
        func fullWidth(_ s: String) -> String {
            String(String.UnicodeScalarView(s.unicodeScalars.map { v in
                (0x30...0x39).contains(v.value) ? Unicode.Scalar(v.value + 0xFEE0)! : v
            }))
        }
        while symbols.count < count {
            let kind = rng.weighted([50, 30, 20])
            var t: String
            switch kind {
            case 0:
                t = String(rng.int(in: 1...9))
                for _ in 0..<rng.int(in: 1...4) { t += String(rng.below(10)) }
            case 1: t = rng.pick(SyntheticPeople.symbolWords) + String(rng.int(in: 1...99))
            default: t = fullWidth(String(rng.int(in: 100...9999)))
            }
            guard seen.insert(fold(t)).inserted else { continue }
            let style: SymbolSlot.Style
            switch rng.weighted([45, 30, 25]) {
            case 0: style = .padded
            case 1: style = .plain
            default: style = .long
            }
            let width = style == .long ? rng.int(in: 8...10) : rng.int(in: 4...7)
            var prefix = ""
            if style == .long { for _ in 0..<(width - 7) { prefix += String(rng.below(10)) } }
            symbols.append(SymbolSlot(text: t, style: style, width: width, prefix: prefix, next: 1 + rng.below(50)))
        }
        for _ in 0..<4 { formerSymbols.append("旧" + String(rng.int(in: 10...999))) }
    }

    // MARK: generation

    func generate(onSubject: ((HealthRecordSubject) throws -> Void)? = nil,
                  reissue: ReissueRequestGenerator? = nil) throws -> [GeneratedFile] {
        let rosterPath = directory + "/roster.csv"
        let mailingPath = directory + "/mailing.csv"
        let rejectsPath = directory + "/expected_rejects.csv"
        let roster = try GeneratorFileWriter(path: rosterPath)
        let mailing = try GeneratorFileWriter(path: mailingPath)
        let rejects = try GeneratorFileWriter(path: rejectsPath)
        var ok = false
        defer { if !ok { roster.abandon(); mailing.abandon(); rejects.abandon() } }

        if profile.encoding == .utf8 {
            roster.write([0xEF, 0xBB, 0xBF])
            mailing.write([0xEF, 0xBB, 0xBF])
        }
        var line = 0
        if let headerNames {
            writeRow(headerNames, to: roster)
            line = 1
        }
        writeRow(["保険者番号", "記号", "番号", "枝番", "カナ氏名", "氏名", "生年月日", "郵便番号", "住所1", "住所2", "送付先区分"], to: mailing)
        rejects.write(Array("line,reason_code\n".utf8))

        var mailed = 0
        var lastEligible: PersonRecord?
        while let (record, fault) = nextRow() {
            line += 1
            writeRoster(record, to: roster)
            if let fault {
                rejects.write(Array("\(line),\(fault.reason.rawValue)\n".utf8))
            } else {
                if record.mailed {
                    writeMailing(record, to: mailing)
                    mailed += 1
                }
                if let reissue {
                    let eligible = record.mailed && record.active
                    if eligible { lastEligible = record }
                    if reissue.wants(eligible: eligible), let id = personID(record) { reissue.add(personID: id) }
                }
                if let onSubject { try onSubject(subject(record)) }
            }
        }
        if let reissue, reissue.needsFallback, let r = lastEligible, let id = personID(r) { reissue.add(personID: id) }
        try roster.close()
        try mailing.close()
        try rejects.close()
        ok = true
        return [
            GeneratedFile(profile: profile.name, kind: "roster", path: rosterPath, rows: rows, faultyRows: faultyWritten),
            GeneratedFile(profile: profile.name, kind: "mailing", path: mailingPath, rows: mailed, faultyRows: 0),
            GeneratedFile(profile: profile.name, kind: "expected_rejects", path: rejectsPath, rows: faultyWritten, faultyRows: faultyWritten),
        ]
    }

    // Row sequencing, shared by the file writer and `RosterGenerator.subjects`.
    var rowIndex = 0
    var faultyWritten = 0

    /// The next roster row (nil after the last) and its fault, if it is a faulty row. Faulty rows sit at
    /// evenly spread positions: row i is faulty when ⌊((i+1)·F + n/2) / n⌋ grows.
    func nextRow() -> (PersonRecord, Fault?)? {
        let n = rows, f = faulty, half = rows / 2
        guard rowIndex < n else { return nil }
        let i = rowIndex
        rowIndex += 1
        let isFaulty = f > 0 && ((i + 1) * f + half) / n > (i * f + half) / n
        if isFaulty {
            let (record, fault) = makeFaulty()
            faultyWritten += 1
            return (record, fault)
        }
        if pendingIndex >= pending.count {
            // Room for the household: the good rows still to come.
            let faultyLeft = f - faultyWritten
            let goodLeft = (n - i) - faultyLeft
            makeHousehold(maxSize: max(1, goodLeft))
        }
        let record = pending[pendingIndex]
        pendingIndex += 1
        remember(record)
        return (record, nil)
    }

    /// The person_id kenpo gives this row's person when it reads the roster into an empty data folder.
    func personID(_ r: PersonRecord) -> String? {
        ReissueRequestGenerator.personID(insurerNumber: r.insurerNumber, symbol: r.symbol, number: r.number, branch: r.branch,
                                         kana: r.kana, birthDate: CalendarDate.fromDaysSinceEpoch(r.birthDay),
                                         memberRef: profile.columns[.memberRef] != nil ? r.memberRef : "")
    }

    func subject(_ r: PersonRecord) -> HealthRecordSubject {
        HealthRecordSubject(profile: profile.name, insurerNumber: r.insurerNumber, symbol: r.symbol, number: r.number,
                        branch: r.branch, kana: r.kanaFull, birthDate: CalendarDate.fromDaysSinceEpoch(r.birthDay),
                        male: r.male, memberRef: r.memberRef)
    }

    func remember(_ r: PersonRecord) {
        if reservoir.count < 64 { reservoir.append(r) } else { reservoir[rng.below(64)] = r }
    }

    // MARK: households

    func nextMemberRef() -> String {
        let k = personCounter
        personCounter += 1
        let v = (refMultiplier * (k % 1_000_000_000) + refOffset) % 1_000_000_000
        return "M" + zeroPad(v, 9)
    }

    func date(_ day: Int) -> String { dates.text(day) }

    func uniformDay(_ lo: Int, _ hi: Int) -> Int { hi <= lo ? lo : lo + rng.below(hi - lo + 1) }

    /// One household's rows: the insured person (branch 00) and up to `maxSize − 1` dependants.
    func makeHousehold(maxSize: Int) {
        pending.removeAll(keepingCapacity: true)
        pendingIndex = 0
        let special = relSpecial != nil && rng.chance(0.01)
        var dependants = [0, 1, 2, 3, 4][rng.weighted([40, 25, 20, 10, 5])]
        if special { dependants = min(dependants, 1) }
        dependants = min(dependants, maxSize - 1)

        let slot = rng.below(symbols.count)
        let symbol = symbols[slot].text
        let number = symbols[slot].take()
        let surnameIndex = rng.below(surnames.count)
        let (postal, a1, a2) = makeAddress()

        // The insured person.
        let age = special ? rng.int(in: 60...73) : rng.int(in: 20...73)
        let birth = runDay - years(age) - 1 - rng.below(365)
        let male = rng.chance(0.6)
        let qualifiedLo = birth + years(special ? 60 : 18) + 1
        let qualified = uniformDay(min(qualifiedLo, runDay), runDay)
        lastInsuredQualified = qualified
        var people: [(male: Bool, given: Int, birth: Int, qualified: Int, rel: Int)] = []  // rel 0 insured, 1 dependant
        people.append((male, givenIndex(male: male), birth, qualified, 0))

        for k in 0..<dependants {
            if k == 0 && rng.chance(0.85) {
                // Spouse, married after both were 18 and no earlier than the insured's qualification.
                let sAge = max(20, min(80, age + rng.int(in: -6...6)))
                var sBirth = runDay - years(sAge) - 1 - rng.below(365)
                if sBirth > runDay - years(18) { sBirth = runDay - years(18) }
                let married = uniformDay(min(max(qualified, sBirth + years(18) + 1), runDay), runDay)
                people.append((!male, givenIndex(male: !male), sBirth, married, 1))
            } else if k == dependants - 1 && k > 0 && age <= 55 && rng.chance(0.25) {
                // A parent.
                let pAge = min(95, age + rng.int(in: 22...35))
                let pBirth = runDay - years(pAge) - 1 - rng.below(365)
                let pMale = rng.chance(0.3)
                let q = uniformDay(qualified, runDay)
                people.append((pMale, givenIndex(male: pMale), pBirth, q, 1))
            } else {
                // A child: born when the insured was 20 to 45, 22 or younger today.
                let lo = max(birth + years(20), runDay - years(22))
                let hi = min(runDay, birth + years(45))
                if lo > hi { break }   // too old for dependent children: a smaller household
                let cBirth = uniformDay(lo, hi)
                let cMale = rng.chance(0.5)
                people.append((cMale, givenIndex(male: cMale), cBirth, max(cBirth, qualified), 1))
            }
        }
        // No two persons of one card with the same reading and birth date (kenpo would call that a duplicate).
        for i in 1..<people.count {
            var clash = true
            while clash {
                clash = false
                for j in 0..<i where people[j].birth == people[i].birth && kanaOf(people[j]) == kanaOf(people[i]) {
                    people[i].given = givenIndex(male: people[i].male)
                    clash = true
                }
            }
        }

        let surname = surnames[surnameIndex]
        var formerSymbol = "", formerNumber = "", formerInsurer = ""
        if special && hasFormerColumns {
            formerInsurer = rng.pick(formerInsurers)
            formerSymbol = rng.pick(formerSymbols)
            formerNumber = String(100_000 + formerNext)
            formerNext += 1
        }
        for (k, p) in people.enumerated() {
            var r = PersonRecord()
            r.insurerNumber = insurerNumber
            r.symbol = symbol
            r.number = number
            r.branch = zeroPad(k, 2)
            let given = p.male ? SyntheticPeople.maleGivenNames[p.given] : SyntheticPeople.femaleGivenNames[p.given]
            r.kanji = surname.kanji + "\u{3000}" + given.kanji
            r.kana = surnameKana[surnameIndex] + kanaSpace + (p.male ? maleKana[p.given] : femaleKana[p.given])
            r.birth = date(p.birth)
            r.birthDay = p.birth
            r.male = p.male
            r.kanaFull = surname.kana + "\u{3000}" + given.kana
            r.sex = p.male ? sexRaw.male : sexRaw.female
            if let s = relSpecial, special {
                r.relationship = p.rel == 0 ? s.insured : s.dependant
            } else {
                r.relationship = p.rel == 0 ? relInsured : relDependant
            }
            if p.rel == 0 && special {
                r.formerInsurer = formerInsurer
                r.formerSymbol = formerSymbol
                r.formerNumber = formerNumber
            }
            r.qualified = date(p.qualified)
            if rng.chance(0.03) {
                // Some have left (or will leave).
                if p.qualified < runDay && rng.chance(0.6) {
                    r.disqualified = date(uniformDay(p.qualified + 1, runDay))
                    r.active = false
                } else {
                    r.disqualified = date(runDay + 1 + rng.below(180))
                }
            }
            r.memberRef = nextMemberRef()
            r.postal = postal
            r.address1 = a1
            r.address2 = a2
            r.mailed = rng.chance(0.6)
            pending.append(r)
        }
    }

    func kanaOf(_ p: (male: Bool, given: Int, birth: Int, qualified: Int, rel: Int)) -> String {
        p.male ? SyntheticPeople.maleGivenNames[p.given].kana : SyntheticPeople.femaleGivenNames[p.given].kana
    }

    func givenIndex(male: Bool) -> Int {
        rng.below(male ? SyntheticPeople.maleGivenNames.count : SyntheticPeople.femaleGivenNames.count)
    }

    static let fullDigits = ["０", "１", "２", "３", "４", "５", "６", "７", "８", "９"]

    func number(_ v: Int, fullWidth: Bool) -> String {
        fullWidth ? String(v).map { Self.fullDigits[Int(String($0))!] }.joined() : String(v)
    }

    /// Postal code "123-4567", address line 1 (prefecture, city, town, block) and line 2 (building, room) or "".
    func makeAddress() -> (String, String, String) {
        let place = rng.pick(SyntheticPeople.places)
        let townIndex = rng.below(place.towns.count)
        let town = place.towns[townIndex]
        let postal = zeroPad(place.postalPrefix, 3) + "-" + zeroPad((townIndex * 3331 + place.postalPrefix * 17) % 10000, 4)
        let chome = rng.int(in: 1...9), ban = rng.int(in: 1...30), go = rng.int(in: 1...25)
        let block: String
        switch rng.weighted([40, 35, 25]) {
        case 0: block = "\(chome)-\(ban)-\(go)"
        case 1: block = number(chome, fullWidth: true) + "丁目" + number(ban, fullWidth: true) + "番" + number(go, fullWidth: true) + "号"
        default: block = number(chome, fullWidth: true) + "－" + number(ban, fullWidth: true) + "－" + number(go, fullWidth: true)
        }
        let a1 = place.prefecture + place.city + town + block
        var a2 = ""
        if rng.chance(0.4) {
            let room = rng.int(in: 1...12) * 100 + rng.int(in: 1...12)
            let building = rng.chance(0.03) ? rng.pick(SyntheticPeople.buildingsNeedingQuotes) : rng.pick(SyntheticPeople.buildings)
            a2 = building + (rng.chance(0.5) ? " \(room)号室" : "\u{3000}" + number(room, fullWidth: true))
        }
        return (postal, a1, a2)
    }

    // MARK: faults

    /// A faulty row: a fresh single person with exactly one fault, or a copy of an earlier valid row.
    func makeFaulty() -> (PersonRecord, Fault) {
        var fault = faults[rng.below(faults.count)]
        if fault == .duplicate {
            if !reservoir.isEmpty { return (reservoir[rng.below(reservoir.count)], .duplicate) }
            fault = .kanaInvalid
        }
        // A fresh valid person (their own card), then one fault.
        let savedPending = pending, savedIndex = pendingIndex
        makeHousehold(maxSize: 1)
        var r = pending[0]
        pending = savedPending
        pendingIndex = savedIndex
        r.mailed = false
        switch fault {
        case .checkDigit:
            r.insurerNumber = rng.pick(wrongCheckDigitNumbers)
        case .dateInvalid:
            let bad = rng.pick(impossible)
            if profile.columns[.qualifiedDate] != nil && rng.chance(0.3) { r.qualified = bad } else { r.birth = bad }
        case .kanaInvalid:
            // The kanji surname where the kana should be.
            let given = r.kana.components(separatedBy: kanaSpace).last ?? r.kana
            r.kana = r.kanji.components(separatedBy: "\u{3000}").first! + kanaSpace + given
        case .fieldMissing:
            r.number = ""
        case .birthAfterRunDate:
            r.birth = date(runDay + 1 + rng.below(300))
            r.qualified = ""
            r.disqualified = ""
        case .qualificationOrder:
            // Qualified at 18 or later, so one day to a year earlier is still after birth.
            r.disqualified = date(lastInsuredQualified - 1 - rng.below(365))
        case .sexInvalid:
            r.sex = rng.pick(["X", "3", "?"])
        case .duplicate:
            break
        }
        return (r, fault)
    }

    /// The qualification day of the insured person of the last household made.
    var lastInsuredQualified = 0

    // MARK: writing

    func field(_ r: PersonRecord, _ f: RosterField) -> String {
        switch f {
        case .insurerNumber: return r.insurerNumber
        case .symbol: return r.symbol
        case .number: return r.number
        case .branch: return r.branch
        case .kanaName: return r.kana
        case .kanjiName: return r.kanji
        case .birthDate: return r.birth
        case .sex: return r.sex
        case .relationship: return r.relationship
        case .qualifiedDate: return r.qualified
        case .disqualifiedDate: return r.disqualified
        case .memberRef: return r.memberRef
        case .postalCode: return r.postal
        case .address:
            if combineAddress && !r.address2.isEmpty { return r.address1 + "\u{3000}" + r.address2 }
            return r.address1
        case .address2: return r.address2
        case .formerInsurerNumber: return r.formerInsurer
        case .formerSymbol: return r.formerSymbol
        case .formerNumber: return r.formerNumber
        }
    }

    func writeRoster(_ r: PersonRecord, to w: GeneratorFileWriter) {
        var first = true
        for f in layout {
            if !first { w.write(0x2C) }
            first = false
            if let f { text.writeField(field(r, f), to: w) }
        }
        w.write(lineEnd)
    }

    func writeMailing(_ r: PersonRecord, to w: GeneratorFileWriter) {
        writeRow([r.insurerNumber, r.symbol, r.number, r.branch, r.kana, r.kanji, r.birth, r.postal, r.address1, r.address2, "自宅"], to: w)
    }

    func writeRow(_ values: [String], to w: GeneratorFileWriter) {
        for (i, v) in values.enumerated() {
            if i > 0 { w.write(0x2C) }
            text.writeField(v, to: w)
        }
        w.write(lineEnd)
    }
}

// MARK: - dates

/// Formatted dates by day number, so each day is formatted once.
private final class DateTextCache {
    let style: DateStyle
    let base: Int
    var slots: [String?]

    init(style: DateStyle) {
        self.style = style
        base = CalendarDate(year: 1900, month: 1, day: 1)!.daysSinceEpoch
        let end = CalendarDate(year: 2100, month: 1, day: 1)!.daysSinceEpoch
        slots = Array(repeating: nil, count: end - base)
    }

    func text(_ day: Int) -> String {
        let i = day - base
        if i >= 0 && i < slots.count, let s = slots[i] { return s }
        let s = JapaneseDate.format(CalendarDate.fromDaysSinceEpoch(day), style: style)
        if i >= 0 && i < slots.count { slots[i] = s }
        return s
    }
}

// MARK: - encoding and buffered output

/// Encodes field text to UTF-8 or CP932 (`CP932Encoder`, which keeps its own per-character table)
/// and quotes it as `CSVWriter` does. Quoting after encoding is safe: quote, comma, CR and LF never
/// occur inside a CP932 character.
final class GeneratorTextEncoder {
    private let encoder: CP932Encoder?
    private var encoded: [UInt8] = []
    private var quoted: [UInt8] = []

    init(cp932: Bool) {
        encoder = cp932 ? CP932Encoder() : nil
    }

    func writeField(_ s: String, to w: GeneratorFileWriter) {
        if let encoder {
            encoded.removeAll(keepingCapacity: true)
            encoder.encode(s, into: &encoded)
            encoded.withUnsafeBytes { write($0, to: w) }
        } else {
            var v = s
            v.withUTF8 { write(UnsafeRawBufferPointer($0), to: w) }
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer, to w: GeneratorFileWriter) {
        guard CSVWriter.needsQuoting(bytes) else { w.write(bytes.assumingMemoryBound(to: UInt8.self)); return }
        quoted.removeAll(keepingCapacity: true)
        CSVWriter.appendQuoted(bytes, to: &quoted)
        w.write(quoted)
    }
}

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// Writes a file through a 1 MB buffer and `fwrite`, to `path.part`, renamed to `path` on `close()`
/// (so an interrupted run never leaves a complete-looking file). Files are created owner-only (0600).
final class GeneratorFileWriter {
    let path: String
    private let partPath: String
    private var file: UnsafeMutablePointer<FILE>?
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    private var failure: Int32 = 0

    init(path: String, capacity: Int = 1 << 20) throws {
        self.path = path
        self.partPath = path + ".part"
        self.capacity = capacity
        let fd = open(partPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: partPath, message: String(cString: strerror(errno))) }
        guard let f = fdopen(fd, "wb") else {
            let e = errno
            closeDescriptor(fd)
            throw KenpoError.io(path: partPath, message: String(cString: strerror(e)))
        }
        file = f
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if let file { fclose(file) }
    }

    @inline(__always)
    func write(_ byte: UInt8) {
        if count == capacity { drain() }
        buffer[count] = byte
        count += 1
    }

    func write(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { write($0) } }

    @inline(__always)
    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.count > capacity - count {
            drain()
            if bytes.count > capacity {
                put(bytes.baseAddress!, bytes.count)
                return
            }
        }
        (buffer + count).update(from: bytes.baseAddress!, count: bytes.count)
        count += bytes.count
    }

    private func drain() {
        put(buffer, count)
        count = 0
    }

    private func put(_ p: UnsafePointer<UInt8>, _ n: Int) {
        guard n > 0, failure == 0, let file else { return }
        if fwrite(p, 1, n, file) != n { failure = errno == 0 ? EIO : errno }
    }

    /// Flushes, closes and renames into place.
    func close() throws {
        drain()
        guard let f = file else { return }
        file = nil
        if fflush(f) != 0 && failure == 0 { failure = errno }
        if fclose(f) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            unlink(partPath)
            throw KenpoError.io(path: path, message: "cannot write: \(String(cString: strerror(failure)))")
        }
        if rename(partPath, path) != 0 {
            let e = errno
            unlink(partPath)
            throw KenpoError.io(path: path, message: "cannot rename \(partPath) into place: \(String(cString: strerror(e)))")
        }
    }

    /// Drops the partial file (after an error).
    func abandon() {
        if let f = file { fclose(f); file = nil }
        unlink(partPath)
    }
}
