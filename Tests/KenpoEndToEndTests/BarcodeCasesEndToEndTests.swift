import Foundation
import KenpoCore
import Testing

/// Japan Post's official customer-barcode cases (カスタマバーコード, ../shared/reference/customer-barcode-cases.tsv),
/// read from the file itself, through `kenpo barcode` and through the vendor's print file.
struct OfficialBarcodeCases {
    struct Case {
        var postal: String
        var address: String
        /// The official symbols: 20 data characters and the check character (`CC4` is one symbol).
        var symbols: [String]
        var data: String { symbols.prefix(20).joined() }
        var check: String { symbols[20] }
    }

    var cases: [Case]
    /// Symbol → its three bars, and STC / SPC, from the file's header.
    var bars: [String: String]
    /// The header's worked bar-string example: postal code, address number, bar string, check character.
    var example: (postal: String, addressNumber: String, bars: String, check: String)

    static let path = KenpoProcess.packageRoot.deletingLastPathComponent().path + "/shared/reference/customer-barcode-cases.tsv"

    /// Reads the file; a missing or changed file is an error, never a silently smaller test.
    static func load() throws -> OfficialBarcodeCases {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var bars: [String: String] = [:]
        var cases: [Case] = []
        var exampleHead: (postal: String, number: String)?
        var exampleBars: (bars: String, check: String)?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("#") {
                // "1=114 2=132 … CC8=111 STC=13 SPC=31"
                for token in line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "." }) {
                    let kv = token.split(separator: "=")
                    if kv.count == 2, kv[1].allSatisfy({ "1234".contains($0) }), ["-", "STC", "SPC"].contains(String(kv[0]))
                        || kv[0].allSatisfy(\.isNumber) || kv[0].hasPrefix("CC") {
                        bars[String(kv[0])] = String(kv[1])
                    }
                }
                // "# Example bar string: postcode 154-0023, data "15400233-16-4-205" ->" then "# 1311…31 (check character 6)."
                if let r = line.range(of: "postcode "), let q = line.range(of: "data \"") {
                    let postal = String(line[r.upperBound...].prefix(8))
                    let data = line[q.upperBound...].prefix { $0 != "\"" }
                    exampleHead = (postal, String(data.dropFirst(7)))
                    if i + 1 < lines.count {
                        let next = lines[i + 1].dropFirst(2)
                        let b = next.prefix { "1234".contains($0) }
                        if let c = next.range(of: "check character ") { exampleBars = (String(b), String(next[c.upperBound...].prefix(1))) }
                    }
                }
                continue
            }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3, f[0] != "postcode" else { continue }
            cases.append(Case(postal: f[0], address: f[1], symbols: symbols(f[2])))
        }
        guard cases.count == 12, cases.allSatisfy({ $0.symbols.count == 21 }), bars.count == 21,
              let head = exampleHead, let tail = exampleBars else {
            throw KenpoError.input(path: path, line: 0, message: "not the 12 official cases with the bar table and example it used to hold")
        }
        return OfficialBarcodeCases(cases: cases, bars: bars, example: (head.postal, head.number, tail.bars, tail.check))
    }

    /// `26300233-30-8-403CC4CC4CC45` → ["2", "6", …, "CC4", "CC4", "CC4", "5"].
    static func symbols(_ code: String) -> [String] {
        var out: [String] = []
        var rest = Substring(code)
        while let c = rest.first {
            if rest.hasPrefix("CC") { out.append(String(rest.prefix(3))); rest = rest.dropFirst(3) } else { out.append(String(c)); rest = rest.dropFirst() }
        }
        return out
    }

    /// The full bar string of a case by the official table alone: STC, 21 symbols, SPC.
    func barString(_ c: Case) -> String { bars["STC"]! + c.symbols.map { bars[$0]! }.joined() + bars["SPC"]! }
}

@Suite struct BarcodeCasesEndToEndTests {
    /// `kenpo barcode` on every official case: data characters, check character and the bar string
    /// built from the file's own bar table; and the header's literal bar-string example.
    @Test func barcodeCommandPassesEveryOfficialCase() throws {
        let official = try OfficialBarcodeCases.load()
        for c in official.cases {
            let out = try Self.barcode(c.postal, c.address)
            #expect(out["postal_code"] == c.postal.replacingOccurrences(of: "-", with: ""), "\(c.address)")
            #expect(out["data_characters"] == c.data, "\(c.address)")
            #expect(out["check_character"] == c.check, "\(c.address)")
            #expect(out["bars"] == official.barString(c), "\(c.address)")
            #expect(out["bars"]?.count == 67)
        }
        let e = official.example
        let out = try Self.barcode(e.postal, e.addressNumber)
        #expect(out["address_number"] == e.addressNumber)
        #expect(out["check_character"] == e.check)
        #expect(out["bars"] == e.bars)

        let bad = try CodesEndToEndTests.run(["barcode", "26-0023", "千葉市"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("is not 7 digits"))
    }

    static func barcode(_ postal: String, _ address: String) throws -> [String: String] {
        let r = try CodesEndToEndTests.run(["barcode", postal, address])
        #expect(r.status == 0, "\(r.stderr)")
        return Dictionary(uniqueKeysWithValues: r.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let c = line.range(of: ": ") else { return nil }
            return (String(line[..<c.lowerBound]), String(line[c.upperBound...]))
        })
    }

    // MARK: - through the print file

