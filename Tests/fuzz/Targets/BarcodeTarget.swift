import Foundation
@testable import KenpoCore

/// CustomerBarcode on arbitrary postal codes and addresses (UTF-8: the first line is the postal
/// code, the rest the address).
/// - The address number holds only 0–9, A–Z and single hyphens between characters that are not
///   letters: no leading, trailing or doubled hyphen, no hyphen beside a letter.
/// - A postal code that encodes has 7 digits; the barcode then always has 20 data characters and a
///   check character that makes the 21 values a multiple of 19; its bar pattern is 67 bars of 1–4,
///   STC first and SPC last, three bars per character.
/// - The data characters start with the postal code, then the address number as far as it fits
///   (a letter as its control code and digit).
let barcodeTarget = FuzzTarget(name: "barcode", summary: "CustomerBarcode: fixed length, valid check character, address-number alphabet") { bytes in
    let t = "barcode"
    let text = String(decoding: bytes, as: UTF8.self)
    let postal: String, address: String
    if let nl = text.firstIndex(of: "\n") {
        postal = String(text[..<nl]); address = String(text[text.index(after: nl)...])
    } else {
        postal = "100-0001"; address = text
    }
    let number = CustomerBarcode.addressNumber(from: address)
    let u = Array(number.utf8)
    property(u.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x2D }, t, "address number \(number) from \(address)")
    property(u.first != 0x2D && u.last != 0x2D && !number.contains("--"), t, "stray hyphen in \(number) from \(address)")
    for (i, b) in u.enumerated() where b == 0x2D {
        let letter: (UInt8) -> Bool = { $0 >= 0x41 && $0 <= 0x5A }
        property(!letter(u[i - 1]) && !letter(u[i + 1]), t, "hyphen beside a letter in \(number) from \(address)")
    }

    guard let code = try? CustomerBarcode.encode(postalCode: postal, address: address) else {
        property((try? CustomerBarcode.postalDigits(postal)) == nil, t, "encode failed for a valid postal code \(postal)")
        return
    }
    property(code.postalCode.utf8.count == 7 && code.postalCode.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, t, "postal code \(code.postalCode)")
    property(code.addressNumber == number, t, "encode's address number \(code.addressNumber), addressNumber gives \(number)")
    property(code.dataCharacters.count == CustomerBarcode.dataLength, t, "\(code.dataCharacters.count) data characters")
    let sum = code.dataCharacters.reduce(0) { $0 + $1.value } + code.checkCharacter.value
    property(sum % 19 == 0, t, "check character \(code.checkCharacter) leaves \(sum % 19) (code \(code.code))")
    let bars = code.bars
    property(bars.utf8.count == 67 && bars.utf8.allSatisfy { $0 >= 0x31 && $0 <= 0x34 }, t, "bars \(bars)")
    property(bars.hasPrefix(CustomerBarcode.startBars) && bars.hasSuffix(CustomerBarcode.stopBars), t, "bars \(bars) lack STC/SPC")

    // The expected data characters, built independently from the address number.
    var expected = code.postalCode.utf8.map { CustomerBarcode.Symbol.digit(Int($0 - 0x30)) }
    for b in u {
        switch b {
        case 0x30...0x39: expected.append(.digit(Int(b - 0x30)))
        case 0x2D: expected.append(.hyphen)
        default:
            let k = Int(b - 0x41)
            expected.append(.control(k / 10 + 1)); expected.append(.digit(k % 10))
        }
    }
    expected = Array(expected.prefix(20))
    while expected.count < 20 { expected.append(.control(4)) }
    property(code.dataCharacters == expected, t, "data characters \(code.dataString) for \(code.postalCode) + \(number)")
}
