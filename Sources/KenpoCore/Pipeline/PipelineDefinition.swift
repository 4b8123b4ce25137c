import Foundation

/// A pipeline file (`pipelines/*.pipeline`, format in pipelines/README.md): which inputs feed which
/// stage, per insurer profile.
public struct PipelineDefinition {
    public var name: String
    public var path: String
    /// Exit status for a run that completed with rejected records: 3 (default) or 0 for pipelines
    /// whose inputs are known to carry rejected rows (the bundled samples do, on purpose).
    public var rejectsExitStatus: Int32
    /// Eligibility inputs in file order: profile name → roster paths (globs expanded, sorted).
    public var eligibility: [(profile: String, files: [String])]
    /// Health-record inputs in file order (files, folders, ZIPs), each with its source.
    public var imports: [ImportInput] = []
    /// The checkup item master (`[reference] checkup_items`).
    public var checkupItemsPath: String
    /// `[retention] days = N`: how many days (by run date) state generations and outbox runs are kept;
    /// nil: `Run.defaultRetentionDays`.
    public var retentionDays: Int?
    /// `[grading] directory` (default pipelines/grading) and `table` (default ningen-dock-2024): the
    /// grading set imports grade with. A newer edition is a new file there and one line here.
    public var gradingDirectory: String
    public var gradingTable: String = GradingReference.defaultTable
    /// `[eligibility] confirm_short_roster = PROFILE...`: profiles whose roster is applied even though it
    /// holds fewer than half the insurer's previous members (RosterSizeCheck); otherwise it is held back.
    public var confirmShortRoster: [String] = []
    /// The reserved key of [eligibility] that is not a profile name.
    public static let confirmShortRosterKey = "confirm_short_roster"
    /// `[delete] requests = FILES` and `[export] requests = FILES`: member deletion and export
    /// requests, carried out after the imports (deletions first, so an export never holds deleted data).
    public var deletionRequests: [String] = []
    public var exportRequests: [String] = []
    /// `[codes]`: insurer mailing lists per profile (one code batch, print file and proof sheet per
    /// profile), the code key (`key_file`, else KENPO_CODE_KEY_FILE) and the print file's encoding.
    public var mailingLists: [(profile: String, files: [String])] = []
    public var codeKeyFile: String?
    public var printEncoding: PostcardPrintFile.Encoding = .cp932
    /// `[reissue] requests = FILES`: support-desk reissue requests (one batch).
    public var reissueRequests: [String] = []
    /// `[archive]`: committed inputs move to `folder/<run date>/<run id>/…` after the commit (`move`,
    /// the default), or stay where they are (`keep`: the bundled samples). nil folder: `<data>/archive`.
    public enum ArchiveMode: String { case move, keep }
    public var archiveMode: ArchiveMode = .move
    public var archiveFolder: String?
    /// The deployment root the pipeline's relative paths are resolved against (the pipeline file's
    /// folder's parent); inputs are archived under their path relative to it.
    public var root: String = "."
    /// Patterns that matched no file tonight, with their section (an empty inbox is no error; the
    /// report lists them so a misspelt path does not go unnoticed).
    public var unmatched: [String] = []

