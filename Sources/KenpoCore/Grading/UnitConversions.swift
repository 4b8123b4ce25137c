import Foundation

/// Conversions from a unit (or an older scale) a result may arrive in to the one the grading tables
/// use: value × factor + offset, rounded where the published rule rounds. Also carries the old JDS
/// HbA1c to NGSP (analyte hba1c_jds → hba1c). Loaded from `pipelines/grading/unit-conversions.tsv`.
public struct UnitConversions: Sendable {
    public struct Conversion: Sendable {
        public var analyte: String
        public var unit: String
        public var toAnalyte: String
        public var toUnit: String
        public var factor: ExactDecimal
        public var offset: ExactDecimal
        public var roundDecimals: Int?
        public var note: String
        public var line: Int

        public func apply(_ v: BandEdge) -> BandEdge {
            guard case .finite(let x) = v else { return v }  // beyond a measurable bound stays beyond it
            let y = x * factor + offset
            return .finite(roundDecimals.map { y.rounded(decimals: $0) } ?? y)
        }

        /// "× 18.016", "× 1.02 + 0.25, rounded to 0.1".
        public var formula: String {
            var s = "× \(factor)"
            if offset != ExactDecimal(0) { s += offset < ExactDecimal(0) ? " − \(ExactDecimal(significand: -offset.significand, scale: offset.scale))" : " + \(offset)" }
            if let r = roundDecimals { s += ", rounded to \(r) decimal\(r == 1 ? "" : "s")" }
            return s
        }
    }

    public let name: String
    public let edition: String
    public let path: String
    public let sha256: String
    private var byKey: [String: Conversion] = [:]

    public static func load(path: String) throws -> UnitConversions {
        let file = try ReferenceTableFile(path: path, kind: "unit-conversions", columns: ["analyte", "unit", "to_analyte", "to_unit", "factor", "offset", "round"],
                                          required: ["name", "edition", "source"])
        var t = UnitConversions(name: file.name, edition: file.edition, path: path, sha256: file.sha256)
        for row in file.rows {
            guard row.fields.count >= 7, !row[0].isEmpty, !row[2].isEmpty else {
                throw file.fail(row, "expected analyte, unit, to_analyte, to_unit, factor, offset, round[, note] (tab-separated)")
            }
            guard let factor = ExactDecimal(row[4]), factor > ExactDecimal(0) else { throw file.fail(row, "factor '\(row[4])' must be a positive decimal") }
            guard let offset = row[5].isEmpty ? ExactDecimal(0) : ExactDecimal(row[5]) else { throw file.fail(row, "offset '\(row[5])' must be a decimal or empty") }
            var round: Int? = nil
            if !row[6].isEmpty {
                guard let r = Int(row[6]), (0...6).contains(r) else { throw file.fail(row, "round must be a number of decimals 0–6, or empty for exact") }
                round = r
            }
            let c = Conversion(analyte: row[0], unit: UnitSpelling.normalise(row[1]), toAnalyte: row[2], toUnit: UnitSpelling.normalise(row[3]),
                               factor: factor, offset: offset, roundDecimals: round, note: row[7], line: row.line)
            let key = c.analyte + "\u{1F}" + c.unit
            if let other = t.byKey[key] { throw file.fail(row, "\(c.analyte) in \(row[1]) is already converted on line \(other.line)") }
            t.byKey[key] = c
        }
        return t
    }

    private init(name: String, edition: String, path: String, sha256: String) {
        self.name = name; self.edition = edition; self.path = path; self.sha256 = sha256
    }

    public func conversion(analyte: String, unit: String) -> Conversion? { byKey[analyte + "\u{1F}" + unit] }

    public var manifestEntry: Manifest.ReferenceTable {
        Manifest.ReferenceTable(name: "units:" + name, version: edition, path: path, sha256: sha256)
    }
}
