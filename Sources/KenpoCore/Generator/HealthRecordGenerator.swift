import Foundation

/// A person the health-record generator writes documents for: a valid roster row, with its card
/// details exactly as on the roster and its reading, sex and birth date in canonical form.
public struct HealthRecordSubject: Sendable, Equatable {
    /// The insurer profile the person's roster belongs to (documents go to `<out>/<profile>/`).
    public var profile: String
    public var insurerNumber: String
    public var symbol: String
    public var number: String
    /// "00" for the insured person, "01"… for dependants.
    public var branch: String
    /// Full-width katakana, surname and given name separated by U+3000 (the roster may spell it half-width).
    public var kana: String
    public var birthDate: CalendarDate
    public var male: Bool
    /// The roster's member reference (unique per profile).
    public var memberRef: String

    public init(profile: String, insurerNumber: String, symbol: String, number: String, branch: String,
                kana: String, birthDate: CalendarDate, male: Bool, memberRef: String) {
        self.profile = profile
        self.insurerNumber = insurerNumber
        self.symbol = symbol
        self.number = number
        self.branch = branch
        self.kana = kana
        self.birthDate = birthDate
        self.male = male
        self.memberRef = memberRef
    }
}

/// What health records to generate for the members given to `HealthRecordGenerator`.
public struct HealthRecordOptions {
    public var seed: UInt64
    /// "Today": checkups fall in the year before it, notices in the twelve months before its month.
    public var runDate: CalendarDate
    /// Share of members aged 40–74 (on the checkup date) who take the specific checkup.
    public var checkupShare: Double
    /// Years of checkups per member (1 = the last year only); later years go back a year each.
    public var checkupYears: Int
    /// Share of members with a medical-cost notice file.
    public var noticeShare: Double
    /// Share of members with a prescription file.
    public var prescriptionShare: Double
    /// Share of checkups with one injected edge case (could not measure, not done, above / below the
    /// input range). Raise it in tests to see every case in a small set.
    public var edgeCaseRate: Double
    /// The transfer set as ZIP archives (else folders of the same layout).
    public var transferZip: Bool
    /// Most DATA documents in one transfer set; more start the next archive.
    public var transferLimit: Int
    /// Files go to `outDirectory/<profile>/`.
    public var outDirectory: String

    public init(seed: UInt64 = 42, runDate: CalendarDate, checkupShare: Double = 0.6, checkupYears: Int = 1,
                noticeShare: Double = 0.3, prescriptionShare: Double = 0.25, edgeCaseRate: Double = 0.04,
                transferZip: Bool = true, transferLimit: Int = 10_000, outDirectory: String) {
        self.seed = seed
        self.runDate = runDate
        self.checkupShare = checkupShare
        self.checkupYears = checkupYears
        self.noticeShare = noticeShare
        self.prescriptionShare = prescriptionShare
        self.edgeCaseRate = edgeCaseRate
        self.transferZip = transferZip
        self.transferLimit = transferLimit
        self.outDirectory = outDirectory
    }
}

/// Writes synthetic health records for roster members: specific-checkup documents (MHLW hc08, valid
/// against the schema) from six institutions with their own habits, the transfer sets (ZIP) of one
/// of them, medical-cost notices and prescriptions in kenpo's formats. Per profile:
///
///     <out>/<profile>/checkups/<institution>/h<institution><created><seq>.xml
///     <out>/<profile>/transfer/<sender>_<YYYYMMDD>_<nnn>.zip   (or a folder of that name)
///     <out>/<profile>/notices/n<seq>.xml
///     <out>/<profile>/prescriptions/p<seq>.xml
///     <out>/<profile>/health_records.csv   one line per document written
///
/// Each member's documents depend only on the seed, the profile and the member (their own random
/// stream), so the same seed and members give the same bytes. Streams: one document at a time
/// through one reused buffer; memory does not grow with the number of members.
public final class HealthRecordGenerator {
    /// Changes whenever the same options and members would produce different bytes.
    public static let version = 1

    public let options: HealthRecordOptions
    private let synthesizer: CheckupSynthesizer
    private let care: CareHistorySynthesizer
    private let checkupWriter = CheckupDocumentWriter()
    private let noticeWriter = CostNoticeWriter()
    private let prescriptionWriter = PrescriptionWriter()
    private var profiles: [String: ProfileOutput] = [:]
    private var profileOrder: [String] = []
    private var finished = false

