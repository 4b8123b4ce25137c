import Foundation

/// The checkup item master (特定健診項目コード表): item code → name, analyte (the grading key, blank
/// for items recorded but not graded), value type and the master's unit spelling. Loaded from
/// `pipelines/reference/checkup-items.tsv`, a versioned copy of ../shared/reference's table.
public struct CheckupItems: Sendable {
    public struct Item: Equatable, Sendable {
        public var code: String
        public var name: String
        public var analyte: String
        public var valueType: String
        public var unit: String
        public var note: String
        /// Which blood-pressure reading the item is (`first`, `second`, `other`; empty for others):
        /// kenpo's added column, so the reading rule in the note can be applied.
        public var reading: String = ""
    }

    public private(set) var items: [String: Item] = [:]
    public let path: String
    public let sha256: String

    public subscript(code: String) -> Item? { items[code] }

    /// Reads the table; a malformed line is refused with its line number.
    public static func load(path: String) throws -> CheckupItems {
        let bytes = try InputFile.readConfiguration(path, what: "checkup item table")
        let digest = SHA256Digest()
        digest.update(bytes)
        var table = CheckupItems(path: path, sha256: digest.finalizeHex())
        var sawHeader = false
        for (i, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty || line.hasPrefix("#") { continue }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if !sawHeader {
                guard f.count >= 5, f[0] == "code", f[1] == "name_ja", f[2] == "analyte", f[3] == "value_type", f[4] == "unit" else {
                    throw KenpoError.configuration(path: path, line: i + 1, message: "the header must be code, name_ja, analyte, value_type, unit[, note[, reading]] (tab-separated)")
                }
                sawHeader = true
                continue
            }
            guard f.count >= 4, f[0].utf8.count == 17, ["PQ", "CD", "CO", "ST"].contains(f[3]) else {
                throw KenpoError.configuration(path: path, line: i + 1, message: "expected a 17-character item code, a name, an analyte, a value type (PQ, CD, CO, ST) and a unit (may be empty), tab-separated")
            }
            guard table.items[f[0]] == nil else {
                throw KenpoError.configuration(path: path, line: i + 1, message: "item \(f[0]) is listed twice")
            }
            let reading = f.count > 6 ? f[6] : ""
            guard ["", "first", "second", "other"].contains(reading) else {
                throw KenpoError.configuration(path: path, line: i + 1, message: "reading must be first, second, other or empty, not '\(reading)'")
            }
            table.items[f[0]] = Item(code: f[0], name: f[1], analyte: f[2], valueType: f[3],
                                     unit: UnitSpelling.normalise(f.count > 4 ? f[4] : ""), note: f.count > 5 ? f[5] : "", reading: reading)
        }
        guard sawHeader, !table.items.isEmpty else {
            throw KenpoError.configuration(path: path, line: nil, message: "the checkup item table has no items")
        }
        return table
    }

    private init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }

    /// The manifest entry for this table.
    public var manifestEntry: Manifest.ReferenceTable {
        Manifest.ReferenceTable(name: "checkup-items", version: "MHLW hc08 V08 item master", path: path, sha256: sha256)
    }
}
