import Foundation
import KenpoCore
import Testing

/// What insurers get back (`insurers/<profile>/`), from the sample pipeline, the sample mailing lists
/// and a reissue batch, run as operators run them.
@Suite struct HandBackEndToEndTests {
    static let profiles = ["sample-kamome": "CP932", "sample-tsubame": "UTF-8"]

    /// One record of a CSV file: the line it starts on and its fields as raw bytes.
    struct Record { var line: Int; var fields: [[UInt8]] }

    static func records(_ path: String) throws -> [Record] {
        let reader = try CSVReader(path: path)
        var out: [Record] = []
        while try reader.next() { out.append(Record(line: reader.line, fields: (0..<reader.fieldCount).map { Array(reader.fieldBytes($0)) })) }
        return out
    }

    static func text(_ bytes: [UInt8], encoding: String) throws -> String {
        encoding == "CP932" ? try CP932Decoder().decode(bytes).get() : String(decoding: bytes, as: UTF8.self)
    }

    /// Checks one insurer's hand-back folder of the run in `outbox` against the run's rejects.csv and
    /// manifest and the input files themselves; returns its summary as key → value.
    static func checkHandBack(outbox: String, profile: String) throws -> [String: String] {
        let encoding = profiles[profile]!
        let folder = outbox + "/insurers/" + profile
        let manifest = try Manifest.decode(path: outbox + "/manifest.json")
        let inputs = manifest.inputs.filter { $0.profile == profile }
        let inputPaths = Set(inputs.map(\.path))

        // The file is in the insurer's encoding: CP932 is not valid UTF-8 (and has no BOM); UTF-8 has a BOM.
        let bytes = try #require(FileManager.default.contents(atPath: folder + "/rejects.csv"))
        if encoding == "CP932" {
            #expect(String(data: bytes, encoding: .utf8) == nil && Array(bytes.prefix(3)) != [0xEF, 0xBB, 0xBF], "\(profile) should be CP932")
        } else {
            #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF], "\(profile) should be UTF-8 with a BOM")
        }
        let handBack = try records(folder + "/rejects.csv")
        let header = try handBack[0].fields.prefix(5).map { try text($0, encoding: encoding) }
        #expect(header == ["ファイル名", "行番号", "理由コード", "理由", "詳細"])

        // Exactly the rows rejects.csv holds for this insurer's files, in the same order and with the same reasons.
        let runRejects = try csvRows(outbox + "/rejects.csv").dropFirst().filter { inputPaths.contains($0[0]) }
        let rows = Array(handBack.dropFirst())
        #expect(rows.count == runRejects.count, "\(profile): \(rows.count) rows handed back, rejects.csv has \(runRejects.count)")
        #expect(rows.count == inputs.reduce(0) { $0 + $1.records.rejected })
        for (row, reject) in zip(rows, runRejects) {
            let cells = try row.fields.prefix(5).map { try text($0, encoding: encoding) }
            #expect(cells[0] == (reject[0] as NSString).lastPathComponent && cells[1] == reject[1] && cells[2] == reject[3])
            // The reason is the code's Japanese text (naming the field at fault, where the code is about one of several).
            let reason = try #require(RejectReason(rawValue: reject[3]))
            #expect(([nil] + RosterField.allCases.map { Optional($0) }).contains { reason.japaneseMessage(field: $0) == cells[3] }, "\(cells)")
            #expect(!cells[4].isEmpty)
        }
        // Each row's own fields are the input record at that line, byte for byte; the header is the
        // file's — or 元の列1… when the run read files of two layouts (a roster and a mailing list).
        let layouts = Set(inputs.map(\.kind))
        for path in inputPaths {
            let input = try records(KenpoProcess.packageRoot.path + "/" + path)
            let byLine = Dictionary(uniqueKeysWithValues: input.dropFirst().map { ($0.line, $0.fields) })
            if layouts.count == 1 {
                #expect(Array(handBack[0].fields.dropFirst(5)) == input[0].fields, "\(profile): the header is the insurer's own")
            } else {
                let generic = try handBack[0].fields.dropFirst(5).map { try text($0, encoding: encoding) }
                #expect(generic.first == "元の列1" && generic.allSatisfy { $0.hasPrefix("元の列") }, "\(profile): \(generic)")
            }
            for (row, reject) in zip(rows, runRejects) where reject[0] == path {
                let sent = try #require(byLine[Int(reject[1])!])
                #expect(Array(row.fields.dropFirst(5)) == sent, "\(path) line \(reject[1]): the row must go back as sent")
            }
        }
        // The summary: same encoding, its counts agree with the manifest.
        let summary = try records(folder + "/summary.csv").map { try $0.fields.map { try text($0, encoding: encoding) } }
        #expect(summary.first == ["項目", "キー", "値"])
        let values = Dictionary(uniqueKeysWithValues: summary.dropFirst().map { ($0[1], $0[2]) })
        #expect(values["insurer_profile"] == profile && values["run_id"] == manifest.runId && values["run_date"] == manifest.runDate)
        for (kind, prefix) in [("roster", "roster_rows"), ("mailing", "mailing_rows")] {
            let of = inputs.filter { $0.kind == kind }.map(\.records)
            #expect(values["\(prefix)_read"] == String(of.reduce(0) { $0 + $1.read }), "\(profile) \(prefix)_read")
            #expect(values["\(prefix)_accepted"] == String(of.reduce(0) { $0 + $1.accepted }))
            #expect(values["\(prefix)_rejected"] == String(of.reduce(0) { $0 + $1.rejected }))
        }
        // Listed in the manifest with their hashes, like every output.
        for f in ["rejects.csv", "summary.csv"] {
            let out = try #require(manifest.outputs.first { $0.path == "insurers/\(profile)/\(f)" })
            #expect(out.sha256 == (try SHA256Digest.hex(ofFile: folder + "/" + f).sha256))
        }
        #expect(manifest.outputs.first { $0.path == "insurers/\(profile)/rejects.csv" }?.rows == rows.count)
        return values
    }

