import Foundation

/// What one run hands back to each insurer it touched (返戻): `insurers/<profile>/rejects.csv` and
/// `insurers/<profile>/summary.csv` in the run's outbox, in the insurer's own encoding (the profile's:
/// CP932, or UTF-8 with a BOM).
///
/// The stages that know the profile behind each input (eligibility, codes) feed it as they read:
/// `source` when they open an insurer's file, `reject` for every rejected row (with the row's fields
/// as raw bytes), `add` for the counts. `write` puts the files into the run's staging folder, so
/// they are published with the run in its one rename. An insurer nothing touched gets no folder.
///
/// rejects.csv: ファイル名, 行番号, 理由コード, 理由, 詳細, then the row's own fields exactly as the
/// insurer sent them (its bytes, re-quoted as RFC 4180 needs), under the insurer's own header. When the
/// insurer's files in one run have different headers (a roster and a mailing list in one run), the
/// row's fields are headed 元の列1, 元の列2 … instead. Every cell a spreadsheet would run as a formula
/// gets a leading `'` (SpreadsheetSafe, as in the print file) — the only byte ever added to a row.
/// Rejected rows are spooled to the run's scratch folder, so memory does not grow with them.
///
/// summary.csv: 項目, キー, 値 — run, insurer, and the counts of `Count` (never a code or its hash).
public final class InsurerHandBack {
    /// The counts of summary.csv, in its order. The raw value is the stable key.
    public enum Count: String, CaseIterable, Sendable {
        case rosterRowsRead = "roster_rows_read"
        case rosterRowsAccepted = "roster_rows_accepted"
        case rosterRowsRejected = "roster_rows_rejected"
        case membersJoined = "members_joined"
        case membersChanged = "members_changed"
        case membersLeft = "members_left"
        case mailingRowsRead = "mailing_rows_read"
        case mailingRowsAccepted = "mailing_rows_accepted"
        case mailingRowsRejected = "mailing_rows_rejected"
        case codesIssued = "codes_issued"
        case postcards = "postcards"
        case reissues = "reissues"

        public var japaneseLabel: String {
            switch self {
            case .rosterRowsRead: return "資格名簿の読込件数"
            case .rosterRowsAccepted: return "資格名簿の受付件数"
            case .rosterRowsRejected: return "資格名簿の返戻件数"
            case .membersJoined: return "新たに加わった加入者数"
            case .membersChanged: return "内容が変わった加入者数"
            case .membersLeft: return "名簿に記載がなくなった加入者数"
            case .mailingRowsRead: return "送付対象者リストの読込件数"
            case .mailingRowsAccepted: return "送付対象者リストの受付件数"
            case .mailingRowsRejected: return "送付対象者リストの返戻件数"
            case .codesIssued: return "発行した健診閲覧コードの数"
            case .postcards: return "作成したはがきの枚数"
            case .reissues: return "再発行したはがきの枚数"
            }
        }

        var ordinal: Int { Self.allCases.firstIndex(of: self)! }
    }

    /// The fixed leading columns of rejects.csv.
    public static let rejectColumns = ["ファイル名", "行番号", "理由コード", "理由", "詳細"]
    public static let summaryHeader = ["項目", "キー", "値"]

    private final class Insurer {
        let profile: InsurerProfile
        var counts = [Int](repeating: 0, count: Count.allCases.count)
        /// Distinct headers (raw bytes) of the insurer's files this run read.
        var headers: [[[UInt8]]] = []
        var spool: CSVWriter?
        var rejected = 0
        var widestRow = 0
        init(profile: InsurerProfile) { self.profile = profile }
    }

    private let run: Run
    private var insurers: [String: Insurer] = [:]
    private let encoder = CP932Encoder()
    private let decoder = CP932Decoder()
    private var row: [UInt8] = []
    public private(set) var written = false

    public init(run: Run) { self.run = run }

    /// Profiles touched so far, by name.
    public var profileNames: [String] { insurers.keys.sorted() }

    private func insurer(_ profile: InsurerProfile) -> Insurer {
        if let i = insurers[profile.name] { return i }
        let i = Insurer(profile: profile)
        insurers[profile.name] = i
        return i
    }

    /// Marks the insurer as touched by this run (it gets its folder even with nothing rejected).
    public func touch(_ profile: InsurerProfile) { _ = insurer(profile) }

    /// An insurer's file is being read; `header` is its header row as raw bytes (empty: none).
    public func source(_ profile: InsurerProfile, header: [[UInt8]]) {
        let i = insurer(profile)
        if !header.isEmpty && !i.headers.contains(header) { i.headers.append(header) }
    }

    /// Adds `n` to one count of the insurer's summary.
    public func add(_ count: Count, _ n: Int = 1, for profile: InsurerProfile) {
        insurer(profile).counts[count.ordinal] += n
    }

    /// The current value of one count (tests, logs).
    public func value(_ count: Count, profile name: String) -> Int {
        insurers[name]?.counts[count.ordinal] ?? 0
    }

