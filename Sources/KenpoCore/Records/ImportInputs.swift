import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A path given to `kenpo import`: an XML file, a `.xml.gz`, a folder (read recursively, in name
/// order), or an MHLW transfer ZIP. Files are told apart by their first bytes, never their names.
public struct ImportInput: Sendable {
    public var path: String
    /// Where the documents come from; nil: decided by the path (see `ImportFile.source(for:)`).
    public var source: RecordSource?
    public init(path: String, source: RecordSource? = nil) { self.path = path; self.source = source }

    /// The paths given to `kenpo import` on its command line, checked before anything runs: each must
    /// be a folder or a regular file (bad usage otherwise, exit 2). A FIFO, device or socket is never
    /// opened: a FIFO without a writer would block kenpo forever. A symbolic link is never followed,
    /// to a file or a folder (InputFile): the operator names the file or folder itself. In a pipeline the same file is a
    /// failed input of its step (`ImportStage` names it).
    public static func checkArguments(_ inputs: [ImportInput]) throws {
        for input in inputs {
            // lstat: a symbolic link (to a file or a folder) is refused like a FIFO, never followed.
            var st = stat()
            guard lstat(input.path, &st) == 0 else { throw KenpoError.usage("\(input.path): no such file or folder") }
            guard (st.st_mode & S_IFMT) == S_IFREG || (st.st_mode & S_IFMT) == S_IFDIR else { throw KenpoError.usage(InputFile.notRegular(input.path, mode: st.st_mode).description) }
        }
    }
}

/// One file read by an import: a manifest input with its own record counts.
final class ImportFile {
    enum Container { case xml, gzip, zip(ZipArchive) }
    let path: String
    let container: Container
    var bytes: Int
    var sha256: String
    /// The file as it was listed: a document read from it is accepted only if it is still so.
    var identity: FileIdentity?
    let source: RecordSource
    /// For a member upload: the person id of the folder it arrived in.
    let uploader: UInt64?
    let uploaderProblem: DocumentProblem?
    var counts = Manifest.RecordCounts()
    var declaredCount: Int?
    var checkupDocuments = 0

    init(path: String, container: Container, bytes: Int, sha256: String, source: RecordSource, uploader: UInt64?, uploaderProblem: DocumentProblem?) {
        self.path = path; self.container = container; self.bytes = bytes; self.sha256 = sha256
        self.source = source; self.uploader = uploader; self.uploaderProblem = uploaderProblem
    }

    var kind: String {
        switch container {
        case .xml: return "health_xml"
        case .gzip: return "health_xml_gz"
        case .zip: return "checkup_transfer_zip"
        }
    }

    /// Member uploads live in `…/import/<person-id>/…` (a 16-hex person id); a file directly in an
    /// inbox's `import/` folder is an upload without its person (refused). Mynaportal pulls sit under a
    /// `mynaportal` folder; everything else was handed over by an insurer.
    static func source(for path: String) -> (RecordSource, String?) {
        // Most paths name neither folder: no split into components for them (once per file).
        func contains(_ word: StaticString) -> Bool {
            path.utf8.withContiguousStorageIfAvailable { p -> Bool in
                let n = word.utf8CodeUnitCount
                guard p.count >= n else { return false }
                for i in 0...(p.count - n) where memcmp(p.baseAddress! + i, word.utf8Start, n) == 0 { return true }
                return false
            } ?? true
        }
        if !contains("import") && !contains("mynaportal") { return (.insurer, nil) }
        // Components as bytes: a String split walks Characters, a few % of an import whose folders
        // happen to be named so (a path is split at its "/" bytes either way).
        let parts = path.utf8.split(separator: 0x2F)
        func part(_ i: Int, is word: StaticString) -> Bool {
            parts[i].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
        }
        for i in stride(from: parts.count - 3, through: 0, by: -1) where part(i, is: "import") {
            let folder = String(decoding: parts[i + 1], as: UTF8.self)
            if StableHash.parseHex(folder) != nil { return (.memberUpload, folder) }
        }
        if parts.count >= 3, part(parts.count - 2, is: "import"), part(parts.count - 3, is: "inbox") { return (.memberUpload, nil) }
        if parts.indices.contains(where: { part($0, is: "mynaportal") }) { return (.mynaportal, nil) }
        return (.insurer, nil)
    }
}

/// One document to read: a whole file, or one ZIP entry.
struct DocumentJob {
    let file: ImportFile
    let entry: ZipEntry?
    let display: String
    /// Refused before reading (too large, unsafe entry …).
    let refused: DocumentProblem?
    /// False for the stand-in of a file that holds no document (a ZIP of folders only): nothing is
    /// read, the file is only accounted for.
    var isDocument = true
    /// The last document of its file: the file's accounting is complete after it.
    var lastOfFile = true
    /// A plain XML file as the listing opened it (read through the same descriptor: no second open).
    var opened: FileByteSource? = nil
}

enum ImportExpansion {
    /// A member upload larger than this is refused (Mynaportal's own limit for an imported file).
    static let uploadLimit = 10 * 1024 * 1024
    /// A gzip stream or ZIP entry may not inflate beyond this (decompression bombs), nor may a plain
    /// XML file be larger.
    static let maxDecompressed = 256 * 1024 * 1024

    /// Every file and document of `inputs` at once (tests; the import itself streams: `ImportListing`).
    static func expand(_ inputs: [ImportInput]) throws -> (files: [ImportFile], jobs: [DocumentJob]) {
        let listing = ImportListing(inputs)
        var files: [ImportFile] = []
        var jobs: [DocumentJob] = []
        while let job = try listing.next() {
            if files.last !== job.file { files.append(job.file) }
            if job.isDocument { jobs.append(job) }
        }
        return (files, jobs)
    }

    /// The documents of one file (the file's own accounting is in `ImportFile`).
    static func list(_ path: String, source inputSource: RecordSource?) throws -> [DocumentJob] {
        // The path tells the source only when none was given (and a member upload's folder).
        let (inferred, folder) = inputSource == nil || inputSource == .memberUpload ? ImportFile.source(for: path) : (.insurer, nil)
        let source = inputSource ?? inferred
        var uploader: UInt64? = nil
        var uploaderProblem: DocumentProblem? = nil
        if source == .memberUpload {
            if let f = folder, let pid = StableHash.parseHex(f) { uploader = pid } else {
                uploaderProblem = DocumentProblem(.unknownPerson, "a member upload must sit in import/<person-id>/ (16 hex digits); '\(folder ?? "")' is not a person id")
            }
        }
        // A regular file, or the input fails; its identity as listed and its first bytes in one open.
        let (opened, magic) = try firstBytes(path, 4)
        let identity = opened.identity, size = identity.size
        if magic.starts(with: [0x50, 0x4B, 0x03, 0x04]) || magic.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            let sha = try SHA256Digest.hex(of: opened).sha256
            do {
                let archive = try ZipArchive(path: path, limits: ZipLimits(maxEntryBytes: maxDecompressed, maxTotalBytes: 16 << 30, maxEntries: 200_000))
                let file = ImportFile(path: path, container: .zip(archive), bytes: size, sha256: sha, source: source, uploader: uploader, uploaderProblem: uploaderProblem)
                file.identity = identity
                // A member export (kenpo export): its export.json describes the ZIP and is no
                // document, so it is skipped (not counted); its XML files are read as any others.
                let exportManifest = Self.exportManifest(in: archive)
                if exportManifest != nil && source != .memberUpload {
                    Log.warning("import: \(path) is a member's kenpo export read as \(source.rawValue) data: its records gain the source '\(source.rawValue)'; a member's own export belongs in the inbox's import/<person-id>/ folder (member upload)")
                }
                var jobs: [DocumentJob] = []
                for e in archive.entries where !e.isDirectory && e != exportManifest {
                    var refused: DocumentProblem? = e.problem.map { DocumentProblem(.archiveEntryRefused, $0) }
                    if refused == nil, source == .memberUpload, e.uncompressedSize > uploadLimit {
                        refused = DocumentProblem(.uploadTooLarge, "the entry inflates to \(e.uncompressedSize) bytes; a member upload may be at most 10 MB")
                    }
                    jobs.append(DocumentJob(file: file, entry: e, display: archive.displayName(e), refused: refused ?? uploaderProblem))
                }
                if jobs.isEmpty { jobs.append(DocumentJob(file: file, entry: nil, display: path, refused: nil, isDocument: false)) }
                return jobs
            } catch let e as KenpoError {
                if case .io = e { throw e }   // not read at all: a failed input, not a rejected document
                // The archive as a whole cannot be read: one rejected document.
                let file = ImportFile(path: path, container: .xml, bytes: size, sha256: sha, source: source, uploader: uploader, uploaderProblem: uploaderProblem)
                return [DocumentJob(file: file, entry: nil, display: path, refused: DocumentProblem(.archiveEntryRefused, e.description))]
            }
        }
        let gz = GzipByteSource.looksLikeGzip(magic)
        var refused = uploaderProblem
        if source == .memberUpload && size > uploadLimit {
            refused = DocumentProblem(.uploadTooLarge, "the file is \(size) bytes; a member upload may be at most 10 MB (10,485,760 bytes)")
        } else if !gz && size > maxDecompressed {
            refused = DocumentProblem(.archiveEntryRefused, "the file is \(size) bytes; a health document may be at most 256 MB (268,435,456 bytes), as much as a gzip stream or ZIP entry may inflate to")
        }
        // Plain XML is hashed while it is parsed; one never parsed (refused) is hashed here.
        let sha = gz || refused != nil ? try SHA256Digest.hex(of: opened).sha256 : ""
        let file = ImportFile(path: path, container: gz ? .gzip : .xml, bytes: size, sha256: sha, source: source, uploader: uploader, uploaderProblem: uploaderProblem)
        file.identity = identity
        return [DocumentJob(file: file, entry: nil, display: path, refused: refused, opened: gz || refused != nil ? nil : opened)]
    }

    /// The `export.json` entry of a kenpo member export, told by its content (a JSON object whose
    /// format is `kenpo-export`, at most 1 MB) — the name only says which entry to look at. Any other
    /// entry, and an export.json that is not such a manifest, is read as a document as before (a
    /// non-XML one is rejected); refused entries (unsafe, encrypted …) stay refused.
    static func exportManifest(in archive: ZipArchive) -> ZipEntry? {
        guard let e = archive.entries.first(where: { $0.path == ExportManifest.entryName && !$0.isDirectory }),
              e.problem == nil, e.uncompressedSize <= ExportManifest.maxBytes,
              let bytes = try? archive.readAll(e), ExportManifest.recognise(bytes) != nil else { return nil }
        return e
    }

    /// The first `n` bytes of a regular file, and the file opened (never blocks: `InputFile`; its
    /// identity is the file's as listed).
    static func firstBytes(_ path: String, _ n: Int) throws -> (FileByteSource, [UInt8]) {
        let file = try FileByteSource(path: path)
        var b = [UInt8](repeating: 0, count: n)
        let got = (try? b.withUnsafeMutableBytes { try file.read(into: $0) }) ?? 0
        file.rewind()
        return (file, Array(b[0..<got]))
    }
}

