import Foundation

// MARK: - The one hc08 writer

/// What the header of an MHLW specific-checkup document (HL7 CDA R2, hc08 V08) says, as text in the
/// document's own spelling (dates YYYYMMDD …). Optional parts are left out when nil.
struct CheckupHeader {
    /// `xsi:schemaLocation="urn:hl7-org:v3 ../XSD/hc08_V08.xsd"` on the root (transfer-set habit).
    var schemaLocation = false
    /// `templateId root="1.2.392.200119.6.1009" extension="hc08_V08"`: names the format and version.
    var templateId = false
    /// ClinicalDocument/id root (a UUID); nil: `nullFlavor="NI"`.
    var documentID: String? = nil
    /// The document's own effectiveTime (the file date; a correction is newer); "" → `nullFlavor="NI"`.
    var effectiveTime = ""
    var languageCode = false

    var insurerNumber = ""
    /// 記号 (root …204); nil: not written.
    var symbol: String? = ""
    var number = ""
    /// 枝番 (root …211); nil: not written.
    var branch: String? = nil
    var kanaName = ""
    /// administrativeGenderCode: "1" male, "2" female; nil: not written.
    var sex: String? = nil
    /// birthTime, YYYYMMDD.
    var birthTime = ""

    /// author/time; "" → `nullFlavor="NI"`.
    var authorTime = ""
    var institutionNumber = ""
    /// representedOrganization/name; nil: not written.
    var institutionName: String? = nil
    /// telecom (without "tel:"), address and postal code of the institution; nil: not written.
    var institutionContact: (phone: String, address: String, postal: String)? = nil
    /// 受診券 participant: valid-to date (YYYYMMDD) and ticket number; nil: not written.
    var ticket: (validTo: String, number: String)? = nil
    /// documentationOf/serviceEvent/effectiveTime: the checkup date.
    var checkupDate = ""
    /// serviceEvent/performer naming the institution.
    var performer = false
}

/// One `<value>` of an observation. Attributes are written in this order when not nil:
/// xsi:type, nullFlavor, value, unit, code, codeSystem, displayName; `text` makes it an element with
/// content (ST).
struct CDAValue {
    var type: String
    var nullFlavor: String? = nil
    var value: String? = nil
    var unit: String? = nil
    var code: String? = nil
    var codeSystem: String? = nil
    var displayName: String? = nil
    var text: String? = nil

    static let interpretationSystem = "2.16.840.1.113883.5.83"

    static func pq(_ value: String?, unit: String?) -> CDAValue { CDAValue(type: "PQ", value: value, unit: unit) }

    /// Beyond the measurable range, as the MHLW reference software writes it: CD "H" 以上 / "L" 以下
    /// in HL7's ObservationInterpretation code system.
    static func bound(high: Bool) -> CDAValue {
        CDAValue(type: "CD", code: high ? "H" : "L", codeSystem: interpretationSystem, displayName: high ? "以上" : "以下")
    }
}

/// One observation (検査項目) as written.
struct CDAObservation {
    /// `negationInd="true"`: not done.
    var negated = false
    /// nullFlavor on the observation itself.
    var nullFlavor: String? = nil
    var code = ""
    /// codeSystem of the item code; nil relies on the schema default 1.2.392.200119.6.1005.
    var codeSystem: String? = nil
    var displayName: String? = nil
    var values: [CDAValue] = []
    var interpretation: String? = nil
    var interpretationSystem: String? = nil
    /// The examining doctor, as the observation's author.
    var author: String? = nil
    /// referenceRange as an IVL_PQ: low, high (each left out when nil) and their unit.
    var range: (low: String?, high: String?, unit: String?)? = nil
}

enum CDAEntry {
    case single(CDAObservation)
    /// A group observation holding its members through `entryRelationship typeCode="COMP"`; its
    /// code nil → `<code nullFlavor="NA"/>` (a reader then gives the members no group code).
    case group(code: String?, codeSystem: String?, [CDAObservation])
}

