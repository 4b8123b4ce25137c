import Foundation

/// One postcard (健診閲覧コードのお知らせはがき) laid out for printing: text already CP932-prepared and
/// wrapped, barcode computed. Holds the plain code: it goes to the print file and nowhere else.
public struct PostcardLayout: Sendable {
    public var sequence: Int
    /// 7 digits.
    public var postalCode: String
    /// Up to `PostcardLayout.addressLines` lines of at most `addressColumns` display columns.
    public var addressLines: [String]
    /// Name with 様.
    public var name: String
    public var insurerName: String
    public var code: AccessCode
    public var reissue: Bool
    public var barcode: CustomerBarcode

    /// Address block of the card: 3 lines of 30 display columns (15 full-width characters), the
    /// address block of a 100 mm postcard at about 10.5 pt.
    public static let addressLines = 3
    public static let addressColumns = 30
    /// The name line: 30 columns including 　様.
    public static let nameColumns = 30

    public var proof: ProofPostcard {
        ProofPostcard(postalCode: postalCode, addressLines: addressLines, name: name, insurerName: insurerName,
                      maskedCode: code.masked(keepingLast: 4), barcodeBars: barcode.bars)
    }

    /// Why a postcard cannot be laid out.
    public struct Problem: Error {
        public var reason: RejectReason
        public var detail: String
    }

    /// Prepares name and address for CP932, wraps the address, computes the barcode. `policy` is the
    /// caller's (one per thread).
    public static func make(sequence: Int, postalCode: String, address1: String, address2: String, name: String,
                            insurerName: String, code: AccessCode, reissue: Bool, policy: CP932Policy) -> Result<PostcardLayout, Problem> {
        let digits = Normalise.foldWidth(postalCode).filter { $0.isASCII && $0.isNumber }
        guard digits.count == 7, Normalise.foldWidth(postalCode).allSatisfy({ $0.isNumber || $0 == "-" || $0 == "〒" || $0 == " " }) else {
            return .failure(Problem(reason: .addressUnusable, detail: "postal code '\(postalCode)' is not 7 digits"))
        }
        let a1 = Normalise.trim(address1), a2 = Normalise.trim(address2)
        guard !(a1.isEmpty && a2.isEmpty) else { return .failure(Problem(reason: .addressUnusable, detail: "the address is empty")) }
        let preparedAddress: String
        switch policy.prepare(a2.isEmpty ? a1 : (a1.isEmpty ? a2 : a1 + "\n" + a2), lineBreaks: true) {
        case .success(let s): preparedAddress = s
        case .failure(let u): return .failure(Problem(reason: .addressNotPrintable, detail: "address: \(u.description)"))
        }
        let preparedName: String
        switch policy.prepare(Normalise.trim(name)) {
        case .success(let s): preparedName = s
        case .failure(let u): return .failure(Problem(reason: .nameNotPrintable, detail: "name: \(u.description)"))
        }
        guard !preparedName.isEmpty else { return .failure(Problem(reason: .nameNotPrintable, detail: "the name is empty")) }
        let fullName = preparedName + "　様"
        guard DisplayWidth.columns(of: fullName) <= nameColumns else {
            return .failure(Problem(reason: .nameNotPrintable, detail: "the name with 様 is \(DisplayWidth.columns(of: fullName)) columns; the name line holds \(nameColumns)"))
        }
        guard let lines = DisplayWidth.wrap(preparedAddress, columns: addressColumns, maxLines: addressLines) else {
            return .failure(Problem(reason: .addressUnusable, detail: "the address does not fit in \(addressLines) lines of \(addressColumns) columns"))
        }
        let barcode: CustomerBarcode
        do {
            barcode = try CustomerBarcode.encode(postalCode: digits, address: barcodeAddress(preparedAddress))
        } catch {
            return .failure(Problem(reason: .addressUnusable, detail: "\(error)"))
        }
        return .success(PostcardLayout(sequence: sequence, postalCode: digits, addressLines: lines, name: fullName,
                                       insurerName: insurerName, code: code, reissue: reissue, barcode: barcode))
    }

    /// The address the barcode is computed from: the address as prepared for printing (住所1 and 住所2
    /// joined by a line break), **before** it is wrapped into print lines, with each line break read as
    /// a space. A space is not extracted, so 住所1 / 住所2 and line breaks the sender wrote stay
    /// separators (`2-8-1` + `101` is `2-8-1-101`, not `2-8-1101`); a break the wrapping adds is not
    /// one: it may fall between a kanji numeral and its 丁目/番/地割 (`第二十一` | `地割`) or inside a
    /// number, where a space would change the address number.
    public static func barcodeAddress(_ preparedAddress: String) -> String {
        preparedAddress.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).joined(separator: " ")
    }
}