/// The documents of an import's inputs in input order, listed one file at a time: folders are
/// walked lazily (`DirectoryWalk`), so no list of every file is held (a night's import may be a
/// million files).
final class ImportListing {
    private let nextInput: () throws -> ImportInput?
    private var walker: DirectoryWalk?
    private var source: RecordSource?
    private var pending: [DocumentJob] = []
    private var pendingIndex = 0

    convenience init(_ inputs: [ImportInput]) {
        var i = 0
        self.init(next: {
            guard i < inputs.count else { return nil }
            i += 1
            return inputs[i - 1]
        })
    }

    init(next: @escaping () throws -> ImportInput?) { nextInput = next }

    /// The next document (or stand-in of a file without one); nil at the end. Throws when a file
    /// cannot be listed (not a regular file, gone, unreadable): that input fails.
    func next() throws -> DocumentJob? {
        while pendingIndex >= pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            guard let path = try nextPath() else { return nil }
            pending = try ImportExpansion.list(path, source: source)
            for k in pending.indices { pending[k].lastOfFile = k == pending.count - 1 }
        }
        let job = pending[pendingIndex]
        pendingIndex += 1
        return job
    }

    private func nextPath() throws -> String? {
        while true {
            if let w = walker {
                if let p = w.next() { return p }
                walker = nil
            }
            guard let input = try nextInput() else { return nil }
            source = input.source
            if FileSystem.isDirectory(input.path) {
                walker = DirectoryWalk(input.path)
            } else {
                // A file (a regular one: checked when listed); gone since it was named, it fails as an input.
                return input.path
            }
        }
    }
}

