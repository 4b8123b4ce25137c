import Foundation

/// Writes a synthetic checkup as an MHLW specific-checkup document (HL7 CDA R2, hc08 V08), in the
/// habits of its institution (`CheckupInstitution`). Every document validates against
/// `hc08_V08.xsd`. One writer reuses one buffer; it is not thread-safe.
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
    private var x = XMLBytes()
    private var encoder: CP932Encoder?
    private var transcoded: [UInt8] = []

    static let interpretationSystem = "2.16.840.1.113883.5.83"

    /// The document's bytes (valid until the next call).
    func render(_ c: SyntheticCheckup) -> [UInt8] {
        let inst = CheckupInstitutions.all[c.institution]
        x.reset()
        x.lineEnd = inst.lineEnd
        if c.bom { x.bytes.append(contentsOf: [0xEF, 0xBB, 0xBF]) }
        if inst.shiftJIS {
            x.raw("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>")
        } else {
            x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        }
        x.newline(0)
        x.raw("<ClinicalDocument xmlns=\"urn:hl7-org:v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"")
        if inst.headerExtras { x.raw(" xsi:schemaLocation=\"urn:hl7-org:v3 ../XSD/hc08_V08.xsd\"") }
        x.raw(">")
        header(c, inst)
        x.newline(1); x.raw("<component>")
        x.newline(2); x.raw("<structuredBody>")
        for section in c.sections { self.section(section, inst) }
        x.newline(2); x.raw("</structuredBody>")
        x.newline(1); x.raw("</component>")
        x.newline(0); x.raw("</ClinicalDocument>")
        x.newline(0)
        guard inst.shiftJIS else { return x.bytes }
        // Written as UTF-8, then transcoded whole (the markup is ASCII, so only text changes).
        let enc = encoder ?? CP932Encoder()
        encoder = enc
        transcoded.removeAll(keepingCapacity: true)
        enc.encode(String(decoding: x.bytes, as: UTF8.self), into: &transcoded)
        return transcoded
    }

    // MARK: header

    private func header(_ c: SyntheticCheckup, _ inst: CheckupInstitution) {
        let s = c.subject
        x.newline(1); x.raw("<typeId root=\"2.16.840.1.113883.1.3\" extension=\"POCD_HD000040\"/>")
        if inst.headerExtras {
            x.newline(1); x.raw("<templateId root=\"1.2.392.200119.6.1009\" extension=\"hc08_V08\"/>")
        }
        x.newline(1)
        if inst.uuidDocumentId {
            x.raw("<id root=\""); uuid(c.uuid); x.raw("\"/>")
        } else {
            x.raw("<id nullFlavor=\"NI\"/>")
        }
        x.newline(1); x.raw("<code code=\"10\" codeSystem=\"1.2.392.200119.6.1001\"/>")
        x.newline(1); x.raw("<title>特定健康診査結果報告</title>")
        x.newline(1); x.raw("<effectiveTime value=\""); created(c, inst); x.raw("\"/>")
        x.newline(1); x.raw("<confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\"/>")
        if inst.headerExtras { x.newline(1); x.raw("<languageCode code=\"ja-JP\"/>") }

        x.newline(1); x.raw("<recordTarget>")
        x.newline(2); x.raw("<patientRole>")
        x.newline(3); x.raw("<id root=\"1.2.392.200119.6.101\" extension=\""); x.text(s.insurerNumber); x.raw("\"/>")
        x.newline(3); x.raw("<id root=\"1.2.392.200119.6.204\" extension=\""); x.text(s.symbol); x.raw("\"/>")
        x.newline(3); x.raw("<id root=\"1.2.392.200119.6.205\" extension=\""); x.text(s.number); x.raw("\"/>")
        if inst.branchId {
            x.newline(3); x.raw("<id root=\"1.2.392.200119.6.211\" extension=\""); x.text(s.branch); x.raw("\"/>")
        }
        x.newline(3); x.raw("<patient>")
        x.newline(4); x.raw("<name>"); x.text(kana(s.kana, inst.kana)); x.raw("</name>")
        x.newline(4); x.raw("<administrativeGenderCode code=\""); x.raw(s.male ? "1" : "2")
        x.raw("\" codeSystem=\"1.2.392.200119.6.1104\"/>")
        x.newline(4); x.raw("<birthTime value=\""); x.compactDate(s.birthDate); x.raw("\"/>")
        x.newline(3); x.raw("</patient>")
        x.newline(2); x.raw("</patientRole>")
        x.newline(1); x.raw("</recordTarget>")

        x.newline(1); x.raw("<author>")
        x.newline(2); x.raw("<time value=\""); x.compactDate(c.createdDate); x.raw("\"/>")
        x.newline(2); x.raw("<assignedAuthor>")
        x.newline(3); x.raw("<id nullFlavor=\"NI\"/>")
        x.newline(3); x.raw("<representedOrganization>")
        x.newline(4); x.raw("<id root=\"1.2.392.200119.6.102\" extension=\""); x.plain(inst.number); x.raw("\"/>")
        x.newline(4); x.raw("<name>"); x.text(inst.name); x.raw("</name>")
        x.newline(4); x.raw("<telecom value=\"tel:"); x.plain(inst.phone); x.raw("\"/>")
        x.newline(4); x.raw("<addr>"); x.text(inst.address); x.raw("<postalCode>"); x.plain(inst.postal); x.raw("</postalCode></addr>")
        x.newline(3); x.raw("</representedOrganization>")
        x.newline(2); x.raw("</assignedAuthor>")
        x.newline(1); x.raw("</author>")

        x.newline(1); x.raw("<custodian>")
        x.newline(2); x.raw("<assignedCustodian>")
        x.newline(3); x.raw("<representedCustodianOrganization>")
        x.newline(4); x.raw("<id root=\"1.2.392.200119.6.102\" extension=\""); x.plain(inst.number); x.raw("\"/>")
        x.newline(4); x.raw("<name>"); x.text(inst.name); x.raw("</name>")
        x.newline(3); x.raw("</representedCustodianOrganization>")
        x.newline(2); x.raw("</assignedCustodian>")
        x.newline(1); x.raw("</custodian>")

        if inst.ticket {
            // 受診券: ticket number under root 1.2.392.200119.6.209.1 + insurer number; valid to the fiscal year end.
            let fyEnd = c.checkupDate.month >= 4 ? c.checkupDate.year + 1 : c.checkupDate.year
            x.newline(1); x.raw("<participant typeCode=\"HLD\">")
            x.newline(2); x.raw("<functionCode code=\"1\" codeSystem=\"1.2.392.200119.6.208\"/>")
            x.newline(2); x.raw("<time><high value=\""); x.padded(fyEnd, 4); x.raw("0331\"/></time>")
            x.newline(2); x.raw("<associatedEntity classCode=\"IDENT\">")
            x.newline(3); x.raw("<id root=\"1.2.392.200119.6.209.1"); x.text(s.insurerNumber); x.raw("\" extension=\"")
            x.int(c.ticket); x.raw("\"/>")
            x.newline(3); x.raw("<scopingOrganization><id root=\"1.2.392.200119.6.101\" extension=\"")
            x.text(s.insurerNumber); x.raw("\"/></scopingOrganization>")
            x.newline(2); x.raw("</associatedEntity>")
            x.newline(1); x.raw("</participant>")
        }

        x.newline(1); x.raw("<documentationOf>")
        x.newline(2); x.raw("<serviceEvent>")
        x.newline(3); x.raw("<code code=\"010\" codeSystem=\"1.2.392.200119.6.1002\" displayName=\"特定健診\"/>")
        x.newline(3); x.raw("<effectiveTime value=\""); x.compactDate(c.checkupDate); x.raw("\"/>")
        if inst.ticket {
            x.newline(3); x.raw("<performer typeCode=\"PRF\">")
            x.newline(4); x.raw("<assignedEntity>")
            x.newline(5); x.raw("<id nullFlavor=\"NI\"/>")
            x.newline(5); x.raw("<representedOrganization>")
            x.newline(6); x.raw("<id root=\"1.2.392.200119.6.102\" extension=\""); x.plain(inst.number); x.raw("\"/>")
            x.newline(6); x.raw("<name>"); x.text(inst.name); x.raw("</name>")
            x.newline(5); x.raw("</representedOrganization>")
            x.newline(4); x.raw("</assignedEntity>")
            x.newline(3); x.raw("</performer>")
        }
        x.newline(2); x.raw("</serviceEvent>")
        x.newline(1); x.raw("</documentationOf>")
    }

    /// The document date: YYYYMMDD, or with a time of day for institutions that stamp one.
    private func created(_ c: SyntheticCheckup, _ inst: CheckupInstitution) {
        x.compactDate(c.createdDate)
        if inst.timestampCreated {
            let t = Int(truncatingIfNeeded: c.uuid.1 % 36_000)  // 09:00:00 … 18:59:59
            x.padded(9 + t / 3600, 2); x.padded(t / 60 % 60, 2); x.padded(t % 60, 2)
            x.raw("+0900")
        }
    }

    private func uuid(_ v: (UInt64, UInt64)) {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var n = 0
        for word in [v.0, v.1] {
            for i in stride(from: 60, through: 0, by: -4) {
                if n == 8 || n == 12 || n == 16 || n == 20 { x.bytes.append(0x2D) }
                x.bytes.append(hex[Int((word >> UInt64(i)) & 0xF)])
                n += 1
            }
        }
    }

    private func kana(_ full: String, _ style: CheckupInstitution.KanaStyle) -> String {
        switch style {
        case .fullSpace: return full
        case .fullNoSpace: return full.replacingOccurrences(of: "\u{3000}", with: "")
        case .halfWidth: return KanaName.toHalfWidth(full).replacingOccurrences(of: "\u{3000}", with: " ")
        }
    }

    // MARK: body

    private func section(_ s: CheckupSection, _ inst: CheckupInstitution) {
        x.newline(3); x.raw("<component>")
        x.newline(4); x.raw("<section>")
        x.newline(5); x.raw("<code code=\""); x.raw(s.code); x.raw("\" codeSystem=\"1.2.392.200119.6.1010\"/>")
        x.newline(5); x.raw("<title>"); x.raw(s.title); x.raw("</title>")
        x.newline(5); x.raw("<text>"); x.raw(s.title); x.raw("</text>")
        for e in s.entries {
            x.newline(5); x.raw("<entry>")
            switch e {
            case .single(let r):
                observation(r, 6, inst)
            case .group(let members):
                x.newline(6); x.raw("<observation classCode=\"OBS\" moodCode=\"EVN\">")
                x.newline(7); x.raw("<code nullFlavor=\"NA\"/>")
                for m in members {
                    x.newline(7); x.raw("<entryRelationship typeCode=\"COMP\">")
                    observation(m, 8, inst)
                    x.newline(7); x.raw("</entryRelationship>")
                }
                x.newline(6); x.raw("</observation>")
            }
            x.newline(5); x.raw("</entry>")
        }
        x.newline(4); x.raw("</section>")
        x.newline(3); x.raw("</component>")
    }

    private func observation(_ r: SynthResult, _ d: Int, _ inst: CheckupInstitution) {
        x.newline(d)
        if case .notDone = r.value {
            x.raw("<observation classCode=\"OBS\" moodCode=\"EVN\" negationInd=\"true\">")
        } else {
            x.raw("<observation classCode=\"OBS\" moodCode=\"EVN\">")
        }
        x.newline(d + 1); x.raw("<code code=\""); x.plain(r.code); x.raw("\"")
        if inst.itemCodeSystem { x.raw(" codeSystem=\"1.2.392.200119.6.1005\"") }
        if inst.displayNames { x.raw(" displayName=\""); x.text(r.name); x.raw("\"") }
        x.raw("/>")
        switch r.value {
        case .quantity(let v, let dec, let unit):
            x.newline(d + 1); pq(v, dec, unit, inst)
        case .coded(let type, let code, let system, let display):
            x.newline(d + 1); x.raw("<value xsi:type=\""); x.raw(type.name); x.raw("\" code=\""); x.plain(code)
            x.raw("\" codeSystem=\""); x.plain(system); x.raw("\"")
            if inst.displayNames { x.raw(" displayName=\""); x.text(display); x.raw("\"") }
            x.raw("/>")
        case .text(let t):
            x.newline(d + 1); x.raw("<value xsi:type=\"ST\">"); x.text(t); x.raw("</value>")
        case .missing(let type, let flavor):
            x.newline(d + 1); x.raw("<value xsi:type=\""); x.raw(type.name); x.raw("\" nullFlavor=\""); x.plain(flavor); x.raw("\"/>")
        case .notDone:
            break
        case .outOfRange(let v, let dec, let unit, let high):
            if inst.bound == .valueAndCode { x.newline(d + 1); pq(v, dec, unit, inst) }
            x.newline(d + 1)
            x.raw(high ? "<value xsi:type=\"CD\" code=\"H\" codeSystem=\"2.16.840.1.113883.5.83\" displayName=\"以上\"/>"
                       : "<value xsi:type=\"CD\" code=\"L\" codeSystem=\"2.16.840.1.113883.5.83\" displayName=\"以下\"/>")
        }
        if let i = r.interpretation {
            x.newline(d + 1); x.raw("<interpretationCode code=\""); x.raw(i); x.raw("\"")
            if inst.interpretation == .coded { x.raw(" codeSystem=\"2.16.840.1.113883.5.83\"") }
            x.raw("/>")
        }
        if let doctor = r.author {
            x.newline(d + 1); x.raw("<author>")
            x.newline(d + 2); x.raw("<time nullFlavor=\"NI\"/>")
            x.newline(d + 2); x.raw("<assignedAuthor>")
            x.newline(d + 3); x.raw("<id nullFlavor=\"NI\"/>")
            x.newline(d + 3); x.raw("<assignedPerson><name>"); x.text(doctor); x.raw("</name></assignedPerson>")
            x.newline(d + 2); x.raw("</assignedAuthor>")
            x.newline(d + 1); x.raw("</author>")
        }
        if let range = r.range, case .quantity(_, let dec, let unit) = r.value {
            x.newline(d + 1); x.raw("<referenceRange>")
            x.newline(d + 2); x.raw("<observationRange>")
            x.newline(d + 3); x.raw("<value xsi:type=\"IVL_PQ\">")
            x.newline(d + 4); x.raw("<low value=\""); x.decimal(range.low, dec); x.raw("\" unit=\""); x.plain(inst.units.name(unit)); x.raw("\"/>")
            x.newline(d + 4); x.raw("<high value=\""); x.decimal(range.high, dec); x.raw("\" unit=\""); x.plain(inst.units.name(unit)); x.raw("\"/>")
            x.newline(d + 3); x.raw("</value>")
            x.newline(d + 2); x.raw("</observationRange>")
            x.newline(d + 1); x.raw("</referenceRange>")
        }
        x.newline(d); x.raw("</observation>")
    }

    private func pq(_ v: Int, _ dec: Int, _ unit: CheckupUnit, _ inst: CheckupInstitution) {
        x.raw("<value xsi:type=\"PQ\" value=\""); x.decimal(v, dec)
        x.raw("\" unit=\""); x.plain(inst.units.name(unit)); x.raw("\"/>")
    }
}
