import Foundation
import KenpoCore
import Testing

/// `kenpo export`, run as operators run it: the built binary on the samples and on a generated
/// population. The export validates against hc08, and importing it again for the same person adds
/// and replaces nothing: every value column stays as it was; as a member upload, `member_upload`
/// joins the source lists.
@Suite struct ExportEndToEndTests {
    static let root = KenpoProcess.packageRoot.path
    static let schema = KenpoProcess.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/hc08-xsd/hc08_V08.xsd").path
    static let takahashi = "1d18ed023e17ccd0"      // Mynaportal notices and prescriptions, an uploaded checkup
    static let kamomeTaro = "38b08ac6a27a2d70"     // an insurer checkup from the transfer ZIP
    static let tables = ["checkups.csv", "checkup_results.csv", "cost_notices.csv", "prescriptions.csv"]

    /// A data folder after the nightly sample job.
    func samplesData() throws -> String {
        let data = KenpoProcess.tempDataFolder()
        let r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", data, "--date", "2026-11-21"])
        #expect(r.status == 0, "\(r.stderr)")
        return data
    }

    /// Unpacks a ZIP with kenpo's reader; returns the paths written.
    func unzip(_ zip: String, into dir: String) throws -> [String] {
        let a = try ZipArchive(path: zip)
        var out: [String] = []
        for e in a.entries where !e.isDirectory {
            let path = dir + "/" + e.path!
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(try a.readAll(e)).write(to: URL(fileURLWithPath: path))
            out.append(path)
        }
        return out
    }

    /// Files xmllint does not report as valid against hc08_V08.xsd.
    func invalidAgainstHc08(_ paths: [String]) throws -> [String] {
        var failures: [String] = []
        var start = 0
        while start < paths.count {
            let batch = Array(paths[start..<min(start + 200, paths.count)])
            start += batch.count
            let log = NSTemporaryDirectory() + "kenpo-export-xmllint-\(UUID().uuidString).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: log) }
            let handle = FileHandle(forWritingAtPath: log)!
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["xmllint", "--noout", "--nonet", "--schema", Self.schema] + batch
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            p.waitUntilExit()
            try handle.close()
            let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            if p.terminationStatus != 0 {
                failures += batch.filter { !text.contains($0 + " validates") }
                if failures.isEmpty { failures.append("xmllint exit \(p.terminationStatus): \(text.prefix(300))") }
            }
        }
        return failures
    }

    /// The health-record tables of the current state: header, rows.
    func snapshot(_ data: String) throws -> [String: [[String]]] {
        var out: [String: [[String]]] = [:]
        for t in Self.tables { out[t] = try csvRows(data + "/state/current/" + t) }
        return out
    }

