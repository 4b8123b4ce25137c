import Foundation

public enum KanaNameError: Error, Equatable, Sendable {
    case empty
    case invalidCharacter(Character)
}

extension KanaNameError: CustomStringConvertible {
    /// An English sentence for an operator.
    public var description: String {
        switch self {
        case .empty:
            return "the kana name is empty"
        case .invalidCharacter(let c):
            let codes = c.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
            return "the kana name contains '\(c)' (\(codes)); it may hold only katakana or hiragana (half-width kana is accepted), spaces and ・"
        }
    }
}

/// カナ氏名: the name the member types on the registration screen (full-width katakana, no space).
public enum KanaName {
    /// Normalised kana name as the registration screen expects it: full-width katakana, dakuten/handakuten composed
    /// (half-width ｶﾞ → ガ, ﾊﾟ → パ, ｳﾞ → ヴ, ﾜﾞ → ヷ, ｦﾞ → ヺ; also base + U+3099/U+309A combining and + U+309B/U+309C spacing marks, and
    /// precomposable full-width sequences like カ+U+3099 → ガ), hiragana folded to katakana (ぁ-ゖ → ァ-ヶ, ゝゞ → ヽヾ),
    /// half-width katakana (U+FF61–U+FF9F) to full-width including ｰ → ー, ｯ → ッ etc., and all separators removed:
    /// spaces U+0020/U+3000, middle dots ・ U+30FB and ･ U+FF65. Small kana are KEPT (キョウコ stays キョウコ).
    /// Allowed result characters: katakana U+30A1–U+30FA, ー U+30FC, ヽ ヾ U+30FD–U+30FE. Anything else (kanji, Latin letters, digits,
    /// a lone dakuten with nothing to compose with) → .invalidCharacter(first such character). Empty after removing separators → .empty.
    /// Tab and U+00A0 count as spaces too. A mark composes only with the character right before it (not across a separator),
    /// and the reported invalid character is the one in the input (｡ for ｡, not 。).
    public static func normalise(_ raw: String) -> Result<String, KanaNameError> {
        // Fast path: already full-width katakana with no separators (the common case for modern rosters).
        let clean = Normalise.withUTF8(raw) { isNormalisedKatakana($0) }
        if clean { return raw.isEmpty ? .failure(.empty) : .success(raw) }
        return normaliseSlow(raw)
    }

    /// `normalise` of UTF-8 bytes, appended to `out`; on failure nothing is appended. `p` must be
    /// valid UTF-8 (the roster reader checks or decodes it so): the scalars are read without bounds checks.
    static func normalise(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> KanaNameError? {
        if isNormalisedKatakana(p) {
            if p.isEmpty { return .empty }
            out.append(contentsOf: p)
            return nil
        }
        return normaliseBytes(p, into: &out)
    }

    /// Match key: the normalised name with small kana folded to large (ァィゥェォ→アイウエオ, ッ→ツ, ャュョ→ヤユヨ, ヮ→ワ, ヵ→カ, ヶ→ケ),
    /// because legacy rosters store キヨウコ for キョウコ. Input is an already-normalised name.
    public static func key(normalised: String) -> String {
        var bytes = Array(normalised.utf8)
        return foldSmallKana(&bytes, from: 0) ? String(decoding: bytes, as: UTF8.self) : normalised
    }

    /// `key(normalised:)` of the normalised name at `name` in `out`, appended to `out`.
    public static func appendKey(ofNormalisedAt name: Range<Int>, in out: inout [UInt8]) {
        let start = out.count
        out.reserveCapacity(start + name.count)
        for i in name { out.append(out[i]) }
        _ = foldSmallKana(&out, from: start)
    }

    /// Folds small kana to large in place in `bytes[start...]`; returns whether anything changed.
    /// Small kana are U+30A1…U+30F6: E3 82 xx or E3 83 xx. Folding keeps each character 3 bytes long.
    static func foldSmallKana(_ bytes: inout [UInt8], from start: Int) -> Bool {
        bytes.withUnsafeMutableBufferPointer { p in
            var changed = false
            let n = p.count
            var i = start
            while i < n {
                let b0 = p[i]
                if b0 == 0xE3, i + 2 < n, p[i + 1] == 0x82 || p[i + 1] == 0x83 {
                    let v = 0x3000 | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F)
                    if let l = KanaTables.large(v) {
                        p[i + 1] = 0x80 | UInt8((l >> 6) & 0x3F)
                        p[i + 2] = 0x80 | UInt8(l & 0x3F)
                        changed = true
                    }
                    i += 3
                } else {
                    i += 1
                }
            }
            return changed
        }
    }

