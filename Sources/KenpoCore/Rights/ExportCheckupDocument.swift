import Foundation

/// A stored checkup written back as an MHLW specific-checkup document (HL7 CDA R2, hc08 V08),
/// through the generator's writer (`CDAWriter`), so that `CheckupDocumentFormat` reads back exactly
/// the stored values: the same checkup id (person, serviceEvent date, institution number), the same
/// document date (the document's own effectiveTime) and the same result columns item_code …
/// null_flavor, which the content hash covers.
///
/// The document: UTF-8, no BOM, LF, templateId `hc08_V08`, one section 01010 with the results in
/// their stored order. Results with a group code are written inside an observation of that code
/// (`entryRelationship typeCode="COMP"`). Value forms, chosen from the stored columns:
/// - PQ: `<value xsi:type="PQ" value="5.60" unit="%"/>` (decimal text and unit as stored);
///   beyond the measurable range: the PQ (when a value or unit is stored), then the CD `H`/`L`
///   in code system 2.16.840.1.113883.5.83, as the MHLW reference software writes it;
/// - CD / CO: `<value xsi:type="CD" code="…" codeSystem="…"/>`; ST: `<value xsi:type="ST">…</value>`;
///   IVL_PQ (a range whose bounds the import does not keep): `<value xsi:type="IVL_PQ"/>`;
/// - NOT_MEASURED: the value with its `nullFlavor`; NOT_DONE: `negationInd="true"` (its nullFlavor,
///   if any, on the observation);
/// - interpretationCode and referenceRange (low/high, each only when stored) as stored.
/// Grades are not written: they are kenpo's, recomputed on import.
struct ExportCheckupDocument {
    /// One row of checkups.csv, the columns the document needs.
    struct Head {
        var checkupID = ""
        var checkupDate = ""       // YYYY-MM-DD
        var institutionNumber = ""
        var institutionName = ""
        var documentDate = ""      // YYYY-MM-DD or ""
    }

    /// One row of checkup_results.csv: item_code … null_flavor (numeric_value is derived, not written).
    struct Result {
        var seq = 0
        var itemCode = ""
        var itemName = ""
        var valueType = ""
        var valueText = ""
        var unit = ""
        var codedValue = ""
        var codeSystem = ""
        var interpretation = ""
        var outOfRange = ""
        var referenceLow = ""
        var referenceHigh = ""
        var groupCode = ""
        var nullFlavor = ""
    }

    static let itemCodeSystem = "1.2.392.200119.6.1005"
    /// HL7 ObservationInterpretation codes: written with their code system; others without one.
    static let hl7Interpretations: Set<String> = ["H", "L", "N", "A", "HH", "LL", "AA", "HU", "LU", "<", ">", "I", "R", "S", "U", "D", "B", "W"]

