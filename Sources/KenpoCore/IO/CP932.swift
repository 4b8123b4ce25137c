import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a byte sequence could not be decoded: the byte offset inside the decoded span.
public struct DecodeFailure: Error, Equatable, Sendable {
    public var byteOffset: Int
    public var byte: UInt8
}

/// Decodes CP932 (Windows-31J, the "Shift_JIS" of Japanese office systems) as glibc's iconv does.
/// One instance reuses its buffers (and one `iconv_t` for the rare fallback); it is not
/// thread-safe — give each worker its own.
public final class CP932Decoder {
    private let cd: iconv_t
    /// iconv's output for the rare field the table cannot decode.
    private var out: [UInt8] = Array(repeating: 0, count: 4096)
    /// The table decoder's output for one field.
    private var scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
    private var scratchCapacity = 4096
    /// The decoded bytes of the String form of `decode`.
    private var text: [UInt8] = []
    private let table = CP932Table.shared

    public init() {
        cd = iconv_open("UTF-8", "CP932")
        precondition(cd != iconv_t(bitPattern: -1), "glibc iconv lacks CP932 (install the locales / gconv modules)")
    }

    deinit {
        iconv_close(cd)
        scratch.deallocate()
    }

    /// Decodes `bytes` to a String. ASCII-only input takes a fast path; other input is looked up
    /// per character in `CP932Table` (one iconv call per field cost more than the decoding itself).
    public func decode(_ bytes: UnsafeRawBufferPointer) -> Result<String, DecodeFailure> {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { return .success(String(decoding: bytes, as: UTF8.self)) }
        text.removeAll(keepingCapacity: true)
        if let failure = decode(bytes, appendingTo: &text) { return .failure(failure) }
        return .success(String(decoding: text, as: UTF8.self))
    }

    /// Decodes `bytes` as UTF-8 appended to `result` (the roster reader's per-row buffer: no String
    /// per field); on failure nothing is appended.
    public func decode(_ bytes: UnsafeRawBufferPointer, appendingTo result: inout [UInt8]) -> DecodeFailure? {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { result.append(contentsOf: bytes); return nil }
        // CP932 → UTF-8 never more than triples the size (1 byte half-width kana → 3 bytes). Decoded
        // into the decoder's own buffer, then appended in one copy.
        let n = bytes.count
        if scratchCapacity < n * 3 {
            scratch.deallocate()
            scratchCapacity = max(n * 3, 2 * scratchCapacity)
            scratch = .allocate(capacity: scratchCapacity)
        }
        let o = scratch
        let single = table.single, pair = table.pair
        var i = 0, w = 0
        while i < n {
            let b = bytes[i]
            var code = single[Int(b)]
            var width = 1
            if code == CP932Table.lead {
                guard i + 1 < n else { return DecodeFailure(byteOffset: i, byte: b) }   // a lead byte at the end: incomplete
                code = pair[Int(b) << 8 | Int(bytes[i + 1])]
                width = 2
            }
            if code == CP932Table.invalid { return DecodeFailure(byteOffset: i, byte: b) }
            if code == CP932Table.fallback { return decodeWithIconv(bytes, appendingTo: &result) }
            let length = Int(code >> 24)
            o[w] = UInt8(truncatingIfNeeded: code)
            if length > 1 { o[w + 1] = UInt8(truncatingIfNeeded: code >> 8) }
            if length > 2 { o[w + 2] = UInt8(truncatingIfNeeded: code >> 16) }
            w += length
            i += width
        }
        result.append(contentsOf: UnsafeBufferPointer(start: o, count: w))
        return nil
    }

    public func decode(_ bytes: [UInt8]) -> Result<String, DecodeFailure> {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// The whole field through iconv: for a character the table does not hold as one scalar.
    private func decodeWithIconv(_ bytes: UnsafeRawBufferPointer, appendingTo result: inout [UInt8]) -> DecodeFailure? {
        let need = bytes.count * 3 + 4
        if out.count < need { out = Array(repeating: 0, count: need) }
        return out.withUnsafeMutableBytes { outBuf -> DecodeFailure? in
            let r = IconvCall.convert(cd, bytes, into: outBuf)
            guard r.succeeded else {
                let offset = bytes.count - r.inputLeft
                return DecodeFailure(byteOffset: offset, byte: offset < bytes.count ? bytes[offset] : 0)
            }
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: outBuf[0..<r.produced]))
            return nil
        }
    }
}

