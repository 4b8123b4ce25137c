import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import KenpoCore

@Suite("ProofSheet")
struct ProofSheetTests {
    static func card(name: String = "山田太郎様", address: [String] = ["千葉市稲毛区緑町3丁目30-8", "郵便ビル403号"]) throws -> ProofPostcard {
        let barcode = try CustomerBarcode.encode(postalCode: "263-0023", address: address.joined(separator: "　"))
        return ProofPostcard(postalCode: "2630023", addressLines: address, name: name, insurerName: "かもめ健康保険組合",
                             maskedCode: "****-****-2D92", barcodeBars: barcode.bars)
    }

    static func count(_ needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    /// The attribute values of every `<rect class="bar" …/>`.
    static func bars(in svg: String) -> [(x: Double, y: Double, width: Double, height: Double)] {
        svg.components(separatedBy: "<rect class=\"bar\"").dropFirst().map { chunk in
            func value(_ name: String) -> Double {
                let after = chunk.components(separatedBy: " \(name)=\"")[1]
                return Double(after.prefix { $0 != "\"" })!
            }
            return (value("x"), value("y"), value("width"), value("height"))
        }
    }

    @Test("one bar rectangle per bar digit, on a 1.2 mm pitch, 0.6 mm wide, at 10 points")
    func barRectangles() throws {
        let card = try Self.card()
        let svg = ProofSheet.svg(postcards: [card])
        let rects = Self.bars(in: svg)
        #expect(card.barcodeBars.count == 67)
        #expect(rects.count == card.barcodeBars.count)
        #expect(Self.count("<rect ", in: svg) == 67 + 2)   // bars + sheet background + card outline
        for (i, r) in rects.enumerated() {
            #expect(abs(r.width - 0.6) < 1e-9)
            #expect(abs(r.x - (10 + 1.2 * Double(i))) < 1e-6)
        }
        // Heights by bar kind: 1 long 3.6, 2 and 3 semi-long 2.4, 4 timing 1.2; 2 hangs from the top,
        // 3 stands on the bottom, 4 is centred.
        let top = rects.map(\.y).min()!
        for (bar, r) in zip(card.barcodeBars, rects) {
            switch bar {
            case "1": #expect(abs(r.height - 3.6) < 1e-9 && abs(r.y - top) < 1e-9)
            case "2": #expect(abs(r.height - 2.4) < 1e-9 && abs(r.y - top) < 1e-9)
            case "3": #expect(abs(r.height - 2.4) < 1e-9 && abs(r.y - (top + 1.2)) < 1e-9)
            case "4": #expect(abs(r.height - 1.2) < 1e-9 && abs(r.y - (top + 1.2)) < 1e-9)
            default: Issue.record("bar \(bar)")
            }
        }
        // The whole barcode: 66 pitches + one bar = 79.8 mm, inside the 10 mm side margins.
        #expect(abs(rects.last!.x + rects.last!.width - rects.first!.x - 79.8) < 1e-6)
    }

    @Test("8-point barcode: every dimension × 0.8; sizes are kept within 8…10 points")
    func sizes() {
        let eight = ProofSheet.BarcodeDimensions(points: 8)
        #expect(abs(eight.longBar - 2.88) < 1e-9 && abs(eight.semiLongBar - 1.92) < 1e-9)
        #expect(abs(eight.timingBar - 0.96) < 1e-9 && abs(eight.barWidth - 0.48) < 1e-9 && abs(eight.pitch - 0.96) < 1e-9)
        #expect(ProofSheet.BarcodeDimensions(points: 12) == ProofSheet.BarcodeDimensions(points: 10))
        #expect(ProofSheet.BarcodeDimensions(points: 5) == ProofSheet.BarcodeDimensions(points: 8))
    }

    @Test("text is XML-escaped; characters XML forbids are replaced")
    func escaping() throws {
        let card = try Self.card(name: "<script>&\"'様", address: ["A&B <ビル>", "bad\u{0001}char"])
        let svg = ProofSheet.svg(postcards: [card])
        #expect(svg.contains("&lt;script&gt;&amp;&quot;&apos;様"))
        #expect(svg.contains("A&amp;B &lt;ビル&gt;"))
        #expect(svg.contains("bad\u{FFFD}char"))
        #expect(!svg.contains("<script>"))
        #expect(!svg.unicodeScalars.contains { $0.value < 0x20 && $0.value != 0x0A })
        #expect(ProofSheet.xmlEscaped("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f")
    }

    @Test("a well-formed, self-contained SVG in millimetres")
    func document() throws {
        let cards = try (0..<5).map { try Self.card(name: "山田\($0)様") }
        let svg = ProofSheet.svg(postcards: cards)
        // 4 per row: 4·100 + 5·10 = 450 mm wide; 2 rows: 2·148 + 3·10 = 326 mm high.
        #expect(svg.contains("width=\"450mm\" height=\"326mm\" viewBox=\"0 0 450 326\""))
        #expect(Self.count("<g class=\"postcard\"", in: svg) == 5)
        #expect(Self.bars(in: svg).count == 5 * 67)
        #expect(svg.contains("〒263-0023"))
        #expect(svg.contains("健診閲覧コード　****-****-2D92"))
        #expect(svg.contains("かもめ健康保険組合"))
        #expect(!svg.contains("href"))
        #expect(!svg.contains("url("))
        #expect(!svg.contains("@font-face"))
        // Parses as XML.
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(String(describing: parser.parserError))")
    }

    @Test("no postcards: still a valid document")
    func empty() {
        let svg = ProofSheet.svg(postcards: [])
        #expect(svg.contains("(no postcards)"))
        #expect(XMLParser(data: Data(svg.utf8)).parse())
    }

    @Test("characters other than 1–4 in a bar string draw nothing")
    func badBars() {
        let card = ProofPostcard(postalCode: "1000001", addressLines: [], name: "様", insurerName: "",
                                 maskedCode: "", barcodeBars: "13x4\n31")
        #expect(Self.bars(in: ProofSheet.svg(postcards: [card])).count == 5)
    }
}
