// Roster ingest: `kenpo eligibility` on a generated roster against
//   anchors/eligibility_anchor.py   plain Python (csv + unicodedata), the same normalisation and rejects;
//                                   its rejects are checked against the generator's expected_rejects.csv
//   anchors/pandas_roster_anchor.py pandas read_csv of the same file (encoding, header, every column as
//                                   text); only the read is timed, by the script itself
// Every side is pinned to one core (CPU 0).
import Foundation
import KenpoCore

func runRosterBench(_ o: BenchOptions, env: BenchEnvironment, anchors: Anchors) -> [ResultRow] {
    let profile: InsurerProfile
    do { profile = try InsurerProfile.resolve(o.profile) } catch {
        fail("\(error)\n(run kenpo-bench from the package root, where pipelines/profiles/ is)")
    }
    let dir = absolutePath("\(o.dir)/kenpo-bench/roster/\(profile.name)-\(o.rows)-s\(o.seed)")
    let roster = "\(dir)/\(profile.name)/roster.csv"
    let expectedRejects = "\(dir)/\(profile.name)/expected_rejects.csv"
    let stampPath = "\(dir)/bench-stamp.txt"
    let stamp = "generator=\(RosterGenerator.version) rows=\(o.rows) seed=\(o.seed) faulty_share=0.01 run_date=\(runDateText) profile=\(profile.name) profile_sha256=\(profile.sha256)\n"

    print("\n== roster ingest: \(grouped(o.rows)) rows, profile \(profile.name)")
    if stampMatches(stampPath, stamp) && FileManager.default.fileExists(atPath: roster) {
        print("data: \(roster) (already generated)")
    } else {
        removeIfPresent(dir)
        makeFolder(dir)
        let t0 = monotonicSeconds()
        do {
            _ = try RosterGenerator.generate(GeneratorOptions(members: o.rows, seed: o.seed, faultyShare: 0.01, runDate: runDate,
                                                              profiles: [profile], outDirectory: dir))
        } catch { fail("generating the roster failed: \(error)", status: 1) }
        writeStamp(stampPath, stamp)
        print(String(format: "data: %@ generated in %.1f s", roster, monotonicSeconds() - t0))
    }
    let bytes = fileSize(roster)
    let expectedRejectCount = max(0, (try? String(contentsOfFile: expectedRejects, encoding: .utf8))?.split(separator: "\n").count ?? 1) - 1
    let input = "\(grouped(o.rows)) rows, \(mb(bytes)) \(profile.encoding.rawValue)"
    let pin = cpuList(cores: 1)

    var kenpoRuns: [Measurement] = [], pythonRuns: [Measurement] = [], pandasRuns: [Measurement] = []
    var pandasRead: [Double] = []
    var problems: [String] = []
    let python = anchors.python
    let codec = profile.encoding == .cp932 ? "cp932" : "utf-8-sig"
    // Sides interleaved run by run, so a change in the machine's load hits them alike.
    for n in 1...o.runs {
        let data = "\(dir)/kenpo-var"
        removeIfPresent(data)
        let k = measure([env.kenpo, "eligibility", "--data", data, "--date", runDateText, "--profile", profile.path, roster],
                        stdoutPath: "\(dir)/kenpo.out", stderrPath: "\(dir)/kenpo.err", pin: pin)
        guard k.status == 0 || k.status == 3 else {
            fail("kenpo eligibility \(k.how); its stderr (\(k.stderrPath)) ends:\n\(tail(k.stderrPath, lines: 15))", status: 1)
        }
        kenpoRuns.append(k)
        let rejected = publishedManifest(data: data)?.lists?.rejected
        print(String(format: "  run %d  kenpo eligibility        %7.2f s  peak %5.0f MB", n, k.seconds, k.peakMB))
        if n == 1 {
            if rejected == expectedRejectCount { print("  rejects check: kenpo rejected the \(grouped(expectedRejectCount)) rows the generator made faulty") }
            else { problems.append("kenpo rejected \(rejected.map(String.init) ?? "an unknown number of") rows; the generator planted \(expectedRejectCount) (\(k.stdoutPath))") }
        }

        if let python {
            let pyOut = "\(dir)/python-out"
            removeIfPresent(pyOut)
            let p = measure([python, "\(Anchors.scripts)/eligibility_anchor.py", "--profile", absolutePath(profile.path), "--run-date", runDateText,
                             "--out", pyOut, roster], stdoutPath: "\(dir)/python.out", stderrPath: "\(dir)/python.err", pin: pin)
            if p.status == 0 {
                pythonRuns.append(p)
                print(String(format: "  run %d  Python anchor            %7.2f s  peak %5.0f MB", n, p.seconds, p.peakMB))
                if n == 1 {
                    if FileManager.default.contents(atPath: "\(pyOut)/rejects.csv") == FileManager.default.contents(atPath: expectedRejects) {
                        print("  rejects check: the Python anchor's rejects (line, reason) equal the generator's expected_rejects.csv")
                    } else {
                        problems.append("the Python anchor's rejects (\(pyOut)/rejects.csv) differ from the generator's \(expectedRejects)")
                    }
                }
            } else if n == 1 {
                problems.append("the Python anchor \(p.how); its stderr (\(p.stderrPath)) ends:\n\(tail(p.stderrPath, lines: 10))")
            }
        }
        if let python, anchors.pandas {
            let p = measure([python, "\(Anchors.scripts)/pandas_roster_anchor.py", "--encoding", codec,
                             "--header", profile.hasHeader ? "yes" : "no", roster],
                            stdoutPath: "\(dir)/pandas.out", stderrPath: "\(dir)/pandas.err", pin: pin)
            let line = tail(p.stdoutPath, lines: 1)
            if p.status == 0, let r = line.range(of: #"read_seconds=[0-9.]+"#, options: .regularExpression),
               let s = Double(line[r].dropFirst("read_seconds=".count)) {
                pandasRuns.append(p)
                pandasRead.append(s)
                print(String(format: "  run %d  pandas read_csv          %7.2f s read (%.2f s with start-up)  peak %5.0f MB", n, s, p.seconds, p.peakMB))
                if n == 1, !line.contains("rows=\(o.rows) ") {
                    problems.append("pandas read a different number of rows (\(line.trimmingCharacters(in: .whitespacesAndNewlines))) than the roster's \(o.rows)")
                }
            } else if n == 1 {
                problems.append("the pandas anchor \(p.how); its stderr (\(p.stderrPath)) ends:\n\(tail(p.stderrPath, lines: 10))")
            }
        }
    }
    for p in problems { checkFailed("roster: " + p) }

    let k = medianRun(kenpoRuns)
    let kenpoText = "\(seconds(k.seconds)), \(grouped(Int(Double(o.rows) / k.seconds))) rows/s"
    var rows: [ResultRow] = []
    if pythonRuns.count == o.runs {
        let p = medianRun(pythonRuns)
        let ratio = p.seconds / k.seconds
        rows.append(ResultRow(stage: "roster ingest vs plain Python", input: input, kenpo: kenpoText,
                              anchor: "Python csv+unicodedata \(seconds(p.seconds))", ratio: String(format: "%.1f×", ratio),
                              target: "≥ 5×", met: ratio >= 5, kenpoRSSKiB: k.maxRSSKiB, anchorRSSKiB: p.maxRSSKiB))
        // The same on CPU time (user + system, median): on this kind of machine wall time includes
        // waiting for the disk, which the page cache does not always spare either side.
        let kCPU = median(kenpoRuns.map(\.cpuSeconds)), pCPU = median(pythonRuns.map(\.cpuSeconds))
        rows.append(ResultRow(stage: "roster ingest vs plain Python, CPU time", input: input, kenpo: "\(seconds(kCPU)) CPU",
                              anchor: "Python csv+unicodedata \(seconds(pCPU)) CPU", ratio: String(format: "%.1f×", pCPU / kCPU),
                              target: "≥ 5×", met: pCPU / kCPU >= 5, kenpoRSSKiB: k.maxRSSKiB, anchorRSSKiB: p.maxRSSKiB))
    } else {
        rows.append(.skipped(stage: "roster ingest vs plain Python", input: input, kenpo: kenpoText, target: "≥ 5×", kenpoRSSKiB: k.maxRSSKiB))
    }
    if pandasRuns.count == o.runs {
        let read = median(pandasRead)
        let ratio = read / k.seconds
        rows.append(ResultRow(stage: "roster ingest vs pandas", input: input, kenpo: kenpoText,
                              anchor: "pandas read_csv \(seconds(read)) (read only)", ratio: String(format: "%.1f×", ratio),
                              target: "≥ 2×", met: ratio >= 2, kenpoRSSKiB: k.maxRSSKiB, anchorRSSKiB: medianRun(pandasRuns).maxRSSKiB))
    } else {
        rows.append(.skipped(stage: "roster ingest vs pandas", input: input, kenpo: kenpoText, target: "≥ 2×", kenpoRSSKiB: k.maxRSSKiB))
    }
    return rows
}
