import Foundation

/// `export.json`, the first entry of every member export ZIP: what the ZIP holds, so that a person
/// or a program can tell each file's format without opening it (every XML file also names its own
/// format: the CDA namespace and templateId `hc08_V08`, or the kenpo namespace with 形式 and 版).
///
///     {
///       "format": "kenpo-export", "version": 1,
///       "person_id": "1d18ed023e17ccd0", "export_date": "2026-11-21",
///       "kenpo_version": "0.1.0", "state_generation": "g000003",
///       "counts": {"checkups": 1, "checkup_results": 20, "cost_notices": 2, "dispensings": 1, "prescription_drugs": 1},
///       "files": [
///         {"path": "checkups/8746775f9aaa2181.xml", "kind": "checkup", "format": "MHLW hc08 (HL7 CDA R2)",
///          "version": "V08", "namespace": "urn:hl7-org:v3", "records": 1, "bytes": 9650, "sha256": "…"}, …
///       ],
///       "reimport": "…"
///     }
///
/// The import recognises this entry by its content (a JSON object whose format is `kenpo-export`)
/// and skips it: it is not a health document.
public struct ExportManifest: Codable, Equatable, Sendable {
    public static let entryName = "export.json"
    public static let formatName = "kenpo-export"
    public static let formatVersion = 1
    /// The import looks no further than this into an entry named export.json.
    static let maxBytes = 1 << 20

    public enum FileKind: String, Codable, Sendable {
        case checkup
        case costNotice = "cost_notice"
        case prescription

        public var format: String {
            switch self {
            case .checkup: return "MHLW hc08 (HL7 CDA R2)"
            case .costNotice: return "kenpo-cost-notice"
            case .prescription: return "kenpo-prescription"
            }
        }
        public var version: String {
            switch self {
            case .checkup: return "V08"
            case .costNotice, .prescription: return "1"
            }
        }
        public var namespace: String {
            switch self {
            case .checkup: return "urn:hl7-org:v3"
            case .costNotice: return CostNoticeFormat.ns
            case .prescription: return PrescriptionFormat.ns
            }
        }
    }

    public struct File: Codable, Equatable, Sendable {
        public var path: String
        public var kind: FileKind
        public var format: String
        public var version: String
        public var namespace: String
        /// Records in the file: 1 for a checkup, notices or dispensings for the others.
        public var records: Int
        public var bytes: Int
        public var sha256: String

        init(path: String, kind: FileKind, records: Int, bytes: Int, sha256: String) {
            self.path = path; self.kind = kind; format = kind.format; version = kind.version; namespace = kind.namespace
            self.records = records; self.bytes = bytes; self.sha256 = sha256
        }
    }

    public var format = ExportManifest.formatName
    public var version = ExportManifest.formatVersion
    public var personID: String
    public var exportDate: String
    public var kenpoVersion: String
    public var stateGeneration: String?
    public var counts: ExportCounts
    public var files: [File]
    public var reimport = "Importing this ZIP (or its XML files) again for the same member changes no record. "
        + "As a member upload (inbox import/<person_id>/) it adds member_upload to the records' sources."

    enum CodingKeys: String, CodingKey {
        case format, version, personID = "person_id", exportDate = "export_date", kenpoVersion = "kenpo_version"
        case stateGeneration = "state_generation", counts, files, reimport
    }

    /// Pretty-printed, keys sorted: the same export gives the same bytes.
    func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try e.encode(self)) + [0x0A]
    }

    /// The person id of a kenpo export manifest, nil when `bytes` is not one (the import then
    /// treats the entry as any other).
    public static func recognise(_ bytes: [UInt8]) -> String? {
        guard bytes.count <= maxBytes,
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              object["format"] as? String == formatName else { return nil }
        return object["person_id"] as? String ?? ""
    }
}
