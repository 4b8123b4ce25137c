import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Limits applied to an uploaded ZIP archive. Sizes are uncompressed bytes.
public struct ZipLimits: Equatable, Sendable {
    /// Largest entry that may be read; a bigger declared size marks the entry as refused.
    public var maxEntryBytes: Int
    /// Largest total declared size of the readable entries; above it the whole archive is refused.
    public var maxTotalBytes: Int
    /// Most entries an archive may list; above it the whole archive is refused.
    public var maxEntries: Int
    /// Largest central directory read into memory.
    public var maxCentralDirectoryBytes: Int

    public init(maxEntryBytes: Int, maxTotalBytes: Int, maxEntries: Int, maxCentralDirectoryBytes: Int = 64 << 20) {
        self.maxEntryBytes = maxEntryBytes
        self.maxTotalBytes = maxTotalBytes
        self.maxEntries = maxEntries
        self.maxCentralDirectoryBytes = maxCentralDirectoryBytes
    }

    /// 256 MB per entry, 4 GB in total, 100,000 entries.
    public static let `default` = ZipLimits(maxEntryBytes: 256 << 20, maxTotalBytes: 4 << 30, maxEntries: 100_000)
}

/// One entry of a ZIP archive's central directory.
public struct ZipEntry: Equatable, Sendable {
    /// The name as stored (UTF-8 when flag bit 11 is set, else UTF-8 if valid, else CP932).
    public var name: String
    /// The normalised relative path (`ZipArchive.safeRelativePath`), nil when the name is unsafe.
    public var path: String?
    public var compressedSize: Int
    public var uncompressedSize: Int
    public var crc32: UInt32
    /// 0 stored, 8 deflate; others are refused.
    public var method: UInt16
    /// General-purpose flags (bit 0 encrypted, bit 3 data descriptor, bit 11 UTF-8 name).
    public var flags: UInt16
    public var isDirectory: Bool
    public var localHeaderOffset: Int
    /// Why this entry must not be read (unsafe name, symlink, encrypted, duplicate, …); nil when it is
    /// readable. `ZipArchive.open` throws for such an entry, the other entries stay readable.
    public var problem: String?
    /// Raw name bytes, compared with the local header's copy when the entry is opened.
    var rawName: [UInt8]
}

/// A ZIP archive read with pread(2): the central directory is parsed once, each entry is streamed on
/// demand (inflated in 64 KB chunks, CRC-32 and size verified). Built for untrusted uploads: entries
/// that could escape their folder, symlinks, encrypted entries, duplicates, overlapping data and
/// sizes above `ZipLimits` are refused with a reason in `ZipEntry.problem`; a declared size is an
/// upper bound that no entry may exceed while it is read (zip bombs stop there).
public final class ZipArchive {
    public let path: String
    public let limits: ZipLimits
    /// Every entry, in central-directory order, including the refused ones.
    public let entries: [ZipEntry]
    private let fd: Int32
    private let fileSize: Int
    /// Where the central directory starts: entry data must end before it.
    private let dataEnd: Int

