import Foundation
import Testing
import KenpoCore

@Suite("DisplayWidth")
struct DisplayWidthTests {
    @Test("columns", arguments: [
        ("", 0), ("ABC", 3), ("abc 123", 7), ("山田太郎", 8), ("やまだ", 6), ("ヤマダ", 6),
        ("ｱｲｳ", 3), ("ｶﾞ", 2), ("が", 2), ("か\u{3099}", 2), ("ｰ", 1), ("ー", 2), ("　", 2),
        ("①", 2), ("㈱", 2), ("〜", 2), ("～", 2), ("−", 2), ("－", 2), ("Ω", 2), ("Д", 2),
        ("×", 2), ("°", 2), ("§", 2), ("é", 1), ("e\u{0301}", 1), ("¥", 1), ("￥", 2),
        ("😀", 2), ("👨‍👩‍👧", 2), ("🇯🇵", 2), ("❤️", 2), ("𠮷", 2), ("한", 2),
        ("\t", 0), ("\u{200B}", 0), ("\u{FEFF}", 0),
        ("東京都千代田区1-2-3", 19), ("ABCビル10F", 10),
    ])
    func columns(_ c: (String, Int)) {
        #expect(DisplayWidth.columns(of: c.0) == c.1, "\(c.0)")
    }

    @Test("wrap", arguments: [
        ("ABC DEF GHI", 7, 2, ["ABC DEF", "GHI"] as [String]?),
        ("ABCDEFGHIJ", 4, 3, ["ABCD", "EFGH", "IJ"]),                       // no break point: anywhere
        ("山田 太郎", 6, 2, ["山田", "太郎"]),                                 // the space at the break is dropped
        ("東京都、千代田区", 8, 2, ["東京都、", "千代田区"]),                  // after 、
        ("あいうえお。かき", 10, 2, ["あいうえ", "お。かき"]),                 // 。 never starts a line
        ("郵便1524-23", 8, 2, ["郵便", "1524-23"]),                          // a number is not split
        ("東京都千代田区霞が関1丁目3番2号 郵便プラザ503室", 32, 2, ["東京都千代田区霞が関1丁目3番2号", "郵便プラザ503室"]),
        ("東京都 千代田区霞が関", 12, 2, ["東京都 千代", "田区霞が関"]),        // the space break would need 3 lines
        ("  A  ", 5, 1, ["A"]),
        ("A\nB", 5, 2, ["A", "B"]),
        ("A\r\nB", 5, 2, ["A", "B"]),
        ("ｶﾞｶﾞｶﾞ", 2, 3, ["ｶﾞ", "ｶﾞ", "ｶﾞ"]),                               // a grapheme is never split
        ("👨‍👩‍👧👨‍👩‍👧", 2, 2, ["👨‍👩‍👧", "👨‍👩‍👧"]),
        ("", 10, 0, []),
        ("山田太郎", 3, 1, nil),                                              // does not fit
        ("山", 1, 1, nil),                                                   // one character wider than a line
        ("A\nB", 5, 1, nil),
        ("ABC", 0, 1, nil),
    ])
    func wrap(_ c: (String, Int, Int, [String]?)) {
        let lines = DisplayWidth.wrap(c.0, columns: c.1, maxLines: c.2)
        #expect(lines == c.3, "\(c.0)")
        for line in lines ?? [] { #expect(DisplayWidth.columns(of: line) <= c.1) }
    }

    @Test("wrapping never loses or reorders a character other than break spaces")
    func wrapKeepsText() {
        let text = "北海道札幌市中央区南四条西29丁目1524-23　第2郵便ハウス501号室　ﾔﾏﾀﾞ様方"
        for columns in 6...40 {
            guard let lines = DisplayWidth.wrap(text, columns: columns, maxLines: 20) else { Issue.record("\(columns)"); continue }
            #expect(lines.joined().filter { $0 != "　" } == text.filter { $0 != "　" }, "\(columns)")
            #expect(lines.allSatisfy { DisplayWidth.columns(of: $0) <= columns })
        }
    }
}

@Suite("CP932Policy")
struct CP932PolicyTests {
    @Test("characters CP932 carries are kept as they are", arguments: [
        "山田太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "髙橋", "﨑", "德", "彅", "①②", "㈱", "Ⅱ", "〜", "～", "−", "－", "ー",
        "ヴ", "ヶ", "々", "〒100-0001", "東京都千代田区千代田1-1", "＼", "ABC", "",
    ])
    func kept(_ text: String) {
        let policy = CP932Policy()
        guard case .success(let prepared) = policy.prepareReporting(text) else { Issue.record("\(text)"); return }
        #expect(Array(prepared.text.unicodeScalars) == Array(text.unicodeScalars))
        #expect(prepared.substitutions.isEmpty)
    }

