import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failure that stops a command. Each case maps to one exit status (see `ExitStatus`) and its
/// description names the file (and line) at fault and what to do.
public enum KenpoError: Error, CustomStringConvertible, Equatable {
    /// Bad command line. Exit 2.
    case usage(String)
    /// A profile, pipeline or key file that cannot be used. Exit 2.
    case configuration(path: String, line: Int?, message: String)
    /// A file that cannot be read or written. Exit 1.
    case io(path: String, message: String)
    /// An input that cannot be interpreted as a whole (not one bad record: those are rejects). Exit 1.
    case input(path: String, line: Int?, message: String)
    /// Another run holds the data folder. Exit 1.
    case locked(path: String, holder: String)
    /// An internal consistency check failed (e.g. read ≠ accepted + rejected). Exit 1.
    case invariant(String)

    public var exitStatus: ExitStatus {
        switch self {
        case .usage, .configuration: return .usage
        case .io, .input, .locked, .invariant: return .failed
        }
    }

    public var description: String {
        switch self {
        case .usage(let m): return m
        case .configuration(let p, let l, let m): return "\(Self.place(p, l)): \(m)"
        case .io(let p, let m): return "\(p): \(m)"
        case .input(let p, let l, let m): return "\(Self.place(p, l)): \(m)"
        case .locked(let p, let h):
            return "\(p): another kenpo run holds this data folder (\(h)); nothing was done. Wait for it to finish, or, if no kenpo process is running, check the lock file's holder."
        case .invariant(let m): return "internal check failed, nothing was published: \(m)"
        }
    }

    static func place(_ path: String, _ line: Int?) -> String {
        if let line { return "\(path):\(line)" }
        return path
    }
}

/// The process exit statuses operations staff and cron rely on.
public enum ExitStatus: Int32, Sendable {
    /// Completed; every record accepted.
    case success = 0
    /// Failed; nothing was published.
    case failed = 1
    /// Bad usage or configuration; nothing was done.
    case usage = 2
    /// Completed and published, but some records were rejected (see rejects.csv).
    case completedWithRejects = 3
    /// A pipeline run published what succeeded, but a step (or an input of it) failed and was rolled
    /// back; its inputs stay in the inbox (see the report's steps).
    case completedWithFailures = 4
}

extension KenpoError {
    /// The file an error names, if any (used to tell a failing input from a failing stage).
    public var path: String? {
        switch self {
        case .configuration(let p, _, _), .io(let p, _), .input(let p, _, _): return p
        default: return nil
        }
    }
}

/// Whether an error is the disk (or quota) running full: a run stops at once on it rather than
/// trying its other steps, and resumes from its last checkpoint once there is space.
public func isDiskFull(_ error: Error) -> Bool {
    let text = String(describing: error)
    return text.contains(String(cString: strerror(ENOSPC))) || text.contains(String(cString: strerror(EDQUOT)))
}