    public init(path: String, limits: ZipLimits = .default) throws {
        self.path = path
        self.limits = limits
        // A regular file only, opened without blocking (a FIFO would wait for a writer forever).
        let (fd, identity) = try InputFile.open(path)
        self.fd = fd
        self.fileSize = identity.size
        do {
            let dir = try Self.readDirectory(fd: fd, fileSize: fileSize, path: path, limits: limits)
            self.entries = dir.entries
            self.dataEnd = dir.dataEnd
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// The entry with this normalised path, if it is listed (refused entries included).
    public func entry(at relativePath: String) -> ZipEntry? {
        entries.first { $0.path == relativePath }
    }

    /// A streaming source of the entry's uncompressed bytes. Throws `.input` for a refused entry or a
    /// damaged local header; reading throws `.input` "damaged entry" on a CRC-32 or size mismatch and
    /// never returns more than the declared uncompressed size.
    public func open(_ entry: ZipEntry) throws -> ByteSource {
        let name = displayName(entry)
        if let problem = entry.problem {
            throw KenpoError.input(path: name, line: nil, message: problem)
        }
        if entry.isDirectory {
            throw KenpoError.input(path: name, line: nil, message: "is a folder entry, it has no content to read")
        }
        var header = [UInt8](repeating: 0, count: 30)
        try preadFully(&header, count: 30, at: entry.localHeaderOffset, what: name)
        func damaged(_ why: String) -> KenpoError {
            KenpoError.input(path: name, line: nil, message: "damaged entry: \(why); the archive cannot be trusted, ask the sender for a new copy")
        }
        guard le32(header, 0) == 0x0403_4b50 else { throw damaged("no local file header at offset \(entry.localHeaderOffset)") }
        let localFlags = le16(header, 6)
        let localMethod = le16(header, 8)
        let nameLength = Int(le16(header, 26))
        let extraLength = Int(le16(header, 28))
        guard localMethod == entry.method, (localFlags & 0x41) == (entry.flags & 0x41) else {
            throw damaged("local header disagrees with the central directory (method or encryption flag)")
        }
        var localName = [UInt8](repeating: 0, count: nameLength)
        if nameLength > 0 { try preadFully(&localName, count: nameLength, at: entry.localHeaderOffset + 30, what: name) }
        guard localName == entry.rawName else {
            throw damaged("local header names a different file than the central directory")
        }
        let dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength
        guard dataOffset <= dataEnd, entry.compressedSize <= dataEnd - dataOffset else {
            throw damaged("entry data runs past the end of the archive's data area")
        }
        let limit = min(entry.uncompressedSize, limits.maxEntryBytes)
        return try ZipEntrySource(archive: self, fd: fd, displayName: name, dataOffset: dataOffset,
                                  compressedSize: entry.compressedSize, declaredSize: entry.uncompressedSize,
                                  limit: limit, crc: entry.crc32, deflated: entry.method == 8)
    }

    /// Reads a whole entry into memory (small entries, tests).
    public func readAll(_ entry: ZipEntry) throws -> [UInt8] {
        let source = try open(entry)
        var out: [UInt8] = []
        out.reserveCapacity(min(entry.uncompressedSize, 1 << 20))
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    /// `archive.zip!/DATA/x.xml`, with control characters escaped.
    public func displayName(_ entry: ZipEntry) -> String {
        var shown = ""
        for s in entry.name.unicodeScalars {
            if s.value < 0x20 || s.value == 0x7F { shown += "\\u{\(String(s.value, radix: 16))}" } else { shown.unicodeScalars.append(s) }
        }
        return "\(path)!/\(shown)"
    }

    /// Normalises an entry name to a relative path that stays inside its folder, or nil when it could
    /// escape or confuse: empty, absolute (`/x`, `\x`), a drive or stream colon (`C:x`, `a:b`), a `..`
    /// component (or one of dots and spaces only, which Windows trims to `..`), a NUL or another control
    /// character. Backslashes count as separators; `.` components, repeated and trailing slashes go.
    public static func safeRelativePath(_ name: String) -> String? {
        if name.isEmpty { return nil }
        var parts: [String] = []
        var component = ""
        var first = true
        func flush() -> Bool {
            defer { component = "" }
            if component.isEmpty || component == "." { return true }
            if component.unicodeScalars.allSatisfy({ $0 == "." || $0 == " " }) { return false }
            parts.append(component)
            return true
        }
        for s in name.unicodeScalars {
            if s.value < 0x20 || s.value == 0x7F || s == ":" { return nil }
            if s == "/" || s == "\\" {
                if first { return nil }  // absolute
                guard flush() else { return nil }
            } else {
                component.unicodeScalars.append(s)
            }
            first = false
        }
        guard flush(), !parts.isEmpty else { return nil }
        return parts.joined(separator: "/")
    }

    // MARK: - Central directory

    private struct Directory {
        var entries: [ZipEntry]
        var dataEnd: Int
    }

    private static func readDirectory(fd: Int32, fileSize: Int, path: String, limits: ZipLimits) throws -> Directory {
        func bad(_ why: String) -> KenpoError {
            KenpoError.input(path: path, line: nil, message: why)
        }
        let damagedHint = "the file is damaged or truncated (re-send or re-download it)"
        guard fileSize >= 22 else {
            throw bad("not a ZIP archive: \(fileSize) bytes is too short for the end-of-central-directory record; \(damagedHint)")
        }
        // End of central directory: 22 bytes plus a comment of at most 65,535 bytes.
        let tailLength = min(fileSize, 22 + 0xFFFF)
        let tailStart = fileSize - tailLength
        var tail = [UInt8](repeating: 0, count: tailLength)
        try preadFully(fd, &tail, count: tailLength, at: tailStart, what: path)
        var eocd = -1
        var i = tailLength - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4b, tail[i + 2] == 0x05, tail[i + 3] == 0x06,
               i + 22 + Int(le16(tail, i + 20)) == tailLength {
                eocd = i
                break
            }
            i -= 1
        }
        guard eocd >= 0 else {
            throw bad("not a ZIP archive, or truncated: no end-of-central-directory record at the end of the file; \(damagedHint)")
        }
        let eocdOffset = tailStart + eocd
        var diskNumber = Int(le16(tail, eocd + 4))
        var cdDisk = Int(le16(tail, eocd + 6))
        var entriesOnDisk = Int(le16(tail, eocd + 8))
        var entryCount = Int(le16(tail, eocd + 10))
        var cdSize = Int(le32(tail, eocd + 12))
        var cdOffset = Int(le32(tail, eocd + 16))
        var recordsStart = eocdOffset  // where the central directory must end
        var zip64 = false

        // ZIP64: a locator 20 bytes before the EOCD points at the ZIP64 end record.
        if eocdOffset >= 20 + 56 {
            var locator = [UInt8](repeating: 0, count: 20)
            try preadFully(fd, &locator, count: 20, at: eocdOffset - 20, what: path)
            if le32(locator, 0) == 0x0706_4b50 {
                let z64 = le64(locator, 8)
                guard le32(locator, 4) == 0, le32(locator, 16) <= 1 else {
                    throw bad("split (multi-part) ZIP archives are not supported: send a single-file archive")
                }
                guard z64 <= UInt64(eocdOffset - 20 - 56) else {
                    throw bad("damaged ZIP64 archive: the ZIP64 end record lies outside the file; \(damagedHint)")
                }
                var rec = [UInt8](repeating: 0, count: 56)
                try preadFully(fd, &rec, count: 56, at: Int(z64), what: path)
                guard le32(rec, 0) == 0x0606_4b50 else {
                    throw bad("damaged ZIP64 archive: no ZIP64 end record where the locator points; \(damagedHint)")
                }
                diskNumber = Int(le32(rec, 16))
                cdDisk = Int(le32(rec, 20))
                let onDisk = le64(rec, 24), total = le64(rec, 32), size = le64(rec, 40), offset = le64(rec, 48)
                guard total <= UInt64(Int32.max), onDisk <= UInt64(Int32.max), size <= UInt64(fileSize), offset <= UInt64(fileSize) else {
                    throw bad("damaged ZIP64 archive: central directory out of range; \(damagedHint)")
                }
                entriesOnDisk = Int(onDisk)
                entryCount = Int(total)
                cdSize = Int(size)
                cdOffset = Int(offset)
                recordsStart = Int(z64)
                zip64 = true
            }
        }
        if !zip64, cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw bad("damaged ZIP64 archive: the end record defers to a ZIP64 record that is missing; \(damagedHint)")
        }
        guard diskNumber == 0, cdDisk == 0, entriesOnDisk == entryCount else {
            throw bad("split (multi-part) ZIP archives are not supported: send a single-file archive")
        }
        guard entryCount <= limits.maxEntries else {
            throw bad("lists \(entryCount) entries, more than the limit of \(limits.maxEntries): refused")
        }
        guard cdOffset <= recordsStart, cdSize <= recordsStart - cdOffset else {
            throw bad("central directory out of range (offset \(cdOffset), \(cdSize) bytes, file \(fileSize) bytes); \(damagedHint)")
        }
        guard cdSize <= limits.maxCentralDirectoryBytes else {
            throw bad("central directory is \(cdSize) bytes, more than the limit of \(limits.maxCentralDirectoryBytes): refused")
        }
        guard entryCount * 46 <= cdSize else {
            throw bad("central directory is too small for its \(entryCount) entries; \(damagedHint)")
        }
        var cd = [UInt8](repeating: 0, count: cdSize)
        if cdSize > 0 { try preadFully(fd, &cd, count: cdSize, at: cdOffset, what: path) }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        var decoder: CP932Decoder?
        var p = 0
        for index in 0..<entryCount {
            guard p + 46 <= cdSize, le32(cd, p) == 0x0201_4b50 else {
                throw bad("central directory is damaged at entry \(index + 1); \(damagedHint)")
            }
            let flags = le16(cd, p + 8)
            let method = le16(cd, p + 10)
            let crc = le32(cd, p + 16)
            var compressed = UInt64(le32(cd, p + 20))
            var uncompressed = UInt64(le32(cd, p + 24))
            let nameLength = Int(le16(cd, p + 28))
            let extraLength = Int(le16(cd, p + 30))
            let commentLength = Int(le16(cd, p + 32))
            var startDisk = UInt64(le16(cd, p + 34))
            let external = le32(cd, p + 38)
            var offset = UInt64(le32(cd, p + 42))
            let end = p + 46 + nameLength + extraLength + commentLength
            guard end <= cdSize else {
                throw bad("central directory is damaged at entry \(index + 1) (record runs past its end); \(damagedHint)")
            }
            let rawName = Array(cd[(p + 46)..<(p + 46 + nameLength)])
            var problems: [String] = []

            // ZIP64 extended information: only the fields that are saturated in the record, in order.
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || offset == 0xFFFF_FFFF || startDisk == 0xFFFF {
                var found = false
                var e = p + 46 + nameLength
                let extraEnd = e + extraLength
                while e + 4 <= extraEnd {
                    let id = le16(cd, e), size = Int(le16(cd, e + 2))
                    let body = e + 4
                    guard body + size <= extraEnd else { break }
                    if id == 0x0001 {
                        var q = body
                        func next64() -> UInt64? {
                            guard q + 8 <= body + size else { return nil }
                            defer { q += 8 }
                            return le64(cd, q)
                        }
                        var ok = true
                        if uncompressed == 0xFFFF_FFFF { if let v = next64() { uncompressed = v } else { ok = false } }
                        if ok, compressed == 0xFFFF_FFFF { if let v = next64() { compressed = v } else { ok = false } }
                        if ok, offset == 0xFFFF_FFFF { if let v = next64() { offset = v } else { ok = false } }
                        if ok, startDisk == 0xFFFF {
                            if q + 4 <= body + size { startDisk = UInt64(le32(cd, q)) } else { ok = false }
                        }
                        found = ok
                        break
                    }
                    e = body + size
                }
                if !found { problems.append("damaged entry: ZIP64 sizes are missing from its extra field") }
            }
            let limitValue = UInt64(Int64.max / 4)
            compressed = min(compressed, limitValue)
            uncompressed = min(uncompressed, limitValue)
            offset = min(offset, limitValue)

            // Name: UTF-8 when flagged; otherwise UTF-8 if valid, else CP932 (Japanese Windows tools).
            var name: String
            if let utf8 = String(validating: rawName, as: UTF8.self) {
                name = utf8
            } else if (flags & 0x800) == 0 {
                if decoder == nil { decoder = CP932Decoder() }
                switch decoder!.decode(rawName) {
                case .success(let s): name = s
                case .failure:
                    name = String(decoding: rawName, as: UTF8.self)
                    problems.append("entry name is neither UTF-8 nor CP932 (Shift_JIS): refused")
                }
            } else {
                name = String(decoding: rawName, as: UTF8.self)
                problems.append("entry name is marked UTF-8 but is not valid UTF-8: refused")
            }
            let safe = safeRelativePath(name)
            if safe == nil {
                problems.append("unsafe entry name (empty, absolute, drive letter or colon, '..' component, NUL or control character): refused; ask the sender to use plain relative names")
            }
            let isDirectory = name.hasSuffix("/") || name.hasSuffix("\\")
            let fileType = (external >> 16) & 0o170000
            if fileType == 0o120000 {
                problems.append("entry is a symbolic link: refused")
            } else if fileType != 0, fileType != 0o100000, fileType != 0o040000 {
                problems.append("entry is a special file (Unix mode \(String(external >> 16, radix: 8))): refused")
            }
            if (flags & 0x41) != 0 || (flags & 0x2000) != 0 {
                problems.append("entry is encrypted: kenpo cannot read password-protected entries; ask the sender for an unencrypted archive")
            }
            if method != 0 && method != 8 {
                problems.append("entry uses compression method \(method)\(methodName(method)); only stored (0) and deflate (8) are supported: re-create the archive with standard ZIP compression")
            } else if method == 0, compressed != uncompressed, problems.isEmpty {
                problems.append("damaged entry: stored entry whose compressed and uncompressed sizes differ")
            }
            if startDisk != 0 {
                problems.append("entry lies on another disk of a split archive: not supported")
            }
            if isDirectory, uncompressed != 0 {
                problems.append("folder entry declares content: refused")
            }
            if uncompressed > UInt64(limits.maxEntryBytes) {
                problems.append("entry declares \(uncompressed) bytes uncompressed, more than the limit of \(limits.maxEntryBytes) bytes: refused")
            }
            if offset > UInt64(cdOffset) || compressed > UInt64(cdOffset) {
                problems.append("damaged entry: its data lies outside the archive's data area")
            }
            entries.append(ZipEntry(name: name, path: safe, compressedSize: Int(compressed), uncompressedSize: Int(uncompressed),
                                    crc32: crc, method: method, flags: flags, isDirectory: isDirectory,
                                    localHeaderOffset: Int(offset), problem: problems.isEmpty ? nil : problems.joined(separator: "; "),
                                    rawName: rawName))
            p = end
        }
        guard p == cdSize else {
            throw bad("central directory holds more than its \(entryCount) listed entries (damaged, or over 65,535 entries without ZIP64); \(damagedHint)")
        }

        // Duplicate names (after normalisation): readers disagree which copy counts, so none does.
        var seen: [String: Int] = [:]
        for e in entries { if let p = e.path { seen[p, default: 0] += 1 } }
        for i in entries.indices {
            if let p = entries[i].path, let n = seen[p], n > 1 {
                addProblem(&entries[i], "name appears \(n) times in the archive: refused because tools disagree which copy counts")
            }
        }

        // Overlapping data (the "overlapping files" zip bomb, or a damaged directory). A local header is
        // at least 30 bytes plus the name, then the compressed data: that span must end before the next
        // entry's header and before the central directory. Only readable entries count: a refused one
        // (e.g. with a broken size) is never read, so it must not taint its neighbours.
        let order = entries.indices.filter { entries[$0].problem == nil }.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        for (k, i) in order.enumerated() {
            let e = entries[i]
            let minEnd = e.localHeaderOffset + 30 + e.rawName.count + e.compressedSize
            let next = k + 1 < order.count ? entries[order[k + 1]].localHeaderOffset : cdOffset
            if minEnd > next {
                addProblem(&entries[i], "entry data overlaps another entry or the central directory (a zip-bomb technique, or damage): refused")
                if k + 1 < order.count {
                    addProblem(&entries[order[k + 1]], "entry data overlaps another entry (a zip-bomb technique, or damage): refused")
                }
            }
        }

        var total = 0
        for e in entries where e.problem == nil { total += e.uncompressedSize }
        guard total <= limits.maxTotalBytes else {
            throw bad("entries declare \(total) bytes uncompressed in total, more than the limit of \(limits.maxTotalBytes) bytes: refused (possible zip bomb)")
        }
        return Directory(entries: entries, dataEnd: cdOffset)
    }

    private static func addProblem(_ entry: inout ZipEntry, _ problem: String) {
        if let p = entry.problem {
            if !p.contains(problem) { entry.problem = p + "; " + problem }
        } else {
            entry.problem = problem
        }
    }

    private static func methodName(_ method: UInt16) -> String {
        switch method {
        case 9: return " (Deflate64)"
        case 12: return " (bzip2)"
        case 14: return " (LZMA)"
        case 93: return " (Zstandard)"
        case 95: return " (XZ)"
        case 98: return " (PPMd)"
        case 99: return " (AES encryption)"
        default: return ""
        }
    }

    private func preadFully(_ buffer: inout [UInt8], count: Int, at offset: Int, what: String) throws {
        try Self.preadFully(fd, &buffer, count: count, at: offset, what: what)
    }

    static func preadFully(_ fd: Int32, _ buffer: inout [UInt8], count: Int, at offset: Int, what: String) throws {
        try buffer.withUnsafeMutableBytes { raw in
            try preadFully(fd, raw.baseAddress!, count: count, at: offset, what: what)
        }
    }

    /// pread(2) exactly `count` bytes; a short file is damage (`.input`), an OS error is `.io`.
    static func preadFully(_ fd: Int32, _ base: UnsafeMutableRawPointer, count: Int, at offset: Int, what: String) throws {
        try FileSystem.preadAll(fd, base, count: count, at: offset, path: what) {
            KenpoError.input(path: what, line: nil, message: "damaged entry: the archive ends inside it (truncated file); ask the sender for a new copy")
        }
    }
}

@inline(__always) private func le16(_ b: [UInt8], _ i: Int) -> UInt16 {
    UInt16(b[i]) | UInt16(b[i + 1]) << 8
}

@inline(__always) private func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}

