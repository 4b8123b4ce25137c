import Foundation

/// A field of an eligibility roster (資格データ) that a profile maps to a column.
public enum RosterField: String, CaseIterable, Sendable {
    case insurerNumber = "insurer_number"      // 保険者番号
    case symbol = "symbol"                     // 記号
    case number = "number"                     // 番号
    case branch = "branch"                     // 枝番
    case kanaName = "kana_name"                // カナ氏名
    case kanjiName = "kanji_name"              // 氏名
    case birthDate = "birth_date"              // 生年月日
    case sex = "sex"                           // 性別
    case relationship = "relationship"         // 本人・家族区分 (被保険者 / 被扶養者 / 特例退職…)
    case qualifiedDate = "qualified_date"      // 資格取得日
    case disqualifiedDate = "disqualified_date" // 資格喪失日
    case memberRef = "member_ref"              // the insurer's own member reference (個人管理番号)
    case postalCode = "postal_code"            // 郵便番号
    case address = "address"                   // 住所 (first line)
    case address2 = "address2"                 // 住所 (second line: building, room)
    case formerInsurerNumber = "former_insurer_number" // 特例退職: the card before retirement
    case formerSymbol = "former_symbol"
    case formerNumber = "former_number"

    /// Position in `allCases`, for array-indexed per-row storage (hashing the raw string per field
    /// and row showed up in profiles).
    @inline(__always)
    public var ordinal: Int {
        switch self {
        case .insurerNumber: return 0
        case .symbol: return 1
        case .number: return 2
        case .branch: return 3
        case .kanaName: return 4
        case .kanjiName: return 5
        case .birthDate: return 6
        case .sex: return 7
        case .relationship: return 8
        case .qualifiedDate: return 9
        case .disqualifiedDate: return 10
        case .memberRef: return 11
        case .postalCode: return 12
        case .address: return 13
        case .address2: return 14
        case .formerInsurerNumber: return 15
        case .formerSymbol: return 16
        case .formerNumber: return 17
        }
    }

    /// Fields a roster must map; the rest are optional.
    public static let required: [RosterField] = [.insurerNumber, .symbol, .number, .kanaName, .birthDate]
}

/// Text encodings kenpo reads rosters in.
public enum RosterEncoding: String, Sendable {
    case cp932 = "CP932"
    case utf8 = "UTF-8"
}

/// How one insurer's files are read: encoding, column mapping, date style, code values.
/// Parsed from a human-editable `.profile` file under `pipelines/profiles/` (format in pipelines/README.md).
public struct InsurerProfile: Sendable {
    public var name: String
    public var displayName: String
    /// Every row must carry this insurer number (a roster handed to the wrong profile is refused row by
    /// row). Required in a profile file (`parse` refuses one without it): a roster is the full list of
    /// one insurer's members, and without the number its rows could change, and its absence end, the
    /// members of any insurer. Optional only in the type, for callers that build a profile in code.
    public var insurerNumber: String?
    public var encoding: RosterEncoding
    public var hasHeader: Bool
    public var dateStyles: [DateStyle]
    /// field → header name (hasHeader) or 1-based column number (no header).
    public var columns: [RosterField: String]
    /// Extra spellings of sex and relationship codes this insurer uses: raw value → canonical.
    public var sexValues: [String: String]
    public var relationshipValues: [String: String]
    /// Line endings of files the generator writes for this profile ("CRLF" or "LF"); reading accepts both.
    public var lineEnding: String
    /// Whether the generator writes half-width kana for this profile (legacy systems).
    public var halfWidthKana: Bool
    /// Path and SHA-256 of the profile file, recorded in manifests.
    public var path: String
    public var sha256: String

    /// The highest column number a header-less profile may map.
    public static let maxColumnNumber = 10_000

