import Foundation

/// The run report people read: `report.txt` for a terminal or mail, `report.html` for a browser
/// (self-contained: inline CSS, charts as inline SVG, no external assets). Rendered from the run's
/// manifest, compared with the previous run's so sharp moves stand out.
public struct RunReport {
    public let manifest: Manifest
    public let previous: Manifest?

    public init(manifest: Manifest, previous: Manifest?) {
        self.manifest = manifest
        self.previous = previous
    }

    /// One row of the per-insurer (or per-source) input table.
    struct Group { var name: String; var files = 0; var counts = Manifest.RecordCounts() }

    var groups: [Group] { Self.groups(manifest) }

    /// The figures of the manifest's lists: `lists` when the run streamed them (a big run, or one just
    /// published), else summed up from the lists it holds (a manifest read back with `decode`).
    static func figures(_ m: Manifest) -> Manifest.ListSummary {
        if let lists = m.lists { return lists }
        var f = Manifest.ListSummary()
        for i in m.inputs { f.add(i) }
        for a in m.archived ?? [] { f.add(a) }
        return f
    }

    /// Per insurer and per kind of input: a roster and a mailing list of one insurer are two rows.
    static func groups(_ m: Manifest) -> [Group] {
        figures(m).groups.map { Group(name: $0.key, files: $0.value.files, counts: $0.value.counts) }.sorted { $0.name < $1.name }
    }

    /// The inputs as the command line prints them: one line per file, or, when the run had too many
    /// to hold (`Run.listsHeldInMemory`), one per insurer and kind and a pointer to the manifest,
    /// which lists every file.
    public static func inputLines(_ m: Manifest, manifestPath: String) -> [String] {
        guard let lists = m.lists, lists.inputs > m.inputs.count else {
            return m.inputs.map { "\($0.path): read \($0.records.read), accepted \($0.records.accepted), rejected \($0.records.rejected)" }
        }
        return lists.groups.sorted { $0.key < $1.key }.map { name, g in
            "\(name): \(g.files) files, read \(g.counts.read), accepted \(g.counts.accepted), rejected \(g.counts.rejected)"
        } + ["\(lists.inputs) input files, each listed in \(manifestPath)"]
    }

    /// The committed inputs: how many, how many moved, the first 50 (from the list or its figures:
    /// a big run's manifest holds no list, only `lists`). nil for a run that archives nothing.
    public static func archived(_ m: Manifest) -> (count: Int, moved: Int, first: [Manifest.ArchivedInput])? {
        guard m.archived != nil || (m.lists?.archived ?? 0) > 0 else { return nil }
        let l = figures(m)
        return (l.archived, l.archivedMoved, Array(l.firstArchived.prefix(50)))
    }

