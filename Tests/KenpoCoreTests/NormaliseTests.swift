import Foundation
import Testing
import KenpoCore

@Suite("Normalise")
struct NormaliseTests {
    @Test("foldWidth", arguments: [
        ("ＡＢＣ１２３", "ABC123"),
        ("ａｂｃ", "abc"),
        ("　山田　", "山田"),
        (" abc\t", "abc"),
        ("\r\n x \r\n", "x"),
        ("ａ　ｂ", "a b"),
        ("！～", "!~"),
        ("－", "-"),
        ("＼", "\\"),
        ("０６１３９９９２", "06139992"),
        ("ｶﾞ", "ｶﾞ"),            // half-width kana is not folded here
        ("ー", "ー"),
        ("￥", "￥"),             // U+FFE5 is outside U+FF01–U+FF5E
        ("", ""),
        ("abc", "abc"),
        ("   ", ""),
        ("　　", ""),
        ("ヤマダ　タロウ", "ヤマダ タロウ"),
    ])
    func foldWidth(_ c: (String, String)) {
        #expect(Array(Normalise.foldWidth(c.0).utf8) == Array(c.1.utf8))
    }

    @Test("removeSpaces", arguments: [
        ("ヤマダ　タロウ", "ヤマダタロウ"),
        (" 1 2 3 ", "123"),
        ("１２ ３４", "1234"),
        ("１２　３４", "1234"),
        ("A-B", "A-B"),
        ("A－B", "A-B"),            // hyphens are kept
        ("a\tb", "ab"),
        ("", ""),
        ("　", ""),
        ("abc", "abc"),
    ])
    func removeSpaces(_ c: (String, String)) {
        #expect(Array(Normalise.removeSpaces(c.0).utf8) == Array(c.1.utf8))
    }

    @Test("foldWidth agrees with NFKC on every full-width ASCII character")
    func agreesWithNFKC() {
        for v in UInt32(0xFF01)...0xFF5E {
            let s = String(Unicode.Scalar(v)!)
            #expect(Normalise.foldWidth("x" + s + "x") == ("x" + s + "x").precomposedStringWithCompatibilityMapping, "U+\(String(v, radix: 16))")
        }
    }
}
