import Foundation

/// One stored or parsed checkup result as grading sees it (the fields of `checkup_results.csv`).
public struct GradingInput: Sendable {
    public var itemCode: String
    public var valueType: String
    public var valueText: String
    public var unit: String
    public var codedValue: String = ""
    public var codeSystem: String = ""
    public var outOfRange: String = ""

    public init(itemCode: String, valueType: String, valueText: String, unit: String,
                codedValue: String = "", codeSystem: String = "", outOfRange: String = "") {
        self.itemCode = itemCode; self.valueType = valueType; self.valueText = valueText; self.unit = unit
        self.codedValue = codedValue; self.codeSystem = codeSystem; self.outOfRange = outOfRange
    }

    public init(_ r: CheckupResult) {
        self.init(itemCode: r.itemCode, valueType: r.valueType.rawValue, valueText: r.valueText, unit: r.unit,
                  codedValue: r.codedValue, codeSystem: r.codeSystem, outOfRange: r.outOfRange)
    }
}

/// The grading columns of one result: `grade`, `grade_table`, `mhlw_flag`, `graded_value`, `grade_note`.
public struct GradeOutcome: Equatable, Sendable {
    public var grade = ""
    public var table = ""
    public var mhlwFlag = ""
    public var gradedValue = ""
    public var note = ""
    /// The analyte graded (after fasting/random and JDS resolution); empty when not graded.
    public var analyte = ""
    /// The result's unit is one no table or conversion knows (reported in the run summary).
    public var unknownUnit = false

    public var columns: [String] { [grade, table, mhlwFlag, gradedValue, note] }
    public static let notGraded = GradeOutcome()
}

/// Everything behind one grade, for the support desk (`kenpo grade`).
public struct GradeExplanation: Sendable {
    public var item: CheckupItems.Item
    public var outcome: GradeOutcome
    public var unit = ""
    public var band: GradeBand?
    public var mhlwRow: MHLWThresholds.Row?
    public var notes: [String] = []
}

/// Grades checkup results A–D against one edition of the grading table, and flags them against
/// the MHLW judgement values. The rules (see pipelines/grading/README.md):
/// - values compare as exact decimals, half-open bands [low, high);
/// - the person's sex picks sex-specific bands; an unknown sex is graded only where both sexes'
///   bands give the same grade;
/// - triglyceride and glucose follow the blood-draw timing item (9N141) of the same checkup;
///   a glucose item coded as random is never graded with fasting bands; triglyceride without a
///   timing is fasting, the standard's default (a non-fasting draw must be recorded);
/// - an old JDS HbA1c converts to NGSP first; other units convert when the conversion table knows
///   them, otherwise the result is not graded and the unit is reported;
/// - a value beyond a measurable bound (H/L) is graded as the band at that end of the table;
/// - urine levels 1–5 use their level bands;
/// - blood pressure: the "other" reading when present, else the mean of the 1st and 2nd readings,
///   graded once for the checkup and given to each reading (checkup-items.tsv, `reading`).
public struct Grader: Sendable {
    public let items: CheckupItems
    public let bands: GradeBands
    public let thresholds: MHLWThresholds
    public let conversions: UnitConversions
    /// `bands.label`, made once (every graded result carries it).
    let tableLabel: String
    /// What the tables hold for each analyte, looked up once per graded value (not once per table).
    final class AnalyteTables: @unchecked Sendable {
        /// The unit the tables compare the analyte in (bands first, then MHLW values).
        let target: String?
        let bands: [GradeBand]
        let sexSpecific: Bool
        let rows: [MHLWThresholds.Row]?
        init(target: String?, bands: [GradeBand], sexSpecific: Bool, rows: [MHLWThresholds.Row]?) {
            self.target = target; self.bands = bands; self.sexSpecific = sexSpecific; self.rows = rows
        }
    }
    let tables: [String: AnalyteTables]

    static let drawTimingItem = "9N141000000000011"
    static let urineLevelSystem = "1.2.392.200119.6.2102"
    static let levelUnit = "level"

