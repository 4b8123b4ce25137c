import Foundation
import KenpoCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The hostile-input corpus (`Tests/hostile/`, listed in `Tests/hostile/expected.tsv`): every file is
/// given to the kenpo command that reads it, together with a good file, and must produce its reject
/// reason or clean error — without crashing kenpo, hanging it (killed after 60 s), growing its memory
/// with the input (peak resident memory at most 256 MB, sampled from /proc; killed above 2 GB), or
/// losing the good file's records. Big inputs and files that change under kenpo are written by the test.
@Suite struct HostileInputEndToEndTests {
    static let root = KenpoProcess.packageRoot.path
    static let corpus = root + "/Tests/hostile"
    static let runDate = "2026-11-22"
    static let keyFile = root + "/samples/keys/demo-code-key"
    static let haruto = root + "/samples/health/insurer/tsubame-checkup-haruto.xml"
    static let exportRequests = root + "/samples/requests/export-requests.csv"
    /// The person whose member uploads go in `import/<id>/` (髙橋 健一 of the sample rosters).
    static let uploader = "1d18ed023e17ccd0"

    static let cases: [HostileCase] = (try? HostileCase.load(corpus + "/expected.tsv")) ?? []

    @Test func theCorpusHasAtLeastFortyFilesAndEachIsListed() throws {
        let listed = Set(try HostileCase.load(Self.corpus + "/expected.tsv").map(\.file))
        let files = HostileFiles.all(Self.corpus).filter { !$0.hasPrefix("good/") && $0 != "expected.tsv" && $0 != "make-corpus.py" }
        #expect(files.count >= 40, "\(files.count) corpus files")
        for f in files { #expect(listed.contains(f), "\(f) is not in expected.tsv") }
        for f in listed where !f.hasPrefix("@") { #expect(files.contains(f), "expected.tsv lists \(f), which does not exist") }
        for f in files { #expect((HostileFiles.size(Self.corpus + "/" + f) ?? 0) <= 512 * 1024, "\(f) is too big to keep: write it in the test") }
    }

    @Test(arguments: cases)
    func hostileInput(_ c: HostileCase) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { FileSystem.removeTree(work) }
        let data = work + "/data"
        try HostileFiles.copyTree(try HostileBase.path(), to: data)
        let baseLatest = HostileFiles.latestRun(data)

        let setup = try HostileSetup.make(c, work: work, data: data)
        let started = Date()
        let run = WatchedRun.run(setup.args, timeout: setup.timeout, onTick: setup.onTick)
        setup.afterRun()
        let outbox = HostileFiles.latestRun(data).flatMap { $0 == baseLatest ? nil : data + "/outbox/" + $0 }
        let checks = HostileChecks(c: c, setup: setup, run: run, outbox: outbox, data: data, work: work)

        checks.group("hang") { #expect(!run.timedOut, "kenpo did not finish within \(Int(setup.timeout)) s: killed") }
        checks.group("crash") {
            #expect(run.timedOut || run.killedForMemory || run.signal == nil, "kenpo died of signal \(run.signal ?? 0): \(run.stderr.suffix(400))")
        }
        checks.group("memory") {
            #expect(!run.killedForMemory, "kenpo passed \(WatchedRun.hardMemoryKB / 1024) MB resident: killed")
            #expect(run.peakRSSKB <= WatchedRun.memoryLimitKB, "peak RSS \(run.peakRSSKB / 1024) MB, over the bound of \(WatchedRun.memoryLimitKB / 1024) MB")
        }
        checks.group("outcome") { try checks.outcome() }
        checks.group("companion") { try checks.companion() }
        checks.group("accounting") { try checks.accounting() }
        checks.group("leak") { checks.noLeak() }
        checks.group("formula") { checks.spreadsheetSafe() }
        checks.group("control") { checks.noControlCharacters() }
        checks.group("left") { try checks.nobodyLeft() }
        print(checks.summaryLine(seconds: Date().timeIntervalSince(started)))
    }
}

// MARK: - the table

struct HostileCase: Sendable, CustomTestStringConvertible {
    var file: String
    var command: String
    var expected: String
    var note: String

    var testDescription: String { "\(file) [\(command)]" }


    var isGenerated: Bool { file.hasPrefix("@") }
    var verb: String { String(command.split(separator: " ").first ?? "") }
    var profile: String? { command.split(separator: " ").dropFirst().first.map(String.init) }

    static func load(_ path: String) throws -> [HostileCase] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [HostileCase] = []
        var sawHeader = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if !sawHeader { sawHeader = true; continue }   // file, command, expected, note
            guard f.count >= 3 else { continue }
            out.append(HostileCase(file: f[0], command: f[1], expected: f[2], note: f.count > 3 ? f[3] : ""))
        }
        return out
    }
}

/// The `expected` column, parsed.
struct HostileExpectation {
    struct Reason { var code: String; var count: Int?; var line: Int? }
    var exit: (status: Int32, phrase: String)?
    var reasons: [Reason] = []
    var accepted: Int?
    var noLeft: String?
    var alsoAccepted: String?

