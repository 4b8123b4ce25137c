import Foundation
import Testing
import KenpoCore

private func isoDate(_ iso: String) -> CalendarDate { CalendarDate(iso: iso)! }

@Suite("JapaneseDate")
struct JapaneseDateTests {
    @Test("parses every style", arguments: [
        ("S55.1.2", "1980-01-02"),
        ("昭和55年1月2日", "1980-01-02"),
        ("3550102", "1980-01-02"),
        ("19800102", "1980-01-02"),
        ("1980/01/02", "1980-01-02"),
        ("1980-01-02", "1980-01-02"),
        ("昭和５５年１月２日", "1980-01-02"),
        ("Ｓ５５．０１．０２", "1980-01-02"),
        ("１９８００１０２", "1980-01-02"),
        ("昭和 55 年 1 月 2 日", "1980-01-02"),
        ("昭和　５５年　１月　２日", "1980-01-02"),
        ("昭55.1.2", "1980-01-02"),
        ("昭55年1月2日", "1980-01-02"),
        ("昭和55.1.2", "1980-01-02"),
        ("s55/1/2", "1980-01-02"),
        ("S55-01-02", "1980-01-02"),
        ("S55.01.02", "1980-01-02"),
        ("S55年1月2日", "1980-01-02"),
        ("1980/1/2", "1980-01-02"),
        ("1980.1.2", "1980-01-02"),
        (" 19800102 ", "1980-01-02"),
        ("㍼55年1月2日", "1980-01-02"),
        ("1980年1月2日", "1980-01-02"),
        ("1980/01/02 0:00", "1980-01-02"),
        ("1980/01/02 00:00:00", "1980-01-02"),
        ("平成元年1月8日", "1989-01-08"),
        ("令和元年5月1日", "2019-05-01"),
        ("R1.5.1", "2019-05-01"),
        ("R元.5.1", "2019-05-01"),
        ("R01.05.01", "2019-05-01"),
        ("r1.5.1", "2019-05-01"),
        ("平成31年4月30日", "2019-04-30"),
        ("H31.04.30", "2019-04-30"),
        ("H2.3.4", "1990-03-04"),
        ("昭和64年1月7日", "1989-01-07"),
        ("昭和元年12月25日", "1926-12-25"),
        ("大正15年12月24日", "1926-12-24"),
        ("大正元年7月30日", "1912-07-30"),
        ("T1.7.30", "1912-07-30"),
        ("明治45年7月29日", "1912-07-29"),
        ("M45.07.29", "1912-07-29"),
        ("明治元年1月25日", "1868-01-25"),
        ("4010108", "1989-01-08"),
        ("4310430", "2019-04-30"),
        ("5010501", "2019-05-01"),
    ])
    func parses(_ c: (String, String)) {
        #expect(JapaneseDate.parse(c.0) == .success(isoDate(c.1)), "\(c.0)")
    }

    @Test("leap days", arguments: [
        ("20000229", "2000-02-29"),
        ("4120229", "2000-02-29"),
        ("令和6年2月29日", "2024-02-29"),
        ("H24.2.29", "2012-02-29"),
        ("1904/02/29", "1904-02-29"),
    ])
    func leapDays(_ c: (String, String)) {
        #expect(JapaneseDate.parse(c.0) == .success(isoDate(c.1)))
    }

    @Test("rejects", arguments: [
        ("平成31年5月1日", DateParseError.outsideEra("平成")),
        ("令和元年4月30日", .outsideEra("令和")),
        ("昭和64年1月8日", .outsideEra("昭和")),
        ("平成元年1月7日", .outsideEra("平成")),
        ("大正16年1月1日", .outsideEra("大正")),
        ("大正元年7月29日", .outsideEra("大正")),
        ("明治元年1月24日", .outsideEra("明治")),
        ("明治46年1月1日", .outsideEra("明治")),
        ("H31.5.1", .outsideEra("平成")),
        ("R1.4.30", .outsideEra("令和")),
        ("4310501", .outsideEra("平成")),
        ("5010430", .outsideEra("令和")),
        ("3640108", .outsideEra("昭和")),
        ("2000229", .outsideEra("大正")),   // 大正0年
        ("昭和0年1月1日", .outsideEra("昭和")),
        ("2023/02/29", .impossibleDate),
        ("昭和55年2月30日", .impossibleDate),
        ("20230229", .impossibleDate),
        ("2024-04-31", .impossibleDate),
        ("1980/13/01", .impossibleDate),
        ("1980/00/01", .impossibleDate),
        ("3551301", .impossibleDate),
        ("S55.2.30", .impossibleDate),
        ("平成31年2月29日", .impossibleDate),
        ("1900/02/29", .impossibleDate),
        ("00000000", .impossibleDate),
        ("abc", .unrecognised),
        ("123456", .unrecognised),
        ("", .unrecognised),
        ("　", .unrecognised),
        ("1980/01-02", .unrecognised),
        ("80/01/02", .unrecognised),
        ("S55", .unrecognised),
        ("昭和55年1月", .unrecognised),
        ("1980年1月2", .unrecognised),
        ("1980/01/02 12:00", .unrecognised),
        ("S55.1.2 0:00", .unrecognised),
        ("9550102", .unrecognised),
        ("0550102", .unrecognised),
        ("令和元年元月1日", .unrecognised),
        ("X55.1.2", .unrecognised),
        ("S555.1.2", .unrecognised),
        ("19800102x", .unrecognised),
        ("198001021", .unrecognised),
        ("1980 01 02", .unrecognised),
        ("1980/001/02", .unrecognised),
    ])
    func rejects(_ c: (String, DateParseError)) {
        #expect(JapaneseDate.parse(c.0) == .failure(c.1), "\(c.0)")
    }

