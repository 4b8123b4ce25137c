import Foundation

/// Finds the member a document belongs to (加入者の特定), from the member master of the current state.
///
/// A document names a card (insurer number, 記号, 番号, optional 枝番), a kana name and a birth date.
/// The card with the birth date names one person — current cards and a special retiree's former
/// card alike; twins on one card are told apart by the kana name, then by the branch. A member upload
/// must in addition belong to the person whose folder it arrived in, with the same kana name and
/// birth date: a member can never import someone else's data.
///
/// Memory: a few 64-bit hashes per member, never a copy of the master.
public final class MemberDirectory {
    static let ambiguous = UInt64.max
    private var byCardBirth: [UInt64: UInt64] = [:]
    private var byCardBirthKana: [UInt64: UInt64] = [:]
    private var byCardBirthBranch: [UInt64: UInt64] = [:]
    private struct Person { var kana: UInt64; var birth: String; var branch: String; var sex: GradingSex }
    private var people: [UInt64: Person] = [:]
    public private(set) var count = 0

    public init() {}

    /// Loads `members.csv` of a state generation (nil: no master yet, every document is for an unknown person).
    public convenience init(masterPath: String?) throws {
        self.init()
        guard let masterPath else { return }
        let reader = try MasterReader(path: masterPath)
        while let (pid, m) = try reader.next() { add(m, pid: pid) }
    }

    func add(_ m: MemberRecord, pid: UInt64) {
        count += 1
        people[pid] = Person(kana: StableHash.of(["kana", m.kanaKey]), birth: m.birthDate, branch: m.branch, sex: GradingSex(master: m.sex))
        // card_aliases lists every card of the person, current first: insurer:symbol_key:number_key.
        var cards = m.cardAliases.split(separator: ";").map(String.init)
        if cards.isEmpty { cards = [m.cardKey] }
        for card in cards {
            insert(&byCardBirth, StableHash.of("cb", card, m.birthDate), pid)
            insert(&byCardBirthKana, StableHash.of("cbk", card, m.birthDate, m.kanaKey), pid)
            if !m.branch.isEmpty { insert(&byCardBirthBranch, StableHash.of("cbb", card, m.birthDate, m.branch), pid) }
        }
    }

    private func insert(_ d: inout [UInt64: UInt64], _ k: UInt64, _ pid: UInt64) {
        if let e = d[k], e != pid { d[k] = Self.ambiguous } else { d[k] = pid }
    }

    /// The person's sex as the master gives it (grading picks sex-specific bands by it).
    public func sex(of pid: UInt64) -> GradingSex { people[pid]?.sex ?? .unknown }

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
            guard let person = people[uploader] else {
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
        if let b = k.branch, let person = people[p], !person.branch.isEmpty, person.branch != b {
            return .failure(DocumentProblem(.unknownPerson, "the card matches a member whose branch (枝番) differs from the document's"))
        }
        return .success(p)
    }
}
