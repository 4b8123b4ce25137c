import Foundation

/// The registration match keys of one person, built exactly as a roster row is keyed — the support
/// desk's answer when a member's registration keeps failing (registration manual FAQ Q3).
public struct MatchKeys: Equatable {
    public var insurerNumber: String?
    public var symbolKey: String?
    public var numberKey: String?
    public var kanaKey: String?
    public var birthDate: String?
    /// One sentence per value that could not be read.
    public var problems: [String] = []

    public init(insurer: String?, symbol: String?, number: String?, kana: String?, birth: String?) {
        if let insurer {
            switch InsurerNumber.validate(insurer) {
            case .success(let n): insurerNumber = n
            case .failure(.notEightDigits(let hint)): problems.append("insurer number '\(insurer)': \(hint)")
            case .failure(.checkDigit(let e)): problems.append("insurer number '\(insurer)': the check digit should be \(e); a typing mistake?")
            }
        }
        if let symbol {
            symbolKey = CardKeys.symbolKey(symbol)
            if symbolKey == nil { problems.append("symbol '\(symbol)' is empty or cannot be read") }
        }
        if let number {
            numberKey = CardKeys.numberKey(number)
            if numberKey == nil { problems.append("number '\(number)' must be digits") }
        }
        if let kana {
            switch KanaName.key(kana) {
            case .success(let k): kanaKey = k
            case .failure(.empty): problems.append("kana name is empty")
            case .failure(.invalidCharacter(let c)): problems.append("kana name '\(kana)': '\(c)' is not kana (the name must be typed in katakana)")
            }
        }
        if let birth {
            switch JapaneseDate.parse(birth) {
            case .success(let d): birthDate = d.iso
            case .failure(let e): problems.append("birth date '\(birth)': \(e.message)")
            }
        }
    }

    /// `name: value` lines in a fixed order, for printing.
    public var lines: [String] {
        var out: [String] = []
        if let v = insurerNumber { out.append("insurer_number: \(v)") }
        if let v = symbolKey { out.append("symbol_key: \(v)") }
        if let v = numberKey { out.append("number_key: \(v)") }
        if let v = kanaKey { out.append("kana_key: \(v)") }
        if let v = birthDate { out.append("birth_date: \(v)") }
        return out
    }
}