    @Test("styles restrict what is accepted", arguments: [
        ("S55.1.2", [DateStyle.yyyymmdd], false),
        ("S55.1.2", [.eraKanji], false),
        ("S55.1.2", [.eraLetter], true),
        ("S55年1月2日", [.eraLetter], true),
        ("S55年1月2日", [.eraKanji], false),
        ("19800102", [.iso], false),
        ("19800102", [.yyyymmdd], true),
        ("１９８００１０２", [.yyyymmdd], true),
        ("1980/01/02", [.yyyymmdd], false),
        ("1980/01/02", [.iso], true),
        ("1980年1月2日", [.iso], true),
        ("昭和55年1月2日", [.eraLetter], false),
        ("昭和55年1月2日", [.eraKanji], true),
        ("昭55.1.2", [.eraKanji], true),
        ("3550102", [.eraKanji, .eraLetter], false),
        ("3550102", [.eraCode], true),
        ("3550102", [], false),
    ])
    func styles(_ c: (String, [DateStyle], Bool)) {
        let r = JapaneseDate.parse(c.0, styles: c.1)
        #expect(r == (c.2 ? .success(isoDate("1980-01-02")) : .failure(.unrecognised)), "\(c.0) \(c.1)")
    }

    @Test("a style restriction does not hide an impossible date in an allowed style")
    func restrictionKeepsErrors() {
        #expect(JapaneseDate.parse("平成31年5月1日", styles: [.eraKanji]) == .failure(.outsideEra("平成")))
        #expect(JapaneseDate.parse("20230229", styles: [.yyyymmdd]) == .failure(.impossibleDate))
        #expect(JapaneseDate.parse("20230229", styles: [.eraCode]) == .failure(.unrecognised))
    }

    @Test("format", arguments: [
        ("1980-01-02", DateStyle.eraKanji, "昭和55年1月2日"),
        ("1980-01-02", .eraLetter, "S55.01.02"),
        ("1980-01-02", .eraCode, "3550102"),
        ("1980-01-02", .yyyymmdd, "19800102"),
        ("1980-01-02", .iso, "1980/01/02"),
        ("1989-01-08", .eraKanji, "平成元年1月8日"),
        ("1989-01-08", .eraLetter, "H01.01.08"),
        ("1989-01-08", .eraCode, "4010108"),
        ("1989-01-07", .eraKanji, "昭和64年1月7日"),
        ("2019-04-30", .eraKanji, "平成31年4月30日"),
        ("2019-05-01", .eraKanji, "令和元年5月1日"),
        ("2019-05-01", .eraLetter, "R01.05.01"),
        ("2019-05-01", .eraCode, "5010501"),
        ("1926-12-25", .eraKanji, "昭和元年12月25日"),
        ("1926-12-24", .eraKanji, "大正15年12月24日"),
        ("1912-07-30", .eraLetter, "T01.07.30"),
        ("1912-07-29", .eraCode, "1450729"),
        ("1868-01-25", .eraKanji, "明治元年1月25日"),
        ("1868-01-24", .eraKanji, "1868/01/24"),   // before 明治: no era spelling
        ("0999-12-31", .yyyymmdd, "09991231"),
    ])
    func format(_ c: (String, DateStyle, String)) {
        #expect(JapaneseDate.format(isoDate(c.0), style: c.1) == c.2)
    }

    static let boundaryDates: [String] = [
        "1868-01-25", "1868-12-31", "1869-01-01", "1912-07-29", "1912-07-30", "1912-12-31", "1913-01-01",
        "1926-12-24", "1926-12-25", "1926-12-31", "1927-01-01", "1989-01-07", "1989-01-08", "1989-12-31",
        "1990-01-01", "2019-04-30", "2019-05-01", "2019-12-31", "2020-01-01", "2020-02-29", "2000-02-29",
        "1980-01-02", "1904-02-29", "2024-02-29", "2117-12-31",
    ]

