import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Operator log on stderr: one line per event, counts and reason codes only — never names, card
/// numbers, codes or other personal data (those stay in owner-only files under the data folder).
public enum Log {
    public static func info(_ message: String) {
        FileHandle.standardError.write(Data("kenpo: \(message)\n".utf8))
    }

    public static func error(_ message: String) {
        FileHandle.standardError.write(Data("kenpo: error: \(message)\n".utf8))
    }

    public static func warning(_ message: String) {
        FileHandle.standardError.write(Data("kenpo: warning: \(message)\n".utf8))
    }
}
