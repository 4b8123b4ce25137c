// The whole nightly run at several sizes: `kenpo generate --health --checkup-share 1` (once per size and
// seed) and `kenpo run` over a pipeline with every stage the generator feeds (eligibility, import with
// grading, codes per insurer, reissue; inputs kept in place), unpinned, from an empty data folder.
// Its anchor is linear growth from the smallest size: time within 15% of linear; peak RSS under 500 MB
// at 1,000,000 members (its growth with members is shown, without a target: what must stay flat is
// memory against document size, the docsize comparison).
import Foundation
import KenpoCore

struct NightlyRunResult {
    var members: Int
    var root: String
    var inputBytes: Int
    var inputFiles: Int
    var run: Measurement
    /// Read from disk machine-wide during the run (`bytesReadFromDisk`), nil where /proc/vmstat is missing.
    var diskRead: Int?
    /// The run's steps in order (seconds, peak RSS), from its published manifest.
    var steps: [Manifest.Step]
    var outbox: String { nightlyOutbox(root: root) }
}

/// The folder of one size's nightly run (its inbox, deployment root and data folder `var`): the run
/// writes it and the SHA-256 comparison reads an earlier run's outputs from it.
func nightlyRoot(members n: Int, _ o: BenchOptions) -> String {
    absolutePath("\(o.dir)/kenpo-bench/run/n\(n)-s\(o.seed)")
}

/// The published outputs of the run in `root`.
func nightlyOutbox(root: String) -> String { root + "/var/outbox/latest" }

struct NightlyRunReport {
    var rows: [ResultRow] = []
    var runs: [NightlyRunResult] = []
    var notes: [String] = []
}

/// Bytes of disk one size needs: about 8.5 KB per member for the generated inbox (small files round up
/// to blocks) and 4.5 KB for the data folder (measured at 100,000 members), with a fifth to spare.
private func diskNeeded(members: Int, generated: Bool) -> Int {
    Int(Double(members) * ((generated ? 0 : 8_500) + 4_500) * 1.2)
}

func runNightlyBench(_ o: BenchOptions, env: BenchEnvironment, sizes: [Int]) -> NightlyRunReport {
    var report = NightlyRunReport()
    print("\n== the nightly run (kenpo run) at \(sizes.map(short).joined(separator: ", ")) members")
    for n in sizes {
        switch nightlyRun(members: n, o, env: env) {
        case .success(let r): report.runs.append(r)
        case .failure(let note):
            report.notes.append(note.message)
            warn("run: " + note.message)
        }
    }
    guard let base = report.runs.first else { return report }
    for r in report.runs {
        let mbps = Double(r.inputBytes) / 1e6 / r.run.seconds
        let kenpo = "\(seconds(r.run.seconds)) wall, \(seconds(r.run.cpuSeconds)) CPU, \(rate(mbps)) MB/s"
        let input = "\(short(r.members)) members, \(mb(r.inputBytes)), \(grouped(r.inputFiles)) files"
        if r.members == base.members {
            report.rows.append(ResultRow(stage: "nightly run", input: input, kenpo: kenpo, anchor: "(the base of the linear line)",
                                         ratio: "1.00×", kenpoRSSKiB: r.run.maxRSSKiB))
        } else {
            let scale = Double(r.members) / Double(base.members)
            let linear = base.run.seconds * scale
            let growth = r.run.seconds / linear
            report.rows.append(ResultRow(stage: "nightly run", input: input, kenpo: kenpo,
                                         anchor: "linear from \(short(base.members)): \(seconds(linear))", ratio: String(format: "%.2f×", growth),
                                         target: "≤ 1.15× linear", met: growth <= 1.15, kenpoRSSKiB: r.run.maxRSSKiB))
        }
    }
    if let top = report.runs.last, top.members != base.members {
        let growth = Double(top.run.maxRSSKiB) / Double(base.run.maxRSSKiB)
        report.rows.append(ResultRow(stage: "nightly run peak RSS", input: "\(short(base.members)) → \(short(top.members)) members",
                                     kenpo: String(format: "%.0f MB at %@", top.run.peakMB, short(top.members)),
                                     anchor: String(format: "%.0f MB at %@", base.run.peakMB, short(base.members)),
                                     ratio: String(format: "%.1f×", growth),
                                     kenpoRSSKiB: top.run.maxRSSKiB, anchorRSSKiB: base.run.maxRSSKiB))
    }
    let million = report.runs.first { $0.members == 1_000_000 }
    report.rows.append(ResultRow(stage: "nightly run peak RSS at 1M", input: "1M members",
                                 kenpo: million.map { String(format: "%.0f MB", $0.run.peakMB) } ?? "not run at 1M",
                                 anchor: "–", ratio: "–", target: "< 500 MB", met: million.map { $0.run.peakMB < 500 },
                                 kenpoRSSKiB: million?.run.maxRSSKiB))
    return report
}

