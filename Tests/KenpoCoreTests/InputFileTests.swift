import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder removed when the test ends.
final class ScratchFolder {
    let path = NSTemporaryDirectory() + "kenpo-input-\(UUID().uuidString)"
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ text: String) -> String {
        let p = path + "/" + name
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    /// A FIFO nobody ever writes to: opening it for reading the usual way blocks forever.
    func fifo(_ name: String) throws -> String {
        let p = path + "/" + name
        try #require(mkfifo(p, 0o600) == 0)
        return p
    }

    func append(_ path: String, _ text: String) { write(path, text, flags: O_WRONLY | O_APPEND) }

    /// Writes `text` over the start of the file, in place (same inode; no truncation).
    func overwrite(_ path: String, _ text: String) { write(path, text, flags: O_WRONLY) }

    private func write(_ path: String, _ text: String, flags: Int32) {
        let fd = open(path, flags)
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

/// The message of the KenpoError `body` throws, or nil (a test fails on anything else).
func kenpoErrorMessage(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let e as KenpoError { return e.description } catch { return "not a KenpoError: \(error)" }
}

@Suite struct InputFileTests {
    /// Every reader of inputs refuses a FIFO by its type, at once (a blocking open would hang the test).
    @Test(arguments: ["csv", "sha256", "file", "gzip", "zip", "identity"])
    func aFIFOIsRefusedWithoutBlocking(_ reader: String) throws {
        let folder = try ScratchFolder()
        let fifo = try folder.fifo("inbox.csv")
        let started = Date()
        let message = kenpoErrorMessage {
            switch reader {
            case "csv": _ = try CSVReader(path: fifo)
            case "sha256": _ = try SHA256Digest.hex(ofFile: fifo)
            case "file": _ = try FileByteSource(path: fifo)
            case "gzip": _ = try GzipByteSource(path: fifo, maxBytes: 1 << 20)
            case "zip": _ = try ZipArchive(path: fifo)
            default: _ = try InputFile.identity(of: fifo)
            }
        }
        #expect(message?.contains("\(fifo): not a regular file (a FIFO)") == true, "\(message ?? "accepted")")
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func aFolderIsNotARegularFile() throws {
        let folder = try ScratchFolder()
        #expect(kenpoErrorMessage { _ = try CSVReader(path: folder.path) }?.contains("not a regular file (a folder)") == true)
        #expect(InputFile.isRegular(folder.file("a.csv", "x")))
        #expect(!InputFile.isRegular(folder.path))
    }

    /// The rule: the file must be the one opened (size, modification time) and every byte of it read.
    @Test(arguments: [
        ("unchanged", 0, 0, 0, nil as String?),
        ("grew", 10, 0, 10, "100 bytes when kenpo opened it, 110 bytes now"),
        ("shrank", -40, 0, -40, "60 bytes now"),
        ("rewritten in place", 0, 1, 0, "rewritten in place"),
        ("grew after the last read", 10, 0, 0, "110 bytes now, 100 bytes read"),
        ("not read to its end", 0, 0, -1, "99 bytes read"),
    ])
    func aChangeWhileReadingIsNoticed(_ name: String, _ grow: Int, _ touch: Int, _ readMore: Int, _ expected: String?) throws {
        var st = stat()
        st.st_size = 100
        st.st_mtim.tv_sec = 1_700_000_000
        let before = FileIdentity(st)
        var now = before
        now.size += grow
        now.modifiedNanoseconds += touch + (grow != 0 ? 1 : 0)
        let message = kenpoErrorMessage { try InputFile.check(now, path: "r.csv", since: before, bytesRead: 100 + readMore) }
        if let expected {
            #expect(message?.contains("r.csv: the file changed while it was read") == true, "\(name): \(message ?? "passed")")
            #expect(message?.contains(expected) == true, "\(name): \(message ?? "passed")")
        } else {
            #expect(message == nil, "\(name): \(message ?? "")")
        }
    }

    /// Every reader of inputs refuses a symbolic link, naming it, and reads nothing of its target
    /// (O_NOFOLLOW): a link in an inbox must not hand kenpo the member master or the code key.
    @Test(arguments: ["csv", "sha256", "file", "gzip", "zip", "identity", "dangling"])
    func aSymbolicLinkIsRefusedAndItsTargetNeverRead(_ reader: String) throws {
        let folder = try ScratchFolder()
        let target = folder.file("members.csv", "person_id\n1\n")
        let link = folder.path + "/inbox.csv"
        try #require(symlink(reader == "dangling" ? folder.path + "/gone.csv" : target, link) == 0)
        let message = kenpoErrorMessage {
            switch reader {
            case "csv": _ = try CSVReader(path: link)
            case "sha256": _ = try SHA256Digest.hex(ofFile: link)
            case "file": _ = try FileByteSource(path: link)
            case "gzip": _ = try GzipByteSource(path: link, maxBytes: 1 << 20)
            case "zip": _ = try ZipArchive(path: link)
            case "identity": _ = try InputFile.identity(of: link)
            default: _ = try InputFile.open(link)
            }
        }
        #expect(message?.contains("\(link): a symbolic link; kenpo reads only regular files") == true, "\(message ?? "accepted")")
        #expect(!InputFile.isRegular(link) && InputFile.isSymbolicLink(link) && !InputFile.isSymbolicLink(target))
        // A folder on the way may be a link (the operator's layout): only the file itself must not be.
        let linkedFolder = folder.path + "/deployment"
        try #require(symlink(folder.path, linkedFolder) == 0)
        #expect(try SHA256Digest.hex(ofFile: linkedFolder + "/members.csv").bytes == 12)
    }

    /// Configuration files (profile, pipeline, reference and grading tables) must be regular files:
    /// a FIFO there is refused at once as a configuration error (exit 2) naming it, never read.
    @Test(arguments: ["profile", "pipeline", "grading table", "checkup items"])
    func aConfigurationFileThatIsAFIFOIsRefusedWithoutBlocking(_ kind: String) throws {
        let folder = try ScratchFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/pipelines", withIntermediateDirectories: true)
        let fifo = try folder.fifo("pipelines/x.conf")
        let started = Date()
        do {
            switch kind {
            case "profile": _ = try InsurerProfile.load(path: fifo)
            case "pipeline": _ = try PipelineDefinition.load(path: fifo)
            case "grading table": _ = try GradeBands.load(path: fifo)
            default: _ = try CheckupItems.load(path: fifo)
            }
            Issue.record("\(kind): a FIFO was read")
        } catch KenpoError.configuration(let path, _, let message) {
            #expect(path == fifo)
            #expect(message.contains("is not a regular file (a FIFO)"), "\(message)")
            #expect(KenpoError.configuration(path: path, line: nil, message: message).exitStatus == .usage)
        }
        #expect(Date().timeIntervalSince(started) < 5)
        // A folder of .tsv files is listed without blocking on a FIFO among them.
        _ = try folder.fifo("pipelines/fifo.tsv")
        #expect(GradingReference.tables(in: folder.path + "/pipelines").isEmpty)
    }

    /// `kenpo import` arguments: a link, to a file or to a folder, is bad usage like a FIFO (exit 2).
    @Test func anImportArgumentThatIsALinkIsBadUsage() throws {
        let folder = try ScratchFolder()
        let file = folder.file("doc.xml", "<a/>")
        try #require(symlink(file, folder.path + "/file-link.xml") == 0)
        try #require(symlink(folder.path, folder.path + "/folder-link") == 0)
        #expect(throws: Never.self) { try ImportInput.checkArguments([ImportInput(path: file), ImportInput(path: folder.path)]) }
        for link in [folder.path + "/file-link.xml", folder.path + "/folder-link"] {
            do {
                try ImportInput.checkArguments([ImportInput(path: link)])
                Issue.record("\(link) accepted")
            } catch let e as KenpoError {
                #expect(e.exitStatus == .usage && e.description.contains("\(link): a symbolic link"), "\(e)")
            }
        }
    }

    @Test func hashingAFileThatDoesNotExistNamesIt() throws {
        let folder = try ScratchFolder()
        let message = kenpoErrorMessage { _ = try SHA256Digest.hex(ofFile: folder.path + "/gone.csv") }
        #expect(message?.contains("gone.csv: cannot open for reading: No such file") == true, "\(message ?? "accepted")")
    }

    /// A run moves an input into the archive without hashing it again when its stamp is the one taken
    /// before it was read: every way of changing what the path holds must change the stamp.
    @Test(arguments: ["untouched", "overwritten in place", "appended to", "replaced by rename", "touched back"])
    func aFileStampChangesWithEveryChangeToTheFile(change: String) throws {
        let folder = try ScratchFolder()
        let path = folder.file("roster.csv", "a,b\n1,2\n")
        let before = try InputFile.stamp(of: path)
        usleep(50_000)   // past the file system's clock tick (a change within it is what `settled` is for)
        switch change {
        case "overwritten in place": folder.overwrite(path, "x,y")   // same size, same inode
        case "appended to": folder.append(path, "3,4\n")
        case "replaced by rename":
            let other = folder.file("roster.new", "a,b\n1,2\n")
            try #require(rename(other, path) == 0)
        case "touched back":   // new bytes, then the modification time set back to the old one
            folder.overwrite(path, "x,y")
            var times = [timespec(tv_sec: before.identity.modifiedSeconds, tv_nsec: before.identity.modifiedNanoseconds),
                         timespec(tv_sec: before.identity.modifiedSeconds, tv_nsec: before.identity.modifiedNanoseconds)]
            try #require(utimensat(AT_FDCWD, path, &times, 0) == 0)
        default: break
        }
        let after = try InputFile.stamp(of: path)
        #expect((after == before) == (change == "untouched"), "\(change)")
        if change == "touched back" { #expect(after.identity == before.identity, "only the change time tells") }
    }

    @Test(arguments: [(-10, true), (-3, true), (-2, false), (0, false), (5, false)])
    func aStampIsTrustedOnlyWhenTheFileSettledBeforeIt(changedAgo: Int, settled: Bool) throws {
        var st = stat()
        st.st_ctim = timespec(tv_sec: 1_000_000 + changedAgo, tv_nsec: 999_999_999)
        #expect(FileStamp(st).settled(before: 1_000_000) == settled)
    }
}
