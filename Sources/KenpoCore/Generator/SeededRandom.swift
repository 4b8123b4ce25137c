import Foundation

/// A deterministic pseudo-random generator for synthetic test data: xoshiro256** seeded through
/// SplitMix64 (the seeding its authors recommend). The same seed yields the same sequence on every
/// machine and every Swift version.
///
/// Never use the system generator or `Hasher` for generated data: both differ between runs. For the
/// same reason the helpers below (`below`, `int(in:)`, `unit`, `chance`, `pick`) are written out
/// here instead of relying on `Int.random(in:using:)`, whose reduction of the raw 64-bit outputs is a
/// standard-library detail that could change between releases.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededRandom.splitMix64(&sm)
        s1 = SeededRandom.splitMix64(&sm)
        s2 = SeededRandom.splitMix64(&sm)
        s3 = SeededRandom.splitMix64(&sm)
        // All-zero state is the one state xoshiro cannot leave; SplitMix64 never yields four zeros,
        // but guard anyway.
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// A generator for one named stream derived from a seed (e.g. one per insurer profile), so that
    /// each stream does not depend on how many numbers another stream drew.
    public init(seed: UInt64, stream: String) {
        self.init(seed: seed ^ SeededRandom.fnv1a64(stream))
    }

    /// SplitMix64 step (Steele, Lea, Flood 2014).
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a over UTF-8 bytes: a stable string hash (unlike `Hasher`, which is seeded per process).
    public static func fnv1a64(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// xoshiro256** (Blackman, Vigna 2018).
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SeededRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SeededRandom.rotl(s3, 45)
        return result
    }

    /// A uniform integer in 0..<n (n > 0), unbiased (Lemire's multiply-shift with rejection).
    @inline(__always)
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "SeededRandom.below needs a positive bound")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// A uniform integer in the closed range.
    @inline(__always)
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// True with probability p.
    @inline(__always)
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// One element of a non-empty array.
    @inline(__always)
    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// An index chosen with the given non-negative integer weights (at least one positive).
    public mutating func weighted(_ weights: [Int]) -> Int {
        let total = weights.reduce(0, +)
        var r = below(total)
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }
}