    public init(_ options: HealthRecordOptions) throws {
        guard (0...1).contains(options.checkupShare), (0...1).contains(options.noticeShare),
              (0...1).contains(options.prescriptionShare), (0...1).contains(options.edgeCaseRate) else {
            throw KenpoError.usage("health-record shares must lie between 0 and 1")
        }
        guard options.checkupYears >= 1, options.checkupYears <= 10 else {
            throw KenpoError.usage("checkup years must be between 1 and 10")
        }
        guard options.transferLimit >= 1, options.transferLimit <= 60_000 else {
            throw KenpoError.usage("the transfer limit must be between 1 and 60000 documents per archive")
        }
        self.options = options
        synthesizer = CheckupSynthesizer(edgeCaseRate: options.edgeCaseRate)
        care = CareHistorySynthesizer(runDate: options.runDate)
    }

    /// Generates every document for `people` and returns what was written.
    public static func generate<S: Sequence>(_ options: HealthRecordOptions, people: S) throws -> [GeneratedFile]
    where S.Element == HealthRecordSubject {
        let g = try HealthRecordGenerator(options)
        for p in people { try g.add(p) }
        return try g.finish()
    }

    /// Writes one member's documents.
    public func add(_ subject: HealthRecordSubject) throws {
        precondition(!finished, "HealthRecordGenerator.add after finish")
        let out = try profile(subject.profile)
        var rng = SeededRandom(seed: options.seed, stream: "kenpo-health:\(subject.profile):\(subject.memberRef)")
        let runDay = options.runDate.daysSinceEpoch

        // Checkups: a person who takes the checkup mostly does so every year, mostly at one institution.
        let takes = rng.chance(options.checkupShare)
        var institution = rng.weighted(CheckupInstitutions.weights)
        for year in 0..<options.checkupYears {
            var day = runDay - 12 - rng.below(330) - 365 * year
            if (day + 4) % 7 == 0 { day -= 1 }  // no checkups on Sundays
            let created = min(day + 7 + rng.below(40), runDay - 1)
            let attend = rng.chance(0.9)
            if year > 0 && rng.chance(0.2) { institution = rng.weighted(CheckupInstitutions.weights) }
            let date = CalendarDate.fromDaysSinceEpoch(day)
            let age = ageOn(date, born: subject.birthDate)
            guard takes, attend || year == 0, (40...74).contains(age) else { continue }
            var crng = SeededRandom(seed: rng.next(), stream: "checkup")
            let checkup = synthesizer.make(subject: subject, institution: institution, checkupDate: date,
                                           createdDate: CalendarDate.fromDaysSinceEpoch(max(created, day)), rng: &crng)
            try out.write(checkup, writer: checkupWriter, options: options)
        }

        // Medical-cost notices and prescriptions from one year of care.
        let notices = rng.chance(options.noticeShare)
        let prescriptions = rng.chance(options.prescriptionShare)
        guard notices || prescriptions else { return }
        var hrng = SeededRandom(seed: rng.next(), stream: "care")
        let history = care.make(subject: subject, rng: &hrng)
        if notices && !history.notices.isEmpty {
            let style = KenpoFileStyle.draw(&hrng)
            try out.writeNotices(subject, history.notices, noticeWriter.render(subject, history.notices, style: style))
        }
        if prescriptions && !history.dispensings.isEmpty {
            let style = KenpoFileStyle.draw(&hrng)
            try out.writePrescriptions(subject, history.dispensings,
                                       prescriptionWriter.render(subject, history.dispensings, style: style))
        }
    }

    /// Closes the transfer sets and index files; returns, per profile: "checkups" (folder, rows =
    /// documents), "transfer" (one per archive, rows = DATA documents), "notices", "prescriptions"
    /// (folders, rows = files) and "health_index" (rows = lines).
    public func finish() throws -> [GeneratedFile] {
        precondition(!finished, "HealthRecordGenerator.finish called twice")
        finished = true
        var files: [GeneratedFile] = []
        for name in profileOrder { files.append(contentsOf: try profiles[name]!.finish(options: options)) }
        return files
    }

    /// A transfer set in memory for `subjects`: one checkup each from the transfer-sending
    /// institution (age not checked), as `(name, bytes)` entries: `ix08_V08.xml`, `su08_V08.xml`,
    /// `CLAIMS/`, `XSD/`, `DATA/`, `DATA/<file>.xml`…. For tests and small sets.
    public static func transferSet(_ options: HealthRecordOptions, subjects: [HealthRecordSubject]) throws
        -> [(name: String, bytes: [UInt8])] {
        let sink = TransferMemorySink()
        let synthesizer = CheckupSynthesizer(edgeCaseRate: options.edgeCaseRate)
        let writer = CheckupDocumentWriter()
        let sender = CheckupInstitutions.all[CheckupInstitutions.transferSender]
        let created = CalendarDate.fromDaysSinceEpoch(options.runDate.daysSinceEpoch - 1)
        var totals = TransferTotals()
        for (i, s) in subjects.enumerated() {
            var rng = SeededRandom(seed: options.seed, stream: "kenpo-transfer:\(s.profile):\(s.memberRef)")
            let day = options.runDate.daysSinceEpoch - 12 - rng.below(300)
            let c = synthesizer.make(subject: s, institution: CheckupInstitutions.transferSender,
                                     checkupDate: CalendarDate.fromDaysSinceEpoch(day),
                                     createdDate: created, rng: &rng)
            try sink.addDocument(name: ProfileOutput.checkupName(sender.number, created, i + 1), bytes: writer.render(c))
            totals.add(&rng)
        }
        let receiver = subjects.first?.insurerNumber ?? "00000000"
        try sink.finish(index: TransferSetDocuments.index(sender: sender.number, receiver: receiver, created: created,
                                                           records: subjects.count),
                        summary: totals.summary())
        return sink.entries
    }