    init(_ s: String) {
        if s.hasPrefix("exit:") {
            let rest = s.dropFirst(5)
            let colon = rest.firstIndex(of: ":") ?? rest.endIndex
            exit = (Int32(rest[..<colon]) ?? -1, colon < rest.endIndex ? String(rest[rest.index(after: colon)...]) : "")
            return
        }
        for token in s.split(separator: " ") {
            if token.hasPrefix("reject:") {
                for item in token.dropFirst(7).split(separator: ",") {
                    var code = Substring(item), count: Int? = nil, line: Int? = nil
                    if let at = code.firstIndex(of: "@") { line = Int(code[code.index(after: at)...]); code = code[..<at] }
                    if let star = code.firstIndex(of: "*") { count = Int(code[code.index(after: star)...]); code = code[..<star] }
                    reasons.append(Reason(code: String(code), count: count, line: line))
                }
            } else if token.hasPrefix("accepted=") {
                accepted = Int(token.dropFirst(9))
            } else if token.hasPrefix("no-left=") {
                noLeft = String(token.dropFirst(8))
            } else if token.hasPrefix("also-accepted=") {
                alsoAccepted = String(token.dropFirst(14))
            }
        }
    }
}

// MARK: - running kenpo under watch

/// One kenpo process, watched: a wall-clock limit, and its memory read from /proc/PID/status every 5 ms
/// — the peak is the largest VmHWM (the kernel's resident high-water mark of kenpo's address space,
/// so nothing between two samples is missed but the last few milliseconds), and a VmRSS above 2 GB
/// kills it. (wait4's ru_maxrss cannot be used: posix_spawn starts the child with vfork, and the
/// kernel carries the test runner's own high-water mark into the child's.) Output goes to files, so a
/// full pipe cannot block it.
struct WatchedRun {
    static let memoryLimitKB = 256 * 1024 * sanitizerScale.memory
    static let hardMemoryKB = 2 * 1024 * 1024 * sanitizerScale.memory
    /// Under AddressSanitizer (`.ci/sanitize` sets KENPO_TEST_SANITIZER=address) kenpo runs slower,
    /// and ASan's shadow memory, redzones and quarantine of freed blocks add to its resident memory:
    /// the time limit and both memory bounds scale by these factors there, and only there. Measured
    /// over the corpus (2026-11-21, debug builds): peak memory 1.9× on average, at most 3.7×
    /// (38 → 142 MB); time at most 4.7×.
    static let sanitizerScale: (time: Double, memory: Int) = SanitizedRun.sanitizer == nil ? (1, 1) : (4, 4)

    var status: Int32?
    var signal: Int32?
    var timedOut = false
    var killedForMemory = false
    var peakRSSKB = 0
    var seconds = 0.0
    var stdout = ""
    var stderr = ""
    var output: String { stdout + "\n" + stderr }

    /// Runs kenpo with `args` from the package root; `onTick` is called with its pid every 5 ms.
    static func run(_ args: [String], timeout: Double = 60, onTick: ((pid_t) -> Void)? = nil) -> WatchedRun {
        var r = WatchedRun()
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-watch-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { FileSystem.removeTree(tmp) }
        let outPath = tmp + "/out", errPath = tmp + "/err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // env -C: the package root as working directory (profiles and tables are found from there);
        // env execs kenpo in the same process, so the pid is kenpo's.
        let argv = ["/usr/bin/env", "-C", KenpoProcess.packageRoot.path, KenpoProcess.binary.path] + args
        var environment = ProcessInfo.processInfo.environment
        for k in ["KENPO_CODE_KEY_FILE", "KENPO_CRASH_AT", "KENPO_CRASH_TRACE", "KENPO_FAIL_BEFORE_PUBLISH"] { environment.removeValue(forKey: k) }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let start = Date()
        let kenpo = (KenpoProcess.binary.path as NSString).resolvingSymlinksInPath
        let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, cArgs, cEnv)
        guard rc == 0 else {
            r.stderr = "posix_spawn failed: \(String(cString: strerror(rc)))"
            r.status = -1
            return r
        }
        while true {
            var st: Int32 = 0
            let w = waitpid(pid, &st, WNOHANG)
            if w == pid {
                if st & 0x7F == 0 { r.status = (st >> 8) & 0xFF } else { r.signal = st & 0x7F }
                break
            }
            if w < 0 && errno != EINTR { r.status = -1; break }
            onTick?(pid)
            if !r.timedOut && Date().timeIntervalSince(start) > timeout * sanitizerScale.time {
                r.timedOut = true
                kill(pid, SIGKILL)
            }
            if let m = memory(pid), m.executable == kenpo {   // not env, nor the vfork child before exec
                r.peakRSSKB = max(r.peakRSSKB, m.hwmKB)
                if !r.killedForMemory && m.rssKB > hardMemoryKB {
                    r.killedForMemory = true
                    kill(pid, SIGKILL)
                }
            }
            usleep(5_000)
        }
        r.seconds = Date().timeIntervalSince(start)
        r.stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        r.stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        SanitizedRun.check(stderr: r.stderr, args: args)
        return r
    }

