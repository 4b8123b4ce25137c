import Foundation
import Testing
@testable import KenpoCore

/// Reads one document from memory.
func readDocument(_ text: String) -> Result<HealthDocument, DocumentProblem> {
    HealthDocumentReader().read(MemoryByteSource(Array(text.utf8), displayName: "test.xml"))
}

func readDocument(bytes: [UInt8]) -> Result<HealthDocument, DocumentProblem> {
    HealthDocumentReader().read(MemoryByteSource(bytes, displayName: "test.xml"))
}

/// A CDA checkup with the given observations (entries inside one section).
func cda(_ entries: String, serviceDate: String = "20260425", fileDate: String = "20260510",
         ids: String = """
    <id root="1.2.392.200119.6.101" extension="06139992"/><id root="1.2.392.200119.6.204" extension="8001"/>
    <id root="1.2.392.200119.6.205" extension="77"/><id root="1.2.392.200119.6.211" extension="00"/>
    """, declaration: String = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>") -> String {
    """
    \(declaration)
    <ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <effectiveTime value="\(fileDate)"/>
      <recordTarget><patientRole>\(ids)
        <patient><name use="IDE">高橋　健一</name><name use="SYL">ﾀｶﾊｼ ｹﾝｲﾁ</name><administrativeGenderCode code="1"/><birthTime value="19500101"/></patient>
      </patientRole></recordTarget>
      <author><time value="\(fileDate)"/><assignedAuthor><id root="1.2.392.200119.6.102" extension="1310000001"/>
        <representedOrganization><id root="1.2.392.200119.6.102" extension="1310000001"/><name>かもめ健診センター</name></representedOrganization></assignedAuthor></author>
      <documentationOf><serviceEvent><effectiveTime value="\(serviceDate)"/></serviceEvent></documentationOf>
      <component><structuredBody><component><section>\(entries)</section></component></structuredBody></component>
    </ClinicalDocument>
    """
}

func checkup(_ r: Result<HealthDocument, DocumentProblem>) -> CheckupDocument? {
    if case .success(.checkup(let c)) = r { return c }
    return nil
}

func problem(_ r: Result<HealthDocument, DocumentProblem>) -> DocumentProblem? {
    if case .failure(let p) = r { return p }
    return nil
}

struct CheckupDocumentTests {
    @Test func patientInstitutionAndDates() throws {
        let c = try #require(checkup(readDocument(cda(""))))
        #expect(c.subject.insurerNumber == "06139992")
        #expect(c.subject.symbol == "8001")
        #expect(c.subject.number == "77")
        #expect(c.subject.branch == "00")
        #expect(c.subject.kanaName == "ﾀｶﾊｼ ｹﾝｲﾁ")   // the phonetic (SYL) name, not the kanji one
        #expect(c.subject.sex == "1")
        #expect(c.subject.birthDate == "19500101")
        #expect(c.checkupDate == "20260425")            // serviceEvent, not the file date
        #expect(c.documentDate == "20260510")
        #expect(c.institutionNumber == "1310000001")
        #expect(c.institutionName == "かもめ健診センター")
        #expect(c.results.isEmpty)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var xml: String
        var type: CheckupResult.ValueType
        var value = ""
        var unit = ""
        var coded = ""
        var interpretation = ""
        var outOfRange = ""
        var low = "", high = ""
        var nullFlavor = ""
        var testDescription: String { "\(type.rawValue) \(value)\(unit)" }
    }

