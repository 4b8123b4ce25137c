import Foundation
import Testing
import KenpoCore

/// Compares results by Unicode scalars: Swift's String == treats ガ and カ+U+3099 as equal, published keys must not.
private func exact(_ r: Result<String, KanaNameError>) -> Result<[UInt32], KanaNameError> {
    r.map { $0.unicodeScalars.map(\.value) }
}
private func exact(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
/// True NFKC. Foundation's `precomposedStringWithCompatibilityMapping` on Linux leaves ｶﾞ as カ+U+3099
/// (it does not recompose pairs that only appear after the compatibility mapping), so NFC is applied after it.
private func nfkc(_ s: String) -> String {
    s.precomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
}

@Suite("KanaName")
struct KanaNameTests {
    @Test("normalise accepts", arguments: [
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("ﾊﾟﾝ", "パン"),
        ("ヤマダ　タロウ", "ヤマダタロウ"),
        ("やまだ", "ヤマダ"),
        ("ｷﾖｳｺ", "キヨウコ"),
        ("キョウコ", "キョウコ"),             // small kana kept
        ("きょうこ", "キョウコ"),
        ("ｷｮｳｺ", "キョウコ"),
        ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
        ("ﾜﾞ", "ヷ"),
        ("ｦﾞ", "ヺ"),
        ("ｺｰﾋｰ", "コーヒー"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ"),
        ("ﾔﾏﾀﾞ･ﾀﾛｳ", "ヤマダタロウ"),
        ("ヤマダ・タロウ", "ヤマダタロウ"),
        (" ヤマダ ", "ヤマダ"),
        ("ヤマダ\tタロウ", "ヤマダタロウ"),
        ("カ\u{3099}", "ガ"),                  // combining marks
        ("ハ\u{309A}", "パ"),
        ("ヤマタ\u{3099}", "ヤマダ"),           // NFD from a Mac
        ("カ゛", "ガ"),                        // spacing marks U+309B/U+309C
        ("ハ゜", "パ"),
        ("か\u{3099}", "ガ"),
        ("か゛", "ガ"),
        ("ウ\u{3099}", "ヴ"),
        ("ワ\u{3099}", "ヷ"),
        ("ヲ\u{3099}", "ヺ"),
        ("ヽ\u{3099}", "ヾ"),
        ("ゝ", "ヽ"),
        ("ゞ", "ヾ"),
        ("ゔ", "ヴ"),
        ("ゕゖ", "ヵヶ"),
        ("やまダ", "ヤマダ"),
        ("ヴァヵヶヷヸヹヺ", "ヴァヵヶヷヸヹヺ"),
        ("ｻｲﾄｳ ｷｮｳｺ", "サイトウキョウコ"),
    ])
    func accepts(_ c: (String, String)) {
        #expect(exact(KanaName.normalise(c.0)) == .success(exact(c.1)))
    }

    @Test("normalise rejects", arguments: [
        ("山田", KanaNameError.invalidCharacter("山")),
        ("ヤマ田", .invalidCharacter("田")),
        ("YAMADA", .invalidCharacter("Y")),
        ("ヤマダ1", .invalidCharacter("1")),
        ("ﾔﾏﾀﾞ｡", .invalidCharacter("｡")),
        ("ヤマダ－タロウ", .invalidCharacter("－")),
        ("ｱ-ｲ", .invalidCharacter("-")),
        ("ﾞ", .invalidCharacter("ﾞ")),                   // a lone dakuten
        ("゛ア", .invalidCharacter("゛")),
        ("ア゛", .invalidCharacter("゛")),                // ア has no voiced form
        ("ガ゛", .invalidCharacter("゛")),                // already voiced
        ("ｶ ﾞ", .invalidCharacter("ﾞ")),                 // a separator between base and mark
        ("ﾏﾟ", .invalidCharacter("ﾟ")),
        ("\u{3099}", .invalidCharacter("\u{3099}")),
        ("ゟ", .invalidCharacter("ゟ")),
        ("ヿ", .invalidCharacter("ヿ")),
        ("", .empty),
        ("　", .empty),
        ("・", .empty),
        (" ･ ", .empty),
    ])
    func rejects(_ c: (String, KanaNameError)) {
        #expect(KanaName.normalise(c.0) == .failure(c.1))
    }

    @Test("key folds small kana to large", arguments: [
        ("ｷﾖｳｺ", "キヨウコ"),
        ("キョウコ", "キヨウコ"),
        ("ｷｮｳｺ", "キヨウコ"),
        ("きょうこ", "キヨウコ"),
        ("ｶﾞｯｺｳ", "ガツコウ"),
        ("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ"),
        ("ヤマダ　タロウ", "ヤマダタロウ"),
    ])
    func key(_ c: (String, String)) {
        #expect(exact(KanaName.key(c.0)) == .success(exact(c.1)))
    }

    @Test func keyOfLegacyAndModernSpellingsIsTheSame() throws {
        let legacy = try KanaName.key("ｷﾖｳｺ").get()
        let modern = try KanaName.key("キョウコ").get()
        #expect(exact(legacy) == exact(modern))
        #expect(exact(legacy) == exact("キヨウコ"))
        #expect(KanaName.key("山田") == .failure(.invalidCharacter("山")))
        #expect(exact(KanaName.key(normalised: "キヨウコ")) == exact("キヨウコ"))
    }

    @Test("toHalfWidth", arguments: [
        ("ガッコウ", "ｶﾞｯｺｳ"),
        ("パン", "ﾊﾟﾝ"),
        ("ヴ", "ｳﾞ"),
        ("ヷ", "ﾜﾞ"),
        ("ヺ", "ｦﾞ"),
        ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("ヤマダ・タロウ", "ﾔﾏﾀﾞ･ﾀﾛｳ"),
        ("コーヒー", "ｺｰﾋｰ"),
        ("キョウコ", "ｷｮｳｺ"),
        ("ヲ", "ｦ"),
        ("ヵヶヮヰヱヸヹヽヾ", "ヵヶヮヰヱヸヹヽヾ"),   // no half-width form
        ("山田", "山田"),
        ("", ""),
    ])
    func toHalfWidth(_ c: (String, String)) {
        #expect(exact(KanaName.toHalfWidth(c.0)) == exact(c.1))
    }

    @Test("every allowed character survives toHalfWidth then normalise")
    func halfWidthRoundTrip() {
        var all: [UInt32] = Array(0x30A1...0x30FA)
        all += [0x30FC, 0x30FD, 0x30FE]
        for v in all {
            let s = String(Unicode.Scalar(v)!)
            #expect(exact(KanaName.normalise(KanaName.toHalfWidth(s))) == .success([v]), "U+\(String(v, radix: 16))")
            #expect(exact(KanaName.normalise(s)) == .success([v]))
        }
        let name = "ヴァイオリン・ガッコウ　パピプペポ"
        #expect(exact(KanaName.normalise(KanaName.toHalfWidth(name))) == .success(exact("ヴァイオリンガッコウパピプペポ")))
    }

    @Test("half-width folding agrees with NFKC, composition with NFC")
    func agreesWithNFKC() {
        for v in UInt32(0xFF66)...0xFF9D {
            let half = String(Unicode.Scalar(v)!)
            let folded = nfkc(half)
            #expect(exact(KanaName.normalise(half)) == .success(exact(folded)), "U+\(String(v, radix: 16))")
            for (mark, markChar) in [(UInt32(0xFF9E), Character("ﾞ")), (0xFF9F, Character("ﾟ"))] {
                let pair = half + String(Unicode.Scalar(mark)!)
                let composed = nfkc(pair)
                if composed.unicodeScalars.count == 1 {
                    #expect(exact(KanaName.normalise(pair)) == .success(exact(composed)), "\(pair)")
                } else {
                    #expect(KanaName.normalise(pair) == .failure(.invalidCharacter(markChar)), "\(pair)")
                }
            }
        }
        for v in UInt32(0x30A1)...0x30FA {
            for mark in [UInt32(0x3099), 0x309A] {
                let pair = String(Unicode.Scalar(v)!) + String(Unicode.Scalar(mark)!)
                let nfc = pair.precomposedStringWithCanonicalMapping
                if nfc.unicodeScalars.count == 1 {
                    #expect(exact(KanaName.normalise(pair)) == .success(exact(nfc)), "U+\(String(v, radix: 16))")
                } else {
                    #expect(KanaName.normalise(pair) == .failure(.invalidCharacter(Character(Unicode.Scalar(mark)!))))
                }
            }
        }
        for v in UInt32(0x3041)...0x3096 {
            #expect(exact(KanaName.normalise(String(Unicode.Scalar(v)!))) == .success([v + 0x60]))
        }
    }

    @Test func fastPathReturnsTheSameString() {
        let s = "ヤマダタロウ"
        #expect(exact(KanaName.normalise(s)) == .success(exact(s)))
    }
}
