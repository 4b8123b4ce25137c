import Testing
@testable import KenpoCore

/// `hashIndex` finds what a binary search finds, whatever the keys' spread.
@Suite struct SortedSearchTests {
    @Test(arguments: ["even", "clustered", "duplicates", "extremes"])
    func hashIndexAgreesWithBinarySearch(_ spread: String) {
        var g = SystemRandomNumberGenerator()
        for n in [0, 1, 2, 3, 17, 1000, 3000] {
            var keys: [UInt64]
            switch spread {
            case "even": keys = (0..<n).map { _ -> UInt64 in UInt64.random(in: 0...UInt64.max, using: &g) }
            case "clustered":
                // Two tight clusters, at the bottom and at the top of the range.
                keys = (0..<n).map { _ -> UInt64 in
                    let offset: UInt64 = UInt64.random(in: 0..<64, using: &g)
                    return Bool.random(using: &g) ? offset : UInt64.max - offset
                }
            case "duplicates":
                let distinct = UInt64(max(n / 3, 1))
                keys = (0..<n).map { _ -> UInt64 in UInt64.random(in: 0..<distinct, using: &g) }
            default:
                // Both ends of the range only.
                keys = (0..<n).map { i -> UInt64 in
                    let k = UInt64(i / 2)
                    return i % 2 == 0 ? k : UInt64.max - k
                }
            }
            keys.sort()
            var probes: [UInt64] = keys
            probes += [0, 1, UInt64.max, UInt64.max - 1, 1 << 63]
            for _ in 0..<200 { probes.append(UInt64.random(in: 0...UInt64.max, using: &g)) }
            let wrong = probes.filter { keys.hashIndex(of: $0) != keys.sortedIndex(of: $0) }
            #expect(wrong.isEmpty, "n \(n): \(wrong.prefix(5))")
        }
    }
}
