import Foundation

/// A checkup-viewing code (健診閲覧コード): the secret a member reads off the postcard and types on the
/// web side to open their checkup results.
///
/// ## Design (README text)
///
/// - **Alphabet**: 31 characters, `23456789ABCDEFGHJKMNPQRSTUVWXYZ` — the digits 2–9 and the upper-case
///   letters without I, L and O. 0/O and 1/I/L never occur, so nothing on the postcard can be read two
///   ways. 31 is prime, which the check character needs (below).
/// - **Length**: 11 random characters + 1 check character = 12, printed in three groups of four,
///   e.g. `AB3K-7QXM-2D92`.
///   11 · log2(31) ≈ 54.5 bits of randomness.
/// - **Randomness**: each random character is a 5-bit slice of the output of the operating system's
///   secure generator (`SystemRandomNumberGenerator`: `getrandom(2)` on Linux, falling back to
///   `/dev/urandom`; `arc4random_buf` on Apple platforms). A slice of value 31 is thrown away and the
///   next slice taken (rejection sampling), so every one of the 31 characters is exactly equally likely —
///   no modulo bias.
/// - **Check character**: the value c (0–30, the character's position in the alphabet) such that
///   Σ (i+1)·vᵢ + 12·c ≡ 0 (mod 31), over the 11 random characters vᵢ (i = 0…10). The weights 1…12 are
///   distinct and non-zero mod 31, so a code with any single wrong character, or with two different
///   neighbours swapped (including across a hyphen, and the check character itself), never passes:
///   the web side can answer "mistyped" before any lookup. `AccessCodeTests` proves this exhaustively.
/// - **Uniqueness**: codes are random, not sequential; at 54.5 bits two codes collide by chance with
///   probability about n²/2⁵⁵·⁵ (≈ 2·10⁻⁵ for a million codes). The code ledger must still refuse a
///   code whose hash is already active and draw again: "no two active codes are equal" is the ledger's
///   guarantee, not chance's.
///
/// ## What a member may type (input folding, see `parse`)
///
/// - Full-width characters are read as their ASCII forms (NFKC): `ＡＢ３Ｋ` = `AB3K`.
/// - Lower case is read as upper case: `ab3k` = `AB3K`.
/// - Hyphens and dashes are ignored: `-` `‐` `‑` `‒` `–` `—` `―` `−` `－` `ー` `ｰ` `﹣` `⁃` and the soft hyphen.
/// - Spaces are ignored: ASCII space, tab, line breaks, the ideographic space U+3000 and the other
///   Unicode spaces.
/// - `0`, `O`, `1`, `I`, `L` (in any width or case) are not guessed at: the code never contains them,
///   and mapping a typed `O` to some other character would only turn "please check" into "wrong code".
///   They are refused as `.malformed(.excludedCharacter)`, naming the character, so the screen can say
///   "the code contains no O, 0, I, L or 1".
/// - Anything else (kana, punctuation, …) is `.malformed(.invalidCharacter)`; a wrong number of
///   characters is `.malformed(.wrongLength)`; twelve code characters whose check fails is `.mistyped`.
///
/// `description` never shows the code (it prints `AccessCode(redacted)`), so a code cannot reach a log
/// through string interpolation; use `grouped` or `compact` where the code itself is wanted.
public struct AccessCode: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The 31 characters a code is made of, in value order (the check arithmetic uses these positions).
    public static let alphabet: [Character] = Array(alphabetText)
    /// Number of random characters.
    public static let randomLength = 11
    /// Number of characters of a code, check character included.
    public static let length = 12
    /// Bits of randomness of one code: 11 · log2(31).
    public static let randomBits = Double(randomLength) * log2(31.0)

    static let alphabetText = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    static let alphabetBytes: [UInt8] = Array(alphabetText.utf8)
    static let modulus = 31
    /// The inverse of the check character's weight 12 modulo 31 (12 · 13 = 156 = 5 · 31 + 1).
    static let inverseOfCheckWeight = 13
    /// ASCII byte → character value, or -1.
    static let valueOfASCII: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (value, byte) in alphabetBytes.enumerated() { table[Int(byte)] = Int8(value) }
        return table
    }()

    /// The 12 character values, 5 bits each, first character in the highest bits. One integer keeps a
    /// code cheap to hash and compare when a batch holds millions of them.
    private let packed: UInt64

    init(values: [UInt8]) {
        precondition(values.count == Self.length && values.allSatisfy { Int($0) < Self.modulus })
        var p: UInt64 = 0
        for v in values { p = p << 5 | UInt64(v) }
        packed = p
    }

    /// The 12 character values (0–30), check character last.
    var values: [UInt8] {
        (0..<Self.length).map { i in UInt8((packed >> UInt64(5 * (Self.length - 1 - i))) & 31) }
    }

    // MARK: - Making codes

    /// A new code from the operating system's secure random source (`SystemRandomNumberGenerator`,
    /// i.e. `getrandom(2)` on Linux).
    public static func generate() -> AccessCode {
        var system = SystemRandomNumberGenerator()
        return generate(using: &system)
    }

    /// A new code from `generator`. Production code uses `generate()`; a generator is accepted so tests
    /// can check the rejection sampling with scripted output.
    ///
    /// Each 64-bit output is cut into twelve 5-bit slices (values 0–31); a slice of 31 is discarded, so
    /// each character value 0–30 comes out with probability exactly 1/31.
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> AccessCode {
        var values: [UInt8] = []
        values.reserveCapacity(length)
        while values.count < randomLength {
            var word = generator.next()
            for _ in 0..<12 where values.count < randomLength {
                let slice = UInt8(word & 31)
                word >>= 5
                if slice < modulus { values.append(slice) }
            }
        }
        values.append(checkValue(for: values))
        return AccessCode(values: values)
    }

    /// The check character's value for 11 random character values: c with Σ (i+1)·vᵢ + 12·c ≡ 0 (mod 31).
    static func checkValue(for randomValues: [UInt8]) -> UInt8 {
        var sum = 0
        for (i, v) in randomValues.enumerated() { sum += (i + 1) * Int(v) }
        let needed = (modulus - sum % modulus) % modulus   // 12·c must be ≡ this
        return UInt8(needed * inverseOfCheckWeight % modulus)
    }

    /// True when the 12 values satisfy the check equation Σ (i+1)·vᵢ ≡ 0 (mod 31), i = 0…11.
    static func checks(_ values: [UInt8]) -> Bool {
        var sum = 0
        for (i, v) in values.enumerated() { sum += (i + 1) * Int(v) }
        return sum % modulus == 0
    }

    // MARK: - Printing

    /// The 12 characters without separators, e.g. `AB3K7QXM2D9F`. This is what the code ledger hashes.
    public var compact: String {
        String(decoding: values.map { Self.alphabetBytes[Int($0)] }, as: UTF8.self)
    }

    /// The code as printed on the postcard: three groups of four, e.g. `AB3K-7QXM-2D9F`.
    public var grouped: String { Self.group(compact) }

    /// The code with all but its last `keepingLast` characters replaced by `*`, grouped like the
    /// postcard, e.g. `****-****-2D9F` — for proof sheets and support screens that must show which
    /// postcard it is without showing the code.
    public func masked(keepingLast: Int) -> String {
        let keep = max(0, min(Self.length, keepingLast))
        let chars = Array(compact)
        let shown = String(repeating: "*", count: Self.length - keep) + String(chars[(Self.length - keep)...])
        return Self.group(shown)
    }

    /// Never the code itself: a code must not reach a log by accident.
    public var description: String { "AccessCode(redacted)" }
    public var debugDescription: String { description }

    private static func group(_ twelve: String) -> String {
        let c = Array(twelve)
        return String(c[0..<4]) + "-" + String(c[4..<8]) + "-" + String(c[8..<12])
    }

    // MARK: - Reading what a member typed

    /// Reads a code as a member typed it, applying the input folding described on `AccessCode`:
    /// NFKC (full-width → ASCII), lower → upper case, hyphens/dashes and spaces dropped; 0, O, 1, I, L
    /// refused by name.
    public static func parse(_ typed: String) -> AccessCodeParse {
        var values: [UInt8] = []
        values.reserveCapacity(length)
        for ch in typed {
            // Fold each typed character on its own, so a refusal can name what the member typed (ｏ, not o).
            for scalar in String(ch).precomposedStringWithCompatibilityMapping.unicodeScalars {
                if isIgnorable(scalar) { continue }
                var v = scalar.value
                if v >= 0x61 && v <= 0x7A { v -= 0x20 }   // a–z → A–Z
                if v < 128, valueOfASCII[Int(v)] >= 0 {
                    values.append(UInt8(valueOfASCII[Int(v)]))
                } else if v == 0x30 || v == 0x31 || v == 0x4F || v == 0x49 || v == 0x4C {  // 0 1 O I L
                    return .malformed(.excludedCharacter(ch))
                } else {
                    return .malformed(.invalidCharacter(ch))
                }
            }
        }
        if values.isEmpty { return .malformed(.empty) }
        if values.count != length { return .malformed(.wrongLength(values.count)) }
        guard checks(values) else { return .mistyped }
        return .valid(AccessCode(values: values))
    }

    /// Separators a member may type anywhere: every kind of space, and the hyphens and dashes a
    /// Japanese keyboard or IME produces (after NFKC, which already turns － into - and ｰ into ー).
    static func isIgnorable(_ s: Unicode.Scalar) -> Bool {
        if s.properties.isWhitespace { return true }
        switch s.value {
        case 0x2D, 0xAD, 0x2010...0x2015, 0x2043, 0x2212, 0x30FC, 0xFE58, 0xFE63, 0xFF0D, 0xFF70, 0x200B, 0xFEFF:
            return true
        default:
            return false
        }
    }
}

/// What `AccessCode.parse` made of a typed code.
public enum AccessCodeParse: Equatable, Sendable {
    /// Twelve code characters whose check character is right.
    case valid(AccessCode)
    /// Twelve code characters, but the check fails: at least one character was misread or mistyped.
    /// The web side can say so without looking anything up.
    case mistyped
    /// Not a code at all.
    case malformed(Reason)

    /// Why a typed value is not a code.
    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        /// Nothing but spaces and hyphens.
        case empty
        /// This many code characters, not 12.
        case wrongLength(Int)
        /// 0, O, 1, I or L (in any width or case), as typed: codes never contain them.
        case excludedCharacter(Character)
        /// Any other character that is not part of a code, as typed.
        case invalidCharacter(Character)

        public var description: String {
            switch self {
            case .empty: return "no code was entered"
            case .wrongLength(let n): return "a code has 12 characters, \(n) were entered"
            case .excludedCharacter(let c): return "codes never contain \"\(c)\" (no O, 0, I, L or 1 is used)"
            case .invalidCharacter(let c): return "\"\(c)\" is not a code character (codes use 2–9 and A–Z without I, L, O)"
            }
        }
    }
}
