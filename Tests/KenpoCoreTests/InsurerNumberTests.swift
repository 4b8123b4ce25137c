import Foundation
import Testing
import KenpoCore

@Suite("InsurerNumber")
struct InsurerNumberTests {
    @Test("check digit (Luhn over the first 7)", arguments: [
        ("0613999", 2 as Int?),
        ("0627999", 6),
        ("0613001", 7),
        ("0000000", 0),
        ("0000001", 8),
        ("1234567", 4),
        ("061399", nil),
        ("06139990", nil),
        ("06139a9", nil),
        ("０６１３９９９", nil),   // not folded: checkDigit takes ASCII digits
        ("", nil),
    ])
    func checkDigit(_ c: (String, Int?)) {
        #expect(InsurerNumber.checkDigit(first7: c.0) == c.1)
    }

    @Test("validate", arguments: [
        ("06139992", Result<String, InsurerNumberError>.success("06139992")),
        ("０６１３９９９２", .success("06139992")),
        (" 06139992 ", .success("06139992")),
        ("　06279996　", .success("06279996")),
        ("06130017", .success("06130017")),
        ("06139993", .failure(.checkDigit(expected: 2))),
        ("06279990", .failure(.checkDigit(expected: 6))),
    ])
    func validate(_ c: (String, Result<String, InsurerNumberError>)) {
        #expect(InsurerNumber.validate(c.0) == c.1)
    }

    @Test("not eight digits", arguments: ["6139992", "６１３９９９２", "", "0613999A", "061399920", "0613-9992", "123"])
    func notEightDigits(_ raw: String) {
        guard case .failure(.notEightDigits(let hint)) = InsurerNumber.validate(raw) else {
            Issue.record("\(raw) should be notEightDigits, got \(InsurerNumber.validate(raw))")
            return
        }
        #expect(!hint.isEmpty)
    }

    @Test("a 7-digit value hints at a lost leading zero")
    func sevenDigitHint() {
        guard case .failure(.notEightDigits(let hint)) = InsurerNumber.validate("6139992") else {
            Issue.record("expected notEightDigits"); return
        }
        #expect(hint.contains("leading zero"))
        #expect(hint.contains("spreadsheet"))
        #expect(hint.contains("06139992"))
    }

    @Test("isValid", arguments: [
        ("06139992", true), ("06279996", true), ("06130017", true),
        ("06139993", false), ("6139992", false), ("０６１３９９９２", false), ("", false), ("0613999x", false),
    ])
    func isValid(_ c: (String, Bool)) {
        #expect(InsurerNumber.isValid(c.0) == c.1)
    }

    @Test("exactly one check digit completes any 7 digits; Luhn catches every single-digit error")
    func luhnProperties() {
        var seed: UInt64 = 12345
        for _ in 0..<500 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let first7 = String(String(seed % 10_000_000).reversed()).padding(toLength: 7, withPad: "0", startingAt: 0)
            let valid = (0...9).filter { InsurerNumber.isValid(first7 + String($0)) }
            #expect(valid == [InsurerNumber.checkDigit(first7: first7)!])
            let good = Array(first7 + String(valid[0]))
            for pos in 0..<7 {
                var bad = good
                bad[pos] = Character(String((Int(String(bad[pos]))! + 1) % 10))
                #expect(!InsurerNumber.isValid(String(bad)))
            }
        }
    }
}
