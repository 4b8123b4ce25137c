import Foundation

/// Finds the member a document belongs to (加入者の特定), from the member master of the current state.
///
/// A document names a card (insurer number, 記号, 番号, optional 枝番), a kana name and a birth date.
/// The card with the birth date names one person — current cards and a special retiree's former
/// card alike; twins on one card are told apart by the kana name, then by the branch. A member upload
/// must in addition belong to the person whose folder it arrived in, with the same kana name and
/// birth date: a member can never import someone else's data.
///
/// Memory: a few 64-bit hashes per member in sorted arrays (about 100 bytes a member), never a
/// copy of the master. Lookups may run on many threads once it is loaded.
public final class MemberDirectory {
    static let ambiguous = UInt64.max

    /// Keys → person ids, sorted by key; a key two persons share maps to `ambiguous`.
    private struct Index {
        var keys: [UInt64] = []
        var pids: [UInt64] = []

        mutating func add(_ k: UInt64, _ pid: UInt64) { keys.append(k); pids.append(pid) }

        mutating func seal() {
            let order = keys.indices.sorted { keys[$0] < keys[$1] }
            var k2: [UInt64] = [], p2: [UInt64] = []
            k2.reserveCapacity(keys.count); p2.reserveCapacity(keys.count)
            for i in order {
                if let last = k2.last, last == keys[i] {
                    if p2[p2.count - 1] != pids[i] { p2[p2.count - 1] = MemberDirectory.ambiguous }
                } else {
                    k2.append(keys[i]); p2.append(pids[i])
                }
            }
            keys = k2; pids = p2
        }

        subscript(_ k: UInt64) -> UInt64? { keys.hashIndex(of: k).map { pids[$0] } }
    }
    private var byCardBirth = Index()
    private var byCardBirthKana = Index()
    private var byCardBirthBranch = Index()
    /// The people, sorted by person id (the last row of an id counts, as a map's would).
    private struct Person { var kana: UInt64; var birth: String; var branch: String; var sex: GradingSex }
    private var pids: [UInt64] = []
    private var people: [Person] = []
    public private(set) var count = 0

    /// An empty directory (no master yet): every document is for an unknown person.
    public init() {}

    /// Loads `members.csv` of a state generation (nil: no master yet, every document is for an unknown person).
    /// Reads only the columns it needs, as bytes (a million members are read before every import),
    /// with `MasterReader`'s checks: the header, whole rows, a known status, ids in order.
    public convenience init(masterPath: String?) throws {
        try self.init(masterPath: masterPath, eachRow: nil)
    }

    /// The same, calling `eachRow` with every member's id and row (checked) as it is read, so a
    /// caller that needs more of the master reads it in the same pass.
    convenience init(masterPath: String?, eachRow: ((UInt64, CSVRowReader) throws -> Void)?) throws {
        self.init()
        guard let path = masterPath else { return }
        let r = try CSVRowReader(path: path)
        guard try r.next() else { throw MasterReader.empty(path) }
        try MasterReader.checkHeader((0..<r.fieldCount).map { i in r.withField(i) { String(decoding: $0, as: UTF8.self) } }, path: path)
        var lastID: UInt64? = nil
        var card: [UInt8] = []
        while try r.next() {
            func text(_ i: Int) -> String { r.withField(i) { String(decoding: $0, as: UTF8.self) } }
            guard r.malformed == nil, r.fieldCount == MemberRecord.header.count, MemberStatus(rawValue: text(16)) != nil,
                  let pid = StableHash.parseHex(text(0)) else {
                throw MasterReader.damagedRow(path, line: r.line)
            }
            try MasterReader.checkOrder(pid, after: &lastID, path: path, line: r.line)
            try eachRow?(pid, r)
            let birth = text(8), branch = text(4)
            var kana = StableHash.Builder("kana")
            r.withField(7) { kana.add(bytes: $0) }
            count += 1
            pids.append(pid)
            people.append(Person(kana: kana.value, birth: birth, branch: branch, sex: GradingSex(master: text(11))))
            // card_aliases lists every card of the person, current first: insurer:symbol_key:number_key.
            func index(_ c: UnsafeRawBufferPointer) {
                var h = StableHash.Builder("cb"); h.add(bytes: c); h.add(birth)
                byCardBirth.add(h.value, pid)
                var k = StableHash.Builder("cbk"); k.add(bytes: c); k.add(birth); r.withField(7) { k.add(bytes: $0) }
                byCardBirthKana.add(k.value, pid)
                if !branch.isEmpty {
                    var b = StableHash.Builder("cbb"); b.add(bytes: c); b.add(birth); b.add(branch)
                    byCardBirthBranch.add(b.value, pid)
                }
            }
            let aliases = r.withField(17) { Array($0) }
            var any = false
            for part in aliases.split(separator: 0x3B) {
                any = true
                part.withUnsafeBytes { index($0) }
            }
            if !any {
                card.removeAll(keepingCapacity: true)
                r.withField(1) { card.append(contentsOf: $0) }; card.append(0x3A)
                r.withField(5) { card.append(contentsOf: $0) }; card.append(0x3A)
                r.withField(6) { card.append(contentsOf: $0) }
                card.withUnsafeBytes { index($0) }
            }
        }
        seal()
    }

