import Foundation
import Testing
import KenpoCore

@Suite("CardKeys")
struct CardKeysTests {
    @Test("numberKey", arguments: [
        ("12345678", "2345678" as String?),       // the registration manual's own example
        ("0012345678", "2345678"),
        ("１２３４５６７８", "2345678"),
        ("2345678", "2345678"),
        ("0123456", "123456"),
        ("123456", "123456"),
        ("01234567", "1234567"),
        ("  123 4567 ", "1234567"),
        ("１２３　４５６７", "1234567"),
        ("123", "123"),
        ("0000000", "0"),
        ("0", "0"),
        ("10000000", "0"),                         // last 7 digits are all zeros
        ("", nil),
        ("　", nil),
        ("1234-567", nil),
        ("12a", nil),
        ("一二三", nil),
    ])
    func numberKey(_ c: (String, String?)) {
        #expect(CardKeys.numberKey(c.0) == c.1)
    }

    @Test("a member typing the last 7 digits, with or without the leading zero, matches the roster")
    func memberTypesLastSeven() {
        let roster = CardKeys.numberKey("0012345678")
        #expect(CardKeys.numberKey("2345678") == roster)
        #expect(CardKeys.numberKey("12345678") == roster)
        #expect(CardKeys.numberKey("0123") == CardKeys.numberKey("123"))
    }

    @Test("symbolKey", arguments: [
        ("abc", "ABC" as String?),
        ("ABC", "ABC"),
        ("ＡＢＣ", "ABC"),
        ("ａｂ　１２", "AB12"),
        (" ab 12 ", "AB12"),
        ("ab-1", "AB-1"),
        ("東京", "東京"),
        ("東京 ａ", "東京A"),
        ("ｱｲ", "アイ"),
        ("ｶﾞ", "ガ"),
        ("ﾊﾟ", "パ"),
        ("ｱﾞ", "ア\u{3099}"),                      // NFKC leaves a mark it cannot compose
        ("あ", "あ"),
        ("か\u{3099}", "が"),
        ("①", "1"),                                // rare characters go through NFKC
        ("Ⅱ", "II"),
        ("ⅱ", "II"),
        ("㈱ａ", "(株)A"),
        ("", nil),
        ("　 ", nil),
    ])
    func symbolKey(_ c: (String, String?)) {
        #expect(CardKeys.symbolKey(c.0).map { Array($0.unicodeScalars) } == c.1.map { Array($0.unicodeScalars) })
    }

    @Test("symbolKey equals NFKC, spaces removed, ASCII upper-cased", arguments: [
        "ＡＢＣ", "ｶﾞｸｾｲ", "東京ａ１", "ﾜﾞｦﾞｳﾞ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "ｷｮｳｺ", "ひらがな", "が", "①②", "Ⅻ", "㍻", "ﾟｱ", "z-9",
    ])
    func agreesWithNFKC(_ raw: String) {
        // True NFKC: Foundation's compatibility mapping on Linux does not recompose ｶﾞ, so NFC follows it.
        let nfkc = raw.precomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
        let expected = String(String.UnicodeScalarView(nfkc.unicodeScalars.compactMap { s -> Unicode.Scalar? in
            if s == " " { return nil }
            return s.value >= 0x61 && s.value <= 0x7A ? Unicode.Scalar(s.value - 0x20)! : s
        }))
        #expect(CardKeys.symbolKey(raw).map { Array($0.unicodeScalars) } == Array(expected.unicodeScalars))
    }

    @Test("branch", arguments: [
        ("1", "01" as String?),
        ("01", "01"),
        ("１", "01"),
        ("０１", "01"),
        (" 2 ", "02"),
        ("0", "00"),
        ("12", "12"),
        ("001", "01"),
        ("123", "123"),
        ("", ""),
        (" ", ""),
        ("　", ""),
        ("a", nil),
        ("1a", nil),
        ("-1", nil),
        ("0 1", nil),
    ])
    func branch(_ c: (String, String?)) {
        #expect(CardKeys.branch(c.0) == c.1)
    }
}
