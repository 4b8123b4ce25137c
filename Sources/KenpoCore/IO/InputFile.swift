import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What identifies one state of a file: the file itself (device, inode), its size and its last
/// modification. Two equal identities taken before and after a read mean nothing changed in between.
public struct FileIdentity: Equatable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int
    public var modifiedSeconds: Int
    public var modifiedNanoseconds: Int

    public init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int(st.st_size)
        modifiedSeconds = Int(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int(st.st_mtim.tv_nsec)
    }
}

/// A file's identity and its status-change time (ctime), which every change to its bytes, its name or
/// its links moves forward and no program can set back. Equal stamps taken at two moments mean the
/// path holds the same, unchanged file — unless the second change came within the file system's
/// clock tick of the first: a stamp taken within a moment of the file's last change is not trusted
/// (`settled(before:)`).
public struct FileStamp: Equatable, Sendable {
    public var identity: FileIdentity
    public var changedSeconds: Int
    public var changedNanoseconds: Int

    public init(_ st: stat) {
        identity = FileIdentity(st)
        changedSeconds = Int(st.st_ctim.tv_sec)
        changedNanoseconds = Int(st.st_ctim.tv_nsec)
    }

    /// True when the file last changed more than two seconds before `now` (seconds since 1970):
    /// any later change then shows as a different stamp, whatever the file system's clock tick.
    public func settled(before now: Int) -> Bool { changedSeconds < now - 2 }
}

/// How kenpo opens every file it reads as an input (rosters, mailing lists, requests, health
/// documents): only a regular file is read, never through a symbolic link, and its open can never block.
///
/// - **Symbolic links.** Whoever can put a file in an inbox can put a link there; read through, it
///   would hand kenpo (and, as rejected rows, the insurer) any file the service user can read — the
///   member master, the code key. Inputs are opened with `O_NOFOLLOW`, whether a glob, a folder walk
///   or the command line named them: a link is refused, naming it. Folders on the way to an input
///   may be links (the operator's layout); `Glob` refuses links its wildcards pass through.
/// - **Not a regular file.** `open(2)` of a FIFO waits until something writes to it — forever, for
///   a FIFO left in an inbox. Inputs are opened with `O_NONBLOCK` (a FIFO then opens at once) and
///   checked with `fstat`: a FIFO, device, socket or folder is refused, naming the path.
/// - **Changed while read.** A roster is a full snapshot: if it grows or shrinks while kenpo reads it
///   (a hand-off still being copied in), what was read is not the roster. The file's identity is taken
///   when it is opened; `checkUnchanged` compares it, and the bytes read, with the file at the end.
public enum InputFile {
    /// Opens `path` for reading: a descriptor in blocking mode and the file's identity.
    public static func open(_ path: String) throws -> (fd: Int32, identity: FileIdentity) {
        switch openRegular(path, flags: O_NOFOLLOW) {
        case .success(let (fd, st)): return (fd, FileIdentity(st))
        case .failure(.open(let e)):
            // O_NOFOLLOW fails with ELOOP when the last component is a link.
            if e == ELOOP, isSymbolicLink(path) { throw symbolicLink(path) }
            throw KenpoError.io(path: path, message: "cannot open for reading: \(String(cString: strerror(e)))")
        case .failure(.stat(let e)): throw KenpoError.io(path: path, message: "cannot stat: \(String(cString: strerror(e)))")
        case .failure(.notRegular(let mode)): throw notRegular(path, mode: mode)
        }
    }

    /// Why `openRegular` failed: `open` or `fstat` with an errno, or the file is not a regular one.
    private enum OpenFailure: Error { case open(Int32), stat(Int32), notRegular(mode_t) }

