import Foundation

// Text rules for the postcard print file (はがき印刷データ): how wide a line is, where it may break,
// what CP932 can print, and what a spreadsheet must not run.

/// Display width in columns of a Japanese fixed-pitch layout (the print vendor's and Excel's view of a
/// CP932 file): half-width characters take 1 column, full-width ones 2.
///
/// - 1 column: ASCII, half-width katakana and half-width forms (ｱ, ｰ, ﾞ), Latin letters with or
///   without accents, Latin-1 symbols that CP932 prints half-width or not at all (¥).
/// - 2 columns: kanji, kana, full-width forms, CJK punctuation; Greek and Cyrillic letters and the
///   Latin-1 symbols § ¨ ° ± ´ ¶ × ÷ ¢ £ ¬ (CP932 holds them as double-byte, full-width characters);
///   emoji; and every other character from U+1100 on that is not known to be narrow. Counting an
///   unknown character as wide can only make a line end early, never run off the card.
/// - 0 columns: control characters, combining marks (they belong to the character before) and
///   invisible format characters.
///
/// Widths are per grapheme (user-perceived character): ｶﾞ is 2 columns (two half-width characters),
/// が written as か + combining ゛ is 2.
public enum DisplayWidth {
    /// The columns `text` takes.
    public static func columns(of text: String) -> Int {
        var total = 0
        for ch in text { total += columns(of: ch) }
        return total
    }

    /// The columns one character takes.
    public static func columns(of ch: Character) -> Int {
        // An emoji (also a ZWJ family, a flag, or a character that variation selector 16 turns into
        // an emoji) is drawn as one wide glyph, however many scalars it has.
        if ch.unicodeScalars.contains(where: { $0.value == 0xFE0F || $0.properties.isEmojiPresentation }) { return 2 }
        var width = 0
        for scalar in ch.unicodeScalars { width += columns(of: scalar) }   // ｶﾞ = 1 + 1
        return width
    }

    /// The columns of one Unicode scalar, by the rules on `DisplayWidth`.
    public static func columns(of scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 0 }
        if v < 0x7F { return 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if scalar.properties.isEmojiPresentation { return 2 }
        switch v {
        case 0xA2, 0xA3, 0xA7, 0xA8, 0xAC, 0xB0, 0xB1, 0xB4, 0xB6, 0xD7, 0xF7: return 2   // CP932 double-byte
        case 0x391...0x3C9, 0x401...0x451: return 2                                       // Greek, Cyrillic
        case ..<0x1100: return 1                                                          // Latin, IPA, …
        case 0x1E00...0x1EFF, 0x2000...0x200A: return 1                                   // Latin extended, spaces
        case 0xFF61...0xFFDC, 0xFFE8...0xFFEE: return 1                                   // half-width forms
        default: return 2
        }
    }

