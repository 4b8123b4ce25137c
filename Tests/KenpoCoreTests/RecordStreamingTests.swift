import Foundation
import Testing
@testable import KenpoCore

/// Records handed to a sink as they are read (the import's memory, flat in document size), and the
/// rows that carry them to the consumer.
@Suite struct RecordStreamingTests {
    final class Collecting: HealthRecordSink {
        var notices: [CostNotice] = []
        var dispensings: [Dispensing] = []
        var subjects: [DocumentSubject] = []
        func take(_ notice: CostNotice, of subject: DocumentSubject) { notices.append(notice); subjects.append(subject) }
        func take(_ dispensing: Dispensing, of subject: DocumentSubject) { dispensings.append(dispensing); subjects.append(subject) }
    }

    static let subject = "<被保険者><保険者番号>06139992</保険者番号><記号>12</記号><番号>34</番号><生年月日>1980-01-02</生年月日></被保険者>\n"

    static func notice(_ i: Int, category: String = "外来", total: String = "100") -> String {
        "<通知><診療年月>2026-\(i % 12 + 1)</診療年月>" + (category.isEmpty ? "" : "<診療区分>\(category)</診療区分>")
            + "<医療機関等名称>医院\(i)</医療機関等名称><医療費の総額>\(total)</医療費の総額><保険者の負担額>70</保険者の負担額><窓口相当負担額>30</窓口相当負担額></通知>\n"
    }

    static func notices(_ parts: [String]) -> String {
        "<医療費通知情報 xmlns=\"urn:kenpo:xml:cost-notice:1\" 版=\"1\">\n" + parts.joined() + "</医療費通知情報>\n"
    }

    static func read(_ text: String, sink: Collecting?) -> Result<HealthDocument, DocumentProblem> {
        let reader = HealthDocumentReader()
        reader.recordSink = sink
        return reader.read(MemoryByteSource(Array(text.utf8), displayName: "test.xml"))
    }

    /// The sink gets the records the document would hold, in order (those before 被保険者 once it is
    /// read); the document then holds none.
    @Test(arguments: [false, true])
    func aSinkGetsWhatTheDocumentWouldHold(_ subjectLast: Bool) throws {
        let records = (0..<5).map { Self.notice($0) }
        let text = Self.notices(subjectLast ? [records[0], records[1], Self.subject] + records[2...] : [Self.subject] + records)
        guard case .success(.costNotices(let held)) = Self.read(text, sink: nil) else { Issue.record("not read"); return }
        let sink = Collecting()
        guard case .success(.costNotices(let streamed)) = Self.read(text, sink: sink) else { Issue.record("not read"); return }
        #expect(held.notices.count == 5)
        #expect(sink.notices == held.notices)
        #expect(streamed.notices.isEmpty)
        #expect(streamed.subject == held.subject)
        #expect(sink.subjects.allSatisfy { $0 == held.subject })
    }

    @Test func aSinkGetsDispensings() throws {
        let d = "<調剤><調剤年月日>2026-04-15</調剤年月日><薬局名称>つばめ薬局</薬局名称><医薬品><薬剤名>A錠</薬剤名></医薬品></調剤>\n"
        let text = "<薬剤情報 xmlns=\"urn:kenpo:xml:prescription:1\" 版=\"1\">" + Self.subject + d + d + "</薬剤情報>"
        let sink = Collecting()
        guard case .success(.prescriptions(let streamed)) = Self.read(text, sink: sink) else { Issue.record("not read"); return }
        #expect(streamed.dispensings.isEmpty)
        #expect(sink.dispensings.count == 2)
        #expect(sink.dispensings[0].drugs.map(\.name) == ["A錠"])
    }

    /// A refused document is refused for the same problem, on the same line, with or without a sink;
    /// nothing is handed over after the document is known to be refused.
    @Test(arguments: [
        [subject, notice(1), notice(2, category: ""), notice(3), notice(4, total: "1.5")],   // a bad amount after an incomplete notice: the amount
        [subject, notice(1), notice(2, category: ""), notice(3)],                           // the incomplete notice
        [notice(1), notice(2)],                                                             // no 被保険者
        [subject],                                                                          // no 通知
        [notice(1, total: "x"), subject, notice(2)],                                        // a bad amount before 被保険者
    ])
    func aRefusedDocumentIsRefusedAlike(_ parts: [String]) throws {
        let text = Self.notices(parts)
        let sink = Collecting()
        let held = try #require(problem(Self.read(text, sink: nil)))
        let streamed = try #require(problem(Self.read(text, sink: sink)))
        #expect(streamed == held)
        #expect(sink.notices.count <= 1)
    }

    /// Rows past the in-memory limit go to the overflow file and come back whole and in order, each
    /// record's key with its first table; a refused document's rows are rewound out of the file.
    @Test func documentRowsOverflowAndRewind() throws {
        let folder = try ScratchFolder()
        let file = try OverflowFile(path: folder.path + "/overflow")
        let encoder = RowEncoder()
        func rows(_ n: Int) -> DocumentRows {
            var rows = DocumentRows()
            for i in 0..<n {
                encoder.reset()
                encoder.field("record \(i)"); encoder.field(String(repeating: "x", count: 300)); encoder.endRow()
                rows.add(kind: 1, table: 0, encoder, key: StagedKey(id: UInt64(i), person: 7, content: UInt64(i) * 3, documentDate: i % 2 == 0 ? "" : "2026-04-0\(i % 10)"), overflowTo: file)
                if i % 3 == 0 {
                    encoder.reset(); encoder.field("second table \(i)"); encoder.endRow()
                    rows.add(kind: 1, table: 1, encoder, overflowTo: file)
                }
            }
            return rows
        }
        let n = 10_000   // about 3 MB of rows
        let first = rows(n)
        #expect(file.size > 0)
        var seen = 0
        try first.forEach { part, key, bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            if let key {
                #expect(part.table == 0)
                #expect(key.id == UInt64(seen) && key.person == 7 && key.content == UInt64(seen) * 3)
                #expect(key.documentDate == (seen % 2 == 0 ? "" : "2026-04-0\(seen % 10)"))
                #expect(text.hasPrefix("record \(seen),"))
                seen += 1
            } else {
                #expect(part.table == 1 && text == "second table \(seen - 1)\r\n")
            }
        }
        #expect(seen == n)
        let kept = file.size
        var refused = rows(n)
        #expect(file.size > kept)
        refused.discard()
        #expect(file.size == kept)
        let again = rows(3)   // held in memory, after the first document's rows in the file
        var count = 0
        try again.forEach { _, key, _ in if key != nil { count += 1 } }
        #expect(count == 3)
    }
}
