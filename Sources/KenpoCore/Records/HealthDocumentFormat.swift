import Foundation

/// One document format kenpo reads. Each format lives in its own file; adding an official schema
/// is one more conforming type added to `HealthDocumentReader.formats`.
public protocol HealthDocumentFormat: XMLEventHandler {
    /// Name and version as published in manifests and messages, e.g. "kenpo-cost-notice 1".
    static var formatName: String { get }
    /// True when a document whose root element is `root` is this format (local name + namespace,
    /// never the file name).
    static func recognises(_ root: XMLName, attributes: XMLAttributes) -> Bool
    init(parser: XMLStreamParser)
    /// The document's content once the parser reached its end; throws `DocumentProblem` when a
    /// required part is missing or unreadable.
    func finish() throws -> HealthDocument
}

/// Takes the records of a kenpo-format document (cost notices, prescriptions) one at a time as they
/// are read, instead of the document holding them all: the import, whose memory then stays flat in
/// document size. A record is handed over when its end tag is read and its required parts are
/// checked, once 被保険者 has been read (records before it are held until then), and only while the
/// document is not already refused. The document can still be refused after that (a bad value further
/// on, a parse error, a size limit): the sink then drops what it took. `finish()` returns the document
/// without the records handed over.
public protocol HealthRecordSink: AnyObject {
    func take(_ notice: CostNotice, of subject: DocumentSubject)
    func take(_ dispensing: Dispensing, of subject: DocumentSubject)
}

/// A document that parsed but cannot be accepted.
public struct DocumentProblem: Error, Equatable {
    public var reason: RejectReason
    public var line: Int
    public var message: String
    public init(_ reason: RejectReason, line: Int = 0, _ message: String) {
        self.reason = reason; self.line = line; self.message = message
    }
}

/// Reads one document of any known format: picks the format from the root element and hands it
/// every event.
public final class HealthDocumentReader: XMLEventHandler {
    public static let formats: [HealthDocumentFormat.Type] = [
        CheckupDocumentFormat.self, CostNoticeFormat.self, PrescriptionFormat.self, TransferIndexFormat.self,
    ]

    private let parser: XMLStreamParser
    /// The format reading the current document; every event goes to it, without a reference count
    /// (`ownedFormat` keeps it alive).
    private unowned(unsafe) var format: HealthDocumentFormat?
    private var ownedFormat: HealthDocumentFormat?
    /// `format` when it is the checkup reader: called directly (the hot path of an import).
    private var checkup: Unmanaged<CheckupDocumentFormat>?
    private var depth = 0
    /// Import mode: a checkup's results stay as bytes in `checkupFormat` (`CheckupDocumentFormat.compact`).
    var compactCheckups = false
    /// Where cost notices and dispensings go as they are read (nil: the document holds them).
    var recordSink: HealthRecordSink?
    /// The checkup reader, reused document after document (its buffers and unit spellings stay).
    private(set) lazy var checkupFormat = CheckupDocumentFormat(parser: parser)

    public init(parser: XMLStreamParser = XMLStreamParser()) {
        self.parser = parser
        parser.textFiltered = true   // every format takes text through `TextCollector`
    }

    /// Parses `source` and returns its content, or the reason it is refused. A source that cannot
    /// be read at all is reported as a refused document too (`document(from:)` tells it apart).
    public func read(_ source: ByteSource) -> Result<HealthDocument, DocumentProblem> {
        do { return try document(from: source) } catch {
            return .failure(DocumentProblem(.archiveEntryRefused, line: 0, "\(error)"))
        }
    }

    /// Parses `source` and returns its content, or the reason it is refused; throws the source's I/O
    /// error (`KenpoError.io`: the file vanished, a read failed): that is no fault of the document
    /// but a failure of the input, which the import fails on rather than rejects.
    public func document(from source: ByteSource) throws -> Result<HealthDocument, DocumentProblem> {
        format = nil
        ownedFormat = nil
        checkup = nil
        depth = 0
        do {
            try parser.parse(source, handler: self)
        } catch let f as XMLParseFailure {
            return .failure(DocumentProblem(f.reason, line: f.line, f.message))
        } catch let p as DocumentProblem {
            return .failure(p)   // refused by the source (size limit)
        } catch let e as KenpoError {
            if case .io = e { throw e }
            // The bytes could not be read: a damaged ZIP entry or gzip stream, a decompression bomb.
            return .failure(DocumentProblem(.archiveEntryRefused, line: 0, e.description))
        } catch {
            return .failure(DocumentProblem(.malformedXML, line: 0, "\(error)"))
        }
        guard let format = ownedFormat else { return .failure(DocumentProblem(.malformedXML, line: 1, "the document has no root element")) }
        do { return .success(try format.finish()) } catch let p as DocumentProblem { return .failure(p) } catch {
            return .failure(DocumentProblem(.documentIncomplete, "\(error)"))
        }
    }

