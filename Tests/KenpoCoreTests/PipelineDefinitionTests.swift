import Foundation
import Testing
@testable import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// The pipeline's file patterns (`Glob`) and symbolic links: a link that a wildcard reaches is the
/// match itself (then refused as an input), never a way to the files behind it.
@Suite struct PipelineDefinitionTests {
    /// inbox/ holds a roster, a link to a file, a folder and a link to a folder outside the inbox.
    func inbox() throws -> ScratchFolder {
        let f = try ScratchFolder()
        let fm = FileManager.default
        try fm.createDirectory(atPath: f.path + "/inbox/a", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: f.path + "/secret", withIntermediateDirectories: true)
        _ = f.file("inbox/roster.csv", "x")
        _ = f.file("inbox/a/roster.csv", "x")
        _ = f.file("secret/roster.csv", "member master")
        try #require(symlink(f.path + "/secret/roster.csv", f.path + "/inbox/link.csv") == 0)
        try #require(symlink(f.path + "/secret", f.path + "/inbox/b") == 0)
        return f
    }

    @Test(arguments: [
        ("inbox/*.csv", ["inbox/link.csv", "inbox/roster.csv"]),
        ("inbox/*/roster.csv", ["inbox/a/roster.csv", "inbox/b"]),   // the linked folder, not secret/roster.csv
        ("inbox/*", ["inbox/a", "inbox/b", "inbox/link.csv", "inbox/roster.csv"]),
        ("inbox/roster.csv", ["inbox/roster.csv"]),
        ("inbox/nothing-*.csv", []),
    ])
    func aWildcardNeverLeadsThroughALink(_ pattern: String, _ expected: [String]) throws {
        let f = try inbox()
        #expect(Glob.expand(f.path + "/" + pattern) == expected.map { f.path + "/" + $0 })
    }

    /// Folders named without a wildcard are the operator's: a deployment whose inbox is a link works.
    @Test func aFolderNamedWithoutAWildcardMayBeALink() throws {
        let f = try inbox()
        try #require(symlink(f.path + "/inbox", f.path + "/linked-inbox") == 0)
        #expect(Glob.expand(f.path + "/linked-inbox/*.csv") == [f.path + "/linked-inbox/link.csv", f.path + "/linked-inbox/roster.csv"])
        #expect(Glob.expand(f.path + "/inbox/b/roster.csv") == [f.path + "/inbox/b/roster.csv"])
    }

    /// The pipeline file hands its steps the link (refused there, naming it) instead of its target.
    @Test func aPipelineListsTheLinkNotItsTarget() throws {
        let f = try inbox()
        try FileManager.default.createDirectory(atPath: f.path + "/pipelines", withIntermediateDirectories: true)
        let path = f.file("pipelines/p.pipeline", "[pipeline]\nname = p\n[eligibility]\nsample = inbox/*/roster.csv inbox/*.csv\n[import]\nauto = inbox/*\n")
        let p = try PipelineDefinition.load(path: path)
        let rosters = try #require(p.eligibility.first?.files)
        #expect(rosters == ["inbox/a/roster.csv", "inbox/b", "inbox/link.csv", "inbox/roster.csv"].map { f.path + "/" + $0 })
        #expect(!rosters.contains { $0.hasPrefix(f.path + "/secret") })
        #expect(p.imports.map(\.path).contains(f.path + "/inbox/b"))
        #expect(kenpoErrorMessage { _ = try SHA256Digest.hex(ofFile: f.path + "/inbox/b") }?.contains("a symbolic link") == true)
    }
}
