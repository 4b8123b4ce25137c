import Foundation
import KenpoCore
import Testing

/// Grading as operators see it: the sample run fills the grade columns, `kenpo regrade` with a
/// second edition changes exactly the rows whose band moved, `kenpo grade` explains one value.
@Suite struct GradingEndToEndTests {
    static let root = KenpoProcess.packageRoot.path
    static let gradeColumns = ["grade", "grade_table", "mhlw_flag", "graded_value", "grade_note"]

    func sampleRun() throws -> String {
        let data = KenpoProcess.tempDataFolder()
        let r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", data, "--date", "2026-11-21"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("grades: "), "the run prints the grade distribution")
        return data
    }

    /// Rows of a CSV as dictionaries by header name.
    func table(_ path: String) throws -> [[String: String]] {
        let rows = try csvRows(path)
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
    }

    @Test func theSampleRunGradesEveryGradableResultAndNothingElse() throws {
        let data = try sampleRun()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let results = try table(data + "/outbox/latest/checkup_results.csv")
        var graded = 0
        for r in results {
            let gradable = !r["analyte"]!.isEmpty && ["PQ", "CO"].contains(r["value_type"]!)
            if gradable {
                #expect(["A", "B", "C", "D"].contains(r["grade"]!), "\(r["item_code"]!) \(r["value_text"]!)")
                #expect(r["grade_table"] == "ningen-dock 2024")
                #expect(["none", "guidance", "consult"].contains(r["mhlw_flag"]!))
                #expect(!r["graded_value"]!.isEmpty)
                graded += 1
            } else {
                #expect(Self.gradeColumns.allSatisfy { r[$0]!.isEmpty }, "\(r["item_code"]!) \(r["value_type"]!) must stay ungraded")
            }
        }
        #expect(graded == 61)   // 4 checkups × 15 graded results + the out-of-range triglyceride
        // The out-of-range triglyceride (H above 2000) is graded at the top of the table.
        let tg = try #require(results.first { $0["out_of_range"] == "H" && $0["analyte"] == "tg" })
        #expect(tg["grade"] == "D" && tg["graded_value"] == ">2000")
        // The manifest names the tables and carries the distribution.
        let m = try Manifest.decode(path: data + "/outbox/latest/manifest.json")
        #expect(m.referenceTables.contains { $0.name == "grading:ningen-dock" && $0.version == "2024" })
        #expect(m.referenceTables.contains { $0.name.hasPrefix("mhlw:") })
        #expect(m.summary["grade_hba1c_B"] == 4)
        #expect(m.summary.filter { $0.key.hasPrefix("grade_") }.values.reduce(0, +) == graded)
    }

    /// A second edition moves BMI's A/C edge from 25.0 to 25.1: exactly the BMI rows in [25.0, 25.1)
    /// change (C → A); every other value stays; regrading back with the default restores them.
    @Test func regradeWithASecondEditionChangesExactlyTheRowsWhoseBandMoved() throws {
        let data = try sampleRun()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let dir = KenpoProcess.tempDataFolder() + "-grading"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["mhlw-r6.tsv", "unit-conversions.tsv"] {
            try FileManager.default.copyItem(atPath: Self.root + "/pipelines/grading/" + f, toPath: dir + "/" + f)
        }
        let edited = try String(contentsOfFile: Self.root + "/pipelines/grading/ningen-dock-2024.tsv", encoding: .utf8)
            .replacingOccurrences(of: "@edition: 2024", with: "@edition: 2099")
            .replacingOccurrences(of: "bmi\tkg/m2\t*\tA\t18.5\t25.0", with: "bmi\tkg/m2\t*\tA\t18.5\t25.1")
            .replacingOccurrences(of: "bmi\tkg/m2\t*\tC\t25.0\tinf", with: "bmi\tkg/m2\t*\tC\t25.1\tinf")
        _ = FileManager.default.createFile(atPath: dir + "/ningen-dock-2099.tsv", contents: Data(edited.utf8))

        let before = try table(data + "/state/current/checkup_results.csv")
        let moved = before.filter { $0["analyte"] == "bmi" && (Double($0["numeric_value"]!) ?? 0) >= 25.0 && (Double($0["numeric_value"]!) ?? 0) < 25.1 }
        #expect(moved.count == 4)

        let r = try KenpoProcess.run(["regrade", "--data", data, "--date", "2026-11-22", "--grading", dir, "--table", "ningen-dock-2099"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("4 changed"), "\(r.stdout)")
        let changes = try table(data + "/outbox/latest/grade_changes.csv")
        #expect(Set(changes.map { $0["checkup_id"]! + "/" + $0["seq"]! }) == Set(moved.map { $0["checkup_id"]! + "/" + $0["seq"]! }))
        #expect(changes.allSatisfy { $0["old_grade"] == "C" && $0["new_grade"] == "A" && $0["new_table"] == "ningen-dock 2099" })

        let after = try table(data + "/state/current/checkup_results.csv")
        #expect(after.count == before.count)
        for (b, a) in zip(before, after) {
            for (k, v) in b where !Self.gradeColumns.contains(k) { #expect(a[k] == v, "\(k) must not change") }
            let isMoved = moved.contains { $0["checkup_id"] == b["checkup_id"] && $0["seq"] == b["seq"] }
            #expect((a["grade"] != b["grade"]) == isMoved)
            #expect(a["mhlw_flag"] == b["mhlw_flag"])
            if !b["grade"]!.isEmpty { #expect(a["grade_table"] == "ningen-dock 2099") }
        }
        // Record versions are untouched: checkups.csv is the same file.
        let m = try Manifest.decode(path: data + "/outbox/latest/manifest.json")
        #expect(m.stage == "regrade" && m.summary["grade_changes"] == 4)

        let back = try KenpoProcess.run(["regrade", "--data", data, "--date", "2026-11-23"])
        #expect(back.status == 0, "\(back.stderr)")
        let restored = try table(data + "/state/current/checkup_results.csv")
        #expect(restored == before)
    }

    @Test func gradeExplainsOneValueAndRefusesWhatItCannotRead() throws {
        let ok = try KenpoProcess.run(["grade", "--item", "3D046000001906202", "--value", "5.6"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("grade:      B — [5.6, 6.0)"), "\(ok.stdout)")
        #expect(ok.stdout.contains("mhlw_flag:  guidance"))
        #expect(ok.stdout.contains("source:     Japan Society of Ningen Dock"))
        let a = try KenpoProcess.run(["grade", "--item", "3D046000001906202", "--value", "5.59"])
        #expect(a.stdout.contains("grade:      A"))
        let jds = try KenpoProcess.run(["grade", "--item", "3D045000001906202", "--value", "5.3"])
        #expect(jds.stdout.contains("graded:     5.7 %") && jds.stdout.contains("JDS"))
        let random = try KenpoProcess.run(["grade", "--item", "3D010000001926101", "--value", "120", "--random"])
        #expect(random.stdout.contains("analyte:    glucose_random") && random.stdout.contains("grade:      none"))
        for (args, message) in [
            (["--item", "3D04600000190620X", "--value", "5.6"], "unknown item code"),
            (["--item", "3D046000001906202", "--value", "5,6"], "not a decimal"),
            (["--item", "3D010000001926101", "--value", "5.6", "--unit", "mmol/mol"], "cannot be graded"),
            (["--item", "1A010000000191111", "--value", "7"], "level 1–5"),
            (["--item", "3D046000001906202", "--value", "5.6", "--table", "no-such-table"], "no grading table"),
        ] {
            let r = try KenpoProcess.run(["grade"] + args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.contains(message), "\(r.stderr)")
        }
    }
}
