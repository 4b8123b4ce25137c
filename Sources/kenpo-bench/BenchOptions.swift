// Command line of kenpo-bench: which comparisons to run and at what sizes.
import Foundation
import KenpoCore

let usageText = """
usage: kenpo-bench [roster|import|docsize|run|sha256]... [OPTIONS]
  With no comparison named, all five run, in this order, and one table sums them up:
    roster    kenpo eligibility vs a plain Python implementation (csv + unicodedata) and pandas read_csv
    import    kenpo import --workers 1 and 2 vs xmllint --stream --noout and Python lxml iterparse
    docsize   kenpo import of one cost-notice document of 30 to 300,000 notices (12 KB to 120 MB): peak
              memory against document size
    run       the whole nightly run (kenpo run) at each --members size: time and memory growth
    sha256    kenpo's SHA-256 (SHA256Digest) vs sha256sum over the nightly run's output files
              (the largest run's; runs the smallest --members size first when no run output exists)
options:
  --rows N           roster rows (default 1000000)
  --import-mb N      checkup documents to generate, in MB (default 1024)
  --members A,B,...  nightly run sizes (default 10000,100000,1000000; a size is skipped, with a note,
                     when the disk has too little room for it)
  --quick            a small smoke run: --rows 20000 --import-mb 20 --members 2000,20000, documents up to
                     30,000 notices (under 2 minutes)
  --runs K           runs per side in roster, import and sha256; the median is reported (default 1)
  --seed S           generator seed (default 42)
  --dir DIR          folder for generated data and outputs (default bench-data, git-ignored)
  --profile NAME     insurer profile for the roster comparison (default sample-kamome)
  --markdown         also print the summary as a Markdown table (README-ready)
  --no-build         do not rebuild kenpo before measuring (default: swift build -c release --product kenpo
                     into kenpo-bench's own scratch folder, so both binaries are from the same sources)
  --no-setup         do not install missing anchors (pandas, lxml, xmllint); their rows are skipped instead
Run it from the package root:  swift run -c release kenpo-bench [--quick]
"""

/// The stamp date every generated set and run uses (fixed, so the data does not change with the calendar).
let runDateText = "2026-11-21"
/// The same date for the generators called in-process.
let runDate: CalendarDate = {
    guard let d = CalendarDate(iso: runDateText) else { fail("bad run date \(runDateText)") }
    return d
}()

enum Comparison: String, CaseIterable {
    case roster, importing = "import", documentSize = "docsize", run, sha256
}

struct BenchOptions {
    var comparisons: [Comparison] = []
    var rows = 1_000_000
    var importMB = 1024
    var members = [10_000, 100_000, 1_000_000]
    var runs = 1
    var seed: UInt64 = 42
    var dir = "bench-data"
    var profile = "sample-kamome"
    var markdown = false
    var build = true
    var setup = true
    var quick = false

    /// The comparisons to run, in the order of the summary table.
    var selected: [Comparison] {
        comparisons.isEmpty ? Comparison.allCases : Comparison.allCases.filter { comparisons.contains($0) }
    }
}

/// "1000000", "1_000_000", "1,000,000" (only in a single-number option), "10k", "1M".
func parseCount(_ text: String) -> Int? {
    var t = text.replacingOccurrences(of: "_", with: "").lowercased()
    var scale = 1
    if t.hasSuffix("k") { scale = 1_000; t.removeLast() } else if t.hasSuffix("m") { scale = 1_000_000; t.removeLast() }
    guard let n = Int(t), n > 0 else { return nil }
    return n * scale
}

func parseOptions(_ args: [String]) -> BenchOptions {
    var o = BenchOptions()
    var explicit = Set<String>()
    var i = 0
    func value() -> String {
        guard i + 1 < args.count else { fail("\(args[i]) needs a value\n\(usageText)") }
        i += 1
        return args[i]
    }
    while i < args.count {
        let a = args[i]
        switch a {
        case "roster", "import", "docsize", "sha256", "run":
            o.comparisons.append(Comparison(rawValue: a)!)
        case "all": break
        case "--rows":
            guard let n = parseCount(value().replacingOccurrences(of: ",", with: "")) else { fail("--rows needs a positive number, e.g. --rows 1000000") }
            o.rows = n; explicit.insert(a)
        case "--import-mb", "--mb":
            guard let n = parseCount(value()) else { fail("\(a) needs a positive number of MB, e.g. --import-mb 1024") }
            o.importMB = n; explicit.insert("--import-mb")
        case "--members":
            let parts = value().split(separator: ",").map { parseCount(String($0)) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { fail("--members needs sizes separated by commas, e.g. --members 10000,100000") }
            o.members = Array(Set(parts.map { $0! })).sorted(); explicit.insert(a)
        case "--runs":
            guard let k = Int(value()), k >= 1 else { fail("--runs needs a positive number") }
            o.runs = k
        case "--seed":
            guard let s = UInt64(value()) else { fail("--seed needs a non-negative whole number") }
            o.seed = s
        case "--dir": o.dir = value()
        case "--profile": o.profile = value()
        case "--markdown": o.markdown = true
        case "--no-build": o.build = false
        case "--no-setup": o.setup = false
        case "--quick": o.quick = true
        case "-h", "--help", "help":
            print(usageText)
            exit(0)
        default:
            fail("unknown argument \(a)\n\(usageText)")
        }
        i += 1
    }
    if o.quick {
        // Sizes given explicitly win over the quick defaults.
        if !explicit.contains("--rows") { o.rows = 20_000 }
        if !explicit.contains("--import-mb") { o.importMB = 20 }
        if !explicit.contains("--members") { o.members = [2_000, 20_000] }
    }
    return o
}