    /// Writes `transferSet` entries as a ZIP archive (an entry whose name ends in "/" is a folder).
    public static func writeTransferZip(_ entries: [(name: String, bytes: [UInt8])], to path: String) throws {
        let zip = try ZipWriter(path: path)
        for e in entries {
            if e.name.hasSuffix("/") {
                try zip.addDirectory(name: String(e.name.dropLast()))
            } else {
                try zip.add(name: e.name, bytes: e.bytes, compress: true)
            }
        }
        try zip.finish()
    }

    private func profile(_ name: String) throws -> ProfileOutput {
        if let p = profiles[name] { return p }
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw KenpoError.usage("invalid profile name '\(name)' for health records")
        }
        let p = try ProfileOutput(name: name, directory: options.outDirectory + "/" + name)
        profiles[name] = p
        profileOrder.append(name)
        return p
    }
}

/// Unit prices and counter payments of one transfer set (for its summary).
struct TransferTotals {
    var subjects = 0, cost = 0, payment = 0

    /// One more checkup: a contract price and what was paid at the counter.
    mutating func add(_ rng: inout SeededRandom) {
        subjects += 1
        cost += [9_350, 10_780, 11_000][rng.weighted([60, 25, 15])]
        payment += [0, 1_000, 500][rng.weighted([60, 30, 10])]
    }

    func summary() -> [UInt8] {
        TransferSetDocuments.summary(subjects: subjects, cost: cost, payment: payment, claim: cost - payment)
    }
}

/// One profile's output folder and counters.
private final class ProfileOutput {
    let name: String
    let directory: String
    private let index: GeneratorFileWriter
    private var indexLines = 0
    private var madeDirectories = Set<String>()
    private var sequence: [Int]
    private var looseCheckups = 0
    private var noticeFiles = 0
    private var prescriptionFiles = 0
    // The open transfer set.
    private var transfer: TransferSink?
    private var transferDocuments = 0
    private var transferTotals = TransferTotals()
    private var transferRng: SeededRandom
    private var transferArchives = 0
    private var receiver = ""
    private var finishedSets: [GeneratedFile] = []
    private var line = XMLBytes(capacity: 256)

    init(name: String, directory: String) throws {
        self.name = name
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        index = try GeneratorFileWriter(path: directory + "/health_records.csv")
        index.write(Array("kind,file,member_ref,date,institution,records,abnormal\n".utf8))
        sequence = Array(repeating: 0, count: CheckupInstitutions.all.count)
        transferRng = SeededRandom(seed: 0, stream: "kenpo-transfer-prices:" + name)
    }

    static func checkupName(_ institution: String, _ created: CalendarDate, _ seq: Int) -> String {
        var x = XMLBytes(capacity: 40)
        x.raw("h"); x.plain(institution); x.compactDate(created); x.padded(seq, 7); x.raw(".xml")
        return String(decoding: x.bytes, as: UTF8.self)
    }

    private func folder(_ relative: String) throws -> String {
        let path = directory + "/" + relative
        if madeDirectories.insert(relative).inserted { try FileSystem.makeDirectory(path) }
        return path
    }

    func write(_ c: SyntheticCheckup, writer: CheckupDocumentWriter, options: HealthRecordOptions) throws {
        let inst = CheckupInstitutions.all[c.institution]
        sequence[c.institution] += 1
        let fileName = Self.checkupName(inst.number, c.createdDate, sequence[c.institution])
        let bytes = writer.render(c)
        let file: String
        if c.institution == CheckupInstitutions.transferSender {
            let sink = try openTransfer(options: options, receiver: c.subject.insurerNumber)
            try sink.addDocument(name: fileName, bytes: bytes)
            transferDocuments += 1
            transferTotals.add(&transferRng)
            file = String(sink.location.dropFirst(directory.count + 1)) + (options.transferZip ? "!/DATA/" : "/DATA/") + fileName
            if transferDocuments >= options.transferLimit { try closeTransfer(options: options) }
        } else {
            let dir = try folder("checkups/" + inst.number)
            try GeneratedFileOutput.write(bytes, to: dir + "/" + fileName)
            looseCheckups += 1
            file = "checkups/" + inst.number + "/" + fileName
        }
        indexLine("checkup", file, c.subject.memberRef, { $0.isoDate(c.checkupDate) }, inst.number, c.resultCount,
                  c.abnormal ? "1" : "0")
    }