    static let cases: [Case] = [
        Case(xml: #"<observation><code code="3D046000001906202"/><value xsi:type="PQ" value="5.60" unit="%"/></observation>"#,
             type: .pq, value: "5.60", unit: "%"),
        Case(xml: #"<observation><code code="3F015000002327101"/><value xsi:type="PQ" value="150" unit="mg/dL"/></observation>"#,
             type: .pq, value: "150", unit: "mg/dl"),
        Case(xml: #"<observation><code code="3B035000002327201"/><value xsi:type="PQ" value="31" unit="U/L"/></observation>"#,
             type: .pq, value: "31", unit: "U/l"),
        Case(xml: #"<observation><code code="9A751000000000001"/><value xsi:type="PQ" value="128" unit="mm[Hg]"/></observation>"#,
             type: .pq, value: "128", unit: "mmHg"),
        Case(xml: #"<observation><code code="2A030000001930101"/><value xsi:type="PQ" value="13.2" unit="g/dL"/><interpretationCode code="L"/><referenceRange><observationRange><value xsi:type="IVL_PQ"><low value="13.1" unit="g/dL"/><high value="16.3" unit="g/dL"/></value></observationRange></referenceRange></observation>"#,
             type: .pq, value: "13.2", unit: "g/dl", interpretation: "L", low: "13.1", high: "16.3"),
        Case(xml: #"<observation><code code="1A020000000191111"/><value xsi:type="CO" code="3" codeSystem="1.2.392.200119.6.2102"/></observation>"#,
             type: .co, coded: "3"),
        Case(xml: #"<observation><code code="9N141000000000011"/><value xsi:type="CD" code="2" codeSystem="1.2.392.200119.6.2104"/></observation>"#,
             type: .cd, coded: "2"),
        Case(xml: #"<observation><code code="9N511000000000049"/><value xsi:type="ST">特記事項なし</value></observation>"#,
             type: .st, value: "特記事項なし"),
        Case(xml: #"<observation><code code="3B035000002327201"/><value xsi:type="PQ" nullFlavor="NI"/></observation>"#,
             type: .notMeasured, nullFlavor: "NI"),
        Case(xml: #"<observation negationInd="true"><code code="3C015000002327101"/></observation>"#,
             type: .notDone),
        // Beyond the measurable range, as the MHLW reference software writes it: the value, then H/L.
        Case(xml: #"<observation><code code="3F015000002327101"/><value xsi:type="PQ" value="2000" unit="mg/dl"/><value xsi:type="CD" code="H" codeSystem="2.16.840.1.113883.5.83" displayName="以上"/></observation>"#,
             type: .pq, value: "2000", unit: "mg/dl", outOfRange: "H"),
        Case(xml: #"<observation><code code="3C015000002327101"/><value xsi:type="CD" code="L" codeSystem="2.16.840.1.113883.5.83" displayName="以下"/></observation>"#,
             type: .pq, outOfRange: "L"),
        Case(xml: #"<observation><code code="3F015000002327101"/><value xsi:type="IVL_PQ"><low value="1000" unit="mg/dl"/></value></observation>"#,
             type: .pq, value: "1000", unit: "mg/dl", outOfRange: "H"),
        Case(xml: #"<observation><code code="3C015000002327101"/><value xsi:type="IVL_PQ"><high value="0.10" unit="mg/dl"/></value></observation>"#,
             type: .pq, value: "0.10", unit: "mg/dl", outOfRange: "L"),
    ]

    @Test("each value type and flag", arguments: cases)
    func valueTypes(_ c: Case) throws {
        let doc = try #require(checkup(readDocument(cda("<entry>\(c.xml)</entry>"))))
        #expect(doc.results.count == 1)
        let r = try #require(doc.results.first)
        #expect(r.valueType == c.type)
        #expect(r.valueText == c.value)
        #expect(r.unit == c.unit)
        #expect(r.codedValue == c.coded)
        #expect(r.interpretation == c.interpretation)
        #expect(r.outOfRange == c.outOfRange)
        #expect(r.referenceLow == c.low)
        #expect(r.referenceHigh == c.high)
        #expect(r.nullFlavor == c.nullFlavor)
    }

