import Foundation
@testable import KenpoCore

/// The registration screen's folding as `CardKeys.symbolKey` documents it: NFKC, spaces removed,
/// ASCII letters upper-cased; a kana voicing mark composes (as NFC would) with the kana before it
/// even across a removed space (the documented exception). nil when the NFKC text holds a
/// combining mark other than the kana voicing marks: there the two differ in where upper-casing and
/// composition happen, which no symbol ever typed depends on.
private func referenceSymbolKey(_ raw: String) -> String?? {
    let nfkc = raw.precomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping
    var out = String.UnicodeScalarView()
    for u in nfkc.unicodeScalars {
        if u.properties.canonicalCombiningClass.rawValue != 0 && u.value != 0x3099 && u.value != 0x309A { return nil }
        switch u.value {
        case 0x20, 0x09, 0x0A, 0x0D, 0x3000: continue
        case 0x61...0x7A: out.append(Unicode.Scalar(u.value - 0x20)!)
        case 0x3099, 0x309A:
            // Compose with the scalar before, as NFC would once the space between is gone.
            if let prev = out.last {
                let pair = String(String.UnicodeScalarView([prev, u])).precomposedStringWithCanonicalMapping.unicodeScalars
                if pair.count == 1 { out.removeLast(); out.append(pair.first!); continue }
            }
            out.append(u)
        default: out.append(u)
        }
    }
    return .some(out.isEmpty ? nil : String(out))
}

/// The kana, width and card-key normalisers on arbitrary text (UTF-8, or CP932 decoded when the
/// first byte is odd — what a CP932 roster's fields look like).
/// - KanaName.normalise is idempotent, yields only allowed katakana, and the half-width spelling of
///   its result normalises back to it; hiragana input gives the same result as its katakana.
/// - KanaName.key keeps the byte length and is idempotent.
/// - Normalise.foldWidth / removeSpaces / trim are idempotent; removeSpaces leaves no space.
/// - CardKeys.symbolKey equals NFKC + space removal + ASCII upper-casing (its documented meaning,
///   checked against Foundation), and symbol, number and branch keys are fixed points of themselves.
/// - InsurerNumber.validate accepts only values isValid accepts; Sex and Relationship give
///   canonical codes only.
let kanaTarget = FuzzTarget(name: "kana", summary: "KanaName, Normalise, CardKeys, InsurerNumber, Sex/Relationship: idempotence and NFKC agreement") { bytes in
    let t = "kana"
    guard let selector = bytes.first else { return }
    let body = Array(bytes.dropFirst())
    let text: String
    if selector & 1 == 1, case .success(let s) = CP932Decoder().decode(body) { text = s } else { text = String(decoding: body, as: UTF8.self) }

    switch KanaName.normalise(text) {
    case .success(let k):
        property(!k.isEmpty, t, "empty normalised kana from \(text)")
        property(k.unicodeScalars.allSatisfy { KanaTables.isAllowedResult($0.value) }, t, "\(text) → \(k) holds a character outside the allowed katakana")
        property(KanaName.normalise(k) == .success(k), t, "normalise is not idempotent on \(k)")
        let half = KanaName.toHalfWidth(k)
        property(KanaName.normalise(half) == .success(k), t, "half-width \(half) of \(k) normalises to \(KanaName.normalise(half))")
        let key = KanaName.key(normalised: k)
        property(key.utf8.count == k.utf8.count, t, "key \(key) changes the length of \(k)")
        property(KanaName.key(normalised: key) == key, t, "key of \(key) is not itself")
        let hiragana = String(String.UnicodeScalarView(k.unicodeScalars.map {
            (0x30A1...0x30F6).contains($0.value) ? Unicode.Scalar($0.value - 0x60)! : $0
        }))
        property(KanaName.normalise(hiragana) == .success(k), t, "hiragana \(hiragana) normalises differently from \(k)")
    case .failure(.empty):
        property(text.unicodeScalars.allSatisfy { [0x20, 0x3000, 0x30FB, 0xFF65, 0x09, 0xA0].contains($0.value) }, t, "\(text) called empty")
    case .failure(.invalidCharacter(let c)):
        property(text.contains(c) || text.unicodeScalars.contains(where: { c.unicodeScalars.first == $0 }), t, "invalid character \(c) is not in \(text)")
    }

    let folded = Normalise.foldWidth(text)
    property(Normalise.foldWidth(folded) == folded, t, "foldWidth is not idempotent on \(text)")
    let spaceless = Normalise.removeSpaces(text)
    property(Normalise.removeSpaces(spaceless) == spaceless, t, "removeSpaces is not idempotent on \(text)")
    property(!spaceless.utf8.contains(0x20) && !spaceless.utf8.contains(0x09), t, "removeSpaces left a space in \(spaceless)")
    let trimmed = Normalise.trim(text)
    property(Normalise.trim(trimmed) == trimmed, t, "trim is not idempotent on \(text)")
    property(Normalise.isBlank(text) == trimmed.isEmpty, t, "isBlank disagrees with trim on \(show(Array(text.utf8)))")

    let symbol = CardKeys.symbolKey(text)
    if let reference = referenceSymbolKey(text) {
        property(symbol == reference, t, "symbolKey(\(show(Array(text.utf8)))) = \(symbol.map { show(Array($0.utf8)) } ?? "nil"), NFKC gives \(reference.map { show(Array($0.utf8)) } ?? "nil")")
    }
    if let s = symbol { property(CardKeys.symbolKey(s) == s, t, "symbolKey is not a fixed point on \(s)") }
    if let n = CardKeys.numberKey(text) {
        property(CardKeys.numberKey(n) == n, t, "numberKey is not a fixed point on \(n)")
        property(n.utf8.count <= 7 && n.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, t, "number key \(n)")
    }
    if let b = CardKeys.branch(text) { property(CardKeys.branch(b) == b, t, "branch is not a fixed point on \(b)") }

    if case .success(let n) = InsurerNumber.validate(text) { property(InsurerNumber.isValid(n), t, "validate accepted \(n)") }
    if let s = Sex.parse(text) { property(["M", "F", "U"].contains(s), t, "sex \(s)") }
    if let r = Relationship.parse(text) { property(["insured", "dependant"].contains(r.relationship), t, "relationship \(r)") }
    let postal = RosterReader.postalCode(text)
    property(RosterReader.postalCode(postal) == postal, t, "postal code \(postal) is not a fixed point")
}
