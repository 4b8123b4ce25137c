import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// How the import reads its input files: what is a rejected document, what is a failed input.
@Suite struct ImportInputReadingTests {
    /// Lists `paths` and reads their first document as an import worker does.
    func listAndRead(_ paths: [String], before read: () -> Void = {}) throws -> ImportStage.Outcome {
        let (_, jobs) = try ImportExpansion.expand(paths.map { ImportInput(path: $0, source: .insurer) })
        read()
        return ImportStage.read(jobs[0], reader: HealthDocumentReader())
    }

    static let good = cda(#"<entry><observation><code code="9N001000000000001"/><value xsi:type="PQ" value="170" unit="cm"/></observation></entry>"#)

    @Test func aGoodDocumentIsRead() throws {
        let folder = try ScratchFolder()
        let o = try listAndRead([folder.file("a.xml", Self.good)])
        #expect(o.failure == nil)
        #expect(checkup(o.result) != nil)
    }

    /// A document deleted after the import listed it is an I/O failure of that input (exit 1, "No
    /// such file"), never a rejected document.
    @Test func aDocumentThatVanishedAfterListingFailsTheInput() throws {
        let folder = try ScratchFolder()
        let path = folder.file("a.xml", Self.good)
        let o = try listAndRead([path]) { unlink(path) }
        #expect(o.failure?.description == "\(path): cannot read: No such file or directory")
    }

    /// The same for a document that would have been rejected: the file is gone, the input fails.
    @Test func aRejectableDocumentThatVanishedAfterListingFailsTheInput() throws {
        let folder = try ScratchFolder()
        let path = folder.file("a.xml", "<unclosed>")
        let o = try listAndRead([path]) { unlink(path) }
        #expect(o.failure?.description == "\(path): cannot read: No such file or directory")
    }

    /// A document accepted from a file that changed since it was listed (or while it was read) is not
    /// what was listed and hashed: a failed input. One rejected for its bytes stays rejected.
    @Test(arguments: [(true, "<!-- more -->"), (false, "<unclosed>")])
    func aDocumentChangedAfterListingIsNotAccepted(_ wouldBeAccepted: Bool, _ appended: String) throws {
        let folder = try ScratchFolder()
        let path = folder.file("a.xml", Self.good)
        let o = try listAndRead([path]) { folder.append(path, appended) }
        if wouldBeAccepted {
            #expect(o.failure?.description.contains("\(path): the file changed while it was read") == true, "\(String(describing: o.failure))")
        } else {
            #expect(o.failure == nil)
            #expect(problem(o.result)?.reason == .malformedXML)
        }
    }

    /// A plain XML file the parser gives up on part-way is still hashed whole: the manifest carries the
    /// file's SHA-256 and size, not those of the prefix that was parsed.
    @Test func aDocumentRejectedPartWayIsHashedWhole() throws {
        let folder = try ScratchFolder()
        let text = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">" + String(repeating: "<a>", count: 300)
            + String(repeating: "<!-- padding -->\n", count: 50_000) + String(repeating: "</a>", count: 300) + "</ClinicalDocument>"
        let path = folder.file("deep.xml", text)
        let o = try listAndRead([path])
        #expect(problem(o.result)?.reason == .malformedXML)
        let whole = try SHA256Digest.hex(ofFile: path)
        #expect(o.sha256 == whole.sha256)
        #expect(o.bytes == whole.bytes)
    }

    /// A FIFO is never opened: on the command line it is bad usage (exit 2), in a listing a failed input.
    @Test func aFIFOIsRefusedByItsType() throws {
        let folder = try ScratchFolder()
        let fifo = try folder.fifo("a.xml")
        #expect(throws: KenpoError.usage("\(fifo): not a regular file (a FIFO): kenpo reads inputs only from plain files; remove it from the inbox or put the file itself there")) {
            try ImportInput.checkArguments([ImportInput(path: fifo)])
        }
        #expect(throws: KenpoError.usage("\(folder.path)/none.xml: no such file or folder")) {
            try ImportInput.checkArguments([ImportInput(path: folder.path + "/none.xml")])
        }
        try ImportInput.checkArguments([ImportInput(path: folder.path), ImportInput(path: folder.file("b.xml", Self.good))])
        #expect(kenpoErrorMessage { _ = try ImportExpansion.expand([ImportInput(path: fifo)]) }?.contains("\(fifo): not a regular file") == true)
        // Read as a folder, the FIFO is skipped (only regular files are listed).
        let (files, _) = try ImportExpansion.expand([ImportInput(path: folder.path)])
        #expect(files.map { ($0.path as NSString).lastPathComponent } == ["b.xml"])
    }

    /// A plain XML file may be no larger than a gzip stream or ZIP entry may inflate to (256 MB):
    /// refused before it is parsed, and hashed whole for the manifest.
    @Test func aPlainXMLFileOver256MBIsRefusedUnread() throws {
        let folder = try ScratchFolder()
        let path = folder.file("huge.xml", "<a>")
        #expect(truncate(path, off_t(ImportExpansion.maxDecompressed + 1)) == 0)   // sparse: no disk used
        let (files, jobs) = try ImportExpansion.expand([ImportInput(path: path, source: .insurer)])
        #expect(jobs[0].refused?.reason == .archiveEntryRefused)
        #expect(jobs[0].refused?.message.contains("at most 256 MB") == true)
        #expect(files[0].sha256 == (try SHA256Digest.hex(ofFile: path).sha256))
    }
}
