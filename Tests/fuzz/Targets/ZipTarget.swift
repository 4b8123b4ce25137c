import CZlib
import Foundation
@testable import KenpoCore

/// Limits small enough that no input can make the target allocate much.
private let limits = ZipLimits(maxEntryBytes: 1 << 20, maxTotalBytes: 4 << 20, maxEntries: 2000, maxCentralDirectoryBytes: 1 << 20)

/// ZipArchive on arbitrary archives (and ZipWriter → ZipArchive on archives made from the input).
/// - Every entry listed as readable has a safe relative path (no `..`, not absolute, no colon or
///   control character) that is its own normal form, a supported method and a size within the limits.
/// - Reading a readable entry either fails with an input error or yields exactly the declared
///   size with the declared CRC-32 — never more; reading through 1–97-byte buffers gives the same.
/// - A refused entry never opens. An archive ZipWriter makes from the input's pieces reads back
///   to the same names and bytes.
let zipTarget = FuzzTarget(name: "zip", summary: "ZipArchive (+ ZipWriter round trip): safe paths, declared sizes and CRC-32 honoured, chunking independence") { bytes in
    let t = "zip"
    let path = Scratch.write(bytes, as: "input.zip")
    if let archive = try? ZipArchive(path: path, limits: limits) {
        property(archive.entries.count <= limits.maxEntries, t, "\(archive.entries.count) entries passed the limit")
        for entry in archive.entries {
            guard entry.problem == nil else {
                if let _ = try? archive.open(entry) { property(false, t, "refused entry \(entry.name) opened: \(entry.problem!)") }
                continue
            }
            guard let p = entry.path else { property(false, t, "readable entry \(entry.name) without a safe path"); continue }
            property(ZipArchive.safeRelativePath(p) == p, t, "path \(p) is not its own normal form")
            property(!p.hasPrefix("/") && !p.split(separator: "/").contains("..") && !p.contains(":"), t, "unsafe path \(p) readable")
            property(entry.method == 0 || entry.method == 8, t, "method \(entry.method) readable")
            property(entry.uncompressedSize <= limits.maxEntryBytes, t, "entry of \(entry.uncompressedSize) bytes readable")
            if entry.isDirectory { continue }
            let whole: [UInt8]
            do { whole = try archive.readAll(entry) } catch let e as KenpoError {
                if case .input = e { continue }
                property(false, t, "reading \(entry.name) failed with \(e), not an input error"); continue
            } catch { property(false, t, "reading \(entry.name) threw \(error)"); continue }
            property(whole.count == entry.uncompressedSize, t, "\(entry.name): read \(whole.count) bytes, declared \(entry.uncompressedSize)")
            let crc = whole.withUnsafeBufferPointer { UInt32(truncatingIfNeeded: CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
            property(crc == entry.crc32, t, "\(entry.name): CRC-32 \(crc) read, \(entry.crc32) declared")
            for size in chunkSizes(from: Array(entry.name.utf8) + bytes.prefix(8), count: 2) {
                let again: [UInt8]? = try? drain(archive.open(entry), bufferSize: size)
                property(again == whole, t, "\(entry.name): reading through a \(size)-byte buffer gives other bytes")
            }
        }
    }

    // Writer round trip: the input cut into up to 4 entries at its 0xFF bytes, alternately deflated.
    let pieces = bytes.split(separator: 0xFF, maxSplits: 3, omittingEmptySubsequences: false).map(Array.init)
    let made = Scratch.folder + "/made.zip"
    do {
        let w = try ZipWriter(path: made)
        for (i, piece) in pieces.enumerated() { try w.add(name: "dir/entry-\(i).bin", bytes: piece, compress: i % 2 == 0) }
        try w.finish()
    } catch { property(false, t, "ZipWriter failed: \(error)"); return }
    do {
        let back = try ZipArchive(path: made, limits: limits)
        property(back.entries.map(\.path) == pieces.indices.map { "dir/entry-\($0).bin" }, t, "written names read back as \(back.entries.map(\.name))")
        for (entry, piece) in zip(back.entries, pieces) {
            property(entry.problem == nil, t, "a written entry is refused: \(entry.problem ?? "")")
            property((try? back.readAll(entry)) == piece, t, "\(entry.name) reads back differently")
        }
    } catch { property(false, t, "the archive ZipWriter made cannot be read: \(error)") }
}
