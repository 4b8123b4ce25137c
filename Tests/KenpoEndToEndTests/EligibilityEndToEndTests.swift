import Foundation
import KenpoCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct EligibilityEndToEndTests {
    @Test func samplesDayOneWriteEveryOutputAndRejectEveryFaultyRow() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        #expect(r.status == 3, "exit 3: completed with rejects; stderr: \(r.stderr)")
        let latest = data + "/outbox/latest"
        for f in ["members.csv", "member_changes.csv", "rejects.csv", "manifest.json"] {
            #expect(FileManager.default.fileExists(atPath: latest + "/" + f), "\(f) missing")
        }
        // Every faulty row is rejected with its line and reason, and nothing else is.
        var expected: [String] = []
        for name in ["kamome-day1", "tsubame-day1"] {
            for row in try csvRows(KenpoProcess.packageRoot.path + "/samples/rosters/\(name).expected-rejects.csv").dropFirst() {
                expected.append("samples/rosters/\(name).csv:\(row[0]):\(row[1])")
            }
        }
        let rejects = try csvRows(latest + "/rejects.csv")
        #expect(rejects.first == ["file", "line", "record_key", "reason_code", "message"])
        #expect(rejects.dropFirst().map { "\($0[0]):\($0[1]):\($0[3])" } == expected)
        // Every other row is in members.
        let members = try csvRows(latest + "/members.csv")
        #expect(members.first == MemberRecord.header)
        #expect(members.count - 1 == 10 + 8)
        // The manifest reconciles: read = accepted + rejected per input, and outputs are what it says.
        let manifest = try Manifest.decode(path: latest + "/manifest.json")
        #expect(manifest.inputs.map(\.records) == [.init(read: 19, accepted: 10, rejected: 9), .init(read: 16, accepted: 8, rejected: 8)])
        for input in manifest.inputs {
            #expect(input.sha256 == (try SHA256Digest.hex(ofFile: KenpoProcess.packageRoot.path + "/" + input.path).sha256))
        }
        for output in manifest.outputs {
            let (sha, bytes) = try SHA256Digest.hex(ofFile: latest + "/" + output.path)
            #expect(output.sha256 == sha && output.bytes == bytes, "\(output.path)")
        }
        #expect(manifest.outputs.first { $0.path == "members.csv" }?.rows == 18)
        #expect(manifest.outputs.first { $0.path == "rejects.csv" }?.rows == 17)
        #expect(manifest.kenpoVersion == KenpoVersion.current)
        #expect(manifest.referenceTables.map(\.name) == ["profile:sample-kamome", "profile:sample-tsubame"])
        #expect(manifest.exitStatus == 3)
    }

    @Test func matchKeysInMembersFollowTheRegistrationRules() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        let members = try csvRows(data + "/outbox/latest/members.csv")
        let h = members[0]
        func col(_ row: [String], _ name: String) -> String { row[h.firstIndex(of: name)!] }
        let yamada = try #require(members.first { col($0, "kanji_name") == "山田　恭子" })
        #expect(col(yamada, "number_key") == "2345678")          // 0012345678: last 7 digits
        #expect(col(yamada, "kana_key") == "ヤマダキヨウコ")
        #expect(col(yamada, "birth_date") == "1980-01-02")       // 3550102 = 昭和55年1月2日
        let yoshida = try #require(members.first { col($0, "kanji_name") == "吉田　恭子" })
        #expect(col(yoshida, "kana_name") == "ヨシダキョウコ")
        #expect(col(yoshida, "kana_key") == "ヨシダキヨウコ")     // small kana folded for the key
        let nakamura = try #require(members.first { col($0, "kanji_name") == "中村　純" })
        #expect(col(nakamura, "symbol_key") == "12")               // full-width １２
        #expect(col(nakamura, "number_key") == "5678")
        let takahashi = try #require(members.first { col($0, "kanji_name") == "髙橋　健一" })
        #expect(col(takahashi, "card_aliases") == "06139992:8001:77;06139992:3003:4567")
        #expect(col(takahashi, "special_retiree") == "true")
        let yamamoto = try #require(members.first { col($0, "kanji_name") == "山本　さくら" })
        #expect(col(yamamoto, "kana_key") == "ヤマモトサクラ")     // hiragana folded to katakana
        let tanaka = try #require(members.first { col($0, "kanji_name") == "田中　芽衣" })
        #expect(col(tanaka, "address") == "東京都新宿区西新宿2-8-1\n\"都庁\"前")
        let ito = try #require(members.first { col($0, "kanji_name") == "伊藤　純" })
        #expect(col(ito, "status") == "disqualified")
    }

    @Test func insurersGetTheirRejectsBackInTheirOwnEncoding() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        // かもめ sends CP932: its hand-back file is CP932, with Japanese reasons and its rows as sent.
        let kamome = try #require(fileBytes(data + "/outbox/latest/insurers/sample-kamome/rejects.csv"))
        #expect(String(data: kamome, encoding: .utf8) == nil, "should not be UTF-8")
        let text = try CP932Decoder().decode([UInt8](kamome)).get()
        let lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 1 + 9)
        #expect(lines[0].hasPrefix("ファイル名,行番号,理由コード,理由,詳細,保険者番号,記号,番号"))
        #expect(lines[1].hasPrefix("kamome-day1.csv,12,INSURER_CHECK_DIGIT,保険者番号の検証番号が一致しません,列「保険者番号」の値「06139993」,06139993,3010,100,00,ｷﾑﾗ ｻﾄｼ"))
        // つばめ sends UTF-8 with a BOM: so is its hand-back file.
        let tsubame = try #require(fileBytes(data + "/outbox/latest/insurers/sample-tsubame/rejects.csv"))
        #expect(Array(tsubame.prefix(3)) == [0xEF, 0xBB, 0xBF])
        // Rows go back exactly as sent, even the one whose bytes were not valid UTF-8.
        let crlf = zip(tsubame, tsubame.dropFirst()).filter { $0 == 0x0D && $1 == 0x0A }.count
        #expect(crlf == 1 + 8)
        #expect(tsubame.contains(0xFF))
    }

    @Test func sameInputsGiveByteIdenticalDatasets() throws {
        let a = KenpoProcess.tempDataFolder(), b = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        for d in [a, b] {
            #expect(try KenpoProcess.run(KenpoProcess.day1Args(data: d)).status == 3)
            #expect(try KenpoProcess.run(KenpoProcess.day2Args(data: d)).status == 3)
        }
        for f in ["members.csv", "member_changes.csv", "rejects.csv", "insurers/sample-kamome/rejects.csv", "insurers/sample-tsubame/rejects.csv"] {
            let x = fileBytes(a + "/outbox/latest/" + f), y = fileBytes(b + "/outbox/latest/" + f)
            #expect(x != nil && x == y, "\(f) differs between two runs of the same inputs")
        }
        #expect(fileBytes(a + "/state/current/members.csv") == fileBytes(b + "/state/current/members.csv"))
    }

    @Test func dayTwoReportsEveryKindOfChange() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        let day1 = try csvRows(data + "/outbox/latest/members.csv")
        let r = try KenpoProcess.run(KenpoProcess.day2Args(data: data))
        #expect(r.status == 3, "\(r.stderr)")
        let members = try csvRows(data + "/outbox/latest/members.csv")
        let h = members[0]
        func col(_ row: [String], _ name: String) -> String { row[h.firstIndex(of: name)!] }
        func id(_ rows: [[String]], kanji: String) -> String? { rows.first { col($0, "kanji_name") == kanji }.map { col($0, "person_id") } }
        let changes = try csvRows(data + "/outbox/latest/member_changes.csv").dropFirst()
        func changesOf(_ pid: String?) -> [String] { changes.filter { $0[0] == pid }.map { $0[2] } }

        // A person keeps their id across a name change, a card change and a birth-date correction.
        #expect(id(members, kanji: "佐藤　恭子") == id(day1, kanji: "山田　恭子"))
        #expect(changesOf(id(members, kanji: "佐藤　恭子")) == ["name_changed"])
        #expect(changesOf(id(members, kanji: "山田　太郎")) == ["address_changed"])
        #expect(changesOf(id(members, kanji: "鈴木　一郎")) == ["card_changed"])
        #expect(id(members, kanji: "鈴木　一郎") == id(day1, kanji: "鈴木　一郎"))
        #expect(changesOf(id(members, kanji: "佐藤　陽翔")) == ["card_changed"])     // member_ref keeps the id
        #expect(changesOf(id(members, kanji: "渡邉　優希")) == ["birth_date_corrected"])
        #expect(changesOf(id(members, kanji: "大和田　涼")) == ["qualification_changed", "status_changed"])
        #expect(changesOf(id(members, kanji: "伊藤　純")) == ["left"])
        #expect(changesOf(id(members, kanji: "中村　純")) == ["left"])
        #expect(changesOf(id(members, kanji: "小林　誠")) == ["joined"])
        #expect(changesOf(id(members, kanji: "西村　海")) == ["joined"])
        #expect(changesOf(id(members, kanji: "山田　翔太")) == [])
        // Her day-2 row was rejected: she is kept as she was, not marked as left.
        let nagasawa = try #require(members.first { col($0, "kanji_name") == "長澤　舞" })
        #expect(col(nagasawa, "status") == "active")
        #expect(changesOf(col(nagasawa, "person_id")) == [])
        #expect(members.count - 1 == 20)
    }

    @Test func secondRunRefusesWhileTheDataFolderIsLocked() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let fd = open(data + "/.lock", O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        _ = "pid 1, test holder\n".withCString { write(fd, $0, strlen($0)) }
        let r = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        flock(fd, LOCK_UN); close(fd)
        #expect(r.status == 1)
        #expect(r.stderr.contains("another kenpo run holds this data folder"))
        #expect(r.stderr.contains("test holder"))
        #expect(!FileManager.default.fileExists(atPath: data + "/outbox/latest"))
    }

    @Test func outputsAreReadableByTheOwnerOnly() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        let e = FileManager.default.enumerator(atPath: data)!
        var checked = 0
        while let rel = e.nextObject() as? String {
            var st = stat()
            #expect(lstat(data + "/" + rel, &st) == 0)
            if (st.st_mode & S_IFMT) == S_IFLNK { continue }
            #expect(st.st_mode & 0o077 == 0, "\(rel) is readable by others: \(String(st.st_mode & 0o777, radix: 8))")
            checked += 1
        }
        #expect(checked > 8)
    }

    @Test func keysFoldEverySpellingTheSameWay() throws {
        let a = try KenpoProcess.run(["keys", "--insurer", "06139992", "--symbol", "1001", "--number", "0012345678", "--kana", "ｷﾖｳｺ", "--birth", "S55.1.2"])
        let b = try KenpoProcess.run(["keys", "--insurer", "06139992", "--symbol", "1001", "--number", "１２３４５６７８", "--kana", "キョウコ", "--birth", "1980-01-02"])
        #expect(a.status == 0 && b.status == 0)
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.contains("number_key: 2345678"))
        #expect(a.stdout.contains("kana_key: キヨウコ"))
        #expect(a.stdout.contains("birth_date: 1980-01-02"))
    }

    @Test func keysSaysWhichValueItCouldNotRead() throws {
        let r = try KenpoProcess.run(["keys", "--number", "12A", "--birth", "平成31年5月1日"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("number '12A'"))
        #expect(r.stderr.contains("birth date '平成31年5月1日'"))
    }

    @Test func badUsageAndConfigurationExitTwo() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let unknownProfile = try KenpoProcess.run(["eligibility", "--data", data, "--profile", "no-such-insurer", "x.csv"])
        #expect(unknownProfile.status == 2)
        #expect(unknownProfile.stderr.contains("no-such-insurer"))
        let noFiles = try KenpoProcess.run(["eligibility", "--data", data])
        #expect(noFiles.status == 2)
        let unknown = try KenpoProcess.run(["frobnicate"])
        #expect(unknown.status == 2)
    }

    @Test func unreadableRosterFailsAndPublishesNothing() throws {
        let data = KenpoProcess.tempDataFolder()
        let roster = KenpoProcess.tempDataFolder() + ".csv"
        defer { try? FileManager.default.removeItem(atPath: data); try? FileManager.default.removeItem(atPath: roster) }
        // Header only: applying it would mark every member as having left.
        _ = FileManager.default.createFile(atPath: roster, contents: Data("個人管理番号,保険者番号,被保険者証記号,被保険者証番号,枝番,氏名カナ,氏名,生年月日,性別,本人家族,資格取得年月日,資格喪失年月日,郵便番号,住所\r\n".utf8))
        let r = try KenpoProcess.run(["eligibility", "--data", data, "--profile", "sample-tsubame", roster])
        #expect(r.status == 1)
        #expect(r.stderr.contains(roster))
        #expect(!FileManager.default.fileExists(atPath: data + "/outbox/latest"))
        #expect(FileSystem.listDirectory(data + "/outbox").isEmpty)
        #expect(FileSystem.listDirectory(data + "/state/generations").isEmpty)
        // A header that lacks a mapped column names the file, the line and the column.
        _ = FileManager.default.createFile(atPath: roster, contents: Data("保険者番号,記号\r\n06279996,12\r\n".utf8))
        let r2 = try KenpoProcess.run(["eligibility", "--data", data, "--profile", "sample-tsubame", roster])
        #expect(r2.status == 1)
        #expect(r2.stderr.contains("\(roster):1:"))
        #expect(r2.stderr.contains("個人管理番号"))
    }

    @Test func samplePipelineRunsEndToEnd() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try KenpoProcess.run(["run", "pipelines/samples.pipeline", "--data", data, "--date", "2026-11-21"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("members.csv: 18 rows"))
        let manifest = try Manifest.decode(path: data + "/outbox/latest/manifest.json")
        #expect(manifest.status == "completed_with_rejects")
    }

    @Test func logsCarryCountsNotPersonalData() throws {
        let data = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let r = try KenpoProcess.run(KenpoProcess.day1Args(data: data))
        for secret in ["山田", "ﾔﾏﾀﾞ", "ヤマダ", "0012345678", "2345678", "M000000001", "1980-01-02"] {
            #expect(!r.stderr.contains(secret), "log holds '\(secret)'")
        }
        #expect(r.stderr.contains("read 19, accepted 10, rejected 9"))
    }
}
