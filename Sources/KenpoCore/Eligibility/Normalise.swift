import Foundation

/// Width folding shared by every eligibility rule.
///
/// Works on UTF-8 bytes: full-width ASCII U+FF01–U+FF5E is `EF BC 81`–`EF BD 9E` and the ideographic
/// space U+3000 is `E3 80 80`, so folding never needs to decode scalars. A pure-ASCII value that needs no
/// trimming is returned as is (no allocation).
public enum Normalise {
    /// NFKC-equivalent width folding for digits, letters and symbols: full-width ASCII U+FF01–U+FF5E → U+0021–U+007E,
    /// ideographic space U+3000 → U+0020; then trims leading/trailing whitespace (spaces, tabs, U+3000). Other characters unchanged.
    public static func foldWidth(_ s: String) -> String {
        withUTF8(s) { foldedString($0, removeSpaces: false) } ?? s
    }

    /// foldWidth, then remove every space character (U+0020, U+3000) and hyphen-like characters are NOT removed.
    /// Tabs are removed too (a tab inside a key is never meaningful).
    public static func removeSpaces(_ s: String) -> String {
        withUTF8(s) { foldedString($0, removeSpaces: true) } ?? s
    }

    /// `foldWidth` of UTF-8 bytes, appended to `out` (the roster reader's per-row buffer: no String).
    @inline(__always)
    public static func foldWidth(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        if !fold(p, removeSpaces: false, into: &out) { out.append(contentsOf: p) }
    }

    /// `removeSpaces` of UTF-8 bytes, appended to `out`.
    @inline(__always)
    public static func removeSpaces(_ p: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        if !fold(p, removeSpaces: true, into: &out) { out.append(contentsOf: p) }
    }

    /// Trims spaces, tabs, CR, LF and the ideographic space U+3000 at both ends, changing nothing
    /// else (names and addresses are printed as given). Returns the input itself when nothing is trimmed.
    public static func trim(_ s: String) -> String {
        withUTF8(s) { p -> String? in
            let r = trimmedRange(p)
            if r.lowerBound == 0 && r.upperBound == p.count { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
        } ?? s
    }

    /// The part of UTF-8 bytes that `trim` keeps, as a range of `p`.
    public static func trimmedRange(_ p: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var lo = 0, hi = p.count
        while true {
            if lo < hi, isTrimmable(p[lo]) { lo += 1; continue }
            if lo + 3 <= hi, p[lo] == 0xE3, p[lo + 1] == 0x80, p[lo + 2] == 0x80 { lo += 3; continue }
            break
        }
        while true {
            if hi > lo, isTrimmable(p[hi - 1]) { hi -= 1; continue }
            if hi - 3 >= lo, p[hi - 3] == 0xE3, p[hi - 2] == 0x80, p[hi - 1] == 0x80 { hi -= 3; continue }
            break
        }
        return lo..<hi
    }

    /// True when the value holds nothing but spaces (or nothing at all).
    public static func isBlank(_ s: String) -> Bool {
        withUTF8(s) { isBlank($0) }
    }

    /// `isBlank` of UTF-8 bytes.
    public static func isBlank(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        trimmedRange(p).isEmpty
    }

    // MARK: - internals

    /// Runs `body` over the string's UTF-8 without copying when the storage is contiguous.
    @inline(__always)
    static func withUTF8<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable(body) { return r }
        var copy = s
        return copy.withUTF8(body)
    }

    /// The String form of a byte rule (`rule` appends the result to its buffer, or refuses with false):
    /// the rule's bytes as a String, nil where it refuses.
    @inline(__always)
    static func string(_ raw: String, by rule: (UnsafeBufferPointer<UInt8>, inout [UInt8]) -> Bool) -> String? {
        var out: [UInt8] = []
        guard withUTF8(raw, { rule($0, &out) }) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes trimmed at both ends: space, tab, CR, LF (U+3000 is trimmed after it has been folded to a space).
    @inline(__always)
    static func isTrimmable(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// The folded value as a new String, or nil when the input is already folded, trimmed and (if asked) space-free.
    static func foldedString(_ p: UnsafeBufferPointer<UInt8>, removeSpaces: Bool) -> String? {
        var out: [UInt8] = []
        return fold(p, removeSpaces: removeSpaces, into: &out) ? String(decoding: out, as: UTF8.self) : nil
    }

    /// Appends the folded value to `out` and returns true; returns false (appending nothing) when the
    /// input is already folded, trimmed and (if asked) space-free. One rule for Strings and bytes.
    static func fold(_ p: UnsafeBufferPointer<UInt8>, removeSpaces: Bool, into out: inout [UInt8]) -> Bool {
        let n = p.count
        var ascii = true
        var hasInnerSpace = false
        for b in p {
            if b >= 0x80 { ascii = false; break }
            if b == 0x20 || b == 0x09 { hasInnerSpace = true }
        }
        if ascii {
            var lo = 0, hi = n
            while lo < hi, isTrimmable(p[lo]) { lo += 1 }
            while hi > lo, isTrimmable(p[hi - 1]) { hi -= 1 }
            if removeSpaces && hasInnerSpace {
                for i in lo..<hi where p[i] != 0x20 && p[i] != 0x09 { out.append(p[i]) }
                return true
            }
            if lo == 0 && hi == n { return false }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: p[lo..<hi]))
            return true
        }

        // Non-ASCII: most values (kanji, kana) need no change; find out before allocating.
        if !isTrimmable(p[0]) && !isTrimmable(p[n - 1]) {
            var needsWork = false
            var i = 0
            while i < n {
                let b = p[i]
                if (b == 0xEF && i + 1 < n && (p[i + 1] == 0xBC || p[i + 1] == 0xBD))
                    || (b == 0xE3 && i + 2 < n && p[i + 1] == 0x80 && p[i + 2] == 0x80)
                    || (removeSpaces && (b == 0x20 || b == 0x09)) {
                    needsWork = true
                    break
                }
                i += 1
            }
            if !needsWork { return false }
        }

        let base = out.count
        var i = 0
        while i < n {
            let b = p[i]
            if b == 0xEF, i + 2 < n {
                let b1 = p[i + 1], b2 = p[i + 2]
                if b1 == 0xBC, b2 >= 0x81 {               // U+FF01–U+FF3F → 0x21–0x5F
                    out.append(b2 &- 0x60); i += 3; continue
                }
                if b1 == 0xBD, b2 <= 0x9E {                // U+FF40–U+FF5E → 0x60–0x7E
                    out.append(b2 &- 0x20); i += 3; continue
                }
            } else if b == 0xE3, i + 2 < n, p[i + 1] == 0x80, p[i + 2] == 0x80 { // U+3000
                if !removeSpaces { out.append(0x20) }
                i += 3; continue
            } else if removeSpaces, b == 0x20 || b == 0x09 {
                i += 1; continue
            }
            out.append(b)
            i += 1
        }
        // Trim what was appended (a folded U+3000 may now be a space at either end).
        var lo = base, hi = out.count
        while lo < hi, isTrimmable(out[lo]) { lo += 1 }
        while hi > lo, isTrimmable(out[hi - 1]) { hi -= 1 }
        out.removeSubrange(hi...)
        if lo > base { out.removeSubrange(base..<lo) }
        return true
    }
}