    public init(items: CheckupItems, bands: GradeBands, thresholds: MHLWThresholds, conversions: UnitConversions) {
        self.items = items; self.bands = bands; self.thresholds = thresholds; self.conversions = conversions
        tableLabel = bands.label
        var tables: [String: AnalyteTables] = [:]
        for a in Set(bands.analytes).union(thresholds.allRows.keys) {
            tables[a] = AnalyteTables(target: bands.unitByAnalyte[a] ?? thresholds.unit(for: a), bands: bands.bands(for: a),
                                      sexSpecific: bands.isSexSpecific(a), rows: thresholds.allRows[a])
        }
        self.tables = tables
    }

    public enum Timing: Sendable { case fasting, random }

    /// A value ready to compare: in the tables' unit, for a resolved analyte.
    struct Measured {
        var analyte: String
        /// `tables[analyte]`, looked up once (a String-keyed lookup per use was a % of an import).
        var tables: AnalyteTables?
        var unit: String
        var value: BandEdge
        /// What to print as the graded value (the bound, for a value beyond one).
        var shown: String
        var notes: [String]
    }

    enum Measurement {
        case notGradable
        case problem(String, unknownUnit: Bool)
        case measured(Measured)
    }

    /// One result as grading reads it, its item already looked up (the import hands these over
    /// straight from a document's bytes; `GradingInput` is turned into one).
    struct Value {
        /// The item's analyte ("" : not graded) and blood-pressure reading ("" : none).
        var analyte: String
        var reading: String
        var valueType: String
        var valueText: String
        var unit: String
        var codedValue: String
        /// The code system is empty or the urine-level system.
        var urineSystem: Bool
        var outOfRange: String
    }

    func value(_ r: GradingInput) -> Value {
        let item = items[r.itemCode]
        return Value(analyte: item?.analyte ?? "", reading: item?.reading ?? "", valueType: r.valueType, valueText: r.valueText, unit: r.unit,
                     codedValue: r.codedValue, urineSystem: r.codeSystem.isEmpty || r.codeSystem == Self.urineLevelSystem, outOfRange: r.outOfRange)
    }

    /// Grades the results of one checkup (all of them: timing and blood-pressure readings are read
    /// across the checkup), in order.
    public func grade(_ results: [GradingInput], sex: GradingSex) -> [GradeOutcome] {
        grade(results.map(value), timing: Self.timing(in: results), sex: sex)
    }

    /// The same for values already looked up; `timing`: the checkup's blood-draw timing.
    func grade(_ values: [Value], timing: Timing?, sex: GradingSex) -> [GradeOutcome] {
        var measured = values.map { measure($0, timing: timing) }
        combineBloodPressure(values, &measured)
        return measured.map { m in
            switch m {
            case .notGradable: return .notGraded
            case .problem(let note, let unknownUnit):
                var o = GradeOutcome()
                o.note = note
                o.unknownUnit = unknownUnit
                return o
            case .measured(let v): return judge(v, sex: sex).outcome
            }
        }
    }

    public func explain(_ results: [GradingInput], sex: GradingSex, timingOverride: Timing? = nil) -> [GradeExplanation] {
        let timing = timingOverride ?? Self.timing(in: results)
        let values = results.map(value)
        var measured = values.map { measure($0, timing: timing) }
        combineBloodPressure(values, &measured)
        return zip(results, measured).map { r, m in
            let item = items[r.itemCode] ?? CheckupItems.Item(code: r.itemCode, name: "", analyte: "", valueType: "", unit: "", note: "")
            switch m {
            case .notGradable:
                return GradeExplanation(item: item, outcome: .notGraded)
            case .problem(let note, let unknownUnit):
                var o = GradeOutcome()
                o.note = note
                o.unknownUnit = unknownUnit
                return GradeExplanation(item: item, outcome: o, notes: [note])
            case .measured(let v):
                let j = judge(v, sex: sex)
                return GradeExplanation(item: item, outcome: j.outcome, unit: v.unit, band: j.band, mhlwRow: j.row, notes: j.notes)
            }
        }
    }