/// Writes hc08 documents: the generator (`CheckupDocumentWriter`, synthetic checkups in the habits
/// of an institution) and the member export (`ExportCheckupDocument`, stored records) both write
/// through this one writer, so every document either writes has the same shape and escaping.
/// One writer reuses one buffer; it is not thread-safe.
struct CDAWriter {
    var x = XMLBytes()
    private var encoder: CP932Encoder?
    private var transcoded: [UInt8] = []

    /// Starts a document: optional BOM, the XML declaration, the root element.
    mutating func begin(lineEnd: [UInt8], bom: Bool, shiftJIS: Bool, schemaLocation: Bool) {
        x.reset()
        x.lineEnd = lineEnd
        if bom { x.bytes.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        if shiftJIS {
            x.raw("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>")
        } else {
            x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        }
        x.newline(0)
        x.raw("<ClinicalDocument xmlns=\"urn:hl7-org:v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"")
        if schemaLocation { x.raw(" xsi:schemaLocation=\"urn:hl7-org:v3 ../XSD/hc08_V08.xsd\"") }
        x.raw(">")
    }

    /// Ends the document; its bytes (valid until the next call), transcoded to CP932 for `shiftJIS`.
    mutating func finish(shiftJIS: Bool) -> [UInt8] {
        x.newline(0); x.raw("</ClinicalDocument>")
        x.newline(0)
        guard shiftJIS else { return x.bytes }
        // Written as UTF-8, then transcoded whole (the markup is ASCII, so only text changes).
        let enc = encoder ?? CP932Encoder()
        encoder = enc
        transcoded.removeAll(keepingCapacity: true)
        enc.encode(String(decoding: x.bytes, as: UTF8.self), into: &transcoded)
        return transcoded
    }

    private mutating func attribute(_ name: StaticString, _ value: String) {
        x.raw(" "); x.raw(name); x.raw("=\""); x.exact(value, attribute: true); x.raw("\"")
    }

    private mutating func time(_ element: StaticString, _ value: String) {
        x.raw("<"); x.raw(element)
        if value.isEmpty { x.raw(" nullFlavor=\"NI\"/>") } else { attribute("value", value); x.raw("/>") }
    }

    private mutating func organization(_ element: StaticString, _ h: CheckupHeader, _ depth: Int, contact: Bool) {
        x.newline(depth); x.raw("<"); x.raw(element); x.raw(">")
        x.newline(depth + 1); x.raw("<id root=\"1.2.392.200119.6.102\""); attribute("extension", h.institutionNumber); x.raw("/>")
        if let name = h.institutionName { x.newline(depth + 1); x.raw("<name>"); x.exact(name); x.raw("</name>") }
        if contact, let c = h.institutionContact {
            x.newline(depth + 1); x.raw("<telecom value=\"tel:"); x.exact(c.phone, attribute: true); x.raw("\"/>")
            x.newline(depth + 1); x.raw("<addr>"); x.exact(c.address); x.raw("<postalCode>"); x.exact(c.postal); x.raw("</postalCode></addr>")
        }
        x.newline(depth); x.raw("</"); x.raw(element); x.raw(">")
    }

    mutating func header(_ h: CheckupHeader) {
        x.newline(1); x.raw("<typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>")
        if h.templateId {
            x.newline(1); x.raw("<templateId root=\"1.2.392.200119.6.1009\" extension=\"hc08_V08\"/>")
        }
        x.newline(1)
        if let id = h.documentID { x.raw("<id"); attribute("root", id); x.raw("/>") } else { x.raw("<id nullFlavor=\"NI\"/>") }
        x.newline(1); x.raw("<code code=\"10\" codeSystem=\"1.2.392.200119.6.1001\"/>")
        x.newline(1); x.raw("<title>特定健康診査結果報告</title>")
        x.newline(1); time("effectiveTime", h.effectiveTime)
        x.newline(1); x.raw("<confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\"/>")
        if h.languageCode { x.newline(1); x.raw("<languageCode code=\"ja-JP\"/>") }

        x.newline(1); x.raw("<recordTarget>")
        x.newline(2); x.raw("<patientRole>")
        x.newline(3); x.raw("<id root=\"1.2.392.200119.6.101\""); attribute("extension", h.insurerNumber); x.raw("/>")
        if let symbol = h.symbol { x.newline(3); x.raw("<id root=\"1.2.392.200119.6.204\""); attribute("extension", symbol); x.raw("/>") }
        x.newline(3); x.raw("<id root=\"1.2.392.200119.6.205\""); attribute("extension", h.number); x.raw("/>")
        if let branch = h.branch { x.newline(3); x.raw("<id root=\"1.2.392.200119.6.211\""); attribute("extension", branch); x.raw("/>") }
        x.newline(3); x.raw("<patient>")
        x.newline(4); x.raw("<name>"); x.exact(h.kanaName); x.raw("</name>")
        if let sex = h.sex {
            x.newline(4); x.raw("<administrativeGenderCode"); attribute("code", sex); x.raw(" codeSystem=\"1.2.392.200119.6.1104\"/>")
        }
        x.newline(4); time("birthTime", h.birthTime)
        x.newline(3); x.raw("</patient>")
        x.newline(2); x.raw("</patientRole>")
        x.newline(1); x.raw("</recordTarget>")

        x.newline(1); x.raw("<author>")
        x.newline(2); time("time", h.authorTime)
        x.newline(2); x.raw("<assignedAuthor>")
        x.newline(3); x.raw("<id nullFlavor=\"NI\"/>")
        organization("representedOrganization", h, 3, contact: true)
        x.newline(2); x.raw("</assignedAuthor>")
        x.newline(1); x.raw("</author>")

        x.newline(1); x.raw("<custodian>")
        x.newline(2); x.raw("<assignedCustodian>")
        organization("representedCustodianOrganization", h, 3, contact: false)
        x.newline(2); x.raw("</assignedCustodian>")
        x.newline(1); x.raw("</custodian>")

        if let t = h.ticket {
            // 受診券: ticket number under root 1.2.392.200119.6.209.1 + insurer number; valid to the fiscal year end.
            x.newline(1); x.raw("<participant typeCode=\"HLD\">")
            x.newline(2); x.raw("<functionCode code=\"1\" codeSystem=\"1.2.392.200119.6.208\"/>")
            x.newline(2); x.raw("<time><high"); attribute("value", t.validTo); x.raw("/></time>")
            x.newline(2); x.raw("<associatedEntity classCode=\"IDENT\">")
            x.newline(3); x.raw("<id root=\"1.2.392.200119.6.209.1"); x.exact(h.insurerNumber, attribute: true); x.raw("\"")
            attribute("extension", t.number); x.raw("/>")
            x.newline(3); x.raw("<scopingOrganization><id root=\"1.2.392.200119.6.101\""); attribute("extension", h.insurerNumber)
            x.raw("/></scopingOrganization>")
            x.newline(2); x.raw("</associatedEntity>")
            x.newline(1); x.raw("</participant>")
        }

        x.newline(1); x.raw("<documentationOf>")
        x.newline(2); x.raw("<serviceEvent>")
        x.newline(3); x.raw("<code code=\"010\" codeSystem=\"1.2.392.200119.6.1002\" displayName=\"特定健診\"/>")
        x.newline(3); time("effectiveTime", h.checkupDate)
        if h.performer {
            x.newline(3); x.raw("<performer typeCode=\"PRF\">")
            x.newline(4); x.raw("<assignedEntity>")
            x.newline(5); x.raw("<id nullFlavor=\"NI\"/>")
            organization("representedOrganization", h, 5, contact: false)
            x.newline(4); x.raw("</assignedEntity>")
            x.newline(3); x.raw("</performer>")
        }
        x.newline(2); x.raw("</serviceEvent>")
        x.newline(1); x.raw("</documentationOf>")
    }

    mutating func beginBody() {
        x.newline(1); x.raw("<component>")
        x.newline(2); x.raw("<structuredBody>")
    }

    mutating func endBody() {
        x.newline(2); x.raw("</structuredBody>")
        x.newline(1); x.raw("</component>")
    }

    /// A section (01010 特定健診検査・問診結果, 01990 任意追加項目 …) with its entries.
    mutating func section(code: String, title: String, entries: [CDAEntry]) {
        x.newline(3); x.raw("<component>")
        x.newline(4); x.raw("<section>")
        x.newline(5); x.raw("<code"); attribute("code", code); x.raw(" codeSystem=\"1.2.392.200119.6.1010\"/>")
        x.newline(5); x.raw("<title>"); x.exact(title); x.raw("</title>")
        x.newline(5); x.raw("<text>"); x.exact(title); x.raw("</text>")
        for e in entries {
            x.newline(5); x.raw("<entry>")
            switch e {
            case .single(let o):
                observation(o, 6)
            case .group(let code, let system, let members):
                x.newline(6); x.raw("<observation classCode=\"OBS\" moodCode=\"EVN\">")
                x.newline(7)
                if let code {
                    x.raw("<code"); attribute("code", code)
                    if let system { attribute("codeSystem", system) }
                    x.raw("/>")
                } else {
                    x.raw("<code nullFlavor=\"NA\"/>")
                }
                for m in members {
                    x.newline(7); x.raw("<entryRelationship typeCode=\"COMP\">")
                    observation(m, 8)
                    x.newline(7); x.raw("</entryRelationship>")
                }
                x.newline(6); x.raw("</observation>")
            }
            x.newline(5); x.raw("</entry>")
        }
        x.newline(4); x.raw("</section>")
        x.newline(3); x.raw("</component>")
    }

    private mutating func observation(_ o: CDAObservation, _ d: Int) {
        x.newline(d)
        x.raw("<observation classCode=\"OBS\" moodCode=\"EVN\"")
        if let nf = o.nullFlavor { attribute("nullFlavor", nf) }
        if o.negated { x.raw(" negationInd=\"true\"") }
        x.raw(">")
        x.newline(d + 1); x.raw("<code"); attribute("code", o.code)
        if let s = o.codeSystem { attribute("codeSystem", s) }
        if let n = o.displayName { attribute("displayName", n) }
        x.raw("/>")
        for v in o.values {
            x.newline(d + 1); value(v)
        }
        if let i = o.interpretation {
            x.newline(d + 1); x.raw("<interpretationCode"); attribute("code", i)
            if let s = o.interpretationSystem { attribute("codeSystem", s) }
            x.raw("/>")
        }
        if let doctor = o.author {
            x.newline(d + 1); x.raw("<author>")
            x.newline(d + 2); x.raw("<time nullFlavor=\"NI\"/>")
            x.newline(d + 2); x.raw("<assignedAuthor>")
            x.newline(d + 3); x.raw("<id nullFlavor=\"NI\"/>")
            x.newline(d + 3); x.raw("<assignedPerson><name>"); x.exact(doctor); x.raw("</name></assignedPerson>")
            x.newline(d + 2); x.raw("</assignedAuthor>")
            x.newline(d + 1); x.raw("</author>")
        }
        if let range = o.range {
            x.newline(d + 1); x.raw("<referenceRange>")
            x.newline(d + 2); x.raw("<observationRange>")
            x.newline(d + 3); x.raw("<value xsi:type=\"IVL_PQ\">")
            if let low = range.low {
                x.newline(d + 4); x.raw("<low"); attribute("value", low)
                if let u = range.unit { attribute("unit", u) }
                x.raw("/>")
            }
            if let high = range.high {
                x.newline(d + 4); x.raw("<high"); attribute("value", high)
                if let u = range.unit { attribute("unit", u) }
                x.raw("/>")
            }
            x.newline(d + 3); x.raw("</value>")
            x.newline(d + 2); x.raw("</observationRange>")
            x.newline(d + 1); x.raw("</referenceRange>")
        }
        x.newline(d); x.raw("</observation>")
    }

    private mutating func value(_ v: CDAValue) {
        x.raw("<value xsi:type=\""); x.exact(v.type, attribute: true); x.raw("\"")
        if let s = v.nullFlavor { attribute("nullFlavor", s) }
        if let s = v.value { attribute("value", s) }
        if let s = v.unit { attribute("unit", s) }
        if let s = v.code { attribute("code", s) }
        if let s = v.codeSystem { attribute("codeSystem", s) }
        if let s = v.displayName { attribute("displayName", s) }
        if let t = v.text {
            x.raw(">"); x.exact(t); x.raw("</value>")
        } else {
            x.raw("/>")
        }
    }
}

// MARK: - Synthetic checkups (generator)

/// Writes a synthetic checkup as an MHLW specific-checkup document (HL7 CDA R2, hc08 V08), in the
/// habits of its institution (`CheckupInstitution`), through the shared `CDAWriter`. Every document
/// validates against `hc08_V08.xsd`. One writer reuses one buffer; it is not thread-safe.
///
/// Value forms written (see `SynthResult.Value`):
/// - PQ: `<value xsi:type="PQ" value="5.6" unit="%"/>`
/// - CD / CO: `<value xsi:type="CD" code="2" codeSystem="1.2.392.200119.6.2202" displayName="…"/>`
/// - ST: `<value xsi:type="ST">異常なし</value>`
/// - could not measure: `<value xsi:type="PQ" nullFlavor="NI"/>`
/// - not done: `<observation classCode="OBS" moodCode="EVN" negationInd="true">` with a code and no value
/// - beyond the input range (入力最大値以上 / 入力最小値以下), as the MHLW reference software writes it:
///   the measured PQ (since FY2013; omitted by `codeOnly` institutions), then
///   `<value xsi:type="CD" code="H" codeSystem="2.16.840.1.113883.5.83" displayName="以上"/>`
///   ("L" / "以下" for the lower bound); no reference range or interpretation on such an item.
/// - groups: an observation with `<code nullFlavor="NA"/>` and its members in
///   `<entryRelationship typeCode="COMP"><observation …/></entryRelationship>`.
final class CheckupDocumentWriter {
    private var w = CDAWriter()
    private var scratch = XMLBytes(capacity: 64)

    static let interpretationSystem = CDAValue.interpretationSystem

    /// The document's bytes (valid until the next call).
    func render(_ c: SyntheticCheckup) -> [UInt8] {
        let inst = CheckupInstitutions.all[c.institution]
        w.begin(lineEnd: inst.lineEnd, bom: c.bom, shiftJIS: inst.shiftJIS, schemaLocation: inst.headerExtras)
        w.header(header(c, inst))
        w.beginBody()
        for section in c.sections {
            w.section(code: "\(section.code)", title: "\(section.title)", entries: section.entries.map { entry($0, inst) })
        }
        w.endBody()
        return w.finish(shiftJIS: inst.shiftJIS)
    }

    /// Text made with the XMLBytes number formatters.
    private func format(_ body: (inout XMLBytes) -> Void) -> String {
        scratch.reset()
        body(&scratch)
        return String(decoding: scratch.bytes, as: UTF8.self)
    }

    private func header(_ c: SyntheticCheckup, _ inst: CheckupInstitution) -> CheckupHeader {
        let s = c.subject
        var h = CheckupHeader()
        h.schemaLocation = inst.headerExtras
        h.templateId = inst.headerExtras
        h.languageCode = inst.headerExtras
        if inst.uuidDocumentId { h.documentID = uuid(c.uuid) }
        h.effectiveTime = format { x in
            x.compactDate(c.createdDate)
            if inst.timestampCreated {
                let t = Int(truncatingIfNeeded: c.uuid.1 % 36_000)  // 09:00:00 … 18:59:59
                x.padded(9 + t / 3600, 2); x.padded(t / 60 % 60, 2); x.padded(t % 60, 2)
                x.raw("+0900")
            }
        }
        h.insurerNumber = s.insurerNumber
        h.symbol = s.symbol
        h.number = s.number
        h.branch = inst.branchId ? s.branch : nil
        h.kanaName = kana(s.kana, inst.kana)
        h.sex = s.male ? "1" : "2"
        h.birthTime = format { $0.compactDate(s.birthDate) }
        h.authorTime = format { $0.compactDate(c.createdDate) }
        h.institutionNumber = inst.number
        h.institutionName = inst.name
        h.institutionContact = (inst.phone, inst.address, inst.postal)
        if inst.ticket {
            let fyEnd = c.checkupDate.month >= 4 ? c.checkupDate.year + 1 : c.checkupDate.year
            h.ticket = (format { $0.padded(fyEnd, 4); $0.raw("0331") }, format { $0.int(c.ticket) })
        }
        h.checkupDate = format { $0.compactDate(c.checkupDate) }
        h.performer = inst.ticket
        return h
    }

    private func uuid(_ v: (UInt64, UInt64)) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        var n = 0
        for word in [v.0, v.1] {
            for i in stride(from: 60, through: 0, by: -4) {
                if n == 8 || n == 12 || n == 16 || n == 20 { out.append(0x2D) }
                out.append(hex[Int((word >> UInt64(i)) & 0xF)])
                n += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func kana(_ full: String, _ style: CheckupInstitution.KanaStyle) -> String {
        switch style {
        case .fullSpace: return full
        case .fullNoSpace: return full.replacingOccurrences(of: "\u{3000}", with: "")
        case .halfWidth: return KanaName.toHalfWidth(full).replacingOccurrences(of: "\u{3000}", with: " ")
        }
    }

    private func entry(_ e: CheckupEntry, _ inst: CheckupInstitution) -> CDAEntry {
        switch e {
        case .single(let r): return .single(observation(r, inst))
        case .group(let members): return .group(code: nil, codeSystem: nil, members.map { observation($0, inst) })
        }
    }

    private func observation(_ r: SynthResult, _ inst: CheckupInstitution) -> CDAObservation {
        var o = CDAObservation()
        o.code = r.code
        if inst.itemCodeSystem { o.codeSystem = "1.2.392.200119.6.1005" }
        if inst.displayNames { o.displayName = r.name }
        func decimal(_ v: Int, _ dec: Int) -> String { format { $0.decimal(v, dec) } }
        switch r.value {
        case .quantity(let v, let dec, let unit):
            o.values = [.pq(decimal(v, dec), unit: inst.units.name(unit))]
        case .coded(let type, let code, let system, let display):
            o.values = [CDAValue(type: "\(type.name)", code: code, codeSystem: system, displayName: inst.displayNames ? display : nil)]
        case .text(let t):
            o.values = [CDAValue(type: "ST", text: t)]
        case .missing(let type, let flavor):
            o.values = [CDAValue(type: "\(type.name)", nullFlavor: flavor)]
        case .notDone:
            o.negated = true
        case .outOfRange(let v, let dec, let unit, let high):
            if inst.bound == .valueAndCode { o.values.append(.pq(decimal(v, dec), unit: inst.units.name(unit))) }
            o.values.append(.bound(high: high))
        }
        if let i = r.interpretation {
            o.interpretation = "\(i)"
            if inst.interpretation == .coded { o.interpretationSystem = Self.interpretationSystem }
        }
        o.author = r.author
        if let range = r.range, case .quantity(_, let dec, let unit) = r.value {
            o.range = (decimal(range.low, dec), decimal(range.high, dec), inst.units.name(unit))
        }
        return o
    }
}