/// The vendor's print file (印刷データ), `postcards.csv`: one row per postcard, CP932 by default
/// (UTF-8 on request), CRLF, RFC 4180, owner-only. Every cell passes `SpreadsheetSafe.neutralise`.
///
/// Columns: 連番 (sequence), 郵便番号 (NNN-NNNN), 住所1, 住所2, 住所3 (wrapped address lines), 宛名
/// (name + 様), 保険者名, 閲覧コード (XXXX-XXXX-XXXX), 再発行 (再発行 or empty), バーコードデータ (the 20
/// data characters as Japan Post writes them, e.g. `26300233-30-8-403CC4CC4CC4`), チェックデジット
/// (the check character), バーパターン (STC … SPC, digits 1–4).
///
/// One exception to the neutralising: the check character column. It holds one symbol of Japan
/// Post's closed set (`0`–`9`, `-`, `CC1`–`CC8`); a lone `-` is not a formula in Excel or LibreOffice,
/// and `'-` would be a wrong check character for the vendor's barcode software.
public final class PostcardPrintFile {
    public static let header = ["連番", "郵便番号", "住所1", "住所2", "住所3", "宛名", "保険者名", "閲覧コード", "再発行",
                                "バーコードデータ", "チェックデジット", "バーパターン"]
    public enum Encoding: String, Sendable { case cp932 = "CP932", utf8 = "UTF-8" }

    public let path: String
    public let encoding: Encoding
    private let writer: CSVWriter
    private let encoder = CP932Encoder()
    public private(set) var firstSequence = 0
    public private(set) var lastSequence = 0

    public init(path: String, encoding: Encoding) throws {
        self.path = path
        self.encoding = encoding
        writer = try CSVWriter(path: path)
        try write(Self.header)
        writer.endRow()   // counted as a row by the writer; `close` takes it off
    }

    /// The cells of one postcard, before neutralising.
    public static func cells(_ p: PostcardLayout) -> [String] {
        let lines = p.addressLines + Array(repeating: "", count: max(0, PostcardLayout.addressLines - p.addressLines.count))
        return [String(p.sequence), String(p.postalCode.prefix(3)) + "-" + String(p.postalCode.suffix(4))]
            + lines + [p.name, p.insurerName, p.code.grouped, p.reissue ? "再発行" : "",
                       p.barcode.dataString, p.barcode.checkCharacter.description, p.barcode.bars]
    }

    public func add(_ p: PostcardLayout) throws {
        try write(Self.cells(p))
        writer.endRow()
        if firstSequence == 0 { firstSequence = p.sequence }
        lastSequence = p.sequence
    }

    /// Column of the check character (0-based), written without neutralising (see above).
    static let checkColumn = 10

    private func write(_ cells: [String]) throws {
        for (i, cell) in cells.enumerated() {
            let safe = i == Self.checkColumn && cell == "-" ? cell : SpreadsheetSafe.neutralise(cell)
            switch encoding {
            case .utf8: writer.field(safe)
            case .cp932:
                let (bytes, bad) = encoder.encode(safe)
                guard bad.isEmpty else {
                    throw KenpoError.invariant("a print-file cell holds a character CP932 cannot carry after preparation")
                }
                bytes.withUnsafeBytes { writer.field(bytes: $0) }
            }
        }
    }

    /// Closes the file; `rows` counts postcards (the header is not one).
    public func close() throws -> OutputFile {
        var f = try writer.close()
        f.rows -= 1
        return f
    }
}

/// The vendor manifest (`postcards.manifest.json`) next to the print file.
public struct VendorManifest: Codable, Equatable, Sendable {
    public var batchId: String
    public var kind: String
    public var runId: String
    public var printFile: String
    public var encoding: String
    public var records: Int
    public var firstSequence: Int
    public var lastSequence: Int
    public var bytes: Int
    public var sha256: String

    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        return Array(try e.encode(self)) + [0x0A]
    }

    public static func decode(path: String) throws -> VendorManifest {
        guard let data = FileManager.default.contents(atPath: path) else { throw KenpoError.io(path: path, message: "cannot read") }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(VendorManifest.self, from: data)
    }
}
