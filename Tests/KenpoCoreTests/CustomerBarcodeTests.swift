import Foundation
import Testing
import KenpoCore

@Suite("CustomerBarcode")
struct CustomerBarcodeTests {
    /// Japan Post's worked examples (郵便番号・バーコードマニュアル p25), copied from
    /// ../shared/reference/customer-barcode-cases.tsv: postal code, address, data characters + check.
    static let official: [(postal: String, address: String, code: String)] = [
        ("263-0023", "千葉市稲毛区緑町3丁目30-8　郵便ビル403号", "26300233-30-8-403CC4CC4CC45"),
        ("014-0113", "秋田県大仙市堀見内　南田茂木　添60-1", "014011360-1CC4CC4CC4CC4CC4CC4CC4CC4CC4CC8"),
        ("110-0016", "東京都台東区台東5-6-3　ABCビル10F", "11000165-6-3-10CC4CC4CC4CC4CC49"),
        ("060-0906", "北海道札幌市東区北六条東4丁目　郵便センター6号館", "06009064-6CC4CC4CC4CC4CC4CC4CC4CC4CC4CC49"),
        ("065-0006", "北海道札幌市東区北六条東8丁目　郵便センター10号館", "06500068-10CC4CC4CC4CC4CC4CC4CC4CC4CC49"),
        ("407-0033", "山梨県韮崎市龍岡町下條南割　韮崎400", "4070033400CC4CC4CC4CC4CC4CC4CC4CC4CC4CC4-"),
        ("198-0036", "東京都青梅市河辺町十一丁目六番地一号　郵便タワー601", "198003611-6-1-601CC4CC4CC4CC8"),
        ("027-0203", "岩手県宮古市大字津軽石第二十一地割大淵川480", "027020321-480CC4CC4CC4CC4CC4CC4CC4CC5"),
        ("590-0016", "大阪府堺市堺区中田出井町四丁六番十九号", "59000164-6-19CC4CC4CC4CC4CC4CC4CC4CC2"),
        ("080-0831", "北海道帯広市稲田町南七線　西28", "08008317-28CC4CC4CC4CC4CC4CC4CC4CC4CC4CC7"),
        ("317-0055", "茨城県日立市宮田町6丁目7-14　ABCビル2F", "31700556-7-14-2CC4CC4CC4CC4CC4CC1"),
        ("064-0804", "札幌市中央区南四条西29丁目1524-23　第2郵便ハウス501", "064080429-1524-23-2-3"),
    ]

    /// The bar table from the TSV header, used here only to read bar strings back.
    static let barsOfSymbol: [String: String] = [
        "1": "114", "2": "132", "3": "312", "4": "123", "5": "141", "6": "321", "7": "213", "8": "231",
        "9": "411", "0": "144", "-": "414", "CC1": "324", "CC2": "342", "CC3": "234", "CC4": "432",
        "CC5": "243", "CC6": "423", "CC7": "441", "CC8": "111",
    ]

    /// Reads a bar string back to Japan Post's notation (STC/SPC stripped), independently of the encoder.
    static func decode(_ bars: String) -> String? {
        guard bars.hasPrefix("13"), bars.hasSuffix("31"), (bars.count - 4) % 3 == 0 else { return nil }
        let symbolOfBars = Dictionary(uniqueKeysWithValues: barsOfSymbol.map { ($1, $0) })
        let body = Array(bars.dropFirst(2).dropLast(2))
        var out = ""
        for i in stride(from: 0, to: body.count, by: 3) {
            guard let s = symbolOfBars[String(body[i..<i + 3])] else { return nil }
            out += s
        }
        return out
    }

    @Test("every official Japan Post case: data characters and check character", arguments: 0..<12)
    func officialCases(_ index: Int) throws {
        let c = Self.official[index]
        let barcode = try CustomerBarcode.encode(postalCode: c.postal, address: c.address)
        #expect(barcode.code == c.code, "\(c.address)")
        #expect(barcode.dataCharacters.count == 20)
        #expect(barcode.dataString + barcode.checkCharacter.description == c.code)
        #expect(barcode.postalCode == c.postal.replacingOccurrences(of: "-", with: ""))
    }

