// kenpo-bench: generates a synthetic eligibility roster and times `kenpo eligibility` on it against a
// plain-Python implementation of the same normalisation (Sources/kenpo-bench/anchors/eligibility_anchor.py).
//
//   swift build -c release && swift run -c release kenpo-bench [--rows 1000000] [--seed 42] [--dir bench-data]
//       [--profile sample-kamome] [--runs 1] [--generate-only] [--no-python]
//   swift run -c release kenpo-bench import [--mb 1024]     (checkup import: ImportBench.swift)
//
// Each implementation runs as a child process, pinned to CPU 0 with taskset when it exists; wall time
// comes from a monotonic clock and peak RSS from wait4's ru_maxrss.
import Foundation
import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

let usageText = """
usage: kenpo-bench [--rows N] [--seed S] [--dir DIR] [--profile NAME|PATH] [--runs K] [--generate-only] [--no-python]
  --rows N          roster rows to generate (default 1000000)
  --seed S          generator seed (default 42)
  --dir DIR         folder for generated data and run folders (default bench-data, git-ignored)
  --profile NAME    insurer profile under pipelines/profiles/ (default sample-kamome)
  --runs K          runs per implementation; the median time is reported (default 1)
  --generate-only   only generate the roster (skipped when it already exists)
  --no-python       skip the Python anchor
Run it from the package root: swift build -c release && swift run -c release kenpo-bench
"""

let runDateText = "2026-11-21"

struct BenchOptions {
    var rows = 1_000_000
    var seed: UInt64 = 42
    var dir = "bench-data"
    var profile = "sample-kamome"
    var runs = 1
    var generateOnly = false
    var python = true
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(("kenpo-bench: " + message + "\n").data(using: .utf8)!)
    exit(status)
}

func parseOptions(_ args: [String]) -> BenchOptions {
    var o = BenchOptions()
    var i = 0
    func value() -> String {
        guard i + 1 < args.count else { fail("\(args[i]) needs a value\n\(usageText)") }
        i += 1
        return args[i]
    }
    while i < args.count {
        switch args[i] {
        case "--rows":
            guard let n = Int(value().replacingOccurrences(of: "_", with: "")), n > 0 else { fail("--rows needs a positive number") }
            o.rows = n
        case "--seed":
            guard let s = UInt64(value()) else { fail("--seed needs a non-negative integer") }
            o.seed = s
        case "--dir": o.dir = value()
        case "--profile": o.profile = value()
        case "--runs":
            guard let k = Int(value()), k >= 1 else { fail("--runs needs a positive number") }
            o.runs = k
        case "--generate-only": o.generateOnly = true
        case "--no-python": o.python = false
        case "-h", "--help":
            print(usageText)
            exit(0)
        default:
            fail("unknown argument \(args[i])\n\(usageText)")
        }
        i += 1
    }
    return o
}

// MARK: - measuring child processes

struct Measurement {
    var seconds: Double
    var maxRSSKiB: Int
    /// Exit status, or nil when killed by a signal.
    var status: Int32?
    var signal: Int32?
    var stdoutPath: String
    var stderrPath: String
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func findExecutable(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

let tasksetPath = findExecutable("taskset")

/// Runs `argv` (argv[0] a path) with stdout and stderr sent to files, pinned to CPU 0 when taskset exists.
func measure(_ argv: [String], stdoutPath: String, stderrPath: String, pin: Bool = true) -> Measurement {
    let full = (pin ? (tasksetPath.map { [$0, "-c", "0"] } ?? []) : []) + argv
    var fileActions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fileActions)
    defer { posix_spawn_file_actions_destroy(&fileActions) }
    posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&fileActions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&fileActions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let cArgs: [UnsafeMutablePointer<CChar>?] = full.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }

    var pid: pid_t = 0
    let start = monotonicSeconds()
    let rc = posix_spawn(&pid, full[0], &fileActions, nil, cArgs, environ)
    guard rc == 0 else { fail("cannot start \(full[0]): \(String(cString: strerror(rc)))", status: 1) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        guard errno == EINTR else { fail("wait4 failed: \(String(cString: strerror(errno)))", status: 1) }
    }
    let seconds = monotonicSeconds() - start
    let termSignal = status & 0x7F
    return Measurement(seconds: seconds, maxRSSKiB: Int(usage.ru_maxrss),
                       status: termSignal == 0 ? (status >> 8) & 0xFF : nil,
                       signal: termSignal == 0 ? nil : termSignal,
                       stdoutPath: stdoutPath, stderrPath: stderrPath)
}

