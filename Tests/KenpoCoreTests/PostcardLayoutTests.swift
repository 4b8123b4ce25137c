import Foundation
import Testing
import KenpoCore

/// The barcode of a laid-out postcard comes from the address as sent, not from the wrapped print lines.
@Suite("PostcardLayout")
struct PostcardLayoutTests {
    static func layout(_ postal: String, _ a1: String, _ a2: String = "") throws -> PostcardLayout {
        switch PostcardLayout.make(sequence: 1, postalCode: postal, address1: a1, address2: a2, name: "見本　太郎",
                                   insurerName: "かもめ健康保険組合", code: AccessCode.generate(), reissue: false, policy: CP932Policy()) {
        case .success(let p): return p
        case .failure(let p): throw KenpoError.invariant("\(p.reason): \(p.detail)")
        }
    }

    @Test("a wrap between a kanji numeral and its marker does not change the barcode (official cases)", arguments: [
        // 30 columns end after 第二十一: 地割 starts line 2.
        ("027-0203", "岩手県宮古市大字津軽石第二十一地割大淵川480", "岩手県宮古市大字津軽石第二十一", "027020321-480CC4CC4CC4CC4CC4CC4CC4CC5"),
        // 30 columns end after 六: 番 starts line 2.
        ("590-0016", "大阪府堺市堺区中田出井町四丁六番十九号", "大阪府堺市堺区中田出井町四丁六", "59000164-6-19CC4CC4CC4CC4CC4CC4CC4CC2"),
    ])
    func wrapInsideANumber(_ c: (String, String, String, String)) throws {
        let p = try Self.layout(c.0, c.1)
        #expect(p.addressLines.first == c.2, "the case must still wrap where it did")
        #expect(p.addressLines.count == 2)
        #expect(p.barcode.code == c.3)
    }

    @Test("住所1 and 住所2 stay separate numbers; so do lines the sender broke")
    func fieldsAreSeparators() throws {
        #expect(try Self.layout("160-0023", "東京都新宿区西新宿2-8-1", "101").barcode.addressNumber == "2-8-1-101")
        #expect(try Self.layout("160-0023", "東京都新宿区西新宿2-8-1\n101").barcode.addressNumber == "2-8-1-101")
        #expect(try Self.layout("160-0023", "東京都新宿区西新宿2-8-1 101").barcode.addressNumber == "2-8-1-101")
        #expect(PostcardLayout.barcodeAddress("a\r\nb\nc") == "a b c")
    }

    /// A mailing-list row with a terminal escape or a BEL never becomes a postcard.
    @Test("control characters in the name or the address are refused", arguments: [
        ("\u{1B}[2J佐藤\u{07}陽翔", "東京都渋谷区神宮前1-1-1", RejectReason.nameNotPrintable),
        ("佐藤\n陽翔", "東京都渋谷区神宮前1-1-1", .nameNotPrintable),
        ("佐藤　美咲", "東京都渋谷区\u{1B}[31m神宮前1-1-1", .addressNotPrintable),
        ("佐藤　結衣", "東京都渋谷区\u{0}神宮前1-1-1", .addressNotPrintable),
    ])
    func controls(_ c: (String, String, RejectReason)) {
        let r = PostcardLayout.make(sequence: 1, postalCode: "150-0001", address1: c.1, address2: "", name: c.0,
                                    insurerName: "つばめ", code: AccessCode.generate(), reissue: false, policy: CP932Policy())
        guard case .failure(let p) = r else { Issue.record("laid out: \(c.0) \(c.1)"); return }
        #expect(p.reason == c.2)
        #expect(p.detail.contains("is a control character"))
    }
}
