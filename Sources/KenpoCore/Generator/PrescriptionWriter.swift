import Foundation

/// Writes a member's dispensings as kenpo-prescription version 1
/// (pipelines/formats/kenpo-prescription-v1.xml): root `薬剤情報` in `urn:kenpo:xml:prescription:1`,
/// one `調剤` per dispensing (薬局名称 left out for drugs dispensed in the hospital), one `医薬品` per drug.
final class PrescriptionWriter {
    private var base = KenpoXMLWriterBase()

    func render(_ subject: HealthRecordSubject, _ dispensings: [CareHistory.Dispensing], style: KenpoFileStyle) -> [UInt8] {
        base.begin(style)
        base.x.raw("<薬剤情報 xmlns=\"urn:kenpo:xml:prescription:1\" 形式=\"kenpo-prescription\" 版=\"1\">")
        base.insured(subject, style)
        for d in dispensings {
            base.x.newline(1); base.x.raw("<調剤>")
            base.x.newline(2); base.x.raw("<調剤年月日>"); base.date(d.date, style); base.x.raw("</調剤年月日>")
            base.x.newline(2); base.x.raw("<医療機関名称>"); base.x.text(d.prescriber); base.x.raw("</医療機関名称>")
            if let p = d.pharmacy {
                base.x.newline(2); base.x.raw("<薬局名称>"); base.x.text(p); base.x.raw("</薬局名称>")
            }
            for line in d.drugs {
                let drug = CareCatalog.drugs[line.drug]
                base.x.newline(2); base.x.raw("<医薬品>")
                base.x.newline(3); base.x.raw("<医薬品コード>"); base.x.plain(drug.code); base.x.raw("</医薬品コード>")
                base.x.newline(3); base.x.raw("<薬剤名>"); base.x.text(drug.name); base.x.raw("</薬剤名>")
                if let ingredient = drug.ingredient {
                    base.x.newline(3); base.x.raw("<成分名>"); base.x.text(ingredient); base.x.raw("</成分名>")
                }
                base.x.newline(3); base.x.raw("<用量>"); base.x.plain(drug.dose); base.x.raw("</用量>")
                base.x.newline(3); base.x.raw("<単位>"); base.x.text(drug.unit); base.x.raw("</単位>")
                base.x.newline(3); base.x.raw("<用法>"); base.x.text(drug.directions); base.x.raw("</用法>")
                base.x.newline(3); base.x.raw("<日数>"); base.x.int(line.days); base.x.raw("</日数>")
                base.x.newline(2); base.x.raw("</医薬品>")
            }
            base.x.newline(1); base.x.raw("</調剤>")
        }
        base.x.newline(0); base.x.raw("</薬剤情報>")
        return base.finish(style)
    }
}
