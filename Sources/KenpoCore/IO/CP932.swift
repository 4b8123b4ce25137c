import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a byte sequence could not be decoded: the byte offset inside the decoded span.
public struct DecodeFailure: Error, Equatable, Sendable {
    public var byteOffset: Int
    public var byte: UInt8
}

/// Decodes CP932 (Windows-31J, the "Shift_JIS" of Japanese office systems) with glibc's iconv.
/// One instance reuses one `iconv_t`; it is not thread-safe — give each worker its own.
public final class CP932Decoder {
    private let cd: iconv_t
    private var out: [UInt8] = Array(repeating: 0, count: 4096)

    public init() {
        cd = iconv_open("UTF-8", "CP932")
        precondition(cd != iconv_t(bitPattern: -1), "glibc iconv lacks CP932 (install the locales / gconv modules)")
    }

    deinit { iconv_close(cd) }

    /// Decodes `bytes` to a String. ASCII-only input takes a fast path without iconv.
    public func decode(_ bytes: UnsafeRawBufferPointer) -> Result<String, DecodeFailure> {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { return .success(String(decoding: bytes, as: UTF8.self)) }
        // CP932 → UTF-8 never more than triples the size (1 byte half-width kana → 3 bytes).
        let need = bytes.count * 3 + 4
        if out.count < need { out = Array(repeating: 0, count: need) }
        _ = iconv(cd, nil, nil, nil, nil)  // reset shift state after any earlier failure
        let base = bytes.baseAddress!
        var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self))
        var inLeft = bytes.count
        return out.withUnsafeMutableBytes { outBuf -> Result<String, DecodeFailure> in
            var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
            var outLeft = outBuf.count
            let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
            if r == -1 || inLeft != 0 {
                let offset = bytes.count - inLeft
                return .failure(DecodeFailure(byteOffset: offset, byte: offset < bytes.count ? bytes[offset] : 0))
            }
            let produced = outBuf.count - outLeft
            return .success(String(decoding: UnsafeRawBufferPointer(rebasing: outBuf[0..<produced]), as: UTF8.self))
        }
    }

    public func decode(_ bytes: [UInt8]) -> Result<String, DecodeFailure> {
        bytes.withUnsafeBytes { decode($0) }
    }
}

/// Encodes text to CP932 for insurer hand-back files, print files and generated test data.
/// Characters CP932 cannot hold (𠮷, ヷ, emoji …) are replaced by the geta mark 〓 (0x81AC), the
/// customary substitution in Japanese print and mainframe files, and reported so the caller can
/// reject or warn. iconv runs once per distinct character: the result is kept in a table, because
/// one iconv call per character written made bulk output (a million-row roster) slow.
public final class CP932Encoder {
    private let cd: iconv_t
    public static let substitution: [UInt8] = [0x81, 0xAC]
    /// BMP scalar → length << 16 | bytes, bit 31 set when substituted; 0 = not looked up yet.
    private var bmp: [UInt32] = []
    private var astral: [UInt32: UInt32] = [:]

    public init() {
        cd = iconv_open("CP932", "UTF-8")
        precondition(cd != iconv_t(bitPattern: -1), "glibc iconv lacks CP932")
    }

    deinit { iconv_close(cd) }

    /// Returns the CP932 bytes and the characters that had to be substituted.
    public func encode(_ text: String) -> (bytes: [UInt8], unencodable: [Character]) {
        var bytes: [UInt8] = []
        let bad = encode(text, into: &bytes)
        return (bytes, bad)
    }

    /// Appends the CP932 bytes of `text` to `out`; returns the characters that had to be substituted.
    /// A character that cannot be encoded is replaced whole (one 〓 for a base letter and its marks).
    @discardableResult
    public func encode(_ text: String, into out: inout [UInt8]) -> [Character] {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { out.append(contentsOf: text.utf8); return [] }
        let start = out.count
        out.reserveCapacity(start + text.utf8.count)
        // Fast path, scalar by scalar: when every scalar encodes, the bytes are the same as character by
        // character (CP932 has no combining forms), and iterating characters costs more than encoding.
        for scalar in text.unicodeScalars {
            let code = cached(scalar)
            if code & 0x8000_0000 != 0 {
                out.removeSubrange(start...)
                return encodeByCharacter(text, into: &out)
            }
            append(code, to: &out)
        }
        return []
    }

    private func encodeByCharacter(_ text: String, into out: inout [UInt8]) -> [Character] {
        var bad: [Character] = []
        for ch in text {
            let scalars = ch.unicodeScalars
            let code: UInt32
            if scalars.count == 1, let scalar = scalars.first {
                code = cached(scalar)
            } else {
                code = iconvCharacter(ch, into: &out)  // a multi-scalar character: no table entry
                if code == 0 { continue }
            }
            if code & 0x8000_0000 != 0 { bad.append(ch) }
            append(code, to: &out)
        }
        return bad
    }

    @inline(__always)
    private func append(_ code: UInt32, to out: inout [UInt8]) {
        if (code >> 16) & 0xFF == 1 {
            out.append(UInt8(code & 0xFF))
        } else {
            out.append(UInt8((code >> 8) & 0xFF)); out.append(UInt8(code & 0xFF))
        }
    }

    private static let substituted: UInt32 = 0x8000_0000 | (2 << 16) | 0x81AC

    private func cached(_ scalar: Unicode.Scalar) -> UInt32 {
        let v = scalar.value
        if v < 0x10000 {
            if bmp.isEmpty { bmp = Array(repeating: 0, count: 0x10000) }
            if bmp[Int(v)] == 0 { bmp[Int(v)] = lookup(String(Character(scalar))) }
            return bmp[Int(v)]
        }
        if let c = astral[v] { return c }
        let c = lookup(String(Character(scalar)))
        astral[v] = c
        return c
    }

    /// Encodes one character with iconv as a table entry (1 or 2 bytes), or the substitution.
    private func lookup(_ s: String) -> UInt32 {
        var out: [UInt8] = []
        guard convert(s, into: &out) else { return Self.substituted }
        if out.count == 1 { return (1 << 16) | UInt32(out[0]) }
        if out.count == 2 { return (2 << 16) | UInt32(out[0]) << 8 | UInt32(out[1]) }
        return Self.substituted
    }

    /// A character of several scalars: appended straight to `out` (returns 0), or the substitution code.
    private func iconvCharacter(_ ch: Character, into out: inout [UInt8]) -> UInt32 {
        var bytes: [UInt8] = []
        guard convert(String(ch), into: &bytes) else { return Self.substituted }
        out.append(contentsOf: bytes)
        return 0
    }

    private func convert(_ s: String, into result: inout [UInt8]) -> Bool {
        var utf8 = Array(s.utf8)
        var scratch = [UInt8](repeating: 0, count: 16)
        return utf8.withUnsafeMutableBytes { inBuf in
            scratch.withUnsafeMutableBytes { outBuf in
                _ = iconv(cd, nil, nil, nil, nil)
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                if r == -1 || inLeft != 0 { return false }
                result.append(contentsOf: UnsafeRawBufferPointer(rebasing: outBuf[0..<(outBuf.count - outLeft)]))
                return true
            }
        }
    }
}
