import Foundation
import Testing
@testable import KenpoCore

/// Match keys and new-person ids are stored (the master's indexes are rebuilt from them, person ids
/// are published): each formula is pinned here to the tag and fields it has always hashed, and the
/// byte and String forms to each other.
struct MatchKeyTests {
    static let record: MemberRecord = {
        var m = MemberRecord()
        m.insurerNumber = "06139992"; m.symbol = "ｱｲ 12"; m.symbolKey = "アイ12"; m.number = "1234 5678"; m.numberKey = "12345678"
        m.branch = "01"; m.kanaKey = "ヤマダキヨウコ"; m.birthDate = "1980-01-02"; m.memberRef = "M-0042"
        return m
    }()

    @Test(arguments: [
        (MatchKey.ref, ["ref", "06139992", "M-0042"]),
        (.card, ["card", "06139992", "アイ12", "12345678"]),
        (.cardBranch, ["cardb", "06139992", "アイ12", "12345678", "01"]),
        (.cardKana, ["cardk", "06139992", "アイ12", "12345678", "ヤマダキヨウコ"]),
        (.cardBirth, ["cardd", "06139992", "アイ12", "12345678", "1980-01-02"]),
        (.identity, ["ident", "06139992", "ヤマダキヨウコ", "1980-01-02"]),
        (.sameCardPerson, ["dup", "06139992", "アイ12", "12345678", "ヤマダキヨウコ", "1980-01-02"]),
        (.person, ["person", "06139992", "アイ12", "12345678", "01", "ヤマダキヨウコ", "1980-01-02"]),
        (.personRef, ["person-ref", "06139992", "M-0042"]),
    ])
    func eachKeyHashesItsTagAndFieldsInOrder(key: MatchKey, parts: [String]) {
        let m = Self.record
        #expect(m.key(key) == StableHash.of(parts))
        var row = MemberRow()
        for field in MemberRow.Field.allCases { row.set(field, m.string(field)) }
        #expect(row.key(key) == m.key(key))
    }

    @Test func theStringFormsOfRefAndCardAreTheRecordsKeys() {
        let m = Self.record
        #expect(MasterIndex.Keys.ref(m.insurerNumber, m.memberRef) == m.key(.ref))
        #expect(MasterIndex.Keys.card(m.insurerNumber, m.symbolKey, m.numberKey) == m.key(.card))
        #expect(EligibilityStage.newPersonHash(m) == m.key(.personRef))
        var noRef = m
        noRef.memberRef = ""
        #expect(EligibilityStage.newPersonHash(noRef) == StableHash.of(["person", "06139992", "アイ12", "12345678", "01", "ヤマダキヨウコ", "1980-01-02"]))
    }
}