    /// Rejected rows handed back to the insurer so far.
    public func rejectedRows(profile name: String) -> Int { insurers[name]?.rejected ?? 0 }

    /// One rejected row. `file` is the path the run read (the insurer sees its last component);
    /// `field` names the field at fault, if one (the reason text then names it); `detail` is Japanese;
    /// `raw` the row's fields exactly as they were in the file.
    public func reject(_ profile: InsurerProfile, file: String, line: Int, reason: RejectReason,
                       field: RosterField? = nil, detail: String, raw: [[UInt8]]) throws {
        let i = insurer(profile)
        if i.spool == nil {
            // In the staging folder, not scratch: a run checkpoint keeps it (removed by `write`).
            try FileSystem.makeDirectory(spoolDirectory)
            i.spool = try CSVWriter(path: spoolDirectory + "/\(i.profile.name).rows")
        }
        row.removeAll(keepingCapacity: true)
        let encoding = profile.encoding
        for (n, cell) in [(file as NSString).lastPathComponent, String(line), reason.rawValue,
                          reason.japaneseMessage(field: field), detail].enumerated() {
            if n > 0 { row.append(0x2C) }
            appendText(cell, encoding: encoding, to: &row)
        }
        for r in raw {
            row.append(0x2C)
            appendRaw(r, encoding: encoding, to: &row)
        }
        row.append(0x0D); row.append(0x0A)
        row.withUnsafeBytes { i.spool!.rawRow($0) }
        i.rejected += 1
        i.widestRow = max(i.widestRow, raw.count)
    }

    /// A text cell: control characters escaped, neutralised, encoded in the insurer's encoding, quoted as needed.
    private func appendText(_ text: String, encoding: RosterEncoding, to out: inout [UInt8]) {
        let safe = SpreadsheetSafe.textCell(text)
        switch encoding {
        case .cp932:
            let bytes = encoder.encode(safe).bytes
            bytes.withUnsafeBytes { CSVWriter.appendQuoted($0, to: &out) }
        case .utf8:
            var s = safe
            s.withUTF8 { CSVWriter.appendQuoted(UnsafeRawBufferPointer($0), to: &out) }
        }
    }

    /// A cell as the insurer sent it: its bytes, with a leading `'` if a spreadsheet would run it.
    private func appendRaw(_ bytes: [UInt8], encoding: RosterEncoding, to out: inout [UInt8]) {
        if Self.startsLikeFormula(bytes, encoding: encoding, decoder: decoder) {
            let safe = [UInt8(ascii: "'")] + bytes
            safe.withUnsafeBytes { CSVWriter.appendQuoted($0, to: &out) }
        } else {
            bytes.withUnsafeBytes { CSVWriter.appendQuoted($0, to: &out) }
        }
    }

    /// Whether raw cell bytes in `encoding` start like a spreadsheet formula (SpreadsheetSafe's rule).
    /// Bytes that do not decode are judged by the part before the first bad byte (which cannot be a
    /// plain number, so only its first character counts).
    static func startsLikeFormula(_ bytes: [UInt8], encoding: RosterEncoding, decoder: CP932Decoder) -> Bool {
        guard let first = bytes.first else { return false }
        // Every formula start is ASCII (= + - @ tab CR) or a full-width sign, which starts 0x81 in
        // CP932 and 0xEF in UTF-8: anything else is decided without decoding.
        guard first < 0x80 || first == 0x81 || first == 0xEF else { return false }
        switch encoding {
        case .utf8:
            if let s = String(validating: bytes, as: UTF8.self) { return SpreadsheetSafe.needsNeutralising(s) }
            let prefix = String(decoding: bytes.prefix(3), as: UTF8.self)
            return SpreadsheetSafe.needsNeutralising(String(prefix.prefix(1)) + "x")
        case .cp932:
            switch decoder.decode(bytes) {
            case .success(let s): return SpreadsheetSafe.needsNeutralising(s)
            case .failure(let f):
                guard f.byteOffset > 0, case .success(let p) = decoder.decode(Array(bytes[0..<f.byteOffset])) else { return false }
                return SpreadsheetSafe.needsNeutralising(String(p.prefix(1)) + "x")
            }
        }
    }

    private var spoolDirectory: String { run.staging + "/.handback" }

    /// What the collector held at a run checkpoint: counts, headers and each spool's size.
    public struct Checkpoint: Codable, Equatable {
        public struct Entry: Codable, Equatable {
            public var profile: String
            public var profilePath: String
            public var counts: [Int]
            /// Header cells, base64 (raw bytes in the insurer's encoding).
            public var headers: [[String]]
            public var rejected: Int
            public var widestRow: Int
            public var spoolBytes: Int?
        }
        public var insurers: [Entry]
    }

