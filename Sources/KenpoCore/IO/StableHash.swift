/// FNV-1a 64-bit: a hash that is the same on every machine and every run (Swift's `Hasher` is
/// seeded per process). Used for person ids and for compact in-memory key indexes.
public enum StableHash {
    @inline(__always)
    public static func of(_ parts: [String]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for (i, part) in parts.enumerated() {
            if i > 0 { h = (h ^ 0x1F) &* 0x100_0000_01b3 }  // unit separator between parts
            for b in part.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        // Final avalanche (from MurmurHash3's fmix64) so that buckets taken from the top bits are even.
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33; h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// Allocation-free form for hot paths: `StableHash.Builder("card").add(a).add(b).value`
    /// equals `StableHash.of(["card", a, b])`.
    public struct Builder {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var first = true

        @inline(__always)
        public init(_ tag: String) { add(tag) }

        @inline(__always)
        @discardableResult
        public mutating func add(_ part: String) -> Builder {
            // Read the bytes in place (a copy of the String to call withUTF8 cost a retain per part).
            if part.utf8.withContiguousStorageIfAvailable({ add(bytes: UnsafeRawBufferPointer($0)) }) == nil {
                var copy = part
                copy.withUTF8 { add(bytes: UnsafeRawBufferPointer($0)) }
            }
            return self
        }

        /// `add` for bytes (the same value as adding the String of these UTF-8 bytes).
        @inline(__always)
        mutating func add(bytes b: UnsafeRawBufferPointer) {
            if first { first = false } else { h = (h ^ 0x1F) &* 0x100_0000_01b3 }
            var x = h
            for c in b { x = (x ^ UInt64(c)) &* 0x100_0000_01b3 }
            h = x
        }

        /// `add(String(n))` without making the String: the decimal digits (and a leading "-").
        @inline(__always)
        mutating func add(decimal n: Int) {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
                var v = n.magnitude, at = 20
                repeat { at -= 1; buffer[at] = 0x30 + UInt8(v % 10); v /= 10 } while v > 0
                if n < 0 { at -= 1; buffer[at] = 0x2D }
                add(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[at..<20])))
            }
        }

        public var value: UInt64 {
            var x = h
            x ^= x >> 33; x = x &* 0xff51_afd7_ed55_8ccd
            x ^= x >> 33; x = x &* 0xc4ce_b9fe_1a85_ec53
            x ^= x >> 33
            return x
        }
    }

    @inline(__always)
    public static func of(_ a: String, _ b: String, _ c: String, _ d: String? = nil, _ e: String? = nil, _ f: String? = nil) -> UInt64 {
        var h = Builder(a)
        h.add(b); h.add(c)
        if let d { h.add(d) }
        if let e { h.add(e) }
        if let f { h.add(f) }
        return h.value
    }

    /// 16 lower-case hex digits, zero-padded (built from bytes: this runs once per member written).
    public static func hex(_ v: UInt64) -> String {
        withHex(v) { String(decoding: $0, as: UTF8.self) }
    }

    /// An id as `hex` writes it: exactly 16 lower-case hex digits (anything else: nil), from bytes.
    @inline(__always)
    public static func parseHex(bytes b: UnsafeRawBufferPointer) -> UInt64? {
        guard b.count == 16 else { return nil }
        var v: UInt64 = 0
        for c in b {
            switch c {
            case 0x30...0x39: v = v << 4 | UInt64(c - 0x30)
            case 0x61...0x66: v = v << 4 | UInt64(c - 0x57)
            default: return nil
            }
        }
        return v
    }

    public static func parseHex(_ s: String) -> UInt64? {
        guard s.utf8.count == 16 else { return nil }
        return UInt64(s, radix: 16)
    }
}

/// The 16 lower-case hex digits of an id (`StableHash.hex`) as bytes, for writers that take bytes
/// (no String per id written).
@inline(__always)
func withHex<R>(_ v: UInt64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var out: (UInt64, UInt64) = (0, 0)
    return withUnsafeMutableBytes(of: &out) { b in
        for i in 0..<16 {
            let nibble = UInt8((v >> UInt64(60 - 4 * i)) & 0xF)
            b[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        }
        return body(UnsafeRawBufferPointer(b))
    }
}
