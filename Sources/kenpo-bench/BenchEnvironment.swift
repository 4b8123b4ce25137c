// What a benchmark figure depends on besides the code: the machine, its load, the kenpo build.
import Foundation
import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

struct BenchEnvironment {
    var started: String
    var cpuModel: String
    var cores: Int
    var memoryGB: Double
    var system: String
    var loadAtStart: String
    /// kenpo-bench itself, links resolved (the SHA-256 comparison runs it as the child that hashes).
    var bench: String
    /// The kenpo binary every comparison runs (next to kenpo-bench).
    var kenpo: String
    var kenpoVersion: String
    /// "release" or "debug", from the build folder the binaries sit in.
    var configuration: String
    var commit: String

    /// Lines for the head of the output.
    var description: [String] {
        [
            "date: \(started)",
            "machine: \(cpuModel), \(cores) cores, \(String(format: "%.0f", memoryGB)) GB memory, \(system)",
            "load average at start: \(loadAtStart)",
            "kenpo: \(kenpoVersion), \(configuration) build, \(commit); binary \(kenpo)",
        ]
    }
}

func loadAverage() -> String {
    guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
    return s.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Bytes the kernel has read from block devices since boot (`pgpgin` in /proc/vmstat, KiB), machine-wide:
/// the difference across a run on a quiet machine tells how much of its input came from disk rather
/// than the page cache.
func bytesReadFromDisk() -> Int? {
    guard let s = try? String(contentsOfFile: "/proc/vmstat", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("pgpgin ") }),
          let kib = Int(line.dropFirst("pgpgin ".count)) else { return nil }
    return kib * 1024
}

private func cpuModel() -> String {
    var u = utsname()
    uname(&u)
    let arch = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":") {
        return "\(arch) \(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))"
    }
    return "\(arch), CPU model unknown"
}

private func memoryGB() -> Double {
    guard let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
          let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024 / 1e9
}

private func systemName() -> String {
    guard let s = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") }) else { return "Linux" }
    return line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
}

