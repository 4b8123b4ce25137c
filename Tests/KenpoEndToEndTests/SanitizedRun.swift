import Foundation
import Testing

/// The sanitizer run (`.ci/sanitize`) builds kenpo with AddressSanitizer and sets
/// `KENPO_TEST_SANITIZER=address`. A sanitized kenpo that finds an error prints a report to its
/// stderr and exits 1 — the status of a clean failure, which some tests expect — so every way these
/// tests start kenpo hands its stderr to `check`, and a report fails the test that ran it.
enum SanitizedRun {
    /// The sanitizer the tests run under, or nil in the normal run.
    static let sanitizer: String? = {
        let s = ProcessInfo.processInfo.environment["KENPO_TEST_SANITIZER"] ?? ""
        return s.isEmpty ? nil : s
    }()

    /// The report in a sanitized process's stderr, from its first line: lines only a sanitizer
    /// runtime writes (`==PID==ERROR: AddressSanitizer: …`, LeakSanitizer's, UBSan's).
    static func report(in stderr: String) -> String? {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.firstIndex(where: {
            ($0.hasPrefix("==") && ($0.contains("==ERROR: AddressSanitizer") || $0.contains("==ERROR: LeakSanitizer")))
                || $0.hasPrefix("SUMMARY: UndefinedBehaviorSanitizer") || $0.contains(": runtime error: ")
        }) else { return nil }
        return lines[first...].prefix(40).joined(separator: "\n")
    }

    /// Under the sanitizer run, records an issue when kenpo's stderr holds a sanitizer report.
    static func check(stderr: String, args: [String]) {
        guard let sanitizer, let r = report(in: stderr) else { return }
        Issue.record("\(sanitizer) sanitizer report from kenpo \(args.joined(separator: " ")):\n\(r)")
    }
}
