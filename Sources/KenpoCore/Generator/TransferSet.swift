import Foundation

/// The MHLW transfer set (送付用アーカイブ) a checkup institution sends: `ix08_V08.xml` (index),
/// `su08_V08.xml` (summary), `DATA/*.xml` (one checkup document each), empty `CLAIMS/` and `XSD/`.
/// Index and summary are in namespace `http://tokuteikenshin.jp/checkup/2007` and validate against
/// `ix08_V08.xsd` / `su08_V08.xsd`.
enum TransferSetDocuments {
    static let namespace = "http://tokuteikenshin.jp/checkup/2007"
    static let indexName = "ix08_V08.xml"
    static let summaryName = "su08_V08.xml"

    /// 交換用基本情報: 種別 6 (checkup institution → insurer), sender root …102, receiver root …101,
    /// 実施区分 1 (specific checkup), the number of DATA files.
    static func index(sender: String, receiver: String, created: CalendarDate, records: Int) -> [UInt8] {
        var x = XMLBytes(capacity: 1024)
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        x.raw("<index xmlns=\"http://tokuteikenshin.jp/checkup/2007\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://tokuteikenshin.jp/checkup/2007 ./XSD/ix08_V08.xsd\">\n")
        x.raw("  <interactionType code=\"6\"/>\n")
        x.raw("  <creationTime value=\""); x.compactDate(created); x.raw("\"/>\n")
        x.raw("  <sender>\n    <id root=\"1.2.392.200119.6.102\" extension=\""); x.plain(sender); x.raw("\"/>\n  </sender>\n")
        x.raw("  <receiver>\n    <id root=\"1.2.392.200119.6.101\" extension=\""); x.plain(receiver); x.raw("\"/>\n  </receiver>\n")
        x.raw("  <serviceEventType code=\"1\"/>\n")
        x.raw("  <totalRecordCount value=\""); x.int(records); x.raw("\"/>\n")
        x.raw("</index>\n")
        return x.bytes
    }

    /// 集計情報: subjects, total unit prices, counter payments, claim (= cost − payment), in yen.
    static func summary(subjects: Int, cost: Int, payment: Int, claim: Int) -> [UInt8] {
        var x = XMLBytes(capacity: 1024)
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        x.raw("<summary xmlns=\"http://tokuteikenshin.jp/checkup/2007\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://tokuteikenshin.jp/checkup/2007 ./XSD/su08_V08.xsd\">\n")
        x.raw("  <serviceEventType code=\"1\"/>\n")
        x.raw("  <totalSubjectCount value=\""); x.int(subjects); x.raw("\"/>\n")
        x.raw("  <totalCostAmount value=\""); x.int(cost); x.raw("\"/>\n")
        x.raw("  <totalPaymentAmount value=\""); x.int(payment); x.raw("\"/>\n")
        x.raw("  <totalPaymentByOtherProgram value=\"0\"/>\n")
        x.raw("  <totalClaimAmount value=\""); x.int(claim); x.raw("\"/>\n")
        x.raw("</summary>\n")
        return x.bytes
    }
}

/// Receives one transfer set's entries as they are generated (DATA documents first, index and
/// summary last, when the counts are known).
protocol TransferSink: AnyObject {
    /// Where the set goes (an archive or a folder), for messages and the index file.
    var location: String { get }
    /// Adds `DATA/<name>`.
    func addDocument(name: String, bytes: [UInt8]) throws
    /// Adds the index and summary and closes the set.
    func finish(index: [UInt8], summary: [UInt8]) throws
}

/// A transfer set as a folder: `<dir>/ix08_V08.xml`, `su08_V08.xml`, `DATA/`, `CLAIMS/`, `XSD/`.
final class TransferFolderSink: TransferSink {
    let location: String

    init(directory: String) throws {
        location = directory
        for sub in ["DATA", "CLAIMS", "XSD"] { try FileSystem.makeDirectory(directory + "/" + sub) }
    }

    func addDocument(name: String, bytes: [UInt8]) throws {
        try GeneratedFileOutput.write(bytes, to: location + "/DATA/" + name)
    }

    func finish(index: [UInt8], summary: [UInt8]) throws {
        try GeneratedFileOutput.write(index, to: location + "/" + TransferSetDocuments.indexName)
        try GeneratedFileOutput.write(summary, to: location + "/" + TransferSetDocuments.summaryName)
    }
}

/// A transfer set as a ZIP archive (deterministic bytes: fixed entry times).
final class TransferZipSink: TransferSink {
    let location: String
    private let zip: ZipWriter
    private let modified: Date

    init(path: String, created: CalendarDate) throws {
        location = path
        zip = try ZipWriter(path: path)
        // Noon in Japan on the creation date.
        modified = Date(timeIntervalSince1970: Double(created.daysSinceEpoch) * 86_400 + 3 * 3_600)
        try zip.addDirectory(name: "CLAIMS")
        try zip.addDirectory(name: "XSD")
        try zip.addDirectory(name: "DATA")
    }

    func addDocument(name: String, bytes: [UInt8]) throws {
        try zip.add(name: "DATA/" + name, bytes: bytes, compress: true, modified: modified)
    }

    func finish(index: [UInt8], summary: [UInt8]) throws {
        try zip.add(name: TransferSetDocuments.indexName, bytes: index, compress: true, modified: modified)
        try zip.add(name: TransferSetDocuments.summaryName, bytes: summary, compress: true, modified: modified)
        try zip.finish()
    }
}

/// A transfer set in memory, as `(name, bytes)` entries (folders end in "/").
final class TransferMemorySink: TransferSink {
    let location = "memory"
    private(set) var entries: [(name: String, bytes: [UInt8])] = [("CLAIMS/", []), ("XSD/", []), ("DATA/", [])]

    func addDocument(name: String, bytes: [UInt8]) throws {
        entries.append(("DATA/" + name, bytes))
    }

    func finish(index: [UInt8], summary: [UInt8]) throws {
        entries.insert((TransferSetDocuments.summaryName, summary), at: 0)
        entries.insert((TransferSetDocuments.indexName, index), at: 0)
    }
}
