import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named points where the crash test (Tests/crash/crash-test.py) kills kenpo, as a power cut or the
/// OOM killer would: `KENPO_CRASH_AT=NAME` (or `NAME#K`, the K-th time) sends SIGKILL to the process
/// itself on reaching the point; `KENPO_CRASH_TRACE=FILE` appends every point reached to FILE, one
/// name per line, so the test can pick points spread over every stage. Unset (production), a point
/// costs one load of a static flag.
public enum CrashPoint {
    private struct Config {
        var target: String?
        var occurrence = 1
        var trace: Int32 = -1
        var hits = 0
    }

    public static let armed: Bool = {
        let env = ProcessInfo.processInfo.environment
        return env["KENPO_CRASH_AT"] != nil || env["KENPO_CRASH_TRACE"] != nil
    }()

    nonisolated(unsafe) private static var config: Config = {
        let env = ProcessInfo.processInfo.environment
        var c = Config()
        if let at = env["KENPO_CRASH_AT"], !at.isEmpty {
            if let hash = at.lastIndex(of: "#"), let k = Int(at[at.index(after: hash)...]), k >= 1 {
                c.target = String(at[..<hash]); c.occurrence = k
            } else {
                c.target = at
            }
        }
        if let t = env["KENPO_CRASH_TRACE"], !t.isEmpty {
            c.trace = open(t, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        }
        return c
    }()
    private static let lock = NSLock()

    /// Marks a point; kills the process here if the test asked for it.
    @inline(__always)
    public static func reach(_ name: @autoclosure () -> String) {
        guard armed else { return }
        hit(name())
    }

    private static func hit(_ name: String) {
        lock.lock()
        defer { lock.unlock() }
        if config.trace >= 0 {
            let line = Array((name + "\n").utf8)
            _ = line.withUnsafeBytes { write(config.trace, $0.baseAddress, $0.count) }
        }
        guard name == config.target else { return }
        config.hits += 1
        if config.hits == config.occurrence {
            kill(getpid(), SIGKILL)
            while true { pause() }
        }
    }
}
