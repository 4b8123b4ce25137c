import Foundation

/// A versioned reference table as kept under `pipelines/grading/`: `@key: value` lines naming the
/// table (name, edition, applies_from, source), `#` comments, then a tab-separated header and rows.
/// Every row keeps its line number, so a table that cannot be used is refused at the line at fault.
struct ReferenceTableFile {
    struct Row {
        var line: Int
        var fields: [String]
        subscript(_ i: Int) -> String { i < fields.count ? fields[i] : "" }
    }

    let path: String
    let sha256: String
    var metadata: [String: String] = [:]
    var rows: [Row] = []

    /// Reads the file; the header must begin with `columns` (extra trailing columns are allowed).
    /// Required metadata keys must be present.
    init(path: String, kind: String, columns: [String], required: [String] = ["name", "edition", "applies_from", "source"]) throws {
        let bytes = try InputFile.readConfiguration(path, what: "reference table", hint: "; check the path (tables live in pipelines/grading/)")
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KenpoError.configuration(path: path, line: nil, message: "the table is not UTF-8 text")
        }
        let digest = SHA256Digest()
        digest.update(bytes)
        self.path = path
        self.sha256 = digest.finalizeHex()
        var sawHeader = false
        var metadataLines: [String: Int] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = i + 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            if line.hasPrefix("@") {
                guard !sawHeader, let colon = line.firstIndex(of: ":") else {
                    throw KenpoError.configuration(path: path, line: lineNumber, message: sawHeader
                        ? "@key: value lines belong before the column header"
                        : "expected '@key: value' (e.g. '@edition: 2024')")
                }
                let key = String(line[line.index(after: line.startIndex)..<colon]).trimmingCharacters(in: .whitespaces)
                let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty, !value.isEmpty else {
                    throw KenpoError.configuration(path: path, line: lineNumber, message: "expected '@key: value' with a non-empty key and value")
                }
                guard metadataLines[key] == nil else {
                    throw KenpoError.configuration(path: path, line: lineNumber, message: "@\(key) is given twice (first on line \(metadataLines[key]!))")
                }
                metadataLines[key] = lineNumber
                metadata[key] = value
                continue
            }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if !sawHeader {
                guard fields.count >= columns.count, Array(fields.prefix(columns.count)) == columns else {
                    throw KenpoError.configuration(path: path, line: lineNumber, message: "the column header must be \(columns.joined(separator: ", ")) (tab-separated)")
                }
                sawHeader = true
                continue
            }
            rows.append(Row(line: lineNumber, fields: fields))
        }
        guard sawHeader else {
            throw KenpoError.configuration(path: path, line: nil, message: "the table has no column header (\(columns.joined(separator: ", ")))")
        }
        guard metadata["kind"] == kind else {
            throw KenpoError.configuration(path: path, line: metadataLines["kind"], message: metadata["kind"].map { "this is a \($0) table; a \(kind) table is needed here" }
                ?? "the table must say what it is before the header: '@kind: \(kind)'")
        }
        for key in required where metadata[key] == nil {
            throw KenpoError.configuration(path: path, line: nil, message: "the table must name its @\(key) before the header (e.g. '@\(key): …')")
        }
        if let from = metadata["applies_from"], JapaneseDate.parse(from, styles: [.iso]).isFailure {
            throw KenpoError.configuration(path: path, line: metadataLines["applies_from"], message: "@applies_from must be a date like 2024-04-01")
        }
    }

    func fail(_ row: Row, _ message: String) -> KenpoError {
        KenpoError.configuration(path: path, line: row.line, message: message)
    }

    var name: String { metadata["name"] ?? "" }
    var edition: String { metadata["edition"] ?? "" }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
}

/// Sex as the grading tables distinguish it: M, F, or unknown (the master's U or blank).
public enum GradingSex: String, Sendable {
    case male = "M", female = "F", unknown = "U"
    public init(master value: String) { self = GradingSex(rawValue: value) ?? .unknown }
}
