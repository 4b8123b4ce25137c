import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// The look-up structures of the roster ingest's hot loop against the plain versions they replace.
@Suite struct RosterIngestTablesTests {
    /// glibc's iconv on the whole input, as the decoder used to call it for every field.
    static func iconvDecode(_ bytes: [UInt8]) -> Result<String, DecodeFailure> {
        let cd: iconv_t = iconv_open("UTF-8", "CP932")
        defer { iconv_close(cd) }
        return iconvDecode(bytes, cd)
    }

    static func iconvDecode(_ bytes: [UInt8], _ cd: iconv_t) -> Result<String, DecodeFailure> {
        _ = iconv(cd, nil, nil, nil, nil)
        var input = bytes
        var output = [UInt8](repeating: 0, count: bytes.count * 3 + 4)
        return input.withUnsafeMutableBytes { inBuf in
            output.withUnsafeMutableBytes { outBuf -> Result<String, DecodeFailure> in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                if r == -1 || inLeft != 0 {
                    let offset = bytes.count - inLeft
                    return .failure(DecodeFailure(byteOffset: offset, byte: bytes[offset]))
                }
                return .success(String(decoding: UnsafeRawBufferPointer(rebasing: outBuf[0..<(outBuf.count - outLeft)]), as: UTF8.self))
            }
        }
    }

    @Test func cp932TableDecodesEveryByteAndPairAsIconvDoes() {
        let decoder = CP932Decoder()
        let cd: iconv_t = iconv_open("UTF-8", "CP932")
        defer { iconv_close(cd) }
        var mismatches: [[UInt8]] = []
        for b in 0..<256 {
            let one = [UInt8(b)]
            if decoder.decode(one) != Self.iconvDecode(one, cd) { mismatches.append(one) }
            for t in 0..<256 {
                // Behind an ASCII letter, so a failure's offset is counted from the field's start.
                let pair = [0x41, UInt8(b), UInt8(t)]
                if decoder.decode(pair) != Self.iconvDecode(pair, cd) { mismatches.append(pair) }
            }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test(arguments: [
        [0x82, 0xA0, 0x82],                 // あ then a lead byte at the end: incomplete
        [0x87, 0x40, 0xFA, 0x40, 0xED, 0x40],  // NEC ①, IBM ⅰ, NEC-selected IBM 纊
        [0xB6, 0xDE, 0x20, 0xCA, 0xDF],     // ｶﾞ ﾊﾟ (half-width kana, one byte each)
        [0xF0, 0x40, 0x85, 0x40],           // user-defined area, then an unassigned pair
        [0x5C, 0x7E, 0x81, 0x60],           // backslash, tilde, wave dash
    ])
    func cp932TableAgreesWithIconvOnMixedFields(_ bytes: [UInt8]) {
        #expect(CP932Decoder().decode(bytes) == Self.iconvDecode(bytes))
    }

    @Test func seenKeysKeepsTheFirstSightingLikeADictionary() {
        let seen = SeenKeys()
        seen.reserveCapacity(10)            // grows well past this
        var reference: [UInt64: UInt64] = [:]
        var generator = SystemRandomNumberGenerator()
        var keys: [UInt64] = [0, 1, UInt64.max]
        for _ in 0..<50_000 { keys.append(generator.next() & 0xFFFF) }   // many repeats
        for (i, k) in keys.enumerated() {
            let expected = reference[k]
            if expected == nil { reference[k] = UInt64(i) }
            #expect(seen.insertIfAbsent(k, UInt64(i)) == expected)
        }
        #expect(seen.count == reference.count)
        for (k, v) in reference { #expect(seen.insertIfAbsent(k, 999_999) == v) }
    }

    @Test func personIDHexIsSixteenLowerCaseDigits() {
        #expect(StableHash.hex(0) == "0000000000000000")
        #expect(StableHash.hex(0xABC) == "0000000000000abc")
        #expect(StableHash.hex(UInt64.max) == "ffffffffffffffff")
        #expect(StableHash.hex(0x0123_4567_89AB_CDEF) == "0123456789abcdef")
    }
}