    @Test("every official case: the bar string reads back to the official code", arguments: 0..<12)
    func officialBars(_ index: Int) throws {
        let c = Self.official[index]
        let barcode = try CustomerBarcode.encode(postalCode: c.postal, address: c.address)
        #expect(barcode.bars.count == 67)
        #expect(barcode.bars.allSatisfy { "1234".contains($0) })
        #expect(Self.decode(barcode.bars) == c.code)
    }

    @Test("the address numbers of the official cases", arguments: [
        (0, "3-30-8-403"), (1, "60-1"), (2, "5-6-3-10"), (3, "4-6"), (4, "8-10"), (5, "400"),
        (6, "11-6-1-601"), (7, "21-480"), (8, "4-6-19"), (9, "7-28"), (10, "6-7-14-2"),
        (11, "29-1524-23-2-501"),
    ])
    func officialAddressNumbers(_ c: (Int, String)) throws {
        let barcode = try CustomerBarcode.encode(postalCode: Self.official[c.0].postal, address: Self.official[c.0].address)
        #expect(barcode.addressNumber == c.1)
    }

    @Test("the TSV header's bar string example: 154-0023, 15400233-16-4-205, check 6")
    func headerExample() throws {
        let barcode = try CustomerBarcode.encode(postalCode: "154-0023", address: "3-16-4-205")
        #expect(barcode.dataString == "15400233-16-4-205CC4CC4CC4")
        #expect(barcode.checkCharacter == .digit(6))
        #expect(barcode.bars == "1311414112314414413231231241411432141412341413214414143243243232131")
    }

    @Test("the manual's other worked examples (pp. 17, 19, 20)", arguments: [
        ("東京都千代田区霞が関1丁目3番2号　郵便プラザ503室", "1-3-2-503"),   // p17
        ("東3丁目-20-5　郵便・A&bコーポB604号", "3-20-5B604"),              // p19: & ・ removed, AB a run, hyphen by a letter dropped
        ("十一丁目六番地一号　郵便タワー601", "11-6-1-601"),
        ("七線　西28", "7-28"),
        ("6丁目7-14　ABCビル2F", "6-7-14-2"),                                // F after a digit at the end: dropped
        ("6丁目7-14　ABCビル2F201号室", "6-7-14-2-201"),                     // F with more to come: a hyphen
        ("9丁目7-6　郵便シティA棟1F1号", "9-7-6A1-1"),
        ("綾部6-7　LプラザB106", "6-7LB106"),                                // letters meeting after hyphen removal stay
        ("3丁目80-25　J1ビル2-B", "3-80-25J1-2B"),                           // p20
    ])
    func manualExamples(_ c: (String, String)) {
        #expect(CustomerBarcode.addressNumber(from: c.0) == c.1)
    }

    @Test("p17: 100-0013 with 1-3-2-503 has check character 9")
    func page17() throws {
        let barcode = try CustomerBarcode.encode(postalCode: "100-0013", address: "東京都千代田区霞が関1丁目3番2号　郵便プラザ503室")
        #expect(barcode.code == "10000131-3-2-503CC4CC4CC4CC49")
    }

    @Test("p20: a letter cut at the 20th character keeps only its control code")
    func page20() throws {
        let barcode = try CustomerBarcode.encode(postalCode: "910-0067", address: "福井県福井市新田塚3丁目80-25　J1ビル2-B")
        #expect(barcode.dataString == "91000673-80-25CC191-2CC1")
        #expect(barcode.dataCharacters.last == .control(1))
        #expect(barcode.dataCharacters.count == 20)
    }