    /// Grade counts per analyte from the summary (`grade_<analyte>_<A…D>`).
    var grades: [(analyte: String, counts: [String: Int])] {
        var g: [String: [String: Int]] = [:]
        for (k, n) in manifest.summary where k.hasPrefix("grade_") && k.count > 8 && k.dropLast().hasSuffix("_") && k != "grade_changes" {
            let grade = String(k.suffix(1))
            guard ["A", "B", "C", "D"].contains(grade) else { continue }
            g[String(k.dropFirst(6).dropLast(2)), default: [:]][grade] = n
        }
        return g.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Steps that failed, wholly or for some of their inputs.
    var failedSteps: [Manifest.Step] {
        (manifest.steps ?? []).filter { ["failed", "completed_with_failures", "held"].contains($0.status) }
    }

    var topRejects: [(code: String, count: Int, summary: String)] {
        manifest.rejectReasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { ($0.key, $0.value, RejectReason(rawValue: $0.key)?.summary ?? "") }
    }

    /// Counts that moved sharply since the previous run: input records per insurer/source and the
    /// summary counts both runs have (halved or doubled, on at least 20 records).
    public var warnings: [String] {
        guard let p = previous else { return [] }
        var w: [String] = []
        let before = Dictionary(uniqueKeysWithValues: Self.groups(p).map { ($0.name, $0.counts.read) })
        for g in groups {
            guard let b = before[g.name], b >= 20 else { continue }
            if g.counts.read * 2 <= b { w.append("\(g.name): \(g.counts.read) records read, \(b) in the previous run — a truncated hand-off?") }
            if g.counts.read >= b * 2 { w.append("\(g.name): \(g.counts.read) records read, \(b) in the previous run — twice as many") }
        }
        for (k, n) in manifest.summary.sorted(by: { $0.key < $1.key }) where !k.hasPrefix("grade_") {
            guard let b = p.summary[k], max(b, n) >= 20 else { continue }
            if n * 2 <= b || n >= b * 2 { w.append("\(k): \(n), \(b) in the previous run") }
        }
        return w
    }

    static func seconds(_ m: Manifest) -> Double? {
        let f = ISO8601DateFormatter()
        guard let a = f.date(from: m.startedAt), let b = f.date(from: m.finishedAt) else { return nil }
        return b.timeIntervalSince(a)
    }

    static func sections(_ summary: [String: Int]) -> [(title: String, rows: [(String, Int)])] {
        let sorted = summary.sorted { $0.key < $1.key }
        func pick(_ f: (String) -> Bool) -> [(String, Int)] { sorted.filter { f($0.key) }.map { ($0.key, $0.value) } }
        let members = pick { $0.hasPrefix("change_") || $0.hasPrefix("members_") }
        let records = pick { ["checkup_", "cost_notice_", "prescription_", "documents_", "transfer_"].contains(where: $0.hasPrefix) || $0 == "checkup_results_read" }
        let codes = pick { ["postcards", "codes_", "first_sequence", "last_sequence", "reissue"].contains(where: $0.hasPrefix) }
        let grading = pick { $0.hasPrefix("grading_") || $0 == "results_regraded" || $0 == "checkups_regraded" || $0 == "grade_changes" }
        let shown = Set((members + records + codes + grading).map(\.0))
        let other = pick { !shown.contains($0) && !$0.hasPrefix("grade_") }
        return [("Member changes", members), ("Health records", records), ("Codes and postcards", codes),
                ("Grading", grading), ("Other counts", other)].filter { !$0.rows.isEmpty }
    }

    // MARK: text

    public var text: String {
        let m = manifest
        var out = "kenpo run \(m.runId)\n"
        out += "stage \(m.stage), run date \(m.runDate), \(m.status) (exit \(m.exitStatus))\n"
        out += "started \(m.startedAt), finished \(m.finishedAt)" + (Self.seconds(m).map { String(format: " (%.1f s)", $0) } ?? "") + "\n"
        if let g = m.stateGeneration { out += "state generation \(g)\n" }
        let failed = failedSteps
        if !failed.isEmpty {
            out += "\nFAILED (rolled back; their inputs stay in the inbox)\n"
            for s in failed { out += "  ✗ \(s.name): \(s.status)\n" + s.notes.map { "      \($0)\n" }.joined() }
        }
        let w = warnings
        if !w.isEmpty { out += "\nWARNINGS\n" + w.map { "  ! \($0)\n" }.joined() }
        out += "\nINPUTS (records read / accepted / rejected)\n"
        for g in groups {
            out += "  \(g.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(g.files) file\(g.files == 1 ? "" : "s")  \(g.counts.read) / \(g.counts.accepted) / \(g.counts.rejected)\n"
        }
        if groups.isEmpty { out += "  (none)\n" }
        if !topRejects.isEmpty {
            out += "\nREJECT REASONS\n"
            for r in topRejects.prefix(10) { out += "  \(String(r.count).leftPadded(to: 6, with: " "))  \(r.code)  \(r.summary)\n" }
            if topRejects.count > 10 { out += "  … \(topRejects.count - 10) more reasons in rejects.csv\n" }
        }
        for s in Self.sections(m.summary) {
            out += "\n\(s.title.uppercased())\n"
            for (k, n) in s.rows { out += "  \(k.padding(toLength: 32, withPad: " ", startingAt: 0)) \(n)\n" }
        }
        if !grades.isEmpty {
            out += "\nGRADES PER ANALYTE (A / B / C / D)\n"
            for (a, c) in grades {
                out += "  \(a.padding(toLength: 18, withPad: " ", startingAt: 0)) " + ["A", "B", "C", "D"].map { String(c[$0] ?? 0).leftPadded(to: 6, with: " ") }.joined(separator: " ") + "\n"
            }
        }
        if let steps = m.steps, !steps.isEmpty {
            out += "\nSTEPS (status, records, MB, seconds, peak memory)\n"
            for s in steps {
                out += "  \(s.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(s.status.padding(toLength: 24, withPad: " ", startingAt: 0))"
                    + String(format: "%9d %9.1f %8.1f s %6.0f MB", s.records, Double(s.bytes) / 1_048_576, s.seconds, Double(s.peakRssBytes) / 1_048_576)
                    + (s.resumed ? "  (before a restart)" : "") + "\n"
                for n in s.notes where !failed.contains(where: { $0.name == s.name }) { out += "      \(n)\n" }
            }
        }
        if let a = Self.archived(m), a.count > 0 {
            out += "\nINPUTS COMMITTED: \(a.count) files" + (a.moved > 0 ? ", \(a.moved) moved to the archive" : ", kept in place") + " (paths and SHA-256 in manifest.json)\n"
        }
        out += "\nOUTPUTS\n"
        for o in m.outputs { out += "  \(o.path.padding(toLength: 40, withPad: " ", startingAt: 0)) \(String(o.rows).leftPadded(to: 9, with: " ")) rows\n" }
        if !m.referenceTables.isEmpty {
            out += "\nREFERENCE TABLES\n"
            for t in m.referenceTables { out += "  \(t.name) \(t.version) (\(t.path))\n" }
        }
        return out
    }

    // MARK: HTML

    static func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }

