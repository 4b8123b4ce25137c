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
}
