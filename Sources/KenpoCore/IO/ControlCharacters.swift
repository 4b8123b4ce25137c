import Foundation

/// Control characters in text that came from outside: C0 (U+0000–U+001F), DEL (U+007F) and C1
/// (U+0080–U+009F). In a name they are never text (a terminal escape such as ESC [2J clears the
/// screen of whoever views the file); in the operator's files they are shown, escaped, not passed on.
/// Format characters such as U+202E are text (Unicode category Cf), not controls.
public enum ControlCharacters {
    /// True for a C0 control, DEL or a C1 control.
    @inline(__always)
    public static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0)
    }

    /// The first control character of `text` that is not in `allowed`, with its position counted in
    /// characters from 1; nil when there is none.
    public static func first(in text: String, allowing allowed: Set<Unicode.Scalar> = []) -> (scalar: Unicode.Scalar, position: Int)? {
        guard mayContain(text) else { return nil }
        for (i, ch) in text.enumerated() {
            if let s = ch.unicodeScalars.first(where: { isControl($0) && !allowed.contains($0) }) { return (s, i + 1) }
        }
        return nil
    }

    /// `text` with every control character (tab, CR and LF too) written as a visible escape —
    /// `\x1B`, `\x00`, `\u0085` — so it can be shown in a CSV cell, a terminal or a log line.
    public static func escaped(_ text: String) -> String {
        guard mayContain(text) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            guard isControl(s) else { out.append(s); continue }
            let hex = String(s.value, radix: 16, uppercase: true)
            let shown = s.value < 0x80 ? "\\x" + hex.leftPadded(to: 2) : "\\u" + hex.leftPadded(to: 4)
            out.append(contentsOf: shown.unicodeScalars)
        }
        return String(out)
    }

    /// A code point as messages write it: "U+001B", "U+29E3D".
    public static func name(_ s: Unicode.Scalar) -> String {
        "U+" + String(s.value, radix: 16, uppercase: true).leftPadded(to: 4)
    }

    /// False only when `text` surely holds no control character (one pass over its UTF-8 bytes: a C1
    /// control is encoded C2 80–C2 9F).
    @inline(__always)
    static func mayContain(_ text: String) -> Bool {
        text.utf8.contains(where: mayStart)
    }

    /// `mayContain` over UTF-8 bytes.
    @inline(__always)
    static func mayContain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { bytes.contains(where: mayStart) }

    @inline(__always)
    private static func mayStart(_ b: UInt8) -> Bool { b < 0x20 || b == 0x7F || b == 0xC2 }
}