    /// VmHWM and VmRSS (kB) of a running process, and the program it runs.
    static func memory(_ pid: pid_t) -> (hwmKB: Int, rssKB: Int, executable: String)? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"),
              let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func kB(_ key: String) -> Int {
            guard let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return (kB("VmHWM:"), kB("VmRSS:"), exe)
    }

    /// True when the process has a file open whose path satisfies `match` (/proc/PID/fd).
    static func hasOpen(_ pid: pid_t, _ match: (String) -> Bool) -> Bool {
        let dir = "/proc/\(pid)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return false }
        for n in names {
            if let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + n), match(dest) { return true }
        }
        return false
    }
}

// MARK: - the base data folder

/// The sample member master (day 1) and the sample Mynaportal records, made once per test process and
/// copied for each case.
enum HostileBase {
    private static let made: Result<String, Error> = Result {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-hostile-base-\(UUID().uuidString)").path
        basePath = data
        atexit { if let p = HostileBase.basePath { FileSystem.removeTree(p) } }
        let e = WatchedRun.run(KenpoProcess.day1Args(data: data))
        guard e.status == 3 else { throw KenpoError.invariant("base eligibility: status \(e.status ?? -1): \(e.stderr)") }
        let i = WatchedRun.run(["import", "--data", data, "--date", "2026-11-21", HostileInputEndToEndTests.root + "/samples/health/mynaportal"])
        guard i.status == 0 else { throw KenpoError.invariant("base import: status \(i.status ?? -1): \(i.stderr)") }
        return data
    }
    nonisolated(unsafe) static var basePath: String?
    static func path() throws -> String { try made.get() }
}

// MARK: - files

enum HostileFiles {
    /// Files below `dir`, relative, sorted.
    static func all(_ dir: String) -> [String] {
        var out: [String] = []
        guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue { out.append(rel) }
        }
        return out.sorted()
    }

    static func size(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    /// `cp -a`: the data folder's state/current and outbox/latest are symlinks.
    static func copyTree(_ from: String, to: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/cp")
        p.arguments = ["-a", from, to]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw KenpoError.io(path: from, message: "cp -a failed") }
    }

    /// The run id `outbox/latest` points to.
    static func latestRun(_ data: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: data + "/outbox/latest")
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw KenpoError.io(path: path, message: "cannot write")
        }
    }

    static func write(_ path: String, _ text: String) throws { try write(path, Array(text.utf8)) }

    /// A file written piece by piece (big inputs), never held in memory whole.
    static func stream(_ path: String, _ body: (FileHandle) throws -> Void) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingAtPath: path).unwrap(path)
        defer { try? h.close() }
        try body(h)
    }
}

extension Optional {
    func unwrap(_ what: String) throws -> Wrapped {
        guard let v = self else { throw KenpoError.io(path: what, message: "cannot open") }
        return v
    }
}

/// A flag and a counter shared with a background thread.
final class HostileSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var _stop = false
    private var _count = 0
    private var _fired = false
    var stop: Bool { get { lock.withLock { _stop } } set { lock.withLock { _stop = newValue } } }
    var count: Int { lock.withLock { _count } }
    func add(_ n: Int) { lock.withLock { _count += n } }
    /// True the first time only.
    func fire() -> Bool { lock.withLock { defer { _fired = true }; return !_fired } }
    var fired: Bool { lock.withLock { _fired } }
}

// MARK: - inputs the test writes

enum HostileInputs {
    static let tsubameHeader = "個人管理番号,保険者番号,被保険者証記号,被保険者証番号,枝番,氏名カナ,氏名,生年月日,性別,本人家族,資格取得年月日,資格喪失年月日,郵便番号,住所"

    static func tsubameRow(_ i: Int, kana: String = "テスト　タロウ") -> String {
        ["R\(String(format: "%07d", i))", "06279996", "90", String(1_000_000 + i), "00", kana, "試験　太郎", "19900101", "男", "本人",
         "2020/04/01", "", "1500001", "東京都渋谷区神宮前9-9-9 サンプルマンション101"].joined(separator: ",")
    }

    /// A つばめ roster of `rows` rows (UTF-8 with BOM, CRLF), about 150 bytes a row.
    static func bigRoster(_ path: String, rows: Int) throws {
        var text = "\u{FEFF}" + tsubameHeader + "\r\n"
        for i in 0..<rows { text += tsubameRow(i) + "\r\n" }
        try HostileFiles.write(path, text)
    }

    /// A small checkup that attaches to 鈴木 一郎 (Tests/hostile/good/checkup-suzuki.xml).
    static var checkup: String {
        (try? String(contentsOfFile: HostileInputEndToEndTests.corpus + "/good/checkup-suzuki.xml", encoding: .utf8)) ?? ""
    }

