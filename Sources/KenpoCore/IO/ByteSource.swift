import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A stream of bytes read in chunks: a plain file, a gzip stream, a ZIP entry. Readers (the XML
/// reader, the CSV reader) pull from it, so nothing needs the whole input in memory.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 at the end. Throws `KenpoError` on an
    /// I/O error, a damaged stream or a size limit exceeded.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// What to name in messages: a path, or `archive.zip!/DATA/x.xml` for an entry.
    var displayName: String { get }
}

/// A plain file, read with `pread(2)` from its start: a regular file only, opened without
/// blocking (`InputFile`). `rewind` reads it again through the same descriptor (the import lists a
/// file and reads it with one open).
public final class FileByteSource: ByteSource {
    private let fd: Int32
    public let displayName: String
    /// The file as it was when opened.
    public let identity: FileIdentity
    /// Bytes read so far (the offset of the next read).
    public private(set) var bytesRead: Int = 0

    public init(path: String) throws {
        (fd, identity) = try InputFile.open(path)
        displayName = path
    }

    /// Throws when the file changed since it was opened, or was not read to its end.
    public func checkUnchanged() throws {
        try InputFile.checkUnchanged(fd, path: displayName, since: identity, bytesRead: bytesRead)
    }

    deinit { close(fd) }

    /// Reads from the start again.
    public func rewind() { bytesRead = 0 }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(bytesRead))
            if n >= 0 { bytesRead += n; return n }
            if errno == EINTR { continue }
            throw KenpoError.io(path: displayName, message: "read failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Bytes already in memory (tests, small entries).
public final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    public let displayName: String

    public init(_ bytes: [UInt8], displayName: String = "(memory)") {
        self.bytes = bytes
        self.displayName = displayName
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