    /// A horizontal bar chart as inline SVG: one bar per row, segments per series.
    static func bars(_ rows: [(label: String, values: [Int])], colors: [String], legend: [String]) -> String {
        let rowHeight = 22, labelWidth = 150, width = 420
        let maxTotal = max(1, rows.map { $0.values.reduce(0, +) }.max() ?? 1)
        let height = rows.count * rowHeight + 24
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + width + 60)\" height=\(q(height)) role=\"img\">"
        for (i, r) in rows.enumerated() {
            let y = i * rowHeight
            svg += "<text x=\"0\" y=\(q(y + 15)) font-size=\"12\">\(esc(r.label))</text>"
            var x = Double(labelWidth)
            for (j, v) in r.values.enumerated() where v > 0 {
                let w = Double(width) * Double(v) / Double(maxTotal)
                svg += "<rect x=\(q(x)) y=\(q(y + 3)) width=\(q(max(w, 1))) height=\"16\" fill=\"\(colors[j % colors.count])\"><title>\(esc(legend.isEmpty ? "" : legend[j])) \(v)</title></rect>"
                x += w
            }
            svg += "<text x=\(q(x + 4)) y=\(q(y + 15)) font-size=\"11\" fill=\"#555\">\(r.values.reduce(0, +))</text>"
        }
        if !legend.isEmpty {
            var x = labelWidth
            for (j, l) in legend.enumerated() {
                svg += "<rect x=\(q(x)) y=\(q(height - 16)) width=\"10\" height=\"10\" fill=\"\(colors[j % colors.count])\"/><text x=\(q(x + 14)) y=\(q(height - 7)) font-size=\"11\">\(esc(l))</text>"
                x += 50
            }
        }
        return svg + "</svg>"
    }

    private static func q(_ v: Int) -> String { "\"\(v)\"" }
    private static func q(_ v: Double) -> String { String(format: "\"%.1f\"", v) }

    public var html: String {
        let m = manifest
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>kenpo run \(Self.esc(m.runId))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
        table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border-bottom:1px solid #ddd;padding:.25em .8em;text-align:left}
        td.n{text-align:right;font-variant-numeric:tabular-nums}.warn{background:#fff3cd;border-left:4px solid #e0a800;padding:.5em 1em}
        .fail{background:#fde8e8;border-left:4px solid #b42318;padding:.5em 1em;margin:.5em 0}.ok{color:#1a7f37}.bad{color:#b42318}h2{margin-top:1.5em;border-bottom:2px solid #eee}
        </style></head><body>
        <h1>kenpo run <code>\(Self.esc(m.runId))</code></h1>
        <p>Stage <b>\(Self.esc(m.stage))</b>, run date <b>\(Self.esc(m.runDate))</b> —
        <span class="\(m.exitStatus == 0 ? "ok" : "bad")">\(Self.esc(m.status)) (exit \(m.exitStatus))</span><br>
        Started \(Self.esc(m.startedAt)), finished \(Self.esc(m.finishedAt))\(Self.seconds(m).map { String(format: " (%.1f s)", $0) } ?? "")\(m.stateGeneration.map { "; state generation \(Self.esc($0))" } ?? "")</p>

        """
        let failed = failedSteps
        if !failed.isEmpty {
            h += "<div class=\"fail\"><b>Failed — rolled back; their inputs stay in the inbox</b><ul>"
                + failed.map { "<li><code>\(Self.esc($0.name))</code> \(Self.esc($0.status)): " + $0.notes.map(Self.esc).joined(separator: "<br>") + "</li>" }.joined()
                + "</ul></div>\n"
        }
        let w = warnings
        if !w.isEmpty {
            h += "<div class=\"warn\"><b>Warnings</b><ul>" + w.map { "<li>\(Self.esc($0))</li>" }.joined() + "</ul></div>\n"
        }
        h += "<h2>Inputs</h2><table><tr><th>insurer / source</th><th>files</th><th>read</th><th>accepted</th><th>rejected</th></tr>"
        for g in groups {
            h += "<tr><td>\(Self.esc(g.name))</td><td class=n>\(g.files)</td><td class=n>\(g.counts.read)</td><td class=n>\(g.counts.accepted)</td><td class=n>\(g.counts.rejected)</td></tr>"
        }
        h += "</table>\n"
        if !groups.isEmpty {
            h += Self.bars(groups.map { ($0.name, [$0.counts.accepted, $0.counts.rejected]) }, colors: ["#4c9a5f", "#c0504d"], legend: ["accepted", "rejected"]) + "\n"
        }
        if !topRejects.isEmpty {
            h += "<h2>Reject reasons</h2><table><tr><th>reason</th><th>records</th><th>meaning</th></tr>"
            for r in topRejects { h += "<tr><td><code>\(Self.esc(r.code))</code></td><td class=n>\(r.count)</td><td>\(Self.esc(r.summary))</td></tr>" }
            h += "</table>\n" + Self.bars(topRejects.prefix(10).map { ($0.code, [$0.count]) }, colors: ["#c0504d"], legend: []) + "\n"
        }
        for s in Self.sections(m.summary) {
            h += "<h2>\(Self.esc(s.title))</h2><table>" + s.rows.map { "<tr><td>\(Self.esc($0.0))</td><td class=n>\($0.1)</td></tr>" }.joined() + "</table>\n"
        }
        if !grades.isEmpty {
            h += "<h2>Grades per analyte</h2><table><tr><th>analyte</th><th>A</th><th>B</th><th>C</th><th>D</th></tr>"
            for (a, c) in grades {
                h += "<tr><td>\(Self.esc(a))</td>" + ["A", "B", "C", "D"].map { "<td class=n>\(c[$0] ?? 0)</td>" }.joined() + "</tr>"
            }
            h += "</table>\n" + Self.bars(grades.map { g in (g.analyte, ["A", "B", "C", "D"].map { g.counts[$0] ?? 0 }) },
                                          colors: ["#4c9a5f", "#9bbb59", "#f0ad4e", "#c0504d"], legend: ["A", "B", "C", "D"]) + "\n"
        }
        if let steps = m.steps, !steps.isEmpty {
            h += "<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>records</th><th>MB</th><th>seconds</th><th>peak memory (MB)</th><th>notes</th></tr>"
            for s in steps {
                h += "<tr><td><code>\(Self.esc(s.name))</code></td><td class=\"\(["failed", "completed_with_failures", "held"].contains(s.status) ? "bad" : "ok")\">\(Self.esc(s.status))\(s.resumed ? " (before a restart)" : "")</td>"
                    + "<td class=n>\(s.records)</td>" + String(format: "<td class=n>%.1f</td><td class=n>%.1f</td><td class=n>%.0f</td>", Double(s.bytes) / 1_048_576, s.seconds, Double(s.peakRssBytes) / 1_048_576)
                    + "<td>" + s.notes.map(Self.esc).joined(separator: "<br>") + "</td></tr>"
            }
            h += "</table>\n"
            // Time per step, in tenths of a second (bars need whole numbers).
            h += Self.bars(steps.map { ($0.name, [Int(($0.seconds * 10).rounded())]) }, colors: ["#4f81bd"], legend: []) + "<p><small>time per step, tenths of a second</small></p>\n"
        }
        if let a = Self.archived(m), a.count > 0 {
            h += "<h2>Inputs committed</h2><table><tr><th>file</th><th>SHA-256</th><th>archived to</th></tr>"
            for x in a.first {
                h += "<tr><td>\(Self.esc(x.path))</td><td><code>\(Self.esc(String(x.sha256.prefix(16))))…</code></td><td>\(Self.esc(x.archivedTo ?? "kept in place"))</td></tr>"
            }
            if a.count > 50 { h += "<tr><td colspan=3>… \(a.count - 50) more in manifest.json</td></tr>" }
            h += "</table>\n"
        }
        h += "<h2>Outputs</h2><table><tr><th>file</th><th>rows</th><th>bytes</th></tr>"
        for o in m.outputs { h += "<tr><td>\(Self.esc(o.path))</td><td class=n>\(o.rows)</td><td class=n>\(o.bytes)</td></tr>" }
        h += "</table>\n"
        if !m.referenceTables.isEmpty {
            h += "<h2>Reference tables</h2><table>" + m.referenceTables.map { "<tr><td>\(Self.esc($0.name))</td><td>\(Self.esc($0.version))</td><td>\(Self.esc($0.path))</td></tr>" }.joined() + "</table>\n"
        }
        return h + "</body></html>\n"
    }

    /// Writes report.txt and report.html into a (staging) run folder.
    public func write(into folder: String) throws {
        try FileSystem.writeAtomically(Array(text.utf8), to: folder + "/report.txt")
        try FileSystem.writeAtomically(Array(html.utf8), to: folder + "/report.html")
    }
}