    public static func load(path: String) throws -> PipelineDefinition {
        let bytes = try InputFile.readConfiguration(path, what: "pipeline", hint: "; check the path (pipelines live in pipelines/)")
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KenpoError.configuration(path: path, line: nil, message: "pipeline files must be UTF-8")
        }
        let ini = try IniFile.parse(text, path: path)
        for (name, section) in ini.sections where !["pipeline", "eligibility", "import", "reference", "retention", "grading", "delete", "export", "codes", "reissue", "archive"].contains(name) {
            throw KenpoError.configuration(path: path, line: section.line, message: "unknown section [\(name)]; this kenpo knows [pipeline], [eligibility], [import], [reference], [grading], [codes], [reissue], [delete], [export], [retention] and [archive]")
        }
        let name = ini.sections["pipeline"]?.values["name"]?.0 ?? (path as NSString).lastPathComponent
        var rejectsExit: Int32 = 3
        if let (v, line) = ini.sections["pipeline"]?.values["rejects_exit_status"] {
            guard v == "0" || v == "3" else { throw KenpoError.configuration(path: path, line: line, message: "rejects_exit_status must be 3 (default) or 0") }
            rejectsExit = Int32(v)!
        }
        let base = (path as NSString).deletingLastPathComponent
        let root = (base as NSString).deletingLastPathComponent  // paths are relative to the repository / deployment root
        // A pattern matching nothing is an empty inbox tonight, not an error (inputs move to the archive
        // once committed); it is listed in `unmatched` for the report.
        var unmatched: [String] = []
        func expand(_ value: String, line: Int) throws -> [String] {
            var files: [String] = []
            for pattern in value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) where !pattern.isEmpty {
                let full = pattern.hasPrefix("/") ? pattern : (root.isEmpty ? pattern : root + "/" + pattern)
                let matches = Glob.expand(full)
                if matches.isEmpty { unmatched.append("\(pattern) (\(path):\(line))") }
                files.append(contentsOf: matches)
            }
            return files
        }
        var elig: [(String, [String])] = []
        let section = ini.sections["eligibility"]
        // Every key of [eligibility] is a profile name, except the reserved confirm_short_roster.
        var confirmShort: (profiles: [String], line: Int)?
        for (profile, (value, line)) in (section?.values ?? [:]).sorted(by: { $0.value.1 < $1.value.1 }) {
            if profile == Self.confirmShortRosterKey {
                confirmShort = (value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init), line)
                continue
            }
            elig.append((profile, try expand(value, line: line)))
        }
        if let (profiles, line) = confirmShort {
            for name in profiles where !elig.contains(where: { $0.0 == name }) {
                throw KenpoError.configuration(path: path, line: line, message: "\(Self.confirmShortRosterKey) names '\(name)', which has no roster in [eligibility]; name the profile whose short roster you confirm")
            }
        }
        // [import]: source = paths; source is insurer, mynaportal, member_upload, or auto (decided by
        // each file's folder: import/<person-id>/ is a member upload, mynaportal/ a Mynaportal pull).
        var imports: [ImportInput] = []
        for (key, (value, line)) in (ini.sections["import"]?.values ?? [:]).sorted(by: { $0.value.1 < $1.value.1 }) {
            let source: RecordSource?
            if key == "auto" { source = nil } else if let s = RecordSource(rawValue: key) { source = s } else {
                throw KenpoError.configuration(path: path, line: line, message: "unknown import source '\(key)'; use insurer, mynaportal, member_upload or auto")
            }
            imports += try expand(value, line: line).map { ImportInput(path: $0, source: source) }
        }
        var items = (root.isEmpty ? "" : root + "/") + "pipelines/reference/checkup-items.tsv"
        if let (v, _) = ini.sections["reference"]?.values["checkup_items"] {
            items = v.hasPrefix("/") ? v : (root.isEmpty ? v : root + "/" + v)
        }
        var grading = (root.isEmpty ? "" : root + "/") + GradingReference.defaultDirectory
        var gradingTable = GradingReference.defaultTable
        for (key, (value, line)) in ini.sections["grading"]?.values ?? [:] {
            switch key {
            case "directory": grading = value.hasPrefix("/") ? value : (root.isEmpty ? value : root + "/" + value)
            case "table": gradingTable = value
            default: throw KenpoError.configuration(path: path, line: line, message: "unknown key '\(key)' in [grading]; use directory = FOLDER and table = NAME")
            }
        }
        var p = PipelineDefinition(name: name, path: path, rejectsExitStatus: rejectsExit, eligibility: elig, checkupItemsPath: items,
                                   gradingDirectory: grading)
        p.gradingTable = gradingTable
        p.confirmShortRoster = confirmShort?.profiles ?? []
        for section in ["delete", "export", "reissue"] {
            for (key, (value, line)) in ini.sections[section]?.values ?? [:] {
                guard key == "requests" else {
                    throw KenpoError.configuration(path: path, line: line, message: "unknown key '\(key)' in [\(section)]; the only key is requests = FILES")
                }
                // Request folders are often empty on a given night: a pattern matching nothing is no error.
                let files = value.split(whereSeparator: { $0 == " " || $0 == "," }).flatMap { pattern -> [String] in
                    let full = pattern.hasPrefix("/") ? String(pattern) : (root.isEmpty ? String(pattern) : root + "/" + pattern)
                    return Glob.expand(full)
                }
                switch section {
                case "delete": p.deletionRequests = files
                case "export": p.exportRequests = files
                default: p.reissueRequests = files
                }
            }
        }
        // [codes]: profile = mailing lists; key_file; print_encoding.
        for (key, (value, line)) in (ini.sections["codes"]?.values ?? [:]).sorted(by: { $0.value.1 < $1.value.1 }) {
            switch key {
            case "key_file": p.codeKeyFile = value.hasPrefix("/") ? value : (root.isEmpty ? value : root + "/" + value)
            case "print_encoding":
                switch value.lowercased() {
                case "cp932", "shift_jis", "sjis": p.printEncoding = .cp932
                case "utf-8", "utf8": p.printEncoding = .utf8
                default: throw KenpoError.configuration(path: path, line: line, message: "print_encoding must be cp932 (default) or utf-8")
                }
            default: p.mailingLists.append((key, try expand(value, line: line)))
            }
        }
        for (key, (value, line)) in ini.sections["archive"]?.values ?? [:] {
            switch key {
            case "mode":
                guard let m = ArchiveMode(rawValue: value) else {
                    throw KenpoError.configuration(path: path, line: line, message: "[archive] mode must be move (committed inputs move to the archive) or keep (they stay where they are)")
                }
                p.archiveMode = m
            case "folder": p.archiveFolder = value.hasPrefix("/") ? value : (root.isEmpty ? value : root + "/" + value)
            default: throw KenpoError.configuration(path: path, line: line, message: "unknown key '\(key)' in [archive]; use mode = move|keep and folder = DIR")
            }
        }
        p.root = root.isEmpty ? "." : root
        p.unmatched = unmatched
        p.imports = imports
        for (key, (value, line)) in ini.sections["retention"]?.values ?? [:] {
            guard key == "days" else {
                throw KenpoError.configuration(path: path, line: line, message: "unknown key '\(key)' in [retention]; the only key is days = N")
            }
            guard let n = Int(value), (0...3650).contains(n) else {
                throw KenpoError.configuration(path: path, line: line, message: "[retention] days must be a whole number of days from 0 to 3650, e.g. days = 30")
            }
            p.retentionDays = n
        }
        return p
    }

    /// Profiles are looked up beside the pipeline file, in `profiles/`.
    public var profileDirectory: String {
        let base = (path as NSString).deletingLastPathComponent
        return (base.isEmpty ? "." : base) + "/profiles"
    }
}

/// The pipeline's file patterns. glob(3) itself follows symbolic links: `inbox/*/roster.csv` would go
/// through a linked folder, and `inbox/*.csv` matches a link. A link that a wildcard reaches is kept
/// as the match in place of whatever lies behind it, so the step refuses it as an input (InputFile:
/// "a symbolic link") instead of reading its target. Folders named without a wildcard are the
/// operator's and may be links.
enum Glob {
    static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        let matches = (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
        // Components from the first one with a wildcard on were chosen by what is in the folder.
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard let firstWild = parts.firstIndex(where: { $0.contains(where: { "*?[".contains($0) }) }) else { return matches.sorted() }
        var seen = Set<String>()
        var result: [String] = []
        for match in matches {
            let m = match.split(separator: "/", omittingEmptySubsequences: false)
            var path = m.prefix(firstWild).joined(separator: "/")
            for i in m.indices where i >= firstWild {
                path = i == 0 ? String(m[0]) : path + "/" + m[i]
                if i < m.count - 1, InputFile.isSymbolicLink(path) { break }   // a linked folder: the link is the input
            }
            if seen.insert(path).inserted { result.append(path) }
        }
        return result.sorted()
    }
}
