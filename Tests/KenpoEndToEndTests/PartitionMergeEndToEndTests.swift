import Foundation
import KenpoCore
import Testing

/// A night split over machines: the samples run as partitions (each its own `--data`, same `--date`,
/// same key file, the same sample files), merged with `kenpo merge`, equal one run of
/// `samples.pipeline` — by insurer, and by health-document file within one night.
///
/// What is compared, and how:
/// - `members.csv`, `member_changes.csv` (person-id order), `insurers/*/rejects.csv` and the export ZIPs:
///   byte for byte.
/// - the health-record tables and `record_changes.csv`: one run writes them in the order it read its
///   documents, which interleaves the partitions' files; the merge writes them by person id, then
///   record id. So: the same header, the same byte count, and one run's rows in that order (stable)
///   equal the merged rows field for field.
/// - `access_codes.csv`: as above by person id, without `code_hash`: codes are drawn from the system's
///   secure random generator, so no two runs (partitioned or not) issue the same code. The postcards
///   print those codes: their row counts are compared.
/// - `rejects.csv`: the same rows (one run lists them in the order it read its inputs across insurers;
///   the merge partition by partition).
/// - `insurers/*/summary.csv`: byte for byte once each file's run id is blanked (it names its run).
@Suite struct PartitionMergeEndToEndTests {
    static let date = "2026-11-21"

    /// A deployment root: pipelines/ and samples/ copied, so every pipeline in it names the same files.
    static func deployment() throws -> String {
        let root = KenpoProcess.tempDataFolder()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for folder in ["pipelines", "samples"] {
            try FileManager.default.copyItem(atPath: KenpoProcess.packageRoot.path + "/" + folder, toPath: root + "/" + folder)
        }
        return root
    }