func tail(_ path: String, lines: Int) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    let text = String(decoding: data, as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).joined(separator: "\n")
}

/// `s` padded with spaces to `w` characters (right-aligned unless `left`), for the result tables.
func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
    let n = s.count
    if n >= w { return s }
    let fill = String(repeating: " ", count: w - n)
    return left ? s + fill : fill + s
}

func removeIfPresent(_ path: String) {
    if FileManager.default.fileExists(atPath: path) {
        do { try FileManager.default.removeItem(atPath: path) } catch { fail("cannot remove \(path): \(error)", status: 1) }
    }
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

// MARK: - machine

func machineLine() -> String {
    var u = utsname()
    uname(&u)
    let arch = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    var model = "unknown CPU"
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":") {
        model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    return "\(arch), \(model), \(cores) cores"
}

func nowText() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "Asia/Tokyo")
    return f.string(from: Date())
}

// MARK: - main

if CommandLine.arguments.dropFirst().first == "import" { runImportBench(Array(CommandLine.arguments.dropFirst(2))) }
let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
let profile: InsurerProfile
do { profile = try InsurerProfile.resolve(options.profile) } catch {
    fail("\(error)\n(run kenpo-bench from the package root, where pipelines/profiles/ is)")
}
guard let runDate = CalendarDate(iso: runDateText) else { fail("bad run date") }

let profileDir = "\(options.dir)/\(profile.name)"
let rosterPath = "\(profileDir)/roster.csv"
let expectedRejectsPath = "\(profileDir)/expected_rejects.csv"
let stampPath = "\(profileDir)/bench-stamp.txt"
let stamp = "generator=\(RosterGenerator.version) rows=\(options.rows) seed=\(options.seed) faulty_share=0.01 run_date=\(runDateText) profile=\(profile.name) profile_sha256=\(profile.sha256)\n"

print("kenpo-bench  \(nowText())")
print("machine: \(machineLine())")
if FileManager.default.fileExists(atPath: rosterPath),
   let old = FileManager.default.contents(atPath: stampPath), String(decoding: old, as: UTF8.self) == stamp {
    print("roster: \(rosterPath) (\(options.rows) rows, seed \(options.seed); already generated)")
} else {
    removeIfPresent(stampPath)
    let t0 = monotonicSeconds()
    let files: [GeneratedFile]
    do {
        files = try RosterGenerator.generate(GeneratorOptions(
            members: options.rows, seed: options.seed, faultyShare: 0.01, runDate: runDate,
            profiles: [profile], outDirectory: options.dir))
    } catch {
        fail("generating the roster failed: \(error)", status: 1)
    }
    let seconds = monotonicSeconds() - t0
    let roster = files.first { $0.kind == "roster" }!
    print(String(format: "roster: %@ (%d rows, %d faulty, %.1f MB) generated in %.2f s (%.0f rows/s)",
                 rosterPath, roster.rows, roster.faultyRows, Double(fileSize(rosterPath)) / 1e6, seconds,
                 Double(roster.rows) / max(seconds, 1e-9)))
    do { try stamp.write(toFile: stampPath, atomically: true, encoding: .utf8) } catch {
        fail("cannot write \(stampPath): \(error)", status: 1)
    }
}
if options.generateOnly { exit(0) }

let rosterBytes = fileSize(rosterPath)
struct Row { var name: String; var seconds: Double; var maxRSSKiB: Int }
var table: [Row] = []
var problems: [String] = []

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

print("pinning: \(tasksetPath.map { "\($0) -c 0" } ?? "none (taskset not found)")")

// kenpo
let benchBinary = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
let kenpoPath = benchBinary.deletingLastPathComponent().appendingPathComponent("kenpo").path
if !FileManager.default.isExecutableFile(atPath: kenpoPath) {
    problems.append("the kenpo binary is missing: no executable \(kenpoPath). Build it next to kenpo-bench first: swift build -c release (then swift run -c release kenpo-bench)")
} else {
    var times: [Double] = []
    var rss = 0
    for n in 1...options.runs {
        let dataDir = "\(options.dir)/var-\(n)"
        removeIfPresent(dataDir)
        let m = measure([kenpoPath, "eligibility", "--data", dataDir, "--date", runDateText, "--profile", options.profile, rosterPath],
                        stdoutPath: "\(options.dir)/kenpo-\(n).out", stderrPath: "\(options.dir)/kenpo-\(n).err")
        if let s = m.status, s == 0 || s == 3 {
            times.append(m.seconds)
            rss = max(rss, m.maxRSSKiB)
            print(String(format: "kenpo run %d: %.2f s, exit %d", n, m.seconds, s))
        } else {
            let how = m.status.map { "exited with status \($0)" } ?? "was killed by signal \(m.signal!)"
            problems.append("kenpo \(how) (run \(n)); its stderr (\(m.stderrPath)) ends:\n\(tail(m.stderrPath, lines: 15))")
            break
        }
    }
    if times.count == options.runs { table.append(Row(name: "kenpo (Swift)", seconds: median(times), maxRSSKiB: rss)) }
}

