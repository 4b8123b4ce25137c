import Foundation

/// 性別.
public enum Sex {
    /// Canonical "M", "F" or "U" (unknown). Usual spellings after width-fold: "1","M","m","男","男性","male" → M; "2","F","f","女","女性","female" → F;
    /// "","0","9","不明" → U. `overrides` (already width-folded keys) are consulted first. nil = unreadable value.
    /// English words are matched without regard to case ("Male", "FEMALE").
    public static func parse(_ raw: String, overrides: [String: String] = [:]) -> String? {
        let s = Normalise.foldWidth(raw)
        if !overrides.isEmpty, let o = overrides[s] { return o }
        switch s {
        case "1", "M", "m", "男", "男性": return "M"
        case "2", "F", "f", "女", "女性": return "F"
        case "", "0", "9", "不明": return "U"
        default: break
        }
        switch s.lowercased() {
        case "male": return "M"
        case "female": return "F"
        default: return nil
        }
    }
}

/// 本人・家族区分 (and 特例退職).
public enum Relationship {
    /// The canonical values a profile may map to.
    public static let canonical = ["insured", "dependant", "special_retiree_insured", "special_retiree_dependant"]

    /// Usual spellings: "1","本人","被保険者","insured" → insured; "2","家族","被扶養者","dependant","dependent" → dependant;
    /// "特例退職被保険者","特退本人" → special_retiree_insured; "特例退職被扶養者","特退家族" → special_retiree_dependant. `overrides` first.
    /// Empty → nil (unreadable). Returns (relationship "insured"|"dependant", specialRetiree).
    /// The canonical names themselves are accepted too, and English words are matched without regard to case.
    public static func parse(_ raw: String, overrides: [String: String] = [:]) -> (relationship: String, specialRetiree: Bool)? {
        let s = Normalise.foldWidth(raw)
        if s.isEmpty { return nil }
        if !overrides.isEmpty, let o = overrides[s] { return fromCanonical(o) }
        switch s {
        case "1", "本人", "被保険者": return ("insured", false)
        case "2", "家族", "被扶養者": return ("dependant", false)
        case "特例退職被保険者", "特退本人": return ("insured", true)
        case "特例退職被扶養者", "特退家族": return ("dependant", true)
        default: break
        }
        switch s.lowercased() {
        case "dependent": return ("dependant", false)
        case let c: return fromCanonical(c)
        }
    }

    /// One of `canonical` → the pair; nil for anything else.
    public static func fromCanonical(_ c: String) -> (relationship: String, specialRetiree: Bool)? {
        switch c {
        case "insured": return ("insured", false)
        case "dependant": return ("dependant", false)
        case "special_retiree_insured": return ("insured", true)
        case "special_retiree_dependant": return ("dependant", true)
        default: return nil
        }
    }
}
