// Checkup import: `kenpo import` over generated hc08 checkup documents against
//   xmllint --stream --noout        libxml2's streaming reader alone (no extraction): the floor, one core
//   anchors/import_anchor.py        Python lxml iterparse pulling the same fields from the same documents,
//                                   one core (what it does and leaves out: its docstring)
// and `kenpo import --workers 2` against `--workers 1`. Members are loaded once with `kenpo eligibility`;
// each import gets a fresh copy of that data folder, so none of them sees another's records.
import Foundation
import KenpoCore

func runImportBench(_ o: BenchOptions, env: BenchEnvironment, anchors: Anchors) -> [ResultRow] {
    let profiles: [InsurerProfile]
    do { profiles = try ["sample-kamome", "sample-tsubame"].map { try InsurerProfile.resolve($0) } } catch {
        fail("\(error)\n(run kenpo-bench from the package root)")
    }
    let dir = absolutePath("\(o.dir)/kenpo-bench/import/\(o.importMB)mb-s\(o.seed)")
    // About 8.5 KB of checkups per member at two checkups each: the generator gives checkups to ages
    // 40-74 only (measured: 725 MB for 85,333 members).
    let members = max(200, o.importMB * 1_000_000 / 8_500)
    let stamp = "generator=\(RosterGenerator.version)/\(HealthRecordGenerator.version) members=\(members) seed=\(o.seed) run_date=\(runDateText) checkups=2/member\n"
    let stampPath = dir + "/bench-stamp.txt"
    print("\n== checkup import: about \(o.importMB) MB of hc08 documents (\(grouped(members)) members, two checkups each)")
    if stampMatches(stampPath, stamp) {
        print("data: \(dir) (already generated)")
    } else {
        removeIfPresent(dir)
        makeFolder(dir)
        let t0 = monotonicSeconds()
        do {
            var h = HealthRecordOptions(seed: o.seed, runDate: runDate, outDirectory: dir)
            h.checkupShare = 1.0; h.checkupYears = 2; h.noticeShare = 0; h.prescriptionShare = 0; h.transferZip = false
            let g = try HealthRecordGenerator(h)
            _ = try RosterGenerator.generate(GeneratorOptions(members: members, seed: o.seed, faultyShare: 0, runDate: runDate,
                                                              profiles: profiles, outDirectory: dir), onSubject: { try g.add($0) })
            _ = try g.finish()
        } catch { fail("generating the checkups failed: \(error)", status: 1) }
        writeStamp(stampPath, stamp)
        print(String(format: "data: %@ generated in %.1f s", dir, monotonicSeconds() - t0))
    }
    // The document set: every XML file under the profiles' checkups/ folders.
    var roots: [String] = []
    var files: [String] = []
    var bytes = 0
    for p in profiles {
        let root = "\(dir)/\(p.name)/checkups"
        guard FileManager.default.fileExists(atPath: root) else { continue }
        roots.append(root)
        let found = filesUnder(root, suffix: ".xml")
        files += found.paths
        bytes += found.bytes
    }
    guard !files.isEmpty else { fail("no checkup documents under \(dir)", status: 1) }
    let listPath = dir + "/files.lst"
    writeFileList(files, to: listPath)
    let input = "\(grouped(files.count)) docs, \(mb(bytes))"
    print("documents: \(input)")

    let base = dir + "/var-base"
    removeIfPresent(base)
    var elig = [env.kenpo, "eligibility", "--data", base, "--date", runDateText]
    for p in profiles { elig += ["--profile", p.name, "\(dir)/\(p.name)/roster.csv"] }
    let e = measure(elig, stdoutPath: dir + "/eligibility.out", stderrPath: dir + "/eligibility.err")
    guard e.status == 0 || e.status == 3 else { fail("kenpo eligibility (loading the members) \(e.how): \(tail(e.stderrPath, lines: 10))", status: 1) }

    let one = cpuList(cores: 1)
    var xmllintRuns: [Measurement] = [], lxmlRuns: [Measurement] = [], w1: [Measurement] = [], w2: [Measurement] = []
    var problems: [String] = []
    var anchorResults: Int?
    for n in 1...o.runs {
        if let xmllint = anchors.xmllint, let xargs = anchors.xargs {
            let m = measure([xargs, "-0", "-a", listPath, xmllint, "--stream", "--noout"],
                            stdoutPath: dir + "/xmllint.out", stderrPath: dir + "/xmllint.err", pin: one)
            if m.status == 0 { xmllintRuns.append(m) } else if n == 1 { problems.append("xmllint \(m.how): \(tail(m.stderrPath, lines: 5))") }
            print(String(format: "  run %d  xmllint --stream --noout  %7.2f s  %6.1f MB/s  peak %5.0f MB", n, m.seconds, Double(bytes) / 1e6 / m.seconds, m.peakMB))
        }
        if let python = anchors.python, anchors.lxml {
            let out = dir + "/lxml-out"
            removeIfPresent(out)
            let m = measure([python, "\(Anchors.scripts)/import_anchor.py", "--files-from", listPath, "--out", out],
                            stdoutPath: dir + "/lxml.out", stderrPath: dir + "/lxml.err", pin: one)
            if m.status == 0 {
                lxmlRuns.append(m)
                let line = tail(m.stdoutPath, lines: 1)
                if let r = line.range(of: #"results=\d+"#, options: .regularExpression) { anchorResults = Int(line[r].dropFirst(8)) }
                print(String(format: "  run %d  Python lxml iterparse     %7.2f s  %6.1f MB/s  peak %5.0f MB  (%@)", n, m.seconds,
                             Double(bytes) / 1e6 / m.seconds, m.peakMB, line.trimmingCharacters(in: .whitespacesAndNewlines)))
            } else if n == 1 {
                problems.append("the lxml anchor \(m.how); its stderr (\(m.stderrPath)) ends:\n\(tail(m.stderrPath, lines: 10))")
            }
        }
        for workers in [1, 2] {
            let data = dir + "/var-w\(workers)"
            removeIfPresent(data)
            copyTree(base, to: data)
            let m = measure([env.kenpo, "import", "--data", data, "--date", runDateText, "--source", "insurer", "--workers", String(workers)] + roots,
                            stdoutPath: dir + "/import-w\(workers).out", stderrPath: dir + "/import-w\(workers).err",
                            pin: cpuList(cores: workers))
            guard m.status == 0 || m.status == 3 else { fail("kenpo import --workers \(workers) \(m.how): \(tail(m.stderrPath, lines: 10))", status: 1) }
            if workers == 1 { w1.append(m) } else { w2.append(m) }
            print(String(format: "  run %d  kenpo import --workers %d  %7.2f s  %6.1f MB/s  peak %5.0f MB", n, workers, m.seconds,
                         Double(bytes) / 1e6 / m.seconds, m.peakMB))
            if n == 1 && workers == 1 {
                // The anchor must have pulled as many results as kenpo stored (the first import stores them all).
                let outputs = publishedManifest(data: data)?.outputs ?? []
                func rows(_ name: String) -> Int { outputs.first { $0.path == name }?.rows ?? 0 }
                let kenpoResults = rows("checkup_results.csv"), kenpoDocs = rows("checkups.csv")
                if kenpoDocs != files.count { problems.append("kenpo stored \(kenpoDocs) checkups from \(files.count) documents (see \(m.stderrPath))") }
                if let a = anchorResults {
                    if a == kenpoResults { print("  extraction check: kenpo and the lxml anchor both took \(grouped(a)) results from \(grouped(files.count)) documents") }
                    else { problems.append("the lxml anchor took \(a) results, kenpo \(kenpoResults): they do not extract the same") }
                }
            }
        }
    }
    for p in problems { checkFailed("import: " + p) }

    let k1 = medianRun(w1), k2 = medianRun(w2)
    func speed(_ m: Measurement) -> Double { Double(bytes) / 1e6 / m.seconds }
    let kenpo1 = "1 worker \(rate(speed(k1))) MB/s (\(seconds(k1.seconds)))"
    var rows: [ResultRow] = []
    if xmllintRuns.count == o.runs {
        let x = medianRun(xmllintRuns)
        let share = x.seconds / k1.seconds
        rows.append(ResultRow(stage: "checkup import vs xmllint", input: input, kenpo: kenpo1,
                              anchor: "xmllint --stream --noout \(rate(speed(x))) MB/s", ratio: String(format: "%.0f%%", share * 100),
                              target: "≥ 90%", met: share >= 0.9, kenpoRSSKiB: k1.maxRSSKiB, anchorRSSKiB: x.maxRSSKiB))
        // MB per CPU-second (user + system, median), both pinned to one core: wall time also holds the
        // disk reads of whichever side found the documents evicted from the page cache.
        let kCPU = median(w1.map(\.cpuSeconds)), xCPU = median(xmllintRuns.map(\.cpuSeconds))
        rows.append(ResultRow(stage: "checkup import vs xmllint, CPU time", input: input,
                              kenpo: "1 worker \(rate(Double(bytes) / 1e6 / kCPU)) MB per CPU-s (\(seconds(kCPU)) CPU)",
                              anchor: "xmllint \(rate(Double(bytes) / 1e6 / xCPU)) MB per CPU-s (\(seconds(xCPU)) CPU)",
                              ratio: String(format: "%.0f%%", xCPU / kCPU * 100), target: "≥ 90%", met: xCPU / kCPU >= 0.9,
                              kenpoRSSKiB: k1.maxRSSKiB, anchorRSSKiB: x.maxRSSKiB))
    } else {
        rows.append(.skipped(stage: "checkup import vs xmllint", input: input, kenpo: kenpo1, target: "≥ 90%", kenpoRSSKiB: k1.maxRSSKiB))
    }
    if lxmlRuns.count == o.runs {
        let l = medianRun(lxmlRuns)
        rows.append(ResultRow(stage: "checkup import vs lxml", input: input, kenpo: kenpo1,
                              anchor: "Python lxml iterparse \(rate(speed(l))) MB/s", ratio: String(format: "%.1f×", l.seconds / k1.seconds),
                              kenpoRSSKiB: k1.maxRSSKiB, anchorRSSKiB: l.maxRSSKiB))
    } else {
        rows.append(.skipped(stage: "checkup import vs lxml", input: input, kenpo: kenpo1, kenpoRSSKiB: k1.maxRSSKiB))
    }
    let scaling = k1.seconds / k2.seconds
    rows.append(ResultRow(stage: "checkup import, 2 workers vs 1", input: input,
                          kenpo: "2 workers \(rate(speed(k2))) MB/s (\(seconds(k2.seconds)))", anchor: "1 worker \(rate(speed(k1))) MB/s",
                          ratio: String(format: "%.2f×", scaling), target: "≥ 1.8×", met: cpuCount >= 2 ? scaling >= 1.8 : nil,
                          kenpoRSSKiB: k2.maxRSSKiB, anchorRSSKiB: k1.maxRSSKiB))
    if cpuCount < 2 { warn("import: this machine has one core: the 2-worker row measures nothing useful") }
    return rows
}