    /// The blood-draw timing of a checkup: 9N141 = 1 (less than 10 hours after a meal) is random,
    /// 2 (10 hours or more) fasting; nil when the checkup does not say.
    static func timing(in results: [GradingInput]) -> Timing? {
        guard let t = results.first(where: { $0.itemCode == drawTimingItem && ($0.valueType == "CD" || $0.valueType == "CO") }) else { return nil }
        return timing(code: t.codedValue)
    }

    static func timing(code: String) -> Timing? {
        switch code {
        case "1": return .random
        case "2": return .fasting
        default: return nil
        }
    }

    func measure(_ r: Value, timing: Timing?) -> Measurement {
        guard !r.analyte.isEmpty else { return .notGradable }
        var notes: [String] = []

        // Fasting or random: decided by the checkup's draw timing, never by guessing.
        var analyte = r.analyte
        switch analyte {
        case "tg":
            switch timing {
            case .fasting?: analyte = "tg_fasting"
            case .random?: analyte = "tg_random"
            case nil:
                // The standard draws blood fasting (原則空腹時) and records a non-fasting draw in 9N141.
                analyte = "tg_fasting"
                notes.append("no blood-draw timing (9N141) in the checkup: graded as fasting, the standard's default")
            }
        case "glucose_fasting" where timing == .random:
            analyte = "glucose_random"
            notes.append("drawn less than 10 hours after a meal (9N141 = 1): graded as random glucose")
        default: break
        }

        var tables = self.tables[analyte]
        // The value: a decimal, a bound with H/L, or a urine level.
        var value: BandEdge
        var shown: String
        var unit = r.unit
        switch r.valueType {
        case "PQ":
            // Beyond a measurable bound the value is the bound, or may be missing altogether.
            let beyond = r.outOfRange == "H" || r.outOfRange == "L"
            let d = ExactDecimal(r.valueText)
            guard d != nil || (beyond && r.valueText.isEmpty) else {
                return .problem("not graded: the value '\(r.valueText)' is not a plain decimal", unknownUnit: false)
            }
            let bound = r.valueText.isEmpty ? "" : " " + r.valueText
            switch r.outOfRange {
            case "H":
                value = .positiveInfinity
                notes.append("above the measurable upper bound\(bound): graded as the table's highest values")
            case "L":
                value = .negativeInfinity
                notes.append("below the measurable lower bound\(bound): graded as the table's lowest values")
            default:
                value = .finite(d!)
            }
            shown = r.valueText
            if unit.isEmpty {
                return .problem("not graded: the result gives no unit", unknownUnit: true)
            }
        case "CO", "CD":
            guard tables?.target == Self.levelUnit else { return .notGradable }
            guard r.urineSystem, let level = Int(r.codedValue), (1...5).contains(level) else {
                return .problem("not graded: '\(r.codedValue)' is not a urine level 1–5 (code system \(Self.urineLevelSystem))", unknownUnit: false)
            }
            value = .finite(ExactDecimal(level))
            shown = String(level)
            unit = Self.levelUnit
        default:
            return .notGradable  // ST text, ranges, not measured, not done
        }

        // The unit: as the table gives it, or converted by the conversion table.
        if tables?.target != unit, let c = conversions.conversion(analyte: analyte, unit: unit) {
            let before = "\(shown) \(unit)"
            value = c.apply(value)
            if let d = ExactDecimal(shown) { shown = Self.show(c.apply(.finite(d))) }
            notes.append((c.note.isEmpty ? "" : c.note + ": ") + "\(before) → \(shown) \(c.toUnit) (\(c.formula))")
            analyte = c.toAnalyte
            unit = c.toUnit
            tables = self.tables[analyte]
        }
        guard let expected = tables?.target else {
            return .problem("not graded: \(bands.label) and \(thresholds.label) have nothing for \(analyte)", unknownUnit: false)
        }
        guard expected == unit else {
            return .problem("not graded: the unit '\(unit)' is not the table's '\(expected)' and no conversion for \(analyte) is known", unknownUnit: true)
        }
        // ">2000" for a value beyond the bound 2000; the bare side (H, L) when no bound was given.
        if value == .positiveInfinity { shown = shown.isEmpty ? "H" : ">" + shown } else if value == .negativeInfinity { shown = shown.isEmpty ? "L" : "<" + shown }
        return .measured(Measured(analyte: analyte, tables: tables, unit: unit, value: value, shown: shown, notes: notes))
    }