    @Test func pipelineAndCodesRunsHandEachInsurerItsRejectsAndCounts() throws {
        let runData = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: runData) }
        let r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", runData, "--date", "2026-11-21"])
        #expect(r.status == 0, "the sample pipeline exits 0 with rejects; stderr: \(r.stderr)")
        let runOutbox = runData + "/outbox/" + FileSystem.readSymlink(runData + "/outbox/latest")!
        #expect(FileSystem.listDirectory(runOutbox + "/insurers").sorted() == ["sample-kamome", "sample-tsubame"])
        let kamome = try Self.checkHandBack(outbox: runOutbox, profile: "sample-kamome")
        let tsubame = try Self.checkHandBack(outbox: runOutbox, profile: "sample-tsubame")
        #expect(kamome["roster_rows_read"] == "19" && kamome["roster_rows_rejected"] == "9" && kamome["members_joined"] == "10")
        #expect(tsubame["roster_rows_read"] == "16" && tsubame["roster_rows_rejected"] == "8" && tsubame["members_joined"] == "8")
        // The pipeline also issues the sample mailing lists' codes and the reissues (kamome's members).
        #expect(kamome["mailing_rows_read"] == "11" && kamome["mailing_rows_rejected"] == "5" && kamome["insurer_number"] == "06139992")
        #expect(kamome["codes_issued"] == "8" && kamome["postcards"] == "8" && kamome["reissues"] == "2")
        #expect(tsubame["mailing_rows_read"] == "5" && tsubame["mailing_rows_rejected"] == "2" && tsubame["codes_issued"] == "3")
        // Reasons in Japanese, naming the field; the row's fields as the insurer sent them (half-width kana, era dates).
        let kamomeRows = try Self.records(runOutbox + "/insurers/sample-kamome/rejects.csv").map { try CP932Decoder().decode($0.fields[3]).get() + "|" + (try CP932Decoder().decode($0.fields[9]).get()) }
        #expect(kamomeRows.contains("生年月日が読み取れません（存在しない日付を含む）|ﾊﾔｼ ﾕｲ"))
        #expect(kamomeRows.contains("番号が空です|ｼﾐｽﾞ ｹﾝ"))

        // The same, command by command on a fresh data folder: eligibility, then the codes run on the
        // sample mailing lists (mailing rejects, codes and postcards per insurer), then a reissue batch.
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let e = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-21", "--profile", "sample-kamome", "samples/rosters/kamome-day1.csv",
                                      "--profile", "sample-tsubame", "samples/rosters/tsubame-day1.csv"])
        #expect(e.status == 3, "stderr: \(e.stderr)")
        let c = try CodesEndToEndTests.run(CodesEndToEndTests.codesArgs(data: data))
        #expect(c.status == 3, "stderr: \(c.stderr)")
        let codesOutbox = data + "/outbox/" + FileSystem.readSymlink(data + "/outbox/latest")!
        let kMail = try Self.checkHandBack(outbox: codesOutbox, profile: "sample-kamome")
        let tMail = try Self.checkHandBack(outbox: codesOutbox, profile: "sample-tsubame")
        #expect(kMail["mailing_rows_read"] == "11" && kMail["mailing_rows_rejected"] == "5" && kMail["codes_issued"] == "6" && kMail["postcards"] == "6")
        #expect(tMail["mailing_rows_read"] == "5" && tMail["mailing_rows_rejected"] == "2" && tMail["codes_issued"] == "3" && tMail["postcards"] == "3")
        #expect(kMail["roster_rows_read"] == "0" && kMail["reissues"] == "0")
        // つばめ's name that CP932 cannot print goes back to it in UTF-8, unmangled.
        let tRows = try Self.records(codesOutbox + "/insurers/sample-tsubame/rejects.csv")
        #expect(tRows.contains { String(decoding: $0.fields[2], as: UTF8.self) == "NAME_NOT_PRINTABLE" && String(decoding: $0.fields[4], as: UTF8.self) == "列「氏名」の値「𩸽村　純」" })

        // No code and no code hash in any hand-back file.
        let cards = try CodesEndToEndTests.printRows(codesOutbox + "/postcards.csv").dropFirst()
        var codes: [AccessCode] = []
        for card in cards { if case .valid(let code) = AccessCode.parse(card[7]) { codes.append(code) } }
        #expect(codes.count == 9)
        let hashes = try CodesEndToEndTests.ledger(codesOutbox + "/access_codes.csv").map(\.codeHash)
        for outbox in [runOutbox, codesOutbox] {
            for profile in Self.profiles.keys {
                for f in ["rejects.csv", "summary.csv"] {
                    let bytes = [UInt8](try #require(FileManager.default.contents(atPath: "\(outbox)/insurers/\(profile)/\(f)")))
                    let content = String(decoding: bytes, as: UTF8.self) + ((try? CP932Decoder().decode(bytes).get()) ?? "")
                    for code in codes { #expect(!content.contains(code.compact) && !content.contains(code.grouped), "a code in \(profile)/\(f)") }
                    for h in hashes { #expect(!content.contains(h), "a code hash in \(profile)/\(f)") }
                }
            }
        }

        // A reissue batch: the support desk's file is not handed back, but the postcards count for the
        // person's insurer, and only that insurer gets a folder.
        let re = try CodesEndToEndTests.run(CodesEndToEndTests.reissueArgs(data: data))
        #expect(re.status == 3, "stderr: \(re.stderr)")
        let reOutbox = data + "/outbox/" + FileSystem.readSymlink(data + "/outbox/latest")!
        #expect(FileSystem.listDirectory(reOutbox + "/insurers") == ["sample-kamome"])
        let reKamome = try Self.checkHandBack(outbox: reOutbox, profile: "sample-kamome")
        #expect(reKamome["reissues"] == "2" && reKamome["postcards"] == "2" && reKamome["codes_issued"] == "2")
        #expect(try Self.records(reOutbox + "/insurers/sample-kamome/rejects.csv").count == 1, "header only")
    }

    @Test func dayTwoCountsJoinedChangedAndLeftPerInsurer() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try KenpoProcess.run(KenpoProcess.day1Args(data: data)).status == 3)
        #expect(try KenpoProcess.run(KenpoProcess.day2Args(data: data)).status == 3)
        let outbox = data + "/outbox/" + FileSystem.readSymlink(data + "/outbox/latest")!
        let changes = try csvRows(outbox + "/member_changes.csv").dropFirst()
        for (profile, insurer) in [("sample-kamome", "06139992"), ("sample-tsubame", "06279996")] {
            let values = try Self.checkHandBack(outbox: outbox, profile: profile)
            let mine = changes.filter { $0[1] == insurer }
            #expect(values["members_joined"] == String(mine.filter { $0[2] == "joined" }.count), "\(profile)")
            #expect(values["members_left"] == String(mine.filter { $0[2] == "left" }.count), "\(profile)")
            let changed = Set(mine.filter { $0[2] != "joined" && $0[2] != "left" }.map { $0[0] })
            #expect(values["members_changed"] == String(changed.count), "\(profile)")
        }
        let kamome = try Self.checkHandBack(outbox: outbox, profile: "sample-kamome")
        #expect(kamome["members_joined"] == "1" && kamome["members_changed"] == "6" && kamome["members_left"] == "1")
    }
}
