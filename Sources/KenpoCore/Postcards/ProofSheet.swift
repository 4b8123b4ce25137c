import Foundation

/// One postcard as the proof sheet (校正見本) shows it. The code is only ever given masked.
public struct ProofPostcard: Equatable, Sendable {
    /// Postal code, `1234567` or `123-4567`; shown as `〒123-4567`.
    public var postalCode: String
    /// The address lines as they will be printed (already wrapped and CP932-prepared).
    public var addressLines: [String]
    /// The addressee's name with 様, as printed.
    public var name: String
    /// The sending insurer (健康保険組合) as printed.
    public var insurerName: String
    /// The checkup-viewing code masked but for its last characters, e.g. `****-****-2D9F`
    /// (`AccessCode.masked(keepingLast:)`).
    public var maskedCode: String
    /// The customer barcode's bar string, STC … SPC, digits 1–4 (`CustomerBarcode.bars`).
    public var barcodeBars: String

    public init(postalCode: String, addressLines: [String], name: String, insurerName: String,
                maskedCode: String, barcodeBars: String) {
        self.postalCode = postalCode
        self.addressLines = addressLines
        self.name = name
        self.insurerName = insurerName
        self.maskedCode = maskedCode
        self.barcodeBars = barcodeBars
    }
}

/// The proof sheet: an SVG drawing of the first postcards of a batch, for a person to check layout,
/// names, addresses and barcode before the print file goes to the vendor.
///
/// The drawing is in millimetres (the viewBox unit is 1 mm; `width`/`height` are given in mm, so it
/// prints at true size). Each postcard is 100 × 148 mm (通常はがき). The SVG is self-contained: no
/// external fonts, images or style sheets (text uses the generic `sans-serif` family), and all text is
/// XML-escaped.
///
/// The customer barcode is drawn to Japan Post's dimensions (郵便番号・バーコードマニュアル p12,
/// カスタマバーコードの寸法): at size a points, long bar 3.6·a/10 mm, timing bar 1.2·a/10 mm, bar
/// pitch 1.2·a/10 mm, bar width 0.6·a/10 mm, 8 ≤ a ≤ 11.5 (10 points is the reference size). The
/// semi-long (upper- or lower-half) bars are 2.4·a/10 mm: they reach from one end of the long bar to
/// the far edge of the timing bar, (3.6 − 1.2)/2 + 1.2 = 2.4 (the table gives the ratio long 6 :
/// timing 2; the semi-long length follows from the geometry rather than being quoted from the table).
/// The barcode starts 10 mm from the card's left edge, Japan Post's minimum margin; a 10-point
/// barcode is 79.8 mm long, so sizes above 10 points would cross the right-hand 10 mm margin of a
/// 100 mm card and are not offered.
public enum ProofSheet {
    /// Postcard width and height in mm.
    public static let cardWidth = 100.0
    public static let cardHeight = 148.0
    /// Gap between and around postcards on the sheet, mm.
    static let gap = 10.0

    /// Customer barcode dimensions in mm at a given point size.
    public struct BarcodeDimensions: Equatable, Sendable {
        public let longBar: Double
        public let semiLongBar: Double
        public let timingBar: Double
        public let barWidth: Double
        public let pitch: Double

        /// Dimensions at `points` (clamped to 8…10, see `ProofSheet`).
        public init(points: Double) {
            let a = min(10, max(8, points)) / 10
            longBar = 3.6 * a
            semiLongBar = 2.4 * a
            timingBar = 1.2 * a
            barWidth = 0.6 * a
            pitch = 1.2 * a
        }
    }