    /// One postcard per official case (and the header's example), mailed by かもめ (sample-kamome) to
    /// members of a roster built for them: the print file's barcode columns are the official ones, in
    /// UTF-8 (street and building in 住所1 / 住所2) and in the default CP932 (the whole address in 住所1).
    @Test func printFileCarriesEveryOfficialCase() throws {
        let official = try OfficialBarcodeCases.load()
        // The header's example has no address of its own: its address number stands for one.
        let example = OfficialBarcodeCases.Case(postal: official.example.postal, address: official.example.addressNumber,
                                                symbols: [])
        let people = official.cases + [example]
        let dir = KenpoProcess.tempDataFolder()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/var"

        // The roster (CP932, the profile's layout): one member per case, living at the case's address.
        let kana = ["ｱｲｻﾞﾜ ｱｷﾗ", "ｲﾉｳｴ ｲｻﾑ", "ｳｴﾀﾞ ｳﾀ", "ｴﾓﾄ ｴﾐ", "ｵｵﾉ ｵｻﾑ", "ｶﾄｳ ｶｵﾙ", "ｷﾑﾗ ｷﾖｼ",
                    "ｸﾄﾞｳ ｸﾐ", "ｹﾝﾓﾂ ｹﾝ", "ｺﾊﾞﾔｼ ｺｳ", "ｻｻｷ ｻﾄﾙ", "ｼﾏﾀﾞ ｼﾞﾛｳ", "ｽｽﾞｷ ｽｽﾑ"]
        let kanji = ["相沢　明", "井上　勇", "上田　歌", "江本　恵美", "大野　修", "加藤　薫", "木村　清",
                     "工藤　久美", "剣持　健", "小林　功", "佐々木　悟", "島田　次郎", "鈴木　進"]
        var roster = [["保険者番号", "記号", "番号", "枝番", "ｶﾅ氏名", "漢字氏名", "性別", "生年月日", "続柄区分", "資格取得日",
                       "資格喪失日", "郵便番号", "住所1", "住所2", "旧保険者番号", "旧記号", "旧番号"]]
        for (i, c) in people.enumerated() {
            roster.append(["06139992", "9001", String(5001 + i), "00", kana[i], kanji[i], "1", "3550102", "1", "平成14年4月1日", "",
                           c.postal, c.address, "", "", "", ""])
        }
        try Self.writeCP932(roster, to: dir + "/roster.csv")
        let e = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-21", "--profile", "sample-kamome", dir + "/roster.csv"])
        #expect(e.status == 0, "every member accepted; stderr: \(e.stderr)")

        // Two mailing lists: street / building split at the first full-width space, and the whole address in 住所1.
        let header = ["保険者番号", "記号", "番号", "枝番", "カナ氏名", "氏名", "生年月日", "郵便番号", "住所1", "住所2", "送付先区分"]
        func mailing(split: Bool) -> [[String]] {
            [header] + people.enumerated().map { i, c in
                let parts = c.address.split(separator: "\u{3000}", maxSplits: 1).map(String.init)
                let (a1, a2) = split && parts.count == 2 ? (parts[0], parts[1]) : (c.address, "")
                return ["06139992", "9001", String(5001 + i), "00", kana[i], kanji[i], "3550102", c.postal, a1, a2, "自宅"]
            }
        }
        try Self.writeCP932(mailing(split: true), to: dir + "/mailing-split.csv")
        try Self.writeCP932(mailing(split: false), to: dir + "/mailing-whole.csv")

        for (list, encoding) in [("mailing-split.csv", "utf-8"), ("mailing-whole.csv", "cp932")] {
            var args = ["codes", "--data", data, "--date", "2026-11-21", "--key-file", CodesEndToEndTests.keyFile]
            if encoding == "utf-8" { args += ["--print-encoding", "utf-8"] }   // cp932: the default, no option
            let r = try CodesEndToEndTests.run(args + ["--profile", "sample-kamome", dir + "/" + list])
            #expect(r.status == 0, "\(list): every row accepted; stderr: \(r.stderr)")
            let latest = data + "/outbox/latest"
            let vendor = try VendorManifest.decode(path: latest + "/postcards.manifest.json")
            #expect(vendor.encoding == (encoding == "utf-8" ? "UTF-8" : "CP932") && vendor.records == people.count)
            let rows = encoding == "utf-8" ? try csvRows(latest + "/postcards.csv") : try CodesEndToEndTests.printRows(latest + "/postcards.csv")
            #expect(rows.first == PostcardPrintFile.header)
            let cards = Array(rows.dropFirst())
            try #require(cards.count == people.count, "\(list): one postcard per case")
            for (i, c) in official.cases.enumerated() {
                let card = cards[i]
                #expect(card[1] == c.postal && card[5] == kanji[i] + "　様", "\(list): postcard \(i + 1) is not \(c.address)'s")
                #expect(card[9] == c.data, "\(list) \(c.address): data characters")
                #expect(card[10] == c.check, "\(list) \(c.address): check character")
                #expect(card[11] == official.barString(c), "\(list) \(c.address): bars")
            }
            let last = try #require(cards.last)
            #expect(last[1] == official.example.postal && last[10] == official.example.check && last[11] == official.example.bars,
                    "\(list): the header's example")
        }
    }

    /// Writes rows as CP932 CSV with CRLF (the かもめ profile's encoding), quoting where CSV needs it.
    static func writeCP932(_ rows: [[String]], to path: String) throws {
        let encoder = CP932Encoder()
        var bytes: [UInt8] = []
        for row in rows {
            let line = row.map { $0.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
                .joined(separator: ",")
            let (b, bad) = encoder.encode(line)
            #expect(bad.isEmpty, "\(line) is not CP932")
            bytes += b + [0x0D, 0x0A]
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
