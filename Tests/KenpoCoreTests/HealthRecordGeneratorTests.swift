import Foundation
import Testing
@testable import KenpoCore

/// The synthetic health records: checkups valid against the MHLW hc08 schema with every value kind,
/// transfer sets valid against ix08/su08, cost notices and prescriptions that parse and add up,
/// the same bytes for the same seed, and subjects that are exactly the roster's valid rows.
struct HealthRecordGeneratorTests {
    let runDate = CalendarDate(year: 2026, month: 11, day: 21)!

    /// The MHLW schema set: `../shared/reference/hc08-xsd` next to the repository.
    static let schemaFolder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // …/Tests/KenpoCoreTests/x.swift → repository root
        return url.deletingLastPathComponent().appendingPathComponent("shared/reference/hc08-xsd").path
    }()

    func tempRoot() -> String { NSTemporaryDirectory() + "kenpo-hr-\(UUID().uuidString)" }

    /// People aged 40–74 on the run date, half men, from two insurers, with awkward card details.
    func subjects(_ n: Int) -> [HealthRecordSubject] {
        var rng = SeededRandom(seed: 99)
        let kana = ["ヤマダ\u{3000}タロウ", "サトウ\u{3000}キョウコ", "ゴトウ\u{3000}ジュンペイ", "ショウジ\u{3000}ユウコ"]
        let symbols = ["1234", "本社12", "５６７８", "営業3"]
        return (0..<n).map { i in
            let born = CalendarDate.fromDaysSinceEpoch(runDate.daysSinceEpoch - (41 + rng.below(33)) * 365 - rng.below(300))
            return HealthRecordSubject(profile: i % 3 == 0 ? "tsubame" : "kamome",
                                       insurerNumber: i % 3 == 0 ? "06271234" : "06139992",
                                       symbol: symbols[i % 4], number: String(1_000_000 + i * 7), branch: i % 5 == 0 ? "01" : "00",
                                       kana: kana[i % 4], birthDate: born, male: i % 2 == 0, memberRef: "M\(100_000_000 + i)")
        }
    }

    func files(under root: String, suffix: String = ".xml") -> [String] {
        let e = FileManager.default.enumerator(atPath: root)
        var out: [String] = []
        while let p = e?.nextObject() as? String {
            if p.hasSuffix(suffix) && !FileSystem.isDirectory(root + "/" + p) { out.append(root + "/" + p) }
        }
        return out.sorted()
    }

    func bytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

    func contains(_ hay: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard n.count <= hay.count else { return false }
        return hay.withUnsafeBufferPointer { h in
            var i = 0
            while i + n.count <= h.count {
                if h[i] == n[0] && h[i..<(i + n.count)].elementsEqual(n) { return true }
                i += 1
            }
            return false
        }
    }

    /// Runs xmllint on `paths` (in batches); returns the files it did not report as valid/well-formed.
    func xmllint(_ arguments: [String], _ paths: [String]) throws -> [String] {
        var failures: [String] = []
        var start = 0
        while start < paths.count {
            let batch = Array(paths[start..<min(start + 200, paths.count)])
            start += batch.count
            let log = NSTemporaryDirectory() + "kenpo-xmllint-\(UUID().uuidString).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: log) }
            let handle = FileHandle(forWritingAtPath: log)!
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["xmllint", "--noout", "--nonet"] + arguments + batch
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            p.waitUntilExit()
            try handle.close()
            let text = String(decoding: bytes(log), as: UTF8.self)
            if p.terminationStatus != 0 {
                failures.append(contentsOf: batch.filter { !text.contains($0 + " validates") })
                if failures.isEmpty { failures.append("xmllint exit \(p.terminationStatus): \(text.prefix(400))") }
            }
        }
        return failures
    }

    // MARK: checkups

    @Test func checkupsValidateAgainstHc08AndCoverEveryValueKind() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        var o = HealthRecordOptions(seed: 11, runDate: runDate, checkupShare: 1, noticeShare: 0, prescriptionShare: 0,
                                    edgeCaseRate: 0.5, transferZip: false, outDirectory: root)
        o.checkupYears = 2
        let people = subjects(240)
        let written = try HealthRecordGenerator.generate(o, people: people)
        let docs = files(under: root).filter { ($0 as NSString).lastPathComponent.hasPrefix("h") }
        #expect(docs.count > 300)
        let counted = written.filter { $0.kind == "checkups" || $0.kind == "transfer" }.reduce(0) { $0 + $1.rows }
        #expect(counted == docs.count)

        let invalid = try xmllint(["--schema", Self.schemaFolder + "/hc08_V08.xsd"], docs)
        #expect(invalid.isEmpty, "not valid against hc08_V08.xsd: \(invalid.prefix(5))")

        // Every value kind and edge case, somewhere in the set (markup is ASCII, also in CP932 files).
        let all = docs.map(bytes)
        func count(_ s: String) -> Int { all.filter { contains($0, s) }.count }
        let kinds = [
            "<value xsi:type=\"PQ\" value=\"", "<value xsi:type=\"CD\" code=\"", "<value xsi:type=\"CO\" code=\"",
            "<value xsi:type=\"ST\">", "<value xsi:type=\"PQ\" nullFlavor=\"NI\"/>", "negationInd=\"true\"",
            "<value xsi:type=\"CD\" code=\"H\" codeSystem=\"2.16.840.1.113883.5.83\"",
            "<value xsi:type=\"CD\" code=\"L\" codeSystem=\"2.16.840.1.113883.5.83\"",
            "<interpretationCode code=\"H\"", "<interpretationCode code=\"L\"", "<interpretationCode code=\"N\"/>",
            "<referenceRange>", "<code nullFlavor=\"NA\"/>", "<entryRelationship typeCode=\"COMP\">",
            "<assignedPerson><name>", "code=\"9N516000000000049\"", "code=\"3F069000002391901\"", "code=\"3D04500000",
            "&lt;", "encoding=\"Shift_JIS\"", "\r\n", "<id root=\"1.2.392.200119.6.211\"",
            "unit=\"mg/dl\"", "unit=\"mg/dL\"", "unit=\"U/l\"", "unit=\"U/L\"", "unit=\"mmHg\"", "unit=\"mm[Hg]\"",
        ]
        for k in kinds { #expect(count(k) > 0, "no document has \(k)") }
        // A value above the input range written as the measured value and then the H code.
        let boundPair = all.contains { doc in
            contains(doc, "\"/>\n              <value xsi:type=\"CD\" code=\"H\" codeSystem=\"2.16.840.1.113883.5.83\" displayName=\"")
        }
        #expect(boundPair)
        #expect(all.filter { $0.starts(with: [0xEF, 0xBB, 0xBF]) }.count > 0, "no document has a BOM")

        // Several institutions; every document names its person exactly as the subject.
        let index = try String(contentsOfFile: root + "/kamome/health_records.csv", encoding: .utf8)
            + (try String(contentsOfFile: root + "/tsubame/health_records.csv", encoding: .utf8))
        let rows = index.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            .filter { $0[0] == "checkup" }
        #expect(rows.count == docs.count)
        #expect(Set(rows.map { $0[4] }).count >= 5)
        let abnormal = Double(rows.filter { $0[6] == "1" }.count) / Double(rows.count)
        #expect(abnormal > 0.12 && abnormal < 0.5, "abnormal share \(abnormal)")
        let byRef = Dictionary(uniqueKeysWithValues: people.map { ($0.memberRef, $0) })
        for row in rows.prefix(120) {
            let s = try #require(byRef[row[2]])
            let doc = bytes(root + "/" + s.profile + "/" + row[1])
            #expect(!doc.isEmpty, "\(row[1]) not found")
            #expect(contains(doc, "<id root=\"1.2.392.200119.6.101\" extension=\"\(s.insurerNumber)\"/>"))
            #expect(contains(doc, "<id root=\"1.2.392.200119.6.205\" extension=\"\(s.number)\"/>"))
            #expect(contains(doc, "<administrativeGenderCode code=\"\(s.male ? 1 : 2)\" codeSystem=\"1.2.392.200119.6.1104\"/>"))
            #expect(contains(doc, "<birthTime value=\"\(s.birthDate.compact)\"/>"))
            let checkupDate = try #require(CalendarDate(iso: row[3]))
            #expect(contains(doc, "<serviceEvent>"))
            #expect(contains(doc, "<effectiveTime value=\"\(checkupDate.compact)\"/>"))
            #expect(contains(doc, "<id root=\"1.2.392.200119.6.102\" extension=\"\(row[4])\"/>"))
        }
    }

    @Test func transferSetIndexAndSummaryValidate() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let o = HealthRecordOptions(seed: 5, runDate: runDate, edgeCaseRate: 0.3, outDirectory: root)
        let people = Array(subjects(30).filter { $0.profile == "kamome" })
        let entries = try HealthRecordGenerator.transferSet(o, subjects: people)
        let names = entries.map(\.name)
        #expect(names.prefix(2) == ["ix08_V08.xml", "su08_V08.xml"])
        #expect(names.contains("CLAIMS/") && names.contains("XSD/") && names.contains("DATA/"))
        let data = entries.filter { $0.name.hasPrefix("DATA/") && $0.name.hasSuffix(".xml") }
        #expect(data.count == people.count)
        for e in entries where !e.name.hasSuffix("/") {
            let path = root + "/" + e.name
            try FileSystem.makeDirectory((path as NSString).deletingLastPathComponent)
            try Data(e.bytes).write(to: URL(fileURLWithPath: path))
        }
        #expect(try xmllint(["--schema", Self.schemaFolder + "/ix08_V08.xsd"], [root + "/ix08_V08.xml"]).isEmpty)
        #expect(try xmllint(["--schema", Self.schemaFolder + "/su08_V08.xsd"], [root + "/su08_V08.xml"]).isEmpty)
        #expect(try xmllint(["--schema", Self.schemaFolder + "/hc08_V08.xsd"], data.map { root + "/" + $0.name }).isEmpty)

        let index = String(decoding: entries[0].bytes, as: UTF8.self)
        #expect(index.contains("<totalRecordCount value=\"\(people.count)\"/>"))
        #expect(index.contains("<receiver>\n    <id root=\"1.2.392.200119.6.101\" extension=\"06139992\"/>"))
        #expect(index.contains("<interactionType code=\"6\"/>"))
        let summary = String(decoding: entries[1].bytes, as: UTF8.self)
        func amount(_ element: String) -> Int? {
            guard let r = summary.range(of: "<\(element) value=\"") else { return nil }
            return Int(summary[r.upperBound...].prefix { $0.isNumber })
        }
        let cost = try #require(amount("totalCostAmount")), paid = try #require(amount("totalPaymentAmount"))
        #expect(amount("totalSubjectCount") == people.count)
        #expect(amount("totalClaimAmount") == cost - paid)
        #expect(cost >= 9_350 * people.count)

        // The same entries as a ZIP archive: one entry each (end-of-central-directory count).
        let zipPath = root + "/transfer.zip"
        try HealthRecordGenerator.writeTransferZip(entries, to: zipPath)
        let zip = bytes(zipPath)
        #expect(zip.starts(with: [0x50, 0x4B, 0x03, 0x04]))
        let end = Array(zip.suffix(22))
        #expect(end.prefix(4).elementsEqual([0x50, 0x4B, 0x05, 0x06]))
        #expect(Int(end[10]) | Int(end[11]) << 8 == entries.count)
    }

    @Test func transferZipIsWrittenWithTheSetsDocuments() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let o = HealthRecordOptions(seed: 3, runDate: runDate, checkupShare: 1, noticeShare: 0, prescriptionShare: 0,
                                    transferLimit: 10, outDirectory: root)
        let written = try HealthRecordGenerator.generate(o, people: subjects(120))
        let sets = written.filter { $0.kind == "transfer" }
        #expect(sets.count >= 2, "ten documents per archive should need several archives")
        for s in sets {
            #expect(s.path.hasSuffix(".zip") && s.rows >= 1 && s.rows <= 10)
            #expect(bytes(s.path).starts(with: [0x50, 0x4B, 0x03, 0x04]))
        }
        let index = try String(contentsOfFile: root + "/kamome/health_records.csv", encoding: .utf8)
        #expect(index.contains(".zip!/DATA/h1311234561"))
    }

    // MARK: determinism

    @Test func sameSeedSameBytes() throws {
        let a = tempRoot(), b = tempRoot(), c = tempRoot()
        defer { for d in [a, b, c] { FileSystem.removeTree(d) } }
        let roster = GeneratorOptions(members: 600, seed: 4, faultyShare: 0.02, runDate: runDate,
                                      profiles: try ["sample-kamome", "sample-tsubame"].map { try InsurerProfile.resolve($0, searchDirectory: Self.profilesFolder) },
                                      outDirectory: a + "-unused")
        for (dir, seed) in [(a, UInt64(8)), (b, 8), (c, 9)] {
            let o = HealthRecordOptions(seed: seed, runDate: runDate, checkupShare: 0.8, noticeShare: 0.5,
                                        prescriptionShare: 0.5, edgeCaseRate: 0.2, outDirectory: dir)
            _ = try HealthRecordGenerator.generate(o, people: RosterGenerator.subjects(roster))
        }
        let fa = files(under: a, suffix: ""), fb = files(under: b, suffix: "")
        #expect(fa.count > 100)
        #expect(fa.map { String($0.dropFirst(a.count)) } == fb.map { String($0.dropFirst(b.count)) })
        for (x, y) in zip(fa, fb) where bytes(x) != bytes(y) { Issue.record("\(x) differs for the same seed") }
        let fc = files(under: c, suffix: "")
        let same = zip(fa, fc).filter { bytes($0) == bytes($1) }.count
        #expect(same < fa.count / 2, "another seed should give other documents")
    }

    static let profilesFolder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("pipelines/profiles").path
    }()

    // MARK: notices and prescriptions

    @Test func noticesAndPrescriptionsParseAndAmountsAddUp() throws {
        let root = tempRoot()
        defer { FileSystem.removeTree(root) }
        let o = HealthRecordOptions(seed: 21, runDate: runDate, checkupShare: 0, noticeShare: 1, prescriptionShare: 1,
                                    outDirectory: root)
        let people = subjects(150)
        _ = try HealthRecordGenerator.generate(o, people: people)
        let notices = files(under: root).filter { $0.contains("/notices/") }
        let prescriptions = files(under: root).filter { $0.contains("/prescriptions/") }
        #expect(notices.count > 100 && prescriptions.count > 50)
        #expect(try xmllint([], notices + prescriptions).isEmpty)

        let decoder = CP932Decoder()
        func text(_ path: String) throws -> String {
            var b = bytes(path)
            if b.starts(with: [0xEF, 0xBB, 0xBF]) { b.removeFirst(3) }
            if contains(Array(b.prefix(60)), "Shift_JIS") { return try decoder.decode(b).get() }
            return String(decoding: b, as: UTF8.self)
        }
        func values(_ s: Substring, _ element: String) -> [String] {
            var out: [String] = []
            var rest = s[...]
            while let open = rest.range(of: "<\(element)>"), let close = rest.range(of: "</\(element)>", range: open.upperBound..<rest.endIndex) {
                out.append(String(rest[open.upperBound..<close.lowerBound]))
                rest = rest[close.upperBound...]
            }
            return out
        }
        var lines = 0, withCommas = 0, withPublic = 0, shiftJIS = 0
        let byNumber = Dictionary(people.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a })
        for path in notices {
            let t = try text(path)
            if contains(bytes(path).prefix(60).map { $0 }, "Shift_JIS") { shiftJIS += 1 }
            #expect(t.contains("<医療費通知情報 xmlns=\"urn:kenpo:xml:cost-notice:1\" 形式=\"kenpo-cost-notice\" 版=\"1\">"))
            let number = try #require(values(t[...], "番号").first)
            let s = try #require(byNumber[number])
            #expect(values(t[...], "保険者番号") == [s.insurerNumber])
            #expect(values(t[...], "生年月日").first.map { $0.replacingOccurrences(of: "-", with: "") } == s.birthDate.compact)
            for block in t.components(separatedBy: "<通知>").dropFirst() {
                lines += 1
                let b = block[...]
                func yen(_ e: String) -> Int { values(b, e).first.map { Int($0.replacingOccurrences(of: ",", with: ""))! } ?? 0 }
                if values(b, "医療費の総額").first?.contains(",") == true { withCommas += 1 }
                if yen("その他の公費の負担額") > 0 { withPublic += 1 }
                #expect(yen("医療費の総額") == yen("保険者の負担額") + yen("その他の公費の負担額") + yen("窓口相当負担額"))
                #expect(yen("医療費の総額") % 10 == 0 && yen("保険者の負担額") >= 0)
                #expect(["入院", "外来", "歯科", "調剤", "訪問看護"].contains(values(b, "診療区分").first ?? ""))
            }
        }
        #expect(lines > notices.count)
        #expect(withCommas > 0 && withCommas < lines)
        #expect(withPublic > 0, "children's notices should carry public funds")
        #expect(shiftJIS > 0)

        var drugs = 0, withoutPharmacy = 0
        for path in prescriptions {
            let t = try text(path)
            #expect(t.contains("<薬剤情報 xmlns=\"urn:kenpo:xml:prescription:1\" 形式=\"kenpo-prescription\" 版=\"1\">"))
            for block in t.components(separatedBy: "<調剤>").dropFirst() {
                if values(block[...], "薬局名称").isEmpty { withoutPharmacy += 1 }
                for code in values(block[...], "医薬品コード") {
                    drugs += 1
                    #expect(code.count == 9 || code.count == 12)
                }
                #expect(!values(block[...], "用量").isEmpty && !values(block[...], "日数").isEmpty)
            }
        }
        #expect(drugs > prescriptions.count)
        #expect(withoutPharmacy > 0, "some drugs are dispensed in the hospital")
    }

    // MARK: subjects

    @Test func subjectsAreTheRostersValidRowsAndTheRosterIsUnchanged() throws {
        let a = tempRoot(), b = tempRoot()
        defer { FileSystem.removeTree(a); FileSystem.removeTree(b) }
        let profiles = try ["sample-kamome", "sample-tsubame"].map { try InsurerProfile.resolve($0, searchDirectory: Self.profilesFolder) }
        var options = GeneratorOptions(members: 800, seed: 12, faultyShare: 0.05, runDate: runDate, profiles: profiles, outDirectory: a)
        let plain = try RosterGenerator.generate(options)
        options.outDirectory = b
        var seen: [HealthRecordSubject] = []
        _ = try RosterGenerator.generate(options, onSubject: { seen.append($0) })
        for f in ["roster.csv", "mailing.csv", "expected_rejects.csv"] {
            for p in ["sample-kamome", "sample-tsubame"] {
                #expect(bytes("\(a)/\(p)/\(f)") == bytes("\(b)/\(p)/\(f)"), "\(p)/\(f) changed with a subject callback")
            }
        }
        let listed = Array(RosterGenerator.subjects(options))
        #expect(listed == seen)
        let faulty = plain.filter { $0.kind == "roster" }.reduce(0) { $0 + $1.faultyRows }
        #expect(listed.count == 800 - faulty)
        #expect(Set(listed.map { "\($0.profile)/\($0.memberRef)" }).count == listed.count)
        // The UTF-8 roster (tsubame) carries each subject's card details on its member's row.
        let tsubame = try String(contentsOfFile: a + "/sample-tsubame/roster.csv", encoding: .utf8)
        let rows = tsubame.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for s in listed.filter({ $0.profile == "sample-tsubame" }).prefix(50) {
            let row = try #require(rows.first { $0.contains(s.memberRef) })
            #expect(row.contains(s.insurerNumber) && row.contains(s.number))
            #expect(s.kana.unicodeScalars.allSatisfy { (0x30A1...0x30FC).contains($0.value) || $0.value == 0x3000 })
        }
    }
}
