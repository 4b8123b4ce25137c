import Foundation

/// The rejects handed back to an insurer (返戻ファイル): in the insurer's own encoding, with the
/// reason in Japanese and the row exactly as the insurer sent it, so it can be fixed and re-sent.
final class InsurerRejectFile {
    private let writer: CSVWriter
    private let encoder: CP932Encoder?

    init(path: String, profile: InsurerProfile, header: [String], headerRaw: [[UInt8]]) throws {
        encoder = profile.encoding == .cp932 ? CP932Encoder() : nil
        writer = try CSVWriter(path: path, header: nil, bom: profile.encoding == .utf8)
        for h in ["ファイル名", "行番号", "理由コード", "理由", "詳細"] { text(h) }
        for raw in headerRaw { raw.withUnsafeBytes { writer.field(bytes: $0) } }
        writer.endRow()
        // The header row is not a reject: CSVWriter counted it as a row; compensate in `close`.
    }

    private func text(_ s: String) {
        if let encoder {
            let bytes = encoder.encode(s).bytes
            bytes.withUnsafeBytes { writer.field(bytes: $0) }
        } else {
            writer.field(s)
        }
    }

    func add(file: String, line: Int, problem: RowProblem, columnName: String?, raw: [[UInt8]]) {
        text(file)
        text(String(line))
        text(problem.reason.rawValue)
        text(problem.reason.japanese)
        if let columnName {
            text("列「\(columnName)」の値「\(problem.value)」")
        } else {
            text(problem.detail)
        }
        for r in raw { r.withUnsafeBytes { writer.field(bytes: $0) } }
        writer.endRow()
    }

    func close() throws -> OutputFile {
        var f = try writer.close()
        f.rows -= 1
        return f
    }
}
