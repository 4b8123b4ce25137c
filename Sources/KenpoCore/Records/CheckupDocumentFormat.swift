import Foundation

/// The MHLW specific-checkup standard (特定健診情報ファイル, HL7 CDA R2, hc08 V08): one
/// `ClinicalDocument` per person and checkup. Paths read (see ../shared/DESIGN.md, Inputs):
/// card ids in `recordTarget/patientRole/id` by OID root, the patient's kana name, sex and birth
/// date, the checkup date in `documentationOf/serviceEvent/effectiveTime`, the institution in
/// `author/assignedAuthor/representedOrganization`, and every `observation` at any depth, nested
/// ones (through `entryRelationship`) carrying the enclosing observation's code as their group.
///
/// This is the hot reader: element names are resolved once per document by their interned pointer,
/// and only the text of elements kenpo keeps is collected.
public final class CheckupDocumentFormat: HealthDocumentFormat {
    public static let formatName = "MHLW specific checkup hc08 V08 (HL7 CDA R2)"

    static let oidInsurer = "1.2.392.200119.6.101"
    static let oidSymbol = "1.2.392.200119.6.204"
    static let oidNumber = "1.2.392.200119.6.205"
    static let oidBranch = "1.2.392.200119.6.211"
    static let oidInstitution = "1.2.392.200119.6.102"

    enum E: UInt8 {
        case other, recordTarget, patientRole, id, patient, name, gender, birthTime
        case author, assignedAuthor, organization, documentationOf, serviceEvent, effectiveTime, low, high
        case observation, code, value, interpretationCode, referenceRange, observationRange, entryRelationship
    }

    private let parser: XMLStreamParser
    private var names: [UnsafeRawPointer: E] = [:]
    private var stack: [E] = []
    private var inRecordTarget = 0, inAuthor = 0, inDocumentationOf = 0
    private var text = TextCollector()
    private var doc = CheckupDocument()
    private var kanaCandidates: [(use: String, text: String)] = []
    private var nameUse = ""

    /// An observation being read; nested ones stack up.
    private struct Open {
        var result = CheckupResult()
        var seq: Int
        var hasValue = false
        var negated = false
        var valueType = ""
        var inValue = false
        var inReference = false
        var inRange = false
        var ivlLow = "", ivlHigh = "", ivlLowUnit = "", ivlHighUnit = ""
    }
    private var open: [Open] = []
    private var done: [(Int, CheckupResult)] = []
    private var seq = 0
    private var problem: DocumentProblem?

    public static func recognises(_ root: XMLName, attributes: XMLAttributes) -> Bool {
        root.localIs("ClinicalDocument") && root.namespaceIs("urn:hl7-org:v3")
    }

    public init(parser: XMLStreamParser) {
        self.parser = parser
        names.reserveCapacity(64)
        stack.reserveCapacity(32)
    }