    /// The SVG of `postcards`, laid out left to right, `perRow` to a row.
    /// `barcodePoints` is the barcode size (8–10 points; 10 is Japan Post's reference size).
    public static func svg(postcards: [ProofPostcard], barcodePoints: Double = 10, perRow: Int = 4) -> String {
        let columns = max(1, min(perRow, postcards.count))
        let rows = max(1, (postcards.count + columns - 1) / columns)
        let width = Double(columns) * cardWidth + Double(columns + 1) * gap
        let height = Double(rows) * cardHeight + Double(rows + 1) * gap
        let dims = BarcodeDimensions(points: barcodePoints)

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(mm(width))mm" height="\(mm(height))mm" viewBox="0 0 \(mm(width)) \(mm(height))" font-family="sans-serif">
        <title>kenpo proof sheet: \(postcards.count) postcard\(postcards.count == 1 ? "" : "s")</title>
        <rect x="0" y="0" width="\(mm(width))" height="\(mm(height))" fill="#eeeeee"/>

        """
        if postcards.isEmpty {
            out += "<text x=\"\(mm(gap))\" y=\"\(mm(gap + 10))\" font-size=\"5\">(no postcards)</text>\n"
        }
        for (index, card) in postcards.enumerated() {
            let x = gap + Double(index % columns) * (cardWidth + gap)
            let y = gap + Double(index / columns) * (cardHeight + gap)
            out += postcard(card, number: index + 1, x: x, y: y, dims: dims)
        }
        out += "</svg>\n"
        return out
    }

    private static func postcard(_ card: ProofPostcard, number: Int, x: Double, y: Double, dims: BarcodeDimensions) -> String {
        var s = "<g class=\"postcard\" id=\"postcard-\(number)\" transform=\"translate(\(mm(x)) \(mm(y)))\">\n"
        s += "<rect class=\"card\" x=\"0\" y=\"0\" width=\"\(mm(cardWidth))\" height=\"\(mm(cardHeight))\" fill=\"#ffffff\" stroke=\"#999999\" stroke-width=\"0.2\"/>\n"
        s += text("〒" + formattedPostalCode(card.postalCode), x: 10, y: 14, size: 5)
        var baseline = 28.0
        for line in card.addressLines {
            s += text(line, x: 10, y: baseline, size: 4.5)
            baseline += 6.5
        }
        let barcodeTop = baseline - 6.5 + 4
        s += barcode(card.barcodeBars, x: 10, y: barcodeTop, dims: dims)
        s += text(card.name, x: 14, y: barcodeTop + dims.longBar + 12, size: 7)
        s += text("健診閲覧コード　" + card.maskedCode, x: 10, y: 124, size: 4)
        s += text(card.insurerName, x: 10, y: 138, size: 4)
        s += "</g>\n"
        return s
    }

    /// One `<rect class="bar">` per bar digit 1–4; any other character draws nothing.
    static func barcode(_ bars: String, x: Double, y: Double, dims: BarcodeDimensions) -> String {
        var s = "<g class=\"barcode\" fill=\"#000000\">\n"
        var position = 0
        for bar in bars {
            let top: Double, length: Double
            switch bar {
            case "1": top = 0; length = dims.longBar
            case "2": top = 0; length = dims.semiLongBar
            case "3": top = dims.longBar - dims.semiLongBar; length = dims.semiLongBar
            case "4": top = (dims.longBar - dims.timingBar) / 2; length = dims.timingBar
            default: continue
            }
            let left = x + Double(position) * dims.pitch
            s += "<rect class=\"bar\" x=\"\(mm(left))\" y=\"\(mm(y + top))\" width=\"\(mm(dims.barWidth))\" height=\"\(mm(length))\"/>\n"
            position += 1
        }
        s += "</g>\n"
        return s
    }

    private static func text(_ content: String, x: Double, y: Double, size: Double) -> String {
        "<text x=\"\(mm(x))\" y=\"\(mm(y))\" font-size=\"\(mm(size))\">\(xmlEscaped(content))</text>\n"
    }

    private static func formattedPostalCode(_ code: String) -> String {
        let digits = code.filter(\.isASCII).filter(\.isNumber)
        guard digits.count == 7 else { return code }
        return String(digits.prefix(3)) + "-" + String(digits.suffix(4))
    }

    /// Text safe in XML character data and attribute values: & < > " ' escaped; characters XML 1.0
    /// forbids (control characters other than tab, line feed, carriage return; U+FFFE, U+FFFF) become
    /// U+FFFD, so one bad byte in an address cannot make the whole sheet unreadable.
    public static func xmlEscaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x26: out += "&amp;"
            case 0x3C: out += "&lt;"
            case 0x3E: out += "&gt;"
            case 0x22: out += "&quot;"
            case 0x27: out += "&apos;"
            case 0x09, 0x0A, 0x0D: out.unicodeScalars.append(scalar)
            case 0x00...0x1F, 0xFFFE, 0xFFFF: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A length in mm: at most 3 decimals, no trailing zeros (`79.8`, `0.48`, `10`).
    static func mm(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let sign = thousandths < 0 ? "-" : ""
        let magnitude = abs(thousandths)
        var fraction = String(magnitude % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return sign + String(magnitude / 1000) + (fraction.isEmpty ? "" : "." + fraction)
    }
}
