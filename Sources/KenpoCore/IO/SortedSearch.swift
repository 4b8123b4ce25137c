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
