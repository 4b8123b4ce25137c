import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Previous person ids a row might be by a weak key; `MasterIndex.ambiguous` where there is none.
struct WeakCandidates: Equatable {
    var cardKana: UInt64
    var cardBirth: UInt64
    var identity: UInt64

    var isEmpty: Bool {
        cardKana == MasterIndex.ambiguous && cardBirth == MasterIndex.ambiguous && identity == MasterIndex.ambiguous
    }
}

/// Rows whose person id waits until every strong match of the run has been made, kept on disk in
/// arrival order (a legacy roster without branch numbers can put every row here).
final class PendingSpool {
    private let path: String
    private let file: UnsafeMutablePointer<FILE>
    private(set) var count = 0

    init(path: String) throws {
        self.path = path
        guard let f = fopen(path, "w+b") else { throw KenpoError.io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        setvbuf(f, nil, _IOFBF, 256 * 1024)
        file = f
    }

    deinit { fclose(file) }

    private static let headerSize = 8 * 3 + 8 + 4 + 4

    func append(candidates c: WeakCandidates, traits t: PersonTraits, row: [UInt8]) throws {
        var header = [UInt8]()
        header.reserveCapacity(Self.headerSize)
        for v in [c.cardKana, c.cardBirth, c.identity, t.ref] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        withUnsafeBytes(of: t.branch.littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(row.count).littleEndian) { header.append(contentsOf: $0) }
        let ok = header.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) == $0.count }
            && row.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) == $0.count }
        if !ok { throw KenpoError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))") }
        count += 1
    }

    /// Calls `body` for every row, in the order they were appended.
    func forEach(_ body: (WeakCandidates, PersonTraits, [UInt8]) throws -> Void) throws {
        guard count > 0 else { return }
        if fflush(file) != 0 { throw KenpoError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))") }
        rewind(file)
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        var seen = 0
        while seen < count {
            guard fread(&header, 1, Self.headerSize, file) == Self.headerSize else { break }
            let (c, t, n) = header.withUnsafeBytes { h -> (WeakCandidates, PersonTraits, Int) in
                func u64(_ o: Int) -> UInt64 { h.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian }
                return (WeakCandidates(cardKana: u64(0), cardBirth: u64(8), identity: u64(16)),
                        PersonTraits(ref: u64(24), branch: h.loadUnaligned(fromByteOffset: 32, as: UInt32.self).littleEndian),
                        Int(h.loadUnaligned(fromByteOffset: 36, as: UInt32.self).littleEndian))
            }
            var row = [UInt8](repeating: 0, count: n)
            guard fread(&row, 1, n, file) == n else { break }
            try body(c, t, row)
            seen += 1
        }
        if seen != count { throw KenpoError.io(path: path, message: "read back \(seen) of \(count) pending rows; the scratch disk lost data") }
    }
}
