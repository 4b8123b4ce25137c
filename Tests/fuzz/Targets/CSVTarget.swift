import Foundation
@testable import KenpoCore

/// One record as the reader returns it.
private struct Record: Equatable {
    var line: Int
    var fields: [[UInt8]]
    var malformed: String?
}

private func readRecords(_ path: String, blockSize: Int, maxRecordBytes: Int = 1 << 20) -> [Record]? {
    guard let r = try? CSVReader(path: path, blockSize: blockSize, maxRecordBytes: maxRecordBytes) else { return nil }
    var out: [Record] = []
    do {
        while try r.next() {
            out.append(Record(line: r.line, fields: (0..<r.fieldCount).map { Array(r.fieldBytes($0)) }, malformed: r.malformed))
        }
    } catch { return nil }
    return out
}

private let decoder = CP932Decoder()
private let encoder = CP932Encoder()

/// CSVReader, CP932 decoding and CSVLine on arbitrary bytes.
/// - The records do not depend on the read block size (4–32 bytes vs the whole file in one).
/// - Line numbers never go down; a record starts on a line that exists.
/// - Well-formed records re-encoded as kenpo writes CSV (`CSVWriter.appendQuoted`, CRLF) read back
///   identically, with CSVReader and, for the encoded line, with CSVLine.
/// - With a small `maxRecordBytes` no record holds more than the limit plus one block (its bytes
///   and separators counted).
/// - CP932: a field that decodes re-encodes without substitution and decodes to the same text; a
///   field that fails decodes up to the reported offset, and the offset lies inside the field.
let csvTarget = FuzzTarget(name: "csv", summary: "CSVReader + CP932 decode/encode + CSVLine: block-size independence, re-encode round trip") { bytes in
    let t = "csv"
    let path = Scratch.write(bytes, as: "input.csv")
    // One block holding the whole input (a 1 MB block, the default, costs more than the parse here).
    guard let big = readRecords(path, blockSize: bytes.count + 1) else { property(false, t, "reading failed"); return }
    let blockSize = 4 + Int(bytes.last ?? 0) % 29   // 4–32 bytes: a block boundary in every few bytes
    let small = readRecords(path, blockSize: blockSize)
    property(small == big, t, "records differ between block sizes \(blockSize) and \(bytes.count + 1)")

    let lines = 1 + bytes.reduce(0) { $0 + ($1 == 0x0A || $1 == 0x0D ? 1 : 0) }
    var last = 0
    for r in big {
        property(r.line >= last && r.line >= 1 && r.line <= lines, t, "line \(r.line) after \(last), \(lines) physical lines at most")
        last = r.line
    }

    // Re-encode the well-formed records (a BOM first, so a field that itself starts with one survives).
    var encoded: [UInt8] = [0xEF, 0xBB, 0xBF]
    var kept: [[[UInt8]]] = []
    for r in big where r.malformed == nil {
        var row: [UInt8] = []
        for (i, f) in r.fields.enumerated() {
            if i > 0 { row.append(0x2C) }
            f.withUnsafeBytes { CSVWriter.appendQuoted($0, to: &row) }
        }
        // A record of one empty field is written as `""`: a bare CRLF would be an empty line.
        if r.fields.count == 1 && r.fields[0].isEmpty { row = [0x22, 0x22] }
        row += [0x0D, 0x0A]
        encoded += row
        kept.append(r.fields)
        let viaLine = row.withUnsafeBytes { CSVLine.parse($0) }
        property(viaLine == r.fields.map { String(decoding: $0, as: UTF8.self) }, t,
                 "CSVLine reads the re-encoded row \(show(row)) as \(viaLine)")
    }
    let again = readRecords(Scratch.write(encoded, as: "again.csv"), blockSize: encoded.count + 1) ?? []
    property(again.map(\.fields) == kept, t, "re-encoded records read back differently")
    property(again.allSatisfy { $0.malformed == nil }, t, "a re-encoded record reads as malformed")

    // A small record limit: long records become malformed, none grows past limit + block.
    if let limited = readRecords(path, blockSize: 16, maxRecordBytes: 24) {
        for r in limited {
            let size = r.fields.reduce(0) { $0 + $1.count } + r.fields.count   // bytes and separators
            property(size <= 24 + 16, t, "a record of \(size) bytes passed the 24-byte limit")
        }
    }

    // CP932 on every field of the first records.
    for r in big.prefix(16) {
        for f in r.fields.prefix(32) {
            switch decoder.decode(f) {
            case .success(let text):
                let (back, bad) = encoder.encode(text)
                property(bad.isEmpty, t, "decoded CP932 \(show(f)) has characters CP932 cannot encode: \(bad)")
                property(decoder.decode(back) == .success(text), t, "CP932 \(show(f)) → \(text) → \(show(back)) decodes differently")
            case .failure(let e):
                property(e.byteOffset >= 0 && e.byteOffset < f.count, t, "failure offset \(e.byteOffset) outside the \(f.count)-byte field")
                property(e.byte == f[e.byteOffset], t, "failure byte \(e.byte) is not the byte at offset \(e.byteOffset)")
                if case .failure = decoder.decode(Array(f[..<e.byteOffset])) {
                    property(false, t, "the prefix before failure offset \(e.byteOffset) of \(show(f)) does not decode")
                }
            }
        }
    }
}
