import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few file-system operations publishing depends on, with the guarantees spelled out:
/// owner-only permissions, atomic renames, and fsync of the folder that holds a renamed entry.
public enum FileSystem {
    /// Creates a folder and its parents with mode 0700.
    public static func makeDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw KenpoError.io(path: current, message: "cannot create folder: \(String(cString: strerror(errno)))")
            }
        }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// rename(2): atomic replacement within one file system.
    public static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 {
            throw KenpoError.io(path: to, message: "cannot rename \(from) into place: \(String(cString: strerror(errno)))")
        }
    }

    /// Makes a completed rename durable.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Points symlink `link` at `target` atomically: a new link is made beside it and renamed over it.
    public static func replaceSymlink(_ link: String, target: String) throws {
        let tmp = link + ".tmp-\(getpid())"
        unlink(tmp)
        if symlink(target, tmp) != 0 {
            throw KenpoError.io(path: tmp, message: "cannot create symlink: \(String(cString: strerror(errno)))")
        }
        try rename(tmp, link)
        syncDirectory((link as NSString).deletingLastPathComponent)
    }

    public static func readSymlink(_ link: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(link, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func listDirectory(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    public static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// write(2) until every byte is written, retrying interrupted calls. The error names `path`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw KenpoError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// pread(2) exactly `count` bytes at `offset`, retrying interrupted calls. An OS error is `.io`
    /// naming `path`; a file that ends first throws `short()` (what that means is the caller's to say).
    public static func preadAll(_ fd: Int32, _ base: UnsafeMutableRawPointer, count: Int, at offset: Int, path: String,
                                short: () -> KenpoError) throws {
        var done = 0
        while done < count {
            let n = pread(fd, base + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw KenpoError.io(path: path, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { throw short() }
            done += n
        }
    }

    /// Writes a whole small file (manifests, stamps) atomically: temp file, fsync, rename.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try writeAtomically(to: path) { write in try bytes.withUnsafeBytes { try write($0) } }
    }

    /// Writes a file atomically from pieces, for one too big to build as one array (a big run's
    /// manifest): `body` gets a `write` that appends to a temp file (mode 0600, unbuffered: `body`
    /// buffers); then fsync and rename. A failure removes the temp file and leaves `path` as it was.
    public static func writeAtomically(to path: String, _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: tmp, message: "cannot create: \(String(cString: strerror(errno)))") }
        do {
            try body { try writeAll(fd, $0, path: path) }
        } catch {
            close(fd); unlink(tmp)
            throw error
        }
        if fsync(fd) != 0 {
            let m = String(cString: strerror(errno)); close(fd); unlink(tmp)
            throw KenpoError.io(path: path, message: "fsync failed: \(m)")
        }
        close(fd)
        try rename(tmp, path)
    }

    /// Hard-links `from` at `to` (replacing `to`), copying when the file system cannot link.
    public static func link(_ from: String, to: String) throws {
        unlink(to)
        if Glibc.link(from, to) == 0 { return }
        _ = try copy(from, to: to, rows: 0)
    }

    /// Mirrors the tree `from` at `to` with hard links (copies where linking fails), directories
    /// synced: a cheap snapshot of a folder whose files are never rewritten in place.
    public static func linkTree(_ from: String, to: String) throws {
        try makeDirectory(to)
        for name in listDirectory(from) {
            let a = from + "/" + name, b = to + "/" + name
            var st = stat()
            guard lstat(a, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR { try linkTree(a, to: b) } else { try link(a, to: b) }
        }
        syncDirectory(to)
    }

    /// Gives `to` the same content as the written file `from`: a hard link when both are on one file
    /// system, else a copy. Returns the manifest entry for `to`.
    public static func linkOrCopy(_ from: OutputFile, to: String) throws -> OutputFile {
        if Glibc.link(from.path, to) == 0 {
            var f = from
            f.path = to
            return f
        }
        return try copy(from.path, to: to, rows: from.rows)
    }

    /// Copies a file (used to give the outbox its own copy of a state file), returning its manifest entry.
    public static func copy(_ from: String, to: String, rows: Int) throws -> OutputFile {
        guard let src = fopen(from, "rb") else { throw KenpoError.io(path: from, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { fclose(src) }
        unlink(to)  // never truncate a file another generation links to
        let fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KenpoError.io(path: to, message: "cannot create: \(String(cString: strerror(errno)))") }
        let digest = SHA256Digest()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, src) }
            if n == 0 { break }
            do {
                try buf.withUnsafeBytes { raw in
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    digest.update(chunk)
                    try writeAll(fd, chunk, path: to)
                }
            } catch {
                close(fd)
                throw error
            }
            total += n
        }
        if fsync(fd) != 0 { let m = String(cString: strerror(errno)); close(fd); throw KenpoError.io(path: to, message: "fsync failed: \(m)") }
        close(fd)
        return OutputFile(path: to, rows: rows, bytes: total, sha256: digest.finalizeHex())
    }
}
