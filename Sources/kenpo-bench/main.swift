// kenpo-bench: kenpo against its anchors, side by side in one invocation, on data generated with a
// fixed seed into the git-ignored bench-data/ (regenerated only when missing or when the seed, size or
// generator changed: a stamp file beside each set). Prints one summary table.
//
//   swift run -c release kenpo-bench [roster|import|docsize|run|sha256]... [--quick] [--markdown] [sizes...]
//
// Options and what each comparison does: BenchOptions.swift (usage) and the file of each comparison.
import Foundation
import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

setvbuf(stdout, nil, _IOLBF, 0)
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "hash-files" { hashFiles(Array(arguments.dropFirst())) }

let options = parseOptions(arguments)
let selected = options.selected
print("kenpo-bench " + arguments.joined(separator: " "))
let env = prepareEnvironment(build: options.build)
for line in env.description { print(line) }
let anchors = prepareAnchors(install: options.setup, needPython: selected.contains(.roster),
                             needXML: selected.contains(.importing))
for note in anchors.notes { print("setup: " + note) }

var rows: [ResultRow] = []
var notes: [String] = []
var runReport: NightlyRunReport?

for comparison in selected {
    switch comparison {
    case .roster:
        rows += runRosterBench(options, env: env, anchors: anchors)
    case .importing:
        rows += runImportBench(options, env: env, anchors: anchors)
    case .documentSize:
        rows += runDocumentSizeBench(options, env: env)
    case .run:
        let r = runNightlyBench(options, env: env, sizes: options.members)
        rows += r.rows
        notes += r.notes
        runReport = r
    case .sha256:
        // The largest run of this invocation, else the largest earlier one still on disk, else a run
        // at the smallest size made now.
        var source = runReport?.runs.last.map { ($0.outbox, short($0.members)) }
        if source == nil {
            for n in options.members.reversed() {
                let outbox = nightlyOutbox(root: nightlyRoot(members: n, options))
                if FileManager.default.fileExists(atPath: outbox) { source = (outbox, short(n)); break }
            }
        }
        if source == nil, let n = options.members.first {
            print("\n(no nightly run output on disk: running the \(short(n)) run first, for its outputs)")
            switch nightlyRun(members: n, options, env: env) {
            case .success(let r): source = (r.outbox, short(r.members))
            case .failure(let note): notes.append("SHA-256 skipped: " + note.message)
            }
        }
        if let (outbox, label) = source {
            rows += runDigestBench(options, env: env, outputs: URL(fileURLWithPath: outbox).resolvingSymlinksInPath().path, label: label, anchors: anchors)
        }
    }
}

// MARK: - summary

// What each ratio means and how the sides ran, for the comparisons that ran.
var ratioNotes: [String] = []
if selected.contains(.roster) { ratioNotes.append("roster = anchor time ÷ kenpo time") }
if selected.contains(.roster) || selected.contains(.importing) {
    ratioNotes.append("a \"CPU time\" row = the same on user + system CPU seconds (median), which waiting for the disk does not inflate")
}
if selected.contains(.importing) {
    ratioNotes.append("vs xmllint = kenpo MB/s as a share of xmllint's; vs lxml = lxml time ÷ kenpo time; 2 workers = 1-worker time ÷ 2-worker time")
}
if selected.contains(.documentSize) { ratioNotes.append("by document size = peak RSS ÷ the smallest document's") }
if selected.contains(.run) { ratioNotes.append("nightly run = wall time ÷ the smallest size's time scaled linearly; peak RSS = largest size ÷ smallest") }
if selected.contains(.sha256) { ratioNotes.append("SHA-256 = kenpo MB/s as a share of sha256sum's") }
var footnotes = ["ratio: " + ratioNotes.joined(separator: "; ") + "."]
footnotes.append((selected.contains(.roster) ? "pandas: read_csv alone, timed inside Python (interpreter start and import not counted); the other figures are whole-process wall times. " : "Wall times of whole processes. ")
    + "RSS = peak resident set of each side's largest process (\(gnuTimePath == nil ? "wait4 ru_maxrss" : "GNU time %M")). MB = 10^6 bytes"
    + (options.runs > 1 ? "; median of \(options.runs) runs." : "; one run each."))
footnotes.append("pinning: " + (tasksetPath == nil ? "taskset not found: nothing pinned."
    : "one core (CPU 0) for both sides of the roster, xmllint, lxml, 1-worker, document-size and SHA-256 figures; CPUs 0-1 for 2 workers; the nightly run unpinned."))
let loadAtEnd = loadAverage()
let steps = runReport.flatMap { stepTable($0.runs) }

print("\n== summary")
for line in env.description { print(line) }
print("load average at end: \(loadAtEnd)")
print("")
printSummary(rows, footnotes: footnotes, steps: steps, notes: notes, markdown: false)

if options.markdown {
    print("\n---- Markdown ----\n")
    print("\(env.started), \(env.cpuModel), \(env.cores) cores, \(String(format: "%.0f", env.memoryGB)) GB, \(env.system); "
          + "load average \(env.loadAtStart) at the start, \(loadAtEnd) at the end; \(env.kenpoVersion), \(env.configuration) build, \(env.commit).")
    print("Command: `swift run -c release kenpo-bench" + (arguments.isEmpty ? "" : " " + arguments.joined(separator: " ")) + "`\n")
    printSummary(rows, footnotes: footnotes, steps: steps, notes: notes, markdown: true)
}

if !failedChecks.isEmpty {
    print("")
    for c in failedChecks { FileHandle.standardError.write(("kenpo-bench: check failed: " + c + "\n").data(using: .utf8)!) }
    exit(1)
}
