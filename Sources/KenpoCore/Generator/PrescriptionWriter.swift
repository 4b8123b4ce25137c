import Foundation

/// One 調剤 of a prescription file: date, prescribing institution, pharmacy (nil: dispensed in the
/// hospital, 薬局名称 left out), drugs in order.
struct DispensingLine {
    struct Drug {
        var code: String
        var name: String
        /// 成分名; nil: not written.
        var ingredient: String?
        /// 用量, decimal text as given; empty: not written.
        var dose: String
        var unit: String
        var directions: String
        var days: Int
    }
    var date: CalendarDate
    var institution: String
    var pharmacy: String?
    var drugs: [Drug]
}

/// Writes a member's dispensings as kenpo-prescription version 1
/// (pipelines/formats/kenpo-prescription-v1.xml): root `薬剤情報` in `urn:kenpo:xml:prescription:1`,
/// one `調剤` per dispensing (薬局名称 left out for drugs dispensed in the hospital), one `医薬品` per drug.
/// The generator and the member export both write through `render(_:_:style:)`.
final class PrescriptionWriter {
    private var base = KenpoXMLWriterBase()

    func render(_ subject: HealthRecordSubject, _ dispensings: [CareHistory.Dispensing], style: KenpoFileStyle) -> [UInt8] {
        render(KenpoInsured(subject, style), dispensings.map { d in
            DispensingLine(date: d.date, institution: d.prescriber, pharmacy: d.pharmacy, drugs: d.drugs.map { line in
                let drug = CareCatalog.drugs[line.drug]
                return DispensingLine.Drug(code: drug.code, name: drug.name, ingredient: drug.ingredient, dose: drug.dose,
                                           unit: drug.unit, directions: drug.directions, days: line.days)
            })
        }, style: style)
    }

    func render(_ insured: KenpoInsured, _ dispensings: [DispensingLine], style: KenpoFileStyle) -> [UInt8] {
        base.begin(style)
        base.x.raw("<薬剤情報 xmlns=\"urn:kenpo:xml:prescription:1\" 形式=\"kenpo-prescription\" 版=\"1\">")
        base.insured(insured, style)
        for d in dispensings {
            base.x.newline(1); base.x.raw("<調剤>")
            base.x.newline(2); base.x.raw("<調剤年月日>"); base.date(d.date, style); base.x.raw("</調剤年月日>")
            base.leaf(2, "<医療機関名称>", d.institution, "</医療機関名称>")
            if let p = d.pharmacy { base.leaf(2, "<薬局名称>", p, "</薬局名称>") }
            for drug in d.drugs {
                base.x.newline(2); base.x.raw("<医薬品>")
                base.leaf(3, "<医薬品コード>", drug.code, "</医薬品コード>")
                base.leaf(3, "<薬剤名>", drug.name, "</薬剤名>")
                if let ingredient = drug.ingredient { base.leaf(3, "<成分名>", ingredient, "</成分名>") }
                if !drug.dose.isEmpty { base.leaf(3, "<用量>", drug.dose, "</用量>") }
                base.leaf(3, "<単位>", drug.unit, "</単位>")
                base.leaf(3, "<用法>", drug.directions, "</用法>")
                base.x.newline(3); base.x.raw("<日数>"); base.x.int(drug.days); base.x.raw("</日数>")
                base.x.newline(2); base.x.raw("</医薬品>")
            }
            base.x.newline(1); base.x.raw("</調剤>")
        }
        base.x.newline(0); base.x.raw("</薬剤情報>")
        return base.finish(style)
    }
}