    /// No real health document nests deeper; libxml2's push parser does not enforce its own limit.
    public static let maxDepth = 256

    public func startElement(_ name: XMLName, attributes: XMLAttributes) {
        depth += 1
        if depth > Self.maxDepth {
            parser.stop(XMLParseFailure(reason: .malformedXML, line: parser.line, message: "elements nest deeper than \(Self.maxDepth) levels"))
            return
        }
        if attributes.longestValue > TextCollector.maxBytes {
            parser.stop(TextCollector.tooLong(attributes.longestValue, what: "an attribute value of <\(name.localString)>", line: parser.line))
            return
        }
        if depth == 1 {
            guard let type = Self.formats.first(where: { $0.recognises(name, attributes: attributes) }) else {
                let ns = name.namespaceString
                parser.stop(XMLParseFailure(reason: .unknownDocument, line: parser.line,
                    message: "root element <\(name.localString)>\(ns.isEmpty ? " without a namespace" : " in namespace \(ns)") is not a checkup (CDA, urn:hl7-org:v3), a kenpo cost notice or a kenpo prescription; see pipelines/formats/README.md"))
                return
            }
            if type is CheckupDocumentFormat.Type {
                checkupFormat.reset()
                checkupFormat.compact = compactCheckups
                ownedFormat = checkupFormat
                checkup = Unmanaged.passUnretained(checkupFormat)
            } else {
                ownedFormat = type.init(parser: parser)
                (ownedFormat as? KenpoXMLDocument)?.sink = recordSink
            }
            format = ownedFormat
        }
        if let c = checkup { c._withUnsafeGuaranteedRef { $0.startElement(name, attributes: attributes) } } else { format?.startElement(name, attributes: attributes) }
    }

    public func endElement(_ name: XMLName) {
        if let c = checkup { c._withUnsafeGuaranteedRef { $0.endElement(name) } } else { format?.endElement(name) }
        depth -= 1
    }

    public func characters(_ bytes: UnsafeRawBufferPointer) {
        if let c = checkup { c._withUnsafeGuaranteedRef { $0.characters(bytes) } } else { format?.characters(bytes) }
    }
}

/// Collects element text for a format: `begin` when an element of interest opens, `take` when it
/// closes. Text outside is ignored. No value of a health document is near 64 KB: a longer one stops
/// the parse (XML_MALFORMED), so a huge text node costs 64 KB, not its size several times over.
struct TextCollector {
    /// The longest element text or attribute value kept (bytes of UTF-8).
    static let maxBytes = 64 * 1024
    private(set) var active = false
    private var bytes: [UInt8] = []
    private let parser: XMLStreamParser

    init(parser: XMLStreamParser) { self.parser = parser }

    mutating func begin() { active = true; parser.textWanted = true; bytes.removeAll(keepingCapacity: true) }

    mutating func append(_ b: UnsafeRawBufferPointer) {
        guard active else { return }
        guard bytes.count + b.count <= Self.maxBytes else {
            parser.stop(Self.tooLong(bytes.count + b.count, what: "an element's text", line: parser.line))
            active = false
            parser.textWanted = false
            bytes.removeAll()
            return
        }
        bytes.append(contentsOf: b)
    }

    /// The refusal of a value longer than `maxBytes` (`length`: as far as it was read).
    static func tooLong(_ length: Int, what: String, line: Int) -> XMLParseFailure {
        XMLParseFailure(reason: .malformedXML, line: line,
                        message: "\(what) is longer than \(maxBytes) bytes (\(length) read); no field of a health document is that long")
    }

    /// The text collected, with leading and trailing white space (U+3000 included) removed.
    mutating func take() -> String {
        active = false
        parser.textWanted = false
        return Normalise.trim(String(decoding: bytes, as: UTF8.self))
    }
}
