import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Key hash → where it was first seen, for the stage's duplicate detection at a million rows.
///
/// Open addressing with linear probing over keys that are already well-mixed 64-bit hashes
/// (`StableHash`): no second hash per probe (Swift's `Dictionary` runs SipHash on every look-up), and
/// key and value side by side, so a probe touches one cache line. The slots are one mapping asked
/// for huge pages: at a million rows every probe lands somewhere random in tens of MB, and with 4 KB
/// pages each one also missed the TLB. Key 0 marks an empty slot; a key that is 0 itself is kept aside.
final class SeenKeys {
    /// Key, value, key, value …; capacity a power of two.
    private var slots: UnsafeMutablePointer<UInt64>?
    private var mappedBytes = 0
    private var mask = -1
    private(set) var count = 0
    private var zeroKeyValue: UInt64?

    init() {}

    deinit { if let slots { munmap(slots, mappedBytes) } }

    /// Room for `n` keys without growing (load at most 3/4).
    func reserveCapacity(_ n: Int) {
        var capacity = 16
        while capacity * 3 < n * 4 { capacity <<= 1 }
        if capacity > mask + 1 { rehash(to: capacity) }
    }

    /// Stores `value` under `key` unless the key is already there; returns the value stored first, or
    /// nil when this was the first sighting.
    @inline(__always)
    func insertIfAbsent(_ key: UInt64, _ value: UInt64) -> UInt64? {
        if key == 0 {
            if let v = zeroKeyValue { return v }
            zeroKeyValue = value
            count += 1
            return nil
        }
        if (count + 1) * 4 > (mask + 1) * 3 { rehash(to: max(16, (mask + 1) * 2)) }
        let s = slots!
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let k = s[2 * i]
            if k == key { return s[2 * i + 1] }
            if k == 0 {
                s[2 * i] = key
                s[2 * i + 1] = value
                count += 1
                return nil
            }
            i = (i + 1) & mask
        }
    }

    private func rehash(to capacity: Int) {
        let bytes = capacity * 16
        // Anonymous memory comes zeroed (every slot empty); huge pages where the kernel has them.
        let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw = mapped, raw != UnsafeMutableRawPointer(bitPattern: -1) else {
            fatalError("out of memory for \(capacity) duplicate-detection keys (\(bytes) bytes)")
        }
        _ = madvise(raw, bytes, MADV_HUGEPAGE)
        let s = raw.bindMemory(to: UInt64.self, capacity: capacity * 2)
        let newMask = capacity - 1
        if let old = slots {
            for j in stride(from: 0, to: (mask + 1) * 2, by: 2) {
                let key = old[j]
                guard key != 0 else { continue }
                var i = Int(truncatingIfNeeded: key) & newMask
                while s[2 * i] != 0 { i = (i + 1) & newMask }
                s[2 * i] = key
                s[2 * i + 1] = old[j + 1]
            }
            munmap(old, mappedBytes)
        }
        slots = s
        mappedBytes = bytes
        mask = newMask
    }
}
