import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a CSV file kenpo wrote (a state table) row by row as the bytes written, so a merge can copy
/// a row unchanged without taking it apart. Each row is still split into fields (their byte ranges),
/// checked, and marked `canonical` when its bytes are exactly what `CSVWriter` makes of its fields
/// (CRLF, quotes only where needed); a row that is not (edited by hand, LF line ends) is re-encoded
/// field by field by the caller, so the output is the same either way. Empty lines are skipped, as
/// `CSVReader` skips them.
final class CSVRowReader {
    let path: String
    private let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0
    private var atEOF = false
    private var physicalLine = 1
    static let maxRowBytes = 16 << 20

    /// The current row's bytes, line end included (valid until the next call to `next`).
    private(set) var row = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Where the current row starts in the file (bytes).
    private(set) var rowOffset = 0
    /// File offset of `buffer[0]`.
    private var bufferOffset = 0
    /// Physical line on which the current row starts (1-based).
    private(set) var line = 0
    /// Why the current row is not well-formed CSV (nil: it is).
    private(set) var malformed: String?
    /// The row is exactly `CSVWriter`'s encoding of its fields.
    private(set) var canonical = true
    /// Per field: where its raw text starts and ends in `row` (quotes included) and whether it is quoted.
    private var rawStarts: [Int] = [], rawEnds: [Int] = []
    private var quoted: [Bool] = []

    /// `offset`: start reading there (the start of a row found earlier through `rowOffset`).
    init(path: String, offset: Int = 0, bufferSize: Int = 1 << 20) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KenpoError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        if offset > 0 { lseek(fd, off_t(offset), SEEK_SET); bufferOffset = offset }
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        rawStarts.reserveCapacity(64); rawEnds.reserveCapacity(64); quoted.reserveCapacity(64)
    }

    deinit {
        Glibc.close(fd)
        buffer.deallocate()
    }

    var fieldCount: Int { rawStarts.count }

    /// The raw text of field `i` as written (quotes and doubled quotes included).
    func rawField(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: row[rawStarts[i]..<rawEnds[i]])
    }

    /// Calls `body` with field `i`'s value (quotes removed, doubled quotes undoubled).
    func withField<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let raw = rawField(i)
        guard quoted[i] else { return try body(raw) }
        var v: [UInt8] = []
        v.reserveCapacity(raw.count)
        var k = 1
        while k < raw.count - 1 {
            v.append(raw[k])
            k += raw[k] == 0x22 ? 2 : 1
        }
        return try v.withUnsafeBytes { try body($0) }
    }

    private func refill() throws {
        if start > 0 {
            let have = end - start
            if have > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, have) }
            bufferOffset += start
            start = 0; end = have
        }
        if end == buffer.count {
            guard buffer.count < Self.maxRowBytes else { return }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        while true {
            let r = Glibc.read(fd, buffer.baseAddress! + end, buffer.count - end)
            if r < 0 {
                if errno == EINTR { continue }
                throw KenpoError.io(path: path, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if r == 0 { atEOF = true } else { end += r }
            return
        }
    }

    /// Advances to the next row; false at the end of the file.
    func next() throws -> Bool {
        start += row.count
        row = UnsafeRawBufferPointer(start: nil, count: 0)
        while true {
            // Skip empty lines (CR, LF or CRLF alone).
            while true {
                if start >= end {
                    if atEOF { return false }
                    try refill()
                    continue
                }
                let c = buffer[start]
                if c == 0x0A { physicalLine += 1; start += 1; continue }
                if c == 0x0D {
                    if start + 1 >= end && !atEOF { try refill(); continue }
                    if start + 1 < end && buffer[start + 1] == 0x0A { start += 2 } else { start += 1 }
                    physicalLine += 1
                    continue
                }
                break
            }
            if let n = scan() {
                row = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: n)
                rowOffset = bufferOffset + start
                return true
            }
            // The row runs past the buffered bytes: read more (and grow the buffer if it is full).
            let before = end - start
            if atEOF {
                // The last row has no line end: take it as it is.
                if let n = scan(atEnd: true) {
                    row = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: n)
                    rowOffset = bufferOffset + start
                    return true
                }
                return false
            }
            try refill()
            if end - start == before && !atEOF {
                malformed = "a row longer than \(Self.maxRowBytes) bytes"
                throw KenpoError.input(path: path, line: physicalLine, message: "damaged CSV row; restore the previous state generation")
            }
        }
    }

    /// Splits the row starting at `start`; returns its length, or nil when it is not complete in the
    /// buffer (unless `atEnd`: the file ends there).
    private func scan(atEnd: Bool = false) -> Int? {
        rawStarts.removeAll(keepingCapacity: true)
        rawEnds.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
        malformed = nil
        canonical = true
        line = physicalLine
        let base = UnsafeRawPointer(buffer.baseAddress! + start)
        let n = end - start
        @inline(__always) func at(_ k: Int) -> UInt8 { base.load(fromByteOffset: k, as: UInt8.self) }
        var i = 0
        var lines = 0
        fields: while true {
            let fieldStart = i
            if i < n && at(i) == 0x22 {
                // Quoted: up to the closing quote (doubled quotes inside).
                i += 1
                var special = false
                while true {
                    guard i < n else {
                        guard atEnd else { return nil }
                        malformed = "unterminated quoted field (a quote opened on line \(line) is never closed)"
                        rawStarts.append(fieldStart); rawEnds.append(i); quoted.append(true)
                        physicalLine += lines
                        return n
                    }
                    let c = at(i)
                    if c == 0x22 {
                        if i + 1 >= n && !atEnd { return nil }
                        if i + 1 < n && at(i + 1) == 0x22 { special = true; i += 2; continue }
                        i += 1
                        break
                    }
                    if c == 0x2C || c == 0x0D { special = true }
                    if c == 0x0A { special = true; lines += 1 }
                    i += 1
                }
                if !special { canonical = false }   // CSVWriter quotes only where needed
                rawStarts.append(fieldStart); rawEnds.append(i); quoted.append(true)
            } else {
                while i < n {
                    let c = at(i)
                    if c == 0x2C || c == 0x0D || c == 0x0A { break }
                    if c == 0x22 { canonical = false }   // a literal quote CSVWriter would have quoted
                    i += 1
                }
                rawStarts.append(fieldStart); rawEnds.append(i); quoted.append(false)
            }
            // After a field: a comma, a line end, or the end of the bytes.
            while true {
                guard i < n else {
                    guard atEnd else { return nil }
                    canonical = false   // no line end
                    physicalLine += lines
                    return n
                }
                let c = at(i)
                if c == 0x2C { i += 1; continue fields }
                if c == 0x0D {
                    guard i + 1 < n else {
                        guard atEnd else { return nil }
                        canonical = false
                        physicalLine += lines + 1
                        return n
                    }
                    physicalLine += lines + 1
                    if at(i + 1) == 0x0A { return i + 2 }
                    canonical = false
                    return i + 1
                }
                if c == 0x0A {
                    canonical = false
                    physicalLine += lines + 1
                    return i + 1
                }
                // Text right after a closing quote: the row is damaged.
                if malformed == nil { malformed = "unexpected character after a closing quote on line \(physicalLine + lines)" }
                while i < n {
                    let d = at(i)
                    if d == 0x2C || d == 0x0D || d == 0x0A { break }
                    i += 1
                }
                rawEnds[rawEnds.count - 1] = i
            }
        }
    }
}