/// The SwiftPM scratch folder kenpo-bench was built into (the folder holding workspace-state.json), if any.
func scratchFolder(of binary: String) -> String? {
    var dir = URL(fileURLWithPath: binary).deletingLastPathComponent()
    for _ in 0..<4 {
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("workspace-state.json").path) { return dir.path }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// Finds kenpo next to kenpo-bench, first rebuilding it (release, same scratch folder) unless `build` is off,
/// so both binaries come from the same sources.
func prepareEnvironment(build: Bool) -> BenchEnvironment {
    let started = Timestamp.now()
    let load = loadAverage()
    let bench = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath()
    let binDir = bench.deletingLastPathComponent()
    let kenpo = binDir.appendingPathComponent("kenpo").path
    let configuration = binDir.pathComponents.contains("release") ? "release" : (binDir.pathComponents.contains("debug") ? "debug" : "unknown")
    if build, FileManager.default.fileExists(atPath: "Package.swift"), let swift = findExecutable("swift"),
       let scratch = scratchFolder(of: bench.path) {
        let cfg = configuration == "debug" ? "debug" : "release"
        print("building kenpo: swift build -c \(cfg) --product kenpo --scratch-path \(scratch)")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-bench-build-\(getpid()).log").path
        let m = measure([swift, "build", "-c", cfg, "--product", "kenpo", "--scratch-path", scratch], stdoutPath: log, stderrPath: log)
        if m.status != 0 {
            warn("building kenpo failed (\(m.how)); measuring the kenpo binary already there. The build log ends:\n\(tail(log, lines: 12))")
        }
        try? FileManager.default.removeItem(atPath: log)
    }
    guard FileManager.default.isExecutableFile(atPath: kenpo) else {
        fail("no kenpo binary at \(kenpo): build it next to kenpo-bench (swift build -c release), then run swift run -c release kenpo-bench", status: 1)
    }
    if configuration != "release" { warn("kenpo-bench and kenpo are a \(configuration) build: figures are not comparable; use swift run -c release kenpo-bench") }
    let version = capture([kenpo, "version"])?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "kenpo (version unknown)"
    var commit = "commit unknown"
    if let head = capture(["git", "rev-parse", "--short", "HEAD"])?.trimmingCharacters(in: .whitespacesAndNewlines), !head.isEmpty {
        let dirty = (capture(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"]) ?? "").isEmpty ? "" : " + uncommitted changes"
        commit = "commit \(head)\(dirty)"
    }
    return BenchEnvironment(started: started, cpuModel: cpuModel(), cores: cpuCount, memoryGB: memoryGB(), system: systemName(),
                            loadAtStart: load, bench: bench.path, kenpo: kenpo, kenpoVersion: version, configuration: configuration, commit: commit)
}

// MARK: - files

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func removeIfPresent(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    do { try FileManager.default.removeItem(atPath: path) } catch { fail("cannot remove \(path): \(error.localizedDescription)", status: 1) }
}

func makeFolder(_ path: String) {
    do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        fail("cannot create \(path): \(error.localizedDescription)", status: 1)
    }
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// Copies `source` (a folder or a file) to `destination`, which must not exist, as `cp -a` does (modes,
/// times and links kept, so a copied data folder is the one kenpo wrote); stops the bench when it fails.
/// `hint` is added to the message (what the user can do about it).
func copyTree(_ source: String, to destination: String, hint: String = "") {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/cp")
    p.arguments = ["-a", source, destination]
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    do { try p.run() } catch { fail("cannot run /bin/cp: \(error.localizedDescription)", status: 1) }
    let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        fail("cannot copy \(source) to \(destination): \(message.trimmingCharacters(in: .whitespacesAndNewlines))\(hint)", status: 1)
    }
}

/// Regular files under `root` (following no links), sorted, with their total size.
func filesUnder(_ root: String, suffix: String = "") -> (paths: [String], bytes: Int) {
    var paths: [String] = []
    var bytes = 0
    guard let e = FileManager.default.enumerator(atPath: root) else { return ([], 0) }
    while let rel = e.nextObject() as? String {
        guard suffix.isEmpty || rel.hasSuffix(suffix) else { continue }
        let p = root + "/" + rel
        var st = stat()
        guard lstat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
        paths.append(p)
        bytes += Int(st.st_size)
    }
    paths.sort()
    return (paths, bytes)
}

/// The manifest of the run a data folder published last (its per-file lists summed up, not held), nil
/// when there is none: the exact row and record counts, instead of counting lines of the outputs.
func publishedManifest(data: String) -> Manifest? {
    try? Manifest.decodeSummary(path: data + "/outbox/latest/manifest.json")
}

/// Bytes free for an unprivileged writer on the file system holding `path`.
func freeBytes(_ path: String) -> Int {
    var st = statvfs()
    guard statvfs(path, &st) == 0 else { return 0 }
    return Int(st.f_bavail) * Int(st.f_frsize)
}

/// True when `stampPath` holds exactly `stamp` (the data beside it was generated with these settings).
func stampMatches(_ stampPath: String, _ stamp: String) -> Bool {
    FileManager.default.contents(atPath: stampPath).map { String(decoding: $0, as: UTF8.self) } == stamp
}

func writeStamp(_ stampPath: String, _ stamp: String) {
    do { try stamp.write(toFile: stampPath, atomically: true, encoding: .utf8) } catch {
        fail("cannot write \(stampPath): \(error.localizedDescription)", status: 1)
    }
}

/// Writes `paths` NUL-separated (for xargs -0 and the hashing child).
func writeFileList(_ paths: [String], to listPath: String) {
    guard FileManager.default.createFile(atPath: listPath, contents: Data(paths.joined(separator: "\0").utf8)) else {
        fail("cannot write \(listPath)", status: 1)
    }
}

func readFileList(_ listPath: String) -> [String] {
    guard let data = FileManager.default.contents(atPath: listPath) else { fail("cannot read the file list \(listPath)", status: 1) }
    return String(decoding: data, as: UTF8.self).split(separator: "\0").map(String.init)
}