/// One call of glibc's iconv over a whole input, from the initial shift state (reset first, so an
/// earlier failure on the same descriptor leaves nothing behind). The one place kenpo calls iconv.
enum IconvCall {
    struct Outcome {
        /// Every input byte converted.
        var succeeded: Bool
        /// `errno` when iconv stopped (EINVAL: the input ends inside a character).
        var error: Int32
        var inputLeft: Int
        var produced: Int
    }

    static func convert(_ cd: iconv_t, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Outcome {
        _ = iconv(cd, nil, nil, nil, nil)
        guard let base = input.baseAddress, input.count > 0 else { return Outcome(succeeded: true, error: 0, inputLeft: 0, produced: 0) }
        var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: CChar.self))
        var inLeft = input.count
        var outPtr: UnsafeMutablePointer<CChar>? = output.baseAddress?.assumingMemoryBound(to: CChar.self)
        var outLeft = output.count
        let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
        let error = r == -1 ? errno : 0
        return Outcome(succeeded: r != -1 && inLeft == 0, error: error, inputLeft: inLeft, produced: output.count - outLeft)
    }
}

/// CP932 → UTF-8 for every byte and byte pair, learned once per process from glibc's iconv, so the
/// table decoder agrees with iconv on every character (NEC and IBM extensions, user-defined area)
/// and fails at the same byte. An entry holds up to 3 UTF-8 bytes (low first) and their count in
/// the top byte; or one of the markers below.
struct CP932Table: @unchecked Sendable {  // immutable once built
    static let invalid: UInt32 = 0
    static let lead: UInt32 = 0xFFFF_FFFF
    /// Converts, but not to one scalar of at most 3 bytes: the field goes through iconv.
    static let fallback: UInt32 = 0xFFFF_FFFE

    /// Indexed by byte. The tables are kept for the life of the process (one shared instance) behind
    /// plain pointers, so the per-field decoding loop touches no reference count.
    let single: UnsafePointer<UInt32>
    /// Indexed lead << 8 | trail.
    let pair: UnsafePointer<UInt32>

    static let shared = CP932Table()

    private init() {
        let cd: iconv_t = iconv_open("UTF-8", "CP932")
        precondition(cd != iconv_t(bitPattern: -1), "glibc iconv lacks CP932 (install the locales / gconv modules)")
        defer { iconv_close(cd) }
        var single = [UInt32](repeating: Self.invalid, count: 256)
        var pair = [UInt32](repeating: Self.invalid, count: 65536)
        for b in 0..<256 {
            switch Self.convert(cd, [UInt8(b)]) {
            case .incomplete:
                single[b] = Self.lead
                for t in 0..<256 {
                    if case .converted(let code) = Self.convert(cd, [UInt8(b), UInt8(t)]) { pair[b << 8 | t] = code }
                }
            case .converted(let code): single[b] = code
            case .invalid: break
            }
        }
        let singleTable = UnsafeMutablePointer<UInt32>.allocate(capacity: single.count)
        singleTable.initialize(from: single, count: single.count)
        let pairTable = UnsafeMutablePointer<UInt32>.allocate(capacity: pair.count)
        pairTable.initialize(from: pair, count: pair.count)
        self.single = UnsafePointer(singleTable)
        self.pair = UnsafePointer(pairTable)
    }

    private enum Conversion { case converted(UInt32), incomplete, invalid }

    private static func convert(_ cd: iconv_t, _ input: [UInt8]) -> Conversion {
        var output = [UInt8](repeating: 0, count: 16)
        let r = input.withUnsafeBytes { inBuf in output.withUnsafeMutableBytes { IconvCall.convert(cd, inBuf, into: $0) } }
        if !r.succeeded { return r.error == EINVAL ? .incomplete : .invalid }
        let produced = r.produced
        if produced == 0 { return .invalid }
        // One scalar of 1–3 UTF-8 bytes fits an entry; anything else is left to iconv itself.
        let first = output[0]
        let scalarLength = first < 0x80 ? 1 : first < 0xE0 ? 2 : first < 0xF0 ? 3 : 4
        guard scalarLength == produced, produced <= 3 else { return .converted(Self.fallback) }
        var code = UInt32(produced) << 24
        for k in 0..<produced { code |= UInt32(output[k]) << (8 * UInt32(k)) }
        return .converted(code)
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
        let utf8 = Array(s.utf8)
        var scratch = [UInt8](repeating: 0, count: 16)
        let r = utf8.withUnsafeBytes { inBuf in scratch.withUnsafeMutableBytes { IconvCall.convert(cd, inBuf, into: $0) } }
        guard r.succeeded else { return false }
        result.append(contentsOf: scratch[0..<r.produced])
        return true
    }
}