    @inline(__always)
    private func resolve(_ n: XMLName) -> E {
        if let e = names[n.key] { return e }
        var e = E.other
        if n.namespaceIs("urn:hl7-org:v3") {
            switch n.localString {
            case "recordTarget": e = .recordTarget
            case "patientRole": e = .patientRole
            case "id": e = .id
            case "patient": e = .patient
            case "name": e = .name
            case "administrativeGenderCode": e = .gender
            case "birthTime": e = .birthTime
            case "author": e = .author
            case "assignedAuthor": e = .assignedAuthor
            case "representedOrganization": e = .organization
            case "documentationOf": e = .documentationOf
            case "serviceEvent": e = .serviceEvent
            case "effectiveTime": e = .effectiveTime
            case "low": e = .low
            case "high": e = .high
            case "observation": e = .observation
            case "code": e = .code
            case "value": e = .value
            case "interpretationCode": e = .interpretationCode
            case "referenceRange": e = .referenceRange
            case "observationRange": e = .observationRange
            case "entryRelationship": e = .entryRelationship
            default: e = .other
            }
        }
        // The same local name in another namespace is another interned pointer only if the local
        // names differ; namespace is part of the decision, so cache per (name) only for HL7 names.
        if n.namespaceIs("urn:hl7-org:v3") { names[n.key] = e }
        return e
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) {
        let e = resolve(name)
        let parent = stack.last ?? .other
        stack.append(e)
        switch e {
        case .recordTarget: inRecordTarget += 1
        case .author: inAuthor += 1
        case .documentationOf: inDocumentationOf += 1
        case .id:
            if parent == .patientRole && inRecordTarget > 0 {
                guard let root = attributes.string("root") else { return }
                let ext = attributes.string("extension") ?? ""
                switch root {
                case Self.oidInsurer: doc.subject.insurerNumber = ext
                case Self.oidSymbol: doc.subject.symbol = ext
                case Self.oidNumber: doc.subject.number = ext
                case Self.oidBranch: doc.subject.branch = ext
                default: break
                }
            } else if parent == .organization && inAuthor > 0, attributes.value("root", is: "1.2.392.200119.6.102") {
                doc.institutionNumber = attributes.string("extension") ?? ""
            }
        case .name:
            if (parent == .patient && inRecordTarget > 0) || (parent == .organization && inAuthor > 0) {
                nameUse = attributes.string("use") ?? ""
                text.begin()
            }
        case .gender:
            if parent == .patient && inRecordTarget > 0 { doc.subject.sex = attributes.string("code") ?? "" }
        case .birthTime:
            if parent == .patient && inRecordTarget > 0 { doc.subject.birthDate = attributes.string("value") ?? "" }
        case .effectiveTime:
            if stack.count == 2, let v = attributes.string("value") { doc.documentDate = v }
            if parent == .serviceEvent && inDocumentationOf > 0, let v = attributes.string("value") { doc.checkupDate = v }
        case .low, .high:
            if parent == .effectiveTime && stack.count >= 3 && stack[stack.count - 3] == .serviceEvent && inDocumentationOf > 0 {
                if e == .low, let v = attributes.string("value") { doc.checkupDate = v }
            } else if parent == .value, !open.isEmpty {
                let i = open.count - 1
                let v = attributes.string("value") ?? ""
                if open[i].inRange {
                    if e == .low { open[i].result.referenceLow = v } else { open[i].result.referenceHigh = v }
                } else if open[i].inValue {
                    let u = attributes.string("unit") ?? ""
                    if e == .low { open[i].ivlLow = v; open[i].ivlLowUnit = u } else { open[i].ivlHigh = v; open[i].ivlHighUnit = u }
                }
            }
        case .observation:
            var o = Open(seq: seq)
            seq += 1
            o.negated = attributes.value("negationInd", is: "true")
            if let nf = attributes.string("nullFlavor") { o.result.nullFlavor = nf }
            if let outer = open.last { o.result.groupCode = outer.result.itemCode }
            open.append(o)
        case .code:
            if parent == .observation, !open.isEmpty, open[open.count - 1].result.itemCode.isEmpty {
                open[open.count - 1].result.itemCode = attributes.string("code") ?? ""
            }
        case .value:
            guard !open.isEmpty else { return }
            let i = open.count - 1
            if parent == .observation {
                open[i].hasValue = true
                open[i].inValue = true
                var type = attributes.string("type") ?? ""
                if let colon = type.lastIndex(of: ":") { type = String(type[type.index(after: colon)...]) }
                // Beyond the measurable range (入力最大値以上 / 入力最小値以下), as the MHLW reference
                // software writes it: the measured PQ (since FY2013; some institutions omit it), then a
                // CD value H or L in HL7's ObservationInterpretation code system.
                if type != "PQ", attributes.value("codeSystem", is: "2.16.840.1.113883.5.83"),
                   attributes.value("code", is: "H") || attributes.value("code", is: "L") {
                    open[i].result.outOfRange = attributes.string("code")!
                    open[i].valueType = "PQ"
                    open[i].inValue = false
                    return
                }
                open[i].valueType = type
                if let nf = attributes.string("nullFlavor") { open[i].result.nullFlavor = nf }
                switch type {
                case "PQ":
                    open[i].result.valueText = attributes.string("value") ?? ""
                    open[i].result.unit = UnitSpelling.normalise(attributes.string("unit") ?? "")
                case "CD", "CO", "CE", "CV":
                    open[i].result.codedValue = attributes.string("code") ?? ""
                    open[i].result.codeSystem = attributes.string("codeSystem") ?? ""
                case "ST", "ED":
                    text.begin()
                default: break
                }
            } else if parent == .observationRange && open[i].inReference {
                open[i].inRange = true
            }
        case .interpretationCode:
            if parent == .observation, !open.isEmpty {
                open[open.count - 1].result.interpretation = attributes.string("code") ?? ""
            }
        case .referenceRange:
            if parent == .observation, !open.isEmpty { open[open.count - 1].inReference = true }
        default: break
        }
    }