@inline(__always) private func le64(_ b: [UInt8], _ i: Int) -> UInt64 {
    UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32
}

/// Streams one entry: pread of the compressed bytes in 64 KB chunks, raw inflate (or copy) into the
/// caller's buffer, CRC-32 over the output. Never returns more than `limit` bytes; the CRC-32 and the
/// exact size are verified before the last bytes are handed out.
final class ZipEntrySource: ByteSource {
    let displayName: String
    private let archive: ZipArchive  // keeps the file descriptor open
    private let fd: Int32
    private let dataOffset: Int
    private let compressedSize: Int
    private let declaredSize: Int
    private let limit: Int
    private let expectedCRC: UInt32
    private let deflated: Bool
    private var consumed = 0  // compressed bytes read from the file
    private var produced = 0
    private var crc: uLong = 0
    private var finished = false
    private var streamEnded = false
    private static let chunk = 64 << 10
    private var input: UnsafeMutableRawPointer?
    private var stream: UnsafeMutablePointer<z_stream>?

    init(archive: ZipArchive, fd: Int32, displayName: String, dataOffset: Int, compressedSize: Int, declaredSize: Int,
         limit: Int, crc: UInt32, deflated: Bool) throws {
        self.archive = archive
        self.fd = fd
        self.displayName = displayName
        self.dataOffset = dataOffset
        self.compressedSize = compressedSize
        self.declaredSize = declaredSize
        self.limit = limit
        self.expectedCRC = crc
        self.deflated = deflated
        if deflated {
            input = UnsafeMutableRawPointer.allocate(byteCount: Self.chunk, alignment: 16)
            let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            s.initialize(to: z_stream())
            let r = inflateInit2_(s, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard r == Z_OK else {
                s.deinitialize(count: 1); s.deallocate()
                throw KenpoError.io(path: displayName, message: "cannot start inflate (zlib error \(r))")
            }
            stream = s
        }
    }

    deinit {
        if let s = stream { inflateEnd(s); s.deinitialize(count: 1); s.deallocate() }
        input?.deallocate()
    }

    private func damaged(_ why: String) -> KenpoError {
        KenpoError.input(path: displayName, line: nil, message: "damaged entry: \(why); ask the sender for a new copy")
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if finished || buffer.count == 0 { return 0 }
        let room = min(buffer.count, limit - produced)
        if room == 0 {
            try verifyEnd()
            return 0
        }
        let n = deflated ? try inflateSome(buffer.baseAddress!, room) : try copySome(buffer.baseAddress!, room)
        if n == 0 {
            throw damaged("data ends after \(produced) bytes, but its header declares \(declaredSize)")
        }
        crc = CZlib.crc32(crc, buffer.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(n))
        produced += n
        if produced == limit { try verifyEnd() }
        return n
    }

    /// At the declared size: the stream must end here and the CRC-32 must match.
    private func verifyEnd() throws {
        if finished { return }
        if limit < declaredSize {
            throw KenpoError.input(path: displayName, line: nil, message: "entry exceeds the limit of \(limit) bytes: refused")
        }
        if deflated {
            var probe: UInt8 = 0
            let extra = try inflateSome(&probe, 1)
            if extra > 0 {
                throw damaged("inflates to more than the declared \(declaredSize) bytes (a zip bomb, or a lying header)")
            }
        }
        if UInt32(truncatingIfNeeded: crc) != expectedCRC {
            throw damaged("CRC-32 mismatch (computed \(hex8(UInt32(truncatingIfNeeded: crc))), header says \(hex8(expectedCRC)))")
        }
        finished = true
    }

    private func hex8(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    private func copySome(_ out: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        let n = min(count, compressedSize - consumed)
        guard n > 0 else { return 0 }
        try ZipArchive.preadFully(fd, out, count: n, at: dataOffset + consumed, what: displayName)
        consumed += n
        return n
    }

    /// Inflates up to `count` bytes; 0 only when the deflate stream has ended.
    private func inflateSome(_ out: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        guard let s = stream, let input else { return 0 }
        if streamEnded { return 0 }
        s.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
        s.pointee.avail_out = uInt(count)
        while true {
            if s.pointee.avail_in == 0 && consumed < compressedSize {
                let n = min(Self.chunk, compressedSize - consumed)
                try ZipArchive.preadFully(fd, input, count: n, at: dataOffset + consumed, what: displayName)
                consumed += n
                s.pointee.next_in = input.assumingMemoryBound(to: Bytef.self)
                s.pointee.avail_in = uInt(n)
            }
            let r = inflate(s, Z_NO_FLUSH)
            let produced = count - Int(s.pointee.avail_out)
            switch r {
            case Z_STREAM_END:
                streamEnded = true
                return produced
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
                if s.pointee.avail_in == 0 && consumed >= compressedSize {
                    throw damaged("compressed data ends before the deflate stream does (truncated)")
                }
            case Z_MEM_ERROR:
                throw KenpoError.io(path: displayName, message: "out of memory while inflating")
            default:
                let msg = s.pointee.msg.map { String(cString: $0) } ?? "zlib error \(r)"
                throw damaged("invalid deflate data (\(msg))")
            }
        }
    }
}
