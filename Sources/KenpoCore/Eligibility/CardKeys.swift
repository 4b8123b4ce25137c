import Foundation

/// 記号・番号・枝番: the card keys the registration screen matches on.
public enum CardKeys {
    /// 番号 match key: width-fold, remove spaces; must then be digits only (else nil). If 8 or more digits, keep the LAST 7
    /// (the registration manual: 番号 "12345678" is typed "2345678"); then leading zeros are not significant (strip them; all zeros → "0").
    /// "0012345678" → "2345678"; "１２３４５６７８" → "2345678"; "0123456" → "123456"; "" → nil.
    public static func numberKey(_ raw: String) -> String? {
        // Fast path: 1–7 ASCII digits without a leading zero are their own key.
        let r = raw.utf8
        if r.count >= 1, r.count <= 7, r.first! != 0x30, r.allSatisfy({ $0 &- 0x30 <= 9 }) { return raw }
        return Normalise.string(raw) { numberKey($0, into: &$1) }
    }

    /// `numberKey` of UTF-8 bytes, appended to `out`; false (nothing appended) where it is nil.
    public static func numberKey(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        let start = out.count
        Normalise.removeSpaces(p, into: &out)
        let n = out.count - start
        guard n > 0, out[start...].allSatisfy({ $0 &- 0x30 <= 9 }) else {
            out.removeSubrange(start...)
            return false
        }
        var lo = n >= 8 ? out.count - 7 : start               // 8 or more digits: the last 7
        while lo < out.count - 1, out[lo] == 0x30 { lo += 1 }  // leading zeros are not significant
        if lo > start { out.removeSubrange(start..<lo) }
        return true
    }

    /// 記号 match key: width-fold (NFKC for letters/digits), remove spaces, upper-case ASCII letters; half-width katakana folded to full-width
    /// (use KanaName's half-width folding but allow any other characters, e.g. kanji 東京); empty → nil.
    ///
    /// Equal to NFKC followed by space removal and ASCII upper-casing. Common characters (ASCII, full-width ASCII, kana,
    /// CJK ideographs) are folded directly; a value holding anything else (①, Ⅱ, compatibility ideographs …) goes through
    /// Foundation's NFKC first.
    public static func symbolKey(_ raw: String) -> String? {
        // ASCII fast path: a clean value is its own key.
        var ascii = true
        var clean = true
        for b in raw.utf8 {
            if b >= 0x80 { ascii = false; break }
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || (b >= 0x61 && b <= 0x7A) { clean = false }
        }
        if ascii && clean { return raw.isEmpty ? nil : raw }
        return Normalise.string(raw) { symbolKey($0, into: &$1) }
    }

    /// `symbolKey` of UTF-8 bytes, appended to `out`; false (nothing appended) where it is nil. `p`
    /// must be valid UTF-8 (the roster reader checks or decodes it so).
    static func symbolKey(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        let start = out.count
        if !p.contains(where: { $0 >= 0x80 }) {
            for b in p where !(b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D) {
                out.append(b >= 0x61 && b <= 0x7A ? b - 0x20 : b)
            }
            return out.count > start
        }
        if foldSymbol(p, fallback: false, into: &out) { return out.count > start }
        // Foundation's compatibility mapping on Linux does not recompose pairs that appear only after the mapping
        // (ｶﾞ → カ+U+3099); canonical composition afterwards gives true NFKC.
        let nfkc = String(decoding: p, as: UTF8.self).precomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
        _ = Normalise.withUTF8(nfkc) { foldSymbol($0, fallback: true, into: &out) }
        return out.count > start
    }

    /// 枝番: width-fold, trim; digits only, zero-padded to 2 ("1" → "01"); empty → "" (no branch); non-digits → nil.
    /// Leading zeros beyond the two-digit width are not significant: "001" → "01".
    public static func branch(_ raw: String) -> String? {
        return Normalise.string(raw) { branch($0, into: &$1) }
    }

    /// `branch` of UTF-8 bytes, appended to `out`; false (nothing appended) where it is nil.
    public static func branch(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        let start = out.count
        Normalise.foldWidth(p, into: &out)
        if out.count == start { return true }                  // no branch
        guard out[start...].allSatisfy({ $0 &- 0x30 <= 9 }) else {
            out.removeSubrange(start...)
            return false
        }
        var lo = start
        while out.count - lo > 2, out[lo] == 0x30 { lo += 1 }
        if lo > start { out.removeSubrange(start..<lo) }
        if out.count - start == 1 { out.insert(0x30, at: start) }
        return true
    }

    // MARK: - internals

    /// Folds a symbol scalar by scalar, appending to `out`. Returns false, with nothing appended (without
    /// `fallback`), on a character outside the directly handled set.
    static func foldSymbol(_ p: UnsafeBufferPointer<UInt8>, fallback: Bool, into out: inout [UInt8]) -> Bool {
        let n = p.count
        let outStart = out.count
        var composable: UInt32 = 0
        var i = 0
        while i < n {
            let start = i
            var v = JapaneseDate.decode(p, &i)
            switch v {
            case 0x20, 0x09, 0x0A, 0x0D, 0x3000:
                continue                               // spaces removed (NFKC blocks composition across them; we don't)
            case 0x21...0x7E:
                if v >= 0x61 && v <= 0x7A { v -= 0x20 }
            case 0xFF01...0xFF5E:
                v -= 0xFEE0
                if v >= 0x61 && v <= 0x7A { v -= 0x20 }
            case 0xFF9E, 0xFF9F, 0x3099, 0x309A, 0x309B, 0x309C:
                let mark = KanaTables.mark(v)!
                if composable != 0, let c = KanaTables.compose(composable, mark) {
                    out.removeLast(3)                  // every composable base is a 3-byte kana
                    append(&out, c)
                } else {
                    append(&out, mark == .voiced ? 0x3099 : 0x309A)   // a lone mark: NFKC's combining form
                }
                composable = 0
                continue
            case 0xFF61...0xFF9D:
                v = KanaTables.halfToFull[Int(v - 0xFF61)]
            case 0x3041...0x3096, 0x309D, 0x309E, 0x30A1...0x30FE, 0x3005...0x3007,
                 0x3400...0x4DBF, 0x4E00...0x9FFF:
                // Already NFKC: copy the bytes.
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<i]))
                composable = v
                continue
            default:
                if !fallback { out.removeSubrange(outStart...); return false }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[start..<i]))
                composable = 0
                continue
            }
            append(&out, v)
            composable = v
        }
        return true
    }

    @inline(__always)
    static func append(_ out: inout [UInt8], _ v: UInt32) {
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(0xC0 | UInt8(v >> 6)); out.append(0x80 | UInt8(v & 0x3F))
        } else if v < 0x10000 {
            out.append(0xE0 | UInt8(v >> 12)); out.append(0x80 | UInt8((v >> 6) & 0x3F)); out.append(0x80 | UInt8(v & 0x3F))
        } else {
            out.append(0xF0 | UInt8(v >> 18)); out.append(0x80 | UInt8((v >> 12) & 0x3F))
            out.append(0x80 | UInt8((v >> 6) & 0x3F)); out.append(0x80 | UInt8(v & 0x3F))
        }
    }
}
