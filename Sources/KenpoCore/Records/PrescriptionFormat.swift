import Foundation

/// kenpo-prescription 1 (薬剤情報): see pipelines/formats/README.md.
public final class PrescriptionFormat: KenpoXMLDocument, HealthDocumentFormat {
    public static let formatName = "kenpo-prescription 1"
    static let ns = "urn:kenpo:xml:prescription:1"

    private var dispensing = Dispensing()
    private var drug = DispensedDrug()
    private var dispensings: [Dispensing] = []

    public static func recognises(_ root: XMLName, attributes: XMLAttributes) -> Bool {
        root.localIs("薬剤情報") && root.namespaceIs("urn:kenpo:xml:prescription:1")
    }

    public required init(parser: XMLStreamParser) { super.init(parser: parser, namespace: Self.ns) }

    public override func startElement(_ name: XMLName, attributes: XMLAttributes) {
        super.startElement(name, attributes: attributes)
        if path.count == 2 && path[1] == "調剤" { dispensing = Dispensing(); dispensing.line = parser.line }
        if path.count == 3 && path[1] == "調剤" && path[2] == "医薬品" { drug = DispensedDrug() }
    }

    override func leaf(_ local: String, value: String, depth: Int) {
        guard path.count >= 2, path[1] == "調剤" else { return }
        if depth == 3 {
            switch local {
            case "調剤年月日":
                guard case .success(let d) = JapaneseDate.parse(value, styles: [.yyyymmdd, .iso]) else {
                    fail(DocumentProblem(.documentIncomplete, line: parser.line, "調剤年月日 '\(value)' is not a date (YYYY-MM-DD)")); return
                }
                dispensing.date = d.iso
            case "医療機関名称": dispensing.institution = value
            case "薬局名称": dispensing.pharmacy = value
            default: break
            }
        } else if depth == 4 && path[2] == "医薬品" {
            switch local {
            case "医薬品コード": drug.code = Normalise.foldWidth(value)
            case "薬剤名": drug.name = value
            case "成分名": drug.ingredient = value
            case "用量":
                let v = Normalise.foldWidth(value)
                guard DecimalText.isDecimal(v) else {
                    fail(DocumentProblem(.documentIncomplete, line: parser.line, "用量 '\(value)' is not a number")); return
                }
                drug.dose = v
            case "単位": drug.unit = value
            case "用法": drug.directions = value
            case "日数":
                guard let d = WholeNumber.parse(value) else {
                    fail(DocumentProblem(.documentIncomplete, line: parser.line, "日数 '\(value)' is not a whole number")); return
                }
                drug.days = d
            default: break
            }
        }
    }

    override func endOf(_ local: String, depth: Int) {
        if depth == 3 && local == "医薬品" && path[1] == "調剤" { dispensing.drugs.append(drug) }
        guard depth == 2 && local == "調剤" else { return }
        let d = dispensing
        record(d, missing: Self.missing(d), held: &dispensings) { $0.take($1, of: subject) }
    }

    /// What a dispensing lacks, if anything.
    private static func missing(_ d: Dispensing) -> DocumentProblem? {
        guard !d.date.isEmpty, !d.institution.isEmpty || !d.pharmacy.isEmpty, !d.drugs.isEmpty else {
            return DocumentProblem(.documentIncomplete, line: d.line, "調剤 needs 調剤年月日, 医療機関名称 or 薬局名称, and at least one 医薬品")
        }
        if d.drugs.contains(where: { $0.code.isEmpty && $0.name.isEmpty }) {
            return DocumentProblem(.documentIncomplete, line: d.line, "医薬品 needs 医薬品コード or 薬剤名")
        }
        return nil
    }

    override func subjectWasRead() { handOver(&dispensings) { $0.take($1, of: subject) } }

    public func finish() throws -> HealthDocument {
        try checkRecords(none: "the document holds no 調剤")
        var doc = PrescriptionDocument()
        doc.subject = subject
        doc.dispensings = dispensings
        return .prescriptions(doc)
    }
}

/// Decimal text as lab values and doses are given: digits with at most one point, optional sign.
enum DecimalText {
    static func isDecimal(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isDecimal(UnsafeRawBufferPointer($0)) }
    }

    static func isDecimal(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var u = bytes[...]
        if u.first == 0x2D || u.first == 0x2B { u = u.dropFirst() }
        guard !u.isEmpty else { return false }
        var points = 0, digits = 0
        for c in u {
            if c == 0x2E { points += 1 } else if c >= 0x30 && c <= 0x39 { digits += 1 } else { return false }
        }
        return points <= 1 && digits > 0 && u.first != 0x2E && u.last != 0x2E
    }
}
