import Foundation
import Testing
import KenpoCore

@Suite("MemberCodes")
struct MemberCodesTests {
    @Test("sex", arguments: [
        ("1", "M" as String?), ("M", "M"), ("m", "M"), ("男", "M"), ("男性", "M"), ("male", "M"), ("Male", "M"),
        ("MALE", "M"), ("１", "M"), ("Ｍ", "M"), ("ｍ", "M"), (" 男 ", "M"),
        ("2", "F"), ("F", "F"), ("f", "F"), ("女", "F"), ("女性", "F"), ("female", "F"), ("Female", "F"),
        ("２", "F"), ("ｆ", "F"), ("　女性　", "F"),
        ("", "U"), ("0", "U"), ("9", "U"), ("不明", "U"), ("　", "U"), ("０", "U"), ("９", "U"),
        ("3", nil), ("x", nil), ("男女", nil), ("12", nil), ("ﾀﾞﾝ", nil),
    ])
    func sex(_ c: (String, String?)) {
        #expect(Sex.parse(c.0) == c.1)
    }

    @Test("sex overrides come first", arguments: [
        ("A", ["A": "M"], "M" as String?),
        ("1", ["1": "F"], "F"),                   // an insurer whose 1 means female
        ("Ａ", ["A": "F"], "F"),                  // the raw value is width-folded before the lookup
        ("2", ["1": "F"], "F"),                   // not overridden: the usual spelling
        ("B", ["A": "M"], nil),
    ])
    func sexOverrides(_ c: (String, [String: String], String?)) {
        #expect(Sex.parse(c.0, overrides: c.1) == c.2)
    }

    @Test("relationship", arguments: [
        ("1", "insured", false), ("本人", "insured", false), ("被保険者", "insured", false), ("insured", "insured", false),
        ("１", "insured", false), (" 本人 ", "insured", false), ("Insured", "insured", false),
        ("2", "dependant", false), ("家族", "dependant", false), ("被扶養者", "dependant", false),
        ("dependant", "dependant", false), ("dependent", "dependant", false), ("２", "dependant", false),
        ("特例退職被保険者", "insured", true), ("特退本人", "insured", true), ("special_retiree_insured", "insured", true),
        ("特例退職被扶養者", "dependant", true), ("特退家族", "dependant", true),
        ("special_retiree_dependant", "dependant", true),
    ])
    func relationship(_ c: (String, String, Bool)) {
        let r = Relationship.parse(c.0)
        #expect(r?.relationship == c.1)
        #expect(r?.specialRetiree == c.2)
    }

    @Test("unreadable relationships", arguments: ["", "　", "3", "x", "本人家族", "0"])
    func unreadable(_ raw: String) {
        #expect(Relationship.parse(raw) == nil)
    }

    @Test("relationship overrides come first", arguments: [
        ("5", ["5": "special_retiree_insured"], "insured", true),
        ("6", ["6": "special_retiree_dependant"], "dependant", true),
        ("1", ["1": "dependant"], "dependant", false),
        ("５", ["5": "special_retiree_insured"], "insured", true),
        ("2", ["5": "special_retiree_insured"], "dependant", false),
    ])
    func relationshipOverrides(_ c: (String, [String: String], String, Bool)) {
        let r = Relationship.parse(c.0, overrides: c.1)
        #expect(r?.relationship == c.2)
        #expect(r?.specialRetiree == c.3)
    }

    @Test func overrideToAnUnknownValueIsUnreadable() {
        #expect(Relationship.parse("5", overrides: ["5": "bogus"]) == nil)
    }

    @Test func canonicalValues() {
        #expect(Relationship.canonical == ["insured", "dependant", "special_retiree_insured", "special_retiree_dependant"])
        for c in Relationship.canonical { #expect(Relationship.parse(c) != nil) }
    }
}