    /// Convenience: normalise then key.
    public static func key(_ raw: String) -> Result<String, KanaNameError> {
        normalise(raw).map { key(normalised: $0) }
    }

    /// Full-width katakana → half-width katakana (ガ → ｶﾞ), used by the test-data generator for legacy profiles.
    /// Characters with no half-width form unchanged (ヮ ヵ ヶ ヰ ヱ ヸ ヹ ヽ ヾ, kanji, hiragana …).
    /// Also ー → ｰ, ・ → ･, 。「」、 → ｡｢｣､, U+3000 → U+0020.
    public static func toHalfWidth(_ katakana: String) -> String {
        var out = String.UnicodeScalarView()
        for s in katakana.unicodeScalars {
            if let h = KanaTables.halfWidthForm[s.value] {
                out.append(contentsOf: h.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    // MARK: - internals

    /// True when every byte sequence is an allowed result character (U+30A1–U+30FA, U+30FC–U+30FE).
    /// Those are `E3 82 A1`–`E3 82 BF` and `E3 83 80`–`E3 83 BA`, `E3 83 BC`–`E3 83 BE`.
    static func isNormalisedKatakana(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = p.count
        if n % 3 != 0 { return false }
        var i = 0
        while i < n {
            guard p[i] == 0xE3 else { return false }
            let b1 = p[i + 1], b2 = p[i + 2]
            if b1 == 0x82 {
                if b2 < 0xA1 { return false }
            } else if b1 == 0x83 {
                if b2 == 0xBB || b2 > 0xBE { return false }
            } else {
                return false
            }
            i += 3
        }
        return true
    }

    static func normaliseSlow(_ raw: String) -> Result<String, KanaNameError> {
        var out: [UInt8] = []
        if let e = Normalise.withUTF8(raw, { normaliseBytes($0, into: &out) }) { return .failure(e) }
        return .success(String(decoding: out, as: UTF8.self))
    }

    /// Decodes the (valid) UTF-8 by hand and appends the result to `out` as UTF-8: every result character
    /// is U+30xx, 3 bytes. On failure nothing is appended.
    static func normaliseBytes(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> KanaNameError? {
        let n = p.count
        let start = out.count
        out.reserveCapacity(start + n + n / 2)
        // The last appended scalar, if a following voicing mark may compose with it.
        var composable: UInt32 = 0
        var i = 0
        while i < n {
            let b0 = p[i]
            var v: UInt32
            if b0 < 0x80 {
                v = UInt32(b0); i += 1
            } else if b0 < 0xE0 {
                v = (UInt32(b0 & 0x1F) << 6) | UInt32(p[i + 1] & 0x3F); i += 2
            } else if b0 < 0xF0 {
                v = (UInt32(b0 & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F); i += 3
            } else {
                v = (UInt32(b0 & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6)
                    | UInt32(p[i + 3] & 0x3F)
                i += 4
            }
            // Separators.
            if v == 0x20 || v == 0x3000 || v == 0x30FB || v == 0xFF65 || v == 0x09 || v == 0xA0 {
                composable = 0
                continue
            }
            // Voicing marks: half-width, combining, spacing.
            if let mark = KanaTables.mark(v) {
                guard composable != 0,
                      let composed = mark == .voiced ? KanaTables.voiced(composable) : KanaTables.semiVoiced(composable) else {
                    out.removeSubrange(start...)
                    return .invalidCharacter(Character(Unicode.Scalar(v)!))
                }
                out[out.count - 2] = 0x80 | UInt8((composed >> 6) & 0x3F)
                out[out.count - 1] = 0x80 | UInt8(composed & 0x3F)
                composable = 0
                continue
            }
            var k = v
            if v >= 0xFF61 && v <= 0xFF9F {
                k = KanaTables.halfToFull[Int(v - 0xFF61)]
            } else if (v >= 0x3041 && v <= 0x3096) || v == 0x309D || v == 0x309E {
                k = v + 0x60
            }
            guard KanaTables.isAllowedResult(k) else {
                out.removeSubrange(start...)
                return .invalidCharacter(Character(Unicode.Scalar(v)!))
            }
            out.append(0xE3)
            out.append(0x80 | UInt8((k >> 6) & 0x3F))
            out.append(0x80 | UInt8(k & 0x3F))
            composable = k
        }
        if out.count == start { return .empty }
        return nil
    }
}

/// Kana tables shared by KanaName and CardKeys.
enum KanaTables {
    enum Mark { case voiced, semiVoiced }

    /// U+FF9E ﾞ, U+3099 combining, U+309B spacing → voiced; U+FF9F ﾟ, U+309A, U+309C → semi-voiced.
    @inline(__always)
    static func mark(_ v: UInt32) -> Mark? {
        switch v {
        case 0xFF9E, 0x3099, 0x309B: return .voiced
        case 0xFF9F, 0x309A, 0x309C: return .semiVoiced
        default: return nil
        }
    }

    @inline(__always)
    static func isAllowedResult(_ k: UInt32) -> Bool {
        (k >= 0x30A1 && k <= 0x30FA) || (k >= 0x30FC && k <= 0x30FE)
    }

    /// U+FF61…U+FF9F → full-width (NFKC), marks to their combining forms.
    static let halfToFull: [UInt32] = [
        0x3002, 0x300C, 0x300D, 0x3001, 0x30FB,                                 // ｡ ｢ ｣ ､ ･
        0x30F2,                                                                 // ｦ
        0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, // ｧｨｩｪｫｬｭｮｯ
        0x30FC,                                                                 // ｰ
        0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA,                                 // ｱｲｳｴｵ
        0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3,                                 // ｶｷｸｹｺ
        0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD,                                 // ｻｼｽｾｿ
        0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8,                                 // ﾀﾁﾂﾃﾄ
        0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE,                                 // ﾅﾆﾇﾈﾉ
        0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB,                                 // ﾊﾋﾌﾍﾎ
        0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2,                                 // ﾏﾐﾑﾒﾓ
        0x30E4, 0x30E6, 0x30E8,                                                 // ﾔﾕﾖ
        0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED,                                 // ﾗﾘﾙﾚﾛ
        0x30EF, 0x30F3,                                                         // ﾜﾝ
        0x3099, 0x309A,                                                         // ﾞ ﾟ
    ]

    /// Katakana (or ヽ) + voiced mark → precomposed, as NFC composes them.
    @inline(__always)
    static func voiced(_ v: UInt32) -> UInt32? {
        switch v {
        case 0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3,     // カキクケコ
             0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD,     // サシスセソ
             0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8,     // タチツテト
             0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB:     // ハヒフヘホ
            return v + 1
        case 0x30A6: return 0x30F4                       // ウ → ヴ
        case 0x30EF...0x30F2: return v + 8               // ワヰヱヲ → ヷヸヹヺ
        case 0x30FD: return 0x30FE                       // ヽ → ヾ
        default: return nil
        }
    }

    @inline(__always)
    static func semiVoiced(_ v: UInt32) -> UInt32? {
        switch v {
        case 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB: return v + 2 // ハヒフヘホ → パピプペポ
        default: return nil
        }
    }

    /// Like `voiced`/`semiVoiced` but also for hiragana bases (か → が, う → ゔ, ゝ → ゞ), as NFC composes them.
    static func compose(_ v: UInt32, _ m: Mark) -> UInt32? {
        let hiragana = (v >= 0x3041 && v <= 0x3096) || v == 0x309D
        let k = hiragana ? v + 0x60 : v
        guard let c = m == .voiced ? voiced(k) : semiVoiced(k) else { return nil }
        if !hiragana { return c }
        let h = c - 0x60
        return (h <= 0x3096 || h == 0x309E) ? h : nil
    }

    /// Small kana → large, for match keys.
    @inline(__always)
    static func large(_ v: UInt32) -> UInt32? {
        switch v {
        case 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9,     // ァィゥェォ
             0x30C3,                                     // ッ
             0x30E3, 0x30E5, 0x30E7,                     // ャュョ
             0x30EE:                                     // ヮ
            return v + 1
        case 0x30F5: return 0x30AB                       // ヵ → カ
        case 0x30F6: return 0x30B1                       // ヶ → ケ
        default: return nil
        }
    }

    /// Full-width → half-width spelling, for the generator.
    static let halfWidthForm: [UInt32: String] = {
        var m: [UInt32: String] = [:]
        func str(_ vs: UInt32...) -> String {
            var u = String.UnicodeScalarView()
            for v in vs { u.append(Unicode.Scalar(v)!) }
            return String(u)
        }
        for (i, full) in halfToFull.enumerated() {
            let half = UInt32(0xFF61 + i)
            if full == 0x3099 || full == 0x309A { continue }
            m[full] = str(half)
            if let v = voiced(full) { m[v] = str(half, 0xFF9E) }
            if let p = semiVoiced(full) { m[p] = str(half, 0xFF9F) }
        }
        m[0x3099] = str(0xFF9E); m[0x309B] = str(0xFF9E)
        m[0x309A] = str(0xFF9F); m[0x309C] = str(0xFF9F)
        m[0x3000] = str(0x20)
        return m
    }()
}