    /// `text` broken into at most `maxLines` lines of at most `columns` columns each, or nil when it
    /// does not fit. Explicit line breaks are kept. A break never falls inside a grapheme. Spaces at
    /// a break are dropped, as are spaces at the start and end of a line.
    ///
    /// Where to break, in order of preference (the first that fits in `maxLines` wins):
    /// 1. after the last space or 、。，．,. that fits on the line;
    /// 2. at the last place that does not split a run of ASCII letters, digits and hyphens (`1524-23`,
    ///    `ABC`), does not start a line with closing punctuation, a small kana or ー, and does not end
    ///    one with an opening bracket (Japanese line-breaking, 禁則);
    /// 3. anywhere.
    public static func wrap(_ text: String, columns: Int, maxLines: Int) -> [String]? {
        guard columns > 0, maxLines >= 0 else { return nil }
        let paragraphs = text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline })
            .map { Array($0) }
        for mode in [BreakMode.preferSpaces, .avoidSplits, .anywhere] {
            var lines: [String] = []
            var fits = true
            for paragraph in paragraphs {
                guard let wrapped = wrapParagraph(paragraph, columns: columns, mode: mode) else { return nil }
                lines += wrapped
                if lines.count > maxLines { fits = false; break }
            }
            if fits { return lines }
        }
        return nil
    }

    private enum BreakMode { case preferSpaces, avoidSplits, anywhere }

    /// Greedy fill of one paragraph; nil when one character alone is wider than a line.
    private static func wrapParagraph(_ g: [Character], columns: Int, mode: BreakMode) -> [String]? {
        var lines: [String] = []
        var start = 0
        while true {
            while start < g.count, isSpace(g[start]) { start += 1 }
            if start == g.count { break }
            var width = 0
            var end = start
            var spaceBreak: Int?     // the line may end before g[k]; g[k] is a space, dropped
            var punctuationBreak: Int?
            while end < g.count {
                let w = self.columns(of: g[end])
                if width + w > columns { break }
                width += w
                if isSpace(g[end]) { spaceBreak = end }
                if isBreakPunctuation(g[end]) { punctuationBreak = end + 1 }
                end += 1
            }
            if end == g.count {
                lines.append(trimmed(g[start..<end]))
                break
            }
            if end == start { return nil }   // a single character wider than the line
            var cut = end
            if isSpace(g[end]) {
                cut = end
            } else {
                let preferred = [spaceBreak, punctuationBreak].compactMap { $0 }.filter { $0 > start }.max()
                switch mode {
                case .preferSpaces:
                    cut = preferred ?? softBreak(g, from: start, before: end) ?? end
                case .avoidSplits:
                    cut = softBreak(g, from: start, before: end) ?? end
                case .anywhere:
                    cut = end
                }
            }
            lines.append(trimmed(g[start..<cut]))
            start = cut
        }
        return lines
    }

    /// The last index k in (start, end] where a line may end before g[k] without splitting an ASCII
    /// word and without breaking a 禁則 rule.
    private static func softBreak(_ g: [Character], from start: Int, before end: Int) -> Int? {
        var k = end
        while k > start {
            let before = g[k - 1], after = g[k]
            let splitsWord = isWordCharacter(before) && isWordCharacter(after)
            if !splitsWord && !noLineStart.contains(after) && !noLineEnd.contains(before) { return k }
            k -= 1
        }
        return nil
    }

    private static func trimmed(_ s: ArraySlice<Character>) -> String {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi, isSpace(s[lo]) { lo += 1 }
        while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
        return String(s[lo..<hi])
    }

    private static func isSpace(_ c: Character) -> Bool { c == " " || c == "\u{3000}" || c == "\t" }
    private static func isBreakPunctuation(_ c: Character) -> Bool { "、。，．,.".contains(c) }
    private static func isWordCharacter(_ c: Character) -> Bool {
        guard let a = c.asciiValue else { return false }
        return (a >= 0x30 && a <= 0x39) || (a >= 0x41 && a <= 0x5A) || (a >= 0x61 && a <= 0x7A) || a == 0x2D
    }
    /// Characters a Japanese line may not start with (行頭禁則).
    private static let noLineStart: Set<Character> = Set("、。，．,.)）」』】〕〉》］｝・：；？！ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々ゝゞヽヾ")
    /// Characters a Japanese line may not end with (行末禁則).
    private static let noLineEnd: Set<Character> = Set("(（「『【〔〈《［｛")
}

/// A character the postcard print file cannot carry: not in CP932 and without a standard substitute.
public struct Unprintable: Error, Equatable, CustomStringConvertible {
    /// The character as given.
    public let character: Character
    /// Its position in the text, counting characters from 1.
    public let position: Int

    /// The character's code points, e.g. `U+29E3D` or `U+304B U+309A`.
    public var codePoints: String {
        character.unicodeScalars.map(ControlCharacters.name).joined(separator: " ")
    }

