import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process's memory, as the kernel counts it (Linux /proc).
public enum ProcessMemory {
    /// Resets the peak resident set size (VmHWM) so that the next `peakBytes` is this step's peak.
    public static func resetPeak() {
        let fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = "5".withCString { write(fd, $0, 1) }
        close(fd)
    }

    /// Peak resident set size since the last reset (or the start), in bytes; 0 if unknown.
    public static func peakBytes() -> Int { statusField("VmHWM:") }

    /// Current resident set size in bytes.
    public static func residentBytes() -> Int { statusField("VmRSS:") }

    private static func statusField(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            return (digits.flatMap { Int($0) } ?? 0) * 1024
        }
        return 0
    }
}

/// Progress of the running step. On a terminal (stderr is a tty) one line redrawn in place at most
/// four times a second — records, MB, rate and time left; on a log (cron) nothing until the step
/// ends, when the runner writes one line per step. Stages call `advance` from one thread.
public final class StepProgress {
    public private(set) var step = ""
    public private(set) var records = 0
    public private(set) var bytes = 0
    private var totalBytes = 0
    private var totalRecords = 0
    private var started = 0.0
    private var lastDraw = 0.0
    private var sinceCheck = 0
    private var drawn = false
    public let onTerminal: Bool

    public init(onTerminal: Bool = isatty(2) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb") {
        self.onTerminal = onTerminal
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Starts a step; `totalBytes` is the size of its inputs (0: unknown, no time-left estimate).
    public func begin(step: String, totalBytes: Int) {
        self.step = step
        self.totalBytes = totalBytes
        records = 0; bytes = 0; sinceCheck = 0; drawn = false; totalRecords = 0
        started = Self.now(); lastDraw = started
    }

    /// The number of records the step will do, when known before it starts them (codes: the postcards):
    /// the time left is then estimated by records rather than bytes.
    public func expect(records n: Int) { totalRecords = n }

    /// `records` more records done, `bytes` more input bytes consumed.
    @inline(__always)
    public func advance(records r: Int = 1, bytes b: Int = 0) {
        records += r
        bytes += b
        guard onTerminal else { return }
        sinceCheck += 1
        if sinceCheck >= 64 { sinceCheck = 0; maybeDraw() }
    }

    private func maybeDraw() {
        let t = Self.now()
        guard t - lastDraw >= 0.25 else { return }
        lastDraw = t
        let elapsed = max(t - started, 0.001)
        let mb = Double(bytes) / 1_048_576
        var line = String(format: "kenpo: %@: %d records, %.1f MB, %.1f MB/s", step, records, mb, mb / elapsed)
        let (done, total) = totalRecords > 0 ? (records, totalRecords) : (bytes, totalBytes)
        if total > 0 && done > 0 && done < total {
            let left = elapsed * Double(total - done) / Double(done)
            line += String(format: ", %.0f%%, about %@ left", 100 * Double(done) / Double(total), Self.duration(left))
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawn = true
        Log.progressLineDrawn = true
    }

    /// Ends the step: clears the terminal line; returns the seconds it took.
    @discardableResult
    public func end() -> Double {
        if drawn && Log.progressLineDrawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        drawn = false
        Log.progressLineDrawn = false
        return Self.now() - started
    }

    static func duration(_ s: Double) -> String {
        if s < 90 { return String(format: "%.0f s", s) }
        if s < 5400 { return String(format: "%.0f min", s / 60) }
        return String(format: "%.1f h", s / 3600)
    }
}
