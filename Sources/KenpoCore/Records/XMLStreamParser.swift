import CLibXML2
import Foundation

/// Receives the events of one XML document from `XMLStreamParser`. Names arrive as libxml2's
/// interned strings (valid during the call only); text arrives in pieces.
public protocol XMLEventHandler: AnyObject {
    func startElement(_ name: XMLName, attributes: XMLAttributes)
    func endElement(_ name: XMLName)
    func characters(_ bytes: UnsafeRawBufferPointer)
}

/// An element's local name and namespace URI as libxml2 hands them over (NUL-terminated UTF-8).
public struct XMLName {
    public let local: UnsafePointer<UInt8>
    public let namespace: UnsafePointer<UInt8>?

    /// Interned pointer identity: the same name in one document is always the same pointer.
    public var key: UnsafeRawPointer { UnsafeRawPointer(local) }

    public func localIs(_ s: StaticString) -> Bool { XMLName.equal(local, s) }

    public func namespaceIs(_ s: StaticString) -> Bool {
        guard let ns = namespace else { return false }
        return XMLName.equal(ns, s)
    }

    public var localString: String { String(cString: local) }
    public var namespaceString: String { namespace.map { String(cString: $0) } ?? "" }

    @inline(__always)
    static func equal(_ p: UnsafePointer<UInt8>, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        // The first byte tells most names apart without a call to memcmp (every attribute lookup
        // compares against each attribute of the element).
        guard n > 0 else { return p[0] == 0 }
        return p[0] == s.utf8Start[0] && memcmp(p, s.utf8Start, n) == 0 && p[n] == 0
    }
}

/// SAX2 attributes: `count` quintuples of (localname, prefix, URI, value begin, value end).
public struct XMLAttributes {
    let base: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?
    public let count: Int

    /// The value of the attribute with this local name (any namespace), as raw bytes.
    public func bytes(_ localName: StaticString) -> UnsafeRawBufferPointer? {
        guard let base else { return nil }
        for i in 0..<count {
            guard let name = base[i * 5], XMLName.equal(name, localName),
                  let begin = base[i * 5 + 3], let end = base[i * 5 + 4] else { continue }
            return UnsafeRawBufferPointer(start: begin, count: end - begin)
        }
        return nil
    }

    /// The length in bytes of the longest value (refused above `TextCollector.maxBytes` before any
    /// is made a String).
    public var longestValue: Int {
        guard let base else { return 0 }
        var longest = 0
        for i in 0..<count {
            guard let begin = base[i * 5 + 3], let end = base[i * 5 + 4] else { continue }
            longest = max(longest, end - begin)
        }
        return longest
    }

    public func string(_ localName: StaticString) -> String? {
        bytes(localName).map { String(decoding: $0, as: UTF8.self) }
    }

    /// True when the attribute's value equals `value` exactly.
    public func value(_ localName: StaticString, is value: StaticString) -> Bool {
        guard let b = bytes(localName), b.count == value.utf8CodeUnitCount else { return false }
        return memcmp(b.baseAddress!, value.utf8Start, b.count) == 0
    }
}

/// Why a document could not be read as a whole.
public struct XMLParseFailure: Error, Equatable {
    public var reason: RejectReason
    public var line: Int
    public var message: String
}

