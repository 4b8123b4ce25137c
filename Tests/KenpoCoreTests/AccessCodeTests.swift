import Foundation
import Testing
import KenpoCore

/// A generator that returns scripted 64-bit words, to drive the rejection sampling exactly.
private struct ScriptedGenerator: RandomNumberGenerator {
    var words: [UInt64]
    var drawn = 0
    mutating func next() -> UInt64 {
        defer { drawn += 1 }
        return words[drawn % words.count]
    }
}

@Suite("AccessCode")
struct AccessCodeTests {
    /// Computed independently (Python) from the check rule Σ (i+1)·vᵢ ≡ 0 (mod 31).
    static let known = "AB3K7QXM2D92"

    @Test("alphabet: 31 characters, prime, no 0 O 1 I L, digits 2–9 and letters")
    func alphabet() {
        #expect(String(AccessCode.alphabet) == "23456789ABCDEFGHJKMNPQRSTUVWXYZ")
        #expect(AccessCode.alphabet.count == 31)
        #expect(Set(AccessCode.alphabet).count == 31)
        #expect((2..<31).allSatisfy { 31 % $0 != 0 })
        for excluded in "0O1IL" { #expect(!AccessCode.alphabet.contains(excluded)) }
        #expect(AccessCode.length == 12 && AccessCode.randomLength == 11)
        #expect(AccessCode.randomBits > 54.4 && AccessCode.randomBits < 54.6)
    }

    @Test("a generated code has 12 alphabet characters, is grouped 4-4-4 and parses back")
    func generatedShape() {
        for _ in 0..<1000 {
            let code = AccessCode.generate()
            #expect(code.compact.count == 12)
            #expect(code.compact.allSatisfy { AccessCode.alphabet.contains($0) })
            let g = Array(code.grouped)
            #expect(g.count == 14 && g[4] == "-" && g[9] == "-")
            #expect(code.grouped.replacingOccurrences(of: "-", with: "") == code.compact)
            #expect(AccessCode.parse(code.grouped) == .valid(code))
            #expect(AccessCode.parse(code.compact) == .valid(code))
        }
    }

    @Test("rejection sampling: a 5-bit slice of 31 is discarded, never folded into another value")
    func rejectionSampling() throws {
        // All ones: every slice is 31 and rejected; the second word supplies the values.
        // 0b00001_00010_… : slices (low bits first) 0,1,2,…,11 → characters 2,3,4,…
        var word: UInt64 = 0
        for i in (0..<12).reversed() { word = word << 5 | UInt64(i) }
        var g = ScriptedGenerator(words: [UInt64.max, word])
        let code = AccessCode.generate(using: &g)
        #expect(g.drawn == 2)
        #expect(code.compact.prefix(11) == "23456789ABC")
        guard case .valid = AccessCode.parse(code.compact) else { Issue.record("not valid"); return }

        // A slice of 31 in the middle is skipped: values 5, 31, 6 give characters 7, 8.
        var mixed: UInt64 = 0
        let slices: [UInt64] = [5, 31, 6, 31, 31, 0, 1, 2, 3, 4, 7, 8]
        for s in slices.reversed() { mixed = mixed << 5 | s }
        var h = ScriptedGenerator(words: [mixed, 0])
        let second = AccessCode.generate(using: &h)
        #expect(second.compact.prefix(11) == "78234569A22")   // values 5,6,0,1,2,3,4,7,8, then 0,0 from the next word
    }

    @Test("every value is drawn about equally often (χ² over 310 000 characters)")
    func uniformity() {
        var counts = [Int](repeating: 0, count: 31)
        let index = Dictionary(uniqueKeysWithValues: AccessCode.alphabet.enumerated().map { ($1, $0) })
        for _ in 0..<31_000 {
            for ch in AccessCode.generate().compact.prefix(10) { counts[index[ch]!] += 1 }
        }
        let expected = 310_000.0 / 31
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        // 30 degrees of freedom: P(χ² > 70) < 10⁻⁴.
        #expect(chi2 < 70, "χ² = \(chi2)")
    }

    @Test("a million generated codes are all different")
    func millionUnique() {
        // By chance alone two of a million 54.5-bit codes collide with probability ≈ 2·10⁻⁵.
        var seen = Set<AccessCode>(minimumCapacity: 1_000_000)
        var system = SystemRandomNumberGenerator()
        for _ in 0..<1_000_000 { seen.insert(AccessCode.generate(using: &system)) }
        #expect(seen.count == 1_000_000)
    }

    @Test("every single wrong character is detected, in every position, for every replacement")
    func detectsEverySubstitution() throws {
        var codes = [try validCode(Self.known)]
        for _ in 0..<20 { codes.append(AccessCode.generate()) }
        var checked = 0
        for code in codes {
            let chars = Array(code.compact)
            for position in 0..<12 {
                for replacement in AccessCode.alphabet where replacement != chars[position] {
                    var typed = chars
                    typed[position] = replacement
                    #expect(AccessCode.parse(String(typed)) == .mistyped, "\(position) → \(replacement)")
                    checked += 1
                }
            }
        }
        #expect(checked == 21 * 12 * 30)
    }

    @Test("every swap of two different neighbours is detected, for every pair of characters")
    func detectsEveryAdjacentSwap() throws {
        // Exhaustive over positions and over all 31·30 ordered pairs (a, b), a ≠ b, placed at i, i+1
        // in a valid code (the check character recomputed), then swapped.
        let base = Array(try validCode(Self.known).compact)
        var checked = 0
        for position in 0..<11 {
            for a in AccessCode.alphabet {
                for b in AccessCode.alphabet where a != b {
                    var chars = base
                    chars[position] = a
                    chars[position + 1] = b
                    guard let valid = completed(chars, fixing: position, position + 1) else { continue }
                    var swapped = valid
                    swapped.swapAt(position, position + 1)
                    #expect(AccessCode.parse(String(swapped)) == .mistyped, "\(String(valid)) swap at \(position)")
                    checked += 1
                }
            }
        }
        #expect(checked == 11 * 31 * 30)
    }

    /// Makes `chars` a valid code by changing one character other than the two fixed ones (the check
    /// character, or character 0 when the check character is one of the pair).
    private func completed(_ chars: [Character], fixing i: Int, _ j: Int) -> [Character]? {
        let free = (j == 11) ? 0 : 11
        var candidate = chars
        for c in AccessCode.alphabet {
            candidate[free] = c
            if case .valid = AccessCode.parse(String(candidate)) { return candidate }
        }
        return nil
    }

    private func validCode(_ s: String) throws -> AccessCode {
        guard case .valid(let code) = AccessCode.parse(s) else { throw ParseFailed() }
        return code
    }
    struct ParseFailed: Error {}

    @Test("input folding", arguments: [
        ("AB3K7QXM2D92", true),
        ("AB3K-7QXM-2D92", true),
        ("ab3k-7qxm-2d92", true),
        ("Ab3K 7qXm 2D92", true),
        ("ＡＢ３Ｋ－７ＱＸＭ－２Ｄ９２", true),          // full-width, full-width hyphen-minus
        ("ａｂ３ｋ　７ｑｘｍ　２ｄ９２", true),          // full-width lower case, ideographic spaces
        ("AB3K‐7QXM‐2D92", true),                        // U+2010 hyphen
        ("AB3K–7QXM—2D92", true),                        // en dash, em dash
        ("AB3K−7QXM―2D92", true),                        // minus sign, horizontal bar
        ("AB3Kー7QXMｰ2D92", true),                       // prolonged sound marks typed as hyphens
        ("  AB3K-7QXM-2D92\n", true),
        ("AB3K--7QXM  2D92", true),
        ("AB3K\t7QXM\u{00A0}2D92", true),
    ])
    func folding(_ c: (String, Bool)) throws {
        #expect(AccessCode.parse(c.0) == .valid(try validCode(Self.known)))
    }

    @Test("refusals", arguments: [
        ("", AccessCodeParse.malformed(.empty)),
        (" - ー ", .malformed(.empty)),
        ("AB3K-7QXM-2D9", .malformed(.wrongLength(11))),
        ("AB3K-7QXM-2D922", .malformed(.wrongLength(13))),
        ("AB3K-7QXM-2D93", .mistyped),
        ("BA3K-7QXM-2D92", .mistyped),
        ("AB3K-7QXM-D292", .mistyped),
        ("OB3K-7QXM-2D92", .malformed(.excludedCharacter("O"))),
        ("oB3K-7QXM-2D92", .malformed(.excludedCharacter("o"))),
        ("ＯB3K-7QXM-2D92", .malformed(.excludedCharacter("Ｏ"))),
        ("0B3K-7QXM-2D92", .malformed(.excludedCharacter("0"))),
        ("AB3K-7QXM-2D9l", .malformed(.excludedCharacter("l"))),
        ("AB3K-7QXM-2D9I", .malformed(.excludedCharacter("I"))),
        ("AB3K-7QXM-2D91", .malformed(.excludedCharacter("1"))),
        ("AB3K-7QXM-2D9①", .malformed(.excludedCharacter("①"))),   // NFKC makes it 1
        ("AB3K_7QXM_2D92", .malformed(.invalidCharacter("_"))),
        ("AB3K-7QXM-2Dあ2", .malformed(.invalidCharacter("あ"))),
        ("AB3K.7QXM.2D92", .malformed(.invalidCharacter("."))),
    ])
    func refusals(_ c: (String, AccessCodeParse)) {
        #expect(AccessCode.parse(c.0) == c.1)
    }

    @Test("masked keeps only the last characters; description never shows the code")
    func masking() throws {
        let code = try validCode(Self.known)
        #expect(code.masked(keepingLast: 4) == "****-****-2D92")
        #expect(code.masked(keepingLast: 0) == "****-****-****")
        #expect(code.masked(keepingLast: 6) == "****-**XM-2D92")
        #expect(code.masked(keepingLast: 12) == "AB3K-7QXM-2D92")
        #expect(code.masked(keepingLast: 99) == "AB3K-7QXM-2D92")
        #expect(code.masked(keepingLast: -1) == "****-****-****")
        #expect("\(code)" == "AccessCode(redacted)")
        #expect(!String(reflecting: code).contains("AB3K"))
    }

    @Test("refusal reasons read as sentences")
    func reasonText() {
        #expect(AccessCodeParse.Reason.wrongLength(11).description == "a code has 12 characters, 11 were entered")
        #expect(AccessCodeParse.Reason.excludedCharacter("O").description.contains("no O, 0, I, L or 1"))
    }
}
