import Foundation
import Testing
@testable import KenpoCore

/// The byte-level encoders of the import give what their String forms gave: ids, content hashes and
/// rows are stored, so a faster encoding must not change a byte of them.
struct RecordEncodingTests {
    /// Content hashes add amounts and day counts as digits; they must stay what `String(n)` spelled.
    @Test(arguments: [0, 7, 10, 78_040, -1, -305, Int.max, Int.min])
    func aDecimalHashesAsItsString(n: Int) {
        var bytes = StableHash.Builder("t"), text = StableHash.Builder("t")
        bytes.add("a"); bytes.add(decimal: n); bytes.add("z")
        text.add("a"); text.add(String(n)); text.add("z")
        #expect(bytes.value == text.value)
    }

    /// `StableHash.hex` as it was built before it shared `withHex`.
    static func referenceHex(_ v: UInt64) -> String {
        String((0..<16).map { k -> Character in
            let nibble = UInt8(truncatingIfNeeded: v >> UInt64(60 - 4 * k)) & 0xF
            return Character(Unicode.Scalar(nibble < 10 ? 0x30 + nibble : 0x57 + nibble))
        })
    }

    /// FNV-1a over the parts with a 0x1F between them and the fmix64 avalanche, as `add(String)` was.
    static func referenceHash(_ parts: [String]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for (i, part) in parts.enumerated() {
            if i > 0 { h = (h ^ 0x1F) &* 0x100_0000_01b3 }
            for b in part.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33; h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    @Test(arguments: [UInt64(0), 1, 0xa, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, UInt64.max])
    func hexIsUnchanged(_ v: UInt64) {
        #expect(StableHash.hex(v) == Self.referenceHex(v))
        #expect(withHex(v) { String(decoding: $0, as: UTF8.self) } == Self.referenceHex(v))
    }

    @Test(arguments: [["checkup", "0123456789abcdef", "2026-04-01", "1312345678"], ["kana", "ヤマダタロウ"], ["x", "", "", "z"],
                      ["cost-notice", String(repeating: "長い名前", count: 40)]])
    func builderValuesAreUnchanged(_ parts: [String]) {
        var s = StableHash.Builder(parts[0])
        var b = StableHash.Builder(parts[0])
        for p in parts.dropFirst() {
            s.add(p)
            var copy = p
            copy.withUTF8 { b.add(bytes: UnsafeRawBufferPointer($0)) }
        }
        #expect(s.value == Self.referenceHash(parts))
        #expect(b.value == Self.referenceHash(parts))
    }

    @Test func sourceMasksAreSpelledAsTheSetsAre() {
        for m in UInt8(0)..<8 {
            let set = Set(RecordSource.allCases.filter { m & $0.bit != 0 })
            #expect(RecordSource.format(mask: m) == RecordSource.allCases.sorted().filter { set.contains($0) }.map(\.rawValue).joined(separator: ";"))
            if !set.isEmpty { #expect(RecordSource.format(mask: m) == RecordSource.format(set)) }
        }
    }

    /// The row as the String fields made it (each through `RowEncoder.field`).
    static func referenceRow(_ fields: [String]) -> [UInt8] {
        let e = RowEncoder()
        for f in fields { e.field(f) }
        e.endRow()
        return e.withBytes { Array($0) }
    }

    @Test func costNoticeRowsAreUnchanged() {
        var d = CostNoticeDocument()
        var a = CostNotice()
        a.month = "2026-03"; a.category = "入院"; a.days = 12; a.institution = "病院, \"本院\""; a.totalCost = 1_234_560
        a.insurerPaid = 864_192; a.publicPaid = 0; a.counterPaid = -5
        var b = CostNotice()
        b.month = "2026-04"; b.category = "外来"; b.days = 1; b.institution = "クリニック"; b.totalCost = 7; b.insurerPaid = 10
        d.notices = [a, b]
        let person: UInt64 = 0x00ab_cdef_0123_4567
        var rows: [[UInt8]] = [], keys: [StagedKey] = []
        let encoder = RowEncoder()
        for n in d.notices {
            keys.append(RecordRows.costNotice(n, person: person, source: .mynaportal, file: "in/a,b.xml", rows: encoder))
            rows.append(encoder.withBytes { Array($0) })
        }
        #expect(rows.count == 2)
        for (i, n) in d.notices.enumerated() where i < rows.count {
            let pid = Self.referenceHex(person)
            let id = Self.referenceHash(["cost-notice", pid, n.month, n.category, n.institution])
            let fields = [n.month, n.category, String(n.days), n.institution, String(n.totalCost),
                          String(n.insurerPaid), String(n.publicPaid), String(n.counterPaid)]
            let content = Self.referenceHash(["notice-content"] + fields)
            #expect(keys[i].id == id && keys[i].content == content && keys[i].person == person && keys[i].documentDate == "")
            #expect(rows[i] == Self.referenceRow([Self.referenceHex(id), pid] + fields + [Self.referenceHex(content), "mynaportal", "in/a,b.xml"]))
        }
    }

    @Test func prescriptionRowsAreUnchanged() {
        var d = PrescriptionDocument()
        var disp = Dispensing()
        disp.date = "2026-03-04"; disp.institution = "医院"; disp.pharmacy = "薬局 \"駅前\""
        var g1 = DispensedDrug()
        g1.code = "620000001"; g1.name = "錠剤,10mg"; g1.ingredient = "成分"; g1.dose = "1.5"; g1.unit = "錠"; g1.directions = "1日3回\n毎食後"; g1.days = 14
        var g2 = DispensedDrug()
        g2.code = "620000002"; g2.name = "散剤"; g2.days = 0
        disp.drugs = [g1, g2]
        var empty = Dispensing()
        empty.date = "2026-03-05"
        d.dispensings = [disp, empty]
        let person: UInt64 = 42
        var rows: [[UInt8]] = [], keys: [StagedKey] = []
        let encoder = RowEncoder()
        for x in d.dispensings {
            keys.append(RecordRows.dispensing(x, person: person, source: .insurer, file: "rx.xml", rows: encoder))
            rows.append(encoder.withBytes { Array($0) })
        }
        #expect(rows.count == 2)
        for (k, x) in d.dispensings.enumerated() where k < rows.count {
            let pid = Self.referenceHex(person)
            let id = Self.referenceHash(["dispensing", pid, x.date, x.institution, x.pharmacy])
            var contentParts = ["dispensing-content", x.date, x.institution, x.pharmacy]
            var drugRows: [[String]] = []
            for (i, g) in x.drugs.enumerated() {
                let f = [g.code, g.name, g.ingredient, g.dose, g.unit, g.directions, String(g.days)]
                contentParts += f
                drugRows.append([x.date, x.institution, x.pharmacy, String(i + 1)] + f)
            }
            let content = Self.referenceHash(contentParts)
            #expect(keys[k].id == id && keys[k].content == content)
            let expected = drugRows.flatMap { Self.referenceRow([Self.referenceHex(id), pid] + $0 + [Self.referenceHex(content), "insurer", "rx.xml"]) }
            #expect(rows[k] == expected)
        }
    }
}

/// The member directory's byte loader refuses a damaged master as `MasterReader` does, with the
/// same error.
struct MemberMasterChecksTests {
    static func row(_ id: String, status: String = "active") -> String {
        var m = MemberRecord()
        m.personID = id; m.insurerNumber = "06139992"; m.symbolKey = "1001"; m.numberKey = "12"; m.birthDate = "1980-01-02"
        var b: [UInt8] = []
        m.encodeCSV(into: &b)
        return String(decoding: b, as: UTF8.self).replacingOccurrences(of: ",active,", with: ",\(status),")
    }

    static var header: String {
        var b: [UInt8] = []
        CSVWriter.encodeRow(MemberRecord.header, into: &b)
        return String(decoding: b, as: UTF8.self)
    }

    static func readerError(_ path: String) -> String? {
        do {
            let r = try MasterReader(path: path)
            while try r.next() != nil {}
            return nil
        } catch { return "\(error)" }
    }

    static func directoryError(_ path: String) -> String? {
        do { _ = try MemberDirectory(masterPath: path); return nil } catch { return "\(error)" }
    }

    @Test func bothRefuseTheSameMastersWithTheSameMessage() throws {
        let folder = try ScratchFolder()
        let masters = [
            "empty": "",
            "header": "person_id,insurer_number\r\n",
            "damaged": Self.header + Self.row("0000000000000001") + Self.row("0000000000000002", status: "gone"),
            "order": Self.header + Self.row("0000000000000002") + Self.row("0000000000000001"),
            "id": Self.header + Self.row("not-an-id"),
        ]
        for (name, text) in masters.sorted(by: { $0.key < $1.key }) {
            let path = folder.file(name + ".csv", text)
            let expected = Self.readerError(path)
            #expect(expected != nil, "\(name)")
            #expect(Self.directoryError(path) == expected, "\(name)")
        }
        let good = folder.file("good.csv", Self.header + Self.row("0000000000000001") + Self.row("0000000000000002"))
        #expect(Self.readerError(good) == nil)
        #expect(Self.directoryError(good) == nil)
        #expect(try MemberDirectory(masterPath: good).count == 2)
    }
}