    @Test("documented substitutions", arguments: [
        ("𠮷田", "吉田"), ("𡈽屋", "土屋"), ("森鷗外", "森鴎外"), ("𠮟", "叱"), ("繫", "繋"), ("頰", "頬"),
        ("剝", "剥"), ("噓", "嘘"), ("蟬", "蝉"),
        ("ヷ", "ヴァ"), ("ヸ", "ヴィ"), ("ヹ", "ヴェ"), ("ヺ", "ヴォ"), ("ゔ", "う゛"),
        ("ワ\u{3099}", "ヴァ"),                       // decomposed ヷ: composed, then substituted
        ("う\u{3099}", "う゛"),
        ("か\u{309A}", "か゜"),                       // no precomposed か゚ exists
        ("1–2‑3", "1‐2‐3"),                           // en dash, no-break hyphen
        ("ジョン·スミス", "ジョン・スミス"), ("A•B", "A・B"),
        ("Café", "Cafe"), ("Cafe\u{0301}", "Cafe"), ("Müller", "Muller"), ("ÅNGSTRÖM", "ANGSTROM"),
        ("葛\u{E0100}飾", "葛飾"),                     // ideographic variation selector dropped
        ("A\u{00A0}B", "A B"), ("A\u{2003}B", "A B"),
        ("A\u{200B}B", "AB"), ("\u{FEFF}山田", "山田"),
    ])
    func substituted(_ c: (String, String)) {
        let policy = CP932Policy()
        guard case .success(let prepared) = policy.prepareReporting(c.0) else { Issue.record("\(c.0)"); return }
        #expect(Array(prepared.text.unicodeScalars) == Array(c.1.unicodeScalars), "\(c.0)")
        #expect(!prepared.substitutions.isEmpty)
        #expect(CP932Encoder().encode(prepared.text).unencodable.isEmpty)
    }

    @Test("a decomposed が is composed, not printed as か (iconv drops the mark silently)")
    func composes() {
        let policy = CP932Policy()
        guard case .success(let prepared) = policy.prepareReporting("やまか\u{3099}た") else { Issue.record("failed"); return }
        #expect(Array(prepared.text.unicodeScalars) == Array("やまがた".unicodeScalars))
        #expect(prepared.substitutions.isEmpty)   // canonically the same text
    }

    @Test("characters without a stand-in are refused, naming character, position and code points", arguments: [
        ("𩸽", "𩸽", 1, "U+29E3D"),
        ("山田😀", "😀", 3, "U+1F600"),
        ("김한", "김", 1, "U+AE40"),
        ("A👨‍👩‍👧", "👨‍👩‍👧", 2, "U+1F468 U+200D U+1F469 U+200D U+1F467"),
        ("€", "€", 1, "U+20AC"),
    ])
    func refused(_ c: (String, String, Int, String)) {
        let policy = CP932Policy()
        guard case .failure(let bad) = policy.prepare(c.0) else { Issue.record("accepted \(c.0)"); return }
        #expect(bad.character == Character(c.1))
        #expect(bad.position == c.2)
        #expect(bad.codePoints == c.3)
        #expect(bad.description.contains(c.3))
    }