    /// A control character (ESC, BEL, NUL …): not text at all.
    public var isControl: Bool { character.unicodeScalars.contains { ControlCharacters.isControl($0) } }

    public var description: String {
        if isControl { return "character \(position) (\(codePoints)) is a control character, not text: nothing to print" }
        return "character \(position) \"\(character)\" (\(codePoints)) cannot be printed in CP932 and has no standard substitute"
    }
}

/// What CP932 (the print vendor's encoding) can print of a name or address, and the documented
/// stand-ins for what it cannot.
///
/// ## Policy (README text)
///
/// - A character CP932 encodes is kept as it is, including the NEC and IBM extensions (①, ㈱, Ⅱ,
///   髙, 﨑, 德, 彅) and characters that share a CP932 code with a look-alike (〜 U+301C and ～ U+FF5E
///   both print as 0x8160; − U+2212 as 0x817C).
/// - A character written in decomposed form (が as か + combining ゛) is composed first; iconv would
///   otherwise drop the combining mark without a word and print か.
/// - Standard substitutes (the character CP932 does hold, as JIS X 0213 and Japan Post practice use):
///   𠮷→吉, 𡈽→土, 𠮟→叱, 俱→倶, 剝→剥, 噓→嘘, 屛→屏, 幷→并, 瘦→痩, 繫→繋, 蟬→蝉, 頰→頬, 醱→醗,
///   潑→溌, 塡→填, 顚→顛, 搔→掻, 攢→攅, 鷗→鴎; ヷ→ヴァ, ヸ→ヴィ, ヹ→ヴェ, ヺ→ヴォ, ゔ→う゛;
///   a kana with a combining (han)dakuten CP932 lacks as one character → kana + ゛/゜ (か゚ → か゜);
///   the hyphens ‑ ‒ – ⁃ ﹣ → ‐; the middle dots · • → ・; no-break and typographic spaces → space;
///   zero-width spaces, joiners and the BOM are removed; an ideographic variation selector is dropped
///   (葛󠄀 prints as 葛); a Latin letter with accents prints without them (é → e, Ü → U).
/// - Anything else (𩸽, emoji, Hangul, …) is refused as `Unprintable`, naming the character and its
///   code points: a postcard is never printed with a 〓 or a silently changed name.
/// - Control characters (C0, DEL, C1: ESC, BEL, NUL …) are refused too, though CP932 encodes the C0
///   ones: they are not text, and a terminal escape must not reach the print vendor. Only an address
///   may hold line breaks (LF, CR), which end its lines.
///
/// Not thread-safe: it holds a `CP932Encoder`. Give each worker its own.
public final class CP932Policy {
    /// A prepared text and the substitutions made, for the run report.
    public struct Prepared: Equatable, Sendable {
        /// The text, every character printable in CP932.
        public let text: String
        /// Each substitution made: the original character and what replaced it ("" when removed).
        public let substitutions: [Substitution]
    }

    /// One stand-in used.
    public struct Substitution: Equatable, Sendable {
        public let original: Character
        public let replacement: String
    }

    /// The fixed substitution table, by code point (the rule-based ones — accents, marks, spaces —
    /// are applied in code).
    public static let substitutes: [UInt32: String] = [
        0x20BB7: "吉", 0x2123D: "土", 0x20B9F: "叱", 0x4FF1: "倶", 0x525D: "剥", 0x5653: "嘘",
        0x5C5B: "屏", 0x5E77: "并", 0x7626: "痩", 0x7E6B: "繋", 0x87EC: "蝉", 0x9830: "頬",
        0x91B1: "醗", 0x6F51: "溌", 0x5861: "填", 0x985A: "顛", 0x6414: "掻", 0x6522: "攅",
        0x9DD7: "鴎",
        0x30F7: "ヴァ", 0x30F8: "ヴィ", 0x30F9: "ヴェ", 0x30FA: "ヴォ", 0x3094: "う゛",
        0x2011: "‐", 0x2012: "‐", 0x2013: "‐", 0x2043: "‐", 0xFE63: "‐",
        0x00B7: "・", 0x2022: "・",
        0x00A0: " ", 0x2000: " ", 0x2001: " ", 0x2002: " ", 0x2003: " ", 0x2004: " ", 0x2005: " ",
        0x2006: " ", 0x2007: " ", 0x2008: " ", 0x2009: " ", 0x200A: " ", 0x202F: " ", 0x205F: " ",
        0x200B: "", 0x200C: "", 0x200D: "", 0x2060: "", 0xFEFF: "",
    ]

