import Foundation

public enum InsurerNumberError: Error, Equatable, Sendable {
    /// Not eight digits; the associated value is an English sentence for the operator.
    case notEightDigits(String)
    /// Eight digits but the check digit is wrong; `expected` is the check digit the first seven digits call for.
    case checkDigit(expected: Int)
}

extension InsurerNumberError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notEightDigits(let hint): return hint
        case .checkDigit(let expected):
            return "the check digit (the 8th digit) is wrong: the first seven digits call for \(expected)"
        }
    }
}

/// 保険者番号: 2 law code, 2 prefecture, 3 insurer, 1 check digit.
public enum InsurerNumber {
    /// 8 digits: 2 law code, 2 prefecture, 3 insurer, 1 check digit = Luhn over the first 7
    /// (from the rightmost of the 7, weights 2,1,2,1,…; sum the digits of each product; check = (10 − sum mod 10) mod 10).
    /// Example: 0613999 → check 2 (06139992 valid); 0627999 → 6; 0613001 → 7. nil unless exactly 7 ASCII digits.
    public static func checkDigit(first7: String) -> Int? {
        let u = first7.utf8
        guard u.count == 7, u.allSatisfy({ $0 &- 0x30 <= 9 }) else { return nil }
        return luhn(u)
    }

    /// Width-fold and trim, then validate. Returns the canonical 8-digit string. A 7-digit value gets .notEightDigits whose
    /// associated string is a helpful hint mentioning that a leading zero may have been lost by a spreadsheet.
    public static func validate(_ raw: String) -> Result<String, InsurerNumberError> {
        let s = Normalise.foldWidth(raw)
        let u = s.utf8
        let allDigits = u.allSatisfy { $0 &- 0x30 <= 9 }
        if u.isEmpty {
            return .failure(.notEightDigits("empty: an insurer number has 8 digits"))
        }
        guard allDigits else {
            return .failure(.notEightDigits("an insurer number has 8 digits (0–9) and nothing else"))
        }
        if u.count == 7 {
            let padded = "0" + s
            let suggestion = isValid(padded) ? " (\(padded) would be valid)" : ""
            return .failure(.notEightDigits(
                "7 digits, but an insurer number has 8: a leading zero may have been lost by a spreadsheet\(suggestion); keep the column as text when saving"))
        }
        guard u.count == 8 else {
            return .failure(.notEightDigits("\(u.count) digits, but an insurer number has 8"))
        }
        let expected = luhn(u)
        let last = Int(u[u.index(before: u.endIndex)] &- 0x30)
        guard last == expected else { return .failure(.checkDigit(expected: expected)) }
        return .success(s)
    }

    /// Exactly 8 ASCII digits with a valid check digit (the value is expected to be width-folded already).
    public static func isValid(_ folded: String) -> Bool {
        let u = folded.utf8
        guard u.count == 8, u.allSatisfy({ $0 &- 0x30 <= 9 }) else { return false }
        return Int(u[u.index(before: u.endIndex)] &- 0x30) == luhn(u)
    }

    /// Luhn check digit over the first 7 ASCII digits of `u` (the caller has checked they are digits).
    /// Counting from the rightmost of the 7, weights are 2, 1, 2, …, so from the left the 1st, 3rd, 5th and 7th digits get 2.
    static func luhn(_ u: String.UTF8View) -> Int {
        var sum = 0
        var k = 0
        for b in u.prefix(7) {
            let p = Int(b &- 0x30) * (k & 1 == 0 ? 2 : 1)
            sum += p / 10 + p % 10
            k += 1
        }
        return (10 - sum % 10) % 10
    }
}