    static func show(_ v: BandEdge) -> String { v.description }

    /// Blood pressure is graded once per checkup: the "other" reading if present, else the mean of
    /// the 1st and 2nd; each reading carries that grade and says what it was taken from.
    func combineBloodPressure(_ values: [Value], _ measured: inout [Measurement]) {
        var byAnalyte: [String: [(index: Int, reading: String, m: Measured)]] = [:]
        for (i, m) in measured.enumerated() {
            guard case .measured(let v) = m, !values[i].reading.isEmpty else { continue }
            byAnalyte[v.analyte, default: []].append((i, values[i].reading, v))
        }
        for (_, readings) in byAnalyte where readings.count > 1 {
            let value: BandEdge, shown: String, note: String
            if let other = readings.first(where: { $0.reading == "other" }) {
                (value, shown) = (other.m.value, other.m.shown)
                note = "graded by the other reading (\(other.m.shown)), as the item table says"
            } else if let first = readings.first(where: { $0.reading == "first" }), let second = readings.first(where: { $0.reading == "second" }) {
                switch (first.m.value, second.m.value) {
                case (.finite(let a), .finite(let b)):
                    let mean = (a + b).half
                    (value, shown) = (.finite(mean), mean.description)
                default:
                    // A reading beyond a measurable bound decides the mean; one above and one below decide nothing.
                    let beyond = [first.m, second.m].filter { $0.value == .positiveInfinity || $0.value == .negativeInfinity }
                    guard Set(beyond.map(\.value)).count == 1 else { continue }
                    (value, shown) = (beyond[0].value, beyond[0].shown)
                }
                note = "graded by the mean of the 1st and 2nd readings (\(first.m.shown), \(second.m.shown))"
            } else {
                continue
            }
            for r in readings {
                var m = r.m
                m.value = value
                m.shown = shown
                m.notes.append(note)
                measured[r.index] = .measured(m)
            }
        }
    }

    func judge(_ v: Measured, sex: GradingSex) -> (outcome: GradeOutcome, band: GradeBand?, row: MHLWThresholds.Row?, notes: [String]) {
        var notes = v.notes
        var o = GradeOutcome()
        var band: GradeBand? = nil
        var row: MHLWThresholds.Row? = nil
        o.analyte = v.analyte
        o.gradedValue = v.shown
        let t = v.tables
        if t?.bands.isEmpty ?? true {
            notes.append("\(tableLabel) has no bands for \(v.analyte)")
        } else if let t, let (b, sexUnknownButSame) = GradeBands.band(in: t.bands, sexSpecific: t.sexSpecific, v.value, sex: sex) {
            o.grade = b.grade.rawValue
            o.table = tableLabel
            band = b
            if sexUnknownButSame { notes.append("sex unknown: both sexes' bands give \(b.grade.rawValue)") }
        } else if sex == .unknown && (t?.sexSpecific ?? false) {
            notes.append("not graded: the sex is unknown and the bands for men and women differ at this value")
        } else {
            notes.append("not graded: no band of \(tableLabel) covers \(v.shown) for \(v.analyte)")
        }
        if let (flag, r) = MHLWThresholds.flag(in: t?.rows, v.value, sex: sex) {
            o.mhlwFlag = flag.rawValue
            row = r
        } else {
            notes.append("no MHLW flag: the sex is unknown and the values for men and women disagree")
        }
        o.note = notes.isEmpty ? "" : notes.count == 1 ? notes[0] : notes.joined(separator: "; ")
        return (o, band, row, notes)
    }
}