    private let encoder = CP932Encoder()
    private static let lineBreaks: Set<Unicode.Scalar> = ["\n", "\r"]

    public init() {}

    /// `text` ready for the CP932 print file, or the first character that cannot be printed.
    /// `lineBreaks`: LF and CR are kept (an address), else refused as control characters.
    public func prepare(_ text: String, lineBreaks: Bool = false) -> Result<String, Unprintable> {
        prepareReporting(text, lineBreaks: lineBreaks).map(\.text)
    }

    /// Like `prepare`, and also lists the substitutions made so the run can report them.
    public func prepareReporting(_ text: String, lineBreaks: Bool = false) -> Result<Prepared, Unprintable> {
        if let c = ControlCharacters.first(in: text, allowing: lineBreaks ? Self.lineBreaks : []) {
            return .failure(Unprintable(character: Character(c.scalar), position: c.position))
        }
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return .success(Prepared(text: text, substitutions: [])) }
        // Fast path: every scalar encodes and none is a combining mark, so CP932Encoder's result is exact.
        let hasMarks = text.unicodeScalars.contains { Self.isMark($0) }
        if !hasMarks && encoder.encode(text).unencodable.isEmpty {
            return .success(Prepared(text: text, substitutions: []))
        }
        var out = ""
        var substitutions: [Substitution] = []
        for (offset, ch) in text.enumerated() {
            guard let (replacement, substituted) = resolve(ch) else {
                return .failure(Unprintable(character: ch, position: offset + 1))
            }
            out += replacement
            if substituted { substitutions.append(Substitution(original: ch, replacement: replacement)) }
        }
        return .success(Prepared(text: out, substitutions: substitutions))
    }

    /// The printable form of one character and whether it is a substitution (false for a plain keep or
    /// a canonical composition), or nil.
    private func resolve(_ ch: Character) -> (String, Bool)? {
        let scalars = Array(ch.unicodeScalars)
        if scalars.allSatisfy(encodes) { return (String(ch), false) }
        if scalars.count > 1 {
            // Compose first: か + ゛ is が, ワ + ゛ is ヷ (which then has a substitute).
            let composed = String(ch).precomposedStringWithCanonicalMapping
            let composedScalars = Array(composed.unicodeScalars)
            if composedScalars.count == 1 {
                if encodes(composedScalars[0]) { return (composed, false) }
                return substitute(composedScalars[0])
            }
            return substitute(sequence: composedScalars)
        }
        return substitute(scalars[0])
    }

    /// A substitute for one scalar CP932 lacks, or nil.
    private func substitute(_ s: Unicode.Scalar) -> (String, Bool)? {
        if let fixed = Self.substitutes[s.value] { return (fixed, true) }
        if let plain = Self.withoutAccents(s) { return (plain, true) }
        return nil
    }

    /// A substitute for a character of several scalars after composition: base characters must each
    /// encode (or have a substitute); combining (han)dakuten become the spacing ゛/゜, variation
    /// selectors are dropped, accents on a Latin letter are dropped.
    private func substitute(sequence: [Unicode.Scalar]) -> (String, Bool)? {
        var out = ""
        var previousIsLatinLetter = false
        for s in sequence {
            switch s.value {
            case 0x3099: out += "゛"; previousIsLatinLetter = false; continue
            case 0x309A: out += "゜"; previousIsLatinLetter = false; continue
            case 0xFE00...0xFE0F, 0xE0100...0xE01EF: continue
            case 0x0300...0x036F where previousIsLatinLetter: continue
            default: break
            }
            if encodes(s) {
                out.unicodeScalars.append(s)
            } else if let (single, _) = substitute(s) {
                out += single
            } else {
                return nil
            }
            previousIsLatinLetter = s.properties.isAlphabetic && s.value < 0x250
        }
        return (out, true)
    }

    /// True when CP932 holds this scalar by itself (not dropped, not replaced by 〓).
    private func encodes(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return true }
        if Self.isMark(s) { return false }
        return encoder.encode(String(s)).unencodable.isEmpty
    }

    /// Combining marks and variation selectors: the scalars iconv drops without reporting.
    private static func isMark(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// A Latin letter with diacritics as its plain ASCII letter (é → e), or nil.
    private static func withoutAccents(_ s: Unicode.Scalar) -> String? {
        guard s.value >= 0xC0 && s.value < 0x250 else { return nil }
        let base = String(s).decomposedStringWithCanonicalMapping.unicodeScalars.filter { !isMark($0) }
        guard base.count == 1, let b = base.first, b.isASCII, b.properties.isAlphabetic else { return nil }
        return String(b)
    }
}

