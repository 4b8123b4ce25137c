import Foundation

/// Japan Post's customer barcode (カスタマバーコード) for one postcard: the 7-digit postal code and the
/// address number (住所表示番号) extracted from the address, as the 20 data characters, the check
/// character and the 4-state bar pattern the print vendor prints.
///
/// ## Rules (Japan Post 郵便番号・バーコードマニュアル, pages 17–21 and 12)
///
/// Address-number extraction (`addressNumber(from:)`), in this order:
/// 1. Full-width digits, letters and symbols are read as their half-width forms; lower-case letters
///    become upper case (基本ルール1).
/// 2. `&` `/` `・` `.` (any width) are removed and the text closed up (基本ルール2).
/// 3. A run of kanji numerals (〇一二三四五六七八九十百千) directly before 丁目, 丁, 番地, 番, 号,
///    地割, 線, の or ノ becomes arabic digits: 十一 → 11, 二十一 → 21, 四 → 4, 二〇三 → 203 (補足ルール1).
///    Kanji numerals elsewhere (北六条, 四日市) stay kanji.
/// 4. Extracted are: digits, hyphens and single letters not adjacent to another letter (基本ルール3).
///    A letter F directly after a digit means "floor" and is not extracted (補足ルール2); like any other
///    non-extracted text it becomes a hyphen when something extracted follows, and vanishes otherwise
///    (補足ルール3): `10F` → `10`, `1F1号` → `1-1`.
/// 5. Everything not extracted (kanji, kana, spaces, runs of two or more letters, 丁目/番地/号 …)
///    becomes one hyphen when it stands before an extracted character (基本ルール4); runs of hyphens
///    become one (基本ルール5); a leading hyphen is removed (基本ルール6); so is a trailing one (Japan
///    Post's worked examples: `403号` → `403`).
/// 6. Hyphens directly before or after a letter are removed (補足ルール4); letters that thereby meet
///    stay (補足ルール5): `6-7-L-B106` → `6-7LB106`.
///
/// Data characters: postal code (7) + address number, a letter written as two symbols (A–J = CC1 + 0–9,
/// K–T = CC2 + 0–9, U–Z = CC3 + 0–5); cut at 20 symbols (so a letter straddling 20/21 keeps only its
/// control symbol, p20), or padded to 20 with CC4. Check character: symbol values 0–9 = digits,
/// `-` = 10, CC1…CC8 = 11…18; the check character makes the sum of all 21 values a multiple of 19.
/// Bars: STC `13`, three bars per symbol, SPC `31`; 1 = long bar, 2 = upper half, 3 = lower half,
/// 4 = timing bar.
///
/// Japan Post applies the extraction to the part of the address after the town name (住所B). kenpo has
/// no postal dictionary to find that point, so pass the address from the town name on when the
/// mailing list splits it that way; a full address gives the same result unless the prefecture, city
/// or town name itself holds digits or a kanji numeral before one of the step-3 markers (三ノ輪,
/// 一番町, 八丁堀 …).
public struct CustomerBarcode: Equatable, Sendable {
    /// One character of the barcode: a digit, the hyphen, or a control code CC1…CC8.
    public enum Symbol: Hashable, Sendable, CustomStringConvertible {
        case digit(Int)
        case hyphen
        case control(Int)

        /// The value used for the check character: digits 0–9, hyphen 10, CCn 10+n.
        public var value: Int {
            switch self {
            case .digit(let d): return d
            case .hyphen: return 10
            case .control(let n): return 10 + n
            }
        }

        /// The symbol of a check value 0…18.
        public init?(value: Int) {
            switch value {
            case 0...9: self = .digit(value)
            case 10: self = .hyphen
            case 11...18: self = .control(value - 10)
            default: return nil
            }
        }

        /// As Japan Post writes it: `0`…`9`, `-`, `CC1`…`CC8`.
        public var description: String {
            switch self {
            case .digit(let d): return String(d)
            case .hyphen: return "-"
            case .control(let n): return "CC\(n)"
            }
        }

        /// The symbol's three bars (1 long, 2 upper half, 3 lower half, 4 timing).
        public var bars: String { Self.barTable[value] }

        /// Bars by value: 0–9, hyphen, CC1…CC8 (Japan Post's table, as in customer-barcode-cases.tsv).
        static let barTable = ["144", "114", "132", "312", "123", "141", "321", "213", "231", "411",
                               "414", "324", "342", "234", "432", "243", "423", "441", "111"]
    }

    /// Bars of the start code STC.
    public static let startBars = "13"
    /// Bars of the stop code SPC.
    public static let stopBars = "31"
    /// Number of data characters (postal code + address number + CC4 padding).
    public static let dataLength = 20