// Python anchor
let anchorPath = "Sources/kenpo-bench/anchors/eligibility_anchor.py"
if options.python {
    if !FileManager.default.fileExists(atPath: anchorPath) {
        problems.append("the Python anchor \(anchorPath) is missing: run kenpo-bench from the package root")
    } else if let python = findExecutable("python3") {
        var times: [Double] = []
        var rss = 0
        for n in 1...options.runs {
            let outDir = "\(options.dir)/py-\(n)"
            removeIfPresent(outDir)
            let m = measure([python, anchorPath, "--profile", profile.path, "--run-date", runDateText, "--out", outDir, rosterPath],
                            stdoutPath: "\(options.dir)/python-\(n).out", stderrPath: "\(options.dir)/python-\(n).err")
            guard m.status == 0 else {
                let how = m.status.map { "exited with status \($0)" } ?? "was killed by signal \(m.signal!)"
                problems.append("the Python anchor \(how) (run \(n)); its stderr (\(m.stderrPath)) ends:\n\(tail(m.stderrPath, lines: 15))")
                break
            }
            times.append(m.seconds)
            rss = max(rss, m.maxRSSKiB)
            print(String(format: "python run %d: %.2f s: %@", n, m.seconds, tail(m.stdoutPath, lines: 1).trimmingCharacters(in: .whitespacesAndNewlines)))
            // The anchor's rejects must be exactly the rejects the generator planted.
            if n == 1 {
                let got = (FileManager.default.contents(atPath: "\(outDir)/rejects.csv")).map { String(decoding: $0, as: UTF8.self) }
                let want = (FileManager.default.contents(atPath: expectedRejectsPath)).map { String(decoding: $0, as: UTF8.self) }
                if got != nil && got == want {
                    print("python rejects match \(expectedRejectsPath)")
                } else {
                    problems.append("the Python anchor's rejects (\(outDir)/rejects.csv) differ from \(expectedRejectsPath)")
                }
            }
        }
        if times.count == options.runs { table.append(Row(name: "Python anchor", seconds: median(times), maxRSSKiB: rss)) }
    } else {
        problems.append("python3 not found on PATH: the Python anchor was skipped")
    }
}

// Table
if !table.isEmpty {
    let pythonSeconds = table.first { $0.name == "Python anchor" }?.seconds
    print("")
    print("roster \(rosterPath): \(options.rows) rows, \(String(format: "%.1f", Double(rosterBytes) / 1e6)) MB, profile \(profile.name), run date \(runDateText)"
          + (options.runs > 1 ? ", median of \(options.runs) runs" : ""))
    let header = [pad("implementation", 16, left: true), pad("rows", 9), pad("seconds", 9), pad("rows/s", 10), pad("MB/s", 8),
                  pad("peak RSS MB", 12), pad("vs Python", 10)]
    print(header.joined(separator: "  "))
    for r in table {
        let ratio = pythonSeconds.map { String(format: "%.1f×", $0 / r.seconds) } ?? "-"
        print([pad(r.name, 16, left: true), pad(String(options.rows), 9), pad(String(format: "%.2f", r.seconds), 9),
               pad(String(format: "%.0f", Double(options.rows) / r.seconds), 10),
               pad(String(format: "%.1f", Double(rosterBytes) / 1e6 / r.seconds), 8),
               pad(String(format: "%.1f", Double(r.maxRSSKiB) * 1024 / 1e6), 12), pad(ratio, 10)].joined(separator: "  "))
    }
    print("(MB = 10^6 bytes; vs Python = Python's time ÷ this time; wall time, one core)")
}
if !problems.isEmpty {
    print("")
    for p in problems { FileHandle.standardError.write(("kenpo-bench: " + p + "\n").data(using: .utf8)!) }
    exit(1)
}