    /// The checkup split around its empty `<text/>`, where hostile content goes.
    static var checkupParts: (head: String, tail: String) {
        let parts = checkup.components(separatedBy: "<text/>")
        return (parts[0], parts.count > 1 ? parts[1] : "")
    }

    /// 2,147,483,648 bytes of well-formed XML (64 KB text elements inside the checkup) as concatenated
    /// gzip members: 2.2 MB on disk. Made once.
    static let gzipBomb: [UInt8] = {
        let (head, tail) = checkupParts
        var element = Array("<t>".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 65_536) + Array("</t>".utf8)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(element.count * 256)
        for _ in 0..<256 { chunk += element }                         // 16 MB
        let member = GzipByteSource.gzip(chunk, level: 9)
        var out = GzipByteSource.gzip(Array((head + "<text>").utf8))
        for _ in 0..<((2 << 30) / chunk.count + 1) { out += member }  // 128 members: 2 GB
        out += GzipByteSource.gzip(Array(("</text>" + tail).utf8))
        return out
    }()

    static func write(_ name: String, to path: String) throws {
        let (head, tail) = checkupParts
        switch name {
        case "@roster-100mb-field.csv":
            try HostileFiles.stream(path) { h in
                h.write(Data(("\u{FEFF}" + tsubameHeader + "\r\n" + tsubameRow(1) + "\r\n").utf8))
                let row = tsubameRow(2).components(separatedBy: "テスト　タロウ")
                h.write(Data((row[0] + "\"").utf8))
                let block = Data(repeating: UInt8(ascii: "A"), count: 1 << 20)
                for _ in 0..<100 { h.write(block) }
                h.write(Data(("\"" + row[1] + "\r\n" + tsubameRow(3) + "\r\n").utf8))
            }
        case "@xml-10000-deep.xml":
            try HostileFiles.write(path, head + "<text>" + String(repeating: "<list>", count: 10_000) + String(repeating: "</list>", count: 10_000) + "</text>" + tail)
        case "@xml-huge-attribute.xml":
            try HostileFiles.stream(path) { h in
                h.write(Data((head + "<text id=\"").utf8))
                let block = Data(repeating: UInt8(ascii: "A"), count: 1 << 20)
                for _ in 0..<16 { h.write(block) }
                h.write(Data(("\"/>" + tail).utf8))
            }
        case "@xml-huge-text.xml.gz":
            // 35 million ア (105 MB) as the patient's name.
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let w = try GzipWriter(path: path)
            let parts = checkup.components(separatedBy: "<name>スズキ イチロウ</name>")
            try w.write(Array((parts[0] + "<name>スズキ イチロウ").utf8))
            let block = Array(String(repeating: "ア", count: 1 << 20).utf8)
            for _ in 0..<35 { try w.write(block) }
            try w.write(Array(("</name>" + parts[1]).utf8))
            try w.finish()
        case "@gzip-bomb-2gb.xml.gz", "@gzip-bomb-2gb-upload.xml.gz":
            try HostileFiles.write(path, gzipBomb)
        default:
            throw KenpoError.invariant("no writer for \(name)")
        }
    }
}

// MARK: - one case's command

/// What one case runs: the arguments, the files involved, and what happens while kenpo runs.
final class HostileSetup {
    var args: [String] = []
    var hostile = ""            // the path kenpo is given for the hostile input
    var companion = ""          // the good file given alongside it
    var companionProfile: String?
    var timeout = 60.0
    var onTick: ((pid_t) -> Void)?
    var after: [() -> Void] = []
    /// Whether the scenario happened as staged (a file deleted or grown while kenpo ran).
    var staged: HostileSignal?
    /// A pipeline run for a clean error: the same inputs through `kenpo run`.
    var pipelineSection: ((String, String) -> String)?

    func afterRun() { after.forEach { $0() } }

    static let goodRoster = ["sample-tsubame": "good/tsubame-roster-good.csv", "sample-kamome": "good/kamome-roster-good.csv"]
    static let goodMailing = ["sample-tsubame": "good/tsubame-mailing-good.csv", "sample-kamome": "good/kamome-mailing-good.csv"]
    static func other(_ profile: String) -> String { profile == "sample-tsubame" ? "sample-kamome" : "sample-tsubame" }

