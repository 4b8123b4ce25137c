import Foundation

/// What kenpo's own XML formats (cost notices, prescriptions) share: a versioned root element in a
/// kenpo namespace, the 被保険者 block, and leaf elements whose text is the value. Elements are
/// matched by local name inside the format's namespace; unknown ones are ignored.
public class KenpoXMLDocument {
    let parser: XMLStreamParser
    /// Local names of the open elements in the format's namespace, root first.
    var path: [String] = []
    var text: TextCollector
    var subject = DocumentSubject()
    var problem: DocumentProblem?
    private let namespaceBytes: [UInt8]
    /// Where the records go as they are read (see `HealthRecordSink`); nil: the document holds them.
    var sink: HealthRecordSink?
    /// 被保険者 has been read to its end: a sink may take records from now on.
    private(set) var subjectRead = false
    /// Records read (通知 / 調剤), kept or handed over.
    private var records = 0
    /// The first record that lacks a required part, refused once the document is read (after the
    /// problems `checkSubject` reports first).
    private var incomplete: DocumentProblem?

    init(parser: XMLStreamParser, namespace: String) {
        self.parser = parser
        text = TextCollector(parser: parser)
        namespaceBytes = Array(namespace.utf8)
    }

    public func startElement(_ name: XMLName, attributes: XMLAttributes) {
        guard name.namespaceEquals(namespaceBytes) else { path.append(""); return }
        let local = name.localString
        path.append(local)
        if path.count == 1, let v = attributes.string("版"), !(v == "1" || v.hasPrefix("1.")) {
            fail(DocumentProblem(.unknownDocument, line: parser.line, "\(local) version \(v) is not supported (this kenpo reads version 1); see pipelines/formats/README.md"))
        }
        text.begin()
    }

    public func endElement(_ name: XMLName) {
        let value = text.take()
        let local = path.last ?? ""
        if path.count == 3 && path[1] == "被保険者" {
            switch local {
            case "保険者番号": subject.insurerNumber = value
            case "記号": subject.symbol = value
            case "番号": subject.number = value
            case "枝番": subject.branch = value
            case "カナ氏名": subject.kanaName = value
            case "生年月日": subject.birthDate = value
            case "性別": subject.sex = value
            default: break
            }
        } else if !local.isEmpty {
            leaf(local, value: value, depth: path.count)
        }
        endOf(local, depth: path.count)
        if path.count == 2 && local == "被保険者" {
            subjectRead = true
            subjectWasRead()
        }
        path.removeLast()
    }

    public func characters(_ bytes: UnsafeRawBufferPointer) { text.append(bytes) }

    /// A leaf element's text (override).
    func leaf(_ local: String, value: String, depth: Int) {}
    /// Any element of the namespace closing (override).
    func endOf(_ local: String, depth: Int) {}

    /// 被保険者 has just been read to its end (override: hand the records held so far to the sink).
    func subjectWasRead() {}

    func fail(_ p: DocumentProblem) { if problem == nil { problem = p } }

    /// A record whose end tag was just read: counted, what it lacks noted (`missing`, nil if complete),
    /// and handed to the sink once 被保険者 is read; before then, or without a sink, `held` keeps it.
    /// With a sink, a document refused whatever follows keeps none (the records held so far go too).
    func record<Record>(_ r: Record, missing: DocumentProblem?, held: inout [Record], _ take: (HealthRecordSink, Record) -> Void) {
        records += 1
        if incomplete == nil { incomplete = missing }
        guard let sink else { return held.append(r) }
        if problem != nil || incomplete != nil { return held = [] }
        if subjectRead { take(sink, r) } else { held.append(r) }
    }

    /// With a sink: hands it the records `held` until 被保険者 was read (none if the document is
    /// refused already) and empties `held`. Without one the document keeps them.
    func handOver<Record>(_ held: inout [Record], _ take: (HealthRecordSink, Record) -> Void) {
        guard let sink else { return }
        if problem == nil && incomplete == nil { for r in held { take(sink, r) } }
        held = []
    }

    /// `checkSubject`, then that the document holds a record (`none`: the message if not) and that each is complete.
    func checkRecords(none: String) throws {
        try checkSubject()
        guard records > 0 else { throw DocumentProblem(.documentIncomplete, line: 1, none) }
        if let incomplete { throw incomplete }
    }

    func checkSubject() throws {
        if let problem { throw problem }
        guard subjectRead else { throw DocumentProblem(.documentIncomplete, line: 1, "the document has no 被保険者 block (whose record it is)") }
        guard !subject.insurerNumber.isEmpty, !subject.number.isEmpty, !subject.birthDate.isEmpty else {
            throw DocumentProblem(.documentIncomplete, line: 1, "被保険者 needs 保険者番号, 番号 and 生年月日")
        }
    }
}

extension XMLName {
    func namespaceEquals(_ bytes: [UInt8]) -> Bool {
        guard let ns = namespace else { return bytes.isEmpty }
        return bytes.withUnsafeBufferPointer { b in memcmp(ns, b.baseAddress!, b.count) == 0 && ns[b.count] == 0 }
    }
}

/// Whole-yen amounts: "78040", "78,040", full-width digits; never a decimal or a sign.
public enum YenAmount {
    public static func parse(_ raw: String) -> Int? {
        let s = Normalise.foldWidth(raw).trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { return nil }
        let groups = s.split(separator: ",", omittingEmptySubsequences: false)
        for (i, g) in groups.enumerated() {
            guard !g.isEmpty, g.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            // Digit grouping, if used, must be in threes after the first group.
            if groups.count > 1 && i > 0 && g.utf8.count != 3 { return nil }
            if groups.count > 1 && i == 0 && g.utf8.count > 3 { return nil }
        }
        let digits = groups.joined()
        guard digits.utf8.count <= 15 else { return nil }
        return Int(digits)
    }
}

/// Whole numbers of days etc.
enum WholeNumber {
    static func parse(_ raw: String) -> Int? {
        let s = Normalise.foldWidth(raw).trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty, s.utf8.count <= 9, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(s)
    }
}
