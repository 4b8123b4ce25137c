import Foundation

/// The stage's key hashes (`MasterIndex.Keys`, person ids, `PersonTraits`) taken straight from a
/// `MemberRow`'s bytes. Each equals its `MemberRecord` form: `StableHash` hashes UTF-8 bytes, and
/// the row holds the very bytes the record's Strings would (RosterBytePathTests compares them).
extension MemberRow {
    /// `StableHash.of(tag, …fields)` over this row's fields (fixed arguments, not variadic: no array per hash).
    @inline(__always)
    func hash(_ tag: String, _ a: Field, _ b: Field, _ c: Field? = nil, _ d: Field? = nil, _ e: Field? = nil,
              _ f: Field? = nil) -> UInt64 {
        bytes.withUnsafeBufferPointer { p in
            var h = StableHash.Builder(tag)
            @inline(__always) func add(_ field: Field) { h.add(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[range(field)]))) }
            add(a); add(b)
            if let c { add(c) }
            if let d { add(d) }
            if let e { add(e) }
            if let f { add(f) }
            return h.value
        }
    }

    /// `MasterIndex.Keys.ref(insurerNumber, memberRef)`.
    var refKey: UInt64 { hash("ref", .insurerNumber, .memberRef) }
    /// `MasterIndex.Keys.card(insurerNumber, symbolKey, numberKey)`.
    var cardKey: UInt64 { hash("card", .insurerNumber, .symbolKey, .numberKey) }
    /// `MasterIndex.Keys.cardBranch`.
    var cardBranchKey: UInt64 { hash("cardb", .insurerNumber, .symbolKey, .numberKey, .branch) }
    /// `MasterIndex.Keys.cardKana`.
    var cardKanaKey: UInt64 { hash("cardk", .insurerNumber, .symbolKey, .numberKey, .kanaKey) }
    /// `MasterIndex.Keys.cardBirth`.
    var cardBirthKey: UInt64 { hash("cardd", .insurerNumber, .symbolKey, .numberKey, .birthDate) }
    /// `MasterIndex.Keys.identity`.
    var identityKey: UInt64 { hash("ident", .insurerNumber, .kanaKey, .birthDate) }
    /// `MasterIndex.Keys.sameCardPerson`.
    var sameCardPersonKey: UInt64 { hash("dup", .insurerNumber, .symbolKey, .numberKey, .kanaKey, .birthDate) }

    /// A new person's id before collision handling: the member reference, else card, branch, kana
    /// name and birth date (`EligibilityStage.newPersonID`).
    var newPersonHash: UInt64 {
        isEmpty(.memberRef)
            ? hash("person", .insurerNumber, .symbolKey, .numberKey, .branch, .kanaKey, .birthDate)
            : hash("person-ref", .insurerNumber, .memberRef)
    }

    /// `PersonTraits(record)`.
    var traits: PersonTraits {
        let ref = isEmpty(.memberRef) ? 0 : refKey | 1
        return PersonTraits(ref: ref, branch: withField(.branch) { PersonTraits.branch($0) })
    }
}