    static func make(_ c: HostileCase, work: String, data: String) throws -> HostileSetup {
        let s = HostileSetup()
        let T = HostileInputEndToEndTests.self
        let corpus = T.corpus
        let date = ["--data", data, "--date", T.runDate]
        s.hostile = c.isGenerated ? work + "/inbox/" + c.file.dropFirst() : corpus + "/" + c.file
        if c.isGenerated, c.file.hasPrefix("@roster-") || c.file.hasPrefix("@xml-") || c.file.hasPrefix("@gzip-") {
            if c.verb == "import-upload" { s.hostile = work + "/inbox/import/\(T.uploader)/" + c.file.dropFirst() }
            try HostileInputs.write(c.file, to: s.hostile)
        } else if c.verb == "import-upload" {
            let copy = work + "/inbox/import/\(T.uploader)/" + (c.file as NSString).lastPathComponent
            try HostileFiles.write(copy, Array(FileManager.default.contents(atPath: s.hostile) ?? Data()))
            s.hostile = copy
        }

        switch c.verb {
        case "roster":
            let p = c.profile ?? "sample-tsubame", o = other(p)
            s.companion = corpus + "/" + goodRoster[o]!
            s.companionProfile = o
            s.args = ["eligibility"] + date + ["--profile", p, s.hostile, "--profile", o, s.companion]
            s.pipelineSection = { h, g in "[eligibility]\n\(p) = \(h)\n\(o) = \(g)\n" }
        case "mailing":
            let p = c.profile ?? "sample-tsubame", o = other(p)
            s.companion = corpus + "/" + goodMailing[o]!
            s.companionProfile = o
            s.args = ["codes"] + date + ["--key-file", T.keyFile, "--profile", p, s.hostile, "--profile", o, s.companion]
            s.pipelineSection = { h, g in "[codes]\nkey_file = \(T.keyFile)\n\(p) = \(h)\n\(o) = \(g)\n" }
        case "reissue":
            s.companion = corpus + "/good/reissue-good.csv"
            s.args = ["reissue"] + date + ["--key-file", T.keyFile, s.hostile, s.companion]
            s.pipelineSection = { h, g in "[codes]\nkey_file = \(T.keyFile)\n[reissue]\nrequests = \(h) \(g)\n" }
        case "delete":
            s.companion = corpus + "/good/delete-good.csv"
            s.args = ["delete"] + date + [s.hostile, s.companion]
            s.pipelineSection = { h, g in "[delete]\nrequests = \(h) \(g)\n" }
        case "export-request":
            s.companion = T.exportRequests
            let pipeline = try HostileSetup.pipeline(work: work, section: "[export]\nrequests = \(s.hostile) \(s.companion)\n")
            s.args = ["run", pipeline] + date
        case "import", "import-upload", "zip":
            s.companion = T.haruto
            s.args = ["import"] + date + [s.hostile, s.companion]
        default:
            throw KenpoError.invariant("unknown command \(c.command)")
        }
        try special(c, s, work: work, date: date)
        return s
    }

    static func mkfifo(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard Glibc.mkfifo(path, 0o600) == 0 else { throw KenpoError.io(path: path, message: "mkfifo failed") }
    }