/// Streams one XML document through libxml2's SAX2 push parser: nothing of the document is kept
/// but what the handler keeps. Untrusted input: no network (`XML_PARSE_NONET`), no entity
/// substitution, any DOCTYPE refused before its internal subset is read (so no entity is ever
/// declared, let alone expanded), libxml2's depth and text-size limits left on (no `XML_PARSE_HUGE`).
/// A document declaring Shift_JIS is read as CP932. One parser per thread; `parse` may be called
/// for many documents in turn.
public final class XMLStreamParser {
    public static let chunkSize = 64 * 1024
    private var buffer: UnsafeMutableRawBufferPointer
    /// Held without a reference count for the parse (the caller keeps it alive): every SAX event
    /// reaches it, and a retain/release pair per event was a fifth of an import's time (profiled).
    fileprivate unowned(unsafe) var handler: XMLEventHandler?
    /// The handler when it is the health-document reader: called directly, not through the protocol.
    fileprivate var reader: Unmanaged<HealthDocumentReader>?
    /// When set, text is handed over only while `textWanted` (a handler that collects the text of
    /// a few elements says so, and the white space between the others costs no call).
    var textFiltered = false
    var textWanted = false
    fileprivate var ctxt: xmlParserCtxtPtr?
    /// The context of the last document, parsed to its end without a fault: reset and used for
    /// the next one (its name dictionary stays, so element names keep their interned pointers and
    /// a context is not built and freed per document). Never one a CP932 document set options on.
    private var idle: xmlParserCtxtPtr?
    /// Counts the name dictionaries used so far: interned name pointers stay valid within one.
    private(set) var dictionaryGeneration = 0
    fileprivate var doctypeSeen = false
    fileprivate var stoppedBy: XMLParseFailure?
    fileprivate var firstError: (line: Int, message: String)?
    private var sax = xmlSAXHandler()

    private static let initialise: Void = { xmlInitParser() }()

    public init() {
        _ = Self.initialise
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        // Only kenpo's callbacks: libxml2's default SAX2 handlers expect the parser context as their
        // user data (ours is this object) and would build entities, DTDs and trees kenpo refuses.
        // With getEntity unset, an entity reference other than the five predefined ones is an error.
        sax = xmlSAXHandler()
        sax.initialized = XML_SAX2_MAGIC
        sax.startElementNs = kenpoStartElement
        sax.endElementNs = kenpoEndElement
        sax.characters = kenpoCharacters
        sax.cdataBlock = kenpoCharacters
        sax.ignorableWhitespace = kenpoCharacters
        sax.internalSubset = kenpoInternalSubset
        sax.serror = kenpoStructuredError
    }

    deinit {
        if let c = idle { xmlFreeParserCtxt(c) }
        buffer.deallocate()
    }

