// Every side of a comparison runs as a child process, so that its wall time, CPU time and peak RSS
// are its own: wall time from a monotonic clock, CPU time from wait4's rusage (children included,
// e.g. xmllint under xargs), peak RSS from GNU time's %M when /usr/bin/time exists.
//
// Why GNU time: posix_spawn starts the child sharing kenpo-bench's memory (vfork), and Linux counts the
// memory image an exec replaces into the process's ru_maxrss, so wait4 alone would report at least
// kenpo-bench's own peak (40 MB and more after generating data) for every child. GNU time forks from a
// 2 MB process, so its figure is the child's own.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Measurement {
    var seconds: Double
    /// User + system CPU seconds of the child and its children.
    var cpuSeconds: Double
    /// The system (kernel) part of `cpuSeconds`.
    var systemSeconds: Double
    var maxRSSKiB: Int
    /// Exit status, or nil when killed by a signal.
    var status: Int32?
    var signal: Int32?
    var stdoutPath: String
    var stderrPath: String

    var peakMB: Double { Double(maxRSSKiB) * 1024 / 1e6 }

    /// "exited with status 1" / "was killed by signal 9", for error messages.
    var how: String { status.map { "exited with status \($0)" } ?? "was killed by signal \(signal ?? 0)" }
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
let gnuTimePath: String? = FileManager.default.isExecutableFile(atPath: "/usr/bin/time") ? "/usr/bin/time" : nil
let cpuCount = ProcessInfo.processInfo.activeProcessorCount

/// The taskset CPU list for `cores` cores ("0", "0-1"), or nil to leave the child unpinned.
func cpuList(cores: Int) -> String? {
    guard tasksetPath != nil, cores >= 1, cores <= cpuCount else { return nil }
    return cores == 1 ? "0" : "0-\(cores - 1)"
}

/// Runs `argv` (argv[0] a path) with stdin from /dev/null and stdout and stderr sent to files.
/// `pin` is a taskset CPU list; `directory` the child's working folder (every path given must then be
/// absolute). kenpo-bench is single-threaded, so changing its own folder around the spawn is safe.
func measure(_ argv: [String], stdoutPath: String, stderrPath: String, pin: String? = nil,
             directory: String? = nil) -> Measurement {
    let rssPath = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-bench-\(getpid()).rss").path
    let timer = gnuTimePath.map { [$0, "-f", "%M", "-o", rssPath] } ?? []
    let full = (pin.flatMap { p in tasksetPath.map { [$0, "-c", p] } } ?? []) + timer + argv
    var fileActions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fileActions)
    defer { posix_spawn_file_actions_destroy(&fileActions) }
    posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&fileActions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&fileActions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let cArgs: [UnsafeMutablePointer<CChar>?] = full.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }

    let previous = FileManager.default.currentDirectoryPath
    if let directory, chdir(directory) != 0 {
        fail("cannot enter \(directory): \(String(cString: strerror(errno)))", status: 1)
    }
    var pid: pid_t = 0
    let start = monotonicSeconds()
    let rc = posix_spawn(&pid, full[0], &fileActions, nil, cArgs, environ)
    if directory != nil { _ = chdir(previous) }
    guard rc == 0 else { fail("cannot start \(full[0]): \(String(cString: strerror(rc)))", status: 1) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        guard errno == EINTR else { fail("wait4 failed: \(String(cString: strerror(errno)))", status: 1) }
    }
    let seconds = monotonicSeconds() - start
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + system
    let termSignal = status & 0x7F
    var m = Measurement(seconds: seconds, cpuSeconds: cpu, systemSeconds: system, maxRSSKiB: Int(usage.ru_maxrss),
                        status: termSignal == 0 ? (status >> 8) & 0xFF : nil,
                        signal: termSignal == 0 ? nil : termSignal,
                        stdoutPath: stdoutPath, stderrPath: stderrPath)
    if gnuTimePath != nil, let report = try? String(contentsOfFile: rssPath, encoding: .utf8) {
        // "Command terminated by signal 9" (time then exits 137) or "Command exited with non-zero status 3",
        // then the %M line.
        let lines = report.split(separator: "\n")
        if let kib = lines.last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) { m.maxRSSKiB = kib }
        if let line = lines.first(where: { $0.hasPrefix("Command terminated by signal ") }),
           let sig = Int32(line.dropFirst("Command terminated by signal ".count)) {
            m.status = nil
            m.signal = sig
        }
        try? FileManager.default.removeItem(atPath: rssPath)
    }
    return m
}

/// Runs a short helper command and returns its stdout (nil when it cannot start or fails).
func capture(_ argv: [String], directory: String? = nil) -> String? {
    guard let exe = findExecutable(argv[0]) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = Array(argv.dropFirst())
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self)
}

/// The last `lines` lines of a file, for error messages.
func tail(_ path: String, lines: Int) -> String {
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    let text = String(decoding: data.suffix(64 * 1024), as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).joined(separator: "\n")
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The run with the median wall time of several (the first of the middle two for an even count):
/// its CPU time and peak RSS go with it.
func medianRun(_ ms: [Measurement]) -> Measurement {
    let s = ms.sorted { $0.seconds < $1.seconds }
    return s[(s.count - 1) / 2]
}

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(("kenpo-bench: " + message + "\n").data(using: .utf8)!)
    exit(status)
}

/// A message on stderr that does not stop the bench.
func warn(_ message: String) {
    FileHandle.standardError.write(("kenpo-bench: " + message + "\n").data(using: .utf8)!)
}

/// Failed checks (an anchor that did not do the same work, digests that differ): reported on stderr
/// at once; the bench carries on and exits 1 at the end.
var failedChecks: [String] = []

func checkFailed(_ message: String) {
    failedChecks.append(message)
    warn(message)
}