    @Test("extraction rules", arguments: [
        ("１丁目２番３号", "1-2-3"),                 // full-width digits
        ("1－2－3", "1-2-3"),                       // full-width hyphen-minus
        ("1ー2ー3", "1-2-3"),                       // prolonged sound mark used as a hyphen
        ("1‐2―3−4", "1-2-3-4"),                    // hyphen, horizontal bar, minus sign
        ("1の2の3", "1-2-3"),
        ("一ノ二番", "1-2"),
        ("一ﾉ二番", "1-2"),                         // half-width ノ
        ("一ノ二", "1"),                            // 二 is before no marker: it stays kanji
        ("二〇三号", "203"),                         // kanji digits without 十: digit by digit
        ("千二百三十四番地", "1234"),
        ("百番", "100"),
        ("十丁目", "10"),
        ("二十地割", "20"),
        ("三十線", "30"),
        ("北六条西四丁目", "4"),                     // 六 before 条 is not converted
        ("四日市1", "1"),                          // kanji numerals not before a marker stay kanji
        ("八地1", "1"),                            // 地 without 割 is no marker: 八 stays kanji
        ("1--2", "1-2"),                           // hyphens collapse
        ("-1-2-", "1-2"),                          // no leading or trailing hyphen
        ("5b", "5B"),                              // lower case letter
        ("5ｂ", "5B"),                             // full-width lower case letter
        ("2F", "2"),                               // floor
        ("F2", "F2"),                              // F not after a digit is a letter
        ("2階3号", "2-3"),
        ("A-1", "A1"),
        ("1 A 2", "1A2"),
        ("1 AB 2", "1-2"),                         // two letters: not extracted, a separator
        ("1/2", "12"),                             // slash removed and closed up
        ("1.2", "12"),
        ("1&2", "12"),
        ("1・2", "12"),
        ("1･2", "12"),
        ("郵便ビル", ""),
        ("", ""),
    ])
    func rules(_ c: (String, String)) {
        #expect(CustomerBarcode.addressNumber(from: c.0) == c.1, "\(c.0)")
    }

    @Test("letters encode as control code + digit", arguments: [
        ("A", "CC10"), ("J", "CC19"), ("K", "CC20"), ("T", "CC29"), ("U", "CC30"), ("Z", "CC35"),
    ])
    func letters(_ c: (String, String)) throws {
        let barcode = try CustomerBarcode.encode(postalCode: "1000001", address: "1" + c.0)
        #expect(barcode.dataString.hasPrefix("10000011" + c.1))
    }

    @Test("no address number: 13 × CC4")
    func emptyAddressNumber() throws {
        let barcode = try CustomerBarcode.encode(postalCode: "1000001", address: "東京都千代田区千代田")
        #expect(barcode.addressNumber == "")
        #expect(barcode.dataString == "1000001" + String(repeating: "CC4", count: 13))
        // 1 + 1 + 13·14 = 184 = 9·19 + 13 → check 6
        #expect(barcode.checkCharacter == .digit(6))
    }

    @Test("check character values round-trip", arguments: 0...18)
    func checkValues(_ v: Int) {
        let s = CustomerBarcode.Symbol(value: v)
        #expect(s?.value == v)
        #expect(s.map { Self.barsOfSymbol[$0.description] == $0.bars } == true)
    }

    @Test("postal codes", arguments: [
        ("263-0023", "2630023" as String?), ("2630023", "2630023"), ("〒263-0023", "2630023"),
        ("２６３－００２３", "2630023"), (" 263 0023 ", "2630023"), ("263ー0023", "2630023"),
        ("263-002", nil), ("26300234", nil), ("abc-defg", nil), ("", nil), ("263_0023", nil),
    ])
    func postalCodes(_ c: (String, String?)) {
        let result = try? CustomerBarcode.encode(postalCode: c.0, address: "1")
        #expect(result?.postalCode == c.1)
        if c.1 == nil {
            #expect(throws: InvalidPostalCode(text: c.0)) { try CustomerBarcode.encode(postalCode: c.0, address: "1") }
        }
    }
}
