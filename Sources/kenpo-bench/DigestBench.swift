// SHA-256 of a run's published outputs: kenpo's hashing (SHA256Digest.hex(ofFile:), the code every
// manifest entry goes through) against coreutils sha256sum, over the same files, each on one core.
// kenpo's side runs as a child too (`kenpo-bench hash-files LIST`), so its time and peak RSS are
// measured the same way; both print `digest  path` lines, which must be identical.
import Foundation
import KenpoCore

/// The child side: hashes every file of a NUL-separated list and prints sha256sum's format.
func hashFiles(_ args: [String]) -> Never {
    guard args.count == 1 else { fail("usage: kenpo-bench hash-files LIST   (LIST: paths separated by NUL bytes)") }
    var out = ""
    for path in readFileList(args[0]) {
        do { out += "\(try SHA256Digest.hex(ofFile: path).sha256)  \(path)\n" } catch { fail("\(path): \(error)", status: 1) }
    }
    FileHandle.standardOutput.write(Data(out.utf8))
    exit(0)
}

func runDigestBench(_ o: BenchOptions, env: BenchEnvironment, outputs: String, label: String, anchors: Anchors) -> [ResultRow] {
    let dir = absolutePath("\(o.dir)/kenpo-bench/sha256")
    makeFolder(dir)
    let found = filesUnder(outputs)
    print("\n== SHA-256 of the \(label) run's outputs: \(grouped(found.paths.count)) files, \(mb(found.bytes)) under \(outputs)")
    guard !found.paths.isEmpty else { fail("no output files under \(outputs)", status: 1) }
    let listPath = dir + "/files.lst"
    writeFileList(found.paths, to: listPath)
    // One untimed pass so both sides read from the page cache alike.
    for p in found.paths { if let h = FileHandle(forReadingAtPath: p) { while !h.readData(ofLength: 1 << 20).isEmpty {}; try? h.close() } }

    let input = "\(grouped(found.paths.count)) files, \(mb(found.bytes))"
    let pin = cpuList(cores: 1)
    var kenpoRuns: [Measurement] = [], anchorRuns: [Measurement] = []
    for n in 1...o.runs {
        let k = measure([env.bench, "hash-files", listPath], stdoutPath: dir + "/kenpo.out", stderrPath: dir + "/kenpo.err", pin: pin)
        guard k.status == 0 else { fail("kenpo-bench hash-files \(k.how): \(tail(k.stderrPath, lines: 5))", status: 1) }
        kenpoRuns.append(k)
        print(String(format: "  run %d  kenpo SHA256Digest  %6.2f s  %7.1f MB/s  peak %4.0f MB", n, k.seconds, Double(found.bytes) / 1e6 / k.seconds, k.peakMB))
        if let sha = anchors.sha256sum, let xargs = anchors.xargs {
            let a = measure([xargs, "-0", "-a", listPath, sha], stdoutPath: dir + "/sha256sum.out", stderrPath: dir + "/sha256sum.err", pin: pin)
            guard a.status == 0 else { warn("sha256sum \(a.how): \(tail(a.stderrPath, lines: 5))"); continue }
            anchorRuns.append(a)
            print(String(format: "  run %d  sha256sum           %6.2f s  %7.1f MB/s  peak %4.0f MB", n, a.seconds, Double(found.bytes) / 1e6 / a.seconds, a.peakMB))
            if n == 1 {
                let same = FileManager.default.contents(atPath: k.stdoutPath) == FileManager.default.contents(atPath: a.stdoutPath)
                if same { print("  digest check: all \(found.paths.count) digests equal") }
                else { checkFailed("sha256: kenpo's digests (\(k.stdoutPath)) differ from sha256sum's (\(a.stdoutPath))") }
            }
        }
    }
    let k = medianRun(kenpoRuns)
    let speed = Double(found.bytes) / 1e6 / k.seconds
    let kenpoText = "SHA256Digest \(rate(speed)) MB/s (\(seconds(k.seconds)))"
    guard anchorRuns.count == o.runs else {
        return [.skipped(stage: "SHA-256 of run outputs", input: input, kenpo: kenpoText, anchor: "sha256sum missing", kenpoRSSKiB: k.maxRSSKiB)]
    }
    let a = medianRun(anchorRuns)
    return [ResultRow(stage: "SHA-256 of run outputs", input: input, kenpo: kenpoText,
                      anchor: "sha256sum \(rate(Double(found.bytes) / 1e6 / a.seconds)) MB/s", ratio: String(format: "%.0f%%", a.seconds / k.seconds * 100),
                      kenpoRSSKiB: k.maxRSSKiB, anchorRSSKiB: a.maxRSSKiB)]
}
