import Foundation
import Testing
@testable import KenpoCore

/// The operator's rejects.csv quotes what it read — record keys and values in messages — so it gets the
/// print file's and hand-back files' protection: no cell a spreadsheet would run, no raw control byte.
@Suite struct RejectSinkTests {
    @Test func keysAndMessagesAreNeutralisedAndTheirControlsEscaped() throws {
        let folder = try ScratchFolder()
        let sink = try RejectSink(path: folder.path + "/rejects.csv")
        sink.add(file: "in/roster.csv", line: 4, key: "=cmd|' /C calc'!A0/90/8002/00", reason: .insurerMismatch,
                 message: "the insurer number is not this profile's insurer: insurer number =cmd|' /C calc'!A0 is not 06279996")
        sink.add(file: "in/roster.csv", line: 5, key: "06279996/90/5002/00 ref:\u{1B}[2J", reason: .kanaInvalid,
                 message: "value '\u{1B}[2Jサトウ\u{07}': not kana")
        sink.add(file: "in/reissue.csv", line: 6, key: "person:aee18e008e288d81\u{0} ticket:T-3", reason: .requestInvalid, message: "-1+1")
        let out = try sink.close()
        #expect(out.rows == 3)
        let bytes = try #require(FileManager.default.contents(atPath: folder.path + "/rejects.csv"))
        #expect(!bytes.contains { ($0 < 0x20 && $0 != 0x0D && $0 != 0x0A) || $0 == 0x7F })
        let rows = try csvRecords(folder.path + "/rejects.csv")
        #expect(rows[1] == ["in/roster.csv", "4", "'=cmd|' /C calc'!A0/90/8002/00", "INSURER_MISMATCH",
                            "the insurer number is not this profile's insurer: insurer number =cmd|' /C calc'!A0 is not 06279996"])
        #expect(rows[2] == ["in/roster.csv", "5", "06279996/90/5002/00 ref:\\x1B[2J", "KANA_INVALID", "value '\\x1B[2Jサトウ\\x07': not kana"])
        #expect(rows[3] == ["in/reissue.csv", "6", "person:aee18e008e288d81\\x00 ticket:T-3", "REQUEST_INVALID", "'-1+1"])
        #expect(sink.countsByReason == ["INSURER_MISMATCH": 1, "KANA_INVALID": 1, "REQUEST_INVALID": 1])
    }
}