    /// A partition's pipeline; inputs stay in place (`keep`) so every partition and the one run read them.
    static func pipeline(_ root: String, _ name: String, _ sections: String) throws -> String {
        let path = root + "/pipelines/\(name).pipeline"
        try ("[pipeline]\nname = \(name)\nrejects_exit_status = 0\n\n" + sections + "\n[archive]\nmode = keep\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs a pipeline into its own data folder; returns the published outbox.
    static func run(_ pipeline: String, data: String) throws -> String {
        let r = try CodesEndToEndTests.run(["run", pipeline, "--data", data, "--date", date])
        #expect(r.status == 0, "\(pipeline): \(r.stdout) \(r.stderr)")
        return data + "/outbox/latest"
    }

    /// Every health document `samples.pipeline` imports (its [import] folders), relative to the root.
    static func healthDocuments(_ root: String) -> [String] {
        var out: [String] = []
        func walk(_ rel: String) {
            for name in FileSystem.listDirectory(root + "/" + rel) {
                let r = rel + "/" + name
                if FileSystem.isDirectory(root + "/" + r) { walk(r) } else { out.append(r) }
            }
        }
        for folder in ["samples/health/insurer", "samples/health/mynaportal", "samples/health/import"] { walk(folder) }
        return out.sorted()
    }

    static let sampleCodes = """
        [codes]
        key_file = samples/keys/demo-code-key

        """

    // MARK: comparing with one run

    static func body(_ path: String) throws -> (header: [String], rows: [[String]]) {
        let all = try csvRows(path)
        return (all.first ?? [], Array(all.dropFirst()))
    }

    /// Rows in the order of `columns`, ties in their order in the file.
    static func sorted(_ rows: [[String]], by columns: [Int]) -> [[String]] {
        rows.enumerated().sorted { a, b in
            for c in columns where a.element[c] != b.element[c] { return a.element[c] < b.element[c] }
            return a.offset < b.offset
        }.map(\.element)
    }

    static func replacing(_ bytes: [UInt8], _ what: String, with: String) -> [UInt8] {
        let w = Array(what.utf8), r = Array(with.utf8)
        var out: [UInt8] = [], i = 0
        while i < bytes.count {
            if i + w.count <= bytes.count && Array(bytes[i..<(i + w.count)]) == w { out += r; i += w.count } else { out.append(bytes[i]); i += 1 }
        }
        return out
    }

    /// `exports`: whether the partitions ran the one run's export requests.
    static func expectSameAsOneRun(one: String, merged: String, partitions: [String], exports: Bool = true) throws {
        var oneManifest = try Manifest.decode(path: one + "/manifest.json")
        if !exports { oneManifest.outputs.removeAll { $0.path.hasPrefix("exports/") } }
        let m = try MergeManifest.decode(path: merged + "/manifest.json")

        for f in ["members.csv", "member_changes.csv"] {
            #expect(fileBytes(merged + "/" + f) == fileBytes(one + "/" + f), "\(f) byte for byte")
        }
        for (f, columns) in [("checkups.csv", [1, 0]), ("checkup_results.csv", [1, 0]), ("cost_notices.csv", [1, 0]),
                             ("prescriptions.csv", [1, 0]), ("record_changes.csv", [2, 1])] {
            let a = try body(one + "/" + f), b = try body(merged + "/" + f)
            #expect(a.header == b.header, "\(f) columns")
            #expect(!a.rows.isEmpty, "\(f): the samples have rows")
            #expect(Self.sorted(a.rows, by: columns) == b.rows, "\(f): one run's rows by person id, record id")
            #expect(fileBytes(one + "/" + f)?.count == fileBytes(merged + "/" + f)?.count, "\(f) bytes")
        }
        let codes = try body(one + "/access_codes.csv"), mergedCodes = try body(merged + "/access_codes.csv")
        let hash = try #require(codes.header.firstIndex(of: "code_hash"))
        func withoutCode(_ rows: [[String]]) -> [[String]] { rows.map { var r = $0; r[hash] = ""; return r } }
        #expect(codes.header == mergedCodes.header)
        #expect(withoutCode(Self.sorted(codes.rows, by: [0])) == withoutCode(mergedCodes.rows), "access_codes.csv by person id, code hashes aside")
        #expect(Set(mergedCodes.rows.map { $0[hash] }).count == mergedCodes.rows.count, "every code hash once")

        let rejects = try body(one + "/rejects.csv"), mergedRejects = try body(merged + "/rejects.csv")
        #expect(rejects.header == mergedRejects.header)
        #expect(rejects.rows.count > 20 && Self.sorted(rejects.rows, by: [0, 1, 2, 3, 4]) == Self.sorted(mergedRejects.rows, by: [0, 1, 2, 3, 4]))
        #expect(m.rejectReasons == oneManifest.rejectReasons)

        // The same files, the same datasets' row counts; folders linked through.
        let onePaths = Set(oneManifest.outputs.map(\.path)), mergedPaths = Set(m.outputs.map(\.path))
        #expect(onePaths == mergedPaths, "one run only: \(onePaths.subtracting(mergedPaths)); merged only: \(mergedPaths.subtracting(onePaths))")
        for o in oneManifest.outputs {
            #expect(m.outputs.first { $0.path == o.path }?.rows == o.rows, "\(o.path) rows")
        }
        for o in m.outputs {
            let d = try SHA256Digest.hex(ofFile: merged + "/" + o.path)
            #expect(d.sha256 == o.sha256 && d.bytes == o.bytes, "merged manifest entry of \(o.path)")
        }
        let runIds = try partitions.map { try Manifest.decode(path: $0 + "/manifest.json").runId } + [oneManifest.runId]
        for p in ["sample-kamome", "sample-tsubame"] {
            #expect(fileBytes(merged + "/insurers/\(p)/rejects.csv") == fileBytes(one + "/insurers/\(p)/rejects.csv"), "\(p) hand-back rejects")
            var a = Array(try #require(fileBytes(one + "/insurers/\(p)/summary.csv")))
            var b = Array(try #require(fileBytes(merged + "/insurers/\(p)/summary.csv")))
            for id in runIds { a = replacing(a, id, with: "RUN"); b = replacing(b, id, with: "RUN") }
            #expect(a == b, "\(p) hand-back summary, run id aside")
        }
        for o in oneManifest.outputs where o.path.hasPrefix("exports/") {
            #expect(fileBytes(merged + "/" + o.path) == fileBytes(one + "/" + o.path), "\(o.path) byte for byte")
        }

        // The merged manifest names the partitions' publications.
        #expect(m.partitions.map(\.runId) == Array(runIds.dropLast()))
        for (p, entry) in zip(partitions, m.partitions) {
            #expect(entry.manifestSha256 == (try SHA256Digest.hex(ofFile: p + "/manifest.json").sha256))
        }
        #expect(m.runDate == date && m.kenpoVersion == oneManifest.kenpoVersion)
    }

    // MARK: by insurer

    @Test func twoInsurerPartitionsRunSeparatelyAndMergedGiveOneRunsDatasets() throws {
        let root = try Self.deployment()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let one = try Self.run(root + "/pipelines/samples.pipeline", data: root + "/one")

        // Route each health document to its insurer's partition, as the inbox would: an insurer's
        // delivery by the insurer that sent it; a Mynaportal pull or a member upload by the member's
        // insurer (takahashi is person 1d18ed023e17ccd0, a かもめ member); a document that names no
        // member anyone knows (damaged, refused, unknown person) to any one partition — here つばめ's.
        let documents = Self.healthDocuments(root)
        func isKamome(_ path: String) -> Bool {
            (path as NSString).lastPathComponent.hasPrefix("kamome-") || path.contains("/mynaportal/takahashi-")
                || path.contains("/import/1d18ed023e17ccd0/")
        }
        let kamomeDocuments = documents.filter(isKamome), tsubameDocuments = documents.filter { !isKamome($0) }
        #expect(kamomeDocuments.count == 6 && tsubameDocuments.count == 7, "\(documents)")

        let kamome = try Self.pipeline(root, "part-kamome", """
            [eligibility]
            sample-kamome = samples/rosters/kamome-day1.csv
            [import]
            auto = \(kamomeDocuments.joined(separator: " "))
            [export]
            requests = samples/requests/export-requests.csv
            \(Self.sampleCodes)sample-kamome = samples/mailing/kamome-mailing.csv
            [reissue]
            requests = samples/reissue/requests.csv
            """)
        let tsubame = try Self.pipeline(root, "part-tsubame", """
            [eligibility]
            sample-tsubame = samples/rosters/tsubame-day1.csv
            [import]
            auto = \(tsubameDocuments.joined(separator: " "))
            \(Self.sampleCodes)sample-tsubame = samples/mailing/tsubame-mailing.csv
            """)
        let a = try Self.run(kamome, data: root + "/p-kamome")
        let b = try Self.run(tsubame, data: root + "/p-tsubame")
        // The support desk's requests (reissue, export) are for かもめ members: routed there.
        let kamomeMembers = Set(try csvRows(a + "/members.csv").dropFirst().map { $0[0] })
        let requested = try csvRows(root + "/samples/reissue/requests.csv").dropFirst().map { $0[0] }
            + (try csvRows(root + "/samples/requests/export-requests.csv").dropFirst().map { $0[1] })
        #expect(requested.allSatisfy { kamomeMembers.contains($0) } && kamomeMembers.contains("1d18ed023e17ccd0"))

        let merged = root + "/merged"
        let r = try CodesEndToEndTests.run(["merge", "--out", merged, a, b])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("merge: 2 partitions by insurer"))
        try Self.expectSameAsOneRun(one: one, merged: merged, partitions: [a, b])

        // Partitions that overlap: the one run has every insurer, so it shares かもめ with its partition.
        let overlap = try CodesEndToEndTests.run(["merge", "--out", root + "/bad", one, a])
        #expect(overlap.status == 1 && overlap.stderr.contains(one) && overlap.stderr.contains(a), "\(overlap.stderr)")
        #expect(!FileSystem.exists(root + "/bad"))
        // Usage: the merged folder exists already; no outbox; an unknown partition kind.
        #expect(try CodesEndToEndTests.run(["merge", "--out", merged, a, b]).status == 2)
        #expect(try CodesEndToEndTests.run(["merge", "--out", root + "/x"]).status == 2)
        #expect(try CodesEndToEndTests.run(["merge", "--by", "month", "--out", root + "/x", a, b]).status == 2)
    }

    // MARK: by file

    @Test func healthDocumentsSplitByFileOverTwoPartitionsMergedGiveOneRunsDatasets() throws {
        let root = try Self.deployment()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let one = try Self.run(root + "/pipelines/samples.pipeline", data: root + "/one")

        // A document's partition is a hash of its SHA-256: a re-sent file lands where it did before, so
        // that partition's document ledger still recognises it. Both partitions read both rosters (a
        // document needs the whole master to find its member); only the first runs codes and reissue.
        // No export: a member's export from one share would lack the other share's records (tried: the
        // ZIP held 2 of the member's 4 records), and kenpo merge refuses exports from file partitions.
        let documents = Self.healthDocuments(root)
        let share = try Dictionary(uniqueKeysWithValues: documents.map { ($0, Int(try SHA256Digest.hex(ofFile: root + "/" + $0).sha256.prefix(1), radix: 16)! % 2) })
        let shares = [0, 1].map { s in documents.filter { share[$0] == s } }
        #expect(shares.allSatisfy { $0.count >= 3 }, "both shares have documents: \(shares)")
        let rosters = """
            [eligibility]
            sample-kamome = samples/rosters/kamome-day1.csv
            sample-tsubame = samples/rosters/tsubame-day1.csv

            """
        let first = try Self.pipeline(root, "part-0", rosters + """
            [import]
            auto = \(shares[0].joined(separator: " "))
            \(Self.sampleCodes)sample-kamome = samples/mailing/kamome-mailing.csv
            sample-tsubame = samples/mailing/tsubame-mailing.csv
            [reissue]
            requests = samples/reissue/requests.csv
            """)
        let second = try Self.pipeline(root, "part-1", rosters + """
            [import]
            auto = \(shares[1].joined(separator: " "))
            """)
        let a = try Self.run(first, data: root + "/p-0")
        let b = try Self.run(second, data: root + "/p-1")
        // The master is in both partitions, the same bytes: the merge keeps it once.
        #expect(fileBytes(a + "/members.csv") == fileBytes(b + "/members.csv"))

        let merged = root + "/merged"
        let r = try CodesEndToEndTests.run(["merge", "--by", "file", "--out", merged, a, b])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        try Self.expectSameAsOneRun(one: one, merged: merged, partitions: [a, b], exports: false)

        // The same outboxes as insurer partitions: both read the rosters, which insurer partitions must not.
        let wrong = try CodesEndToEndTests.run(["merge", "--out", root + "/bad", a, b])
        #expect(wrong.status == 1 && wrong.stderr.contains("kamome-day1.csv") && wrong.stderr.contains(a), "\(wrong.stderr)")
    }
}
