/// Binary search over arrays kept sorted — the compact indexes that stand in for dictionaries where a
/// million entries would cost too much (member directory, code ledger, committed inputs).
extension RandomAccessCollection where Index == Int {
    /// The first index whose key is not less than `key`; `endIndex` when there is none. The elements
    /// must be sorted by `keyOf`.
    @inline(__always)
    func lowerBound<Key: Comparable>(of key: Key, by keyOf: (Element) -> Key) -> Int {
        var lo = startIndex, hi = endIndex
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if keyOf(self[mid]) < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The index of the first element whose key equals `key`, if any (sorted by `keyOf`).
    @inline(__always)
    func sortedIndex<Key: Comparable>(of key: Key, by keyOf: (Element) -> Key) -> Int? {
        let i = lowerBound(of: key, by: keyOf)
        return i < endIndex && keyOf(self[i]) == key ? i : nil
    }
}

extension RandomAccessCollection where Index == Int, Element: Comparable {
    /// The index of the first element equal to `value`, if any (the collection sorted ascending).
    @inline(__always)
    func sortedIndex(of value: Element) -> Int? { sortedIndex(of: value, by: { $0 }) }
}

extension Array where Element == UInt64 {
    /// `sortedIndex(of:)` for keys that are hashes (person ids, `StableHash` values: spread evenly
    /// over UInt64). A few probes go where the key would sit were the keys exactly even, then the
    /// binary search finishes: about 5 probes into a big array instead of 17 far-apart ones, each
    /// a cache miss (the member directory's lookups were 3% of an import). Any probe in the range
    /// keeps the search correct, so keys that are not even only cost a few probes more.
    @inline(__always)
    func hashIndex(of key: UInt64) -> Int? {
        withUnsafeBufferPointer { a -> Int? in
            var lo = 0, hi = a.count
            // The keys in a[lo..<hi] lie in low...high.
            var low: UInt64 = 0, high = UInt64.max
            var guesses = 4
            while lo < hi {
                var mid = lo + (hi - lo) / 2
                if guesses > 0, high > low {
                    guesses -= 1
                    // (key - low) * (hi - lo) / (high - low) in 128 bits: at most hi - lo, as
                    // low <= key <= high.
                    let product = (key - low).multipliedFullWidth(by: UInt64(hi - lo))
                    let step = (high - low).dividingFullWidth(product).quotient
                    mid = lo + Int(Swift.min(step, UInt64(hi - lo - 1)))
                }
                if a[mid] < key { lo = mid + 1; low = a[mid] } else { hi = mid; high = a[mid] }
            }
            return lo < a.count && a[lo] == key ? lo : nil
        }
    }
}
