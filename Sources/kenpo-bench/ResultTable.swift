// The summary: one row per comparison, as plain text and as Markdown.
import Foundation

struct ResultRow {
    var stage: String
    var input: String
    var kenpo: String
    var anchor: String
    var ratio: String
    var target: String = "–"
    /// nil: no target, or it cannot be judged at this size.
    var met: Bool? = nil
    var kenpoRSSKiB: Int?
    var anchorRSSKiB: Int?

    var metText: String { met.map { $0 ? "yes" : "NO" } ?? "–" }

    /// The row of a comparison whose anchor did not run (missing, failed, or not every run succeeded):
    /// kenpo's side alone, the target named but not judged.
    static func skipped(stage: String, input: String, kenpo: String, anchor: String = "skipped (see above)", target: String = "–",
                        kenpoRSSKiB: Int) -> ResultRow {
        ResultRow(stage: stage, input: input, kenpo: kenpo, anchor: anchor, ratio: "–", target: target, kenpoRSSKiB: kenpoRSSKiB)
    }
}

private func rssText(_ kib: Int?) -> String {
    kib.map { String(format: "%.0f MB", Double($0) * 1024 / 1e6) } ?? "–"
}

private let headers = ["stage", "input", "kenpo", "anchor", "ratio", "target", "met?", "kenpo RSS", "anchor RSS"]

private func cells(_ r: ResultRow) -> [String] {
    [r.stage, r.input, r.kenpo, r.anchor, r.ratio, r.target, r.metText, rssText(r.kenpoRSSKiB), rssText(r.anchorRSSKiB)]
}

/// `s` padded with spaces to `w` characters.
func pad(_ s: String, _ w: Int, left: Bool = true) -> String {
    let n = s.count
    if n >= w { return s }
    let fill = String(repeating: " ", count: w - n)
    return left ? s + fill : fill + s
}

func plainTable(_ rows: [ResultRow]) -> String {
    renderPlain(headers: headers, rows: rows.map(cells), rightAligned: [4, 7, 8])
}

func markdownTable(_ rows: [ResultRow]) -> String {
    renderMarkdown(headers: headers, rows: rows.map { r in
        var c = cells(r)
        if r.met == false { c[6] = "**NO**" }
        return c
    }, rightAligned: [4, 7, 8])
}

/// Columns padded to their widest cell, two spaces apart, a rule under the header.
func renderPlain(headers: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
    let all = [headers] + rows
    let widths = headers.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
    var out: [String] = []
    for (i, row) in all.enumerated() {
        let line = row.indices.map { pad(row[$0], widths[$0], left: !rightAligned.contains($0)) }.joined(separator: "  ")
        out.append(line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
        if i == 0 { out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
    }
    return out.joined(separator: "\n")
}

func renderMarkdown(headers: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
    func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
    var out = ["| " + headers.map(escape).joined(separator: " | ") + " |",
               "|" + headers.indices.map { rightAligned.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|"]
    for r in rows { out.append("| " + r.map(escape).joined(separator: " | ") + " |") }
    return out.joined(separator: "\n")
}

// MARK: - number formatting

/// 1234567 → "1,234,567".
func grouped(_ n: Int) -> String {
    let s = String(n.magnitude)
    var out = ""
    for (i, ch) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

/// 1_000_000 → "1M", 100_000 → "100k", 12_345 → "12,345".
func short(_ n: Int) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000)M" }
    if n >= 1_000 && n % 1_000 == 0 { return "\(n / 1_000)k" }
    return grouped(n)
}

func mb(_ bytes: Int) -> String {
    let v = Double(bytes) / 1e6
    return v >= 100 ? grouped(Int(v.rounded())) + " MB" : String(format: "%.1f MB", v)
}

func seconds(_ s: Double) -> String { s >= 100 ? String(format: "%.0f s", s) : String(format: "%.2f s", s) }

func rate(_ x: Double) -> String { x >= 100 ? grouped(Int(x.rounded())) : String(format: "%.1f", x) }

// MARK: - the summary

/// The summary's body (table, footnotes, the nightly run by step, notes), once as plain text and once
/// as Markdown: one sequence, so the two forms cannot drift apart.
func printSummary(_ rows: [ResultRow], footnotes: [String], steps: (headers: [String], rows: [[String]])?, notes: [String],
                  markdown: Bool) {
    print(markdown ? markdownTable(rows) : plainTable(rows))
    print("")
    for f in footnotes { print(f) }
    if let steps {
        if markdown {
            print("\nThe nightly run by step (seconds / peak MB):\n")
            print(renderMarkdown(headers: steps.headers, rows: steps.rows))
        } else {
            print("\nnightly run by step (seconds / peak MB, from the run's manifest):")
            print(renderPlain(headers: steps.headers, rows: steps.rows))
        }
    }
    for n in notes { print(markdown ? "\nNote: " + n : "note: " + n) }
}