    @Test func nestedGroupsKeepDocumentOrderAndGroupCode() throws {
        let xml = """
        <entry><observation><code code="9A750000000000001"/>
          <entryRelationship typeCode="COMP"><observation><code code="9A751000000000001"/><value xsi:type="PQ" value="128" unit="mmHg"/></observation></entryRelationship>
          <entryRelationship typeCode="COMP"><observation><code code="9A752000000000001"/><value xsi:type="PQ" value="124" unit="mmHg"/></observation></entryRelationship>
        </observation></entry>
        <entry><observation><code code="9N001000000000001"/><value xsi:type="PQ" value="170.2" unit="cm"/></observation></entry>
        """
        let doc = try #require(checkup(readDocument(cda(xml))))
        #expect(doc.results.map(\.itemCode) == ["9A751000000000001", "9A752000000000001", "9N001000000000001"])
        #expect(doc.results.map(\.groupCode) == ["9A750000000000001", "9A750000000000001", ""])
    }

    @Test func missingServiceDateIsIncomplete() throws {
        let xml = cda("").replacingOccurrences(of: "<documentationOf><serviceEvent><effectiveTime value=\"20260425\"/></serviceEvent></documentationOf>", with: "")
        let p = try #require(problem(readDocument(xml)))
        #expect(p.reason == .documentIncomplete)
        #expect(p.message.contains("serviceEvent"))
    }

    @Test func nonDecimalPQIsRefused() throws {
        let p = try #require(problem(readDocument(cda(#"<entry><observation><code code="3F015000002327101"/><value xsi:type="PQ" value="1,5" unit="mg/dl"/></observation></entry>"#))))
        #expect(p.reason == .documentIncomplete)
    }

    @Test func utf8BOMIsRead() throws {
        let doc = checkup(readDocument(bytes: [0xEF, 0xBB, 0xBF] + Array(cda("").utf8)))
        #expect(doc?.institutionNumber == "1310000001")
    }

