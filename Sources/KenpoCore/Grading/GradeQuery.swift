import Foundation

/// One result graded on request (`kenpo grade`): the support desk's answer to "why is my result C?".
/// A value is a decimal, `>N` / `<N` for a result beyond the measurable bound N, or a level 1–5 for
/// a qualitative urine item. Problems are usage errors (exit 2) that say what to give instead.
public struct GradeQuery {
    public var grader: Grader
    public var itemCode: String
    public var value: String
    public var unit: String?
    public var sex: GradingSex
    public var timing: Grader.Timing?

    public init(grader: Grader, itemCode: String, value: String, unit: String?, sex: GradingSex, timing: Grader.Timing?) {
        self.grader = grader; self.itemCode = itemCode; self.value = value; self.unit = unit; self.sex = sex; self.timing = timing
    }

    public func explain() throws -> [String] {
        let items = grader.items
        guard let item = items[itemCode] else {
            throw KenpoError.usage("unknown item code '\(itemCode)': it is not in the checkup item table (\(items.path)); item codes have 17 characters, e.g. 3D046000001906202 for HbA1c")
        }
        let title = "item:       \(item.code) \(item.name)"
        guard !item.analyte.isEmpty else {
            return [title, "grade:      not graded — the item table maps this item to no analyte, so no grading table applies"]
        }
        var input = GradingInput(itemCode: item.code, valueType: item.valueType, valueText: value,
                                 unit: UnitSpelling.normalise(unit ?? item.unit))
        switch item.valueType {
        case "PQ":
            var text = value
            if let f = text.first, f == ">" || f == "<" {
                input.outOfRange = f == ">" ? "H" : "L"
                text.removeFirst()
            }
            guard ExactDecimal(text) != nil else {
                throw KenpoError.usage("the value '\(value)' is not a decimal; give e.g. 5.6, or >1000 / <5 for a result beyond the measurable bound")
            }
            input.valueText = text
        default:
            guard let level = Int(value), (1...5).contains(level) else {
                throw KenpoError.usage("\(item.name) is qualitative: give its level 1–5 (1 −, 2 ±, 3 +, 4 2+, 5 3+), not '\(value)'")
            }
            input.codedValue = String(level)
            input.codeSystem = Grader.urineLevelSystem
            input.valueText = ""
        }
        guard let e = grader.explain([input], sex: sex, timingOverride: timing).first else { return [title] }
        let o = e.outcome
        if o.unknownUnit {
            throw KenpoError.usage("the unit '\(input.unit)' cannot be graded for \(item.name): \(o.note.replacingOccurrences(of: "not graded: ", with: ""))")
        }
        var lines = [title]
        lines.append("analyte:    \(o.analyte.isEmpty ? item.analyte : o.analyte)")
        if !o.gradedValue.isEmpty { lines.append("graded:     \(o.gradedValue) \(e.unit)") }
        if let band = e.band {
            let sexText = band.sex.map { $0 == .male ? " for men" : " for women" } ?? ""
            lines.append("grade:      \(o.grade) — \(band.interval)\(sexText), line \(band.line) of \(grader.bands.path)" + (band.note.isEmpty ? "" : " (\(band.note))"))
        } else {
            lines.append("grade:      none")
        }
        if let row = e.mhlwRow {
            let parts = [row.guidance.map { "guidance \($0)" }, row.consult.map { "consult \($0)" }].compactMap { $0 }
            lines.append("mhlw_flag:  \(o.mhlwFlag) (\(parts.joined(separator: ", ")) \(row.unit); \(grader.thresholds.label), line \(row.line))")
        } else if !o.mhlwFlag.isEmpty {
            lines.append("mhlw_flag:  \(o.mhlwFlag) (\(grader.thresholds.label) gives no values for \(o.analyte))")
        }
        var notes = e.notes
        if timing == .fasting && item.analyte == "glucose_random" {
            notes.append("the item is a random glucose: it is never graded with fasting bands")
        }
        for n in notes { lines.append("note:       \(n)") }
        lines.append("table:      \(grader.bands.label), applies from \(grader.bands.appliesFrom)")
        lines.append("source:     \(grader.bands.source)")
        return lines
    }
}