    /// Flushes the spools and returns the collector's state (`Run.checkpoint`).
    public func checkpoint() throws -> Checkpoint {
        var entries: [Checkpoint.Entry] = []
        for name in insurers.keys.sorted() {
            let i = insurers[name]!
            entries.append(Checkpoint.Entry(
                profile: name, profilePath: i.profile.path, counts: i.counts,
                headers: i.headers.map { $0.map { Data($0).base64EncodedString() } },
                rejected: i.rejected, widestRow: i.widestRow, spoolBytes: try i.spool?.flush()))
        }
        return Checkpoint(insurers: entries)
    }

    /// Returns the collector to `checkpoint` (a resumed run, or a failed step rolled back): counts and
    /// headers as they were, spools cut back to their size then. `profile` loads a profile by path.
    public func restore(_ checkpoint: Checkpoint, profile: (String) throws -> InsurerProfile) throws {
        insurers = [:]
        for e in checkpoint.insurers {
            let i = Insurer(profile: try profile(e.profilePath))
            i.counts = e.counts
            i.headers = e.headers.map { $0.map { [UInt8](Data(base64Encoded: $0) ?? Data()) } }
            i.rejected = e.rejected
            i.widestRow = e.widestRow
            if let bytes = e.spoolBytes {
                i.spool = try CSVWriter(appendingTo: spoolDirectory + "/\(e.profile).rows", truncatingTo: bytes, rows: e.rejected)
            }
            insurers[e.profile] = i
        }
    }

    /// Writes every touched insurer's rejects.csv and summary.csv into the run's staging folder and
    /// records them as outputs. Call once, after the last row, before the run publishes.
    public func write() throws {
        precondition(!written, "the hand-back files are written once per run")
        written = true
        for name in insurers.keys.sorted() {
            let i = insurers[name]!
            run.addOutput(try writeRejects(i))
            run.addOutput(try writeSummary(i))
            if let spool = i.spool { FileSystem.removeTree(spool.path) }
        }
        FileSystem.removeTree(spoolDirectory)
    }

    private func writeRejects(_ i: Insurer) throws -> OutputFile {
        let encoding = i.profile.encoding
        let path = try run.outputPath("insurers/\(i.profile.name)/rejects.csv")
        let out = try CSVWriter(path: path, header: nil, bom: encoding == .utf8)
        row.removeAll(keepingCapacity: true)
        for (n, h) in Self.rejectColumns.enumerated() {
            if n > 0 { row.append(0x2C) }
            appendText(h, encoding: encoding, to: &row)
        }
        if i.headers.count == 1 {
            for h in i.headers[0] { row.append(0x2C); appendRaw(h, encoding: encoding, to: &row) }
        } else {
            let width = max(i.widestRow, i.headers.map(\.count).max() ?? 0)
            for n in 0..<width { row.append(0x2C); appendText("元の列\(n + 1)", encoding: encoding, to: &row) }
        }
        row.append(0x0D); row.append(0x0A)
        row.withUnsafeBytes { out.rawRow($0) }
        if let spool = i.spool {
            _ = try spool.close()
            guard let f = fopen(spool.path, "rb") else { throw KenpoError.io(path: spool.path, message: "cannot reopen the hand-back spool") }
            defer { fclose(f) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
                if n == 0 { break }
                buffer.withUnsafeBytes { out.rawRow(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        }
        var file = try out.close()
        file.rows = i.rejected   // rawRow counted chunks; the header is not a row
        return file
    }

    private func writeSummary(_ i: Insurer) throws -> OutputFile {
        let encoding = i.profile.encoding
        var bytes: [UInt8] = encoding == .utf8 ? [0xEF, 0xBB, 0xBF] : []
        func line(_ cells: [String]) {
            for (n, c) in cells.enumerated() {
                if n > 0 { bytes.append(0x2C) }
                appendText(c, encoding: encoding, to: &bytes)
            }
            bytes.append(0x0D); bytes.append(0x0A)
        }
        line(Self.summaryHeader)
        let info: [(String, String, String)] = [
            ("実行ID", "run_id", run.id),
            ("処理日", "run_date", run.runDate.iso),
            ("処理", "stage", run.stage),
            ("保険者", "insurer_profile", i.profile.name),
            ("保険者名", "insurer_name", i.profile.displayName),
            ("保険者番号", "insurer_number", i.profile.insurerNumber ?? ""),
        ]
        for (ja, key, v) in info { line([ja, key, v]) }
        for c in Count.allCases { line([c.japaneseLabel, c.rawValue, String(i.counts[c.ordinal])]) }
        let path = try run.outputPath("insurers/\(i.profile.name)/summary.csv")
        try FileSystem.writeAtomically(bytes, to: path)
        return OutputFile(path: path, rows: info.count + Count.allCases.count, bytes: bytes.count, sha256: SHA256Digest.hex(of: bytes))
    }

    /// 列「label」の値「value」: the detail of a rejected field, in the insurer's own column name.
    public static func fieldDetail(column: String, value: String) -> String { "列「\(column)」の値「\(value)」" }
}
