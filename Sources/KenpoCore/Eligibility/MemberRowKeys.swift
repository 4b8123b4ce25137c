import Foundation

/// The stage's key hashes (`MatchKey`, person ids, `PersonTraits`) taken straight from a
/// `MemberRow`'s bytes. Each equals its `MemberRecord` form: `StableHash` hashes UTF-8 bytes, and
/// the row holds the very bytes the record's Strings would (RosterBytePathTests compares them).
extension MemberRow {
    /// `MatchKey` `k` of this row's bytes.
    @inline(__always)
    func key(_ k: MatchKey) -> UInt64 {
        bytes.withUnsafeBufferPointer { p in
            k.hash { h, field in h.add(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[range(field)]))) }
        }
    }

    var refKey: UInt64 { key(.ref) }
    var cardKey: UInt64 { key(.card) }
    var cardBranchKey: UInt64 { key(.cardBranch) }
    var cardKanaKey: UInt64 { key(.cardKana) }
    var cardBirthKey: UInt64 { key(.cardBirth) }
    var identityKey: UInt64 { key(.identity) }
    var sameCardPersonKey: UInt64 { key(.sameCardPerson) }
    /// A new person's id before collision handling (`EligibilityStage.newPersonHash`).
    var newPersonHash: UInt64 { key(isEmpty(.memberRef) ? .person : .personRef) }

    /// `PersonTraits(record)`.
    var traits: PersonTraits {
        let ref = isEmpty(.memberRef) ? 0 : refKey | 1
        return PersonTraits(ref: ref, branch: withField(.branch) { PersonTraits.branch($0) })
    }
}
