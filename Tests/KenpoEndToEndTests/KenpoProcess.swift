import Foundation
import KenpoCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `kenpo` binary as operators do, capturing exit status and output.
struct KenpoProcess {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        // The sanitizer run tests its own sanitized kenpo, beside the test runner: never .build's.
        if SanitizedRun.sanitizer != nil, let beside = Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("kenpo") {
            return beside
        }
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("kenpo"),
            packageRoot.appendingPathComponent(".build/debug/kenpo"),
        ].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Output goes to files, not pipes, so a chatty run can never block on a full pipe.
    /// `launcher` runs kenpo through another program (its first element; kenpo's path is the
    /// launcher's to pass on); `environment` changes the inherited environment (nil removes a name).
    static func run(_ args: [String], launcher: [String] = [],
                    environment changes: [String: String?] = [:]) throws -> Result {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("out"), errURL = tmp.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let p = Process()
        p.executableURL = launcher.first.map { URL(fileURLWithPath: $0) } ?? binary
        p.arguments = Array(launcher.dropFirst()) + args
        p.currentDirectoryURL = packageRoot
        if !changes.isEmpty {
            var env = ProcessInfo.processInfo.environment
            for (name, value) in changes { env[name] = value }
            p.environment = env
        }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        let r = Result(status: p.terminationStatus,
                       stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
        SanitizedRun.check(stderr: r.stderr, args: args)
        return r
    }

    static func tempDataFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-e2e-\(UUID().uuidString)").path
    }

    static func sample(_ name: String) -> String { "samples/rosters/\(name)" }

    static func day1Args(data: String) -> [String] {
        ["eligibility", "--data", data, "--date", "2026-11-21",
         "--profile", "sample-kamome", sample("kamome-day1.csv"),
         "--profile", "sample-tsubame", sample("tsubame-day1.csv")]
    }

    /// A fresh data folder holding the sample member master of day 1 (the health-record imports need
    /// members to match documents against).
    static func dataWithMembers() throws -> String {
        let data = tempDataFolder()
        let r = try run(day1Args(data: data))
        #expect(r.status == 3, "\(r.stderr)")
        return data
    }

    static func day2Args(data: String) -> [String] {
        ["eligibility", "--data", data, "--date", "2026-11-22",
         "--profile", "sample-kamome", sample("kamome-day2.csv"),
         "--profile", "sample-tsubame", sample("tsubame-day2.csv")]
    }
}

/// Every record of a CSV file, read with kenpo's own reader (BOM skipped, quotes undone).
func csvRows(_ path: String) throws -> [[String]] {
    let reader = try CSVReader(path: path)
    var rows: [[String]] = []
    while try reader.next() {
        rows.append((0..<reader.fieldCount).map { String(decoding: reader.fieldBytes($0), as: UTF8.self) })
    }
    return rows
}

/// Every record of a CSV file, each field decoded as UTF-8, or CP932 when it is not UTF-8 (a Shift_JIS
/// output or a hostile input's bytes carried through), else UTF-8 with replacement characters.
func decodedCSVRows(_ path: String) throws -> [[String]] {
    let reader = try CSVReader(path: path)
    let cp932 = CP932Decoder()
    var rows: [[String]] = []
    while try reader.next() {
        rows.append((0..<reader.fieldCount).map { i in
            let b = Array(reader.fieldBytes(i))
            if let s = String(validating: b, as: UTF8.self) { return s }
            if case .success(let s) = cp932.decode(b) { return s }
            return String(decoding: b, as: UTF8.self)
        })
    }
    return rows
}

func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