    /// Options for every document: see the type's comment.
    static let options: Int32 = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_NOBLANKS.rawValue)

    /// Parses `source` to the end. Returns the number of bytes read; throws `XMLParseFailure` when the
    /// document is refused or is not well-formed (truncated, malformed, wrong encoding), and
    /// `KenpoError` when the source cannot be read.
    @discardableResult
    public func parse(_ source: ByteSource, handler: XMLEventHandler) throws -> Int {
        self.handler = handler
        reader = (handler as? HealthDocumentReader).map { Unmanaged.passUnretained($0) }
        textWanted = false
        doctypeSeen = false
        stoppedBy = nil
        firstError = nil
        var reusable = false
        defer {
            if let c = ctxt {
                // Kept for the next document only after a clean parse, and while its dictionary is small.
                if reusable && idle == nil && xmlDictSize(c.pointee.dict) < 20_000 { idle = c } else { xmlFreeParserCtxt(c) }
            }
            ctxt = nil
            self.handler = nil
            reader = nil
        }
        var total = 0
        var n = try source.read(into: buffer)
        // The declaration is sniffed from the first 256 bytes however the source splits its reads
        // (a gzip member or ZIP entry may hand out a few bytes first).
        while n > 0 && n < 256 {
            let more = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
            if more == 0 { break }
            n += more
        }
        total += n
        guard n > 0 else { throw XMLParseFailure(reason: .malformedXML, line: 1, message: "the file is empty") }
        let head = UnsafeRawBufferPointer(rebasing: buffer[0..<min(n, 256)])
        let declared = Self.declaredEncoding(head)
        let forceCP932 = declared.map(Self.isShiftJIS) ?? false
        // A name glibc's iconv does not know would reach libxml2's ICU fallback, which matches names
        // loosely ("U-TF8") and fails on a character split between two reads: the same document
        // would be read or refused depending on where the 64 KB reads fall. Refused outright.
        if !forceCP932, let declared, !knows(declared) {
            throw XMLParseFailure(reason: .malformedXML, line: 1, message: "the XML declaration names the encoding '\(declared)', which is not a character set kenpo reads; declare UTF-8 or Shift_JIS")
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let name = source.displayName
        if !forceCP932, let c = idle, xmlCtxtResetPush(c, nil, 0, name, nil) == 0 {
            // As a context made without a first chunk: the encoding (and a byte-order mark) is
            // detected from the document's first bytes (a reset context would assume UTF-8).
            c.pointee.charset = Int32(XML_CHAR_ENCODING_NONE.rawValue)
            ctxt = c
        } else {
            if let c = idle { xmlFreeParserCtxt(c) }
            ctxt = name.withCString { fname in
                xmlCreatePushParserCtxt(&sax, me, nil, 0, fname)
            }
            dictionaryGeneration += 1
        }
        idle = nil
        guard let ctxt else { throw KenpoError.invariant("libxml2 could not create a parser") }
        var opts = Self.options
        if forceCP932 {
            xmlCtxtResetPush(ctxt, nil, 0, name, "CP932")
            opts |= Int32(XML_PARSE_IGNORE_ENC.rawValue)
        }
        xmlCtxtUseOptions(ctxt, opts)
        // Entities are never substituted; a DOCTYPE stops the parse before any is declared.
        ctxt.pointee.replaceEntities = 0
        while n > 0 {
            let rc = xmlParseChunk(ctxt, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(n), 0)
            if rc != 0 || stoppedBy != nil { return try fail(ctxt) }
            n = try source.read(into: buffer)
            total += n
        }
        let rc = xmlParseChunk(ctxt, nil, 0, 1)
        if rc != 0 || stoppedBy != nil || ctxt.pointee.wellFormed == 0 { return try fail(ctxt) }
        reusable = !forceCP932 && firstError == nil
        return total
    }

    private func fail(_ ctxt: xmlParserCtxtPtr) throws -> Int {
        if let s = stoppedBy { throw s }
        let line: Int
        let message: String
        if let e = firstError {
            line = e.line; message = e.message
        } else if let err = xmlCtxtGetLastError(ctxt) {
            line = Int(err.pointee.line)
            message = err.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "not well-formed"
        } else {
            line = Int(xmlSAX2GetLineNumber(ctxt)); message = "not well-formed"
        }
        throw XMLParseFailure(reason: .malformedXML, line: max(line, 1), message: message)
    }

    /// Stops the parse from inside a handler (a refused document).
    public func stop(_ failure: XMLParseFailure) {
        if stoppedBy == nil { stoppedBy = failure }
        if let c = ctxt { xmlStopParser(c) }
    }

    /// The current line (for records found inside a document).
    public var line: Int { ctxt.map { Int(xmlSAX2GetLineNumber($0)) } ?? 0 }

    static func isShiftJIS(_ enc: String) -> Bool {
        ["shift_jis", "shift-jis", "sjis", "x-sjis", "windows-31j", "cp932", "ms_kanji", "csshiftjis"].contains(enc)
    }

    /// `iconvKnows`, remembered per name (iconv_open per document cost more than hashing it).
    private var knownEncodings: [String: Bool] = [:]
    private func knows(_ name: String) -> Bool {
        if let k = knownEncodings[name] { return k }
        let k = Self.iconvKnows(name)
        if knownEncodings.count < 32 { knownEncodings[name] = k }
        return k
    }

    /// Whether glibc's iconv converts from the encoding `name` (what libxml2 tries before ICU).
    static func iconvKnows(_ name: String) -> Bool {
        let cd = iconv_open("UTF-8", name)
        if cd == iconv_t(bitPattern: -1) { return false }
        iconv_close(cd)
        return true
    }

    /// The encoding named by the XML declaration in `head`, lower-cased; nil when there is none.
    static func declaredEncoding(_ head: UnsafeRawBufferPointer) -> String? {
        // The usual declaration is ASCII: read from the bytes, as the String code below reads it.
        if let ascii = asciiDeclaredEncoding(head) { return ascii.name }
        var s = String(decoding: head, as: UTF8.self)
        guard s.hasPrefix("<?xml") else { return nil }
        if let end = s.range(of: "?>") { s = String(s[..<end.lowerBound]) }
        guard let r = s.range(of: "encoding") else { return nil }
        let rest = s[r.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "=" || $0 == "\"" || $0 == "'" }
        return rest.prefix { $0 != "\"" && $0 != "'" && $0 != " " }.lowercased()
    }

    /// `declaredEncoding` for a declaration of ASCII bytes only (nil: not ASCII, read as a String).
    static func asciiDeclaredEncoding(_ head: UnsafeRawBufferPointer) -> (name: String?, Void)? {
        func starts(_ at: Int, _ lit: StaticString) -> Bool {
            let n = lit.utf8CodeUnitCount
            return at + n <= head.count && memcmp(head.baseAddress! + at, lit.utf8Start, n) == 0
        }
        var end = head.count
        for i in 0..<head.count where head[i] == 0x3F && starts(i, "?>") { end = i; break }
        for i in 0..<end where head[i] >= 0x80 { return nil }
        guard starts(0, "<?xml") else { return (nil, ()) }
        var at = -1
        for i in 0..<end where i + 8 <= end && starts(i, "encoding") { at = i + 8; break }
        guard at >= 0 else { return (nil, ()) }
        // CR LF is one Character to the String code, and not one it drops.
        while at < end, [0x20, 0x09, 0x0D, 0x0A, 0x3D, 0x22, 0x27].contains(head[at]),
              !(head[at] == 0x0D && at + 1 < end && head[at + 1] == 0x0A) { at += 1 }
        var name: [UInt8] = []
        while at < end, head[at] != 0x22, head[at] != 0x27, head[at] != 0x20 {
            let c = head[at]
            name.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            at += 1
        }
        return (String(decoding: name, as: UTF8.self), ())
    }
}