    public func endElement(_ name: XMLName) {
        let e = stack.removeLast()
        switch e {
        case .recordTarget: inRecordTarget -= 1
        case .author: inAuthor -= 1
        case .documentationOf: inDocumentationOf -= 1
        case .name:
            guard text.active else { return }
            let t = text.take()
            if stack.last == .organization { if doc.institutionName.isEmpty { doc.institutionName = t } } else { kanaCandidates.append((nameUse, t)) }
        case .value:
            guard !open.isEmpty else { return }
            let i = open.count - 1
            if open[i].inRange { open[i].inRange = false; return }
            guard open[i].inValue else { return }
            open[i].inValue = false
            if open[i].valueType == "ST" || open[i].valueType == "ED" {
                open[i].result.valueText = text.take()
            } else if open[i].valueType == "IVL_PQ" {
                // A value beyond the measurable range: only one side given. Above the upper bound
                // ("> 500") is a low side without a high; below the lower bound ("< 5") the reverse.
                if !open[i].ivlLow.isEmpty && open[i].ivlHigh.isEmpty {
                    open[i].result.outOfRange = "H"; open[i].result.valueText = open[i].ivlLow
                    open[i].result.unit = UnitSpelling.normalise(open[i].ivlLowUnit)
                } else if open[i].ivlLow.isEmpty && !open[i].ivlHigh.isEmpty {
                    open[i].result.outOfRange = "L"; open[i].result.valueText = open[i].ivlHigh
                    open[i].result.unit = UnitSpelling.normalise(open[i].ivlHighUnit)
                }
                open[i].ivlLow = ""; open[i].ivlHigh = ""
            }
        case .referenceRange:
            if !open.isEmpty { open[open.count - 1].inReference = false }
        case .observation:
            guard var o = open.popLast() else { return }
            if o.negated {
                o.result.valueType = .notDone
            } else if !o.result.nullFlavor.isEmpty {
                o.result.valueType = .notMeasured
            } else if o.hasValue {
                switch o.valueType {
                case "PQ": o.result.valueType = .pq
                case "CD", "CE", "CV": o.result.valueType = .cd
                case "CO": o.result.valueType = .co
                case "IVL_PQ": o.result.valueType = o.result.outOfRange.isEmpty ? .ivlPQ : .pq
                default: o.result.valueType = .st
                }
            } else {
                return  // a group: its code is carried by the nested results
            }
            if o.result.itemCode.isEmpty {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "an observation has no code/@code"))
                return
            }
            if o.result.valueType == .pq && !o.result.valueText.isEmpty && !DecimalText.isDecimal(o.result.valueText) {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "observation \(o.result.itemCode): value '\(o.result.valueText)' is not a decimal number"))
                return
            }
            done.append((o.seq, o.result))
        default: break
        }
    }

    public func characters(_ bytes: UnsafeRawBufferPointer) { text.append(bytes) }

    private func fail(_ p: DocumentProblem) { if problem == nil { problem = p } }

    public func finish() throws -> HealthDocument {
        if let problem { throw problem }
        // The kana name: a name marked phonetic (SYL/PHON) wins; else the first name given.
        if let k = kanaCandidates.first(where: { $0.use.contains("SYL") || $0.use.contains("PHON") }) ?? kanaCandidates.first {
            doc.subject.kanaName = k.text
        }
        var missing: [String] = []
        if doc.subject.insurerNumber.isEmpty { missing.append("insurer number (id root \(Self.oidInsurer))") }
        if doc.subject.number.isEmpty { missing.append("card number (id root \(Self.oidNumber))") }
        if doc.subject.birthDate.isEmpty { missing.append("birthTime") }
        if doc.checkupDate.isEmpty { missing.append("documentationOf/serviceEvent/effectiveTime (checkup date)") }
        if doc.institutionNumber.isEmpty { missing.append("institution id (root \(Self.oidInstitution))") }
        guard missing.isEmpty else {
            throw DocumentProblem(.documentIncomplete, line: 1, "the checkup lacks " + missing.joined(separator: ", "))
        }
        done.sort { $0.0 < $1.0 }
        doc.results = done.map(\.1)
        return .checkup(doc)
    }
}

/// One spelling per unit, the item master's (mg/dl, U/l, g/dl, mmHg, 10*4/mm3 …), whatever
/// spelling a document uses (mg/dL, U/L, mm[Hg], 10*4/uL …).
public enum UnitSpelling {
    static let table: [String: String] = [
        "mg/dl": "mg/dl", "u/l": "U/l", "iu/l": "U/l", "g/dl": "g/dl", "mmhg": "mmHg", "mm[hg]": "mmHg",
        "10*4/mm3": "10*4/mm3", "10*4/ul": "10*4/mm3", "10^4/ul": "10*4/mm3", "10^4/μl": "10*4/mm3", "10^4/µl": "10*4/mm3",
        "x10^4/ul": "10*4/mm3", "万/ul": "10*4/mm3", "万/μl": "10*4/mm3",
        "ml/min/1.73m2": "ml/min/1.73m2", "ml/min/{1.73_m2}": "ml/min/1.73m2", "ml/min/1.73m^2": "ml/min/1.73m2",
        "kg/m2": "kg/m2", "kg/m^2": "kg/m2", "cm2": "cm2", "cm^2": "cm2", "cm": "cm", "kg": "kg", "%": "%",
        "mmol/l": "mmol/l", "mg/g": "mg/g", "mg/gcr": "mg/gCr",
        "umol/l": "umol/l", "µmol/l": "umol/l", "μmol/l": "umol/l", "g/l": "g/l", "mmol/mol": "mmol/mol", "kpa": "kPa", "mm": "mm",
    ]

    public static func normalise(_ raw: String) -> String {
        let t = Normalise.foldWidth(raw).trimmingCharacters(in: .whitespaces)
        return table[t.lowercased()] ?? t
    }
}