struct SkipNote: Error { var message: String }

/// Generates (when missing or stale) and runs one size.
func nightlyRun(members n: Int, _ o: BenchOptions, env: BenchEnvironment) -> Result<NightlyRunResult, SkipNote> {
    let root = nightlyRoot(members: n, o)
    let stampPath = root + "/bench-stamp.txt"
    let stamp = "generator=\(RosterGenerator.version)/\(HealthRecordGenerator.version) members=\(n) seed=\(o.seed) run_date=\(runDateText) health checkup_share=1\n"
    let generated = stampMatches(stampPath, stamp)
    makeFolder(absolutePath("\(o.dir)/kenpo-bench/run"))
    // The data folder of an earlier run of this size is removed first: its room counts as free.
    removeIfPresent(root + "/var")
    let free = freeBytes(absolutePath("\(o.dir)/kenpo-bench/run"))
    let need = diskNeeded(members: n, generated: generated)
    if free < need {
        return .failure(SkipNote(message: String(format: "%@ members skipped: needs about %.1f GB of disk, %.1f GB free", short(n), Double(need) / 1e9, Double(free) / 1e9)))
    }
    // A deployment root: its own pipelines/ (profiles, grading, reference tables, formats), the demo code key.
    makeFolder(root + "/pipelines")
    makeFolder(root + "/keys")
    for sub in ["profiles", "grading", "reference", "formats"] {
        removeIfPresent("\(root)/pipelines/\(sub)")
        copyTree("pipelines/\(sub)", to: "\(root)/pipelines/\(sub)", hint: " (run kenpo-bench from the package root)")
    }
    removeIfPresent(root + "/keys/demo-code-key")
    copyTree("samples/keys/demo-code-key", to: root + "/keys/demo-code-key")
    do { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: root + "/keys/demo-code-key") } catch {
        fail("cannot make \(root)/keys/demo-code-key private: \(error.localizedDescription)", status: 1)
    }

    if generated {
        print("  \(short(n)): data \(root)/inbox (already generated)")
    } else {
        removeIfPresent(root + "/inbox")
        removeIfPresent(stampPath)
        let g = measure([env.kenpo, "generate", "--members", String(n), "--seed", String(o.seed), "--out", "inbox", "--health",
                         "--checkup-share", "1", "--date", runDateText],
                        stdoutPath: root + "/generate.out", stderrPath: root + "/generate.err", directory: root)
        guard g.status == 0 else { fail("kenpo generate \(g.how): \(tail(root + "/generate.err", lines: 10))", status: 1) }
        writeStamp(stampPath, stamp)
        print(String(format: "  %@: data %@/inbox generated in %.1f s", short(n), root, g.seconds))
    }
    let inbox = filesUnder(root + "/inbox")
    writePipeline(root: root, members: n, seed: o.seed)

    let load = loadAverage()
    let readBefore = bytesReadFromDisk()
    let m = measure([env.kenpo, "run", "pipelines/bench.pipeline", "--data", "var", "--date", runDateText],
                    stdoutPath: root + "/run.out", stderrPath: root + "/run.err", directory: root)
    guard m.status == 0 || m.status == 3 else {
        fail("kenpo run (\(short(n)) members) \(m.how); its stderr (\(root)/run.err) ends:\n\(tail(root + "/run.err", lines: 20))", status: 1)
    }
    let readAfter = bytesReadFromDisk()
    let diskRead = readBefore.flatMap { b in readAfter.map { $0 - b } }
    let steps = publishedManifest(data: root + "/var")?.steps ?? []
    print(String(format: "  %@: kenpo run %.2f s wall, %.2f s CPU, peak %.0f MB, exit %d (load before: %@)", short(n), m.seconds, m.cpuSeconds,
                 m.peakMB, m.status ?? -1, load))
    return .success(NightlyRunResult(members: n, root: root, inputBytes: inbox.bytes, inputFiles: inbox.paths.count,
                                      run: m, diskRead: diskRead, steps: steps))
}

