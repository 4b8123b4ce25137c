import Foundation
import Testing
@testable import KenpoCore

/// The rules of `kenpo merge` (PartitionMerge) on hand-made partition outboxes: the order of each
/// dataset, what makes partitions not belong together, and how file partitions share one roster.
struct PartitionMergeTests {
    static let memberHeader = ["person_id", "insurer_number", "kana_name"]
    static let changeHeader = ["person_id", "insurer_number", "change", "before", "after"]
    static let checkupHeader = RecordKind.checkup.tables[0].header
    static let resultHeader = RecordKind.checkup.tables[1].header
    static let noticeHeader = RecordKind.costNotice.tables[0].header
    static let recordChangeHeader = ["kind", "record_id", "person_id", "change", "source", "source_file"]
    static let rejectHeader = ["file", "line", "record_key", "reason_code", "message"]

    static func pid(_ n: Int) -> String { String(format: "%016llx", UInt64(n) << 56 | UInt64(n)) }
    static func rid(_ n: Int) -> String { String(format: "c%015llx", UInt64(n)) }

    static func member(_ n: Int, _ insurer: String = "06139992") -> [String] { [pid(n), insurer, "カナ\(n)"] }
    static func checkup(_ r: Int, _ p: Int, content: String = "00000000000000c1", source: String = "insurer", documentDate: String = "2026-09-15", file: String = "in/a.xml") -> [String] {
        [rid(r), pid(p), "2026-09-01", "1310000011", "かもめ健診センター", documentDate, "1", content, source, file]
    }
    static func result(_ r: Int, _ p: Int, _ seq: Int, _ value: String) -> [String] {
        [rid(r), pid(p), String(seq), "9N001000000000001", "身長", "", "PQ", value, value] + Array(repeating: "", count: resultHeader.count - 9)
    }
    static func notice(_ r: Int, _ p: Int, content: String) -> [String] {
        [rid(r), pid(p), "2026-08", "外来", "2", "かもめ内科", "78040", "54628", "0", "23412", content, "mynaportal", "in/n.xml"]
    }

    /// A published partition outbox made by hand: `<root>/<name>/outbox/<run>/` with its manifest, and
    /// optionally a state generation beside it.
    struct Partition {
        var root: String
        var name: String
        var runDate = "2026-11-21"
        var version = KenpoVersion.current
        var csv: [String: (header: [String], rows: [[String]])] = [:]
        var raw: [String: [UInt8]] = [:]
        var state: [String: (header: [String], rows: [[String]])] = [:]
        var inputs: [(path: String, sha256: String, profile: String?)] = []
        /// Inputs that held no record (a header-only request file).
        var emptyInputs: [(path: String, sha256: String)] = []

        var data: String { root + "/" + name }
        var outbox: String { data + "/outbox/r000001-20261121T000000Z-run" }

        func publish() throws -> String {
            try FileSystem.makeDirectory(outbox)
            var outputs: [OutputFile] = []
            for (path, t) in csv {
                try FileSystem.makeDirectory(((outbox + "/" + path) as NSString).deletingLastPathComponent)
                let w = try CSVWriter(path: outbox + "/" + path, header: t.header)
                for r in t.rows { w.row(r) }
                var o = try w.close()
                o.path = path
                outputs.append(o)
            }
            for (path, bytes) in raw {
                try FileSystem.makeDirectory(((outbox + "/" + path) as NSString).deletingLastPathComponent)
                try FileSystem.writeAtomically(bytes, to: outbox + "/" + path)
                outputs.append(OutputFile(path: path, rows: 0, bytes: bytes.count, sha256: SHA256Digest.hex(of: bytes)))
            }
            let gen = DataFolder(root: data).generationPath("g000001")
            try FileSystem.makeDirectory(gen)
            for (path, t) in state {
                let w = try CSVWriter(path: gen + "/" + path, header: t.header)
                for r in t.rows { w.row(r) }
                try w.close()
            }
            let m = Manifest(
                kenpoVersion: version, runId: "r000001-20261121T000000Z-run", stage: "run", runDate: runDate,
                startedAt: "2026-11-21T01:00:00+09:00", finishedAt: "2026-11-21T01:05:00+09:00", status: "completed", exitStatus: 0,
                stateGeneration: "g000001", previousStateGeneration: nil,
                inputs: inputs.map { Manifest.Input(path: $0.path, kind: $0.profile == nil ? "health" : "roster", profile: $0.profile, bytes: 100, sha256: $0.sha256, records: .init(read: 3, accepted: 3)) }
                    + emptyInputs.map { Manifest.Input(path: $0.path, kind: "reissue", profile: nil, bytes: 40, sha256: $0.sha256, records: .init()) },
                outputs: outputs.sorted { $0.path < $1.path }, referenceTables: [], rejectReasons: [:], summary: [:])
            try FileSystem.writeAtomically(try m.encoded(), to: outbox + "/manifest.json")
            return outbox
        }
    }

