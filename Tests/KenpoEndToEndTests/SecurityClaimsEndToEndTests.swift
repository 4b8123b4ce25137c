import Foundation
import KenpoCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Claims of SECURITY.md shown on the built kenpo: the nightly pipeline over every sample (rosters,
/// health records, member uploads, mailing lists, reissue requests, an export) run under `umask 000`
/// with a real (non-demo) key, then its files, modes, logs, report and manifests searched for
/// personal data and codes; key refusals; ZIP entries that try to leave their folder; the cron
/// wrapper's log and alert. Each test names the claim it backs.
@Suite struct SecurityClaimsEndToEndTests {
    static let root = KenpoProcess.packageRoot.path
    static let runDate = "2026-11-21"

    // MARK: - a deployment of the samples

    /// A deployment root: `pipelines/` with the repository's profiles, reference and grading tables,
    /// a pipeline over every sample (absolute paths, inputs kept in place) and a fresh 0600 code key.
    struct Deployment {
        let work: String
        var data: String { work + "/data" }
        var pipeline: String { work + "/pipelines/security.pipeline" }
        var key: String { work + "/code-key" }

        init(keyLine: String? = nil, keyMode: Int = 0o600, keyInPipeline: Bool = true) throws {
            work = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-sec-\(UUID().uuidString)").path
            let dir = work + "/pipelines"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for d in ["profiles", "reference", "grading"] {
                try FileManager.default.createSymbolicLink(atPath: dir + "/" + d, withDestinationPath: root + "/pipelines/" + d)
            }
            var random = SystemRandomNumberGenerator()
            let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
            try write(key, (keyLine ?? hex) + "\n", mode: keyMode)
            let s = root + "/samples/"
            try write(pipeline, """
                [pipeline]
                name = security

                [eligibility]
                sample-kamome = \(s)rosters/kamome-day1.csv
                sample-tsubame = \(s)rosters/tsubame-day1.csv

                [import]
                auto = \(s)health/insurer \(s)health/mynaportal \(s)health/import

                [export]
                requests = \(s)requests/export-requests.csv

                [codes]
                \(keyInPipeline ? "key_file = \(key)" : "")
                sample-kamome = \(s)mailing/kamome-mailing.csv
                sample-tsubame = \(s)mailing/tsubame-mailing.csv

                [reissue]
                requests = \(s)reissue/requests.csv

                [archive]
                mode = keep

                """, mode: 0o600)
        }

        func remove() { try? FileManager.default.removeItem(atPath: work) }
    }

    static func write(_ path: String, _ text: String, mode: Int) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// Runs `program args` through `sh -c 'umask MASK; exec "$@"'` from the package root, with
    /// KENPO_CODE_KEY_FILE removed from the environment unless `extra` sets it; output to files.
    static func run(_ args: [String], umask mask: String = "000", program: String = KenpoProcess.binary.path,
                    environment extra: [String: String] = [:]) throws -> KenpoProcess.Result {
        try KenpoProcess.run(args, launcher: ["/bin/sh", "-c", "umask \(mask); exec \"$@\"", "sh", program],
                             environment: CodesEndToEndTests.withoutKeyVariable(extra))
    }

    /// The sample pipeline run once under umask 000, shared by the tests that only read its results.
    struct SampleRun {
        let deployment: Deployment
        let result: KenpoProcess.Result
        var data: String { deployment.data }
        var outbox: String { latestRun(data) }
    }

    /// The newest published run's folder (outbox/latest resolved: the file walk does not enter links).
    static func latestRun(_ data: String) -> String {
        data + "/outbox/" + (FileSystem.readSymlink(data + "/outbox/latest") ?? "latest")
    }

    static let sample: Result<SampleRun, Error> = Result(catching: {
        let d = try Deployment()
        let r = try run(["run", d.pipeline, "--data", d.data, "--date", runDate])
        return SampleRun(deployment: d, result: r)
    })

    static func sampleRun() throws -> SampleRun {
        let s = try sample.get()
        #expect(s.result.status == 3, "the sample run completes with the samples' rejects: \(s.result.stderr.suffix(800))")
        return s
    }

    // MARK: - what to look for

    /// Every regular file under `dir`, relative paths.
    static func files(_ dir: String) -> [String] {
        var out: [String] = []
        guard let e = FileManager.default.enumerator(atPath: dir) else { return out }
        while let rel = e.nextObject() as? String {
            var st = stat()
            if lstat(dir + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { out.append(rel) }
        }
        return out.sorted()
    }

    /// A whole file as text: UTF-8, else CP932.
    static func text(_ path: String) -> String {
        let d = FileManager.default.contents(atPath: path) ?? Data()
        if let s = String(data: d, encoding: .utf8) { return s }
        if case .success(let s) = CP932Decoder().decode(Array(d)) { return s }
        return String(decoding: d, as: UTF8.self)
    }

    /// Personal values of the sample members: names (kanji and kana, as sent and as normalised),
    /// addresses, birth dates (as sent and ISO), card numbers, member references and postal codes
    /// (digit-only values of 6 or more digits), taken from every roster, mailing-list and reissue row
    /// (rejected ones included) and from the published member master.
    static func personalValues(outbox: String) throws -> Set<String> {
        let columns: Set<String> = ["ｶﾅ氏名", "漢字氏名", "氏名カナ", "氏名", "カナ氏名", "生年月日", "番号", "被保険者証番号",
                                    "住所", "住所1", "住所2", "address1", "address2", "個人管理番号", "旧番号", "郵便番号", "postal_code",
                                    "kana_name", "kanji_name", "kana_key", "address", "birth_date", "member_ref", "number_key"]
        var values: Set<String> = []
        let inputs = ["rosters/kamome-day1.csv", "rosters/tsubame-day1.csv", "mailing/kamome-mailing.csv",
                      "mailing/tsubame-mailing.csv", "reissue/requests.csv"].map { root + "/samples/" + $0 }
        for path in inputs + [outbox + "/members.csv"] {
            let rows = try decodedCSVRows(path)
            guard let header = rows.first else { continue }
            for row in rows.dropFirst() {
                for (i, name) in header.enumerated() where columns.contains(name) && i < row.count {
                    let v = row[i].trimmingCharacters(in: .whitespaces)
                    let digits = v.allSatisfy { $0.isASCII && $0.isNumber }
                    if digits ? v.count >= 6 : v.count >= 2 { values.insert(v) }
                    if v.contains("　") || v.contains(" ") { values.insert(v.replacingOccurrences(of: "　", with: "").replacingOccurrences(of: " ", with: "")) }
                }
            }
        }
        return values
    }

    /// The plain codes of every print file under `outbox`, in their printed form (three groups of four, hyphenated) and compact.
    static func printedCodes(outbox: String) throws -> [AccessCode] {
        var codes: [AccessCode] = []
        for f in files(outbox) where f.hasSuffix("postcards.csv") {
            for row in try decodedCSVRows(outbox + "/" + f).dropFirst() {
                guard case .valid(let c) = AccessCode.parse(row[7]) else { Issue.record("\(f): unreadable code"); continue }
                codes.append(c)
            }
        }
        return codes
    }

    /// `needle` in `haystack`; a digit-only needle only as a whole word (no ASCII letter or digit
    /// either side), so a card number does not match inside a timing, a byte count or a SHA-256.
    static func occurs(_ needle: String, in haystack: String) -> Bool {
        guard needle.allSatisfy({ $0.isASCII && $0.isNumber }) else { return haystack.contains(needle) }
        var from = haystack.startIndex
        while let r = haystack.range(of: needle, range: from..<haystack.endIndex) {
            let before = r.lowerBound > haystack.startIndex ? haystack[haystack.index(before: r.lowerBound)] : " "
            let after = r.upperBound < haystack.endIndex ? haystack[r.upperBound] : " "
            if !(before.isASCII && (before.isLetter || before.isNumber)) && !(after.isASCII && (after.isLetter || after.isNumber)) { return true }
            from = r.upperBound
        }
        return false
    }

    // MARK: - claims

    @Test func everyFileAndFolderASampleRunCreatesIsTheOwnersOnlyEvenUnderUmask000() throws {
        let s = try Self.sampleRun()
        var files = 0, folders = 0
        var st = stat()
        #expect(lstat(s.data, &st) == 0 && st.st_mode & 0o777 == 0o700, "the data folder is \(String(st.st_mode & 0o777, radix: 8))")
        let e = try #require(FileManager.default.enumerator(atPath: s.data))
        while let rel = e.nextObject() as? String {
            #expect(lstat(s.data + "/" + rel, &st) == 0)
            switch st.st_mode & S_IFMT {
            case S_IFLNK: continue   // state/current, outbox/latest: a link's own mode is not used
            case S_IFDIR:
                folders += 1
                #expect(st.st_mode & 0o777 == 0o700, "\(rel)/ is \(String(st.st_mode & 0o777, radix: 8))")
            default:
                files += 1
                #expect(st.st_mode & 0o777 == 0o600, "\(rel) is \(String(st.st_mode & 0o777, radix: 8))")
            }
        }
        // The run wrote datasets, print files, hand-back files, an export, state and the lock.
        #expect(files >= 35 && folders >= 12, "\(files) files, \(folders) folders")
        for f in [".lock", "outbox/latest/postcards/sample-kamome/postcards.csv", "outbox/latest/insurers/sample-kamome/rejects.csv",
                  "outbox/latest/exports/kenpo-export-1d18ed023e17ccd0-\(Self.runDate).zip", "state/current/access_codes.csv"] {
            #expect(FileManager.default.fileExists(atPath: s.data + "/" + f), "\(f) missing")
        }

        // `kenpo export --out DIR` (outside the data folder) too.
        let out = s.deployment.work + "/exports-out/nested"
        let x = try Self.run(["export", "--data", s.data, "--date", Self.runDate, "--person", "1d18ed023e17ccd0", "--out", out])
        #expect(x.status == 0, "\(x.stderr)")
        #expect(lstat(out, &st) == 0 && st.st_mode & 0o777 == 0o700, "the export folder is \(String(st.st_mode & 0o777, radix: 8))")
        let zip = out + "/kenpo-export-1d18ed023e17ccd0-\(Self.runDate).zip"
        #expect(lstat(zip, &st) == 0 && st.st_mode & 0o777 == 0o600, "the export ZIP is \(String(st.st_mode & 0o777, radix: 8))")
    }

    @Test func logsReportAndManifestsCarryNoNameAddressBirthDateCardNumberOrCode() throws {
        let s = try Self.sampleRun()
        let secrets = try Self.personalValues(outbox: s.outbox)
        let codes = try Self.printedCodes(outbox: s.outbox)
        // The search has something to find: the datasets do hold these values.
        #expect(secrets.count >= 60, "\(secrets.count) personal values")
        #expect(secrets.contains("髙橋　健一") && secrets.contains("タカハシケンイチ") && secrets.contains("0012345678"))
        let members = Self.text(s.outbox + "/members.csv")
        #expect(secrets.filter { Self.occurs($0, in: members) }.count >= 40)
        #expect(codes.count == 11)

        var targets: [(String, String)] = [("stdout", s.result.stdout), ("stderr", s.result.stderr)]
        for f in Self.files(s.outbox) where f == "manifest.json" || f.hasPrefix("report.") || f.hasSuffix("postcards.manifest.json")
            || f.hasSuffix("/summary.csv") {
            targets.append((f, Self.text(s.outbox + "/" + f)))
        }
        for f in ["generation.json", "committed_inputs.csv", "code_batches.csv"] {
            targets.append(("state/" + f, Self.text(s.data + "/state/current/" + f)))
        }
        #expect(targets.count >= 12, "\(targets.map(\.0))")
        // Nor a code's hash, nor the key.
        let hashes = try CodeLedger(path: s.data + "/state/current/access_codes.csv").entries.map(\.codeHash)
        let key = Self.text(s.deployment.key).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hashes.count == 11 && key.count == 64)
        for (name, content) in targets {
            #expect(!content.isEmpty, "\(name) is empty")
            for v in secrets where Self.occurs(v, in: content) { Issue.record("\(name) holds the personal value '\(v)'") }
            for c in codes where content.contains(c.compact) || content.contains(c.grouped) { Issue.record("\(name) holds a plain code") }
            for h in hashes where content.contains(h.prefix(16)) { Issue.record("\(name) holds a code hash") }
            if content.contains(key.prefix(16)) { Issue.record("\(name) holds the code key") }
        }
    }

    @Test func plainCodesAppearInThePrintFilesAndNowhereElseAndTheLedgerHoldsTheirHMACs() throws {
        let s = try Self.sampleRun()
        let codes = try Self.printedCodes(outbox: s.outbox)
        #expect(codes.count == 11 && Set(codes).count == 11)
        var searched = 0
        for f in Self.files(s.data) where !f.hasSuffix("/postcards.csv") {
            let path = s.data + "/" + f
            var contents = [FileManager.default.contents(atPath: path) ?? Data()]
            if f.hasSuffix(".zip") {   // deflated entries: search what they inflate to
                let zip = try ZipArchive(path: path)
                for e in zip.entries where !e.isDirectory { contents.append(Data(try zip.readAll(e))) }
            }
            for d in contents {
                searched += 1
                for c in codes where d.range(of: Data(c.compact.utf8)) != nil || d.range(of: Data(c.grouped.utf8)) != nil {
                    Issue.record("\(f) holds a plain code")
                }
            }
        }
        #expect(searched >= 35)
        for c in codes { #expect(!(s.result.stdout + s.result.stderr).contains(c.compact), "the run's output holds a plain code") }
        // The ledger holds HMAC-SHA256 of each printed code under the run's key, and no code.
        let hasher = CodeHasher(key: try CodeKey.load(path: s.deployment.key))
        let ledger = try CodeLedger(path: s.data + "/state/current/access_codes.csv").entries
        #expect(Set(ledger.map(\.codeHash)) == Set(codes.map(hasher.hash)))
        #expect(ledger.allSatisfy { $0.keyFingerprint == hasher.key.fingerprint && $0.codeHash.count == 64 })
        #expect(ledger.filter { $0.status == .active }.count == 9)   // 11 printed, 2 revoked by the reissue
        #expect(s.result.stderr.contains("key \(hasher.key.fingerprint)") && !s.result.stderr.contains("DEMO"))
    }

    enum KeyCase: String, CaseIterable { case groupReadable, worldReadableByEnvironment, tooShort, none }

    @Test func keyFileOnTheCommandLineWinsOverThePipelinesAndTheEnvironments() throws {
        // The pipeline and KENPO_CODE_KEY_FILE name keys others can read (refused); --key-file a good one.
        let d = try Deployment(keyLine: String(repeating: "5a", count: 32), keyMode: 0o644)
        defer { d.remove() }
        let good = d.work + "/good-key"
        try Self.write(good, String(repeating: "a5", count: 32) + "\n", mode: 0o600)
        let r = try Self.run(["run", d.pipeline, "--data", d.data, "--date", Self.runDate, "--key-file", good],
                             environment: ["KENPO_CODE_KEY_FILE": d.key])
        #expect(r.status == 3, "\(r.stderr.suffix(600))")
        let fingerprint = try CodeKey.load(path: good).fingerprint
        let ledger = try CodeLedger(path: d.data + "/state/current/access_codes.csv").entries
        #expect(!ledger.isEmpty && ledger.allSatisfy { $0.keyFingerprint == fingerprint })
    }

    @Test(arguments: KeyCase.allCases)
    func aRunWithoutAUsableKeyRefusesBeforeItTouchesTheDataFolder(_ c: KeyCase) throws {
        let hex = String(repeating: "5a", count: 32)
        let d: Deployment
        var env: [String: String] = [:]
        switch c {
        case .groupReadable: d = try Deployment(keyLine: hex, keyMode: 0o640)
        case .worldReadableByEnvironment:
            d = try Deployment(keyLine: hex, keyMode: 0o644, keyInPipeline: false)
            env["KENPO_CODE_KEY_FILE"] = d.key
        case .tooShort: d = try Deployment(keyLine: String(hex.prefix(62)), keyMode: 0o600)
        case .none: d = try Deployment(keyInPipeline: false)
        }
        defer { d.remove() }
        let r = try Self.run(["run", d.pipeline, "--data", d.data, "--date", Self.runDate], environment: env)
        #expect(r.status == 2, "\(c): exit \(r.status): \(r.stderr)")
        let expected = [KeyCase.groupReadable: "chmod 600", .worldReadableByEnvironment: "KENPO_CODE_KEY_FILE",
                        .tooShort: "at least 32", .none: "no code key"][c]!
        #expect(r.stderr.contains(expected), "\(c): \(r.stderr)")
        if c != .none { #expect(r.stderr.contains(d.key), "\(c): the message names the key file") }
        #expect(!r.stderr.contains(hex.prefix(16)), "\(c): the message shows key material")
        // Nothing ran: no roster read, no lock taken, no data folder made.
        #expect(!FileManager.default.fileExists(atPath: d.data), "\(c): the data folder was created")
    }

    @Test func zipEntriesNamedOutsideTheirFolderOrAsLinksAreNeverWritten() throws {
        let escapes = ["/tmp/kenpo-hostile-escape.xml", "/tmp/kenpo-hostile-absolute.xml"]
        for p in escapes { unlink(p) }
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let zips = ["dotdot-entry.zip", "absolute-entry.zip", "backslash-dotdot-entry.zip", "symlink-entry.zip"].map { "Tests/hostile/zip/" + $0 }
        let r = try Self.run(["import", "--data", data, "--date", Self.runDate, "--workers", "1"] + zips, umask: "022")
        #expect(r.status == 3, "\(r.stderr)")
        let refused = try csvRows(data + "/outbox/latest/rejects.csv").dropFirst().filter { $0[3] == "ARCHIVE_ENTRY_REFUSED" }
        #expect(refused.count == 5, "\(refused.map { $0[0] })")
        for p in escapes { #expect(!FileManager.default.fileExists(atPath: p), "\(p) was written") }
        // Nothing but the data folder's own layout was created: no entry became a file anywhere.
        let written = Self.files(data).filter { $0.hasSuffix(".xml") || $0.contains("kenpo-hostile") || $0.contains("passwd") }
        #expect(written.isEmpty, "\(written)")
    }

    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/etc/default/kenpo"), "/etc/default/kenpo would override the test's settings"))
    func theNightlyWrapperKeepsItsLogOwnerOnlyAndItsAlertFreeOfPersonalData() throws {
        let d = try Deployment()
        defer { d.remove() }
        // The samples' rejects make this run exit 3: a warning alert.
        let hook = d.work + "/alert-hook", alert = d.work + "/alert.txt"
        try Self.write(hook, "#!/bin/sh\nprintf '%s\\n' \"$@\" > '\(alert)'\n", mode: 0o700)
        let r = try Self.run([Self.root + "/cron/kenpo-nightly"], umask: "022", program: "/bin/bash", environment: [
            "KENPO_BIN": KenpoProcess.binary.path, "KENPO_PIPELINE": d.pipeline, "KENPO_DATA": d.data,
            "KENPO_ALERT_HOOK": hook, "KENPO_RUN_ARGS": "--date \(Self.runDate)"])
        #expect(r.status == 3, "wrapper exit \(r.status): \(r.stderr)")
        let logs = FileSystem.listDirectory(d.data + "/logs").filter { $0.hasSuffix(".log") }
        #expect(logs.count == 1, "\(logs)")
        var st = stat()
        let owned = [d.data + "/logs"] + logs.map({ d.data + "/logs/" + $0 }) + [d.data + "/.nightly.lock"]
        for p in owned {
            #expect(lstat(p, &st) == 0)
            let want: mode_t = (st.st_mode & S_IFMT) == S_IFDIR ? 0o700 : 0o600
            #expect(st.st_mode & 0o777 == want, "\(p) is \(String(st.st_mode & 0o777, radix: 8))")
        }
        let log = Self.text(d.data + "/logs/" + (logs.first ?? ""))
        #expect(log.contains("read 19, accepted 10, rejected 9"), "the log is kenpo's output")
        let args = Self.text(alert).split(separator: "\n").map(String.init)
        #expect(args.count == 4 && args[0] == "warning" && args[1] == "3" && args[3] == d.data + "/logs/" + (logs.first ?? ""), "\(args)")
        let outbox = Self.latestRun(d.data)
        let secrets = try Self.personalValues(outbox: outbox)
        let codes = try Self.printedCodes(outbox: outbox)
        #expect(secrets.count >= 60 && codes.count == 11)
        for (name, content) in [("log", log), ("alert", args.joined(separator: "\n"))] {
            for v in secrets where Self.occurs(v, in: content) { Issue.record("the \(name) holds the personal value '\(v)'") }
            for c in codes where content.contains(c.compact) || content.contains(c.grouped) { Issue.record("the \(name) holds a plain code") }
        }
    }

    // MARK: - links, the archive, profiles

    /// SECURITY.md §2 and §7 (formerly known gap 1): a symbolic link in an insurer's inbox, matched by
    /// the pipeline's glob, is refused as an input ("a symbolic link"): whoever can put a link there
    /// cannot make kenpo read the member master or the code key, not even under a header-less profile
    /// that would hand every line back as a rejected row. The link is a failed input of its step (exit
    /// 4) and the regular roster beside it in another profile is still applied.
    @Test(arguments: ["member master", "code key"])
    func aSymlinkInTheInboxHandsNothingOfItsTargetBackToTheInsurer(_ target: String) throws {
        let d = try Deployment()
        defer { d.remove() }
        let setup = try KenpoProcess.run(["eligibility", "--data", d.data, "--date", Self.runDate,
                                          "--profile", "sample-kamome", KenpoProcess.sample("kamome-day1.csv"),
                                          "--profile", "sample-tsubame", KenpoProcess.sample("tsubame-day1.csv")])
        #expect(setup.status == 3, "\(setup.stderr)")
        // A deployment of its own whose one profile has no header row (columns by number).
        let w = d.work + "/headerless"
        try FileManager.default.createDirectory(atPath: w + "/pipelines/profiles", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: w + "/inbox", withIntermediateDirectories: true)
        try Self.write(w + "/pipelines/profiles/headerless-tsubame.profile", """
            [insurer]
            name = headerless-tsubame
            insurer_number = 06279996

            [file]
            encoding = UTF-8
            header = no

            [columns]
            \(["member_ref", "insurer_number", "symbol", "number", "branch", "kana_name", "kanji_name", "birth_date", "sex",
               "relationship", "qualified_date", "disqualified_date", "postal_code", "address"].enumerated().map { "\($1) = \($0 + 1)" }.joined(separator: "\n"))

            """, mode: 0o600)
        try FileManager.default.createSymbolicLink(atPath: w + "/pipelines/profiles/sample-kamome.profile",
                                                   withDestinationPath: Self.root + "/pipelines/profiles/sample-kamome.profile")
        try FileManager.default.createDirectory(atPath: w + "/kamome", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.root + "/samples/rosters/kamome-day1.csv", toPath: w + "/kamome/roster.csv")
        try Self.write(w + "/pipelines/headerless.pipeline",
                       "[pipeline]\nname = headerless\n\n[eligibility]\nheaderless-tsubame = \(w)/inbox/*.csv\nsample-kamome = \(w)/kamome/*.csv\n\n[archive]\nmode = keep\n", mode: 0o600)
        let linked = target == "code key" ? d.key : d.data + "/state/current/members.csv"
        try FileManager.default.createSymbolicLink(atPath: w + "/inbox/roster.csv", withDestinationPath: linked)
        let secret = target == "code key" ? Self.text(d.key).trimmingCharacters(in: .whitespacesAndNewlines) : "髙橋　健一"
        #expect(Self.text(linked).contains(secret), "the target holds what the test looks for")

        let r = try Self.run(["run", w + "/pipelines/headerless.pipeline", "--data", d.data, "--date", "2026-11-22"])
        #expect(r.status == 4, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(w + "/inbox/roster.csv: a symbolic link; kenpo reads only regular files"), "\(r.stderr)")
        let outbox = Self.latestRun(d.data)
        let handBack = Self.files(outbox + "/insurers").map { Self.text(outbox + "/insurers/" + $0) }.joined()
        #expect(!handBack.contains(secret), "the insurer's hand-back holds the \(target) the inbox link points to")
        let m = try Manifest.decode(path: outbox + "/manifest.json")
        let step = m.steps?.first { $0.name == "eligibility" }
        #expect(step?.failedInputs == [w + "/inbox/roster.csv"], "\(String(describing: step))")
        #expect(m.inputs.map(\.path) == [w + "/kamome/roster.csv"], "the other profile's roster is applied: \(m.inputs.map(\.path))")
        #expect(FileSystem.readSymlink(w + "/inbox/roster.csv") == linked, "the link stays in the inbox")
    }

    /// A data folder whose member master holds the day-1 samples and whose archive holds the member
    /// 髙橋 健一's Mynaportal cost notices, imported by `kenpo run` with `[archive] mode = move`.
    static func archivedMynaportalPull(_ d: Deployment) throws -> (document: String, sha256: String) {
        let setup = try KenpoProcess.run(KenpoProcess.day1Args(data: d.data))
        #expect(setup.status == 3, "\(setup.stderr)")
        let inbox = d.work + "/inbox/mynaportal"
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let document = inbox + "/takahashi-cost-notices.xml"
        try FileManager.default.copyItem(atPath: root + "/samples/health/mynaportal/takahashi-cost-notices.xml", toPath: document)
        let sha = try SHA256Digest.hex(ofFile: document).sha256
        try write(d.work + "/pipelines/pull.pipeline", "[pipeline]\nname = pull\n\n[import]\nauto = inbox/mynaportal\n", mode: 0o600)
        let pull = try run(["run", d.work + "/pipelines/pull.pipeline", "--data", d.data, "--date", runDate])
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(!FileManager.default.fileExists(atPath: document), "the committed pull was moved to the archive")
        return (document, sha)
    }

    /// Files under the data folder's archive/ whose bytes have this SHA-256.
    static func archived(_ data: String, sha256: String) throws -> [String] {
        try files(data + "/archive").filter { try SHA256Digest.hex(ofFile: data + "/archive/" + $0).sha256 == sha256 }
    }

    /// SECURITY.md §3, retention (formerly known gap 2): the archive's date folders go with the runs
    /// and generations of their dates.
    @Test func retentionRemovesOldRunsAndTheArchivedInputsOfTheirDates() throws {
        let d = try Deployment()
        defer { d.remove() }
        let pulled = try Self.archivedMynaportalPull(d)
        #expect(try Self.archived(d.data, sha256: pulled.sha256).count == 1)
        let firstRuns = FileSystem.listDirectory(d.data + "/outbox").filter { $0.hasPrefix("r") }
        #expect(firstRuns.count == 2)
        // 40 days later (default retention 30 days): any run prunes the earlier runs and generations.
        let later = try Self.run(["eligibility", "--data", d.data, "--date", "2026-12-31",
                                  "--profile", "sample-tsubame", Self.root + "/samples/rosters/tsubame-day1.csv"])
        #expect(later.status == 3, "\(later.stderr)")
        let runs = FileSystem.listDirectory(d.data + "/outbox").filter { $0.hasPrefix("r") }
        #expect(runs.count == 1 && !firstRuns.contains(runs[0]), "retention kept \(runs)")
        #expect(FileSystem.listDirectory(d.data + "/state/generations").count == 1)
        // archive/<run date>/ went with them: the member's Mynaportal document is gone.
        #expect(try Self.archived(d.data, sha256: pulled.sha256).isEmpty)
        #expect(FileSystem.listDirectory(d.data + "/archive").isEmpty, "\(FileSystem.listDirectory(d.data + "/archive"))")
    }

    /// SECURITY.md, deletion (formerly known gap 2): a deletion (取得データ削除) removes the member's
    /// records from every dataset, leaves tombstones, and removes the Mynaportal document itself from
    /// archive/, where the run that imported it had moved it; the audit row counts it.
    @Test func aDeletionLeavesNoCopyOfTheMembersMynaportalDocument() throws {
        let d = try Deployment()
        defer { d.remove() }
        let pulled = try Self.archivedMynaportalPull(d)
        let requests = d.work + "/delete.csv"
        try Self.write(requests, "request_id,person_id,requested_at\r\nDEL-1,1d18ed023e17ccd0,2026-11-22\r\n", mode: 0o600)
        let del = try Self.run(["delete", "--data", d.data, "--date", "2026-11-22", requests])
        #expect(del.status == 0, "\(del.stderr)")
        // The records are gone from the state (what the deletion promises) ...
        let notices = try csvRows(d.data + "/state/current/cost_notices.csv").dropFirst()
        #expect(!notices.contains { $0.contains("1d18ed023e17ccd0") }, "the cost notices are still in the state")
        #expect(Self.text(d.data + "/state/current/deletion_tombstones.csv").contains(pulled.sha256))
        // ... and the document they came from should be gone from the data folder too.
        let copies = try Self.archived(d.data, sha256: pulled.sha256)
        #expect(copies.isEmpty, "archive/ still holds the deleted document: \(copies)")
        let audit = try csvRows(d.data + "/state/current/deletions.csv")
        let column = try #require(audit.first?.firstIndex(of: "archived_documents_removed"))
        #expect(audit.dropFirst().map { $0[column] } == ["1"], "\(audit)")
    }

    @Test func anImportFolderIsWalkedWithoutFollowingSymbolicLinks() throws {
        let work = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        let inbox = work + "/inbox"
        try FileManager.default.createDirectory(atPath: inbox + "/sub", withIntermediateDirectories: true)
        let haruto = Self.root + "/samples/health/insurer/tsubame-checkup-haruto.xml"
        try FileManager.default.copyItem(atPath: haruto, toPath: inbox + "/copy.xml")
        try FileManager.default.createSymbolicLink(atPath: inbox + "/link.xml", withDestinationPath: haruto)
        try FileManager.default.createSymbolicLink(atPath: inbox + "/linked-folder", withDestinationPath: Self.root + "/samples/health/insurer")
        try FileManager.default.createSymbolicLink(atPath: inbox + "/sub/etc-passwd.xml", withDestinationPath: "/etc/passwd")
        let data = work + "/data"
        let r = try Self.run(["import", "--data", data, "--date", Self.runDate, inbox], umask: "022")
        #expect(r.status == 3, "\(r.stderr)")   // the one checkup's member is not in this empty master
        let m = try Manifest.decode(path: Self.latestRun(data) + "/manifest.json")
        #expect(m.inputs.map(\.path) == [inbox + "/copy.xml"], "\(m.inputs.map(\.path))")
    }

    /// SECURITY.md §2 and §7 (formerly known gap 6): a roster read under a profile without
    /// `insurer_number` would be taken as the full snapshot of whatever insurer its rows name — one row
    /// with another insurer's card would change that member and mark every other member of that
    /// insurer left. Such a profile is refused (exit 2, naming the file, the line and what to add)
    /// before anything is read, and nobody changes.
    @Test func aProfileWithoutAnInsurerNumberCannotChangeOrEndAnotherInsurersMembers() throws {
        let work = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let data = work + "/data"
        let setup = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        #expect(setup.status == 3, "\(setup.stderr)")
        // つばめ's profile without its insurer_number line.
        let profile = Self.text(Self.root + "/pipelines/profiles/sample-tsubame.profile")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { $0 != "insurer_number = 06279996" }.joined(separator: "\n")
            .replacingOccurrences(of: "name = sample-tsubame", with: "name = open-tsubame")
        try Self.write(work + "/open-tsubame.profile", profile, mode: 0o600)
        #expect(!profile.contains("06279996"))
        // One row in つばめ's format carrying かもめ's member 山田 恭子 with a new address.
        try Self.write(work + "/roster.csv", "\u{FEFF}個人管理番号,保険者番号,被保険者証記号,被保険者証番号,枝番,氏名カナ,氏名,生年月日,性別,本人家族,資格取得年月日,資格喪失年月日,郵便番号,住所\r\n"
                       + ",06139992,1001,0012345678,00,ヤマダ　キョウコ,山田　恭子,19800102,女,本人,2002/04/01,,9999999,攻撃者が決めた住所1-1\r\n", mode: 0o600)
        let before = FileSystem.readSymlink(data + "/outbox/latest")
        let r = try Self.run(["eligibility", "--data", data, "--date", "2026-11-22", "--profile", work + "/open-tsubame.profile", work + "/roster.csv"])
        let published = FileSystem.readSymlink(data + "/outbox/latest") != before
        let changes = published ? try csvRows(Self.latestRun(data) + "/member_changes.csv").dropFirst().filter { $0[1] == "06139992" } : []
        #expect(changes.isEmpty, "exit \(r.status): かもめ's members changed: \(changes.map { $0[2] })")
        #expect(r.status == 2 && !published, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(work + "/open-tsubame.profile") && r.stderr.contains("insurer_number = NNNNNNNN"), "\(r.stderr)")
    }
}