    @Test("format then parse round-trips at every era boundary and 元年", arguments: DateStyle.allCases, boundaryDates)
    func roundTripBoundaries(_ style: DateStyle, _ iso: String) {
        let date = isoDate(iso)
        let text = JapaneseDate.format(date, style: style)
        #expect(JapaneseDate.parse(text, styles: [style]) == .success(date), "\(text)")
        #expect(JapaneseDate.parse(text) == .success(date), "\(text)")
    }

    @Test("format then parse round-trips for every 7th day from 明治 to 令和 30", arguments: DateStyle.allCases)
    func roundTripSweep(_ style: DateStyle) {
        let first = isoDate("1868-01-25").daysSinceEpoch
        let last = isoDate("2048-12-31").daysSinceEpoch
        var failures = 0
        for day in stride(from: first, through: last, by: 7) {
            let date = CalendarDate.fromDaysSinceEpoch(day)
            let text = JapaneseDate.format(date, style: style)
            if JapaneseDate.parse(text, styles: [style]) != .success(date) {
                failures += 1
                if failures < 5 { Issue.record("\(date) → \(text) did not round-trip") }
            }
            // Full-width spelling of the same text parses too.
            if day % 91 == first % 91 {
                let wide = String(String.UnicodeScalarView(text.unicodeScalars.map {
                    $0.value >= 0x21 && $0.value <= 0x7E ? Unicode.Scalar($0.value + 0xFEE0)! : $0
                }))
                #expect(JapaneseDate.parse(wide, styles: [style]) == .success(date), "\(wide)")
            }
        }
        #expect(failures == 0)
    }

    @Test("messages name the era and its bounds")
    func messages() {
        let heisei = DateParseError.outsideEra("平成").message
        #expect(heisei.contains("2019-04-30"))
        #expect(heisei.contains("平成31年4月30日"))
        #expect(heisei.contains("1989-01-08"))
        let reiwa = DateParseError.outsideEra("令和").message
        #expect(reiwa.contains("令和元年5月1日"))
        #expect(!reiwa.contains("ended"))
        #expect(!DateParseError.unrecognised.message.isEmpty)
        #expect(!DateParseError.impossibleDate.message.isEmpty)
    }
}

@Suite("CalendarDate")
struct CalendarDateTests {
    @Test("init validates", arguments: [
        (2023, 2, 29, false), (2024, 2, 29, true), (2000, 2, 29, true), (1900, 2, 29, false),
        (2024, 4, 31, false), (2024, 4, 30, true), (2024, 13, 1, false), (2024, 0, 1, false),
        (2024, 1, 0, false), (2024, 12, 31, true), (0, 1, 1, false), (10000, 1, 1, false),
    ])
    func validates(_ c: (Int, Int, Int, Bool)) {
        #expect((CalendarDate(year: c.0, month: c.1, day: c.2) != nil) == c.3)
    }

    @Test("iso is strict", arguments: [
        ("1980-01-02", true), ("1980-1-2", false), ("1980/01/02", false), ("19800102", false),
        ("1980-02-30", false), (" 1980-01-02", false), ("１９８０-01-02", false), ("", false),
    ])
    func isoStrict(_ c: (String, Bool)) {
        #expect((CalendarDate(iso: c.0) != nil) == c.1)
    }

    @Test func spellingsAndOrder() {
        let a = CalendarDate(year: 1980, month: 1, day: 2)!
        #expect(a.iso == "1980-01-02")
        #expect(a.description == "1980-01-02")
        #expect(a.compact == "19800102")
        #expect(CalendarDate(year: 987, month: 6, day: 5)!.iso == "0987-06-05")
        #expect(a < CalendarDate(year: 1980, month: 1, day: 3)!)
        #expect(a < CalendarDate(year: 1980, month: 2, day: 1)!)
        #expect(a < CalendarDate(year: 1981, month: 1, day: 1)!)
        #expect(!(a < a))
        #expect(CalendarDate.fromDaysSinceEpoch(0).iso == "1970-01-01")
        #expect(CalendarDate(iso: "2000-03-01")!.daysSinceEpoch - CalendarDate(iso: "2000-02-28")!.daysSinceEpoch == 2)
        #expect(CalendarDate.fromDaysSinceEpoch(a.daysSinceEpoch) == a)
    }

    @Test func todayInJapanMatchesFoundation() {
        var cal = Calendar(identifier: .gregorian)
        guard let tokyo = TimeZone(identifier: "Asia/Tokyo") else { return }
        cal.timeZone = tokyo
        let before = cal.dateComponents([.year, .month, .day], from: Date())
        let today = CalendarDate.todayInJapan()
        let after = cal.dateComponents([.year, .month, .day], from: Date())
        let candidates = [before, after].map { CalendarDate(year: $0.year!, month: $0.month!, day: $0.day!)! }
        #expect(candidates.contains(today))
    }
}
