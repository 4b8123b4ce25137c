import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import KenpoCore

/// One fuzz target: a name for `--target=NAME` and the function libFuzzer calls with each input.
struct FuzzTarget {
    let name: String
    let summary: String
    let run: ([UInt8]) -> Void
}

/// A property that must hold for every input. A failure prints what broke and aborts, so libFuzzer
/// saves the input as a crash file (`crash-…`) like any other crash.
func property(_ holds: Bool, _ target: String, _ what: @autoclosure () -> String,
              file: StaticString = #fileID, line: UInt = #line) {
    if holds { return }
    let message = "PROPERTY FAILED [\(target)] \(file):\(line): \(what())\n"
    message.withCString { _ = fputs($0, stderr) }
    abort()
}

/// A visible rendering of bytes for property messages.
func show(_ bytes: some Collection<UInt8>, limit: Int = 200) -> String {
    var s = ""
    for b in bytes.prefix(limit) {
        if b >= 0x20 && b < 0x7F && b != 0x5C { s.unicodeScalars.append(Unicode.Scalar(b)) } else { s += String(format: "\\x%02X", b) }
    }
    return bytes.count > limit ? s + "…(\(bytes.count) bytes)" : s
}

/// Per-process scratch folder for targets whose reader takes a path (CSV, ZIP, gzip, profiles,
/// pipelines): under $KENPO_FUZZ_SCRATCH (run-fuzz.sh points it into /dev/shm and removes it when
/// done, since a crashing process never runs its exit handlers), else /dev/shm or the temp folder.
enum Scratch {
    static let folder: String = {
        let env = ProcessInfo.processInfo.environment["KENPO_FUZZ_SCRATCH"]
        let base = env ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory())
        if env != nil { mkdir(base, 0o700) }
        let dir = "\(base)/kenpo-fuzz-\(getpid())"
        mkdir(dir, 0o700)
        atexit { Scratch.removeAll() }
        return dir
    }()

    /// Writes `bytes` to `folder/name` (replacing it) and returns the path.
    @discardableResult
    static func write(_ bytes: [UInt8], as name: String) -> String {
        let path = "\(folder)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create the fuzz scratch file \(path)")
        var done = 0
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                precondition(n > 0, "cannot write the fuzz scratch file \(path)")
                done += n
            }
        }
        close(fd)
        return path
    }

    static func removeAll() {
        // Only what this process made: the folder name carries its pid.
        guard let dir = opendir(folder) else { return }
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { unlink("\(folder)/\(name)") }
        }
        closedir(dir)
        rmdir(folder)
    }
}

/// A byte source that hands out `bytes` in pieces whose sizes come from `cuts` (cycled), after a first
/// piece of `first` bytes: the readers must not depend on where the reads split the input.
final class ChunkedByteSource: ByteSource {
    private let bytes: [UInt8]
    private let cuts: [Int]
    private var first: Int
    private var offset = 0
    private var k = 0
    let displayName: String

    init(_ bytes: [UInt8], first: Int, cuts: [Int], displayName: String = "(chunked)") {
        self.bytes = bytes
        self.first = first
        self.cuts = cuts.isEmpty ? [1] : cuts.map { max($0, 1) }
        self.displayName = displayName
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var want: Int
        if first > 0 { want = first; first = 0 } else { want = cuts[k % cuts.count]; k += 1 }
        let n = min(want, buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}

/// Reads a byte source to its end through a buffer of `bufferSize` bytes.
func drain(_ source: ByteSource, bufferSize: Int) throws -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return out }
        out.append(contentsOf: buffer[0..<n])
    }
}

/// Small deterministic chunk sizes derived from the input (so a crash reproduces from the file alone).
func chunkSizes(from bytes: [UInt8], count: Int = 7, max: Int = 97) -> [Int] {
    var h: UInt64 = 0xcbf29ce484222325
    for b in bytes.prefix(64) { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    return (0..<count).map { i in Int((h >> UInt64((i * 9) % 56)) % UInt64(max)) + 1 }
}
