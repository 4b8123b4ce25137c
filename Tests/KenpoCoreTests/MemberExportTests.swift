import Foundation
import Testing
@testable import KenpoCore

/// The member export (data rights): stored records written back as hc08 CDA and kenpo XML that the
/// import reads back to exactly the stored values; one ZIP per person with export.json; unknown and
/// malformed person ids refused by name; export requests; the import skipping export.json.
struct MemberExportTests {
    static let schema: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent().appendingPathComponent("shared/reference/hc08-xsd/hc08_V08.xsd").path
    }()

    let exportDate = CalendarDate(year: 2026, month: 11, day: 21)!

    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "kenpo-export-\(UUID().uuidString)"
        try? FileSystem.makeDirectory(d)
        return d
    }

    func read(_ bytes: [UInt8]) -> HealthDocument? {
        if case .success(let d) = HealthDocumentReader().read(MemoryByteSource(bytes, displayName: "export.xml")) { return d }
        return nil
    }

    /// Paths xmllint does not report as valid against hc08_V08.xsd.
    func invalidAgainstHc08(_ paths: [String]) throws -> [String] {
        let log = NSTemporaryDirectory() + "kenpo-export-xmllint-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let handle = FileHandle(forWritingAtPath: log)!
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["xmllint", "--noout", "--nonet", "--schema", Self.schema] + paths
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        let failed = paths.filter { !text.contains($0 + " validates") }
        return failed.isEmpty && p.terminationStatus != 0 ? ["xmllint exit \(p.terminationStatus): \(text.prefix(300))"] : failed
    }

    static var member: MemberRecord {
        var m = MemberRecord()
        m.personID = "1d18ed023e17ccd0"
        m.insurerNumber = "06139992"; m.symbol = "8001"; m.number = "77"; m.branch = "00"
        m.symbolKey = "8001"; m.numberKey = "77"; m.kanaKey = "タカハシケンイチ"; m.birthDate = "1950-01-01"
        m.kanaName = "タカハシ　ケンイチ"; m.kanjiName = "髙橋　健一"; m.sex = "M"; m.relationship = "insured"
        m.qualifiedDate = "2019-05-01"; m.status = .active; m.cardAliases = "06139992:8001:77"
        return m
    }

    typealias R = ExportCheckupDocument.Result

    /// Every value form the import stores, and awkward combinations of columns.
    static let results: [R] = {
        var out: [R] = []
        func add(_ code: String, _ type: String, text: String = "", unit: String = "", coded: String = "", system: String = "",
                 interp: String = "", oor: String = "", low: String = "", high: String = "", group: String = "", null: String = "") {
            out.append(R(seq: out.count + 1, itemCode: code, itemName: "項目\(out.count)", valueType: type, valueText: text, unit: unit,
                         codedValue: coded, codeSystem: system, interpretation: interp, outOfRange: oor, referenceLow: low,
                         referenceHigh: high, groupCode: group, nullFlavor: null))
        }
        add("3D046000001906202", "PQ", text: "5.60", unit: "%", interp: "H", low: "4.6", high: "5.5")   // precision kept
        add("9N001000000000001", "PQ", text: "05.0", unit: "cm")                                       // leading zero kept
        add("3F015000002327101", "PQ", text: "2000", unit: "mg/dl", oor: "H")                          // value, then CD H
        add("3F077000002327101", "PQ", oor: "L")                                                       // CD L only
        add("3B035000002327201", "PQ", unit: "U/l")                                                    // unit, no value
        add("3B045000002327201", "PQ")                                                                 // an empty PQ
        add("3F070000002327101", "PQ", text: "-1.5", unit: "mg/dl", low: "40")                         // sign, low bound only
        add("3D010000001926101", "PQ", text: "+108", unit: "mg/dl", high: "99")                       // high bound only
        add("1A020000000191111", "CO", coded: "1", system: "1.2.392.200119.6.2102")
        add("9N141000000000011", "CD", coded: "2", system: "1.2.392.200119.6.2104", interp: "A")
        add("9N506000000000011", "CD", coded: "3")                                                     // no code system
        add("9N511000000000049", "ST", text: "特定保健指導の対象です。")
        add("9N501000000000011", "ST", text: "所見①：<異常> & \"経過\" 'OK'\r\n二行目\tタブ")           // escaping, CR, TAB
        add("9N502000000000011", "ST")                                                                 // empty text
        add("9N503000000000011", "ST", text: "約5")                                                   // not a decimal
        add("9N504000000000011", "ST", text: "5.6")                                                   // decimal text as ST
        add("3B090000002327101", "IVL_PQ")
        add("3C015000002327101", "NOT_DONE")
        add("3C016000002327101", "NOT_DONE", null: "NA")
        add("3C017000002327101", "NOT_DONE", text: "7.1", unit: "mg/dl")
        add("3B035000002327201", "NOT_MEASURED", null: "NI")
        add("3B036000002327201", "NOT_MEASURED", unit: "U/l", null: "UNK")
        add("3B037000002327201", "NOT_MEASURED", text: "測定不能", null: "OTH")
        add("3B038000002327201", "NOT_MEASURED", coded: "9", system: "1.2.392.200119.6.2104", null: "NAV")
        add("3B039000002327201", "NOT_MEASURED", oor: "H", null: "NI")
        add("9A751000000000001", "PQ", text: "142", unit: "mmHg", interp: "H", group: "9A750000000000001")   // a group
        add("9A752000000000001", "PQ", text: "138", unit: "mmHg", interp: "1", group: "9A750000000000001")   // non-HL7 interpretation
        add("9A761000000000001", "PQ", text: "88", unit: "mmHg", group: "9A760000000000001")                 // next group
        add("9A762000000000001", "NOT_MEASURED", group: "9A760000000000001", null: "NI")
        add("9N001000000000002", "PQ", text: "170", unit: "cm")                                        // after a group, none again
        add("9N505000000000011", "CD", text: "12.5", unit: "mg", coded: "2", system: "1.2.392.200119.6.2104")   // PQ then CD
        add("9N507000000000011", "CD", text: "陽性", coded: "2", system: "1.2.392.200119.6.2104")     // ST then CD
        add("9N508000000000011", "ST", text: "所見", unit: "mm", coded: "1", system: "1.2.392.200119.6.2104")  // CD, PQ, ST
        add("9N509000000000011", "PQ", text: "3.2", unit: "mg/dl", coded: "1", system: "1.2.392.200119.6.2104") // CD then PQ
        add("9N510000000000011", "CD", coded: "1", system: "1.2.392.200119.6.2104", oor: "H")         // bound then CD
        add("9N512000000000011", "ST", text: "高値", oor: "L")                                          // bound then ST
        add("9N513000000000011", "IVL_PQ", text: "4", unit: "mg/dl")                                   // PQ then an empty IVL_PQ
        return out
    }()

    static let head = ExportCheckupDocument.Head(checkupID: "8746775f9aaa2181", checkupDate: "2025-11-05",
                                                 institutionNumber: "1310000011", institutionName: "かもめ健診センター & 分院",
                                                 documentDate: "2025-11-20")

    @Test func everyStoredValueFormReadsBackExactly() throws {
        var w = CDAWriter()
        let bytes = ExportCheckupDocument.render(Self.head, results: Self.results, member: Self.member, writer: &w)
        guard case .checkup(let doc)? = read(bytes) else {
            Issue.record("the export does not read back: \(HealthDocumentReader().read(MemoryByteSource(bytes)))"); return
        }
        // What the checkup id and the version decision use.
        #expect(RecordRows.isoDate(doc.checkupDate) == "2025-11-05")
        #expect(RecordRows.isoDate(doc.documentDate) == "2025-11-20")
        #expect(doc.institutionNumber == "1310000011" && doc.institutionName == "かもめ健診センター & 分院")
        // The card of the member master, so the import attaches it to the same person.
        #expect(doc.subject.insurerNumber == "06139992" && doc.subject.symbol == "8001" && doc.subject.number == "77")
        #expect(doc.subject.branch == "00" && doc.subject.kanaName == "タカハシ　ケンイチ" && doc.subject.birthDate == "19500101")
        #expect(doc.subject.sex == "1")
        // Every column the content hash covers (item name and analyte come from the item master).
        #expect(doc.results.count == Self.results.count)
        for (r, s) in zip(doc.results, Self.results) {
            let got = [r.itemCode, r.valueType.rawValue, r.valueText, r.unit, r.codedValue, r.codeSystem, r.interpretation,
                       r.outOfRange, r.referenceLow, r.referenceHigh, r.groupCode, r.nullFlavor]
            let want = [s.itemCode, s.valueType, s.valueText, s.unit, s.codedValue, s.codeSystem, s.interpretation,
                        s.outOfRange, s.referenceLow, s.referenceHigh, s.groupCode, s.nullFlavor]
            #expect(got == want, "seq \(s.seq)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("<value xsi:type=\"PQ\" value=\"5.60\" unit=\"%\"/>"))
        #expect(text.contains("<value xsi:type=\"PQ\" value=\"2000\" unit=\"mg/dl\"/>\n              <value xsi:type=\"CD\" code=\"H\" codeSystem=\"2.16.840.1.113883.5.83\" displayName=\"以上\"/>"))
        #expect(text.contains("<value xsi:type=\"PQ\" nullFlavor=\"NI\"/>"))
        #expect(text.contains("negationInd=\"true\""))
        #expect(text.contains("&#13;"))
        #expect(text.contains("<templateId root=\"1.2.392.200119.6.1009\" extension=\"hc08_V08\"/>"))
    }

    @Test func exportedCheckupsAreValidHc08() throws {
        let dir = tempDir()
        defer { FileSystem.removeTree(dir) }
        var w = CDAWriter()
        var paths: [String] = []
        // The full set, and a minimal member: no symbol, no branch, unknown sex, no document date.
        var bare = Self.member
        bare.symbol = ""; bare.branch = ""; bare.sex = ""
        var head = Self.head
        head.documentDate = ""
        head.institutionName = ""
        for (i, (h, m, results)) in [(Self.head, Self.member, Self.results), (head, bare, Array(Self.results.prefix(3))),
                                     (head, bare, [])].enumerated() {
            let path = dir + "/c\(i).xml"
            try Data(ExportCheckupDocument.render(h, results: results, member: m, writer: &w)).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        #expect(try invalidAgainstHc08(paths).isEmpty)
        // Without a document date the import reads none (and none was stored).
        guard case .checkup(let doc)? = read(Array(FileManager.default.contents(atPath: paths[1])!)) else {
            Issue.record("minimal export does not read back"); return
        }
        #expect(doc.documentDate == "" && doc.subject.symbol == "" && doc.subject.branch == "" && doc.institutionName == "")
    }

    @Test func costNoticesAndPrescriptionsReadBackExactly() throws {
        let insured = KenpoInsured(insurerNumber: "06139992", symbol: "本社12", number: "77", branch: nil, kana: "ﾀｶﾊｼ ｹﾝｲﾁ",
                                   birthDate: CalendarDate(year: 1950, month: 1, day: 1)!)
        let notices = [
            CostNoticeLine(year: 2026, month: 8, category: "外来", days: 2, institution: "かもめ内科 <本院> & \"分院\"",
                           total: 1_234_567, insurer: 864_197, publicFunds: 0, counter: 370_370),
            CostNoticeLine(year: 2026, month: 12, category: "調剤", days: 1, institution: "つばめ薬局", total: 3210, insurer: 2000,
                           publicFunds: 247, counter: 963),
        ]
        guard case .costNotices(let n)? = read(CostNoticeWriter().render(insured, notices, style: .export)) else {
            Issue.record("cost notices do not read back"); return
        }
        #expect(n.subject.symbol == "本社12" && n.subject.branch == "" && n.subject.kanaName == "ﾀｶﾊｼ ｹﾝｲﾁ" && n.subject.birthDate == "1950-01-01")
        #expect(n.notices.map { [$0.month, $0.category, String($0.days), $0.institution, String($0.totalCost), String($0.insurerPaid),
                                 String($0.publicPaid), String($0.counterPaid)] } ==
                [["2026-08", "外来", "2", "かもめ内科 <本院> & \"分院\"", "1234567", "864197", "0", "370370"],
                 ["2026-12", "調剤", "1", "つばめ薬局", "3210", "2000", "247", "963"]])

        let drug = DispensingLine.Drug(code: "620004422", name: "アムロジピン錠5mg", ingredient: nil, dose: "0.50", unit: "錠",
                                       directions: "1日1回\r\n朝食後", days: 28)
        var noDose = drug
        noDose.dose = ""; noDose.code = ""
        let dispensings = [
            DispensingLine(date: CalendarDate(year: 2026, month: 9, day: 12)!, institution: "かもめ内科", pharmacy: "つばめ薬局",
                           drugs: [drug, noDose]),
            DispensingLine(date: CalendarDate(year: 2026, month: 9, day: 13)!, institution: "", pharmacy: "院外 & 薬局", drugs: [drug]),
            DispensingLine(date: CalendarDate(year: 2026, month: 9, day: 14)!, institution: "かもめ病院", pharmacy: nil, drugs: [drug]),
        ]
        guard case .prescriptions(let p)? = read(PrescriptionWriter().render(insured, dispensings, style: .export)) else {
            Issue.record("prescriptions do not read back"); return
        }
        #expect(p.dispensings.map { [$0.date, $0.institution, $0.pharmacy] } ==
                [["2026-09-12", "かもめ内科", "つばめ薬局"], ["2026-09-13", "", "院外 & 薬局"], ["2026-09-14", "かもめ病院", ""]])
        #expect(p.dispensings[0].drugs.map { [$0.code, $0.name, $0.ingredient, $0.dose, $0.unit, $0.directions, String($0.days)] } ==
                [["620004422", "アムロジピン錠5mg", "", "0.50", "錠", "1日1回\r\n朝食後", "28"],
                 ["", "アムロジピン錠5mg", "", "", "錠", "1日1回\r\n朝食後", "28"]])
    }

    // MARK: the export of a state

    /// A state generation with two members (one without records) and one record of each kind;
    /// tables in another column order, with a column kenpo does not know.
    func writeState(_ dir: String) throws {
        var other = Self.member
        other.personID = "2a2a2a2a2a2a2a2a"; other.number = "78"; other.numberKey = "78"; other.cardAliases = "06139992:8001:78"
        let members = try CSVWriter(path: dir + "/members.csv", header: MemberRecord.header)
        members.row(Self.member.fields); members.row(other.fields)
        _ = try members.close()
        let pid = Self.member.personID
        func table(_ name: String, _ header: [String], _ rows: [[String: String]]) throws {
            let w = try CSVWriter(path: dir + "/" + name, header: header)
            for r in rows { w.row(header.map { r[$0] ?? "" }) }
            _ = try w.close()
        }
        let checkupHeader = ["person_id", "checkup_id", "checkup_date", "institution_number", "institution_name", "document_date",
                             "result_count", "content_hash", "source", "source_file", "future_column"]
        try table("checkups.csv", checkupHeader, [
            ["person_id": pid, "checkup_id": "8746775f9aaa2181", "checkup_date": "2025-11-05", "institution_number": "1310000011",
             "institution_name": "かもめ健診センター", "document_date": "2025-11-20", "source": "member_upload"],
            ["person_id": "9999999999999999", "checkup_id": "0000000000000001", "checkup_date": "2025-11-05"],
        ])
        var resultHeader = RecordKind.checkup.tables[1].header
        resultHeader.swapAt(3, 7)
        resultHeader.append("some_new_column")
        try table("checkup_results.csv", resultHeader, Self.results.reversed().map { r in
            ["checkup_id": "8746775f9aaa2181", "person_id": pid, "seq": String(r.seq), "item_code": r.itemCode, "item_name": r.itemName,
             "value_type": r.valueType, "value_text": r.valueText, "unit": r.unit, "coded_value": r.codedValue,
             "code_system": r.codeSystem, "interpretation": r.interpretation, "out_of_range": r.outOfRange,
             "reference_low": r.referenceLow, "reference_high": r.referenceHigh, "group_code": r.groupCode,
             "null_flavor": r.nullFlavor, "grade": "B", "some_new_column": "x"]
        })
        try table("cost_notices.csv", RecordKind.costNotice.tables[0].header, [
            ["notice_id": "6c4660608b32e25e", "person_id": pid, "month": "2026-08", "category": "外来", "days": "2",
             "institution": "かもめ内科クリニック", "total_cost": "78040", "insurer_paid": "54628", "public_paid": "0", "counter_paid": "23412"],
            ["notice_id": "59d0815724621aae", "person_id": pid, "month": "2025-12", "category": "調剤", "days": "1",
             "institution": "つばめ薬局", "total_cost": "3210", "insurer_paid": "2247", "public_paid": "0", "counter_paid": "963"],
        ])
        try table("prescriptions.csv", RecordKind.prescription.tables[0].header, [
            ["dispensing_id": "40300bacb7ecdf8a", "person_id": pid, "dispensed_date": "2026-09-12", "institution": "かもめ内科クリニック",
             "pharmacy": "つばめ薬局", "drug_seq": "2", "drug_code": "610463107", "drug_name": "ロスバスタチン錠2.5mg",
             "dose": "1", "unit": "錠", "directions": "1日1回夕食後", "days": "28"],
            ["dispensing_id": "40300bacb7ecdf8a", "person_id": pid, "dispensed_date": "2026-09-12", "institution": "かもめ内科クリニック",
             "pharmacy": "つばめ薬局", "drug_seq": "1", "drug_code": "620004422", "drug_name": "アムロジピン錠5mg",
             "ingredient": "アムロジピンベシル酸塩", "dose": "1", "unit": "錠", "directions": "1日1回朝食後", "days": "28"],
        ])
    }

    func entries(_ zip: String) throws -> [String: [UInt8]] {
        let a = try ZipArchive(path: zip)
        var out: [String: [UInt8]] = [:]
        for e in a.entries { out[e.name] = try a.readAll(e) }
        return out
    }

    @Test func oneZipPerPersonWithEveryRecordAndAManifest() throws {
        let state = tempDir(), out = tempDir() + "/exports"
        defer { FileSystem.removeTree(state); FileSystem.removeTree((out as NSString).deletingLastPathComponent) }
        try writeState(state)
        let export = MemberExport(stateDirectory: state, exportDate: exportDate)
        let outcomes = try export.export(persons: ["1D18ED023E17CCD0", "2a2a2a2a2a2a2a2a", "ffffffffffffffff", "nobody", "1d18ed023e17ccd0"], to: out)
        #expect(outcomes.map(\.personID) == ["1d18ed023e17ccd0", "2a2a2a2a2a2a2a2a", "ffffffffffffffff", "nobody"])
        guard case .exported(let r) = outcomes[0], case .exported(let empty) = outcomes[1] else { Issue.record("\(outcomes)"); return }
        #expect(outcomes[2] == .refused(personID: "ffffffffffffffff", reason: .unknownPerson,
                                        message: "person ffffffffffffffff is not in the member master (members.csv of state \((state as NSString).lastPathComponent))"))
        if case .refused(_, let reason, let message) = outcomes[3] { #expect(reason == .requestInvalid && message.contains("'nobody'")) } else { Issue.record("nobody exported") }

        #expect(r.file.path == out + "/kenpo-export-1d18ed023e17ccd0-2026-11-21.zip")
        var st = stat()
        #expect(stat(r.file.path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(r.counts == {
            var c = ExportCounts(); c.checkups = 1; c.checkupResults = Self.results.count; c.costNotices = 2; c.dispensings = 1; c.prescriptionDrugs = 2
            return c
        }())
        let files = try entries(r.file.path)
        #expect(files.keys.sorted() == ["checkups/8746775f9aaa2181.xml", "cost-notices/cost-notices-2025.xml",
                                        "cost-notices/cost-notices-2026.xml", "export.json", "prescriptions/prescriptions-2026.xml"])
        // The manifest names each file's format and version, the person, the date and the counts.
        let m = try JSONDecoder().decode(ExportManifest.self, from: Data(files["export.json"]!))
        #expect(m.format == "kenpo-export" && m.version == 1 && m.personID == "1d18ed023e17ccd0" && m.exportDate == "2026-11-21")
        #expect(m.counts == r.counts)
        #expect(m.files.map { "\($0.path) \($0.format) \($0.version) \($0.records)" } == [
            "checkups/8746775f9aaa2181.xml MHLW hc08 (HL7 CDA R2) V08 1",
            "cost-notices/cost-notices-2025.xml kenpo-cost-notice 1 1",
            "cost-notices/cost-notices-2026.xml kenpo-cost-notice 1 1",
            "prescriptions/prescriptions-2026.xml kenpo-prescription 1 1",
        ])
        for f in m.files { #expect(f.sha256 == SHA256Digest.hex(of: files[f.path]!)) }
        #expect(ExportManifest.recognise(files["export.json"]!) == "1d18ed023e17ccd0")

        // Results in stored order whatever the row order; drugs by drug_seq.
        guard case .checkup(let c)? = read(files["checkups/8746775f9aaa2181.xml"]!) else { Issue.record("checkup"); return }
        #expect(c.results.map(\.itemCode) == Self.results.map(\.itemCode))
        #expect(c.results.map(\.valueText) == Self.results.map(\.valueText))
        guard case .prescriptions(let p)? = read(files["prescriptions/prescriptions-2026.xml"]!) else { Issue.record("rx"); return }
        #expect(p.dispensings.count == 1 && p.dispensings[0].drugs.map(\.code) == ["620004422", "610463107"])
        #expect(p.dispensings[0].drugs.map(\.ingredient) == ["アムロジピンベシル酸塩", ""])

        // A member without records gets an export with zero records: export.json alone.
        #expect(empty.counts == ExportCounts())
        #expect(try entries(empty.file.path).keys.sorted() == ["export.json"])

        // The same state and date give the same bytes.
        let again = try export.export(person: "1d18ed023e17ccd0", to: out + "/again")
        #expect(again.file.sha256 == r.file.sha256)
        #expect(throws: KenpoError.self) { _ = try export.export(person: "ffffffffffffffff", to: out) }
    }

    @Test func theImportSkipsTheManifestButReadsEveryDocument() throws {
        let state = tempDir(), out = tempDir()
        defer { FileSystem.removeTree(state); FileSystem.removeTree(out) }
        try writeState(state)
        let r = try MemberExport(stateDirectory: state, exportDate: exportDate).export(person: "1d18ed023e17ccd0", to: out)
        let (files, jobs) = try ImportExpansion.expand([ImportInput(path: r.file.path)])
        #expect(files.count == 1)
        #expect(jobs.map(\.display).map { String($0.split(separator: "!").last!) }.sorted() ==
                ["/checkups/8746775f9aaa2181.xml", "/cost-notices/cost-notices-2025.xml", "/cost-notices/cost-notices-2026.xml",
                 "/prescriptions/prescriptions-2026.xml"])
        #expect(jobs.allSatisfy { $0.refused == nil })

        // An export.json that is not kenpo's manifest is a document like any other (and rejected as one).
        let fake = out + "/fake.zip"
        let z = try ZipWriter(path: fake)
        try z.add(name: "export.json", bytes: Array("{\"format\": \"something-else\"}".utf8))
        try z.add(name: "readme.json", bytes: Array("{\"format\": \"kenpo-export\"}".utf8))
        try z.finish()
        let (_, fakeJobs) = try ImportExpansion.expand([ImportInput(path: fake)])
        #expect(fakeJobs.map { String($0.display.split(separator: "!").last!) } == ["/export.json", "/readme.json"])
        #expect(ExportManifest.recognise(Array("not json".utf8)) == nil)
    }

    @Test func exportRequestsAreReadAndRefusedByReason() throws {
        let dir = tempDir()
        defer { FileSystem.removeTree(dir) }
        let path = dir + "/requests.csv"
        try Data("\u{FEFF}request_id,person_id,note\r\nEX-1,1d18ed023e17ccd0,a\r\nEX-2, 1D18ED023E17CCD0 ,b\r\nEX-3,12345,c\r\n,1d18ed023e17ccd0,d\r\nEX-5,1d18ed023e17ccd0\r\n".utf8)
            .write(to: URL(fileURLWithPath: path))
        let reader = try ExportRequestReader(path: path)
        let records = try reader.readAll()
        #expect(records.count == 5 && reader.recordsRead == 5)
        #expect(records[0] == .request(ExportRequest(requestID: "EX-1", personID: "1d18ed023e17ccd0"), line: 2))
        #expect(records[1] == .request(ExportRequest(requestID: "EX-2", personID: "1d18ed023e17ccd0"), line: 3))
        if case .rejected(let reason, _, let line, _) = records[2] { #expect(reason == .requestInvalid && line == 4) } else { Issue.record("\(records[2])") }
        if case .rejected(let reason, _, _, _) = records[3] { #expect(reason == .fieldMissing) } else { Issue.record("\(records[3])") }
        if case .rejected(let reason, _, _, _) = records[4] { #expect(reason == .columnCount) } else { Issue.record("\(records[4])") }

        try Data("person,request\r\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.csv"))
        #expect(throws: KenpoError.self) { _ = try ExportRequestReader(path: dir + "/bad.csv") }

        // Two requests for one person share one file.
        let state = tempDir()
        defer { FileSystem.removeTree(state) }
        try writeState(state)
        let requests = records.compactMap { if case .request(let r, _) = $0 { return r } else { return nil } }
        let done = try MemberExport(stateDirectory: state, exportDate: exportDate).export(requests: requests, to: dir + "/out")
        #expect(done.map(\.request.requestID) == ["EX-1", "EX-2"])
        #expect(done.allSatisfy { if case .exported(let r) = $0.outcome { return r.file.path.hasSuffix("kenpo-export-1d18ed023e17ccd0-2026-11-21.zip") } else { return false } })
    }
}
