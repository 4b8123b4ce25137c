import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Operator log on stderr: one line per event, counts and reason codes only — never names, card
/// numbers, codes or other personal data (those stay in owner-only files under the data folder).
public enum Log {
    /// Set while a progress line is drawn on the terminal (StepProgress): a message clears it first,
    /// and the next progress update draws it again below the message.
    nonisolated(unsafe) static var progressLineDrawn = false

    private static func emit(_ line: String) {
        if progressLineDrawn {
            progressLineDrawn = false
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    public static func info(_ message: String) { emit("kenpo: \(message)\n") }

    public static func error(_ message: String) { emit("kenpo: error: \(message)\n") }

    public static func warning(_ message: String) { emit("kenpo: warning: \(message)\n") }
}