    /// Opens a regular file without blocking on a FIFO (`O_NONBLOCK`, then checked with `fstat`), and
    /// returns the descriptor in blocking mode with its `stat`; nothing is left open on failure.
    private static func openRegular(_ path: String, flags: Int32) -> Result<(Int32, stat), OpenFailure> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags)
        guard fd >= 0 else { return .failure(.open(errno)) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            return .failure(.stat(e))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return .failure(.notRegular(st.st_mode))
        }
        // Regular files never block; clear the flag so reads behave as usual. Opened with no other
        // status flag, so 0 is the flags without O_NONBLOCK (no F_GETFL: a system call per input).
        _ = fcntl(fd, F_SETFL, 0)
        return .success((fd, st))
    }

    /// The identity of the regular file at `path` (not a link to one), without opening it.
    public static func identity(of path: String) throws -> FileIdentity { try stamp(of: path).identity }

    /// The stamp of the regular file at `path` (not a link to one), without opening it.
    public static func stamp(of path: String) throws -> FileStamp {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw KenpoError.io(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw notRegular(path, mode: st.st_mode) }
        return FileStamp(st)
    }

    /// True for a regular file (a link to one is not).
    public static func isRegular(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// True when `path` itself is a symbolic link (to anything, or dangling).
    public static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// The error for an input that is a symbolic link.
    public static func symbolicLink(_ path: String) -> KenpoError {
        .io(path: path, message: "a symbolic link; kenpo reads only regular files: put the file itself in the inbox (or name it, not a link to it)")
    }

    /// The error for a path that is not a regular file.
    public static func notRegular(_ path: String, mode: mode_t) -> KenpoError {
        if mode & S_IFMT == S_IFLNK { return symbolicLink(path) }
        return .io(path: path, message: "not a regular file (\(kind(mode))): kenpo reads inputs only from plain files; remove it from the inbox or put the file itself there")
    }

    /// Throws when the file behind `fd` is not as it was when opened (`since`) or is not `bytesRead`
    /// bytes long: it grew, shrank or was rewritten while it was read.
    public static func checkUnchanged(_ fd: Int32, path: String, since: FileIdentity, bytesRead: Int) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw KenpoError.io(path: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        try check(FileIdentity(st), path: path, since: since, bytesRead: bytesRead)
    }

    /// The same check against the file now at `path` (a document read through another descriptor).
    public static func checkUnchanged(path: String, since: FileIdentity, bytesRead: Int? = nil) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw KenpoError.io(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        try check(FileIdentity(st), path: path, since: since, bytesRead: bytesRead)
    }

    /// The bytes of a configuration file the operator names (pipeline, insurer profile, reference or
    /// grading table). It may be reached through a link (the operator's layout), but it must be a
    /// regular file: a FIFO there would block kenpo before the run starts. `what` names the file in
    /// messages ("profile"); failures are configuration errors (exit 2).
    public static func readConfiguration(_ path: String, what: String, hint: String = "") throws -> [UInt8] {
        func fail(_ m: String) -> KenpoError { .configuration(path: path, line: nil, message: m) }
        let (fd, st): (Int32, stat)
        switch openRegular(path, flags: 0) {
        case .success(let opened): (fd, st) = opened
        case .failure(.open(let e)): throw fail("cannot read the \(what) file: \(String(cString: strerror(e)))" + hint)
        case .failure(.stat(let e)): throw fail("cannot stat the \(what) file: \(String(cString: strerror(e)))")
        case .failure(.notRegular(let mode)):
            throw fail("the \(what) file is not a regular file (\(kind(mode))); kenpo reads configuration only from plain files")
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while true {
            if got == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: max(4096, bytes.count))) }
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw fail("cannot read the \(what) file: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            got += n
        }
        bytes.removeSubrange(got...)
        return bytes
    }

    static func check(_ now: FileIdentity, path: String, since: FileIdentity, bytesRead: Int?) throws {
        if now == since && (bytesRead.map { $0 == now.size } ?? true) { return }
        var what = "\(since.size) bytes when kenpo opened it, \(now.size) bytes now"
        if let n = bytesRead { what += ", \(n) bytes read" }
        if now.size == since.size && now != since { what += "; rewritten in place" }
        throw KenpoError.io(path: path, message: "the file changed while it was read (\(what)); nothing of it was applied. "
                            + "Was it still being copied in? Run again once the file is complete (deliver files by renaming them into the inbox)")
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFDIR: return "a folder"
        case S_IFLNK: return "a symbolic link"
        default: return "not a plain file"
        }
    }
}
