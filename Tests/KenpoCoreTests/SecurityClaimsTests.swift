import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// Claims of SECURITY.md that no other unit test shows: the XML parser's options, what an entity or
/// an XInclude can reach, key-file refusals, the report's HTML escaping, and what the dataset writer
/// does not do. Each test names the claim it backs.
@Suite struct SecurityClaimsTests {
    // MARK: - untrusted XML

    /// libxml2's option bits (parser.h), spelled out so the test does not depend on the C module.
    enum Option: Int32, CaseIterable {
        case recover = 0x1, noent = 0x2, dtdload = 0x4, dtdattr = 0x8, dtdvalid = 0x10
        case xinclude = 0x400, nonet = 0x800, huge = 0x80000
    }

    @Test func theXMLParserForbidsTheNetworkAndNeverLoadsEntitiesDTDsXIncludeOrHugeDocuments() {
        let o = XMLStreamParser.options
        #expect(o & Option.nonet.rawValue != 0, "XML_PARSE_NONET must be set")
        for forbidden in [Option.recover, .noent, .dtdload, .dtdattr, .dtdvalid, .xinclude, .huge] {
            #expect(o & forbidden.rawValue == 0, "option \(forbidden) must not be set")
        }
    }

    /// Collects every character the parser hands over.
    final class TextCollector: XMLEventHandler {
        var text: [UInt8] = []
        var elements = 0
        func startElement(_ name: XMLName, attributes: XMLAttributes) { elements += 1 }
        func endElement(_ name: XMLName) {}
        func characters(_ bytes: UnsafeRawBufferPointer) { text.append(contentsOf: bytes) }
    }

    static func tempFile(_ content: String) throws -> String {
        let path = NSTemporaryDirectory() + "kenpo-sec-\(UUID().uuidString)"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test(arguments: ["external-entity", "parameter-entity", "xinclude"])
    func aDocumentNamingALocalFileNeverBringsItsContentIn(_ trick: String) throws {
        let marker = "KENPO-SECRET-\(UUID().uuidString)"
        let secret = try Self.tempFile(marker + "\n")
        defer { unlink(secret) }
        let xml: String
        switch trick {
        case "external-entity":
            xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY s SYSTEM \"file://\(secret)\">]>\n<x>&s;</x>"
        case "parameter-entity":
            xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM \"file://\(secret)\"> %p;]>\n<x>text</x>"
        default:
            xml = "<?xml version=\"1.0\"?>\n<x xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"file://\(secret)\" parse=\"text\"/></x>"
        }
        let handler = TextCollector()
        var failure: XMLParseFailure?
        do { try XMLStreamParser().parse(MemoryByteSource(Array(xml.utf8)), handler: handler) } catch let f as XMLParseFailure { failure = f }
        #expect(!String(decoding: handler.text, as: UTF8.self).contains(marker), "\(trick): the file's content reached the handler")
        if trick == "xinclude" {
            // XInclude is not processed: the element is read as an ordinary element, nothing included.
            #expect(failure == nil && handler.elements == 2)
        } else {
            #expect(failure?.reason == .doctypeRefused, "\(trick): \(String(describing: failure))")
            #expect(handler.elements == 0, "\(trick): the DOCTYPE is refused before any element is reported")
        }
    }

    // MARK: - the code key

    static let hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    final class Folder {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "kenpo-sec-key-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func write(_ name: String, _ text: String, mode: Int) throws -> String {
            let file = path + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
            return file
        }
    }

    static func refusal(_ path: String) -> String? {
        do { _ = try CodeKey.load(path: path); return nil } catch let e as KenpoError {
            guard case .configuration(let p, _, let message) = e, p == path, e.exitStatus == .usage else { return "unexpected: \(e)" }
            return message
        } catch { return "unexpected: \(error)" }
    }

    @Test func aKeyPathThatIsAFolderOrAFIFOIsRefusedWithoutBeingOpened() throws {
        let folder = try Folder()
        let dir = folder.path + "/a-folder"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        #expect(Self.refusal(dir)?.contains("not a regular file") == true)
        // A FIFO with no writer would block open(2) forever: the key loader must refuse it by its type.
        let fifo = folder.path + "/a-fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(Self.refusal(fifo)?.contains("not a regular file") == true)
    }

    @Test func aKeyFileOver64KiBIsNotReadAsAKey() throws {
        let folder = try Folder()
        let padded = String(repeating: "# padding line of a file that is not a key file\n", count: 1400) + Self.hexKey + "\n"
        #expect(padded.utf8.count > 64 * 1024)
        let path = try folder.write("big", padded, mode: 0o600)
        #expect(Self.refusal(path)?.contains("larger than 64 KiB") == true)
        // The same key without the padding is accepted: the size is the reason.
        #expect(Self.refusal(try folder.write("small", Self.hexKey + "\n", mode: 0o600)) == nil)
    }

    @Test func aSymlinkToAKeyOthersCanReadIsRefusedByTheTargetsMode() throws {
        let folder = try Folder()
        let open = try folder.write("open-key", Self.hexKey + "\n", mode: 0o644)
        let link = folder.path + "/link-key"
        #expect(symlink(open, link) == 0)
        #expect(Self.refusal(link)?.contains("chmod 600") == true)
        // The same target made owner-only is accepted through the link.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: open)
        #expect(Self.refusal(link) == nil)
    }