    /// CP932 encodes the C0 controls, but they are no text: ESC [2J or a BEL never reaches the print
    /// vendor. Only an address keeps its line breaks.
    @Test("control characters are refused, line breaks only in an address", arguments: [
        ("\u{1B}[2J佐藤\u{07}陽翔", false, 1, "U+001B"),
        ("佐藤\u{07}陽翔", false, 3, "U+0007"),
        ("佐藤\u{0}陽翔", false, 3, "U+0000"),
        ("佐藤\u{7F}", false, 3, "U+007F"),
        ("佐藤\u{85}", false, 3, "U+0085"),
        ("佐藤\n陽翔", false, 3, "U+000A"),
        ("東京都\n渋谷区\u{1B}[31m", true, 8, "U+001B"),
        ("東京都\r\n渋谷区", true, 0, ""),
        ("ABC\nDEF", true, 0, ""),
    ])
    func controls(_ c: (String, Bool, Int, String)) {
        let policy = CP932Policy()
        switch policy.prepare(c.0, lineBreaks: c.1) {
        case .success(let text):
            #expect(c.2 == 0, "accepted \(c.0)")
            #expect(text == c.0)
        case .failure(let bad):
            #expect(bad.position == c.2)
            #expect(bad.codePoints == c.3)
            #expect(bad.isControl)
            #expect(bad.description == "character \(c.2) (\(c.3)) is a control character, not text: nothing to print")
        }
    }

    @Test("every table substitute replaces a character CP932 lacks by one it has")
    func table() {
        let encoder = CP932Encoder()
        for (code, replacement) in CP932Policy.substitutes {
            let original = String(Character(Unicode.Scalar(code)!))
            #expect(!encoder.encode(original).unencodable.isEmpty, "U+\(String(code, radix: 16)) is in CP932")
            #expect(encoder.encode(replacement).unencodable.isEmpty, "\(replacement)")
        }
    }
}

@Suite("SpreadsheetSafe")
struct SpreadsheetSafeTests {
    @Test("neutralise", arguments: [
        ("=1+1", "'=1+1"),
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+81-3-1234", "'+81-3-1234"),
        ("-1-2-3", "'-1-2-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝１＋１", "'＝１＋１"),
        ("＋81", "'＋81"),
        ("－５", "'－５"),
        ("＠A1", "'＠A1"),
        ("-", "'-"),
        ("-.5", "'-.5"),
        ("-5.", "'-5."),
        ("-5", "-5"),
        ("+81", "+81"),
        ("-0.5", "-0.5"),
        ("123-4567", "123-4567"),
        ("00012", "00012"),
        ("1=1", "1=1"),
        (" =1", " =1"),
        ("山田太郎様", "山田太郎様"),
        ("'=1", "'=1"),
        ("", ""),
    ])
    func neutralise(_ c: (String, String)) {
        #expect(SpreadsheetSafe.neutralise(c.0) == c.1)
        #expect(SpreadsheetSafe.needsNeutralising(c.0) == (c.0 != c.1))
    }

    /// kenpo's own text cells (rejects.csv, hand-back details): controls shown escaped, then neutralised.
    @Test("textCell", arguments: [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("person:aee18e008e288d81\u{0} ticket:T-3", "person:aee18e008e288d81\\x00 ticket:T-3"),
        ("value '\u{1B}[2Jｻﾄｳ'", "value '\\x1B[2Jｻﾄｳ'"),
        ("\t=1", "\\x09=1"),
        ("-\u{07}", "'-\\x07"),
        ("@SUM(1+1)\u{85}", "'@SUM(1+1)\\u0085"),
        ("佐藤\u{202E}郎次", "佐藤\u{202E}郎次"),
        ("06279996/90/1001/00", "06279996/90/1001/00"),
    ])
    func textCell(_ c: (String, String)) {
        #expect(SpreadsheetSafe.textCell(c.0) == c.1)
        #expect(!SpreadsheetSafe.textCell(c.0).unicodeScalars.contains { ControlCharacters.isControl($0) })
    }
}

@Suite("ControlCharacters")
struct ControlCharactersTests {
    @Test("C0, DEL and C1 are controls; format characters and text are not", arguments: [
        (0x00, true), (0x09, true), (0x0A, true), (0x1B, true), (0x1F, true), (0x20, false), (0x7E, false),
        (0x7F, true), (0x80, true), (0x85, true), (0x9F, true), (0xA0, false), (0x202E, false), (0x3000, false),
    ])
    func isControl(_ c: (UInt32, Bool)) {
        #expect(ControlCharacters.isControl(Unicode.Scalar(c.0)!) == c.1)
    }

    @Test func theFirstControlIsFoundByCharacterPosition() {
        #expect(ControlCharacters.first(in: "か\u{3099}\u{1B}")?.position == 2)   // か + ゛ is one character
        #expect(ControlCharacters.first(in: "が\r\nx", allowing: ["\r", "\n"]) == nil)
        #expect(ControlCharacters.first(in: "山田太郎") == nil)
    }
}
