import Foundation
import KenpoCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `kenpo codes`, `kenpo reissue` and `kenpo barcode` run as operators run them, on the samples.
@Suite struct CodesEndToEndTests {
    static let keyFile = "samples/keys/demo-code-key"
    static let mailing = ["--profile", "sample-kamome", "samples/mailing/kamome-mailing.csv",
                          "--profile", "sample-tsubame", "samples/mailing/tsubame-mailing.csv"]

    static func codesArgs(data: String) -> [String] {
        ["codes", "--data", data, "--date", "2026-11-21", "--key-file", keyFile] + mailing
    }
    static func reissueArgs(data: String) -> [String] {
        ["reissue", "--data", data, "--date", "2026-11-22", "--key-file", keyFile, "samples/reissue/requests.csv"]
    }

    /// Runs kenpo with extra environment variables (the crash hook) and without KENPO_CODE_KEY_FILE.
    static func run(_ args: [String], environment extra: [String: String] = [:]) throws -> KenpoProcess.Result {
        try KenpoProcess.run(args, environment: withoutKeyVariable(extra))
    }

    /// The environment changes that drop an inherited KENPO_CODE_KEY_FILE unless `extra` sets it.
    static func withoutKeyVariable(_ extra: [String: String]) -> [String: String?] {
        var changes: [String: String?] = ["KENPO_CODE_KEY_FILE": nil]
        for (name, value) in extra { changes[name] = value }
        return changes
    }

    /// A data folder with the day-1 member master and the sample mailing lists issued.
    static func issued() throws -> (data: String, codes: KenpoProcess.Result) {
        let data = KenpoProcess.tempDataFolder()
        let e = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        #expect(e.status == 3, "eligibility: \(e.stderr)")
        let r = try run(codesArgs(data: data))
        return (data, r)
    }

    /// Rows of a CP932 print file, decoded.
    static func printRows(_ path: String) throws -> [[String]] {
        let reader = try CSVReader(path: path)
        let decoder = CP932Decoder()
        var rows: [[String]] = []
        while try reader.next() {
            rows.append(try (0..<reader.fieldCount).map { try decoder.decode(Array(reader.fieldBytes($0))).get() })
        }
        return rows
    }

    static func key() throws -> CodeHasher {
        CodeHasher(key: try CodeKey.load(path: KenpoProcess.packageRoot.path + "/" + keyFile))
    }

    static func ledger(_ path: String) throws -> [CodeLedgerEntry] { try CodeLedger(path: path).entries }

