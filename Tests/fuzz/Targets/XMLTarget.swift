import Foundation
@testable import KenpoCore

/// One reader kept for the whole run: it has read every earlier input, so state left behind by one
/// document (the parser, the format chosen) would show as a difference from a fresh reader.
nonisolated(unsafe) private var reusedReader = HealthDocumentReader()

/// The health-document readers (checkup CDA, cost notice, prescription, transfer index) through
/// XMLStreamParser, libxml2's SAX2 push parser, on arbitrary documents.
/// - The outcome (the document's content, or the reject reason) is the same whether the bytes
///   arrive in one piece or in pieces of 1–97 bytes, and the same for a fresh reader as for one
///   that has read every earlier input.
/// - A refused document has a reject reason and a line number ≥ 0; a DOCTYPE is always refused.
/// - An accepted checkup's results have item codes; amounts are never negative.
let xmlTarget = FuzzTarget(name: "xml", summary: "HealthDocumentReader/XMLStreamParser: chunking and reader-reuse independence, DOCTYPE refusal") { bytes in
    let t = "xml"
    let whole = HealthDocumentReader().read(MemoryByteSource(bytes, displayName: "doc.xml"))
    let cuts = chunkSizes(from: bytes)
    let chunked = HealthDocumentReader().read(ChunkedByteSource(bytes, first: cuts[0], cuts: cuts, displayName: "doc.xml"))
    let reused = reusedReader.read(MemoryByteSource(bytes, displayName: "doc.xml"))

    func outcome(_ r: Result<HealthDocument, DocumentProblem>) -> String {
        switch r {
        case .success(let d): return "accepted \(d)"
        case .failure(let p): return "refused \(p.reason) line \(p.line): \(p.message)"
        }
    }
    func sameOutcome(_ a: Result<HealthDocument, DocumentProblem>, _ b: Result<HealthDocument, DocumentProblem>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x == y
        case (.failure(let x), .failure(let y)): return x.reason == y.reason
        default: return false
        }
    }
    property(sameOutcome(whole, chunked), t, "whole: \(outcome(whole)); in pieces \(cuts): \(outcome(chunked))")
    property(whole == reused, t, "fresh reader: \(outcome(whole)); reused reader: \(outcome(reused))")

    switch whole {
    case .failure(let p):
        property(p.line >= 0, t, "negative line \(p.line)")
        property(!p.message.isEmpty, t, "a refusal without a message")
    case .success(let doc):
        property(!containsDoctype(bytes), t, "a document with a DOCTYPE was accepted: \(doc.kind)")
        switch doc {
        case .checkup(let c):
            for r in c.results { property(!r.itemCode.isEmpty, t, "a checkup result without an item code") }
        case .costNotices(let n):
            for line in n.notices {
                property(line.totalCost >= 0 && line.insurerPaid >= 0 && line.publicPaid >= 0 && line.counterPaid >= 0 && line.days >= 0,
                         t, "negative amounts in \(line)")
            }
        default: break
        }
    }
}

/// A DOCTYPE in UTF-8/ASCII before the root element: `<!DOCTYPE` ahead of the first element start,
/// comment and CDATA section (inside those it would be text). Other encodings are not checked here.
private func containsDoctype(_ bytes: [UInt8]) -> Bool {
    func first(_ s: String) -> Int? {
        let needle = Array(s.utf8)
        guard bytes.count >= needle.count else { return nil }
        for i in 0...(bytes.count - needle.count) where bytes[i] == 0x3C && bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }
    guard let doctype = first("<!DOCTYPE") else { return false }
    let element = bytes.indices.dropLast().first { bytes[$0] == 0x3C && (bytes[$0 + 1] >= 0x80 || bytes[$0 + 1] == 0x5F || (bytes[$0 + 1] | 0x20) >= 0x61 && (bytes[$0 + 1] | 0x20) <= 0x7A) }
    return [element, first("<!--"), first("<![CDATA[")].allSatisfy { $0 == nil || $0! > doctype }
}
