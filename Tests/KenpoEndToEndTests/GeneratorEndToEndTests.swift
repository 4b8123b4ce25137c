import Foundation
import KenpoCore
import Testing

@Suite struct GeneratorEndToEndTests {
    @Test func sameSeedSameFilesAndKenpoRejectsExactlyTheFaultyRows() throws {
        let a = KenpoProcess.tempDataFolder(), b = KenpoProcess.tempDataFolder(), data = KenpoProcess.tempDataFolder()
        defer { for d in [a, b, data] { try? FileManager.default.removeItem(atPath: d) } }
        for out in [a, b] {
            let r = try KenpoProcess.run(["generate", "--members", "3000", "--seed", "5", "--faulty", "0.03", "--out", out, "--date", "2026-11-21"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        for p in ["sample-kamome", "sample-tsubame"] {
            for f in ["roster.csv", "mailing.csv", "expected_rejects.csv"] {
                let x = fileBytes("\(a)/\(p)/\(f)")
                #expect(x != nil && x == fileBytes("\(b)/\(p)/\(f)"), "\(p)/\(f) differs for the same seed")
            }
        }
        for f in ["reissue/requests.csv", "reissue/expected_rejects.csv"] {
            let x = fileBytes("\(a)/\(f)")
            #expect(x != nil && x == fileBytes("\(b)/\(f)"), "\(f) differs for the same seed")
        }
        let other = KenpoProcess.tempDataFolder()
        defer { try? FileManager.default.removeItem(atPath: other) }
        _ = try KenpoProcess.run(["generate", "--members", "3000", "--seed", "6", "--out", other, "--date", "2026-11-21"])
        #expect(fileBytes("\(a)/sample-kamome/roster.csv") != fileBytes("\(other)/sample-kamome/roster.csv"))

        let r = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-21",
                                      "--profile", "sample-kamome", "\(a)/sample-kamome/roster.csv",
                                      "--profile", "sample-tsubame", "\(a)/sample-tsubame/roster.csv"])
        #expect(r.status == 3, "\(r.stderr)")
        var expected: [String] = []
        for p in ["sample-kamome", "sample-tsubame"] {
            for row in try csvRows("\(a)/\(p)/expected_rejects.csv").dropFirst() {
                expected.append("\(a)/\(p)/roster.csv:\(row[0]):\(row[1])")
            }
        }
        #expect(expected.count == 90)
        let got = try csvRows(data + "/outbox/latest/rejects.csv").dropFirst().map { "\($0[0]):\($0[1]):\($0[3])" }
        #expect(got == expected)
        let manifest = try Manifest.decode(path: data + "/outbox/latest/manifest.json")
        #expect(manifest.inputs.map(\.records.read) == [1500, 1500])
        #expect(manifest.outputs.first { $0.path == "members.csv" }?.rows == 3000 - 90)
    }

    /// The generated reissue requests name the members by the person ids kenpo gives them: after
    /// eligibility and codes on the generated roster and mailing lists, `kenpo reissue` prints one
    /// postcard per requested member (revoking the code of the mailing), merges the repeated request and
    /// rejects exactly the rows `reissue/expected_rejects.csv` names.
    @Test func generatedReissueRequestsRunThroughKenpoReissue() throws {
        let out = KenpoProcess.tempDataFolder(), data = KenpoProcess.tempDataFolder()
        defer { for d in [out, data] { try? FileManager.default.removeItem(atPath: d) } }
        let g = try KenpoProcess.run(["generate", "--members", "200", "--seed", "11", "--faulty", "0.03", "--out", out, "--date", "2026-11-21"])
        #expect(g.status == 0, "\(g.stderr)")
        // 97 valid rows per profile: 1% is 1 request each; one faulty row of each kind.
        #expect(g.stdout.contains("\(out)/reissue/requests.csv: 5 rows (2 faulty, 1 repeated, merged by kenpo)"), "\(g.stdout)")
        #expect(g.stdout.contains("\(out)/reissue/expected_rejects.csv: 2 rows (2 faulty)"))
        let requests = try csvRows(out + "/reissue/requests.csv")
        #expect(requests.first == ["person_id", "ticket", "reason", "postal_code", "address1", "address2"])
        let expectedRejects = try csvRows(out + "/reissue/expected_rejects.csv").dropFirst().map { "\($0[0]):\($0[1])" }
        #expect(expectedRejects.map { $0.split(separator: ":")[1] }.sorted() == ["PERSON_UNKNOWN", "REQUEST_INVALID"])
        let rejectedLines = Set(expectedRejects.map { Int($0.split(separator: ":")[0])! })
        let valid = requests.enumerated().dropFirst().filter { !rejectedLines.contains($0.offset + 1) }.map { $0.element }
        let persons = Set(valid.map { $0[0] })
        #expect(valid.count == 3 && persons.count == 2, "two members, one of them asked twice")

        let e = try KenpoProcess.run(["eligibility", "--data", data, "--date", "2026-11-21",
                                      "--profile", "sample-kamome", "\(out)/sample-kamome/roster.csv",
                                      "--profile", "sample-tsubame", "\(out)/sample-tsubame/roster.csv"])
        #expect(e.status == 3, "\(e.stderr)")
        // The requested members are in the master, active, under the ids the generator wrote; the unknown one is not.
        let members = try csvRows(data + "/outbox/latest/members.csv")
        let h = members[0]
        let status = Dictionary(uniqueKeysWithValues: members.dropFirst().map { ($0[0], $0[h.firstIndex(of: "status")!]) })
        for p in persons { #expect(status[p] == "active", "person \(p)") }
        let unknownLine = try #require(expectedRejects.first { $0.hasSuffix("PERSON_UNKNOWN") }.map { Int($0.split(separator: ":")[0])! })
        #expect(status[requests[unknownLine - 1][0]] == nil)

        let c = try CodesEndToEndTests.run(["codes", "--data", data, "--date", "2026-11-21", "--key-file", CodesEndToEndTests.keyFile,
                                            "--profile", "sample-kamome", "\(out)/sample-kamome/mailing.csv",
                                            "--profile", "sample-tsubame", "\(out)/sample-tsubame/mailing.csv"])
        #expect(c.status == 0 || c.status == 3, "\(c.stderr)")
        // The generator mails valid rows only: the one reason a row is refused is that the member has left.
        #expect(try csvRows(data + "/outbox/latest/rejects.csv").dropFirst().allSatisfy { $0[3] == "PERSON_NOT_ELIGIBLE" })

        let r = try CodesEndToEndTests.run(["reissue", "--data", data, "--date", "2026-11-22", "--key-file", CodesEndToEndTests.keyFile,
                                            out + "/reissue/requests.csv"])
        #expect(r.status == 3, "\(r.stderr)")
        let latest = data + "/outbox/latest"
        let manifest = try Manifest.decode(path: latest + "/manifest.json")
        #expect(manifest.inputs.map(\.records) == [.init(read: 5, accepted: 3, rejected: 2)])
        #expect(manifest.summary["postcards"] == 2 && manifest.summary["codes_revoked"] == 2 && manifest.summary["reissue_merged"] == 1)
        let rejects = try csvRows(latest + "/rejects.csv").dropFirst().map { "\($0[1]):\($0[3])" }
        #expect(rejects == expectedRejects)
        let cards = try CodesEndToEndTests.printRows(latest + "/postcards.csv").dropFirst()
        #expect(cards.count == 2 && cards.allSatisfy { $0[8] == "再発行" })
        let ledger = try CodesEndToEndTests.ledger(latest + "/access_codes.csv")
        for p in persons { #expect(ledger.filter { $0.personID == p }.map(\.status) == [.revoked, .active], "person \(p)") }
    }
}
