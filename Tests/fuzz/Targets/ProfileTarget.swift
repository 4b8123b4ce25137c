import Foundation
@testable import KenpoCore

/// InsurerProfile.parse (and the INI reader under it) on arbitrary profile files; every profile it
/// accepts then reads a small roster made to fit it.
/// - A rejected profile is a configuration error naming a line of the file (or none).
/// - An accepted profile maps every required field, with column numbers ≥ 1 when it has no
///   header; it allows at least one date style; its code values are canonical and its insurer
///   number valid.
/// - RosterReader opens a roster written for that profile (header from its column names, one row)
///   and reads the row without trapping, within the fuzzer's memory limit.
let profileTarget = FuzzTarget(name: "profile", summary: "InsurerProfile.parse + RosterReader on a roster made for the profile") { bytes in
    let t = "profile"
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    let profile: InsurerProfile
    do { profile = try InsurerProfile.parse(text, path: "fuzz.profile") } catch let e as KenpoError {
        if case .configuration(_, let line, let message) = e {
            property(line == nil || (line! >= 1 && line! <= lines), t, "error names line \(line!) of \(lines): \(message)")
            property(!message.isEmpty, t, "an error without a message")
        } else { property(false, t, "not a configuration error: \(e)") }
        return
    } catch { property(false, t, "threw \(error)"); return }

    for f in RosterField.required { property(profile.columns[f] != nil, t, "required field \(f) unmapped") }
    if !profile.hasHeader {
        for (f, c) in profile.columns { property((Int(c) ?? 0) >= 1, t, "header = no, but \(f) maps to column '\(c)'") }
    }
    property(!profile.dateStyles.isEmpty, t, "a profile that allows no date style (every dated row would be rejected)")
    property(profile.sexValues.values.allSatisfy { ["M", "F", "U"].contains($0) }, t, "sex values \(profile.sexValues)")
    property(profile.relationshipValues.values.allSatisfy { Relationship.canonical.contains($0) }, t, "relationship values \(profile.relationshipValues)")
    if let n = profile.insurerNumber { property(InsurerNumber.isValid(n), t, "insurer number \(n)") }

    // A roster that fits: the profile's header names (or no header), one row of plausible values.
    let sample: [RosterField: String] = [
        .insurerNumber: profile.insurerNumber ?? "06139992", .symbol: "1001", .number: "12345", .branch: "00",
        .kanaName: "ﾔﾏﾀﾞ ﾊﾅｺ", .kanjiName: "山田　花子", .birthDate: "19800102", .sex: "2", .relationship: "1",
        .qualifiedDate: "20200401",
    ]
    let fields = RosterField.allCases.filter { profile.columns[$0] != nil }
    var row: [String]
    var header: [String]? = nil
    if profile.hasHeader {
        header = fields.map { profile.columns[$0]! }
        row = fields.map { sample[$0] ?? "" }
    } else {
        // Only reasonable widths: a mapping to column 10,000,000 is for the reader to refuse.
        let width = fields.map { min(Int(profile.columns[$0]!) ?? 1, 64) }.max() ?? 1
        row = Array(repeating: "", count: width)
        for f in fields { if let c = Int(profile.columns[f]!), c <= 64 { row[c - 1] = sample[f] ?? "" } }
    }
    var csv: [UInt8] = []
    for r in [header, row].compactMap({ $0 }) { CSVWriter.encodeRow(r, into: &csv) }
    if profile.encoding == .cp932 { csv = CP932Encoder().encode(String(decoding: csv, as: UTF8.self)).bytes }
    let path = Scratch.write(csv, as: "roster.csv")
    guard let reader = try? RosterReader(profile: profile, path: path, runDate: CalendarDate(year: 2026, month: 11, day: 21)!) else { return }
    _ = try? reader.next()
}
