import Foundation

/// 判定区分: A (no abnormality) < B (slight) < C (follow-up) < D (treatment / close examination).
public enum Grade: String, Comparable, Sendable, CaseIterable {
    case a = "A", b = "B", c = "C", d = "D"
    public static func < (x: Grade, y: Grade) -> Bool { x.rawValue < y.rawValue }
}

/// One band: values in [low, high) of `analyte` (for `sex`, nil: both) get `grade`.
public struct GradeBand: Equatable, Sendable {
    public var analyte: String
    public var unit: String
    public var sex: GradingSex?
    public var grade: Grade
    public var low: BandEdge
    public var high: BandEdge
    public var note: String
    public var line: Int

    /// Half-open containment; an open end (a value known only to lie beyond a measurable bound) falls
    /// in the band that reaches that end.
    public func contains(_ v: BandEdge) -> Bool {
        switch v {
        case .positiveInfinity: return high == .positiveInfinity
        case .negativeInfinity: return low == .negativeInfinity
        case .finite: return low <= v && v < high
        }
    }

    /// "[100, 110)" as a person reads the table.
    public var interval: String {
        let lo = low == .negativeInfinity ? "(-inf" : "[\(low)"
        return "\(lo), \(high))"
    }

    func differsOnlyBySex(from o: GradeBand) -> Bool { grade == o.grade && low == o.low && high == o.high }
}

/// A grading table (判定基準表) edition: the bands A–D per analyte and sex, with the table's name,
/// edition, source and the date it applies from. Loaded from `pipelines/grading/<name>-<edition>.tsv`;
/// an operator adds a newer edition as a new file, never by changing code.
public struct GradeBands: Sendable {
    public let name: String
    public let edition: String
    public let appliesFrom: String
    public let source: String
    public let path: String
    public let sha256: String
    private var bands: [String: [GradeBand]] = [:]

    /// "ningen-dock 2024": what `grade_table` records.
    public var label: String { "\(name) \(edition)" }
    public var analytes: [String] { bands.keys.sorted() }
    public func bands(for analyte: String) -> [GradeBand] { bands[analyte] ?? [] }
    public var allBands: [GradeBand] { bands.values.flatMap { $0 }.sorted { $0.line < $1.line } }

    static let columns = ["analyte", "unit", "sex", "grade", "low", "high"]

    public static func load(path: String) throws -> GradeBands {
        let file = try ReferenceTableFile(path: path, kind: "grade-bands", columns: columns + ["note"])
        var t = GradeBands(name: file.name, edition: file.edition, appliesFrom: file.metadata["applies_from"]!,
                           source: file.metadata["source"]!, path: path, sha256: file.sha256)
        for row in file.rows {
            guard row.fields.count >= 6 else { throw file.fail(row, "expected analyte, unit, sex, grade, low, high[, note] (tab-separated)") }
            guard !row[0].isEmpty, row[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw file.fail(row, "the analyte '\(row[0])' must be a key like hba1c or glucose_fasting")
            }
            let sex: GradingSex?
            switch row[2] {
            case "*": sex = nil
            case "M": sex = .male
            case "F": sex = .female
            default: throw file.fail(row, "sex must be M, F or * (both), not '\(row[2])'")
            }
            guard let grade = Grade(rawValue: row[3]) else { throw file.fail(row, "grade must be A, B, C or D, not '\(row[3])'") }
            guard let low = BandEdge(row[4]), low != .positiveInfinity else { throw file.fail(row, "low '\(row[4])' must be a decimal or -inf") }
            guard let high = BandEdge(row[5]), high != .negativeInfinity else { throw file.fail(row, "high '\(row[5])' must be a decimal or inf") }
            guard low < high else { throw file.fail(row, "low \(low) must be below high \(high) (intervals are [low, high))") }
            let band = GradeBand(analyte: row[0], unit: UnitSpelling.normalise(row[1]), sex: sex, grade: grade, low: low, high: high, note: row[6], line: row.line)
            for other in t.bands[band.analyte] ?? [] {
                guard other.unit == band.unit else {
                    throw file.fail(row, "\(band.analyte) is given in \(row[1]) here but in \(other.unit) on line \(other.line); one unit per analyte")
                }
                guard (other.sex == nil) == (band.sex == nil) else {
                    throw file.fail(row, "\(band.analyte) mixes sex-specific rows (M/F) with rows for both (*), see line \(other.line); use one or the other")
                }
                if other.sex == band.sex, other.low < band.high, band.low < other.high {
                    throw file.fail(row, "\(band.analyte)\(sex.map { " (\($0.rawValue))" } ?? "") \(band.interval) overlaps \(other.interval) on line \(other.line)")
                }
            }
            t.bands[band.analyte, default: []].append(band)
        }
        guard !t.bands.isEmpty else { throw KenpoError.configuration(path: path, line: nil, message: "the grading table has no bands") }
        t.unitByAnalyte = t.bands.mapValues { $0[0].unit }
        for (analyte, list) in t.bands where list.contains(where: { $0.sex != nil }) {
            for s in [GradingSex.male, .female] where !list.contains(where: { $0.sex == s }) {
                throw KenpoError.configuration(path: path, line: list[0].line, message: "\(analyte) has sex-specific bands but none for \(s.rawValue)")
            }
        }
        return t
    }

    private init(name: String, edition: String, appliesFrom: String, source: String, path: String, sha256: String) {
        self.name = name; self.edition = edition; self.appliesFrom = appliesFrom; self.source = source; self.path = path; self.sha256 = sha256
    }

    /// The unit each analyte's bands use (kept, not derived per call: grading asks for every result).
    public private(set) var unitByAnalyte: [String: String] = [:]

    /// Whether the bands of `analyte` depend on sex.
    public func isSexSpecific(_ analyte: String) -> Bool { bands[analyte]?.contains { $0.sex != nil } ?? false }

    /// The band a value falls in for a sex, among one analyte's bands (looked up once by the caller;
    /// nil: no band covers it, or the sex is unknown and the sex-specific bands would give different
    /// grades — a grade is never guessed).
    static func band(in list: [GradeBand], sexSpecific: Bool, _ value: BandEdge, sex: GradingSex) -> (band: GradeBand, sexUnknownButSame: Bool)? {
        if !sexSpecific { return list.first { $0.contains(value) }.map { ($0, false) } }
        if sex != .unknown { return list.first { $0.sex == sex && $0.contains(value) }.map { ($0, false) } }
        guard let m = list.first(where: { $0.sex == .male && $0.contains(value) }),
              let f = list.first(where: { $0.sex == .female && $0.contains(value) }), m.grade == f.grade else { return nil }
        return (m, true)
    }

    public var manifestEntry: Manifest.ReferenceTable {
        Manifest.ReferenceTable(name: "grading:" + name, version: edition, path: path, sha256: sha256)
    }
}
