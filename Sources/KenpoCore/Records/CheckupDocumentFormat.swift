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
    /// Element names seen in this document, by libxml2's interned pointer: a small open-addressing
    /// table (a Dictionary hashed every element with SipHash: 3% of an import).
    private var nameKeys = [UInt](repeating: 0, count: 128)
    private var nameValues = [E](repeating: .other, count: 128)
    private var nameCount = 0
    private var namesGeneration = -1
    private var stack: [E] = []
    private var inRecordTarget = 0, inAuthor = 0, inDocumentationOf = 0
    private var text: TextCollector
    private var doc = CheckupDocument()
    private var kanaCandidates: [(use: String, text: String)] = []
    private var nameUse = ""

    /// Import mode: `finish` leaves `CheckupDocument.results` empty and the results stay in
    /// `results` / `arena` (bytes, no String per value) for the import to encode as rows.
    var compact = false
    /// Every observation value of the document, back to back (see `CompactResult`).
    private(set) var arena: [UInt8] = []
    /// The document's results in document order, once `finish` has run.
    private(set) var results: [CompactResult] = []

    /// The value type as given in `xsi:type` (prefix dropped).
    enum GivenType: UInt8 { case none, pq, cd, co, ce, cv, st, ed, ivlPQ, other }

    /// An observation being read; nested ones stack up.
    private struct Open {
        var result = CompactResult()
        var seq: Int
        var hasValue = false
        var negated = false
        var valueType = GivenType.none
        var inValue = false
        var inReference = false
        var inRange = false
        var ivlLow = ByteRange(), ivlHigh = ByteRange(), ivlLowUnit = ByteRange(), ivlHighUnit = ByteRange()
    }
    private var open: [Open] = []
    private var done: [(Int, CompactResult)] = []
    private var seq = 0
    private var problem: DocumentProblem?
    /// Units as written → kenpo's spelling (a document repeats a few units many times).
    private var unitCache: [(raw: [UInt8], unit: ByteRange)] = []
    private var unitArena: [UInt8] = []

    public static func recognises(_ root: XMLName, attributes: XMLAttributes) -> Bool {
        root.localIs("ClinicalDocument") && root.namespaceIs("urn:hl7-org:v3")
    }

    public init(parser: XMLStreamParser) {
        self.parser = parser
        text = TextCollector(parser: parser)
        stack.reserveCapacity(32)
    }

    /// Makes the reader ready for the next document (kept: buffers and the unit spellings). Element
    /// names are interned per parse, so their cache goes.
    func reset() {
        // Names stay interned (the same pointers) while the parser keeps its dictionary.
        if nameCount > 0 && namesGeneration != parser.dictionaryGeneration {
            for i in nameKeys.indices { nameKeys[i] = 0 }
            nameCount = 0
        }
        namesGeneration = parser.dictionaryGeneration
        stack.removeAll(keepingCapacity: true)
        inRecordTarget = 0; inAuthor = 0; inDocumentationOf = 0
        text = TextCollector(parser: parser)
        doc = CheckupDocument()
        kanaCandidates.removeAll(keepingCapacity: true)
        nameUse = ""
        arena.removeAll(keepingCapacity: true)
        results.removeAll(keepingCapacity: true)
        open.removeAll(keepingCapacity: true)
        done.removeAll(keepingCapacity: true)
        seq = 0
        problem = nil
    }

    @inline(__always)
    private func resolve(_ n: XMLName) -> E {
        let key = UInt(bitPattern: n.key)
        var slot = Int(truncatingIfNeeded: (key >> 3) &* 0x9E37_79B9) & 127
        while nameKeys[slot] != 0 {
            if nameKeys[slot] == key { return nameValues[slot] }
            slot = (slot + 1) & 127
        }
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
        if n.namespaceIs("urn:hl7-org:v3"), nameCount < 96 {
            nameKeys[slot] = key
            nameValues[slot] = e
            nameCount += 1
        }
        return e
    }

    /// Copies bytes into the arena.
    @inline(__always)
    private func keep(_ b: UnsafeRawBufferPointer) -> ByteRange {
        guard b.count > 0 else { return ByteRange() }
        let r = ByteRange(start: Int32(arena.count), count: Int32(b.count))
        arena.append(contentsOf: b)
        return r
    }

    /// An attribute's value kept in the arena (empty when absent).
    @inline(__always)
    private func keep(_ attributes: XMLAttributes, _ name: StaticString) -> ByteRange {
        guard let b = attributes.bytes(name) else { return ByteRange() }
        return keep(b)
    }

    private func keep(_ s: String) -> ByteRange {
        var s = s
        return s.withUTF8 { keep(UnsafeRawBufferPointer($0)) }
    }

    /// A unit in kenpo's spelling (`UnitSpelling`), kept in the arena.
    private func unit(_ raw: UnsafeRawBufferPointer) -> ByteRange {
        guard raw.count > 0 else { return keep(UnitSpelling.normalise("")) }
        for (k, u) in unitCache where k.count == raw.count && k.withUnsafeBytes({ memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }) {
            return unitArena.withUnsafeBytes { keep(UnsafeRawBufferPointer(rebasing: $0[Int(u.start)..<Int(u.end)])) }
        }
        let normalised = UnitSpelling.normalise(String(decoding: raw, as: UTF8.self))
        if unitCache.count < 64 {
            var n = normalised
            let r = n.withUTF8 { p -> ByteRange in
                let r = ByteRange(start: Int32(unitArena.count), count: Int32(p.count))
                unitArena.append(contentsOf: p)
                return r
            }
            unitCache.append((Array(raw), r))
        }
        return keep(normalised)
    }

    /// A unit kept earlier in the arena (IVL_PQ sides), in kenpo's spelling.
    private func unit(of r: ByteRange) -> ByteRange {
        let raw = Array(arena[Int(r.start)..<Int(r.end)])
        return raw.withUnsafeBytes { unit($0) }
    }

    private func string(_ r: ByteRange) -> String {
        arena.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[Int(r.start)..<Int(r.end)]), as: UTF8.self) }
    }

    /// The type in `xsi:type`, its namespace prefix dropped.
    private static func givenType(_ attributes: XMLAttributes) -> GivenType {
        guard var t = attributes.bytes("type") else { return .none }
        if let colon = t.lastIndex(of: 0x3A) { t = UnsafeRawBufferPointer(rebasing: t[(colon + 1)...]) }
        func is_(_ s: StaticString) -> Bool { t.count == s.utf8CodeUnitCount && memcmp(t.baseAddress!, s.utf8Start, t.count) == 0 }
        if t.isEmpty { return .none }
        if is_("PQ") { return .pq }
        if is_("CD") { return .cd }
        if is_("CO") { return .co }
        if is_("CE") { return .ce }
        if is_("CV") { return .cv }
        if is_("ST") { return .st }
        if is_("ED") { return .ed }
        if is_("IVL_PQ") { return .ivlPQ }
        return .other
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
                let v = keep(attributes, "value")
                if open[i].inRange {
                    if e == .low { open[i].result.referenceLow = v } else { open[i].result.referenceHigh = v }
                } else if open[i].inValue {
                    let u = keep(attributes, "unit")
                    if e == .low { open[i].ivlLow = v; open[i].ivlLowUnit = u } else { open[i].ivlHigh = v; open[i].ivlHighUnit = u }
                }
            }
        case .observation:
            var o = Open(seq: seq)
            seq += 1
            o.negated = attributes.value("negationInd", is: "true")
            if let nf = attributes.bytes("nullFlavor") { o.result.nullFlavor = keep(nf) }
            if let outer = open.last { o.result.groupCode = outer.result.itemCode }
            open.append(o)
        case .code:
            if parent == .observation, !open.isEmpty, open[open.count - 1].result.itemCode.isEmpty {
                open[open.count - 1].result.itemCode = keep(attributes, "code")
            }
        case .value:
            guard !open.isEmpty else { return }
            let i = open.count - 1
            if parent == .observation {
                open[i].hasValue = true
                open[i].inValue = true
                let type = Self.givenType(attributes)
                // Beyond the measurable range (入力最大値以上 / 入力最小値以下), as the MHLW reference
                // software writes it: the measured PQ (since FY2013; some institutions omit it), then a
                // CD value H or L in HL7's ObservationInterpretation code system.
                if type != .pq, attributes.value("codeSystem", is: "2.16.840.1.113883.5.83"),
                   attributes.value("code", is: "H") || attributes.value("code", is: "L") {
                    open[i].result.outOfRange = keep(attributes, "code")
                    open[i].valueType = .pq
                    open[i].inValue = false
                    return
                }
                open[i].valueType = type
                if let nf = attributes.bytes("nullFlavor") { open[i].result.nullFlavor = keep(nf) }
                switch type {
                case .pq:
                    open[i].result.valueText = keep(attributes, "value")
                    open[i].result.unit = unit(attributes.bytes("unit") ?? UnsafeRawBufferPointer(start: nil, count: 0))
                case .cd, .co, .ce, .cv:
                    open[i].result.codedValue = keep(attributes, "code")
                    open[i].result.codeSystem = keep(attributes, "codeSystem")
                case .st, .ed:
                    text.begin()
                default: break
                }
            } else if parent == .observationRange && open[i].inReference {
                open[i].inRange = true
            }
        case .interpretationCode:
            if parent == .observation, !open.isEmpty {
                open[open.count - 1].result.interpretation = keep(attributes, "code")
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
            if open[i].valueType == .st || open[i].valueType == .ed {
                open[i].result.valueText = keep(text.take())
            } else if open[i].valueType == .ivlPQ {
                // A value beyond the measurable range: only one side given. Above the upper bound
                // ("> 500") is a low side without a high; below the lower bound ("< 5") the reverse.
                if !open[i].ivlLow.isEmpty && open[i].ivlHigh.isEmpty {
                    open[i].result.outOfRange = keep("H"); open[i].result.valueText = open[i].ivlLow
                    open[i].result.unit = unit(of: open[i].ivlLowUnit)
                } else if open[i].ivlLow.isEmpty && !open[i].ivlHigh.isEmpty {
                    open[i].result.outOfRange = keep("L"); open[i].result.valueText = open[i].ivlHigh
                    open[i].result.unit = unit(of: open[i].ivlHighUnit)
                }
                open[i].ivlLow = ByteRange(); open[i].ivlHigh = ByteRange()
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
                case .pq: o.result.valueType = .pq
                case .cd, .ce, .cv: o.result.valueType = .cd
                case .co: o.result.valueType = .co
                case .ivlPQ: o.result.valueType = o.result.outOfRange.isEmpty ? .ivlPQ : .pq
                default: o.result.valueType = .st
                }
            } else {
                return  // a group: its code is carried by the nested results
            }
            if o.result.itemCode.isEmpty {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "an observation has no code/@code"))
                return
            }
            if o.result.valueType == .pq && !o.result.valueText.isEmpty && !arena.withUnsafeBytes({ DecimalText.isDecimal(UnsafeRawBufferPointer(rebasing: $0[Int(o.result.valueText.start)..<Int(o.result.valueText.end)])) }) {
                fail(DocumentProblem(.documentIncomplete, line: parser.line, "observation \(string(o.result.itemCode)): value '\(string(o.result.valueText))' is not a decimal number"))
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
        results = done.map(\.1)
        if !compact {
            doc.results = results.map { r in
                var c = CheckupResult()
                c.itemCode = string(r.itemCode); c.valueType = r.valueType; c.valueText = string(r.valueText)
                c.unit = string(r.unit); c.codedValue = string(r.codedValue); c.codeSystem = string(r.codeSystem)
                c.interpretation = string(r.interpretation); c.outOfRange = string(r.outOfRange)
                c.referenceLow = string(r.referenceLow); c.referenceHigh = string(r.referenceHigh)
                c.groupCode = string(r.groupCode); c.nullFlavor = string(r.nullFlavor)
                return c
            }
        }
        return .checkup(doc)
    }
}

/// Where a value lies in a document's byte arena (`CheckupDocumentFormat.arena`).
struct ByteRange: Equatable {
    var start: Int32 = 0
    var count: Int32 = 0
    var isEmpty: Bool { count == 0 }
    var end: Int32 { start + count }
}

/// One observation as the import reads it: every value a range of the document's arena, the same
/// values `CheckupResult` holds as Strings.
struct CompactResult {
    var itemCode = ByteRange(), valueText = ByteRange(), unit = ByteRange(), codedValue = ByteRange()
    var codeSystem = ByteRange(), interpretation = ByteRange(), outOfRange = ByteRange()
    var referenceLow = ByteRange(), referenceHigh = ByteRange(), groupCode = ByteRange(), nullFlavor = ByteRange()
    var valueType: CheckupResult.ValueType = .st
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