    func tempRoot() -> String { NSTemporaryDirectory() + "kenpo-merge-\(UUID().uuidString)" }

    /// A merged CSV's records without its header.
    func rows(_ path: String) throws -> [[String]] { Array(try csvRecords(path).dropFirst()) }

    /// Runs the merge; returns the merged folder and its manifest.
    func merge(_ outboxes: [String], _ kind: PartitionMerge.Kind = .insurer, root: String) throws -> (String, MergeManifest) {
        let out = root + "/merged"
        let m = try PartitionMerge(outboxes: outboxes, kind: kind, out: out).execute()
        return (out, m)
    }

    /// The merge's error message (kenpoErrorMessage), "(no error)" when it did not fail.
    func failure(_ body: () throws -> Void) -> String { kenpoErrorMessage(body) ?? "(no error)" }

    // MARK: order

    @Test func insurerPartitionsMergeMembersByPersonIdAndRecordsByPersonThenRecord() throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "kamome")
        a.csv["members.csv"] = (Self.memberHeader, [Self.member(1), Self.member(5)])
        a.csv["member_changes.csv"] = (Self.changeHeader, [[Self.pid(1), "06139992", "joined", "", "active"],
                                                          [Self.pid(5), "06139992", "name_changed", "ア", "イ"],
                                                          [Self.pid(5), "06139992", "address_changed", "x", "y"]])
        // Arrival order, as one run writes it: person 5's second checkup before person 1's.
        a.csv["checkups.csv"] = (Self.checkupHeader, [Self.checkup(52, 5), Self.checkup(11, 1), Self.checkup(51, 5)])
        a.csv["checkup_results.csv"] = (Self.resultHeader, [Self.result(52, 5, 1, "170"), Self.result(52, 5, 2, "60"),
                                                           Self.result(11, 1, 1, "150"), Self.result(51, 5, 1, "171")])
        a.csv["rejects.csv"] = (Self.rejectHeader, [["in/kamome.csv", "3", "k", "DATE_INVALID", "m"]])
        var b = Partition(root: root, name: "tsubame")
        b.csv["members.csv"] = (Self.memberHeader, [Self.member(3, "06279996"), Self.member(9, "06279996")])
        b.csv["member_changes.csv"] = (Self.changeHeader, [[Self.pid(3), "06279996", "joined", "", "active"]])
        b.csv["checkups.csv"] = (Self.checkupHeader, [Self.checkup(93, 9), Self.checkup(31, 3)])
        b.csv["checkup_results.csv"] = (Self.resultHeader, [Self.result(93, 9, 1, "180"), Self.result(31, 3, 1, "160")])
        b.csv["rejects.csv"] = (Self.rejectHeader, [["in/tsubame.csv", "7", "t", "KANA_INVALID", "m"]])
        // No support-desk requests tonight: the same header-only file in both is no overlap.
        a.emptyInputs = [("desk/a/requests.csv", String(repeating: "9", count: 64))]
        b.emptyInputs = [("desk/b/requests.csv", String(repeating: "9", count: 64))]
        let (out, m) = try merge([try a.publish(), try b.publish()], root: root)

        #expect(try rows(out + "/members.csv").map { $0[0] } == [1, 3, 5, 9].map(Self.pid))
        #expect(try rows(out + "/member_changes.csv").map { "\($0[0]):\($0[2])" }
                == ["\(Self.pid(1)):joined", "\(Self.pid(3)):joined", "\(Self.pid(5)):name_changed", "\(Self.pid(5)):address_changed"])
        #expect(try rows(out + "/checkups.csv").map { $0[0] } == [11, 31, 51, 52, 93].map(Self.rid))
        // A checkup's results stay in their order (seq), after the person and the record.
        #expect(try rows(out + "/checkup_results.csv").map { "\($0[0]):\($0[2])" }
                == ["\(Self.rid(11)):1", "\(Self.rid(31)):1", "\(Self.rid(51)):1", "\(Self.rid(52)):1", "\(Self.rid(52)):2", "\(Self.rid(93)):1"])
        // Rejects name no person: partition by partition, in the order given.
        #expect(try rows(out + "/rejects.csv").map { $0[0] } == ["in/kamome.csv", "in/tsubame.csv"])
        #expect(m.rejectReasons == ["DATE_INVALID": 1, "KANA_INVALID": 1])
        // The manifest: partitions, and every output as it is on disk.
        #expect(m.partitions.map(\.outbox) == [a.outbox, b.outbox])
        #expect(m.partitions[0].manifestSha256 == (try SHA256Digest.hex(ofFile: a.outbox + "/manifest.json").sha256))
        for o in m.outputs {
            let d = try SHA256Digest.hex(ofFile: out + "/" + o.path)
            #expect(o.sha256 == d.sha256 && o.bytes == d.bytes, "\(o.path)")
        }
        #expect(m.outputs.first { $0.path == "checkup_results.csv" }?.rows == 6)
        #expect(try MergeManifest.decode(path: out + "/manifest.json") == m)
    }

    @Test func theMergedMasterIsByteForByteTheConcatenationInPersonOrder() throws {
        // Fields that need quoting (comma, quote, line break) come out as kenpo's writer wrote them.
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "a")
        a.csv["members.csv"] = (Self.memberHeader, [[Self.pid(2), "06139992", "都庁\"前\",\r\n2"]])
        var b = Partition(root: root, name: "b")
        b.csv["members.csv"] = (Self.memberHeader, [[Self.pid(1), "06279996", "plain"]])
        var both = Partition(root: root, name: "one")
        both.csv["members.csv"] = (Self.memberHeader, [[Self.pid(1), "06279996", "plain"], [Self.pid(2), "06139992", "都庁\"前\",\r\n2"]])
        _ = try both.publish()
        let (out, _) = try merge([try a.publish(), try b.publish()], root: root)
        #expect(FileManager.default.contents(atPath: out + "/members.csv") == FileManager.default.contents(atPath: both.outbox + "/members.csv"))
    }

    // MARK: partitions that do not belong together

    @Test(arguments: ["members.csv", "checkups.csv", "access_codes.csv"])
    func aPersonInTwoInsurerPartitionsIsAnErrorNamingBothOutboxes(dataset: String) throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "kamome"), b = Partition(root: root, name: "tsubame")
        a.csv["members.csv"] = (Self.memberHeader, [Self.member(1), Self.member(5)])
        b.csv["members.csv"] = (Self.memberHeader, [Self.member(3), Self.member(dataset == "members.csv" ? 5 : 7)])
        if dataset == "checkups.csv" {
            a.csv[dataset] = (Self.checkupHeader, [Self.checkup(51, 5)])
            b.csv[dataset] = (Self.checkupHeader, [Self.checkup(52, 5)])
        }
        if dataset == "access_codes.csv" {
            let row = { (p: Int) in [Self.pid(p), String(repeating: "ab", count: 32), "c618595edb37ee6c", "g000001", "2026-11-21", "b1", "active", "2026-11-21", "mailing", ""] }
            a.csv[dataset] = (CodeLedgerEntry.header, [row(5)])
            b.csv[dataset] = (CodeLedgerEntry.header, [row(5)])
        }
        let (ao, bo) = (try a.publish(), try b.publish())
        let message = failure { _ = try merge([ao, bo], root: root) }
        #expect(message.contains(Self.pid(5)) && message.contains(ao) && message.contains(bo) && message.contains(dataset), "\(message)")
        #expect(!FileSystem.exists(root + "/merged"), "nothing is published")
        #expect(FileSystem.listDirectory(root).allSatisfy { !$0.contains("merging") }, "no staging left behind")
    }

    @Test func mismatchedColumnsAreAnError() throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "a"), b = Partition(root: root, name: "b")
        a.csv["members.csv"] = (Self.memberHeader, [Self.member(1)])
        b.csv["members.csv"] = (Self.memberHeader + ["member_ref"], [Self.member(2) + ["M1"]])
        let (ao, bo) = (try a.publish(), try b.publish())
        let message = failure { _ = try merge([ao, bo], root: root) }
        #expect(message.contains("columns of members.csv") && message.contains("+member_ref") && message.contains(ao), "\(message)")
    }

    /// What each partition's manifest says must hold across them, and of its files.
    @Test(arguments: [
        ("run date", "the partitions of one night run with the same --date"),
        ("version", "run every partition with the same kenpo"),
        ("shared roster", "insurer partitions read disjoint inputs"),
        ("shared profile", "puts each insurer in one partition"),
        ("altered file", "does not match its manifest"),
        ("foreign csv form", "not in the CSV form kenpo writes"),
        ("folder collision", "is in two partitions"),
        ("unknown dataset", "does not know how to merge"),
    ])
    func partitionsThatDoNotBelongTogetherAreRefused(_ c: (what: String, expected: String)) throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "a"), b = Partition(root: root, name: "b")
        a.csv["members.csv"] = (Self.memberHeader, [Self.member(1)])
        b.csv["members.csv"] = (Self.memberHeader, [Self.member(2)])
        a.inputs = [("in/kamome.csv", String(repeating: "1", count: 64), "sample-kamome")]
        b.inputs = [("in/tsubame.csv", String(repeating: "2", count: 64), "sample-tsubame")]
        switch c.what {
        case "run date": b.runDate = "2026-11-22"
        case "version": b.version = "0.0.9"
        case "shared roster": b.inputs.append(("elsewhere/kamome.csv", String(repeating: "1", count: 64), nil))
        case "shared profile": b.inputs.append(("in/kamome-2.csv", String(repeating: "3", count: 64), "sample-kamome"))
        case "folder collision":
            a.raw["postcards/reissue/postcards.csv"] = Array("a\r\n".utf8)
            b.raw["postcards/reissue/postcards.csv"] = Array("b\r\n".utf8)
        case "unknown dataset": b.raw["grade_changes.csv"] = Array("x\r\n".utf8)
        default: break
        }
        let (ao, bo) = (try a.publish(), try b.publish())
        if c.what == "altered file" {
            try FileSystem.writeAtomically(Array("person_id,insurer_number,kana_name\r\n\(Self.pid(2)),06279996,ちがう\r\n".utf8), to: bo + "/members.csv")
        }
        if c.what == "foreign csv form" {
            // LF line ends: the rows could not come out with their bytes; the manifest is made to match.
            let bytes = Array("person_id,insurer_number,kana_name\n\(Self.pid(2)),06279996,x\n".utf8)
            try FileSystem.writeAtomically(bytes, to: bo + "/members.csv")
            var m = try Manifest.decode(path: bo + "/manifest.json")
            m.outputs = [OutputFile(path: "members.csv", rows: 1, bytes: bytes.count, sha256: SHA256Digest.hex(of: bytes))]
            try FileSystem.writeAtomically(try m.encoded(), to: bo + "/manifest.json")
        }
        let message = failure { _ = try merge([ao, bo], root: root) }
        #expect(message.contains(c.expected), "\(c.what): \(message)")
        #expect(!FileSystem.exists(root + "/merged"))
    }

    @Test func theSameOutboxTwiceOrAnExistingOutFolderIsBadUsage() throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "a")
        a.csv["members.csv"] = (Self.memberHeader, [Self.member(1)])
        let ao = try a.publish()
        #expect(throws: KenpoError.self) { _ = try merge([ao, ao], root: root) }
        do { _ = try merge([ao, ao], root: root) } catch let e as KenpoError { #expect(e.exitStatus == .usage) }
        try FileSystem.makeDirectory(root + "/merged")
        do { _ = try merge([ao], root: root); Issue.record("merged into an existing folder") } catch let e as KenpoError {
            #expect(e.exitStatus == .usage && "\(e)".contains("exists"))
        }
    }

    // MARK: a partition that did not publish a full table tonight

    @Test func aFullTableAPartitionDidNotPublishComesFromItsStateGeneration() throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var a = Partition(root: root, name: "kamome"), b = Partition(root: root, name: "tsubame")
        a.csv["members.csv"] = (Self.memberHeader, [Self.member(1)])
        a.csv["checkups.csv"] = (Self.checkupHeader, [Self.checkup(11, 1)])
        b.csv["members.csv"] = (Self.memberHeader, [Self.member(3)])
        // No health documents for tsubame tonight: its checkups are in its state only. One run would
        // have published the whole table, tsubame's rows included.
        b.state["checkups.csv"] = (Self.checkupHeader, [Self.checkup(31, 3)])
        b.state["record_changes.csv"] = (Self.recordChangeHeader, [["checkup", Self.rid(31), Self.pid(3), "added", "insurer", "x"]])
        let (out, m) = try merge([try a.publish(), try b.publish()], root: root)
        #expect(try rows(out + "/checkups.csv").map { $0[0] } == [Self.rid(11), Self.rid(31)])
        #expect(m.fromState.count == 1 && m.fromState[0].contains("checkups.csv") && m.fromState[0].contains("g000001"))
        // A change list is this run's: an earlier run's is not carried.
        #expect(!FileSystem.exists(out + "/record_changes.csv"))
    }

    // MARK: file partitions

    @Test func filePartitionsShareTheMasterAndResolveARecordFoundInBoth() throws {
        let root = tempRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let master = [Self.member(1), Self.member(5)]
        let roster = ("in/kamome.csv", String(repeating: "1", count: 64), Optional("sample-kamome"))
        var a = Partition(root: root, name: "a"), b = Partition(root: root, name: "b")
        for i in [0, 1] {
            var p = i == 0 ? a : b
            p.inputs = [roster]
            p.csv["members.csv"] = (Self.memberHeader, master)
            p.csv["member_changes.csv"] = (Self.changeHeader, [[Self.pid(1), "06139992", "joined", "", "active"]])
            p.csv["insurers/sample-kamome/rejects.csv"] = (Self.rejectHeader, [["in/kamome.csv", "4", "k", "DATE_INVALID", "m"]])
            if i == 0 { a = p } else { b = p }
        }
        // Checkup 11 came in both shares with the same content (insurer transfer and Mynaportal pull):
        // one row, both sources. Checkup 12 came corrected: the newer document date wins, its results too.
        a.csv["checkups.csv"] = (Self.checkupHeader, [Self.checkup(11, 1, source: "insurer", file: "in/t.zip"),
                                                      Self.checkup(12, 1, content: "00000000000000aa", documentDate: "2026-09-15"),
                                                      Self.checkup(51, 5)])
        a.csv["checkup_results.csv"] = (Self.resultHeader, [Self.result(11, 1, 1, "150"), Self.result(12, 1, 1, "999"), Self.result(51, 5, 1, "171")])
        b.csv["checkups.csv"] = (Self.checkupHeader, [Self.checkup(12, 1, content: "00000000000000bb", documentDate: "2026-10-01"),
                                                      Self.checkup(11, 1, source: "mynaportal", file: "in/m.xml")])
        b.csv["checkup_results.csv"] = (Self.resultHeader, [Self.result(12, 1, 1, "160"), Self.result(11, 1, 1, "150")])
        a.csv["record_changes.csv"] = (Self.recordChangeHeader, [["checkup", Self.rid(11), Self.pid(1), "added", "insurer", "in/t.zip"]])
        b.csv["record_changes.csv"] = (Self.recordChangeHeader, [["checkup", Self.rid(11), Self.pid(1), "added", "mynaportal", "in/m.xml"]])
        a.csv["rejects.csv"] = (Self.rejectHeader, [["in/kamome.csv", "4", "k", "DATE_INVALID", "m"], ["in/t.zip!/a.xml", "0", "", "XML_MALFORMED", "m"]])
        b.csv["rejects.csv"] = (Self.rejectHeader, [["in/kamome.csv", "4", "k", "DATE_INVALID", "m"], ["in/m2.xml", "0", "", "PERSON_UNKNOWN", "m"]])
        let (ao, bo) = (try a.publish(), try b.publish())
        let (out, m) = try merge([ao, bo], .file, root: root)

        #expect(FileManager.default.contents(atPath: out + "/members.csv") == FileManager.default.contents(atPath: ao + "/members.csv"))
        #expect(try rows(out + "/member_changes.csv").count == 1)
        let checkups = try rows(out + "/checkups.csv")
        #expect(checkups.map { "\($0[0]):\($0[8]):\($0[9])" }
                == ["\(Self.rid(11)):insurer;mynaportal:in/t.zip", "\(Self.rid(12)):insurer:in/a.xml", "\(Self.rid(51)):insurer:in/a.xml"])
        #expect(checkups[1][7] == "00000000000000bb", "the newer document")
        #expect(try rows(out + "/checkup_results.csv").map { "\($0[0]):\($0[7])" }
                == ["\(Self.rid(11)):150", "\(Self.rid(12)):160", "\(Self.rid(51)):171"])
        #expect(try rows(out + "/record_changes.csv").map { "\($0[1]):\($0[4])" } == ["\(Self.rid(11)):insurer;mynaportal"])
        // The roster both read (same SHA-256): its rejects once.
        #expect(try rows(out + "/rejects.csv").map(\.[0]) == ["in/kamome.csv", "in/t.zip!/a.xml", "in/m2.xml"])
        #expect(m.notes.contains { $0.contains(Self.rid(12)) && $0.contains(bo) })
        // The insurer's hand-back: the first partition's (here the same bytes in both).
        #expect(FileSystem.exists(out + "/insurers/sample-kamome/rejects.csv"))
    }

    @Test func filePartitionsWithDifferentMastersAnUnresolvableRecordOrAnExportAreRefused() throws {
        for variant in ["master", "undated", "export"] {
            let root = tempRoot()
            defer { try? FileManager.default.removeItem(atPath: root) }
            var a = Partition(root: root, name: "a"), b = Partition(root: root, name: "b")
            a.csv["members.csv"] = (Self.memberHeader, [Self.member(1)])
            b.csv["members.csv"] = (Self.memberHeader, variant == "master" ? [Self.member(1), Self.member(2)] : [Self.member(1)])
            // Cost notices carry no document date: two contents of one notice cannot be ordered.
            a.csv["cost_notices.csv"] = (Self.noticeHeader, [Self.notice(21, 1, content: "00000000000000aa")])
            b.csv["cost_notices.csv"] = (Self.noticeHeader, [Self.notice(21, 1, content: variant == "undated" ? "00000000000000bb" : "00000000000000aa")])
            // A member's export from one share would lack the other share's records.
            if variant == "export" { a.raw["exports/kenpo-export-\(Self.pid(1))-2026-11-21.zip"] = [0x50, 0x4B, 0x05, 0x06] + Array(repeating: 0, count: 18) }
            let (ao, bo) = (try a.publish(), try b.publish())
            let message = failure { _ = try merge([ao, bo], .file, root: root) }
            if variant == "export" {
                #expect(message.contains("exports/") && message.contains("share of the member's records"), "\(message)")
            } else if variant == "master" {
                #expect(message.contains("members.csv differs") && message.contains(ao), "\(message)")
            } else {
                #expect(message.contains(Self.rid(21)) && message.contains("no document date") && message.contains(ao) && message.contains(bo), "\(message)")
            }
        }
    }
}
