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
        let (first, p1) = ledger.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g000001", date: "2026-11-01", batchID: "b1")
        #expect(p1 == nil)
        let (second, p2) = ledger.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g000002", date: "2026-11-21", batchID: "b2")
        #expect(p2 == .superseded)
        #expect(first != second)
        #expect(try ledger.entries.map(\.status) == [.superseded, .active])
        #expect(try ledger.entries[0].changedDate == "2026-11-21")
        #expect(try ledger.entries[0].reason == "mailing")
        #expect(try ledger.activeEntry(person: 1)?.codeHash == Self.hasher.hash(second))
        #expect(!ledger.isActive(hash: Self.hasher.hash(first)))
        #expect(ledger.activeCount == 1)
    }

    @Test func reissueRevokesWithReasonAndTicket() throws {
        let ledger = CodeLedger()
        _ = ledger.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g1", date: "2026-11-01", batchID: "b1")
        _ = ledger.issue(person: 2, kind: .mailing, hasher: Self.hasher, generation: "g1", date: "2026-11-01", batchID: "b1")
        let (_, previous) = ledger.issue(person: 1, kind: .reissue(reason: "lost", ticket: "T-1;T-2"), hasher: Self.hasher,
                                         generation: "g2", date: "2026-11-22", batchID: "b2")
        #expect(previous == .revoked)
        #expect(try ledger.entries[0].status == .revoked)
        #expect(try ledger.entries[0].reason == "lost")
        #expect(try ledger.entries[0].ticket == "T-1;T-2")
        #expect(try ledger.entries[1].status == .active)    // p2 untouched
        #expect(try ledger.entries[2].status == .active)
        #expect(try ledger.entries[2].reason == "reissue")
        #expect(ledger.countsByStatus == [.active: 2, .revoked: 1])
    }

    @Test func aCodeWhoseHashIsActiveIsDrawnAgain() throws {
        let ledger = CodeLedger()
        let a = Self.code(0x1234_5678_9ABC_DEF0), b = Self.code(0x0FED_CBA9_8765_4321)
        _ = ledger.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        var draws = [a, a, b]
        let (code, _) = ledger.issue(person: 2, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b",
                                     draw: { draws.removeFirst() })
        #expect(code == b)
        #expect(ledger.redraws == 2)
        let active = try ledger.entries.filter { $0.status == .active }.map(\.codeHash)
        #expect(Set(active).count == active.count)
    }

    @Test func aSupersededCodeMayBeDrawnAgainOnlyBecauseItIsNoLongerActive() throws {
        // The rule is about active codes: after p1's code is superseded, its hash is free.
        let ledger = CodeLedger()
        let a = Self.code(42), b = Self.code(43)
        _ = ledger.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        _ = ledger.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { b })
        let (c, _) = ledger.issue(person: 2, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        #expect(c == a)
        #expect(ledger.redraws == 0)
    }

    @Test func writesAndReadsBackWithoutPlainCodes() throws {
        let ledger = CodeLedger()
        var codes: [AccessCode] = []
        for i in 0..<50 {
            let (c, _) = ledger.issue(person: UInt64(i % 20), kind: i % 3 == 0 ? .reissue(reason: "lost", ticket: "T\(i)") : .mailing,
                                      hasher: Self.hasher, generation: "g", date: "2026-11-21", batchID: "b")
            codes.append(c)
        }
        let path = temp()
        defer { unlink(path) }
        let out = try ledger.write(to: path)
        #expect(out.rows == 50)
        let back = try CodeLedger(path: path)
        #expect(try back.entries == ledger.entries)
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
        let p1 = StableHash.hex(1), p2 = StableHash.hex(2)
        let aa = String(repeating: "a", count: 64), bb = String(repeating: "b", count: 64)
        func refusal(_ rows: [String]) throws -> KenpoError? {
            try Data(([CodeLedgerEntry.header.joined(separator: ",")] + rows).map { $0 + "\r\n" }.joined().utf8).write(to: URL(fileURLWithPath: path))
            do { _ = try CodeLedger(path: path); return nil } catch let e as KenpoError { return e }
        }
        // Two active codes for one person; two active codes with one hash (line 3 is the second).
        for rows in [["\(p1),\(aa),f,g,d,b,active,d,mailing,", "\(p1),\(bb),f,g,d,b,active,d,mailing,"],
                     ["\(p1),\(aa),f,g,d,b,active,d,mailing,", "\(p2),\(aa),f,g,d,b,active,d,mailing,"]] {
            let e = try refusal(rows)
            #expect(e?.description.contains("two active codes") == true)
            #expect(e?.description.contains(":3") == true, "names the line of the second: \(String(describing: e))")
        }
        // The same hash superseded and active, or one person's old and new code, is a sound ledger.
        #expect(try refusal(["\(p1),\(aa),f,g,d,b,superseded,d,mailing,", "\(p2),\(aa),f,g,d,b,active,d,mailing,",
                             "\(p2),\(bb),f,g,d,b,revoked,d,lost,T1"]) == nil)
        // Ids and hashes are kenpo's lower-case hex, or the row is damaged.
        for bad in ["p1,\(aa),f,g,d,b,active,d,mailing,", "\(StableHash.hex(0xabcdef).uppercased()),\(aa),f,g,d,b,active,d,mailing,",
                    "\(p1),\(aa.uppercased()),f,g,d,b,active,d,mailing,", "\(p1),\(aa.dropLast()),f,g,d,b,active,d,mailing,",
                    "\(p1),\(aa),f,g,d,b,lost,d,mailing,", "\(p1),\(aa),f,g,d,b,active,d,mailing"] {
            let e = try refusal([bad])
            #expect(e?.description.contains("damaged row") == true, "\(bad)")
        }
    }

    @Test func aVersionOpenedFromAFileRewritesOnlyTheRowsItReplacedAndAppendsItsCodes() throws {
        // Night 1: persons 1..5 get codes. Night 2 opens that file, mails 2 and 4 again, reissues 5
        // and mails 6 (new); every other row is copied as it was.
        let night1 = CodeLedger()
        for p in UInt64(1)...5 {
            _ = night1.issue(person: p, kind: .mailing, hasher: Self.hasher, generation: "g000001", date: "2026-11-01", batchID: "b1")
        }
        let path1 = temp(), path2 = temp()
        defer { unlink(path1); unlink(path2) }
        _ = try night1.write(to: path1)
        let first = try night1.entries

        let night2 = try CodeLedger(path: path1)
        #expect(night2.activeCount == 5)
        #expect(try night2.entries == first)
        for e in first { #expect(night2.isActive(hash: e.codeHash)) }
        var previous: [CodeStatus?] = []
        for (p, kind) in [(UInt64(2), CodeLedger.Issue.mailing), (4, .mailing), (5, .reissue(reason: "lost", ticket: "T-9")), (6, .mailing)] {
            previous.append(night2.issue(person: p, kind: kind, hasher: Self.hasher, generation: "g000002", date: "2026-11-21", batchID: "b2").previous)
        }
        #expect(previous == [.superseded, .superseded, .revoked, nil])
        #expect(night2.activeCount == 6)
        for e in first where [StableHash.hex(2), StableHash.hex(4), StableHash.hex(5)].contains(e.personID) {
            #expect(!night2.isActive(hash: e.codeHash))
        }
        let out = try night2.write(to: path2)
        #expect(out.rows == 9)
        let back = try CodeLedger(path: path2).entries
        #expect(back == (try night2.entries))
        #expect(back.map(\.status) == [.active, .superseded, .active, .superseded, .revoked, .active, .active, .active, .active])
        #expect(back[4].reason == "lost" && back[4].ticket == "T-9" && back[4].changedDate == "2026-11-21")
        #expect(back[1].reason == "mailing" && back[1].changedDate == "2026-11-21" && back[1].ticket == "")
        #expect(back[7].reason == "reissue" && back[7].ticket == "T-9" && back[7].generation == "g000002")
        // Rows not replaced are the night-1 rows unchanged.
        for i in [0, 2] { #expect(back[i] == first[i]) }
        #expect(Array(back[5...].map(\.personID)) == [2, 4, 5, 6].map { StableHash.hex($0) })
        #expect(try night2.activeEntry(person: 1) == first[0])
        #expect(try night2.activeEntry(person: 2)?.batchID == "b2")
        #expect(night2.countsByStatus == [.active: 6, .superseded: 2, .revoked: 1])
    }

    @Test func aCodeWhoseHashIsActiveInTheFileIsDrawnAgain() throws {
        let a = Self.code(0x1111), b = Self.code(0x2222)
        let night1 = CodeLedger()
        _ = night1.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        let path = temp()
        defer { unlink(path) }
        _ = try night1.write(to: path)
        let night2 = try CodeLedger(path: path)
        var draws = [a, b]
        let (code, _) = night2.issue(person: 2, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b",
                                     draw: { draws.removeFirst() })
        #expect(code == b && night2.redraws == 1)
        // Once person 1's code is replaced, its hash is free again.
        _ = night2.issue(person: 1, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { Self.code(0x3333) })
        let (again, _) = night2.issue(person: 3, kind: .mailing, hasher: Self.hasher, generation: "g", date: "d", batchID: "b", draw: { a })
        #expect(again == a && night2.redraws == 1)
    }

    @Test func packedHashesKeepTheTextAndTheOrderOfTheirHex() throws {
        let hexes = ["00" + String(repeating: "f", count: 62), String(repeating: "0", count: 63) + "1",
                     "0123456789abcdef" + "fedcba9876543210" + "0f1e2d3c4b5a6978" + "8796a5b4c3d2e1f0", String(repeating: "f", count: 64)]
        let packed = hexes.compactMap { PackedCodeHash(hex: $0) }
        #expect(packed.count == hexes.count)
        #expect(packed.map(\.hex) == hexes)
        #expect(packed.sorted().map(\.hex) == hexes.sorted())
        #expect(PackedCodeHash(bytes: Array(0..<32)).hex == (0..<32).map { String(format: "%02x", $0) }.joined())
        for bad in ["", String(repeating: "A", count: 64), String(repeating: "0", count: 65), String(repeating: "g", count: 64)] {
            #expect(PackedCodeHash(hex: bad) == nil, "\(bad)")
        }
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
