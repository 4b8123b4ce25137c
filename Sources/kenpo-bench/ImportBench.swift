// kenpo-bench import: checkup import throughput against libxml2's own floor.
//
//   swift build -c release && swift run -c release kenpo-bench import [--mb 1024] [--seed 42] [--dir bench-data/import]
//
// Generates (once, with a fixed seed) synthetic members and their hc08 checkup documents until the
// documents total at least --mb MB, loads the members with `kenpo eligibility`, then times over the
// same files, side by side in one run:
//   xmllint --stream --noout      the streaming reader's floor (no extraction), one core
//   kenpo import --workers 1      everything extracted, attached, deduplicated and written, one core
//   kenpo import --workers N      all cores
import Foundation
import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

func runImportBench(_ args: [String]) -> Never {
    var mb = 1024, seed: UInt64 = 42, dir = "bench-data/import"
    var i = 0
    func value() -> String {
        guard i + 1 < args.count else { fail("\(args[i]) needs a value") }
        i += 1
        return args[i]
    }
    while i < args.count {
        switch args[i] {
        case "--mb": guard let v = Int(value()), v > 0 else { fail("--mb needs a positive number") }; mb = v
        case "--seed": guard let v = UInt64(value()) else { fail("--seed needs a number") }; seed = v
        case "--dir": dir = value()
        default: fail("unknown argument \(args[i]); usage: kenpo-bench import [--mb 1024] [--seed 42] [--dir bench-data/import]")
        }
        i += 1
    }
    guard let runDate = CalendarDate(iso: runDateText) else { fail("bad run date") }
    let profiles: [InsurerProfile]
    do { profiles = try ["sample-kamome", "sample-tsubame"].map { try InsurerProfile.resolve($0) } } catch {
        fail("\(error)\n(run kenpo-bench from the package root)")
    }
    // About 12.4 KB of checkups per member at two checkups each (measured on the generator).
    let members = max(2_000, mb * 1_000_000 / 12_000)
    let stamp = "generator=\(RosterGenerator.version)/\(HealthRecordGenerator.version) members=\(members) seed=\(seed) run_date=\(runDateText)\n"
    let stampPath = dir + "/bench-stamp.txt"
    print("kenpo-bench import  \(nowText())")
    print("machine: \(machineLine())")
    if (FileManager.default.contents(atPath: stampPath).map { String(decoding: $0, as: UTF8.self) }) != stamp {
        removeIfPresent(dir)
        let t0 = monotonicSeconds()
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var h = HealthRecordOptions(seed: seed, runDate: runDate, outDirectory: dir)
            h.checkupShare = 1.0; h.checkupYears = 2; h.noticeShare = 0; h.prescriptionShare = 0; h.transferZip = false
            let g = try HealthRecordGenerator(h)
            _ = try RosterGenerator.generate(GeneratorOptions(members: members, seed: seed, faultyShare: 0, runDate: runDate,
                                                              profiles: profiles, outDirectory: dir), onSubject: { try g.add($0) })
            _ = try g.finish()
            try stamp.write(toFile: stampPath, atomically: true, encoding: .utf8)
        } catch { fail("generating failed: \(error)", status: 1) }
        print(String(format: "generated %d members and their checkups in %.1f s", members, monotonicSeconds() - t0))
    }
    // The document set: every XML file under the profiles' checkups/ and transfer/ folders.
    var roots: [String] = []
    var files: [String] = []
    var bytes = 0
    for p in profiles {
        for sub in ["checkups", "transfer"] {
            let root = "\(dir)/\(p.name)/\(sub)"
            guard FileManager.default.fileExists(atPath: root) else { continue }
            roots.append(root)
            let e = FileManager.default.enumerator(atPath: root)
            while let rel = e?.nextObject() as? String {
                guard rel.hasSuffix(".xml") else { continue }
                files.append(root + "/" + rel)
                bytes += fileSize(root + "/" + rel)
            }
        }
    }
    files.sort()
    let listPath = dir + "/files.lst"
    _ = FileManager.default.createFile(atPath: listPath, contents: Data(files.joined(separator: "\0").utf8))
    print(String(format: "documents: %d files, %.1f MB", files.count, Double(bytes) / 1e6))

    let benchBinary = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    let kenpo = benchBinary.deletingLastPathComponent().appendingPathComponent("kenpo").path
    guard FileManager.default.isExecutableFile(atPath: kenpo) else { fail("no kenpo binary next to kenpo-bench: swift build -c release", status: 1) }
    // Members once; each import gets a fresh copy so none of them sees another's records.
    let base = dir + "/var-base"
    removeIfPresent(base)
    var elig = [kenpo, "eligibility", "--data", base, "--date", runDateText]
    for p in profiles { elig += ["--profile", p.name, "\(dir)/\(p.name)/roster.csv"] }
    let e = measure(elig, stdoutPath: dir + "/eligibility.out", stderrPath: dir + "/eligibility.err")
    guard e.status == 0 || e.status == 3 else { fail("eligibility failed: \(tail(e.stderrPath, lines: 10))", status: 1) }

    struct Row { var name: String; var m: Measurement }
    var rows: [Row] = []
    if let xmllint = findExecutable("xmllint"), let xargs = findExecutable("xargs") {
        let m = measure([xargs, "-0", "-a", listPath, xmllint, "--stream", "--noout"], stdoutPath: dir + "/xmllint.out", stderrPath: dir + "/xmllint.err")
        if m.status == 0 { rows.append(Row(name: "xmllint --stream --noout", m: m)) } else { print("xmllint failed: \(tail(m.stderrPath, lines: 5))") }
    } else {
        print("xmllint not found (apt install libxml2-utils): its row is skipped")
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    for workers in [1, cores] where workers == 1 || cores > 1 {
        let data = dir + "/var-w\(workers)"
        removeIfPresent(data)
        let cp = measure(["/bin/cp", "-a", base, data], stdoutPath: "/dev/null", stderrPath: dir + "/cp.err", pin: false)
        guard cp.status == 0 else { fail("cannot copy \(base)", status: 1) }
        let m = measure([kenpo, "import", "--data", data, "--date", runDateText, "--source", "insurer", "--workers", String(workers)] + roots,
                        stdoutPath: dir + "/import-w\(workers).out", stderrPath: dir + "/import-w\(workers).err", pin: workers == 1)
        guard m.status == 0 || m.status == 3 else { fail("kenpo import failed: \(tail(m.stderrPath, lines: 10))", status: 1) }
        rows.append(Row(name: "kenpo import --workers \(workers)", m: m))
    }
    let floor = rows.first { $0.name.hasPrefix("xmllint") }?.m.seconds
    let one = rows.first { $0.name.hasSuffix("--workers 1") }?.m.seconds
    print("")
    print([pad("implementation", 26, left: true), pad("seconds", 8), pad("MB/s", 7), pad("docs/s", 8), pad("peak RSS MB", 11),
           pad("vs xmllint", 10), pad("vs 1 worker", 11)].joined(separator: "  "))
    for r in rows {
        let s = r.m.seconds
        print([pad(r.name, 26, left: true), pad(String(format: "%.2f", s), 8), pad(String(format: "%.1f", Double(bytes) / 1e6 / s), 7),
               pad(String(format: "%.0f", Double(files.count) / s), 8), pad(String(format: "%.1f", Double(r.m.maxRSSKiB) * 1024 / 1e6), 11),
               pad(floor.map { String(format: "%.0f%%", $0 / s * 100) } ?? "-", 10),
               pad(r.name.hasPrefix("kenpo") ? (one.map { String(format: "%.2f×", $0 / s) } ?? "-") : "-", 11)].joined(separator: "  "))
    }
    print("(\(files.count) documents, \(String(format: "%.1f", Double(bytes) / 1e6)) MB; MB = 10^6 bytes; one worker and xmllint pinned to one core)")
    exit(0)
}