/// Protection of CSV cells against spreadsheet formula injection: a cell Excel or LibreOffice would
/// run as a formula is prefixed with an apostrophe, which both show as text.
///
/// ## Rule (README text)
///
/// A cell is neutralised — `'` put in front — when it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return, or with the full-width ＝ ＋ － ＠ (which Japanese Excel also reads as formula
/// starts), **unless** the whole cell is a plain number: optional sign, ASCII digits, optional
/// decimal part (`-5`, `+81`, `-0.5`). Numbers are not formulas, and changing them would change the
/// data. Postal codes (`123-4567`) and sequence numbers never start with a trigger and pass
/// unchanged; `-1-2-3`, which Excel would compute as -6, is neutralised.
public enum SpreadsheetSafe {
    /// `cell`, with a leading `'` if a spreadsheet would run it as a formula.
    public static func neutralise(_ cell: String) -> String {
        needsNeutralising(cell) ? "'" + cell : cell
    }

    /// A cell of kenpo's own text (a message, a record key, a path) in a file people open in a
    /// spreadsheet or a terminal — the operator's rejects.csv, the details of a hand-back file: control
    /// characters shown escaped (`ControlCharacters.escaped`), then neutralised. Cells carrying an
    /// insurer's bytes as sent are only neutralised (`neutralise`).
    public static func textCell(_ cell: String) -> String {
        neutralise(ControlCharacters.escaped(cell))
    }

    /// True when `cell` starts like a formula and is not a plain number.
    public static func needsNeutralising(_ cell: String) -> Bool {
        guard let first = cell.unicodeScalars.first else { return false }
        switch first.value {
        case 0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D, 0xFF1D, 0xFF0B, 0xFF0D, 0xFF20: break
        default: return false
        }
        return !isPlainNumber(cell)
    }

    /// Optional + or -, one or more ASCII digits, optionally . and one or more digits.
    static func isPlainNumber(_ cell: String) -> Bool {
        var bytes = Array(cell.utf8)[...]
        if let f = bytes.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        let integer = bytes.prefix(while: isDigit)
        guard !integer.isEmpty else { return false }
        bytes = bytes.dropFirst(integer.count)
        if bytes.isEmpty { return true }
        guard bytes.first == UInt8(ascii: ".") else { return false }
        bytes = bytes.dropFirst()
        return !bytes.isEmpty && bytes.allSatisfy(isDigit)
    }
}

extension String {
    /// Right-aligned in `width` characters: "7F" → "007F"; " " pads report columns.
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
