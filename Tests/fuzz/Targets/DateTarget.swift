import Foundation
@testable import KenpoCore

/// Full-width form of an ASCII string (digits, letters, separators), as a spreadsheet may type it.
private func fullWidth(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
        if u.value >= 0x21 && u.value <= 0x7E { out.append(Unicode.Scalar(u.value + 0xFEE0)!) } else { out.append(u) }
    }
    return String(out)
}

/// JapaneseDate.parse / format and CalendarDate on arbitrary text (the first byte picks the
/// allowed styles, the rest is the date as UTF-8).
/// - A date that parses is a real Gregorian day; its ISO form reads back (`CalendarDate(iso:)` and
///   `parse(…, styles: [.iso])`) to the same day, and each style's `format` parses back to it.
/// - Spaces around (or inside) the text change nothing; nor does writing ASCII in full width.
/// - Allowing more styles never changes a result that a subset of styles already accepted.
/// - Days since the epoch round-trip; every error has a message.
let dateTarget = FuzzTarget(name: "date", summary: "JapaneseDate.parse/format: re-normalisation, style monotonicity, width and space folding") { bytes in
    let t = "date"
    guard let selector = bytes.first else { return }
    let all = DateStyle.allCases
    var styles = all.enumerated().filter { selector & (1 << $0.offset) != 0 }.map(\.element)
    if styles.isEmpty { styles = all }
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let result = JapaneseDate.parse(text, styles: styles)
    let full = JapaneseDate.parse(text, styles: all)

    switch result {
    case .success(let d):
        property(CalendarDate(year: d.year, month: d.month, day: d.day) == d, t, "\(text) parsed to an impossible day \(d.year)-\(d.month)-\(d.day)")
        property(full == result, t, "\(text): styles \(styles) give \(d), all styles give \(full)")
        property(CalendarDate(iso: d.iso) == d, t, "\(d.iso) does not read back")
        property(JapaneseDate.parse(d.iso, styles: [.iso]) == .success(d), t, "\(d.iso) does not re-normalise to itself")
        property(JapaneseDate.parse(d.compact, styles: [.yyyymmdd]) == .success(d), t, "\(d.compact) does not re-normalise")
        for style in all {
            let written = JapaneseDate.format(d, style: style)
            let back = JapaneseDate.parse(written, styles: all)
            property(back == .success(d), t, "\(d) formatted as \(style) = \(written) parses to \(back)")
        }
        property(CalendarDate.fromDaysSinceEpoch(d.daysSinceEpoch) == d, t, "\(d) days since epoch do not round-trip")
    case .failure(let e):
        property(!e.message.isEmpty, t, "an error without a message")
    }

    property(JapaneseDate.parse(" " + text + "\u{3000}", styles: styles) == result, t, "spaces around \(text) change the result")
    if text.unicodeScalars.allSatisfy({ $0.isASCII }) {
        let wide = fullWidth(text)
        property(JapaneseDate.parse(wide, styles: styles) == result, t, "full-width \(wide) parses differently from \(text)")
    }

    // Any 8-digit value is a date or an impossible date, never something else.
    if bytes.count >= 5 {
        let v = bytes[1..<5].reduce(0) { $0 << 8 | Int($1) } % 100_000_000
        let digits = String(repeating: "0", count: 8 - String(v).count) + String(v)
        switch JapaneseDate.parse(digits, styles: [.yyyymmdd]) {
        case .success(let d): property(d.compact == digits, t, "\(digits) parsed to \(d)")
        case .failure(let e): property(e == .impossibleDate, t, "\(digits): \(e)")
        }
    }
}