    public static func load(path: String) throws -> InsurerProfile {
        let bytes = try InputFile.readConfiguration(path, what: "profile", hint: "; check the path (profiles live in pipelines/profiles/)")
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KenpoError.configuration(path: path, line: nil, message: "profile files must be UTF-8")
        }
        return try parse(text, path: path, sha256: SHA256Digest.hex(of: bytes))
    }

    /// Finds a profile by name in `pipelines/profiles/NAME.profile`, or takes a path as is.
    public static func resolve(_ nameOrPath: String, searchDirectory: String = "pipelines/profiles") throws -> InsurerProfile {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".profile") { return try load(path: nameOrPath) }
        let candidate = "\(searchDirectory)/\(nameOrPath).profile"
        guard FileManager.default.fileExists(atPath: candidate) else {
            throw KenpoError.usage("unknown profile '\(nameOrPath)': no file \(candidate); name a file under \(searchDirectory)/ or give its path")
        }
        return try load(path: candidate)
    }

    public static func parse(_ text: String, path: String, sha256: String = "") throws -> InsurerProfile {
        let ini = try IniFile.parse(text, path: path)
        func value(_ section: String, _ key: String) -> (String, Int)? { ini.sections[section]?.values[key] }
        func fail(_ line: Int?, _ m: String) -> KenpoError { .configuration(path: path, line: line, message: m) }

        let known: Set<String> = ["insurer", "file", "columns", "values.sex", "values.relationship"]
        for (name, section) in ini.sections where !known.contains(name) {
            throw fail(section.line, "unknown section [\(name)]; expected one of \(known.sorted().joined(separator: ", "))")
        }
        guard let (name, _) = value("insurer", "name"), !name.isEmpty else {
            throw fail(nil, "missing 'name' in [insurer]")
        }
        var insurerNumber: String?
        if let (n, line) = value("insurer", "insurer_number") {
            let folded = Normalise.foldWidth(n)
            guard InsurerNumber.isValid(folded) else {
                throw fail(line, "insurer_number '\(n)' is not an 8-digit insurer number with a valid check digit")
            }
            insurerNumber = folded
        }
        var encoding = RosterEncoding.utf8
        if let (e, line) = value("file", "encoding") {
            switch e.uppercased().replacingOccurrences(of: "_", with: "-") {
            case "CP932", "SHIFT-JIS", "SJIS", "WINDOWS-31J", "MS932": encoding = .cp932
            case "UTF-8", "UTF8": encoding = .utf8
            default: throw fail(line, "encoding '\(e)' is not supported; use CP932 or UTF-8")
            }
        }
        var hasHeader = true
        if let (h, line) = value("file", "header") {
            guard let b = parseBool(h) else { throw fail(line, "header must be yes or no") }
            hasHeader = b
        }
        var dateStyles = DateStyle.allCases
        if let (d, line) = value("file", "date_style") {
            var set: [DateStyle] = []
            for part in d.split(separator: ",") {
                let p = part.trimmingCharacters(in: .whitespaces)
                if p.isEmpty { continue }   // "date_style = , ,": no style named (below), not an unknown one
                if p == "auto" { set.append(contentsOf: DateStyle.allCases.filter { !set.contains($0) }); continue }
                guard let s = DateStyle(rawValue: p) else {
                    throw fail(line, "date_style '\(p)' is unknown; use auto or one or more of \(DateStyle.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !set.contains(s) { set.append(s) }
            }
            // No style at all would reject every dated row as DATE_INVALID.
            guard !set.isEmpty else { throw fail(line, "date_style names no style; use auto or one or more of \(DateStyle.allCases.map(\.rawValue).joined(separator: ", "))") }
            dateStyles = set
        }
        var lineEnding = "CRLF"
        if let (l, line) = value("file", "line_ending") {
            guard ["CRLF", "LF"].contains(l.uppercased()) else { throw fail(line, "line_ending must be CRLF or LF") }
            lineEnding = l.uppercased()
        }
        var halfWidth = false
        if let (h, line) = value("file", "half_width_kana") {
            guard let b = parseBool(h) else { throw fail(line, "half_width_kana must be yes or no") }
            halfWidth = b
        }
        var columns: [RosterField: String] = [:]
        for (key, (v, line)) in ini.sections["columns"]?.values ?? [:] {
            guard let field = RosterField(rawValue: key) else {
                throw fail(line, "unknown field '\(key)' in [columns]; known fields: \(RosterField.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            // A column number sets the width of every row (the reader names each column up to it).
            if !hasHeader, Int(v) == nil || Int(v)! < 1 || Int(v)! > Self.maxColumnNumber {
                throw fail(line, "header = no, so '\(key)' must be a column number from 1 (the first column) to \(Self.maxColumnNumber)")
            }
            columns[field] = v
        }
        for f in RosterField.required where columns[f] == nil {
            throw fail(ini.sections["columns"]?.line, "[columns] must map '\(f.rawValue)'")
        }
        // Checked after the format: a profile with several faults names the one in its layout first.
        guard insurerNumber != nil else {
            throw fail(ini.sections["insurer"]?.line, "[insurer] has no insurer_number: add 'insurer_number = NNNNNNNN' (the insurer's 8-digit number, "
                       + "as on its members' cards). Rosters and mailing lists are held to that one insurer; without it a row with another "
                       + "insurer's card could change, and the roster's end mark as left, that insurer's members")
        }
        var sexValues: [String: String] = [:]
        for (k, (v, line)) in ini.sections["values.sex"]?.values ?? [:] {
            guard ["M", "F", "U"].contains(v) else { throw fail(line, "sex values map to M, F or U") }
            sexValues[Normalise.foldWidth(k)] = v
        }
        var relValues: [String: String] = [:]
        for (k, (v, line)) in ini.sections["values.relationship"]?.values ?? [:] {
            guard Relationship.canonical.contains(v) else {
                throw fail(line, "relationship values map to one of \(Relationship.canonical.joined(separator: ", "))")
            }
            relValues[Normalise.foldWidth(k)] = v
        }
        return InsurerProfile(
            name: name, displayName: value("insurer", "display_name")?.0 ?? name,
            insurerNumber: insurerNumber, encoding: encoding, hasHeader: hasHeader,
            dateStyles: dateStyles, columns: columns, sexValues: sexValues,
            relationshipValues: relValues, lineEnding: lineEnding, halfWidthKana: halfWidth,
            path: path, sha256: sha256)
    }

    static func parseBool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "yes", "true", "1", "on": return true
        case "no", "false", "0", "off": return false
        default: return nil
        }
    }
}

/// A minimal INI reader: `[section]`, `key = value`, `#` comments (whole line or after a space).
/// Keeps line numbers so configuration errors can name the line at fault.
public struct IniFile {
    public struct Section { public var line: Int; public var values: [String: (String, Int)] }
    public var sections: [String: Section] = [:]

    public static func parse(_ text: String, path: String) throws -> IniFile {
        var ini = IniFile()
        var current: String?
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            if let hash = line.range(of: " #") { line = String(line[..<hash.lowerBound]) }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw KenpoError.configuration(path: path, line: lineNo, message: "section header must look like [name]")
                }
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if ini.sections[name] != nil {
                    throw KenpoError.configuration(path: path, line: lineNo, message: "section [\(name)] appears twice")
                }
                ini.sections[name] = Section(line: lineNo, values: [:])
                current = name
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw KenpoError.configuration(path: path, line: lineNo, message: "expected 'key = value'")
            }
            guard let section = current else {
                throw KenpoError.configuration(path: path, line: lineNo, message: "'key = value' before any [section]")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            // An empty key would name nothing: a profile called "", a code value "".
            guard !key.isEmpty else {
                throw KenpoError.configuration(path: path, line: lineNo, message: "expected 'key = value', but nothing stands before the '='")
            }
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if ini.sections[section]!.values[key] != nil {
                throw KenpoError.configuration(path: path, line: lineNo, message: "'\(key)' is set twice in [\(section)]")
            }
            ini.sections[section]!.values[key] = (value, lineNo)
        }
        return ini
    }
}
