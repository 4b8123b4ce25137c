import Foundation

/// How one generated kenpo-format file (cost notice or prescription) is spelled: the variations the
/// format allows (pipelines/formats/README.md), drawn per file.
struct KenpoFileStyle {
    var bom = false
    /// Declares encoding="Shift_JIS" and is written in CP932.
    var shiftJIS = false
    /// Amounts with digit-group commas ("78,040").
    var commas = true
    /// Dates as YYYY-MM-DD / YYYY-MM (else YYYYMMDD / YYYYMM).
    var isoDates = true
    /// Kana name: 0 full-width with an ASCII space, 1 full-width with U+3000, 2 no space, 3 half-width.
    var kana = 0
    /// Writes 枝番.
    var branch = true
    /// The optional その他の公費の負担額 element is left out where it is 0.
    var omitZeroPublicFunds = false

    static func draw(_ rng: inout SeededRandom) -> KenpoFileStyle {
        var s = KenpoFileStyle()
        s.shiftJIS = rng.chance(0.06)
        s.bom = !s.shiftJIS && rng.chance(0.12)
        s.commas = rng.chance(0.6)
        s.isoDates = rng.chance(0.75)
        s.kana = rng.weighted([40, 30, 15, 15])
        s.branch = rng.chance(0.9)
        s.omitZeroPublicFunds = rng.chance(0.2)
        return s
    }
}

/// The card details a kenpo-format file names in its 被保険者 block, as written.
struct KenpoInsured {
    var insurerNumber = ""
    var symbol = ""
    var number = ""
    /// 枝番; nil: not written.
    var branch: String? = nil
    /// カナ氏名 exactly as written.
    var kana = ""
    var birthDate: CalendarDate

    /// A synthetic subject in the file's style (kana spelling, branch written or not).
    init(_ s: HealthRecordSubject, _ style: KenpoFileStyle) {
        insurerNumber = s.insurerNumber
        symbol = s.symbol
        number = s.number
        branch = style.branch ? s.branch : nil
        switch style.kana {
        case 0: kana = s.kana.replacingOccurrences(of: "\u{3000}", with: " ")
        case 1: kana = s.kana
        case 2: kana = s.kana.replacingOccurrences(of: "\u{3000}", with: "")
        default: kana = KanaName.toHalfWidth(s.kana).replacingOccurrences(of: "\u{3000}", with: " ")
        }
        birthDate = s.birthDate
    }

    init(insurerNumber: String, symbol: String, number: String, branch: String?, kana: String, birthDate: CalendarDate) {
        self.insurerNumber = insurerNumber; self.symbol = symbol; self.number = number
        self.branch = branch; self.kana = kana; self.birthDate = birthDate
    }
}

/// Shared parts of the kenpo-format writers: declaration, 被保険者 block, encoding. Text is written
/// so that a reader gets back exactly the same string (`XMLBytes.exact`).
struct KenpoXMLWriterBase {
    var x = XMLBytes()
    private var encoder: CP932Encoder?
    private var transcoded: [UInt8] = []