    /// "2026-09-01" → "20260901"; anything else as stored (it was read that way).
    static func compactDate(_ s: String) -> String {
        let u = Array(s.utf8)
        guard u.count == 10, u[4] == 0x2D, u[7] == 0x2D else { return s }
        let digits = u[0..<4] + u[5..<7] + u[8..<10]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return s }
        return String(decoding: digits, as: UTF8.self)
    }

    /// "1" male, "2" female (administrativeGenderCode, code system 1.2.392.200119.6.1104); nil: unknown.
    static func sexCode(_ master: String) -> String? {
        switch master.uppercased() {
        case "M", "1", "男": return "1"
        case "F", "2", "女": return "2"
        default: return nil
        }
    }

    static func header(_ head: Head, member m: MemberRecord) -> CheckupHeader {
        var h = CheckupHeader()
        h.templateId = true
        h.languageCode = true
        h.effectiveTime = compactDate(head.documentDate)
        h.insurerNumber = m.insurerNumber
        h.symbol = m.symbol.isEmpty ? nil : m.symbol
        h.number = m.number
        h.branch = m.branch.isEmpty ? nil : m.branch
        h.kanaName = m.kanaName
        h.sex = sexCode(m.sex)
        h.birthTime = compactDate(m.birthDate)
        h.authorTime = h.effectiveTime
        h.institutionNumber = head.institutionNumber
        h.institutionName = head.institutionName.isEmpty ? nil : head.institutionName
        h.checkupDate = compactDate(head.checkupDate)
        return h
    }

    /// The results as document entries: consecutive results of one group code inside one group observation.
    static func entries(_ results: [Result]) -> [CDAEntry] {
        var out: [CDAEntry] = []
        var i = 0
        while i < results.count {
            let g = results[i].groupCode
            if g.isEmpty {
                out.append(.single(observation(results[i])))
                i += 1
                continue
            }
            var members: [CDAObservation] = []
            while i < results.count && results[i].groupCode == g {
                members.append(observation(results[i]))
                i += 1
            }
            out.append(.group(code: g, codeSystem: itemCodeSystem, members))
        }
        return out
    }

    private static func nz(_ s: String) -> String? { s.isEmpty ? nil : s }

    static func observation(_ r: Result) -> CDAObservation {
        var o = CDAObservation()
        o.code = r.itemCode
        o.codeSystem = itemCodeSystem
        o.displayName = nz(r.itemName)
        let anyValue = !r.valueText.isEmpty || !r.unit.isEmpty || !r.codedValue.isEmpty || !r.codeSystem.isEmpty || !r.outOfRange.isEmpty
        switch r.valueType {
        case "NOT_DONE":
            o.negated = true
            o.nullFlavor = nz(r.nullFlavor)
            if anyValue { o.values = values(underlying(r), r) }
        case "NOT_MEASURED":
            o.values = values(underlying(r), r)
            // The nullFlavor goes on the last value that is not the beyond-range code.
            let isBound = { (v: CDAValue) in v.codeSystem == CDAValue.interpretationSystem && (v.code == "H" || v.code == "L") }
            if let i = o.values.lastIndex(where: { !isBound($0) }) {
                o.values[i].nullFlavor = r.nullFlavor
            } else {
                o.values.insert(CDAValue(type: "PQ", nullFlavor: r.nullFlavor), at: 0)
            }
        default:
            o.values = values(r.valueType, r)
        }
        o.interpretation = nz(r.interpretation)
        if let i = o.interpretation, hl7Interpretations.contains(i) { o.interpretationSystem = CDAValue.interpretationSystem }
        if !r.referenceLow.isEmpty || !r.referenceHigh.isEmpty {
            o.range = (nz(r.referenceLow), nz(r.referenceHigh), nz(r.unit))
        }
        return o
    }

    /// The value type a not-measured / not-done result had, as far as its columns tell.
    private static func underlying(_ r: Result) -> String {
        if !r.codedValue.isEmpty || !r.codeSystem.isEmpty { return "CD" }
        if !r.valueText.isEmpty && !DecimalText.isDecimal(r.valueText) { return "ST" }
        return "PQ"
    }

    /// The value elements that make `CheckupDocumentFormat` set exactly these columns. Each element
    /// sets some columns and the value type (the last one's wins, except that the beyond-range code
    /// makes it PQ), so the element naming the type comes last — after the beyond-range code, except
    /// for PQ.
    static func values(_ type: String, _ r: Result) -> [CDAValue] {
        let coded = !r.codedValue.isEmpty || !r.codeSystem.isEmpty
        let bound: CDAValue? = r.outOfRange.isEmpty ? nil : .bound(high: r.outOfRange == "H")
        func codedValue(_ t: String) -> CDAValue { CDAValue(type: t, code: nz(r.codedValue), codeSystem: nz(r.codeSystem)) }
        /// Elements carrying value_text and unit: a PQ (decimal text), or a PQ with the unit alone and an ST.
        func textCarriers(always: Bool) -> [CDAValue] {
            if r.valueText.isEmpty || DecimalText.isDecimal(r.valueText) {
                return always || !r.valueText.isEmpty || !r.unit.isEmpty ? [.pq(nz(r.valueText), unit: nz(r.unit))] : []
            }
            return (r.unit.isEmpty ? [] : [.pq(nil, unit: r.unit)]) + [CDAValue(type: "ST", text: r.valueText)]
        }
        var out: [CDAValue] = []
        switch type {
        case "PQ":
            if coded { out.append(codedValue("CD")) }
            out += textCarriers(always: bound == nil)
            if let bound { out.append(bound) }
        case "CD", "CO":
            if let bound { out.append(bound) }
            out += textCarriers(always: false)
            out.append(codedValue(type))
        case "IVL_PQ":
            if let bound { out.append(bound) }
            if coded { out.append(codedValue("CD")) }
            out += textCarriers(always: false)
            out.append(CDAValue(type: "IVL_PQ"))
        default:  // ST (and any other type the import stored as text)
            if let bound { out.append(bound) }
            if coded { out.append(codedValue("CD")) }
            if !r.unit.isEmpty { out.append(.pq(nil, unit: r.unit)) }
            out.append(CDAValue(type: "ST", text: r.valueText))
        }
        return out
    }

    /// The whole document (UTF-8).
    static func render(_ head: Head, results: [Result], member: MemberRecord, writer w: inout CDAWriter) -> [UInt8] {
        let h = header(head, member: member)
        w.begin(lineEnd: [0x0A], bom: false, shiftJIS: false, schemaLocation: false)
        w.header(h)
        w.beginBody()
        w.section(code: "01010", title: "特定健診検査・問診結果", entries: entries(results))
        w.endBody()
        return w.finish(shiftJIS: false)
    }
}