    func writeNotices(_ s: HealthRecordSubject, _ notices: [CareHistory.Notice], _ bytes: [UInt8]) throws {
        noticeFiles += 1
        let relative = "notices/n" + pad7(noticeFiles) + ".xml"
        _ = try folder("notices")
        try GeneratedFileOutput.write(bytes, to: directory + "/" + relative)
        let last = notices.last!
        indexLine("notice", relative, s.memberRef, { $0.padded(last.year, 4); $0.raw("-"); $0.padded(last.month, 2) },
                  "", notices.count, "")
    }

    func writePrescriptions(_ s: HealthRecordSubject, _ dispensings: [CareHistory.Dispensing], _ bytes: [UInt8]) throws {
        prescriptionFiles += 1
        let relative = "prescriptions/p" + pad7(prescriptionFiles) + ".xml"
        _ = try folder("prescriptions")
        try GeneratedFileOutput.write(bytes, to: directory + "/" + relative)
        let last = dispensings.last!.date
        indexLine("prescription", relative, s.memberRef, { $0.isoDate(last) }, "", dispensings.count, "")
    }

    private func pad7(_ v: Int) -> String {
        var x = XMLBytes(capacity: 8)
        x.padded(v, 7)
        return String(decoding: x.bytes, as: UTF8.self)
    }

    private func indexLine(_ kind: StaticString, _ file: String, _ member: String, _ date: (inout XMLBytes) -> Void,
                           _ institution: String, _ records: Int, _ abnormal: StaticString) {
        line.reset()
        line.raw(kind); line.raw(","); line.plain(file); line.raw(","); line.plain(member); line.raw(",")
        date(&line)
        line.raw(","); line.plain(institution); line.raw(","); line.int(records); line.raw(","); line.raw(abnormal)
        line.raw("\n")
        index.write(line.bytes)
        indexLines += 1
    }

    private func openTransfer(options: HealthRecordOptions, receiver insurer: String) throws -> TransferSink {
        if let t = transfer { return t }
        transferArchives += 1
        receiver = insurer
        let sender = CheckupInstitutions.all[CheckupInstitutions.transferSender].number
        let created = CalendarDate.fromDaysSinceEpoch(options.runDate.daysSinceEpoch - 1)
        var x = XMLBytes(capacity: 64)
        x.plain(sender); x.raw("_"); x.compactDate(created); x.raw("_"); x.padded(transferArchives, 3)
        let base = try folder("transfer") + "/" + String(decoding: x.bytes, as: UTF8.self)
        let sink: TransferSink = options.transferZip ? try TransferZipSink(path: base + ".zip", created: created)
                                                     : try TransferFolderSink(directory: base)
        transfer = sink
        transferDocuments = 0
        transferTotals = TransferTotals()
        return sink
    }

    private func closeTransfer(options: HealthRecordOptions) throws {
        guard let sink = transfer else { return }
        let sender = CheckupInstitutions.all[CheckupInstitutions.transferSender].number
        let created = CalendarDate.fromDaysSinceEpoch(options.runDate.daysSinceEpoch - 1)
        try sink.finish(index: TransferSetDocuments.index(sender: sender, receiver: receiver, created: created,
                                                           records: transferDocuments),
                        summary: transferTotals.summary())
        finishedSets.append(GeneratedFile(profile: name, kind: "transfer", path: sink.location, rows: transferDocuments,
                                          faultyRows: 0))
        transfer = nil
    }

    func finish(options: HealthRecordOptions) throws -> [GeneratedFile] {
        try closeTransfer(options: options)
        try index.close()
        var files = [GeneratedFile(profile: name, kind: "checkups", path: directory + "/checkups", rows: looseCheckups, faultyRows: 0)]
        files.append(contentsOf: finishedSets)
        files.append(GeneratedFile(profile: name, kind: "notices", path: directory + "/notices", rows: noticeFiles, faultyRows: 0))
        files.append(GeneratedFile(profile: name, kind: "prescriptions", path: directory + "/prescriptions",
                                   rows: prescriptionFiles, faultyRows: 0))
        files.append(GeneratedFile(profile: name, kind: "health_index", path: directory + "/health_records.csv",
                                   rows: indexLines, faultyRows: 0))
        return files
    }
}
