import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a postcard needs of a member (はがきの宛先): every member's status on the run date, and the
/// name and address read back from `members.csv` only for the people a postcard is printed for.
///
/// Memory: 17 bytes a member (id, status, where the row starts), so a million members cost 17 MB
/// where the rows themselves would cost over 300; the master file stays open and a row is read with
/// one `pread` when asked for. State generations are never changed after they are published, and the
/// run holds the data folder's lock, so the offsets stay right for as long as the book lives.
final class MemberAddressBook {
    /// One member as a postcard sees them.
    struct Member {
        var status: MemberStatus
        var kanjiName: String
        var kanaName: String
        var insurer: String
        var postal: String
        var address: String
    }

    private let path: String?
    private var fd: Int32 = -1
    /// Sorted by id (members.csv's order).
    private var pids: [UInt64] = []
    private var statuses: [MemberStatus] = []
    private var offsets: [Int] = []
    private var buffer: [UInt8] = []

    private init(path: String?) { self.path = path }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    var count: Int { pids.count }

    /// Reads the member master once (nil: no master yet): the directory that finds a person from a
    /// card, and the address book.
    static func load(masterPath: String?) throws -> (MemberDirectory, MemberAddressBook) {
        let book = MemberAddressBook(path: masterPath)
        let statusField = MemberRecord.header.firstIndex(of: "status")!
        let directory = try MemberDirectory(masterPath: masterPath) { pid, row in
            // The directory checked the row (whole, a known status, ids in order).
            guard let status = row.withField(statusField, { MemberStatus(rawValue: String(decoding: $0, as: UTF8.self)) }) else { return }
            book.pids.append(pid)
            book.statuses.append(status)
            book.offsets.append(row.rowOffset)
        }
        if let masterPath {
            book.fd = open(masterPath, O_RDONLY | O_CLOEXEC)
            guard book.fd >= 0 else { throw KenpoError.io(path: masterPath, message: "cannot open: \(String(cString: strerror(errno)))") }
        }
        return (directory, book)
    }

    private func index(_ pid: UInt64) -> Int? { pids.sortedIndex(of: pid) }

    /// The member's status on the run date; nil when the id is not in the master.
    func status(of pid: UInt64) -> MemberStatus? { index(pid).map { statuses[$0] } }

    /// The member's name and address, read from the master; nil when the id is not in it.
    func member(_ pid: UInt64) throws -> Member? {
        guard let i = index(pid), let path else { return nil }
        let fields = try readRow(at: offsets[i], path: path)
        guard let m = MemberRecord(fields: fields), StableHash.parseHex(m.personID) == pid else {
            throw KenpoError.input(path: path, line: 0, message: "the member master's row at byte \(offsets[i]) is not the one read before (person \(StableHash.hex(pid))); the state generation was changed during the run — run again")
        }
        return Member(status: statuses[i], kanjiName: m.kanjiName, kanaName: m.kanaName, insurer: m.insurerNumber,
                      postal: m.postalCode, address: m.address)
    }

    /// The fields of the row starting at `offset`: bytes up to the first line end outside quotes.
    private func readRow(at offset: Int, path: String) throws -> [String] {
        var length = 0, inQuotes = false, have = 0
        if buffer.count < 4096 { buffer = [UInt8](repeating: 0, count: 4096) }
        while true {
            if length == have {
                if have == buffer.count {
                    guard buffer.count < CSVRowReader.maxRowBytes else {
                        throw KenpoError.input(path: path, line: 0, message: "the member master's row at byte \(offset) is longer than \(CSVRowReader.maxRowBytes) bytes; restore the previous state generation")
                    }
                    buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
                }
                let n = buffer.withUnsafeMutableBytes { b in pread(fd, b.baseAddress! + have, b.count - have, off_t(offset + have)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw KenpoError.io(path: path, message: "read failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }   // the last row, without a line end
                have += n
            }
            let c = buffer[length]
            if c == 0x22 { inQuotes.toggle() } else if c == 0x0A && !inQuotes { break }
            length += 1
        }
        var end = length
        if end > 0, buffer[end - 1] == 0x0D { end -= 1 }
        return buffer.withUnsafeBytes { CSVLine.parse(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
    }
}
