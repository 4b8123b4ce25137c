import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Streaming RFC 4180 CSV reader over raw bytes.
///
/// Works on bytes, not text: quotes, commas, CR and LF never occur as trail bytes of CP932 or UTF-8
/// characters, so a record can be split before any decoding, and each field decoded only if used.
/// Memory is one read block plus the current record, whatever the file size. Accepts CRLF, LF and
/// lone CR line ends (mixed within one file), quoted fields with commas, doubled quotes and line
/// breaks, and a UTF-8 byte-order mark. Every byte read is also fed to an optional SHA-256 digest,
/// so an input is hashed in the same pass that reads it. Only a regular file is read, and one that
/// changes while it is read fails at its end (`InputFile`).
public final class CSVReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var block: [UInt8]
    private var blockLength = 0
    private var position = 0
    private var atEOF = false
    private var skipLF = false
    private var physicalLine = 1
    private let digest: SHA256Digest?
    private let maxRecordBytes: Int
    private var sawFirstBlock = false
    private let identity: FileIdentity

    /// Unescaped bytes of the current record's fields, back to back.
    public private(set) var fieldData: [UInt8] = []
    /// End offset in `fieldData` of each field of the current record.
    public private(set) var fieldEnds: [Int] = []
    /// Physical line (1-based) on which the current record starts.
    public private(set) var line = 0
    /// Set when the current record is not well-formed CSV; its fields are then unreliable.
    public private(set) var malformed: String?
    /// Bytes consumed from the file so far.
    public private(set) var bytesRead = 0

    public init(path: String, digest: SHA256Digest? = nil, blockSize: Int = 1 << 20, maxRecordBytes: Int = 1 << 20) throws {
        let (fd, identity) = try InputFile.open(path)
        guard let f = fdopen(fd, "rb") else {
            let m = String(cString: strerror(errno))
            close(fd)
            throw KenpoError.io(path: path, message: "cannot open: \(m)")
        }
        self.path = path
        self.file = f
        self.identity = identity
        self.digest = digest
        self.block = [UInt8](repeating: 0, count: max(blockSize, 4))
        self.maxRecordBytes = maxRecordBytes
        fieldData.reserveCapacity(4096)
        fieldEnds.reserveCapacity(64)
    }

    deinit { fclose(file) }

    public var fieldCount: Int { fieldEnds.count }

    /// Calls `body` with the bytes of field `i` (valid only inside the closure).
    @inline(__always)
    public func withField<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = i == 0 ? 0 : fieldEnds[i - 1]
        let end = fieldEnds[i]
        return try fieldData.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
    }

    public func fieldBytes(_ i: Int) -> ArraySlice<UInt8> {
        let start = i == 0 ? 0 : fieldEnds[i - 1]
        return fieldData[start..<fieldEnds[i]]
    }

    private func refill() throws -> Bool {
        if atEOF { return false }
        var n = block.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        // The first block must hold the 3 bytes of a possible byte-order mark.
        while !sawFirstBlock && n > 0 && n < 3 && feof(file) == 0 {
            let more = block.withUnsafeMutableBytes { fread($0.baseAddress! + n, 1, $0.count - n, file) }
            if more == 0 { break }
            n += more
        }
        if n == 0 {
            if ferror(file) != 0 { throw KenpoError.io(path: path, message: "read error: \(String(cString: strerror(errno)))") }
            // Everything read is the file only if it is still the file that was opened, all of it.
            try InputFile.checkUnchanged(fileno(file), path: path, since: identity, bytesRead: bytesRead)
            atEOF = true
            return false
        }
        blockLength = n
        position = 0
        bytesRead += n
        block.withUnsafeBytes { digest?.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        if !sawFirstBlock {
            sawFirstBlock = true
            if n >= 3, block[0] == 0xEF, block[1] == 0xBB, block[2] == 0xBF { position = 3 }
        }
        return true
    }

    /// Reads until the end of the file, so the digest and byte count cover everything.
    public func drain() throws { while try refill() {} }

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted, skipping }

    /// Advances to the next record. Returns false at the end of the file. Empty lines are skipped.
    public func next() throws -> Bool {
        fieldData.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        malformed = nil
        var state = State.fieldStart
        var started = false
        line = physicalLine
        let quote: UInt8 = 0x22, comma: UInt8 = 0x2C, cr: UInt8 = 0x0D, lf: UInt8 = 0x0A

        while true {
            if position >= blockLength {
                if try !refill() {
                    // End of file: close the last record, if any.
                    if !started && fieldData.isEmpty && fieldEnds.isEmpty && state == .fieldStart { return false }
                    if state == .quoted {
                        malformed = "unterminated quoted field (a quote opened on line \(line) is never closed)"
                    }
                    fieldEnds.append(fieldData.count)
                    return true
                }
            }
            let endedRecord: Bool = block.withUnsafeBufferPointer { buf -> Bool in
                let p = buf.baseAddress!
                while position < blockLength {
                    let b = p[position]
                    if skipLF {
                        // The LF of a CRLF pair: the line was already counted at the CR.
                        skipLF = false
                        if b == lf {
                            if state == .quoted { fieldData.append(lf) }
                            position += 1
                            continue
                        }
                    }
                    switch state {
                    case .fieldStart, .unquoted:
                        if state == .fieldStart && b == quote {
                            started = true
                            state = .quoted
                            position += 1
                            continue
                        }
                        if copyRun(p, until: comma) {
                            started = true
                            state = .unquoted
                            if overLimit { beginSkipping(&state); continue }
                        }
                        if position >= blockLength { return false }
                        let c = p[position]
                        position += 1
                        if c == comma {
                            fieldEnds.append(fieldData.count)
                            started = true
                            state = .fieldStart
                            if overLimit { beginSkipping(&state); continue }
                        } else {
                            physicalLine += 1
                            if c == cr { skipLF = true }
                            if !started && fieldEnds.isEmpty {
                                line = physicalLine  // empty line: skip it
                                continue
                            }
                            fieldEnds.append(fieldData.count)
                            return true
                        }
                    case .quoted:
                        if copyRun(p, until: quote), overLimit {
                            beginSkipping(&state); continue
                        }
                        if position >= blockLength { return false }
                        let c = p[position]
                        position += 1
                        if c == quote {
                            state = .quoteInQuoted
                        } else {
                            fieldData.append(c)
                            physicalLine += 1
                            if c == cr { skipLF = true }
                            if overLimit { beginSkipping(&state); continue }
                        }
                    case .quoteInQuoted:
                        position += 1
                        if b == quote {
                            fieldData.append(quote)
                            state = .quoted
                            if overLimit { beginSkipping(&state); continue }
                        } else if b == comma {
                            fieldEnds.append(fieldData.count)
                            state = .fieldStart
                            if overLimit { beginSkipping(&state); continue }
                        } else if b == cr || b == lf {
                            physicalLine += 1
                            if b == cr { skipLF = true }
                            fieldEnds.append(fieldData.count)
                            return true
                        } else {
                            if malformed == nil { malformed = "unexpected character after a closing quote on line \(physicalLine)" }
                            fieldData.append(b)
                            state = .unquoted
                        }
                    case .skipping:
                        position += 1
                        if b == cr || b == lf {
                            physicalLine += 1
                            if b == cr { skipLF = true }
                            fieldEnds.append(fieldData.count)
                            return true
                        }
                    }
                }
                return false
            }
            if endedRecord { return true }
        }
    }

    /// Copies the run of bytes from `position` up to `stop`, CR or LF (or the block's end) into the
    /// current field in one go. Returns whether anything was copied.
    @inline(__always)
    private func copyRun(_ p: UnsafePointer<UInt8>, until stop: UInt8) -> Bool {
        let runStart = position
        while position < blockLength {
            let c = p[position]
            if c == stop || c == 0x0D || c == 0x0A { break }
            position += 1
        }
        guard position > runStart else { return false }
        fieldData.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: position - runStart))
        return true
    }

    /// The current record passed `maxRecordBytes`, counting its separators too: doubled quotes, quoted
    /// line breaks and bare commas grow it one byte at a time, outside `copyRun`'s check.
    @inline(__always)
    private var overLimit: Bool { fieldData.count + fieldEnds.count > maxRecordBytes }

    private func beginSkipping(_ state: inout State) {
        malformed = "record longer than \(maxRecordBytes) bytes (an unmatched quote?); skipped to the next line end"
        fieldData.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        state = .skipping
    }
}