    /// Every value column equal, row for row; a record's sources may only gain `allowed`.
    func expectSameValues(_ before: [String: [[String]]], _ after: [String: [[String]]], sourcesMayGain allowed: Set<String>,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        for t in Self.tables {
            guard let b = before[t], let a = after[t], let header = b.first else { Issue.record("\(t) missing", sourceLocation: sourceLocation); continue }
            #expect(a.first == header, "\(t) header", sourceLocation: sourceLocation)
            let sourceColumn = header.firstIndex(of: "source")
            func values(_ rows: [[String]]) -> [[String]] {
                rows.dropFirst().map { r in var r = r; if let s = sourceColumn { r[s] = "" }; return r }.sorted { $0.lexicographicallyPrecedes($1) }
            }
            #expect(values(a) == values(b), "\(t): value columns changed", sourceLocation: sourceLocation)
            guard let s = sourceColumn else { continue }
            let old = Dictionary(b.dropFirst().map { ($0[0], Set($0[s].split(separator: ";").map(String.init))) }, uniquingKeysWith: { x, _ in x })
            for row in a.dropFirst() {
                let new = Set(row[s].split(separator: ";").map(String.init))
                let was = old[row[0]] ?? []
                #expect(was.isSubset(of: new) && new.subtracting(was).isSubset(of: allowed),
                        "\(t) \(row[0]): sources \(was.sorted()) → \(new.sorted())", sourceLocation: sourceLocation)
            }
        }
    }

    /// Places each export ZIP in the inbox folder of its person (a member upload).
    func placeAsUploads(_ zips: [String], data: String) throws -> String {
        let inbox = data + "/inbox/import"
        for z in zips {
            let name = (z as NSString).lastPathComponent   // kenpo-export-<person>-<date>.zip
            let person = String(name.dropFirst("kenpo-export-".count).prefix(16))
            try FileManager.default.createDirectory(atPath: inbox + "/" + person, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: z, toPath: inbox + "/" + person + "/" + name)
        }
        return inbox
    }

    @Test func aSampleExportValidatesAndReimportingItChangesNoRecord() throws {
        let data = try samplesData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let out = data + "/exports"
        let r = try KenpoProcess.run(["export", "--data", data, "--date", "2026-11-21", "--person", Self.takahashi,
                                      "--person", Self.kamomeTaro, "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("exported \(Self.takahashi): \(out)/kenpo-export-\(Self.takahashi)-2026-11-21.zip: 1 checkups (20 results), 2 cost notices, 1 dispensings (1 drugs)"))
        let zips = [Self.takahashi, Self.kamomeTaro].map { "\(out)/kenpo-export-\($0)-2026-11-21.zip" }
        var st = stat()
        for z in zips { #expect(stat(z, &st) == 0 && st.st_mode & 0o777 == 0o600, "\(z) is not owner-only") }
        // Nothing personal in the log.
        #expect(!r.stderr.contains("タカハシ") && !r.stdout.contains("タカハシ"))

        // Layout and formats.
        let files = try unzip(zips[0], into: data + "/unpacked")
        let names = files.map { String($0.dropFirst(data.count + "/unpacked/".count)) }.sorted()
        #expect(names == ["checkups/8746775f9aaa2181.xml", "cost-notices/cost-notices-2026.xml", "export.json",
                          "prescriptions/prescriptions-2026.xml"])
        let manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: data + "/unpacked/export.json")))
        #expect(manifest.personID == Self.takahashi && manifest.exportDate == "2026-11-21")
        #expect(manifest.files.map { "\($0.format) \($0.version)" } == ["MHLW hc08 (HL7 CDA R2) V08", "kenpo-cost-notice 1", "kenpo-prescription 1"])
        let checkups = files.filter { $0.contains("/checkups/") } + (try unzip(zips[1], into: data + "/unpacked2")).filter { $0.contains("/checkups/") }
        #expect(checkups.count == 2)
        #expect(try invalidAgainstHc08(checkups).isEmpty)

        // Re-imported as the members' own uploads: nothing added, replaced or stale.
        let before = try snapshot(data)
        let inbox = try placeAsUploads(zips, data: data)
        let again = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-22", inbox])
        #expect(again.status == 0, "\(again.stderr)")
        let m = try Manifest.decode(path: data + "/outbox/latest/manifest.json")
        // export.json is no document: 3 + 1 XML files read, all accepted.
        #expect(m.inputs.map { $0.records } == [.init(read: 3, accepted: 3, rejected: 0), .init(read: 1, accepted: 1, rejected: 0)])
        let changes = try csvRows(data + "/outbox/latest/record_changes.csv").dropFirst()
        // Per kind: the insurer checkup, both Mynaportal notices and the dispensing gain member_upload;
        // the uploaded checkup already had it (unchanged, not listed).
        #expect(changes.map { "\($0[0]) \($0[3]) \($0[4])" }.sorted() == [
            "checkup source_added member_upload", "cost_notice source_added member_upload",
            "cost_notice source_added member_upload", "prescription source_added member_upload",
        ])
        let after = try snapshot(data)
        expectSameValues(before, after, sourcesMayGain: ["member_upload"])
        #expect(after["cost_notices.csv"]!.dropFirst().allSatisfy { $0[11] == "mynaportal;member_upload" })

        // Read as insurer data (not a member upload), it changes nothing either, and the log warns.
        let asInsurer = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-22", zips[1]])
        #expect(asInsurer.status == 0, "\(asInsurer.stderr)")
        #expect(asInsurer.stderr.contains("is a member's kenpo export read as insurer data"))
        #expect(try csvRows(data + "/outbox/latest/record_changes.csv").count == 1)
        expectSameValues(after, try snapshot(data), sourcesMayGain: [])
    }

    @Test func anUnknownPersonIsNamedAndEveryoneElseIsExported() throws {
        let data = try samplesData()
        defer { try? FileManager.default.removeItem(atPath: data) }
        // A member without any health record.
        let withRecords = Set(try Self.tables.flatMap { try csvRows(data + "/state/current/" + $0).dropFirst().map { $0[1] } })
        let bare = try #require(try csvRows(data + "/state/current/members.csv").dropFirst().map { $0[0] }.first { !withRecords.contains($0) })
        let out = data + "/exports"
        let r = try KenpoProcess.run(["export", "--data", data, "--date", "2026-11-21", "--person", "0123456789abcdef",
                                      "--person", Self.takahashi, "--person", bare, "--person", "TAKAHASHI", "--out", out])
        #expect(r.status == 2)
        #expect(r.stderr.contains("PERSON_UNKNOWN: person 0123456789abcdef is not in the member master"))
        #expect(r.stderr.contains("REQUEST_INVALID: 'takahashi' is not a person id"))
        #expect(FileManager.default.fileExists(atPath: "\(out)/kenpo-export-\(Self.takahashi)-2026-11-21.zip"))
        #expect(!FileManager.default.fileExists(atPath: "\(out)/kenpo-export-0123456789abcdef-2026-11-21.zip"))
        // No records: an export all the same, holding export.json with zero counts, and the output says so.
        #expect(r.stdout.contains("exported \(bare): \(out)/kenpo-export-\(bare)-2026-11-21.zip: 0 checkups (0 results), 0 cost notices, 0 dispensings (0 drugs); the person has no health records"))
        let files = try unzip("\(out)/kenpo-export-\(bare)-2026-11-21.zip", into: data + "/bare")
        #expect(files.map { ($0 as NSString).lastPathComponent } == ["export.json"])
        let m = try JSONDecoder().decode(ExportManifest.self, from: Data(contentsOf: URL(fileURLWithPath: files[0])))
        #expect(m.counts.records == 0 && m.files.isEmpty)
        // No state at all: a usage error, nothing written.
        let none = try KenpoProcess.run(["export", "--data", data + "/nothing", "--person", Self.takahashi, "--out", data + "/x"])
        #expect(none.status == 2 && none.stderr.contains("holds no state"))
        #expect(try KenpoProcess.run(["export", "--data", data, "--out", out]).status == 2)
    }

    @Test func aGeneratedPopulationRoundTripsEveryRecordKind() throws {
        let data = KenpoProcess.tempDataFolder(), gen = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data); try? FileManager.default.removeItem(atPath: gen) }
        let g = try KenpoProcess.run(["generate", "--members", "400", "--seed", "17", "--out", gen, "--date", "2026-11-21", "--health"])
        #expect(g.status == 0, "\(g.stderr)")
        let e = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-21",
                                      "--profile", "sample-kamome", "\(gen)/sample-kamome/roster.csv",
                                      "--profile", "sample-tsubame", "\(gen)/sample-tsubame/roster.csv"])
        #expect(e.status == 0, "\(e.stderr)")
        // Checkups (single files, Shift_JIS ones, transfer ZIPs) from the insurer; notices and prescriptions from Mynaportal.
        let mynaportal = gen + "/mynaportal"
        try FileManager.default.createDirectory(atPath: mynaportal, withIntermediateDirectories: true)
        for p in ["sample-kamome", "sample-tsubame"] {
            for k in ["notices", "prescriptions"] { try FileManager.default.moveItem(atPath: "\(gen)/\(p)/\(k)", toPath: "\(mynaportal)/\(p)-\(k)") }
        }
        let i = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-21", "\(gen)/sample-kamome/checkups", "\(gen)/sample-tsubame/checkups",
                                      "\(gen)/sample-kamome/transfer", "\(gen)/sample-tsubame/transfer", mynaportal])
        #expect(i.status == 0, "\(i.stderr)")
        let before = try snapshot(data)
        for t in Self.tables { #expect(before[t]!.count > 50, "\(t): too few records to test") }

        let persons = Set(Self.tables.flatMap { before[$0]!.dropFirst().map { $0[1] } }).sorted()
        let out = data + "/exports"
        let x = try KenpoProcess.run(["export", "--data", data, "--date", "2026-11-22", "--out", out] + persons.flatMap { ["--person", $0] })
        #expect(x.status == 0, "\(x.stderr)")
        let zips = persons.map { "\(out)/kenpo-export-\($0)-2026-11-22.zip" }
        var checkups: [String] = []
        for (n, z) in zips.enumerated() { checkups += try unzip(z, into: "\(data)/unpacked/\(n)").filter { $0.contains("/checkups/") } }
        #expect(checkups.count == before["checkups.csv"]!.count - 1)
        #expect(try invalidAgainstHc08(checkups).isEmpty)

        let inbox = try placeAsUploads(zips, data: data)
        let r = try KenpoProcess.run(["import", "--data", data, "--date", "2026-11-22", inbox])
        #expect(r.status == 0, "\(r.stderr)")
        let changes = try csvRows(data + "/outbox/latest/record_changes.csv").dropFirst()
        #expect(Set(changes.map { $0[3] }) == ["source_added"])
        #expect(Set(changes.map { $0[0] }) == ["checkup", "cost_notice", "prescription"])
        #expect(changes.count == before["checkups.csv"]!.count - 1 + before["cost_notices.csv"]!.count - 1
                + Set(before["prescriptions.csv"]!.dropFirst().map { $0[0] }).count)
        expectSameValues(before, try snapshot(data), sourcesMayGain: ["member_upload"])
    }

    /// The nightly pipeline's `[export]` section: the sample request exports Takahashi into the run's
    /// outbox, listed in the manifest with its request file reconciled.
    @Test func thePipelinesExportRequestsLandInTheRunsOutbox() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", data, "--date", "2026-11-21"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = data + "/outbox/latest"
        let zip = "exports/kenpo-export-1d18ed023e17ccd0-2026-11-21.zip"
        #expect(FileManager.default.fileExists(atPath: out + "/" + zip))
        let m = try Manifest.decode(path: out + "/manifest.json")
        #expect(m.outputs.contains { $0.path == zip })
        let input = try #require(m.inputs.first { $0.kind == "export_requests" })
        #expect(input.records == .init(read: 1, accepted: 1, rejected: 0))
        #expect(m.summary["exports_written"] == 1)
    }
}
