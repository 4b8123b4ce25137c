import Foundation

/// kenpo-cost-notice 1 (医療費通知情報): see pipelines/formats/README.md.
public final class CostNoticeFormat: KenpoXMLDocument, HealthDocumentFormat {
    public static let formatName = "kenpo-cost-notice 1"
    static let ns = "urn:kenpo:xml:cost-notice:1"

    private var current = CostNotice()
    private var notices: [CostNotice] = []

    public static func recognises(_ root: XMLName, attributes: XMLAttributes) -> Bool {
        root.localIs("医療費通知情報") && root.namespaceIs("urn:kenpo:xml:cost-notice:1")
    }

    public required init(parser: XMLStreamParser) { super.init(parser: parser, namespace: Self.ns) }

    public override func startElement(_ name: XMLName, attributes: XMLAttributes) {
        super.startElement(name, attributes: attributes)
        if path.count == 2 && path[1] == "通知" { current = CostNotice(); current.line = parser.line }
    }

    override func leaf(_ local: String, value: String, depth: Int) {
        guard depth == 3 && path[1] == "通知" else { return }
        func yen(_ label: String) -> Int {
            guard let v = YenAmount.parse(value) else {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "\(label) '\(value)' is not an amount in whole yen (e.g. 78040 or 78,040)"))
                return 0
            }
            return v
        }
        switch local {
        case "診療年月":
            guard let m = Self.month(value) else {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "診療年月 '\(value)' is not a month (YYYY-MM or YYYYMM)")); return
            }
            current.month = m
        case "診療区分": current.category = value
        case "日数":
            guard let d = WholeNumber.parse(value) else {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "日数 '\(value)' is not a whole number")); return
            }
            current.days = d
        case "医療機関等名称": current.institution = value
        case "医療費の総額": current.totalCost = yen("医療費の総額")
        case "保険者の負担額": current.insurerPaid = yen("保険者の負担額")
        case "その他の公費の負担額": current.publicPaid = yen("その他の公費の負担額")
        case "窓口相当負担額": current.counterPaid = yen("窓口相当負担額")
        default: break
        }
    }

    override func endOf(_ local: String, depth: Int) {
        guard depth == 2 && local == "通知" else { return }
        let n = current
        let complete = !n.month.isEmpty && !n.institution.isEmpty && !n.category.isEmpty
        record(n, missing: complete ? nil : DocumentProblem(.documentIncomplete, line: n.line, "通知 needs 診療年月, 診療区分 and 医療機関等名称"),
               held: &notices) { $0.take($1, of: subject) }
    }

    override func subjectWasRead() { handOver(&notices) { $0.take($1, of: subject) } }

    public func finish() throws -> HealthDocument {
        try checkRecords(none: "the document holds no 通知")
        var d = CostNoticeDocument()
        d.subject = subject
        d.notices = notices
        return .costNotices(d)
    }

    /// "2026-04", "202604", "2026/4" → "2026-04".
    static func month(_ raw: String) -> String? {
        let s = Normalise.foldWidth(raw).trimmingCharacters(in: .whitespaces)
        var y = 0, m = 0
        let digits = s.filter(\.isNumber)
        if s.utf8.count == 6, digits.count == 6 {
            y = Int(digits.prefix(4))!; m = Int(digits.suffix(2))!
        } else {
            let parts = s.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." })
            guard parts.count == 2, parts[0].utf8.count == 4, let yy = Int(parts[0]), let mm = Int(parts[1]), parts[1].utf8.count <= 2 else { return nil }
            y = yy; m = mm
        }
        guard y >= 1900, y <= 9999, m >= 1, m <= 12 else { return nil }
        return String(format: "%04d-%02d", y, m)
    }
}
