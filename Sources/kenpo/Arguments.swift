import KenpoCore

/// A small, strict command-line reader: `--name value` options, repeatable ones, flags, and
/// positional arguments, with usage errors that say what was wrong.
struct Arguments {
    private(set) var positional: [String] = []
    private(set) var options: [(name: String, value: String)] = []
    private(set) var flags: Set<String> = []

    init(_ args: ArraySlice<String>, valueOptions: Set<String>, flagOptions: Set<String> = []) throws {
        var it = args.makeIterator()
        while let a = it.next() {
            if a.hasPrefix("--") {
                var name = String(a.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if flagOptions.contains(name) { flags.insert(name); continue }
                guard valueOptions.contains(name) else {
                    throw KenpoError.usage("unknown option --\(name); see 'kenpo help'")
                }
                guard let v = inline ?? it.next() else { throw KenpoError.usage("--\(name) needs a value") }
                options.append((name, v))
                positional.append("\u{0}--\(name)")  // keeps the order of --profile among files
            } else {
                positional.append(a)
            }
        }
    }

    var files: [String] { positional.filter { !$0.hasPrefix("\u{0}") } }

    func value(_ name: String) -> String? { options.last { $0.name == name }?.value }

    func values(_ name: String) -> [String] { options.filter { $0.name == name }.map(\.value) }

    func required(_ name: String, _ hint: String) throws -> String {
        guard let v = value(name) else { throw KenpoError.usage("--\(name) is required: \(hint)") }
        return v
    }

    /// Files grouped under the `--profile` that precedes them.
    func filesByProfile() throws -> [(profile: String, files: [String])] {
        var groups: [(String, [String])] = []
        var profileIndex = 0
        let profiles = values("profile")
        for p in positional {
            if p == "\u{0}--profile" {
                groups.append((profiles[profileIndex], []))
                profileIndex += 1
            } else if !p.hasPrefix("\u{0}") {
                guard !groups.isEmpty else { throw KenpoError.usage("'\(p)': name the insurer profile before its files: --profile NAME FILE...") }
                groups[groups.count - 1].1.append(p)
            }
        }
        for g in groups where g.1.isEmpty { throw KenpoError.usage("--profile \(g.0) is followed by no roster file") }
        return groups
    }

    func runDate() throws -> CalendarDate {
        guard let v = value("date") else { return CalendarDate.todayInJapan() }
        guard let d = CalendarDate(iso: v) else { throw KenpoError.usage("--date '\(v)' must be a date like 2026-11-21") }
        return d
    }
}