    @Test(arguments: [
        // (file content, mode): every refusal must name the file and never echo the key material.
        (hexKey + "\n", 0o640),
        (String(hexKey.prefix(62)) + "\n", 0o600),                 // 31 bytes: too short
        (String(hexKey.prefix(63)) + "z\n", 0o600),               // a damaged character: not hex
        ("base64:" + Data(Array(repeating: 0xAB, count: 16)).base64EncodedString() + "\n", 0o600),
    ])
    func keyRefusalsNeverShowTheKeyMaterial(_ c: (String, Int)) throws {
        let folder = try Folder()
        let path = try folder.write("k", c.0, mode: c.1)
        let message = try #require(Self.refusal(path), "the key file was accepted")
        let material = c.0.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!message.contains(material) && !message.contains(String(material.prefix(16))), "\(message)")
    }

    @Test func theFingerprintNamesAKeyWithoutRevealingItAndHashesDependOnTheKey() throws {
        let a = try CodeKey(bytes: Array(0..<32))
        let b = try CodeKey(bytes: Array(1..<33))
        #expect(a.fingerprint.count == 16 && a.fingerprint != b.fingerprint)
        #expect(!Self.hexKey.contains(a.fingerprint))
        #expect(a.fingerprint == (try CodeKey(bytes: Array(0..<32))).fingerprint)   // stable: a ledger can record it
        #expect(!a.description.contains(Self.hexKey) && !a.description.contains("000102030405"))
        guard case .valid(let code) = AccessCode.parse("AB3K-7QXM-2D92") else { Issue.record("the known code does not parse"); return }
        let ha = CodeHasher(key: a).hash(code), hb = CodeHasher(key: b).hash(code)
        #expect(ha.count == 64 && hb.count == 64 && ha != hb)
        #expect(!ha.uppercased().contains(code.compact))
    }

    @Test func aLedgerTakesCodesUnderASecondKeyAndRecordsEachRowsKeyFingerprint() throws {
        // kenpo does not refuse a key change: rows under the old key stay active, and only the
        // fingerprint on each row tells a verifier which key its hash needs (SECURITY.md, known gap).
        let a = CodeHasher(key: try CodeKey(bytes: Array(repeating: 1, count: 32)))
        let b = CodeHasher(key: try CodeKey(bytes: Array(repeating: 2, count: 32)))
        let ledger = CodeLedger()
        let (c1, _) = ledger.issue(person: 1, kind: .mailing, hasher: a, generation: "g1", date: "2026-11-21", batchID: "b1")
        let (c2, _) = ledger.issue(person: 2, kind: .mailing, hasher: b, generation: "g2", date: "2026-11-22", batchID: "b2")
        let active = try ledger.entries.filter { $0.status == .active }
        #expect(active.count == 2)
        #expect(active.map(\.keyFingerprint) == [a.key.fingerprint, b.key.fingerprint])
        #expect(active[0].codeHash == a.hash(c1) && active[1].codeHash == b.hash(c2))
        #expect(active[0].codeHash != b.hash(c1), "a hash checked under the other key never matches")
    }

    // MARK: - what people open

    @Test func theHTMLReportEscapesFileNamesAndNotesASenderChose() throws {
        let evil = "inbox/<script>alert(1)</script>\"onload=\"x'.csv"
        var m = Manifest(
            kenpoVersion: KenpoVersion.current, runId: "r000001-20261121T000000Z-run", stage: "run", runDate: "2026-11-21",
            startedAt: "2026-11-21T02:30:00+09:00", finishedAt: "2026-11-21T02:31:00+09:00",
            status: "completed_with_failures", exitStatus: 4, stateGeneration: "g000001", previousStateGeneration: nil,
            inputs: [Manifest.Input(path: evil, kind: "roster", profile: "<b>p</b>", bytes: 1, sha256: String(repeating: "0", count: 64),
                                    records: .init(read: 1, accepted: 1, rejected: 0))],
            outputs: [OutputFile(path: "<img src=x onerror=alert(2)>.csv", rows: 1, bytes: 1, sha256: "")],
            referenceTables: [], rejectReasons: [:], summary: [:])
        m.steps = [Manifest.Step(name: "eligibility", status: "failed", notes: ["\(evil): <iframe src=//x>"])]
        m.archived = [Manifest.ArchivedInput(path: evil, sha256: String(repeating: "0", count: 64), bytes: 1, committedBy: m.runId, archivedTo: nil)]
        let html = RunReport(manifest: m, previous: nil).html
        for raw in ["<script", "<img", "<iframe", "<b>p", "\"onload=\""] {
            #expect(!html.contains(raw), "the report carries '\(raw)' unescaped")
        }
        #expect(html.contains("&lt;script&gt;"))
    }

    @Test func publishedDatasetsAreDataAndAreNotSpreadsheetNeutralised() throws {
        // Only the files people open in a spreadsheet (print file, hand-back, rejects) are neutralised;
        // the datasets keep a value as sent, so the web side reads exactly what the insurer wrote.
        let path = NSTemporaryDirectory() + "kenpo-sec-\(UUID().uuidString).csv"
        defer { unlink(path) }
        let w = try CSVWriter(path: path, header: ["kanji_name"])
        w.row(["=HYPERLINK(\"http://x\")"])
        _ = try w.close()
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        #expect(text == "kanji_name\r\n\"=HYPERLINK(\"\"http://x\"\")\"\r\n")
        #expect(SpreadsheetSafe.neutralise("=HYPERLINK(\"http://x\")").hasPrefix("'"))
    }
}
