import Foundation

/// The MHLW transfer set's index (ix08_V08.xml, root `index`) and summary (su08_V08.xml, root
/// `summary`), namespace http://tokuteikenshin.jp/checkup/2007. They carry counts, not records;
/// the import checks the index's count against the documents of its archive.
public final class TransferIndexFormat: HealthDocumentFormat {
    public static let formatName = "MHLW transfer index/summary V08"
    private var kind: TransferIndex.Kind = .index
    private var count: Int?
    private var depth = 0

    public static func recognises(_ root: XMLName, attributes: XMLAttributes) -> Bool {
        (root.localIs("index") || root.localIs("summary")) && root.namespaceIs("http://tokuteikenshin.jp/checkup/2007")
    }

    public init(parser: XMLStreamParser) {}

    public func startElement(_ name: XMLName, attributes: XMLAttributes) {
        depth += 1
        if depth == 1 { kind = name.localIs("summary") ? .summary : .index }
        if depth == 2 && (name.localIs("totalRecordCount") || name.localIs("totalSubjectCount")) {
            count = attributes.string("value").flatMap { Int($0) }
        }
    }

    public func endElement(_ name: XMLName) { depth -= 1 }
    public func characters(_ bytes: UnsafeRawBufferPointer) {}

    public func finish() throws -> HealthDocument { .transferIndex(TransferIndex(kind: kind, count: count)) }
}
