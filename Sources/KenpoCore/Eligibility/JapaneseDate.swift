import Foundation

/// Spellings of a date that an insurer profile may allow.
public enum DateStyle: String, CaseIterable, Sendable {
    case yyyymmdd = "yyyymmdd"        // 19800102
    case iso = "iso"                  // 1980-01-02, 1980/01/02, 1980/1/2, 1980.1.2 (4-digit year, then month, day with separators - / .)
    case eraKanji = "era-kanji"       // 昭和55年1月2日, 昭和 55 年 1 月 2 日, 平成元年5月1日, 令和元年5月1日; also single-kanji 昭55.1.2 / 昭55年1月2日
    case eraLetter = "era-letter"     // S55.01.02, H2.3.4, R1.5.1, R元.5.1, s55/1/2, S55-01-02 (letters M T S H R, either case)
    case eraCode = "era-code"         // 7-digit GYYMMDD: era code 1 明治 2 大正 3 昭和 4 平成 5 令和 (3550102 = 1980-01-02)
}

/// A day of the proleptic Gregorian calendar, years 1…9999.
public struct CalendarDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// nil for impossible Gregorian dates (2023-02-29, 2024-04-31, month 13 …).
    public init?(year: Int, month: Int, day: Int) {
        guard year >= 1, year <= 9999, month >= 1, month <= 12, day >= 1,
              day <= CalendarDate.daysIn(year: year, month: month) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// "YYYY-MM-DD" strictly.
    public init?(iso: String) {
        let b = Array(iso.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                let d = b[i] &- 0x30
                guard d <= 9 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Zero-padded "1980-01-02".
    public var iso: String {
        // Built from bytes: string interpolation here showed up in ingest profiles.
        guard (0...9999).contains(year) else { return "\(CalendarDate.pad(year, 4))-\(CalendarDate.pad(month, 2))-\(CalendarDate.pad(day, 2))" }
        var bytes: [UInt8] = []
        appendISO(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `iso` appended as bytes (the roster reader's per-row buffer).
    public func appendISO(to out: inout [UInt8]) {
        guard (0...9999).contains(year) else { out.append(contentsOf: iso.utf8); return }
        let y = year, m = month, d = day
        out.append(UInt8(48 + y / 1000)); out.append(UInt8(48 + y / 100 % 10)); out.append(UInt8(48 + y / 10 % 10))
        out.append(UInt8(48 + y % 10)); out.append(0x2D)
        out.append(UInt8(48 + m / 10)); out.append(UInt8(48 + m % 10)); out.append(0x2D)
        out.append(UInt8(48 + d / 10)); out.append(UInt8(48 + d % 10))
    }
    public var description: String { iso }
    /// "19800102".
    public var compact: String { "\(CalendarDate.pad(year, 4))\(CalendarDate.pad(month, 2))\(CalendarDate.pad(day, 2))" }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        if a.year != b.year { return a.year < b.year }
        if a.month != b.month { return a.month < b.month }
        return a.day < b.day
    }

    /// Today's date in Japan (Asia/Tokyo) — the run date default. Japan has kept UTC+9 without daylight
    /// saving since 1951, so this needs no time-zone database.
    public static func todayInJapan() -> CalendarDate {
        let seconds = Int(Date().timeIntervalSince1970.rounded(.down)) + 9 * 3600
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        return fromDaysSinceEpoch(days)
    }

    // MARK: helpers

    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 1, 3, 5, 7, 8, 10, 12: return 31
        case 4, 6, 9, 11: return 30
        case 2: return isLeap(year) ? 29 : 28
        default: return 0
        }
    }

    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Inverse of `daysSinceEpoch` (civil_from_days).
    public static func fromDaysSinceEpoch(_ days: Int) -> CalendarDate {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return CalendarDate(unchecked: y, m, d)
    }

    init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

public enum DateParseError: Error, Equatable, Sendable {
    case unrecognised            // not a date in any allowed style
    case impossibleDate          // looks like a date but no such day (2023-02-30, 昭和55年2月30日)
    case outsideEra(String)      // era year/day outside that era; the associated value names the era in Japanese, e.g. "平成"

    /// An English sentence for an operator.
    public var message: String {
        switch self {
        case .unrecognised:
            return "not a date in any of the allowed styles (for example 19800102, 1980/01/02, 昭和55年1月2日, S55.01.02, 3550102)"
        case .impossibleDate:
            return "no such day in the calendar (check the month and the day: for example February has 28 days except in leap years)"
        case .outsideEra(let name):
            guard let era = JapaneseEra.named(name) else {
                return "the date lies outside the era \(name); this date does not exist"
            }
            let first = era.start
            let began = "\(name) began on \(first.iso) (\(JapaneseDate.format(first, style: .eraKanji)))"
            if let last = era.last {
                return "\(began) and ended on \(last.iso) (\(JapaneseDate.format(last, style: .eraKanji))); this date does not exist"
            }
            return "\(began); this date does not exist"
        }
    }
}

extension DateParseError: CustomStringConvertible {
    public var description: String { message }
}

/// The five modern eras.
struct JapaneseEra: Sendable {
    let code: Int          // 1 明治 … 5 令和
    let name: String       // 明治
    let letter: Character  // M
    let start: CalendarDate
    /// Last day of the era, nil for the current era.
    var last: CalendarDate? {
        code < JapaneseEra.all.count ? CalendarDate.fromDaysSinceEpoch(JapaneseEra.all[code].start.daysSinceEpoch - 1) : nil
    }

    static let all: [JapaneseEra] = [
        JapaneseEra(code: 1, name: "明治", letter: "M", start: CalendarDate(unchecked: 1868, 1, 25)),
        JapaneseEra(code: 2, name: "大正", letter: "T", start: CalendarDate(unchecked: 1912, 7, 30)),
        JapaneseEra(code: 3, name: "昭和", letter: "S", start: CalendarDate(unchecked: 1926, 12, 25)),
        JapaneseEra(code: 4, name: "平成", letter: "H", start: CalendarDate(unchecked: 1989, 1, 8)),
        JapaneseEra(code: 5, name: "令和", letter: "R", start: CalendarDate(unchecked: 2019, 5, 1)),
    ]

    static func named(_ name: String) -> JapaneseEra? { all.first { $0.name == name } }

    /// The era a date falls in, nil before 明治.
    static func of(_ d: CalendarDate) -> JapaneseEra? { all.last { $0.start <= d } }

    func contains(_ d: CalendarDate) -> Bool {
        if d < start { return false }
        if code < JapaneseEra.all.count, !(d < JapaneseEra.all[code].start) { return false }
        return true
    }
}

public enum JapaneseDate {
    /// Parses any spelling among `styles` (width-folded first, so full-width digits and letters work; surrounding spaces ignored).
    /// Era boundaries (first day of each era, inclusive): 明治 1868-01-25, 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08, 令和 2019-05-01.
    /// An era date is valid only between its era's first day and the day before the next era's first day. 元 means year 1.
    ///
    /// Also accepted: the era squares ㍾㍽㍼㍻㋿, a Gregorian 1980年1月2日 (style iso), and a midnight time after an iso
    /// date as spreadsheets write it (1980/01/02 0:00, 1980/01/02 00:00:00).
    public static func parse(_ text: String, styles: [DateStyle] = DateStyle.allCases) -> Result<CalendarDate, DateParseError> {
        Normalise.withUTF8(text) { parse($0, styles: styles) }
    }

    /// `parse` of UTF-8 bytes; `u` must be valid UTF-8 (the roster reader checks or decodes it so).
    static func parse(_ u: UnsafeBufferPointer<UInt8>, styles: [DateStyle] = DateStyle.allCases) -> Result<CalendarDate, DateParseError> {
        // Fast path: 8 or 7 ASCII digits, the most common spellings.
        if u.count == 8 || u.count == 7, let v = asciiNumber(u) {
            if u.count == 8, styles.contains(.yyyymmdd) {
                return gregorian(v / 10000, v / 100 % 100, v % 100)
            }
            if u.count == 7, styles.contains(.eraCode) {
                let code = v / 1_000_000
                guard code >= 1, code <= 5 else { return .failure(.unrecognised) }
                return eraDate(code, v / 10000 % 100, v / 100 % 100, v % 100)
            }
            return .failure(.unrecognised)
        }
        guard let tokens = tokenize(u) else { return .failure(.unrecognised) }
        guard let (style, result) = match(tokens), styles.contains(style) else { return .failure(.unrecognised) }
        return result
    }

    /// Formats a date in a style, for the test-data generator: era-kanji "昭和55年1月2日" (元年 for year 1), era-letter "S55.01.02",
    /// era-code "3550102", yyyymmdd "19800102", iso "1980/01/02".
    /// A date that no era style can express (before 明治, or an era year beyond 99) is written in the iso style.
    public static func format(_ date: CalendarDate, style: DateStyle) -> String {
        let p = CalendarDate.pad
        switch style {
        case .yyyymmdd: return date.compact
        case .iso: return "\(p(date.year, 4))/\(p(date.month, 2))/\(p(date.day, 2))"
        case .eraKanji, .eraLetter, .eraCode:
            guard let era = JapaneseEra.of(date), date.year - era.start.year + 1 <= 99 else { return format(date, style: .iso) }
            let y = date.year - era.start.year + 1
            switch style {
            case .eraKanji:
                return "\(era.name)\(y == 1 ? "元" : String(y))年\(date.month)月\(date.day)日"
            case .eraLetter:
                return "\(era.letter)\(p(y, 2)).\(p(date.month, 2)).\(p(date.day, 2))"
            default:
                return "\(era.code)\(p(y, 2))\(p(date.month, 2))\(p(date.day, 2))"
            }
        }
    }

    // MARK: - internals

    enum Token: Equatable {
        case number(Int, digits: Int)   // digits == 0 for 元
        case era(Int, letter: Bool)     // era code 1…5
        case sep(UInt8)                 // . / -
        case colon
        case nen, tsuki, hi             // 年 月 日
    }

    /// The value of an all-ASCII-digit string, else nil.
    @inline(__always)
    static func asciiNumber(_ u: UnsafeBufferPointer<UInt8>) -> Int? {
        var v = 0
        for b in u {
            let d = b &- 0x30
            guard d <= 9 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }

    /// Decodes one scalar of valid UTF-8 at `i` and advances past it.
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> UInt32 {
        let b0 = p[i]
        if b0 < 0x80 { i += 1; return UInt32(b0) }
        if b0 < 0xE0 { defer { i += 2 }; return (UInt32(b0 & 0x1F) << 6) | UInt32(p[i + 1] & 0x3F) }
        if b0 < 0xF0 {
            defer { i += 3 }
            return (UInt32(b0 & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F)
        }
        defer { i += 4 }
        return (UInt32(b0 & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6) | UInt32(p[i + 3] & 0x3F)
    }

    /// Tokens of a date spelling. Full-width ASCII is folded here (no separate width-folding pass).
    static func tokenize(_ p: UnsafeBufferPointer<UInt8>) -> [Token]? {
        var tokens: [Token] = []
        tokens.reserveCapacity(10)
        let n = p.count
        var i = 0
        var number = 0, digits = 0       // a run of digits being read (digits == 0: none)
        while i < n {
            var v: UInt32
            if p[i] < 0x80 {
                v = UInt32(p[i]); i += 1
            } else {
                v = decode(p, &i)
                if v >= 0xFF01 && v <= 0xFF5E { v -= 0xFEE0 }
            }
            if v >= 0x30 && v <= 0x39 {
                if digits < 9 { number = number * 10 + Int(v - 0x30) }
                digits += 1
                continue
            }
            if digits > 0 {
                tokens.append(.number(number, digits: digits))
                number = 0; digits = 0
            }
            switch v {
            case 0x20, 0x09, 0x3000:
                break
            case 0x2E, 0x2F, 0x2D:
                tokens.append(.sep(UInt8(v)))
            case 0x3A:
                tokens.append(.colon)
            case 0x5143: tokens.append(.number(1, digits: 0))          // 元
            case 0x5E74: tokens.append(.nen)                            // 年
            case 0x6708: tokens.append(.tsuki)                          // 月
            case 0x65E5: tokens.append(.hi)                             // 日
            case 0x337E: tokens.append(.era(1, letter: false))          // ㍾
            case 0x337D: tokens.append(.era(2, letter: false))          // ㍽
            case 0x337C: tokens.append(.era(3, letter: false))          // ㍼
            case 0x337B: tokens.append(.era(4, letter: false))          // ㍻
            case 0x32FF: tokens.append(.era(5, letter: false))          // ㋿
            case 0x4D, 0x6D: tokens.append(.era(1, letter: true))       // M m
            case 0x54, 0x74: tokens.append(.era(2, letter: true))       // T t
            case 0x53, 0x73: tokens.append(.era(3, letter: true))       // S s
            case 0x48, 0x68: tokens.append(.era(4, letter: true))       // H h
            case 0x52, 0x72: tokens.append(.era(5, letter: true))       // R r
            default:
                // Era names: 明治 大正 昭和 平成 令和, or the first kanji alone.
                let code: Int, second: UInt32
                switch v {
                case 0x660E: code = 1; second = 0x6CBB   // 明治
                case 0x5927: code = 2; second = 0x6B63   // 大正
                case 0x662D: code = 3; second = 0x548C   // 昭和
                case 0x5E73: code = 4; second = 0x6210   // 平成
                case 0x4EE4: code = 5; second = 0x548C   // 令和
                default: return nil
                }
                if i < n {
                    var j = i
                    if decode(p, &j) == second { i = j }
                }
                tokens.append(.era(code, letter: false))
            }
        }
        if digits > 0 { tokens.append(.number(number, digits: digits)) }
        return tokens
    }

    static func isSmall(_ t: Token) -> Int? {
        if case let .number(n, d) = t, d <= 2 { return n }   // 1–2 digits, or 元 (digits 0)
        return nil
    }

    /// Matches the token shapes; returns the style and the parse result, or nil when no shape fits.
    static func match(_ t: [Token]) -> (DateStyle, Result<CalendarDate, DateParseError>)? {
        var t = t
        // A midnight time after an iso date ("1980/01/02 0:00", "1980/01/02 00:00:00"), as spreadsheets export dates.
        if t.contains(.colon) {
            let width = t.count == 10 ? 5 : 3                   // date (5 tokens) + H:MM:SS or H:MM
            guard t.count == 5 + width, case .number(_, 4) = t[0] else { return nil }
            for (k, tok) in t[5...].enumerated() {
                if k % 2 == 1 { guard tok == .colon else { return nil }; continue }
                guard case let .number(n, d) = tok, n == 0, d >= 1, d <= 2 else { return nil }
            }
            t.removeLast(width)
        }
        switch t.count {
        case 1:
            guard case let .number(n, d) = t[0] else { return nil }
            if d == 8 {
                return (.yyyymmdd, gregorian(n / 10000, n / 100 % 100, n % 100))
            }
            if d == 7 {
                let code = n / 1_000_000
                guard code >= 1, code <= 5 else { return nil }
                return (.eraCode, eraDate(code, n / 10000 % 100, n / 100 % 100, n % 100))
            }
            return nil
        case 5:
            // 1980/01/02 (same separator twice)
            guard case let .number(y, 4) = t[0], case let .sep(s1) = t[1], case let .sep(s2) = t[3], s1 == s2,
                  let m = isSmall(t[2]), let d = isSmall(t[4]), nonGan(t[2]), nonGan(t[4]) else { return nil }
            return (.iso, gregorian(y, m, d))
        case 6:
            // S55.01.02, 昭和55.1.2 (same separator twice)
            if case let .era(code, letter) = t[0], let y = isSmall(t[1]), case let .sep(s1) = t[2],
               let m = isSmall(t[3]), case let .sep(s2) = t[4], let d = isSmall(t[5]), s1 == s2,
               nonGan(t[3]), nonGan(t[5]) {
                return (letter ? .eraLetter : .eraKanji, eraDate(code, y, m, d))
            }
            // 1980年1月2日
            if case let .number(y, 4) = t[0], t[1] == .nen, let m = isSmall(t[2]), t[3] == .tsuki,
               let d = isSmall(t[4]), t[5] == .hi, nonGan(t[2]), nonGan(t[4]) {
                return (.iso, gregorian(y, m, d))
            }
            return nil
        case 7:
            // 昭和55年1月2日, S55年1月2日
            guard case let .era(code, letter) = t[0], let y = isSmall(t[1]), t[2] == .nen,
                  let m = isSmall(t[3]), t[4] == .tsuki, let d = isSmall(t[5]), t[6] == .hi,
                  nonGan(t[3]), nonGan(t[5]) else { return nil }
            return (letter ? .eraLetter : .eraKanji, eraDate(code, y, m, d))
        default:
            return nil
        }
    }

    /// 元 is allowed only as a year.
    @inline(__always)
    static func nonGan(_ t: Token) -> Bool {
        if case .number(_, 0) = t { return false }
        return true
    }

    static func gregorian(_ y: Int, _ m: Int, _ d: Int) -> Result<CalendarDate, DateParseError> {
        guard let date = CalendarDate(year: y, month: m, day: d) else { return .failure(.impossibleDate) }
        return .success(date)
    }

    static func eraDate(_ code: Int, _ y: Int, _ m: Int, _ d: Int) -> Result<CalendarDate, DateParseError> {
        let era = JapaneseEra.all[code - 1]
        guard y >= 1 else { return .failure(.outsideEra(era.name)) }
        guard let date = CalendarDate(year: era.start.year + y - 1, month: m, day: d) else { return .failure(.impossibleDate) }
        guard era.contains(date) else { return .failure(.outsideEra(era.name)) }
        return .success(date)
    }
}
