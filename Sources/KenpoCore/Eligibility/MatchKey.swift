import Foundation

/// The hashed keys a member is matched by (照合キー) and the hash a new person's id starts from: each
/// one's tag and the master fields it hashes, in order, written down once. A roster row hashes them
/// from its bytes (`MemberRow.key`), a master record from its Strings (`MemberRecord.key`);
/// `StableHash` hashes UTF-8, so both give the same value for the same text. The values are kept in
/// the master's indexes and person ids: changing a formula is a migration, not an edit
/// (MatchKeyTests pins each one).
enum MatchKey {
    case ref, card, cardBranch, cardKana, cardBirth, identity, sameCardPerson
    /// A new person's id: by card, branch, kana name and birth date, or by member reference.
    case person, personRef

    typealias Field = MemberRow.Field

    /// The tag, then the fields in hashing order (fixed slots: no array per hash).
    @inline(__always)
    var formula: (tag: String, Field, Field, Field?, Field?, Field?, Field?) {
        switch self {
        case .ref: return ("ref", .insurerNumber, .memberRef, nil, nil, nil, nil)
        case .card: return ("card", .insurerNumber, .symbolKey, .numberKey, nil, nil, nil)
        case .cardBranch: return ("cardb", .insurerNumber, .symbolKey, .numberKey, .branch, nil, nil)
        case .cardKana: return ("cardk", .insurerNumber, .symbolKey, .numberKey, .kanaKey, nil, nil)
        case .cardBirth: return ("cardd", .insurerNumber, .symbolKey, .numberKey, .birthDate, nil, nil)
        case .identity: return ("ident", .insurerNumber, .kanaKey, .birthDate, nil, nil, nil)
        case .sameCardPerson: return ("dup", .insurerNumber, .symbolKey, .numberKey, .kanaKey, .birthDate, nil)
        case .person: return ("person", .insurerNumber, .symbolKey, .numberKey, .branch, .kanaKey, .birthDate)
        case .personRef: return ("person-ref", .insurerNumber, .memberRef, nil, nil, nil, nil)
        }
    }

    /// The key, `add` putting each field of the formula into the hash in turn.
    @inline(__always)
    func hash(_ add: (inout StableHash.Builder, Field) -> Void) -> UInt64 {
        let f = formula
        var h = StableHash.Builder(f.tag)
        add(&h, f.1); add(&h, f.2)
        if let c = f.3 { add(&h, c) }
        if let d = f.4 { add(&h, d) }
        if let e = f.5 { add(&h, e) }
        if let g = f.6 { add(&h, g) }
        return h.value
    }
}

extension MemberRecord {
    /// `key` of this record's Strings.
    @inline(__always)
    func key(_ k: MatchKey) -> UInt64 { k.hash { h, field in h.add(string(field)) } }

    /// The field's text as members.csv holds it (the fields match keys use).
    func string(_ field: MemberRow.Field) -> String {
        switch field {
        case .personID: return personID
        case .insurerNumber: return insurerNumber
        case .symbol: return symbol
        case .number: return number
        case .branch: return branch
        case .symbolKey: return symbolKey
        case .numberKey: return numberKey
        case .kanaKey: return kanaKey
        case .birthDate: return birthDate
        case .kanaName: return kanaName
        case .kanjiName: return kanjiName
        case .sex: return sex
        case .relationship: return relationship
        case .specialRetiree: return specialRetiree ? "true" : "false"
        case .qualifiedDate: return qualifiedDate
        case .disqualifiedDate: return disqualifiedDate
        case .status: return status.rawValue
        case .cardAliases: return cardAliases
        case .postalCode: return postalCode
        case .address: return address
        case .memberRef: return memberRef
        }
    }
}