    /// A pipeline file in `work/pipelines/` (profiles, reference and grading tables linked from the
    /// repository), keeping its inputs in place.
    static func pipeline(work: String, section: String) throws -> String {
        let dir = work + "/pipelines"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for d in ["profiles", "reference", "grading"] where !FileManager.default.fileExists(atPath: dir + "/" + d) {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + d, withDestinationPath: KenpoProcess.packageRoot.path + "/pipelines/" + d)
        }
        let path = dir + "/hostile-\(UUID().uuidString.prefix(8)).pipeline"
        try HostileFiles.write(path, "[pipeline]\nname = hostile\n\n" + section + "\n[archive]\nmode = keep\n")
        return path
    }

    /// Inputs that change while kenpo runs (they cannot be replayed through kenpo run).
    static func special(_ c: HostileCase, _ s: HostileSetup, work: String, date: [String]) throws {
        let signal = HostileSignal()
        if ["@grow-roster-while-reading", "@shrink-roster-while-reading", "@vanish-roster-before-reading"].contains(c.file) { s.pipelineSection = nil }
        switch c.file {
        case "@grow-roster-while-reading":
            // 10,000 rows; once kenpo has the file open, a thread appends one row a millisecond until it ends.
            try HostileInputs.bigRoster(s.hostile, rows: 10_000)
            s.staged = signal
            let path = s.hostile
            s.onTick = { pid in
                guard WatchedRun.hasOpen(pid, { $0 == path }), signal.fire() else { return }
                Thread.detachNewThread {
                    let fd = open(path, O_WRONLY | O_APPEND)
                    defer { close(fd) }
                    var i = 10_000
                    while !signal.stop && i < 40_000 {
                        let row = Array((HostileInputs.tsubameRow(i) + "\r\n").utf8)
                        _ = row.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                        signal.add(1)
                        i += 1
                        usleep(1_000)
                    }
                }
            }
            s.after.append { signal.stop = true; usleep(20_000) }
        case "@shrink-roster-while-reading":
            // Once kenpo has it open, the roster is cut to its first 1,200 rows (the rest vanishes).
            try HostileInputs.bigRoster(s.hostile, rows: 10_000)
            s.staged = signal
            let path = s.hostile
            let header = Array(("\u{FEFF}" + HostileInputs.tsubameHeader + "\r\n").utf8).count
            let cut = (0..<1_200).reduce(header) { $0 + Array((HostileInputs.tsubameRow($1) + "\r\n").utf8).count }
            s.onTick = { pid in
                guard WatchedRun.hasOpen(pid, { $0 == path }), signal.fire() else { return }
                truncate(path, off_t(cut))
            }
        case "@vanish-roster-before-reading":
            // A slow first roster (つばめ, 10,000 rows); the second (かもめ) is deleted while kenpo reads the first.
            let slow = work + "/inbox/slow-roster.csv"
            try HostileInputs.bigRoster(slow, rows: 10_000)
            try HostileFiles.write(s.hostile, Array(FileManager.default.contents(atPath: HostileInputEndToEndTests.corpus + "/good/kamome-roster-good.csv") ?? Data()))
            s.companion = slow
            s.companionProfile = "sample-tsubame"
            s.args = ["eligibility"] + date + ["--profile", "sample-tsubame", slow, "--profile", "sample-kamome", s.hostile]
            s.staged = signal
            let victim = s.hostile
            s.onTick = { pid in
                guard WatchedRun.hasOpen(pid, { $0 == slow }), signal.fire() else { return }
                unlink(victim)
            }
        case "@vanish-import-after-listing":
            // One worker: kenpo inflates the slow first document (the gzip bomb, about a second) before
            // it reads the victim, named on its command line and deleted meanwhile (once kenpo has the
            // slow document open: whether it lists its inputs first or as it goes, the victim is gone
            // before kenpo reads it).
            let slow = work + "/inbox/slow.xml.gz"
            try HostileFiles.write(slow, HostileInputs.gzipBomb)
            try HostileFiles.write(s.hostile, HostileInputs.checkup)
            s.args = ["import"] + date + ["--workers", "1", slow, s.hostile, s.companion]
            s.staged = signal
            let victim = s.hostile
            s.onTick = { pid in
                guard WatchedRun.hasOpen(pid, { $0 == slow }), signal.fire() else { return }
                unlink(victim)
            }
        case "@fifo-import-no-writer", "@fifo-roster-no-writer":
            // Nobody ever opens the FIFO for writing: open(2) for reading would wait forever.
            try mkfifo(s.hostile)
            s.timeout = 15
            s.pipelineSection = nil
        case "@fifo-run-glob-no-writer":
            // kenpo run, [import] insurer = inbox/glob/*.xml, matching a FIFO and a good checkup.
            let inbox = work + "/inbox/glob"
            s.hostile = inbox + "/a-fifo.xml"
            s.companion = inbox + "/b-checkup.xml"
            try mkfifo(s.hostile)
            try HostileFiles.write(s.companion, Array(FileManager.default.contents(atPath: HostileInputEndToEndTests.haruto) ?? Data()))
            let pipeline = try HostileSetup.pipeline(work: work, section: "[import]\ninsurer = \(inbox)/*.xml\n")
            s.args = ["run", pipeline] + date
            s.timeout = 15
        case "@grow-xml-while-reading":
            // A checkup still being written: its first part is there, a thread appends comments every
            // 5 ms while kenpo runs, and the end never comes.
            let (head, _) = HostileInputs.checkupParts
            try HostileFiles.write(s.hostile, head)
            s.staged = signal
            _ = signal.fire()
            let path = s.hostile
            Thread.detachNewThread {
                let fd = open(path, O_WRONLY | O_APPEND)
                defer { close(fd) }
                while !signal.stop {
                    let bytes = Array("<!-- still writing -->\n".utf8)
                    _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    signal.add(1)
                    usleep(5_000)
                }
            }
            s.after.append { signal.stop = true; usleep(20_000) }
        default:
            break
        }
    }
}

// MARK: - checks

struct HostileChecks {
    let c: HostileCase
    let setup: HostileSetup
    let run: WatchedRun
    let outbox: String?
    let data: String
    let work: String
    var expectation: HostileExpectation { HostileExpectation(c.expected) }

    /// Runs one group of checks; an error thrown by a check is recorded under the group's name.
    func group(_ name: String, _ body: () throws -> Void) {
        do { try body() } catch { Issue.record(error, "\(name) check of \(c.file)") }
    }

    var manifest: Manifest? { outbox.flatMap { try? Manifest.decode(path: $0 + "/manifest.json") } }

    /// rejects.csv rows of the hostile file (a ZIP's entries included).
    func hostileRejects() throws -> [[String]] {
        guard let outbox else { return [] }
        return try csvRows(outbox + "/rejects.csv").dropFirst().filter { $0[0] == setup.hostile || $0[0].hasPrefix(setup.hostile + "!/") }
    }

