import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer for building XML documents without String concatenation: one buffer is
/// reused for every document (`reset()` keeps its capacity). Text and attribute values are escaped.
struct XMLBytes {
    var bytes: [UInt8] = []
    /// Line end and indentation unit; an empty `lineEnd` writes the document on one line.
    var lineEnd: [UInt8] = [0x0A]
    var indentUnit: [UInt8] = [0x20, 0x20]

    init(capacity: Int = 1 << 16) { bytes.reserveCapacity(capacity) }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// Appends a literal (markup; never escaped).
    @inline(__always)
    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends a string without escaping (for values known to need none: codes, numbers, OIDs).
    @inline(__always)
    mutating func plain(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Appends character data, escaping `&`, `<`, `>` (and `"` so the same routine serves attributes).
    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { u in
            var clean = true
            for b in u where b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 { clean = false; break }
            if clean { bytes.append(contentsOf: u); return }
            for b in u {
                switch b {
                case 0x26: raw("&amp;")
                case 0x3C: raw("&lt;")
                case 0x3E: raw("&gt;")
                case 0x22: raw("&quot;")
                default: bytes.append(b)
                }
            }
        }
    }

    /// Appends text so that a parser gives back exactly `s`: as `text`, and also CR as `&#13;` (a
    /// parser turns a literal CR or CRLF into LF); in an attribute value also TAB and LF as character
    /// references (attribute-value normalisation would turn them into spaces).
    mutating func exact(_ s: String, attribute: Bool = false) {
        var s = s
        s.withUTF8 { u in
            var clean = true
            for b in u where b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x0D || (attribute && (b == 0x09 || b == 0x0A)) {
                clean = false; break
            }
            if clean { bytes.append(contentsOf: u); return }
            for b in u {
                switch b {
                case 0x26: raw("&amp;")
                case 0x3C: raw("&lt;")
                case 0x3E: raw("&gt;")
                case 0x22: raw("&quot;")
                case 0x0D: raw("&#13;")
                case 0x09 where attribute: raw("&#9;")
                case 0x0A where attribute: raw("&#10;")
                default: bytes.append(b)
                }
            }
        }
    }

    /// A new line indented `depth` levels (nothing when the style is one line).
    @inline(__always)
    mutating func newline(_ depth: Int) {
        guard !lineEnd.isEmpty else { return }
        bytes.append(contentsOf: lineEnd)
        for _ in 0..<depth { bytes.append(contentsOf: indentUnit) }
    }

    mutating func int(_ v: Int) {
        if v < 0 { bytes.append(0x2D); int(-v); return }
        if v < 10 { bytes.append(UInt8(48 + v)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { d in
            while x > 0 { d[n] = UInt8(48 + x % 10); x /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    /// A zero-padded integer of `width` digits.
    mutating func padded(_ v: Int, _ width: Int) {
        var w = 1, p = 10
        while p <= v { w += 1; p *= 10 }
        for _ in w..<max(w, width) { bytes.append(0x30) }
        int(v)
    }

    /// A decimal `scaled / 10^decimals` as text, e.g. (56, 1) → "5.6", (80, 2) → "0.80", (120, 0) → "120".
    mutating func decimal(_ scaled: Int, _ decimals: Int) {
        if scaled < 0 { bytes.append(0x2D); decimal(-scaled, decimals); return }
        if decimals == 0 { int(scaled); return }
        var p = 1
        for _ in 0..<decimals { p *= 10 }
        int(scaled / p)
        bytes.append(0x2E)
        padded(scaled % p, decimals)
    }

    /// "YYYYMMDD".
    mutating func compactDate(_ d: CalendarDate) {
        padded(d.year, 4); padded(d.month, 2); padded(d.day, 2)
    }

    /// "YYYY-MM-DD".
    mutating func isoDate(_ d: CalendarDate) {
        padded(d.year, 4); bytes.append(0x2D); padded(d.month, 2); bytes.append(0x2D); padded(d.day, 2)
    }

    /// Whole yen, with digit-group commas when `commas` ("78,040").
    mutating func yen(_ v: Int, commas: Bool) {
        guard commas, v >= 1000 else { int(v); return }
        yen(v / 1000, commas: true)
        bytes.append(0x2C)
        padded(v % 1000, 3)
    }
}

/// Deterministic arithmetic for synthetic values: only IEEE-754 basic operations (+ − × ÷ and
/// sqrt, which are correctly rounded everywhere), so the same seed gives the same digits on every
/// machine — unlike libm's `exp`/`log`/`pow`, whose last bits may differ between platforms.
enum DetMath {
    static let ln2 = 0.693_147_180_559_945_3

    /// e^x for |x| ≲ 700: x = k·ln2 + r, |r| ≤ ln2/2, Taylor series of r to 20 terms.
    static func exp(_ x: Double) -> Double {
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0, sum = 1.0
        for i in 1...20 {
            term *= r / Double(i)
            sum += term
        }
        var result = sum
        var n = Int(k)
        while n > 0 { result *= 2; n -= 1 }
        while n < 0 { result /= 2; n += 1 }
        return result
    }

    /// ln x for x > 0: x = m·2^k with m in [√½, √2), ln m = 2·atanh((m−1)/(m+1)) by its series.
    static func ln(_ x: Double) -> Double {
        precondition(x > 0)
        var m = x, k = 0
        while m >= 1.414_213_562_373_095 { m /= 2; k += 1 }
        while m < 0.707_106_781_186_547_5 { m *= 2; k -= 1 }
        let t = (m - 1) / (m + 1)
        let t2 = t * t
        var term = t, sum = 0.0
        var i = 1.0
        for _ in 0..<30 {
            sum += term / i
            term *= t2
            i += 2
        }
        return 2 * sum + Double(k) * ln2
    }

    static func pow(_ x: Double, _ y: Double) -> Double { exp(y * ln(x)) }
}

extension SeededRandom {
    /// A standard normal variate by the Irwin–Hall sum of 12 uniforms (bounded to ±6, exact in IEEE).
    mutating func normal() -> Double {
        var s = 0.0
        for _ in 0..<12 { s += unit() }
        return s - 6
    }

    /// mean + sd·N(0,1).
    mutating func normal(_ mean: Double, _ sd: Double) -> Double { mean + sd * normal() }

    /// A log-normal variate with the given median and log-scale sd.
    mutating func logNormal(median: Double, sigma: Double) -> Double { median * DetMath.exp(sigma * normal()) }

    /// mean + sd·|N(0,1)|: a value on one side of `mean`.
    mutating func halfNormal(_ mean: Double, _ sd: Double) -> Double { mean + sd * abs(normal()) }
}

/// Writes small generated files: to `path.part`, then renamed into place, owner-only (0600).
enum GeneratedFileOutput {
    static func write(_ bytes: [UInt8], to path: String) throws {
        let part = path + ".part"
        let fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: part, message: "cannot create: \(String(cString: strerror(errno)))") }
        do {
            try bytes.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: part) }
        } catch {
            close(fd); unlink(part)
            throw error
        }
        if close(fd) != 0 {
            unlink(part)
            throw KenpoError.io(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
        }
        try FileSystem.rename(part, path)
    }
}
