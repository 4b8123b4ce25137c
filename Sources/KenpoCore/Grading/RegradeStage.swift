import Foundation

/// `kenpo regrade`: grades every stored checkup result again with a grading table edition and
/// publishes the new `checkup_results.csv` with `grade_changes.csv`, the rows whose grade, MHLW flag
/// or graded value moved. Record content (and so record versions) is untouched: grades are not content.
public final class RegradeStage {
    let run: Run
    let grader: Grader

    public init(run: Run, grader: Grader) {
        self.run = run
        self.grader = grader
    }

    static let changeHeader = ["checkup_id", "person_id", "seq", "item_code", "analyte", "value_text", "unit",
                               "old_grade", "new_grade", "old_table", "new_table", "old_mhlw_flag", "new_mhlw_flag",
                               "old_graded_value", "new_graded_value", "new_grade_note"]

    public func process() throws {
        let table = RecordKind.checkup.tables[1]
        guard let stored = try run.stateFileForRewrite(table.file) else {
            throw KenpoError.input(path: run.data.state, line: nil, message: "there are no stored checkup results to regrade; import checkups first")
        }
        let directory = try MemberDirectory(masterPath: run.currentStateFile("members.csv"))
        let stateDir = try run.beginStateGeneration()
        let reader = try CSVReader(path: stored)
        guard try reader.next() else { throw KenpoError.input(path: stored, line: 1, message: "the checkup results table has no header") }
        let header = (0..<reader.fieldCount).map { String(decoding: reader.fieldBytes($0), as: UTF8.self) }
        func column(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else {
                throw KenpoError.input(path: stored, line: 1, message: "the checkup results table has no column \(name)")
            }
            return i
        }
        // Older tables may lack later grade columns: fields are mapped by name into today's layout.
        let layout = table.header.map { header.firstIndex(of: $0) }
        let id = try column("checkup_id"), person = try column("person_id"), item = try column("item_code")
        let vtype = try column("value_type"), vtext = try column("value_text"), unit = try column("unit")
        let coded = try column("coded_value"), system = try column("code_system"), range = try column("out_of_range")
        let gradeAt = table.header.firstIndex(of: "grade")!

        let out = try CSVWriter(path: stateDir + "/" + table.file, header: table.header)
        let changes = try CSVWriter(path: try run.outputPath("grade_changes.csv"), header: Self.changeHeader)
        var tally = GradeTally()
        var regraded = 0, changed = 0, checkups = 0
        var seen = Set<String>()

        // The rows of one checkup are stored together; grade them together (timing, blood pressure).
        var group: [[String]] = []
        func flush() throws {
            guard !group.isEmpty else { return }
            let cid = group[0][id]
            guard seen.insert(cid).inserted else {
                throw KenpoError.invariant("\(stored): the rows of checkup \(cid) are not stored together")
            }
            checkups += 1
            let sex = UInt64(group[0][person], radix: 16).map(directory.sex(of:)) ?? .unknown
            let inputs = group.map { GradingInput(itemCode: $0[item], valueType: $0[vtype], valueText: $0[vtext], unit: $0[unit],
                                                  codedValue: $0[coded], codeSystem: $0[system], outOfRange: $0[range]) }
            for (row, g) in zip(group, grader.grade(inputs, sex: sex)) {
                var fields = layout.map { $0.map { row[$0] } ?? "" }
                let old = Array(fields[gradeAt..<gradeAt + 5])
                fields.replaceSubrange(gradeAt..<gradeAt + 5, with: g.columns)
                out.row(fields)
                tally.add(g)
                regraded += 1
                // A new table label alone is not a change a member would see; grade, flag or value is.
                if old[0] != g.grade || old[2] != g.mhlwFlag || old[3] != g.gradedValue {
                    changed += 1
                    changes.row([row[id], row[person], fields[2], row[item], fields[5], row[vtext], row[unit],
                                 old[0], g.grade, old[1], g.table, old[2], g.mhlwFlag, old[3], g.gradedValue, g.note])
                }
            }
            group.removeAll(keepingCapacity: true)
        }
        while try reader.next() {
            let row = (0..<reader.fieldCount).map { String(decoding: reader.fieldBytes($0), as: UTF8.self) }
            guard row.count == header.count else {
                throw KenpoError.input(path: stored, line: reader.line, message: "expected \(header.count) fields, found \(row.count)")
            }
            if let first = group.first, first[id] != row[id] { try flush() }
            group.append(row)
        }
        try flush()
        let written = try out.close()
        run.addOutput(try FileSystem.linkOrCopy(written, to: try run.outputPath(table.file)))
        run.addOutput(try changes.close())
        tally.write(into: &run.summary)
        run.summary["results_regraded"] = regraded
        run.summary["checkups_regraded"] = checkups
        run.summary["grade_changes"] = changed
        run.referenceTables += GradingReference.manifestEntries(grader) + [grader.items.manifestEntry]
        Log.info("regrade: \(regraded) results of \(checkups) checkups with \(grader.bands.label); \(changed) changed")
    }
}