    mutating func begin(_ style: KenpoFileStyle) {
        x.reset()
        if style.bom { x.bytes.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        if style.shiftJIS {
            x.raw("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>")
        } else {
            x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        }
        x.newline(0)
    }

    mutating func insured(_ s: KenpoInsured, _ style: KenpoFileStyle) {
        x.newline(1); x.raw("<被保険者>")
        x.newline(2); x.raw("<保険者番号>"); x.exact(s.insurerNumber); x.raw("</保険者番号>")
        x.newline(2); x.raw("<記号>"); x.exact(s.symbol); x.raw("</記号>")
        x.newline(2); x.raw("<番号>"); x.exact(s.number); x.raw("</番号>")
        if let b = s.branch { x.newline(2); x.raw("<枝番>"); x.exact(b); x.raw("</枝番>") }
        x.newline(2); x.raw("<カナ氏名>"); x.exact(s.kana); x.raw("</カナ氏名>")
        x.newline(2); x.raw("<生年月日>"); date(s.birthDate, style); x.raw("</生年月日>")
        x.newline(1); x.raw("</被保険者>")
    }

    /// A leaf element `<name>text</name>` on its own line.
    mutating func leaf(_ depth: Int, _ open: StaticString, _ text: String, _ close: StaticString) {
        x.newline(depth); x.raw(open); x.exact(text); x.raw(close)
    }

    mutating func date(_ d: CalendarDate, _ style: KenpoFileStyle) {
        if style.isoDates { x.isoDate(d) } else { x.compactDate(d) }
    }

    mutating func finish(_ style: KenpoFileStyle) -> [UInt8] {
        x.newline(0)
        guard style.shiftJIS else { return x.bytes }
        let enc = encoder ?? CP932Encoder()
        encoder = enc
        transcoded.removeAll(keepingCapacity: true)
        enc.encode(String(decoding: x.bytes, as: UTF8.self), into: &transcoded)
        return transcoded
    }
}

/// One 通知 of a cost-notice file (amounts in whole yen).
struct CostNoticeLine {
    var year: Int
    var month: Int
    var category: String
    var days: Int
    var institution: String
    var total: Int
    var insurer: Int
    var publicFunds: Int
    var counter: Int
}

/// Writes a member's medical-cost notices as kenpo-cost-notice version 1
/// (pipelines/formats/kenpo-cost-notice-v1.xml): root `医療費通知情報` in `urn:kenpo:xml:cost-notice:1`,
/// one `通知` per month, category and institution; 医療費の総額 = 保険者の負担額 + その他の公費の負担額 + 窓口相当負担額.
/// The generator and the member export both write through `render(_:_:style:)`.
final class CostNoticeWriter {
    private var base = KenpoXMLWriterBase()

    func render(_ subject: HealthRecordSubject, _ notices: [CareHistory.Notice], style: KenpoFileStyle) -> [UInt8] {
        render(KenpoInsured(subject, style), notices.map {
            CostNoticeLine(year: $0.year, month: $0.month, category: $0.category, days: $0.days, institution: $0.institution,
                           total: $0.total, insurer: $0.insurer, publicFunds: $0.publicFunds, counter: $0.counter)
        }, style: style)
    }

    func render(_ insured: KenpoInsured, _ notices: [CostNoticeLine], style: KenpoFileStyle) -> [UInt8] {
        base.begin(style)
        base.x.raw("<医療費通知情報 xmlns=\"urn:kenpo:xml:cost-notice:1\" 形式=\"kenpo-cost-notice\" 版=\"1\">")
        base.insured(insured, style)
        for n in notices {
            base.x.newline(1); base.x.raw("<通知>")
            base.x.newline(2); base.x.raw("<診療年月>")
            base.x.padded(n.year, 4)
            if style.isoDates { base.x.raw("-") }
            base.x.padded(n.month, 2)
            base.x.raw("</診療年月>")
            base.leaf(2, "<診療区分>", n.category, "</診療区分>")
            base.x.newline(2); base.x.raw("<日数>"); base.x.int(n.days); base.x.raw("</日数>")
            base.leaf(2, "<医療機関等名称>", n.institution, "</医療機関等名称>")
            base.x.newline(2); base.x.raw("<医療費の総額>"); base.x.yen(n.total, commas: style.commas); base.x.raw("</医療費の総額>")
            base.x.newline(2); base.x.raw("<保険者の負担額>"); base.x.yen(n.insurer, commas: style.commas); base.x.raw("</保険者の負担額>")
            if n.publicFunds != 0 || !style.omitZeroPublicFunds {
                base.x.newline(2); base.x.raw("<その他の公費の負担額>"); base.x.yen(n.publicFunds, commas: style.commas)
                base.x.raw("</その他の公費の負担額>")
            }
            base.x.newline(2); base.x.raw("<窓口相当負担額>"); base.x.yen(n.counter, commas: style.commas); base.x.raw("</窓口相当負担額>")
            base.x.newline(1); base.x.raw("</通知>")
        }
        base.x.newline(0); base.x.raw("</医療費通知情報>")
        return base.finish(style)
    }
}
