/// A decimal number held exactly (significand × 10^-scale), so a band edge of 5.6 and a value of
/// 5.59 compare as a person reads them — never through binary floating point, where 5.6 is not 5.6.
///
/// Parsed from plain decimal text only ("5.6", "-0.25", "+130", "130."), scale up to 18; the
/// precision written is kept ("5.60" has scale 2) so a value prints as it was given.
public struct ExactDecimal: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let significand: Int128
    public let scale: Int

    public init(significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    public init(_ whole: Int) { self.init(significand: Int128(whole), scale: 0) }

    /// nil for anything but a plain decimal (no exponent, no grouping, at most 18 decimals and 30 digits).
    public init?(_ text: some StringProtocol) {
        var u = Substring(text).utf8[...]
        var negative = false
        if u.first == UInt8(ascii: "-") { negative = true; u = u.dropFirst() } else if u.first == UInt8(ascii: "+") { u = u.dropFirst() }
        var sig: Int128 = 0
        var digits = 0, scale = 0
        var point = false
        for c in u {
            if c == UInt8(ascii: ".") {
                guard !point else { return nil }
                point = true
            } else if c >= 0x30 && c <= 0x39 {
                digits += 1
                guard digits <= 30 else { return nil }
                sig = sig * 10 + Int128(c - 0x30)
                if point { scale += 1 }
            } else {
                return nil
            }
        }
        guard digits > 0, scale <= 18 else { return nil }
        self.init(significand: negative ? -sig : sig, scale: scale)
    }

    static let powers: [Int128] = (0...38).reduce(into: []) { p, i in p.append(i == 0 ? 1 : p[i - 1] * 10) }

    /// Both significands at the larger scale (exact; values here are far from Int128's range).
    private static func aligned(_ a: ExactDecimal, _ b: ExactDecimal) -> (Int128, Int128, Int) {
        if a.scale == b.scale { return (a.significand, b.significand, a.scale) }
        if a.scale < b.scale { return (a.significand * powers[b.scale - a.scale], b.significand, b.scale) }
        return (a.significand, b.significand * powers[a.scale - b.scale], a.scale)
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        let (x, y, _) = aligned(a, b)
        return x < y
    }

    public static func == (a: ExactDecimal, b: ExactDecimal) -> Bool {
        let (x, y, _) = aligned(a, b)
        return x == y
    }

    public func hash(into h: inout Hasher) {
        // Equal values hash equally whatever their written precision.
        var s = significand, k = scale
        while k > 0, s % 10 == 0 { s /= 10; k -= 1 }
        h.combine(s); h.combine(k)
    }

    public static func + (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        let (x, y, s) = aligned(a, b)
        return ExactDecimal(significand: x + y, scale: s)
    }

    public static func * (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: a.significand * b.significand, scale: a.scale + b.scale).trimmed(keeping: max(a.scale, b.scale))
    }

    /// Half of the value, exactly (one more decimal when needed): the mean of two readings.
    public var half: ExactDecimal {
        if significand % 2 == 0 { return ExactDecimal(significand: significand / 2, scale: scale) }
        return ExactDecimal(significand: significand * 5, scale: scale + 1)
    }

    /// Rounded half away from zero to `decimals` places (四捨五入), as published conversion rules round.
    public func rounded(decimals: Int) -> ExactDecimal {
        guard scale > decimals else { return self }
        let p = Self.powers[scale - decimals]
        var q = significand / p
        let r = significand % p
        if (r < 0 ? -r : r) * 2 >= p { q += significand < 0 ? -1 : 1 }
        return ExactDecimal(significand: q, scale: decimals)
    }

    /// Drops trailing zeros beyond `keeping` decimals (a product's scale grows with every factor).
    func trimmed(keeping: Int) -> ExactDecimal {
        var s = significand, k = scale
        while k > keeping, s % 10 == 0 { s /= 10; k -= 1 }
        return ExactDecimal(significand: s, scale: k)
    }

    public var description: String {
        let negative = significand < 0
        var digits = String(negative ? -significand : significand)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (negative ? "-" : "") + digits
    }
}

/// A band edge: a finite decimal or an open end ("-inf" / "inf").
public enum BandEdge: Comparable, Hashable, Sendable, CustomStringConvertible {
    case negativeInfinity
    case finite(ExactDecimal)
    case positiveInfinity

    public init?(_ text: String) {
        switch text {
        case "-inf": self = .negativeInfinity
        case "inf", "+inf": self = .positiveInfinity
        default:
            guard let d = ExactDecimal(text) else { return nil }
            self = .finite(d)
        }
    }

    public var description: String {
        switch self {
        case .negativeInfinity: return "-inf"
        case .positiveInfinity: return "inf"
        case .finite(let d): return d.description
        }
    }
}
