import Foundation

/// The MHLW specific-checkup judgement values (特定健診 保健指導判定値 / 受診勧奨判定値) per analyte
/// and sex: a result at or beyond the consult value is flagged `consult`, else at or beyond the
/// guidance value `guidance`, else `none`.
public struct MHLWThresholds: Sendable {
    public enum Flag: String, Sendable { case none, guidance, consult }

    /// "ge 130": value ≥ 130; also gt, le, lt.
    public struct Condition: Equatable, Sendable, CustomStringConvertible {
        public enum Op: String, Sendable { case ge, gt, le, lt }
        public var op: Op
        public var threshold: ExactDecimal

        init?(_ text: String) {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let op = Op(rawValue: String(parts[0])), let t = ExactDecimal(parts[1]) else { return nil }
            self.op = op; self.threshold = t
        }

        public func holds(_ v: BandEdge) -> Bool {
            switch v {
            case .positiveInfinity: return op == .ge || op == .gt
            case .negativeInfinity: return op == .le || op == .lt
            case .finite(let x):
                switch op {
                case .ge: return x >= threshold
                case .gt: return x > threshold
                case .le: return x <= threshold
                case .lt: return x < threshold
                }
            }
        }

        public var description: String {
            ["ge": "≥", "gt": ">", "le": "≤", "lt": "<"][op.rawValue]! + " " + threshold.description
        }
    }

    public struct Row: Sendable {
        public var analyte: String
        public var unit: String
        public var sex: GradingSex?
        public var guidance: Condition?
        public var consult: Condition?
        public var line: Int
    }

    public let name: String
    public let edition: String
    public let source: String
    public let path: String
    public let sha256: String
    private var rows: [String: [Row]] = [:]

    public var label: String { "\(name) \(edition)" }

    public static func load(path: String) throws -> MHLWThresholds {
        let file = try ReferenceTableFile(path: path, kind: "mhlw-thresholds", columns: ["analyte", "unit", "sex", "guidance", "consult"])
        var t = MHLWThresholds(name: file.name, edition: file.edition, source: file.metadata["source"]!, path: path, sha256: file.sha256)
        for row in file.rows {
            guard row.fields.count >= 4, !row[0].isEmpty else { throw file.fail(row, "expected analyte, unit, sex, guidance, consult[, note] (tab-separated; an empty consult may be left off)") }
            let sex: GradingSex?
            switch row[2] {
            case "*": sex = nil
            case "M": sex = .male
            case "F": sex = .female
            default: throw file.fail(row, "sex must be M, F or *, not '\(row[2])'")
            }
            var conditions: [Condition?] = []
            for text in [row[3], row[4]] {
                if text.isEmpty { conditions.append(nil); continue }
                guard let c = Condition(text) else { throw file.fail(row, "'\(text)' must be ge, gt, le or lt and a decimal, e.g. 'ge 130'") }
                conditions.append(c)
            }
            guard conditions.contains(where: { $0 != nil }) else { throw file.fail(row, "give a guidance or a consult value (or leave the analyte out)") }
            if let other = t.rows[row[0]]?.first(where: { $0.sex == sex || $0.sex == nil || sex == nil }) {
                throw file.fail(row, "\(row[0]) is already given for this sex on line \(other.line)")
            }
            t.rows[row[0], default: []].append(Row(analyte: row[0], unit: UnitSpelling.normalise(row[1]), sex: sex,
                                                   guidance: conditions[0], consult: conditions[1], line: row.line))
        }
        return t
    }

    private init(name: String, edition: String, source: String, path: String, sha256: String) {
        self.name = name; self.edition = edition; self.source = source; self.path = path; self.sha256 = sha256
    }

    public func rows(for analyte: String) -> [Row] { rows[analyte] ?? [] }
    /// Every analyte with values, and its rows.
    var allRows: [String: [Row]] { rows }

    /// The flag for a value in the table's unit, over one analyte's rows (looked up once by the
    /// caller; nil rows: the analyte has no values, `none`). Nil when the analyte has sex-specific
    /// values, the sex is unknown and the two disagree.
    static func flag(in rows: [Row]?, _ value: BandEdge, sex: GradingSex) -> (flag: Flag, row: Row?)? {
        guard let list = rows else { return (.none, nil) }
        func evaluate(_ r: Row) -> Flag {
            if r.consult?.holds(value) == true { return .consult }
            if r.guidance?.holds(value) == true { return .guidance }
            return .none
        }
        if let both = list.first(where: { $0.sex == nil }) { return (evaluate(both), both) }
        if sex != .unknown {
            guard let r = list.first(where: { $0.sex == sex }) else { return (.none, nil) }
            return (evaluate(r), r)
        }
        let flags = list.map(evaluate)
        guard Set(flags.map(\.rawValue)).count == 1 else { return nil }
        return (flags[0], list[0])
    }

    public func unit(for analyte: String) -> String? { rows[analyte]?.first?.unit }

    public var manifestEntry: Manifest.ReferenceTable {
        Manifest.ReferenceTable(name: "mhlw:" + name, version: edition, path: path, sha256: sha256)
    }
}