private func parser(_ ctx: UnsafeMutableRawPointer?) -> XMLStreamParser {
    Unmanaged<XMLStreamParser>.fromOpaque(ctx!).takeUnretainedValue()
}

/// The parser of a callback without a retain/release pair (it outlives every callback of its parse).
@inline(__always)
private func withParser(_ ctx: UnsafeMutableRawPointer?, _ body: (XMLStreamParser) -> Void) {
    Unmanaged<XMLStreamParser>.fromOpaque(ctx!)._withUnsafeGuaranteedRef(body)
}

private let kenpoStartElement: startElementNsSAX2Func = { ctx, localname, _, uri, _, _, nbAttributes, _, attributes in
    withParser(ctx) { p in
        guard p.stoppedBy == nil, let localname else { return }
        let name = XMLName(local: localname, namespace: uri), list = XMLAttributes(base: attributes, count: Int(nbAttributes))
        if let r = p.reader { r._withUnsafeGuaranteedRef { $0.startElement(name, attributes: list) } } else { p.handler?.startElement(name, attributes: list) }
    }
}

private let kenpoEndElement: endElementNsSAX2Func = { ctx, localname, _, uri in
    withParser(ctx) { p in
        guard p.stoppedBy == nil, let localname else { return }
        let name = XMLName(local: localname, namespace: uri)
        if let r = p.reader { r._withUnsafeGuaranteedRef { $0.endElement(name) } } else { p.handler?.endElement(name) }
    }
}

private let kenpoCharacters: charactersSAXFunc = { ctx, ch, len in
    withParser(ctx) { p in
        guard p.textWanted || !p.textFiltered, p.stoppedBy == nil, let ch, len > 0 else { return }
        let text = UnsafeRawBufferPointer(start: ch, count: Int(len))
        if let r = p.reader { r._withUnsafeGuaranteedRef { $0.characters(text) } } else { p.handler?.characters(text) }
    }
}

private let kenpoInternalSubset: internalSubsetSAXFunc = { ctx, _, _, _ in
    let p = parser(ctx)
    p.stop(XMLParseFailure(reason: .doctypeRefused, line: p.line,
                           message: "the document has a DOCTYPE declaration; kenpo refuses DTDs and entities in untrusted XML"))
}

private let kenpoStructuredError: xmlStructuredErrorFunc = { ctx, error in
    guard let ctx, let error else { return }
    let p = parser(ctx)
    // Warnings (level 1) do not make a document unreadable; the first error is the one to report.
    guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, p.firstError == nil else { return }
    let msg = error.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "not well-formed"
    p.firstError = (Int(error.pointee.line), msg)
}