/// The pipeline over everything `kenpo generate --health` wrote into root/inbox.
private func writePipeline(root: String, members: Int, seed: UInt64) {
    let profiles = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/inbox")) ?? [])
        .filter { $0 != "reissue" && FileManager.default.fileExists(atPath: "\(root)/inbox/\($0)/roster.csv") }.sorted()
    var text = "# Written by kenpo-bench: \(members) members, seed \(seed).\n[pipeline]\nname = bench-\(members)\n\n[eligibility]\n"
    for p in profiles { text += "\(p) = inbox/\(p)/roster.csv\n" }
    var sources: [String] = []
    for p in profiles {
        for sub in ["checkups", "transfer", "notices", "prescriptions"] where FileManager.default.fileExists(atPath: "\(root)/inbox/\(p)/\(sub)") {
            sources.append("inbox/\(p)/\(sub)")
        }
    }
    text += "\n[import]\ninsurer = \(sources.joined(separator: " "))\n\n[codes]\nkey_file = keys/demo-code-key\n"
    for p in profiles where FileManager.default.fileExists(atPath: "\(root)/inbox/\(p)/mailing.csv") { text += "\(p) = inbox/\(p)/mailing.csv\n" }
    if FileManager.default.fileExists(atPath: root + "/inbox/reissue/requests.csv") { text += "\n[reissue]\nrequests = inbox/reissue/requests.csv\n" }
    // Inputs stay in the inbox, so the next run of this size reads the same files.
    text += "\n[archive]\nmode = keep\n"
    do { try text.write(toFile: root + "/pipelines/bench.pipeline", atomically: true, encoding: .utf8) } catch {
        fail("cannot write \(root)/pipelines/bench.pipeline: \(error.localizedDescription)", status: 1)
    }
}

/// Steps by size: seconds and peak memory per size, and the time growth over the size growth.
func stepTable(_ runs: [NightlyRunResult]) -> (headers: [String], rows: [[String]])? {
    guard let base = runs.first, !base.steps.isEmpty else { return nil }
    var names: [String] = []
    for r in runs { for s in r.steps where !names.contains(s.name) { names.append(s.name) } }
    var headers = ["step"]
    for r in runs { headers.append("\(short(r.members)): s / peak MB") }
    if let top = runs.last, runs.count > 1 { headers.append("time \(short(base.members))→\(short(top.members)) (members ×\(top.members / base.members))") }
    var rows: [[String]] = []
    for name in names {
        var row = [name]
        for r in runs {
            row.append(r.steps.first { $0.name == name }.map { String(format: "%.1f / %.0f", $0.seconds, Double($0.peakRssBytes) / 1e6) } ?? "–")
        }
        if runs.count > 1, let a = base.steps.first(where: { $0.name == name }), let b = runs.last!.steps.first(where: { $0.name == name }) {
            row.append(a.seconds > 0 ? String(format: "%.1f×", b.seconds / a.seconds) : "–")
        }
        rows.append(row)
    }
    var outside = ["outside the steps"]
    for r in runs { outside.append(String(format: "%.1f", r.run.seconds - r.steps.reduce(0) { $0 + $1.seconds })) }
    if runs.count > 1 {
        let a = base.run.seconds - base.steps.reduce(0) { $0 + $1.seconds }, b = runs.last!.run.seconds - runs.last!.steps.reduce(0) { $0 + $1.seconds }
        outside.append(a > 0 ? String(format: "%.1f×", b / a) : "–")
    }
    rows.append(outside)
    var cpu = ["CPU (whole run)"]
    for r in runs { cpu.append(String(format: "%.1f", r.run.cpuSeconds)) }
    if runs.count > 1 { cpu.append(String(format: "%.1f×", runs.last!.run.cpuSeconds / base.run.cpuSeconds)) }
    rows.append(cpu)
    // The kernel's share and what came from disk: a run whose inputs no longer fit the page cache
    // reads them from disk, and that CPU (virtio, copies, wake-ups) is the kernel's, not kenpo's.
    var system = ["of it system (kernel)"]
    for r in runs { system.append(String(format: "%.1f", r.run.systemSeconds)) }
    if runs.count > 1 { system.append(base.run.systemSeconds > 0 ? String(format: "%.1f×", runs.last!.run.systemSeconds / base.run.systemSeconds) : "–") }
    rows.append(system)
    var disk = ["read from disk (MB, machine-wide)"]
    for r in runs { disk.append(r.diskRead.map { String(format: "%.0f", Double($0) / 1e6) } ?? "–") }
    if runs.count > 1 { disk.append("–") }
    rows.append(disk)
    return (headers, rows)
}
