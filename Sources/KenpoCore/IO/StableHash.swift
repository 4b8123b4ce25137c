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
            if first { first = false } else { h = (h ^ 0x1F) &* 0x100_0000_01b3 }
            // Read the bytes in place (a copy of the String to call withUTF8 cost a retain per part).
            var x = h
            let inPlace = part.utf8.withContiguousStorageIfAvailable { p -> Bool in
                for b in p { x = (x ^ UInt64(b)) &* 0x100_0000_01b3 }
                return true
            } ?? false
            if !inPlace {
                for b in part.utf8 { x = (x ^ UInt64(b)) &* 0x100_0000_01b3 }
            }
            h = x
            return self
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
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { buf in
            for k in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: v >> UInt64(60 - 4 * k)) & 0xF
                buf[k] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
            }
            return String(decoding: UnsafeBufferPointer(buf), as: UTF8.self)
        }
    }

    public static func parseHex(_ s: String) -> UInt64? {
        guard s.utf8.count == 16 else { return nil }
        return UInt64(s, radix: 16)
    }
}