    static func allFiles(_ root: String) -> [String] {
        var out: [String] = []
        guard let e = FileManager.default.enumerator(atPath: root) else { return out }
        while let rel = e.nextObject() as? String {
            let p = root + "/" + rel
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out
    }

    @Test func codesOnTheSampleMailingListWritesPrintFileManifestProofAndLedger() throws {
        let (data, r) = try Self.issued()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(r.status == 3, "completed with rejects; stderr: \(r.stderr)")
        let latest = data + "/outbox/latest"
        for f in ["postcards.csv", "postcards.manifest.json", "proof.svg", "access_codes.csv", "rejects.csv", "manifest.json"] {
            #expect(FileManager.default.fileExists(atPath: latest + "/" + f), "\(f) missing")
        }
        // Accounting and reasons.
        let manifest = try Manifest.decode(path: latest + "/manifest.json")
        #expect(manifest.inputs.map(\.records) == [.init(read: 11, accepted: 6, rejected: 5), .init(read: 5, accepted: 3, rejected: 2)])
        let rejects = try csvRows(latest + "/rejects.csv").dropFirst().map { "\($0[0].split(separator: "/").last!):\($0[1]):\($0[3])" }
        #expect(rejects == ["kamome-mailing.csv:8:PERSON_UNKNOWN", "kamome-mailing.csv:9:PERSON_NOT_ELIGIBLE",
                            "kamome-mailing.csv:10:ADDRESS_UNUSABLE", "kamome-mailing.csv:11:DUPLICATE_PERSON",
                            "kamome-mailing.csv:12:ADDRESS_UNUSABLE", "tsubame-mailing.csv:5:NAME_NOT_PRINTABLE",
                            "tsubame-mailing.csv:6:PERSON_UNKNOWN"])
        // The print file: header, 9 postcards, sequence 1…9, names with 様, documented substitution.
        let rows = try Self.printRows(latest + "/postcards.csv")
        #expect(rows.first == PostcardPrintFile.header)
        let cards = Array(rows.dropFirst())
        #expect(cards.map { $0[0] } == (1...9).map(String.init))
        #expect(cards.allSatisfy { $0[5].hasSuffix("　様") && $0[8] == "" })
        #expect(cards.contains { $0[5] == "吉田　恭子　様" })                   // 𠮷 → 吉
        #expect(cards.contains { $0[3] == "'@サンプルビル" })                   // formula start neutralised
        #expect(cards.filter { $0[6] == "かもめ健康保険組合" }.count == 6)
        // Every code verifies against an active hash of the published ledger under the demo key.
        let hasher = try Self.key()
        let entries = try Self.ledger(latest + "/access_codes.csv")
        let active = Set(entries.filter { $0.status == .active }.map(\.codeHash))
        #expect(active.count == 9)
        var codes: [AccessCode] = []
        for card in cards {
            guard case .valid(let code) = AccessCode.parse(card[7]) else { Issue.record("unreadable code"); continue }
            #expect(card[7] == code.grouped)
            #expect(active.contains(hasher.hash(code)))
            codes.append(code)
        }
        #expect(Set(codes).count == 9)
        // Every barcode is CustomerBarcode.encode of the printed postal code and address (each sample
        // address line is short: the printed lines are 住所1 and 住所2 as sent, not wrapped).
        for card in cards {
            let lines = card[2...4].filter { !$0.isEmpty }.map { $0.hasPrefix("'") ? String($0.dropFirst()) : $0 }
            #expect(lines.allSatisfy { DisplayWidth.columns(of: $0) < PostcardLayout.addressColumns })
            let b = try CustomerBarcode.encode(postalCode: card[1], address: PostcardLayout.barcodeAddress(lines.joined(separator: "\n")))
            #expect(card[9] == b.dataString && card[10] == b.checkCharacter.description && card[11] == b.bars, "\(card[1])")
        }
        // The vendor manifest describes the print file.
        let vendor = try VendorManifest.decode(path: latest + "/postcards.manifest.json")
        let (sha, bytes) = try SHA256Digest.hex(ofFile: latest + "/postcards.csv")
        #expect(vendor.records == 9 && vendor.firstSequence == 1 && vendor.lastSequence == 9)
        #expect(vendor.sha256 == sha && vendor.bytes == bytes && vendor.encoding == "CP932" && vendor.kind == "mailing")
        // The proof sheet shows 8 postcards, codes masked.
        let svg = try String(contentsOfFile: latest + "/proof.svg", encoding: .utf8)
        #expect(svg.components(separatedBy: "class=\"postcard\"").count - 1 == 8)
        #expect(svg.contains(codes[0].masked(keepingLast: 4)))
        // No plain code anywhere but the print file: not in state, other outputs, stdout or stderr.
        for file in Self.allFiles(data) where !file.hasSuffix("/postcards.csv") {
            let content = String(decoding: FileManager.default.contents(atPath: file) ?? Data(), as: UTF8.self)
            for c in codes { #expect(!content.contains(c.compact) && !content.contains(c.grouped), "a code in \(file)") }
        }
        for c in codes { #expect(!(r.stdout + r.stderr).contains(c.compact) && !(r.stdout + r.stderr).contains(c.grouped)) }
        // The print file is the owner's only.
        var st = stat()
        stat(latest + "/postcards.csv", &st)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(r.stderr.contains("DEMO key"))
    }

    @Test func rerunningAPublishedBatchIssuesNothing() throws {
        let (data, first) = try Self.issued()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(first.status == 3)
        let runID = FileSystem.readSymlink(data + "/outbox/latest")!
        let ledgerBefore = fileBytes(data + "/state/current/access_codes.csv")
        let again = try Self.run(Self.codesArgs(data: data))
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(again.stdout.contains("batch already issued in run \(runID): print file at \(data)/outbox/\(runID)/postcards.csv"))
        #expect(FileSystem.readSymlink(data + "/outbox/latest") == runID)
        #expect(fileBytes(data + "/state/current/access_codes.csv") == ledgerBefore)
        // The same bytes under another name are the same batch.
        let copy = data + "/kamome-copy.csv"
        try FileManager.default.copyItem(atPath: KenpoProcess.packageRoot.path + "/samples/mailing/kamome-mailing.csv", toPath: copy)
        let renamed = try Self.run(["codes", "--data", data, "--date", "2026-11-21", "--key-file", Self.keyFile,
                                    "--profile", "sample-kamome", copy, "--profile", "sample-tsubame", "samples/mailing/tsubame-mailing.csv"])
        #expect(renamed.status == 0 && renamed.stdout.contains("batch already issued"))
    }

    @Test func aNewMailingSupersedesAndReissueRevokesWithOnePostcardPerPerson() throws {
        let (data, first) = try Self.issued()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(first.status == 3)
        let before = try Self.ledger(data + "/outbox/latest/access_codes.csv")
        let kyoko = "aee18e008e288d81", ichiro = "63816c70bf53c263"
        let oldKyoko = try #require(before.first { $0.personID == kyoko && $0.status == .active })
        let r = try Self.run(Self.reissueArgs(data: data))
        #expect(r.status == 3, "one request not eligible; stderr: \(r.stderr)")
        let latest = data + "/outbox/latest"
        let manifest = try Manifest.decode(path: latest + "/manifest.json")
        #expect(manifest.inputs.map(\.records) == [.init(read: 4, accepted: 3, rejected: 1)])
        #expect(manifest.summary["reissue_merged"] == 1)
        #expect(try csvRows(latest + "/rejects.csv").dropFirst().map { $0[3] } == ["PERSON_NOT_ELIGIBLE"])
        let after = try Self.ledger(latest + "/access_codes.csv")
        let revoked = try #require(after.first { $0.codeHash == oldKyoko.codeHash })
        #expect(revoked.status == .revoked && revoked.ticket == "T-1001;T-1003" && revoked.changedDate == "2026-11-22")
        #expect(after.filter { $0.personID == kyoko && $0.status == .active }.count == 1)
        #expect(after.filter { $0.personID == ichiro }.map(\.status) == [.revoked, .active])
        #expect(after.filter { $0.status == .active }.count == 9)
        // Two postcards (one per person), marked 再発行, numbered after the first batch; the new code verifies.
        let cards = try Self.printRows(latest + "/postcards.csv").dropFirst()
        #expect(cards.map { $0[0] } == ["10", "11"])
        #expect(cards.allSatisfy { $0[8] == "再発行" })
        #expect(cards.first?[1] == "100-0005" && cards.first?[2] == "東京都千代田区丸の内1-1")   // the request's new address
        let hasher = try Self.key()
        guard case .valid(let code) = AccessCode.parse(cards.first![7]) else { Issue.record("unreadable"); return }
        #expect(after.first { $0.personID == kyoko && $0.status == .active }?.codeHash == hasher.hash(code))

        // A later mailing list naming Kyoko supersedes her reissued code.
        let list = data + "/kyoko.csv"
        let kamome = try Data(contentsOf: URL(fileURLWithPath: KenpoProcess.packageRoot.path + "/samples/mailing/kamome-mailing.csv"))
        let lines = kamome.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(2)
        try Data(lines.map { Data($0) + Data([0x0A]) }.reduce(Data(), +)).write(to: URL(fileURLWithPath: list))
        let m = try Self.run(["codes", "--data", data, "--date", "2026-11-23", "--key-file", Self.keyFile, "--profile", "sample-kamome", list])
        #expect(m.status == 0, "stderr: \(m.stderr)")
        let last = try Self.ledger(data + "/outbox/latest/access_codes.csv")
        #expect(last.filter { $0.personID == kyoko }.map(\.status) == [.revoked, .superseded, .active])
        #expect(try Self.printRows(data + "/outbox/latest/postcards.csv").dropFirst().map { $0[0] } == ["12"])
    }

    @Test func aCrashBeforePublicationLeavesLedgerAndOutboxUnchangedAndARerunIssuesFreshCodes() throws {
        let (data, first) = try Self.issued()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(first.status == 3)
        let latestBefore = FileSystem.readSymlink(data + "/outbox/latest")
        let currentBefore = FileSystem.readSymlink(data + "/state/current")
        let ledgerBefore = fileBytes(data + "/state/current/access_codes.csv")
        let runsBefore = FileSystem.listDirectory(data + "/outbox").filter { $0.hasPrefix("r") }.sorted()
        let crashed = try Self.run(Self.reissueArgs(data: data), environment: ["KENPO_FAIL_BEFORE_PUBLISH": "1"])
        #expect(crashed.status == 70, "the test hook dies before the commit; stderr: \(crashed.stderr)")
        #expect(FileSystem.readSymlink(data + "/outbox/latest") == latestBefore)
        #expect(FileSystem.readSymlink(data + "/state/current") == currentBefore)
        #expect(fileBytes(data + "/state/current/access_codes.csv") == ledgerBefore)
        #expect(FileSystem.listDirectory(data + "/outbox").filter { $0.hasPrefix("r") }.sorted() == runsBefore)
        // Nothing was published, so the rerun is not "already issued": it issues (fresh) codes.
        let rerun = try Self.run(Self.reissueArgs(data: data))
        #expect(rerun.status == 3, "stderr: \(rerun.stderr)")
        #expect(!rerun.stdout.contains("already issued"))
        #expect(FileSystem.readSymlink(data + "/outbox/latest") != latestBefore)
        #expect(!FileSystem.listDirectory(data + "/outbox").contains { $0.hasPrefix(".staging-") })
        let cards = try Self.printRows(data + "/outbox/latest/postcards.csv").dropFirst()
        #expect(cards.map { $0[0] } == ["10", "11"])
    }

    @Test func noKeyNoCodes() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try Self.run(["codes", "--data", data] + Self.mailing)
        #expect(r.status == 2)
        #expect(r.stderr.contains("no code key"))
        #expect(!FileManager.default.fileExists(atPath: data + "/outbox/latest"))
    }

    @Test func utf8PrintFileOnRequest() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        let r = try Self.run(Self.codesArgs(data: data) + ["--print-encoding", "utf-8"])
        #expect(r.status == 3)
        let rows = try csvRows(data + "/outbox/latest/postcards.csv")
        #expect(rows.first == PostcardPrintFile.header && rows.count == 10)
        #expect(try VendorManifest.decode(path: data + "/outbox/latest/postcards.manifest.json").encoding == "UTF-8")
    }

    // `kenpo barcode` and the print file on every official case: BarcodeCasesEndToEndTests.
}
