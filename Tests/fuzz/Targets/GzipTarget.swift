import Foundation
@testable import KenpoCore

private let maxBytes = 1 << 20

/// GzipByteSource on arbitrary .gz files.
/// - Never more than `maxBytes` out; a failure is an input error, never another kind.
/// - The bytes (or the failure) do not depend on the reader's buffer size (1–97 bytes vs 64 KB).
/// - What it reads, gzipped again by `GzipByteSource.gzip`, reads back unchanged; so does the
///   input itself taken as plain bytes.
let gzipTarget = FuzzTarget(name: "gzip", summary: "GzipByteSource: size limit, buffer-size independence, gzip round trip") { bytes in
    let t = "gzip"
    let path = Scratch.write(bytes, as: "input.gz")
    func read(_ p: String, buffer: Int) -> Result<[UInt8], KenpoError> {
        do { return .success(try drain(try GzipByteSource(path: p, maxBytes: maxBytes), bufferSize: buffer)) } catch let e as KenpoError {
            return .failure(e)
        } catch { property(false, t, "threw \(error), not a KenpoError"); return .success([]) }
    }
    let whole = read(path, buffer: 64 << 10)
    let small = read(path, buffer: chunkSizes(from: bytes, count: 1)[0])
    switch (whole, small) {
    case (.success(let a), .success(let b)):
        property(a == b, t, "buffer size changes the bytes read (\(a.count) vs \(b.count))")
        property(a.count <= maxBytes, t, "\(a.count) bytes passed the \(maxBytes)-byte limit")
        let again = read(Scratch.write(GzipByteSource.gzip(a), as: "again.gz"), buffer: 64 << 10)
        property((try? again.get()) == a, t, "re-gzipped output reads back differently")
    case (.failure(let a), .failure(let b)):
        if case .input = a {} else { property(false, t, "failure is not an input error: \(a)") }
        if case .input = b {} else { property(false, t, "failure is not an input error: \(b)") }
    default:
        property(false, t, "buffer size changes the outcome: \(whole) vs \(small)")
    }
    if bytes.count <= maxBytes {
        let plain = read(Scratch.write(GzipByteSource.gzip(bytes), as: "plain.gz"), buffer: 4096)
        property((try? plain.get()) == bytes, t, "gzip of the input reads back differently")
    }
}