    /// Sorts what the loader collected, once at its end: lookups (on many threads) only read.
    private func seal() {
        byCardBirth.seal(); byCardBirthKana.seal(); byCardBirthBranch.seal()
        // Stable by id, the last of an id kept.
        let order = pids.indices.sorted { pids[$0] != pids[$1] ? pids[$0] < pids[$1] : $0 < $1 }
        var p2: [UInt64] = [], q2: [Person] = []
        p2.reserveCapacity(pids.count); q2.reserveCapacity(pids.count)
        for i in order {
            if let last = p2.last, last == pids[i] { q2[q2.count - 1] = people[i] } else { p2.append(pids[i]); q2.append(people[i]) }
        }
        pids = p2; people = q2
    }

    private func person(_ pid: UInt64) -> Person? { pids.hashIndex(of: pid).map { people[$0] } }

    /// The person's sex as the master gives it (grading picks sex-specific bands by it).
    public func sex(of pid: UInt64) -> GradingSex {
        person(pid)?.sex ?? .unknown
    }

    /// The document's identity in registration-key form, or why it cannot be read.
    public struct SubjectKeys: Equatable {
        public var card: String       // insurer:symbol_key:number_key
        public var birth: String      // ISO date
        public var kana: String?      // kana key (nil: no kana name given)
        public var branch: String?
    }

    public static func keys(_ s: DocumentSubject) -> Result<SubjectKeys, DocumentProblem> {
        guard case .success(let insurer) = InsurerNumber.validate(s.insurerNumber) else {
            return .failure(DocumentProblem(.documentIncomplete, "the insurer number '\(s.insurerNumber)' is not a valid insurer number"))
        }
        let symbol = s.symbol.isEmpty ? "" : (CardKeys.symbolKey(s.symbol) ?? "")
        guard let number = CardKeys.numberKey(s.number) else {
            return .failure(DocumentProblem(.documentIncomplete, "the card number (番号) must be digits"))
        }
        guard case .success(let birth) = JapaneseDate.parse(String(s.birthDate.prefix(10)), styles: [.yyyymmdd, .iso]) else {
            return .failure(DocumentProblem(.documentIncomplete, "the birth date '\(s.birthDate)' cannot be read"))
        }
        var kana: String? = nil
        if !s.kanaName.isEmpty {
            guard case .success(let k) = KanaName.key(s.kanaName) else {
                return .failure(DocumentProblem(.documentIncomplete, "the kana name must be katakana or hiragana"))
            }
            kana = k
        }
        let branch = s.branch.isEmpty ? nil : CardKeys.branch(s.branch)
        return .success(SubjectKeys(card: "\(insurer):\(symbol):\(number)", birth: birth.iso, kana: kana, branch: branch))
    }

    /// The person a document is for. `uploadedBy` is the person id of the upload folder for a
    /// member upload (nil for insurer and Mynaportal documents).
    public func resolve(_ k: SubjectKeys, uploadedBy: UInt64? = nil) -> Result<UInt64, DocumentProblem> {
        var pid = byCardBirth[StableHash.of("cb", k.card, k.birth)]
        if pid == Self.ambiguous, let kana = k.kana { pid = byCardBirthKana[StableHash.of("cbk", k.card, k.birth, kana)] }
        if pid == Self.ambiguous, let b = k.branch { pid = byCardBirthBranch[StableHash.of("cbb", k.card, k.birth, b)] }
        if let uploader = uploadedBy {
            guard let person = person(uploader) else {
                return .failure(DocumentProblem(.unknownPerson, "the upload folder's person id \(StableHash.hex(uploader)) is not in the member master"))
            }
            // The card, the name and the birth date must all be the uploader's.
            guard let p = pid, p == uploader, person.birth == k.birth, let kana = k.kana,
                  StableHash.of(["kana", kana]) == person.kana else {
                return .failure(DocumentProblem(.identityMismatch, "the card details, kana name and birth date in the document are not those of the member who uploaded it"))
            }
            return .success(uploader)
        }
        guard let p = pid, p != Self.ambiguous else {
            if pid == Self.ambiguous {
                return .failure(DocumentProblem(.unknownPerson, "the card and birth date fit more than one member and the kana name does not tell them apart"))
            }
            return .failure(DocumentProblem(.unknownPerson, "no member in the master has this card and birth date"))
        }
        if let b = k.branch, let person = person(p), !person.branch.isEmpty, person.branch != b {
            return .failure(DocumentProblem(.unknownPerson, "the card matches a member whose branch (枝番) differs from the document's"))
        }
        return .success(p)
    }
}