    func outcome() throws {
        let e = expectation
        if setup.staged.map({ !$0.fired }) ?? false {
            Issue.record("\(c.file): the scenario was not staged (kenpo never had the file open while the test watched)")
        }
        if let (status, phrase) = e.exit {
            #expect(run.status == status, "\(c.file): exit status \(run.status.map(String.init) ?? "signal \(run.signal ?? 0)"), expected \(status): \(run.stderr.suffix(600))")
            #expect(run.output.contains(phrase), "\(c.file): the message does not say '\(phrase)': \(run.output.suffix(600))")
            return
        }
        let rejects = try hostileRejects()
        let got = Dictionary(grouping: rejects, by: { $0[3] }).mapValues(\.count)
        if e.reasons.isEmpty {
            #expect(run.status == 0, "\(c.file): exit status \(run.status.map(String.init) ?? "signal"), expected 0 (all accepted): \(run.stderr.suffix(600))")
            #expect(rejects.isEmpty, "\(c.file): rejected \(got)")
        } else {
            #expect(run.status == 3, "\(c.file): exit status \(run.status.map(String.init) ?? "signal \(run.signal ?? 0)"), expected 3: \(run.stderr.suffix(600))")
            for r in e.reasons {
                let n = got[r.code, default: 0]
                if let count = r.count { #expect(n == count, "\(c.file): \(n) × \(r.code), expected \(count); rejects: \(got)") } else { #expect(n > 0, "\(c.file): no \(r.code); rejects: \(got)") }
                if let line = r.line {
                    #expect(rejects.contains { $0[3] == r.code && $0[1] == String(line) }, "\(c.file): \(r.code) not on line \(line): \(rejects.map { "\($0[1]) \($0[3])" })")
                }
            }
            let unexpected = Set(got.keys).subtracting(e.reasons.map(\.code))
            #expect(unexpected.isEmpty, "\(c.file): unexpected reasons \(unexpected.sorted()); rejects: \(got)")
        }
        if let n = e.accepted {
            let input = manifest?.inputs.first { $0.path == setup.hostile }
            #expect(input?.records.accepted == n, "\(c.file): accepted \(input.map { String($0.records.accepted) } ?? "nothing (no manifest input)"), expected \(n)")
        }
    }

    /// The good file given with the hostile one is read and accepted in full: in the same run whenever
    /// kenpo published it; when the hostile file fails the command as a whole (exit 1 or 2, nothing
    /// published), through `kenpo run`, which leaves the failing file out and publishes the rest (exit 4).
    func companion() throws {
        let e = expectation
        let published = outbox != nil && (run.status == 0 || run.status == 3 || run.status == 4)
        if !published {
            guard let (status, phrase) = e.exit, status != 4 else {
                Issue.record("\(c.file): nothing published (\(run.timedOut ? "killed" : "exit \(run.status.map(String.init) ?? "signal")")): the good file \(setup.companion) was not accepted")
                return
            }
            // import: a command that fails publishes nothing, by design; the scenarios that change a
            // file under kenpo cannot be replayed.
            guard let section = setup.pipelineSection else { return }
            let pipeline = try HostileSetup.pipeline(work: work, section: section(setup.hostile, setup.companion))
            let before = HostileFiles.latestRun(data)
            let r = WatchedRun.run(["run", pipeline, "--data", data, "--date", HostileInputEndToEndTests.runDate])
            #expect(r.status == 4, "\(c.file): kenpo run exit status \(r.status.map(String.init) ?? "signal"), expected 4 (the good file published, this one left out): \(r.output.suffix(800))")
            #expect(r.output.contains(phrase), "\(c.file): kenpo run does not say '\(phrase)'")
            let latest = HostileFiles.latestRun(data)
            guard latest != before, let id = latest, let m = try? Manifest.decode(path: data + "/outbox/" + id + "/manifest.json") else {
                Issue.record("\(c.file): kenpo run published nothing"); return
            }
            let good = m.inputs.first { $0.path == setup.companion }
            #expect(good != nil && good!.records.read > 0 && good!.records.read == good!.records.accepted,
                    "\(c.file): kenpo run did not accept the good file \(setup.companion): \(String(describing: good?.records))")
            #expect(!m.inputs.contains { $0.path == setup.hostile }, "\(c.file): kenpo run committed the failing file")
            return
        }
        let good = manifest?.inputs.first { $0.path == setup.companion }
        #expect(good != nil && good!.records.read > 0 && good!.records.read == good!.records.accepted,
                "\(c.file): the good file \(setup.companion) was not accepted in full: \(String(describing: good?.records))")
        if let outbox, setup.companion == HostileInputEndToEndTests.haruto {
            let checkups = try csvRows(outbox + "/checkups.csv")
            let col = checkups.first?.firstIndex(of: "source_file") ?? 9
            #expect(checkups.dropFirst().contains { $0[col] == setup.companion }, "\(c.file): the good checkup is not in checkups.csv")
            if let entry = e.alsoAccepted {
                #expect(checkups.dropFirst().contains { $0[col] == setup.hostile + "!/" + entry },
                        "\(c.file): the archive's honest entry \(entry) is not in checkups.csv")
            }
        }
        if let outbox, c.verb == "export-request" {
            #expect(FileManager.default.fileExists(atPath: outbox + "/exports/kenpo-export-\(HostileInputEndToEndTests.uploader)-\(HostileInputEndToEndTests.runDate).zip"),
                    "\(c.file): the good export request was not exported")
        }
    }

    /// read = accepted + rejected for every input, and the manifest's bytes and SHA-256 are the
    /// file's; a roster that grew while it was read is described exactly as read (its bytes and
    /// SHA-256 are those of the prefix kenpo read).
    func accounting() throws {
        guard let m = manifest else { return }
        let changing = c.file.hasPrefix("@grow-") || c.file.hasPrefix("@shrink-") || c.file.hasPrefix("@vanish-")
        for i in m.inputs {
            #expect(i.records.read == i.records.accepted + i.records.rejected, "\(c.file): \(i.path): read \(i.records.read) ≠ accepted + rejected")
            var st = stat()
            guard !changing, stat(i.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let actual = try SHA256Digest.hex(ofFile: i.path)
            #expect(i.sha256 == actual.sha256 && i.bytes == actual.bytes,
                    "\(c.file): manifest says \(i.path) has \(i.bytes) bytes, SHA-256 \(i.sha256.prefix(12))…; the file has \(actual.bytes), \(actual.sha256.prefix(12))…")
        }
        if c.file == "@grow-roster-while-reading", let i = m.inputs.first(where: { $0.path == setup.hostile }),
           let bytes = FileManager.default.contents(atPath: setup.hostile) {
            let prefix = Array(bytes.prefix(i.bytes))
            #expect(SHA256Digest.hex(of: prefix) == i.sha256, "\(c.file): the manifest's SHA-256 is not that of the \(i.bytes) bytes read")
            let lines = prefix.split(separator: 0x0A).count - 1
            #expect(i.records.read == lines, "\(c.file): \(lines) rows in the bytes read, manifest says \(i.records.read)")
            let appended = setup.staged?.count ?? 0
            let unread = 10_000 + appended - i.records.read
            print("hostile: \(c.file): \(appended) rows appended while kenpo ran, \(unread) of them after kenpo's last read (never read)")
        }
    }

    /// Nothing of /etc/passwd in anything the run wrote.
    func noLeak() {
        guard let outbox else { return }
        let needle = Data("root:x:0:0".utf8)
        for f in HostileFiles.all(outbox) {
            if let d = FileManager.default.contents(atPath: outbox + "/" + f) {
                #expect(d.range(of: needle) == nil, "\(c.file): \(f) holds /etc/passwd content")
            }
        }
    }

    /// No cell a spreadsheet would run as a formula in the files people open in one: rejects.csv, the
    /// insurers' hand-back files, the print file.
    func spreadsheetSafe() {
        guard let outbox else { return }
        for f in HostileFiles.all(outbox) where f.hasSuffix("rejects.csv") || f.hasSuffix("postcards.csv") {
            guard let rows = try? decodedCSVRows(outbox + "/" + f) else { continue }
            for row in rows {
                for cell in row where cell != "-" && SpreadsheetSafe.needsNeutralising(cell) {
                    Issue.record("\(c.file): \(f) has a cell a spreadsheet would run: \(cell.prefix(60))")
                }
            }
        }
    }

    /// The operator's rejects.csv carries no control characters (ESC, BEL, NUL …) from the input.
    func noControlCharacters() {
        guard let outbox, let d = FileManager.default.contents(atPath: outbox + "/rejects.csv") else { return }
        let bad = d.filter { ($0 < 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09) || $0 == 0x7F }
        #expect(bad.isEmpty, "\(c.file): rejects.csv holds raw control bytes \(Set(bad).sorted().map { String(format: "0x%02X", $0) })")
    }

    /// `no-left=INSURER`: nobody of that insurer was marked left.
    func nobodyLeft() throws {
        guard let insurer = expectation.noLeft, let outbox else { return }
        let rows = try csvRows(outbox + "/member_changes.csv")
        let left = rows.dropFirst().filter { $0.count > 2 && $0[1] == insurer && $0[2] == "left" }
        #expect(left.isEmpty, "\(c.file): \(left.count) members of \(insurer) marked left by a file whose every row was rejected")
    }

    func summaryLine(seconds: Double) -> String {
        let rejects = ((try? hostileRejects()) ?? []).map { $0[3] }
        let reasons = Dictionary(grouping: rejects, by: { $0 }).map { "\($0.key)×\($0.value.count)" }.sorted().joined(separator: ",")
        let status = run.timedOut ? "killed after \(Int(setup.timeout)) s" : run.signal.map { "signal \($0)" } ?? "exit \(run.status ?? -1)"
        let accepted = manifest?.inputs.first { $0.path == setup.hostile }.map { " accepted \($0.records.accepted)" } ?? ""
        return "hostile: \(c.file) [\(c.command)]: \(status)\(reasons.isEmpty ? "" : " " + reasons)\(accepted); peak \(run.peakRSSKB / 1024) MB; kenpo \(String(format: "%.2f", run.seconds)) s, case \(String(format: "%.2f", seconds)) s"
    }
}
