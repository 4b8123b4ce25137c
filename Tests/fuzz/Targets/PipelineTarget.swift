import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import KenpoCore

/// A small deployment for pipeline files to name: `<scratch>/pipelines/fuzz.pipeline` beside
/// `rosters/`, `health/` and `requests/` with a few files in each.
private let deployment: String = {
    let root = Scratch.folder + "/deployment"
    for dir in ["", "/pipelines", "/rosters", "/health", "/requests"] { mkdir(root + dir, 0o700) }
    for f in ["rosters/a.csv", "rosters/b.csv", "health/c.xml", "health/d.zip", "requests/e.csv"] { Scratch.write([], as: "deployment/" + f) }
    return root
}()

/// Glob patterns that could walk the whole machine (a `/` together with `*`, `?` or `[` in one value)
/// are out of scope: the pipeline author chooses them, and the time they take is the file system's.
private func walksFileSystem(_ text: String) -> Bool {
    for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
        guard let eq = line.firstIndex(of: "=") else { continue }
        let value = line[line.index(after: eq)...]
        if value.contains("/") && value.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) { return true }
        if value.contains("..") { return true }
    }
    return false
}

/// PipelineDefinition.load on arbitrary pipeline files (globs expanded in a small scratch deployment).
/// - A rejected file is a configuration error naming a line of the file (or none).
/// - An accepted one has rejects exit status 0 or 3, retention 0–3650 days when set, an existing
///   file for every expanded input path, a profile name for every eligibility and mailing entry,
///   and confirm_short_roster naming only profiles with rosters.
let pipelineTarget = FuzzTarget(name: "pipeline", summary: "PipelineDefinition.load: configuration errors name real lines; accepted files are consistent") { bytes in
    let t = "pipeline"
    let text = String(decoding: bytes, as: UTF8.self)
    if walksFileSystem(text) { return }
    let path = deployment + "/pipelines/fuzz.pipeline"
    Scratch.write(bytes, as: "deployment/pipelines/fuzz.pipeline")
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    let p: PipelineDefinition
    do { p = try PipelineDefinition.load(path: path) } catch let e as KenpoError {
        if case .configuration(_, let line, let message) = e {
            property(line == nil || (line! >= 1 && line! <= lines), t, "error names line \(line!) of \(lines): \(message)")
        } else if case .usage = e {
        } else { property(false, t, "not a configuration error: \(e)") }
        return
    } catch { property(false, t, "threw \(error)"); return }

    property(p.rejectsExitStatus == 0 || p.rejectsExitStatus == 3, t, "rejects exit status \(p.rejectsExitStatus)")
    if let d = p.retentionDays { property((0...3650).contains(d), t, "retention \(d) days") }
    let files = p.eligibility.flatMap(\.files) + p.imports.map(\.path) + p.mailingLists.flatMap(\.files)
        + p.deletionRequests + p.exportRequests + p.reissueRequests
    for f in files { property(access(f, F_OK) == 0, t, "expanded path \(f) does not exist") }
    for (profile, _) in p.eligibility + p.mailingLists { property(!profile.isEmpty, t, "an entry without a profile name") }
    for name in p.confirmShortRoster { property(p.eligibility.contains { $0.profile == name }, t, "confirm_short_roster names \(name) without a roster") }
}
