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

/// Encodes text to CP932 for insurer hand-back files and print files. Characters CP932 cannot hold
/// (𠮷, ヷ, emoji …) are replaced by the geta mark 〓 (0x81AC), the customary substitution in Japanese
/// print and mainframe files, and reported so the caller can reject or warn.
public final class CP932Encoder {
    private let cd: iconv_t
    public static let substitution: [UInt8] = [0x81, 0xAC]

    public init() {
        cd = iconv_open("CP932", "UTF-8")
        precondition(cd != iconv_t(bitPattern: -1), "glibc iconv lacks CP932")
    }

    deinit { iconv_close(cd) }

    /// Returns the CP932 bytes and the characters that had to be substituted.
    public func encode(_ text: String) -> (bytes: [UInt8], unencodable: [Character]) {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return (Array(text.utf8), []) }
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        var bad: [Character] = []
        var scratch = [UInt8](repeating: 0, count: 16)
        for ch in text {
            var utf8 = Array(String(ch).utf8)
            let ok: Bool = utf8.withUnsafeMutableBytes { inBuf in
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
            if !ok {
                bad.append(ch)
                result.append(contentsOf: CP932Encoder.substitution)
            }
        }
        return (result, bad)
    }
}