    @Test func shiftJISDeclarationIsReadAsCP932() throws {
        // ① (NEC special) and ～ exist in CP932 but not in strict Shift_JIS.
        let text = cda(#"<entry><observation><code code="9N511000000000049"/><value xsi:type="ST">所見①～なし</value></observation></entry>"#,
                       declaration: #"<?xml version="1.0" encoding="Shift_JIS"?>"#)
        let (bytes, bad) = CP932Encoder().encode(text)
        #expect(bad.isEmpty)
        let doc = try #require(checkup(readDocument(bytes: bytes)))
        #expect(doc.results.first?.valueText == "所見①～なし")
        #expect(doc.institutionName == "かもめ健診センター")
    }
}

struct UntrustedXMLTests {
    @Test func doctypeIsRefusedBeforeAnyEntity() throws {
        let xml = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
        <lolz>&lol2;</lolz>
        """
        let p = try #require(problem(readDocument(xml)))
        #expect(p.reason == .doctypeRefused)
        #expect(p.line == 2)
    }

    @Test func externalEntityIsRefused() throws {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE x SYSTEM \"file:///etc/passwd\">\n<x/>"
        #expect(problem(readDocument(xml))?.reason == .doctypeRefused)
    }

    @Test func undeclaredEntityIsMalformed() throws {
        let p = try #require(problem(readDocument("<?xml version=\"1.0\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\">&secret;</ClinicalDocument>")))
        #expect(p.reason == .malformedXML)
    }

    @Test func truncatedDocumentIsRejectedWithItsLine() throws {
        let full = cda(#"<entry><observation><code code="9N001000000000001"/><value xsi:type="PQ" value="170" unit="cm"/></observation></entry>"#)
        let cut = String(full.prefix(full.utf8.count * 2 / 3))
        let p = try #require(problem(readDocument(cut)))
        #expect(p.reason == .malformedXML)
        #expect(p.line > 1)
        #expect(!p.message.isEmpty)
    }

    @Test func unknownRootIsRejected() throws {
        let p = try #require(problem(readDocument("<?xml version=\"1.0\"?><invoice xmlns=\"urn:x\"/>")))
        #expect(p.reason == .unknownDocument)
        #expect(p.message.contains("invoice"))
        // The right local name in the wrong namespace is not a checkup either.
        #expect(problem(readDocument("<ClinicalDocument xmlns=\"urn:other\"/>"))?.reason == .unknownDocument)
    }

    @Test func emptyFileIsMalformed() throws {
        #expect(problem(readDocument(""))?.reason == .malformedXML)
    }

    /// No value of a health document comes near 64 KB: one longer (a 105 MB name) is refused as soon
    /// as it passes the bound, text or attribute, instead of being held several times over.
    @Test(arguments: [
        ("text", TextCollector.maxBytes, true),
        ("text", TextCollector.maxBytes + 1, false),
        ("attribute", TextCollector.maxBytes, true),
        ("attribute", TextCollector.maxBytes + 1, false),
    ])
    func aValueLongerThan64KBIsRefused(_ kind: String, _ length: Int, _ accepted: Bool) throws {
        let long = String(repeating: "A", count: length)
        let xml = kind == "text"
            ? cda("").replacingOccurrences(of: "<name use=\"IDE\">高橋　健一</name>", with: "<name use=\"IDE\">\(long)</name>")
            : cda("<text id=\"\(long)\"/>")
        let r = readDocument(xml)
        if accepted {
            #expect(checkup(r) != nil, "\(String(describing: problem(r)))")
        } else {
            let p = try #require(problem(r))
            #expect(p.reason == .malformedXML)
            #expect(p.message.contains("is longer than 65536 bytes"), "\(p.message)")
        }
    }

    /// A source that cannot be read is no fault of the document: `document(from:)` throws its I/O
    /// error (the import fails on the input); a damaged stream stays a refused document.
    @Test func anIOErrorOfTheSourceIsThrownNotRejected() throws {
        final class Failing: ByteSource {
            let error: KenpoError
            init(_ error: KenpoError) { self.error = error }
            var displayName: String { "gone.xml" }
            func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { throw error }
        }
        let reader = HealthDocumentReader()
        #expect(throws: KenpoError.io(path: "gone.xml", message: "read failed: Input/output error")) {
            _ = try reader.document(from: Failing(.io(path: "gone.xml", message: "read failed: Input/output error")))
        }
        let damaged = try reader.document(from: Failing(.input(path: "a.gz", line: nil, message: "truncated gzip stream")))
        #expect(problem(damaged)?.reason == .archiveEntryRefused)
    }

    @Test func deepNestingIsRefusedNotCrashed() throws {
        let xml = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">" + String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000) + "</ClinicalDocument>"
        let p = try #require(problem(readDocument(xml)))
        #expect(p.reason == .malformedXML)
        #expect(p.message.contains("deeper"))
    }
}

struct KenpoXMLFormatTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("pipelines/formats").path

    @Test func costNoticeExampleReads() throws {
        let text = try String(contentsOfFile: Self.example + "/kenpo-cost-notice-v1.xml", encoding: .utf8)
        guard case .success(.costNotices(let d)) = readDocument(text) else { Issue.record("not read"); return }
        #expect(d.subject.insurerNumber == "06139992")
        #expect(d.subject.kanaName == "ヤマダ タロウ")
        #expect(d.notices.count == 2)
        let n = d.notices[0]
        #expect(n.month == "2026-04")
        #expect(n.category == "外来")
        #expect(n.days == 2)
        #expect(n.totalCost == 78_040)
        #expect(n.insurerPaid == 54_628)
        #expect(n.publicPaid == 0)
        #expect(n.counterPaid == 23_412)
        #expect(n.totalCost == n.insurerPaid + n.publicPaid + n.counterPaid)
    }

    @Test func prescriptionExampleReads() throws {
        let text = try String(contentsOfFile: Self.example + "/kenpo-prescription-v1.xml", encoding: .utf8)
        guard case .success(.prescriptions(let d)) = readDocument(text) else { Issue.record("not read"); return }
        #expect(d.dispensings.count == 1)
        let disp = d.dispensings[0]
        #expect(disp.date == "2026-04-15")
        #expect(disp.pharmacy == "つばめ薬局")
        #expect(disp.drugs.map(\.code) == ["620004422", "610443047"])
        #expect(disp.drugs[1].dose == "2")
        #expect(disp.drugs[1].days == 28)
    }

    @Test func costNoticeWithDecimalAmountIsRefused() throws {
        let text = try String(contentsOfFile: Self.example + "/kenpo-cost-notice-v1.xml", encoding: .utf8)
            .replacingOccurrences(of: "<医療費の総額>78,040</医療費の総額>", with: "<医療費の総額>78040.5</医療費の総額>")
        let p = try #require(problem(readDocument(text)))
        #expect(p.reason == .documentIncomplete)
        #expect(p.message.contains("医療費の総額"))
    }

    @Test func laterMajorVersionIsRefused() throws {
        let text = try String(contentsOfFile: Self.example + "/kenpo-cost-notice-v1.xml", encoding: .utf8)
            .replacingOccurrences(of: "版=\"1\"", with: "版=\"2\"")
        #expect(problem(readDocument(text))?.reason == .unknownDocument)
    }

    @Test("whole-yen amounts", arguments: [
        ("78040", 78040), ("78,040", 78040), ("1,234,567", 1_234_567), ("０", 0), ("７８，０４０", 78040),
    ])
    func yen(_ raw: String, _ expected: Int) { #expect(YenAmount.parse(raw) == expected) }

    @Test("not whole yen", arguments: ["", "78040.5", "-100", "7,8040", "1234,567", "78 040", "¥100", "1e5"])
    func notYen(_ raw: String) { #expect(YenAmount.parse(raw) == nil) }

    @Test("months", arguments: [("2026-04", "2026-04"), ("202604", "2026-04"), ("2026/4", "2026-04")])
    func month(_ raw: String, _ expected: String) { #expect(CostNoticeFormat.month(raw) == expected) }

    @Test("not months", arguments: ["2026-13", "20261", "April 2026", "2026-04-01"])
    func notMonth(_ raw: String) { #expect(CostNoticeFormat.month(raw) == nil) }
}

struct UnitSpellingTests {
    @Test("one spelling per unit", arguments: [
        ("mg/dl", "mg/dl"), ("mg/dL", "mg/dl"), ("MG/DL", "mg/dl"), ("U/l", "U/l"), ("U/L", "U/l"), ("IU/L", "U/l"),
        ("mmHg", "mmHg"), ("mm[Hg]", "mmHg"), ("g/dL", "g/dl"), ("10*4/uL", "10*4/mm3"), ("10*4/mm3", "10*4/mm3"),
        ("mL/min/{1.73_m2}", "ml/min/1.73m2"), ("kg/m2", "kg/m2"), ("%", "%"), ("ｍｇ／ｄＬ", "mg/dl"), ("mmol/L", "mmol/l"),
        ("furlongs", "furlongs"),
    ])
    func spelling(_ raw: String, _ expected: String) { #expect(UnitSpelling.normalise(raw) == expected) }
}

struct ImportSourceTests {
    @Test("the folder decides the source", arguments: [
        ("inbox/import/1d18ed023e17ccd0/a.xml", "member_upload", "1d18ed023e17ccd0"),
        ("/srv/kenpo/inbox/import/1d18ed023e17ccd0/sub/a.xml", "member_upload", "1d18ed023e17ccd0"),
        ("inbox/import/a.xml", "member_upload", ""),                 // an upload without its person: refused later
        ("bench-data/import/sample-kamome/checkups/a.xml", "insurer", ""),   // a folder merely named import
        ("inbox/mynaportal/p/a.xml", "mynaportal", ""),
        ("inbox/insurer/kamome/transfer.zip", "insurer", ""),
    ])
    func source(_ path: String, _ source: String, _ person: String) {
        let (s, p) = ImportFile.source(for: path)
        #expect(s.rawValue == source)
        #expect((p ?? "") == person)
    }
}
