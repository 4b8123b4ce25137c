/// Key hash → where it was first seen, for the stage's duplicate detection at a million rows.
///
/// Open addressing with linear probing over keys that are already well-mixed 64-bit hashes
/// (`StableHash`): no second hash per probe (Swift's `Dictionary` runs SipHash on every look-up), and
/// key and value side by side, so a probe usually touches one cache line. Key 0 marks an empty slot;
/// a key that is 0 itself is kept aside.
struct SeenKeys {
    /// Key, value, key, value …; capacity a power of two.
    private var slots: [UInt64] = []
    private var mask = -1
    private(set) var count = 0
    private var zeroKeyValue: UInt64?

    init() {}

    /// Room for `n` keys without growing (load at most 3/4).
    mutating func reserveCapacity(_ n: Int) {
        var capacity = 16
        while capacity * 3 < n * 4 { capacity <<= 1 }
        if capacity > mask + 1 { rehash(to: capacity) }
    }

    /// Stores `value` under `key` unless the key is already there; returns the value stored first, or
    /// nil when this was the first sighting.
    @inline(__always)
    mutating func insertIfAbsent(_ key: UInt64, _ value: UInt64) -> UInt64? {
        if key == 0 {
            if let v = zeroKeyValue { return v }
            zeroKeyValue = value
            count += 1
            return nil
        }
        if (count + 1) * 4 > (mask + 1) * 3 { rehash(to: max(16, (mask + 1) * 2)) }
        let mask = self.mask
        let (existing, inserted) = slots.withUnsafeMutableBufferPointer { s -> (UInt64?, Bool) in
            var i = Int(truncatingIfNeeded: key) & mask
            while true {
                let k = s[2 * i]
                if k == key { return (s[2 * i + 1], false) }
                if k == 0 {
                    s[2 * i] = key
                    s[2 * i + 1] = value
                    return (nil, true)
                }
                i = (i + 1) & mask
            }
        }
        if inserted { count += 1 }
        return existing
    }

    private mutating func rehash(to capacity: Int) {
        let old = slots
        slots = [UInt64](repeating: 0, count: capacity * 2)
        mask = capacity - 1
        let mask = self.mask
        slots.withUnsafeMutableBufferPointer { s in
            var j = 0
            while j < old.count {
                let key = old[j]
                if key != 0 {
                    var i = Int(truncatingIfNeeded: key) & mask
                    while s[2 * i] != 0 { i = (i + 1) & mask }
                    s[2 * i] = key
                    s[2 * i + 1] = old[j + 1]
                }
                j += 2
            }
        }
    }
}
