import Foundation
import Testing
@testable import KenpoCore

@Suite("CodeLedger")
struct CodeLedgerTests {
    static let hasher = CodeHasher(key: try! CodeKey(bytes: Array(repeating: 7, count: 32)))

    /// A generator replaying fixed words, so a test can force a code to be drawn twice.
    struct Scripted: RandomNumberGenerator {
        var words: [UInt64]
        var i = 0
        mutating func next() -> UInt64 { defer { i += 1 }; return words[i % words.count] }
    }
    static func code(_ word: UInt64) -> AccessCode { var g = Scripted(words: [word]); return AccessCode.generate(using: &g) }

    func temp() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString).csv").path }

    @Test func mailingSupersedesThePreviousActiveCode() throws {
        let ledger = CodeLedger()
        let (first, p1) = ledger.issue(person: "p1", kind: .mailing, hasher: Self.hasher, generation: "g000001", date: "2026-11-01", batchID: "b1")
        #expect(p1 == nil)
        let (second, p2) = ledger.issue(person: "p1", kind: .mailing, hasher: Self.hasher, generation: "g000002", date: "2026-11-21", batchID: "b2")
        #expect(p2 == .superseded)
        #expect(first != second)
        #expect(ledger.entries.map(\.status) == [.superseded, .active])
        #expect(ledger.entries[0].changedDate == "2026-11-21")
        #expect(ledger.entries[0].reason == "mailing")
        #expect(ledger.activeEntry(person: "p1")?.codeHash == Self.hasher.hash(second))
        #expect(!ledger.isActive(hash: Self.hasher.hash(first)))
        #expect(ledger.activeCount == 1)
    }

    @Test func reissueRevokesWithReasonAndTicket() throws {
        let ledger = CodeLedger()
        _ = ledger.issue(person: "p1", kind: .mailing, hasher: Self.hasher, generation: "g1", date: "2026-11-01", batchID: "b1")
        _ = ledger.issue(person: "p2", kind: .mailing, hasher: Self.hasher, generation: "g1", date: "2026-11-01", batchID: "b1")
        let (_, previous) = ledger.issue(person: "p1", kind: .reissue(reason: "lost", ticket: "T-1;T-2"), hasher: Self.hasher,
                                         generation: "g2", date: "2026-11-22", batchID: "b2")
        #expect(previous == .revoked)
        #expect(ledger.entries[0].status == .revoked)
        #expect(ledger.entries[0].reason == "lost")
        #expect(ledger.entries[0].ticket == "T-1;T-2")
        #expect(ledger.entries[1].status == .active)    // p2 untouched
        #expect(ledger.entries[2].status == .active)
        #expect(ledger.entries[2].reason == "reissue")
        #expect(ledger.countsByStatus == [.active: 2, .revoked: 1])
    }

    @Test func aCodeWhoseHashIsActiveIsDrawnAgain() throws {
        let ledger = CodeLedger()
        let a = Self.code(0x1234_5678_9ABC_DEF0), b = Self.code(0x0FED_CBA9_8765_4321)
        _ = ledger.issue(person: "p1", kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        var draws = [a, a, b]
        let (code, _) = ledger.issue(person: "p2", kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b",
                                     draw: { draws.removeFirst() })
        #expect(code == b)
        #expect(ledger.redraws == 2)
        let active = ledger.entries.filter { $0.status == .active }.map(\.codeHash)
        #expect(Set(active).count == active.count)
    }

    @Test func aSupersededCodeMayBeDrawnAgainOnlyBecauseItIsNoLongerActive() throws {
        // The rule is about active codes: after p1's code is superseded, its hash is free.
        let ledger = CodeLedger()
        let a = Self.code(42), b = Self.code(43)
        _ = ledger.issue(person: "p1", kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        _ = ledger.issue(person: "p1", kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { b })
        let (c, _) = ledger.issue(person: "p2", kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        #expect(c == a)
        #expect(ledger.redraws == 0)
    }

    @Test func writesAndReadsBackWithoutPlainCodes() throws {
        let ledger = CodeLedger()
        var codes: [AccessCode] = []
        for i in 0..<50 {
            let (c, _) = ledger.issue(person: "p\(i % 20)", kind: i % 3 == 0 ? .reissue(reason: "lost", ticket: "T\(i)") : .mailing,
                                      hasher: Self.hasher, generation: "g", date: "2026-11-21", batchID: "b")
            codes.append(c)
        }
        let path = temp()
        defer { unlink(path) }
        let out = try ledger.write(to: path)
        #expect(out.rows == 50)
        let back = try CodeLedger(path: path)
        #expect(back.entries == ledger.entries)
        #expect(back.activeCount == 20)
        let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
        for c in codes { #expect(!text.contains(c.compact) && !text.contains(c.grouped)) }
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func aDamagedLedgerWithTwoActiveCodesForOnePersonIsRefused() throws {
        let path = temp()
        defer { unlink(path) }
        let rows = [CodeLedgerEntry.header.joined(separator: ","),
                    "p1,aa,f,g,d,b,active,d,mailing,", "p1,bb,f,g,d,b,active,d,mailing,"]
        try Data((rows.joined(separator: "\r\n") + "\r\n").utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: KenpoError.self) { _ = try CodeLedger(path: path) }
    }

    @Test func batchListGivesTheNextSequenceAndFindsABatch() throws {
        var batches = CodeBatches()
        #expect(batches.nextSequence == 1)
        batches.add(CodeBatch(batchID: "x", kind: "mailing", runID: "r1", printFile: "postcards.csv", issuedDate: "d", postcards: 9, firstSequence: 1, lastSequence: 9))
        batches.add(CodeBatch(batchID: "y", kind: "reissue", runID: "r2", printFile: "postcards.csv", issuedDate: "d", postcards: 0, firstSequence: 0, lastSequence: 0))
        #expect(batches.nextSequence == 10)
        #expect(batches.find("y")?.runID == "r2")
        #expect(batches.find("z") == nil)
        #expect(CodeBatches.batchID(kind: "mailing", inputSHA256s: ["a"]) != CodeBatches.batchID(kind: "reissue", inputSHA256s: ["a"]))
        let path = temp()
        defer { unlink(path) }
        _ = try batches.write(to: path)
        #expect(try CodeBatches(path: path).batches == batches.batches)
    }

    @Test func printFileCellsAndLayoutRules() throws {
        let policy = CP932Policy()
        let code = Self.code(99)
        let ok = try PostcardLayout.make(sequence: 7, postalCode: "〒１０５－００１１", address1: "東京都港区芝公園4-2-8", address2: "=1+2ビル",
                                         name: "𠮷田　恭子", insurerName: "かもめ健康保険組合", code: code, reissue: true, policy: policy).get()
        #expect(ok.postalCode == "1050011")
        #expect(ok.name == "吉田　恭子　様")
        #expect(ok.addressLines == ["東京都港区芝公園4-2-8", "=1+2ビル"])
        let cells = PostcardPrintFile.cells(ok)
        #expect(cells[0] == "7" && cells[1] == "105-0011" && cells[7] == code.grouped && cells[8] == "再発行")
        #expect(cells[9] == ok.barcode.dataString && cells[11] == ok.barcode.bars)
        func reason(_ postal: String, _ a1: String, _ name: String) -> RejectReason? {
            if case .failure(let p) = PostcardLayout.make(sequence: 1, postalCode: postal, address1: a1, address2: "", name: name,
                                                          insurerName: "", code: code, reissue: false, policy: policy) { return p.reason }
            return nil
        }
        #expect(reason("105-001", "東京都", "山田") == .addressUnusable)
        #expect(reason("1050011", "", "山田") == .addressUnusable)
        #expect(reason("1050011", String(repeating: "東京都港区", count: 10), "山田") == .addressUnusable)
        #expect(reason("1050011", "東京都𩸽区", "山田") == .addressNotPrintable)
        #expect(reason("1050011", "東京都", "𩸽") == .nameNotPrintable)
        #expect(reason("1050011", "東京都", "ヷシリー") == nil)   // documented substitution ヷ → ヴァ
    }
}
