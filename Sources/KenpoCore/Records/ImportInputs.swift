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
}

/// One file read by an import: a manifest input with its own record counts.
final class ImportFile {
    enum Container { case xml, gzip, zip(ZipArchive) }
    let path: String
    let container: Container
    let bytes: Int
    var sha256: String
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
        let parts = path.split(separator: "/").map(String.init)
        for i in stride(from: parts.count - 3, through: 0, by: -1) where parts[i] == "import" {
            if StableHash.parseHex(parts[i + 1]) != nil { return (.memberUpload, parts[i + 1]) }
        }
        if parts.count >= 3, parts[parts.count - 2] == "import", parts[parts.count - 3] == "inbox" { return (.memberUpload, nil) }
        if parts.contains("mynaportal") { return (.mynaportal, nil) }
        return (.insurer, nil)
    }
}

/// One document to read: a whole file, or one ZIP entry.
struct DocumentJob {
    let file: Int
    let entry: ZipEntry?
    let display: String
    /// Refused before reading (too large, unsafe entry …).
    let refused: DocumentProblem?
}

enum ImportExpansion {
    /// A member upload larger than this is refused (Mynaportal's own limit for an imported file).
    static let uploadLimit = 10 * 1024 * 1024
    /// A gzip stream or ZIP entry may not inflate beyond this (decompression bombs).
    static let maxDecompressed = 256 * 1024 * 1024

    static func expand(_ inputs: [ImportInput]) throws -> (files: [ImportFile], jobs: [DocumentJob]) {
        var files: [ImportFile] = []
        var jobs: [DocumentJob] = []
        for input in inputs {
            var paths: [String] = []
            if FileSystem.isDirectory(input.path) {
                walk(input.path, into: &paths)
            } else if FileSystem.exists(input.path) {
                paths.append(input.path)
            } else {
                throw KenpoError.usage("\(input.path): no such file or folder")
            }
            for path in paths {
                let (inferred, folder) = ImportFile.source(for: path)
                let source = input.source ?? inferred
                var uploader: UInt64? = nil
                var uploaderProblem: DocumentProblem? = nil
                if source == .memberUpload {
                    if let f = folder, let pid = StableHash.parseHex(f) { uploader = pid } else {
                        uploaderProblem = DocumentProblem(.unknownPerson, "a member upload must sit in import/<person-id>/ (16 hex digits); '\(folder ?? "")' is not a person id")
                    }
                }
                var st = stat()
                guard stat(path, &st) == 0 else { throw KenpoError.io(path: path, message: "cannot read: \(String(cString: strerror(errno)))") }
                let size = Int(st.st_size)
                let magic = firstBytes(path, 4)
                let fileIndex = files.count
                if magic.starts(with: [0x50, 0x4B, 0x03, 0x04]) || magic.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
                    let sha = try SHA256Digest.hex(ofFile: path).sha256
                    do {
                        let archive = try ZipArchive(path: path, limits: ZipLimits(maxEntryBytes: maxDecompressed, maxTotalBytes: 16 << 30, maxEntries: 200_000))
                        files.append(ImportFile(path: path, container: .zip(archive), bytes: size, sha256: sha, source: source, uploader: uploader, uploaderProblem: uploaderProblem))
                        // A member export (kenpo export): its export.json describes the ZIP and is no
                        // document, so it is skipped (not counted); its XML files are read as any others.
                        let exportManifest = Self.exportManifest(in: archive)
                        if exportManifest != nil && source != .memberUpload {
                            Log.warning("import: \(path) is a member's kenpo export read as \(source.rawValue) data: its records gain the source '\(source.rawValue)'; a member's own export belongs in the inbox's import/<person-id>/ folder (member upload)")
                        }
                        for e in archive.entries where !e.isDirectory && e != exportManifest {
                            var refused: DocumentProblem? = e.problem.map { DocumentProblem(.archiveEntryRefused, $0) }
                            if refused == nil, source == .memberUpload, e.uncompressedSize > uploadLimit {
                                refused = DocumentProblem(.uploadTooLarge, "the entry inflates to \(e.uncompressedSize) bytes; a member upload may be at most 10 MB")
                            }
                            jobs.append(DocumentJob(file: fileIndex, entry: e, display: archive.displayName(e), refused: refused ?? uploaderProblem))
                        }
                    } catch let e as KenpoError {
                        // The archive as a whole cannot be read: one rejected document.
                        files.append(ImportFile(path: path, container: .xml, bytes: size, sha256: sha, source: source, uploader: uploader, uploaderProblem: uploaderProblem))
                        jobs.append(DocumentJob(file: fileIndex, entry: nil, display: path, refused: DocumentProblem(.archiveEntryRefused, e.description)))
                    }
                    continue
                }
                let gz = GzipByteSource.looksLikeGzip(magic)
                let sha = gz ? try SHA256Digest.hex(ofFile: path).sha256 : ""   // plain XML is hashed while it is parsed
                files.append(ImportFile(path: path, container: gz ? .gzip : .xml, bytes: size, sha256: sha, source: source, uploader: uploader, uploaderProblem: uploaderProblem))
                var refused = uploaderProblem
                if source == .memberUpload && size > uploadLimit {
                    refused = DocumentProblem(.uploadTooLarge, "the file is \(size) bytes; a member upload may be at most 10 MB (10,485,760 bytes)")
                }
                jobs.append(DocumentJob(file: fileIndex, entry: nil, display: path, refused: refused))
            }
        }
        return (files, jobs)
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

    /// Regular files under `dir`, in name order, hidden files skipped, symbolic links not followed.
    static func walk(_ dir: String, into out: inout [String]) {
        for name in FileSystem.listDirectory(dir).sorted() where !name.hasPrefix(".") {
            let p = dir + "/" + name
            var st = stat()
            guard lstat(p, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR { walk(p, into: &out) } else if (st.st_mode & S_IFMT) == S_IFREG { out.append(p) }
        }
    }

    static func firstBytes(_ path: String, _ n: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var b = [UInt8](repeating: 0, count: n)
        let got = read(fd, &b, n)
        return got > 0 ? Array(b[0..<got]) : []
    }
}

/// Hashes what passes through (plain XML files are hashed while parsed, not read twice).
final class HashingByteSource: ByteSource {
    private let inner: ByteSource
    let digest = SHA256Digest()
    var displayName: String { inner.displayName }
    init(_ inner: ByteSource) { self.inner = inner }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        if n > 0 { digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        return n
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