    /// The postal code's 7 digits, without hyphen.
    public let postalCode: String
    /// The address number extracted from the address, before truncation and padding, letters as
    /// letters (e.g. `3-30-8-403`, `3-20-5B604`).
    public let addressNumber: String
    /// The 20 data characters.
    public let dataCharacters: [Symbol]
    /// The check character.
    public let checkCharacter: Symbol

    /// The 20 data characters as Japan Post writes them, e.g. `26300233-30-8-403CC4CC4CC4`.
    public var dataString: String { dataCharacters.map(\.description).joined() }

    /// The data characters followed by the check character (the "code" column of Japan Post's worked
    /// examples), e.g. `26300233-30-8-403CC4CC4CC45`.
    public var code: String { dataString + checkCharacter.description }

    /// The full bar pattern, STC … SPC: 67 digits 1–4.
    public var bars: String {
        Self.startBars + dataCharacters.map(\.bars).joined() + checkCharacter.bars + Self.stopBars
    }

    /// The barcode of a postcard. `postalCode` may be written `1234567`, `123-4567`, `〒１２３－４５６７`
    /// (full-width digits, 〒, spaces and hyphens are accepted); anything that is not 7 digits throws
    /// `InvalidPostalCode`.
    public static func encode(postalCode: String, address: String) throws -> CustomerBarcode {
        let postal = try postalDigits(postalCode)
        let number = addressNumber(from: address)
        var symbols = postal.map { Symbol.digit($0) }
        for byte in number.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): symbols.append(.digit(Int(byte - 0x30)))
            case UInt8(ascii: "-"): symbols.append(.hyphen)
            default:
                let index = Int(byte) - 0x41   // A = 0 … Z = 25
                symbols.append(.control(index / 10 + 1))
                symbols.append(.digit(index % 10))
            }
        }
        if symbols.count > dataLength {
            symbols.removeSubrange(dataLength...)
        } else {
            symbols += Array(repeating: .control(4), count: dataLength - symbols.count)
        }
        return CustomerBarcode(postalCode: postal.map(String.init).joined(), addressNumber: number,
                               dataCharacters: symbols, checkCharacter: checkCharacter(for: symbols))
    }

    /// The check character for data characters: the symbol whose value brings the total to a multiple
    /// of 19.
    public static func checkCharacter(for data: [Symbol]) -> Symbol {
        let sum = data.reduce(0) { $0 + $1.value }
        return Symbol(value: (19 - sum % 19) % 19)!
    }

    // MARK: - Postal code

    static func postalDigits(_ text: String) throws -> [Int] {
        var digits: [Int] = []
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x30...0x39: digits.append(Int(scalar.value - 0x30))
            case 0xFF10...0xFF19: digits.append(Int(scalar.value - 0xFF10))
            case 0x3012, 0x20, 0x3000, 0x2D, 0xFF0D, 0x2010...0x2015, 0x2212, 0x30FC, 0xFF70: continue   // 〒, spaces, hyphens
            default: throw InvalidPostalCode(text: text)
            }
        }
        guard digits.count == 7 else { throw InvalidPostalCode(text: text) }
        return digits
    }

    // MARK: - Address number (住所表示番号)

    private enum Piece: Equatable {
        case digit(UInt8)
        case hyphen
        case letter(UInt8)
        case other
    }

    /// The address number (住所表示番号) of an address, by Japan Post's extraction rules (listed on
    /// `CustomerBarcode`): digits, hyphens and single letters, e.g. `3-30-8-403` for
    /// `千葉市稲毛区緑町3丁目30-8　郵便ビル403号`. Empty when the address holds no number.
    public static func addressNumber(from address: String) -> String {
        let scalars = convertKanjiNumerals(normalise(address))
        // Classify; a run of letters is extracted only when it is one letter long, and not an F
        // directly after a digit (floor).
        var pieces: [Piece] = []
        var i = 0
        while i < scalars.count {
            let v = scalars[i].value
            if isUpperLetter(v) {
                var j = i
                while j < scalars.count, isUpperLetter(scalars[j].value) { j += 1 }
                let floorMark = v == 0x46 && i > 0 && isDigit(scalars[i - 1].value)
                pieces.append(j - i == 1 && !floorMark ? .letter(UInt8(v)) : .other)
                i = j
                continue
            }
            if isDigit(v) { pieces.append(.digit(UInt8(v))) }
            else if v == 0x2D { pieces.append(.hyphen) }
            else { pieces.append(.other) }
            i += 1
        }
        // Non-extracted text before an extracted character becomes one hyphen; no leading hyphen, no
        // run of hyphens, no trailing hyphen.
        var out: [Piece] = []
        var pendingSeparator = false
        for piece in pieces {
            switch piece {
            case .other:
                pendingSeparator = true
            case .hyphen:
                pendingSeparator = true
            case .digit, .letter:
                if pendingSeparator && !out.isEmpty { out.append(.hyphen) }
                pendingSeparator = false
                out.append(piece)
            }
        }
        // No hyphen next to a letter.
        var text: [UInt8] = []
        for (k, piece) in out.enumerated() {
            switch piece {
            case .digit(let b), .letter(let b): text.append(b)
            case .hyphen:
                if case .letter = out[k - 1] { continue }
                if k + 1 < out.count, case .letter = out[k + 1] { continue }
                text.append(UInt8(ascii: "-"))
            case .other: break
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Steps 1–2: half-width forms, upper case, & / ・ . removed, hyphen look-alikes read as hyphens.
    static func normalise(_ address: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(address.unicodeScalars.count)
        for scalar in address.unicodeScalars {
            var v = scalar.value
            if v >= 0xFF01 && v <= 0xFF5E { v -= 0xFEE0 }          // full-width ASCII
            if v >= 0x61 && v <= 0x7A { v -= 0x20 }                // a–z → A–Z
            switch v {
            case 0x26, 0x2F, 0x2E, 0x30FB, 0xFF65: continue        // & / . ・ ･
            case 0x2010...0x2015, 0x2212, 0xFE63: v = 0x2D          // hyphens and dashes
            case 0xFF89: v = 0x30CE                                 // ﾉ → ノ
            default: break
            }
            out.append(Unicode.Scalar(v)!)
        }
        return out
    }

    static let kanjiDigits: [UInt32: Int] = [0x3007: 0, 0x4E00: 1, 0x4E8C: 2, 0x4E09: 3, 0x56DB: 4,
                                             0x4E94: 5, 0x516D: 6, 0x4E03: 7, 0x516B: 8, 0x4E5D: 9]
    static let kanjiUnits: [UInt32: Int] = [0x5341: 10, 0x767E: 100, 0x5343: 1000]   // 十 百 千

    /// Step 3: kanji numerals before 丁目 丁 番地 番 号 地割 線 の ノ become arabic digits.
    static func convertKanjiNumerals(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard isKanjiNumeral(s[i].value) else { out.append(s[i]); i += 1; continue }
            var j = i
            while j < s.count, isKanjiNumeral(s[j].value) { j += 1 }
            if isMarker(s, at: j), let value = kanjiNumberValue(s[i..<j]) {
                out += value.unicodeScalars
            } else {
                out += s[i..<j]
            }
            i = j
        }
        return out
    }

    /// A kanji numeral's value as arabic digits. Without 十百千 it is read digit by digit (二〇三 → 203);
    /// with them, as a number (二十一 → 21, 千二百 → 1200, 十 → 10). nil for a run of more than 12
    /// numerals with 十百千, which no address holds and could overflow: it then stays kanji (not extracted).
    static func kanjiNumberValue(_ run: ArraySlice<Unicode.Scalar>) -> String? {
        if !run.contains(where: { kanjiUnits[$0.value] != nil }) {
            return run.map { String(kanjiDigits[$0.value]!) }.joined()
        }
        // 12 numerals cannot overflow (at most 11 digits times 千) and are more than any address holds.
        guard run.count <= 12 else { return nil }
        var total = 0
        var pending: Int?
        for scalar in run {
            if let d = kanjiDigits[scalar.value] {
                pending = (pending ?? 0) * 10 + d
            } else if let unit = kanjiUnits[scalar.value] {
                total += (pending ?? 1) * unit
                pending = nil
            }
        }
        return String(total + (pending ?? 0))
    }

    static func isKanjiNumeral(_ v: UInt32) -> Bool { kanjiDigits[v] != nil || kanjiUnits[v] != nil }

    /// 丁(目) 番(地) 号 線 の ノ, or 地割, at index `i`.
    static func isMarker(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        guard i < s.count else { return false }
        switch s[i].value {
        case 0x4E01, 0x756A, 0x53F7, 0x7DDA, 0x306E, 0x30CE: return true   // 丁 番 号 線 の ノ
        case 0x5730: return i + 1 < s.count && s[i + 1].value == 0x5272     // 地割
        default: return false
        }
    }

    static func isDigit(_ v: UInt32) -> Bool { v >= 0x30 && v <= 0x39 }
    static func isUpperLetter(_ v: UInt32) -> Bool { v >= 0x41 && v <= 0x5A }
}

/// A postal code that is not 7 digits.
public struct InvalidPostalCode: Error, Equatable, CustomStringConvertible {
    /// The postal code as given.
    public let text: String
    public init(text: String) { self.text = text }
    public var description: String { "postal code \"\(text)\" is not 7 digits (e.g. 123-4567)" }
}