/// Regular files under a folder in name order, depth first, hidden files skipped, symbolic links
/// not followed, one at a time: only the listings of the folders on the current path are held. The entry types come from the folder listing itself
/// (`d_type`), so a file costs no `lstat` (a stat per file was a few % of an import).
final class DirectoryWalk {
    private enum Kind { case file, folder, other, unknown }
    private var stack: [(dir: String, entries: [(name: String, kind: Kind)], next: Int)] = []

    init(_ dir: String) { stack.append((dir, Self.list(dir), 0)) }

    /// The folder's entries by name (`FileSystem.listDirectory`'s order), with their types.
    private static func list(_ dir: String) -> [(name: String, kind: Kind)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(name: String, kind: Kind)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<(raw.firstIndex(of: 0) ?? raw.count)]), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let kind: Kind
            switch Int32(e.pointee.d_type) {
            case Int32(DT_REG): kind = .file
            case Int32(DT_DIR): kind = .folder
            case Int32(DT_UNKNOWN): kind = .unknown
            default: kind = .other   // symbolic links, FIFOs, devices: not followed, not read
            }
            out.append((name, kind))
        }
        return out.sorted { $0.name < $1.name }
    }

    func next() -> String? {
        while !stack.isEmpty {
            let top = stack.count - 1
            guard stack[top].next < stack[top].entries.count else { stack.removeLast(); continue }
            let (name, listed) = stack[top].entries[stack[top].next]
            stack[top].next += 1
            if name.hasPrefix(".") { continue }
            let p = stack[top].dir + "/" + name
            var kind = listed
            if kind == .unknown {
                // The file system did not say: ask it (without following a link).
                var st = stat()
                guard lstat(p, &st) == 0 else { continue }
                kind = (st.st_mode & S_IFMT) == S_IFDIR ? .folder : (st.st_mode & S_IFMT) == S_IFREG ? .file : .other
            }
            switch kind {
            case .folder: stack.append((p, Self.list(p), 0))
            case .file: return p
            default: continue
            }
        }
        return nil
    }
}

/// Hashes what passes through (plain XML files are hashed while parsed, not read twice).
final class HashingByteSource: ByteSource {
    private let inner: ByteSource
    let digest = SHA256Digest()
    /// Bytes passed through so far.
    private(set) var bytes = 0
    var displayName: String { inner.displayName }
    init(_ inner: ByteSource) { self.inner = inner }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        if n > 0 { digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        bytes += n
        return n
    }

    /// Reads the rest of the source, so the digest covers all of it (a document the parser gave up
    /// on part-way: the manifest carries the whole file's SHA-256).
    func drain() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while try read(into: buffer) > 0 {}
    }
}

/// Refuses to deliver more than `limit` bytes: a member upload inflating beyond 10 MB is refused
/// as such, whatever container it came in.
final class LimitedByteSource: ByteSource {
    private let inner: ByteSource
    private let limit: Int
    private let problem: DocumentProblem
    private var delivered = 0
    var displayName: String { inner.displayName }
    init(_ inner: ByteSource, limit: Int, problem: DocumentProblem) {
        self.inner = inner; self.limit = limit; self.problem = problem
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        delivered += n
        if delivered > limit { throw problem }
        return n
    }
}