/// The grading set a run uses: the grade-band table chosen by name, the MHLW values and the unit
/// conversions, all from one folder (`pipelines/grading/`).
public enum GradingReference {
    public static let defaultTable = "ningen-dock-2024"
    public static let defaultDirectory = "pipelines/grading"

    /// Loads the grader; `table` is a file name in `directory` without `.tsv`, or a path.
    public static func load(directory: String = defaultDirectory, table: String? = nil, items: CheckupItems) throws -> Grader {
        let name = table ?? defaultTable
        let path = name.contains("/") || name.hasSuffix(".tsv") ? name : directory + "/" + name + ".tsv"
        guard FileSystem.exists(path) else {
            let known = tables(in: directory)
            throw KenpoError.configuration(path: path, line: nil, message: "no grading table '\(name)'"
                + (known.isEmpty ? "" : "; the tables in \(directory) are: " + known.joined(separator: ", ")))
        }
        let bands = try GradeBands.load(path: path)
        let mhlw = try single(kind: "mhlw-thresholds", in: directory)
        let units = try single(kind: "unit-conversions", in: directory)
        return Grader(items: items, bands: bands, thresholds: try MHLWThresholds.load(path: mhlw),
                      conversions: try UnitConversions.load(path: units))
    }

    /// Names of the grade-band tables in a folder (what `--table` accepts).
    public static func tables(in directory: String) -> [String] {
        FileSystem.listDirectory(directory).filter { $0.hasSuffix(".tsv") && kind(of: directory + "/" + $0) == "grade-bands" }
            .map { String($0.dropLast(4)) }.sorted()
    }

    static func kind(of path: String) -> String? {
        // Every .tsv of the folder is looked at: a FIFO among them must not block (refused, not a table).
        guard let data = try? InputFile.readConfiguration(path, what: "grading table") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("@kind:") {
            return line.dropFirst(6).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }

    static func single(kind: String, in directory: String) throws -> String {
        let files = FileSystem.listDirectory(directory).filter { $0.hasSuffix(".tsv") }.sorted().filter { Self.kind(of: directory + "/" + $0) == kind }
        guard files.count == 1 else {
            throw KenpoError.configuration(path: directory, line: nil, message: files.isEmpty
                ? "the grading folder needs one table with '@kind: \(kind)'"
                : "the grading folder has \(files.count) tables with '@kind: \(kind)' (\(files.joined(separator: ", "))); keep one")
        }
        return directory + "/" + files[0]
    }

    public static func manifestEntries(_ g: Grader) -> [Manifest.ReferenceTable] {
        [g.bands.manifestEntry, g.thresholds.manifestEntry, g.conversions.manifestEntry]
    }
}

/// Grade counts per analyte, for the run report.
public struct GradeTally: Sendable {
    public var counts: [String: [String: Int]] = [:]
    public var unknownUnits = 0
    public var notGraded = 0

    public init() {}

    public mutating func add(_ o: GradeOutcome) {
        if o.unknownUnit { unknownUnits += 1 }
        if !o.grade.isEmpty { counts[o.analyte, default: [:]][o.grade, default: 0] += 1 } else if !o.note.isEmpty { notGraded += 1 }
    }

    public mutating func add(_ other: GradeTally) {
        for (a, g) in other.counts { for (k, n) in g { counts[a, default: [:]][k, default: 0] += n } }
        unknownUnits += other.unknownUnits
        notGraded += other.notGraded
    }

    /// Manifest summary keys: grade_<analyte>_<A…D>, grading_unknown_unit, grading_not_graded.
    public func write(into summary: inout [String: Int]) {
        for (a, g) in counts { for (k, n) in g { summary["grade_\(a)_\(k)"] = n } }
        if unknownUnits > 0 { summary["grading_unknown_unit"] = unknownUnits }
        if notGraded > 0 { summary["grading_not_graded"] = notGraded }
    }
}
