import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The postcards a codes batch will print — its accepted rows, in order — spooled to the run's
/// scratch folder between reading the lists and issuing the codes: a mailing list may name every
/// member of an insurer, and a million requests held as `String`s would cost some 250 MB.
final class PostcardRequestSpool {
    /// One accepted postcard request.
    struct Request {
        var personID: UInt64
        var postal: String
        var address1: String
        var address2: String
        var name: String
        /// The insurer's name as printed.
        var insurer: String
        /// `mailing`, or the support desk's reason for a reissue.
        var reason: String
        /// Support-desk tickets of a reissue (several when requests for one person were merged).
        var tickets: [String]
        /// The insurer's profile, when known: the postcard counts in its hand-back summary.
        var profile: InsurerProfile?
    }

    private let writer: SpoolWriter
    private var profiles: [InsurerProfile] = []
    private var profileNumbers: [String: Int] = [:]
    /// Tickets of later requests merged into an earlier one, by the earlier one's number.
    private var mergedTickets: [Int: [String]] = [:]
    private var row: [UInt8] = []
    private(set) var count = 0

    init(path: String) throws {
        writer = try SpoolWriter(path: path, bufferSize: 256 * 1024)
    }

    deinit { unlink(writer.path) }

    /// Adds a request; returns its number (0-based, the order postcards are printed in).
    @discardableResult
    func append(_ r: Request) -> Int {
        var profileNumber: UInt32 = 0
        if let p = r.profile {
            if let n = profileNumbers[p.name] { profileNumber = UInt32(n + 1) } else {
                profiles.append(p)
                profileNumbers[p.name] = profiles.count - 1
                profileNumber = UInt32(profiles.count)
            }
        }
        row.removeAll(keepingCapacity: true)
        CSVWriter.encodeRow([StableHash.hex(r.personID), r.postal, r.address1, r.address2, r.name, r.insurer, r.reason]
                            + r.tickets, into: &row)
        row.withUnsafeBytes { writer.append(profileNumber, UInt32(r.tickets.count), 0, $0) }
        count += 1
        return count - 1
    }

    /// Adds the ticket of a request merged into request `number`.
    func addTicket(_ ticket: String, to number: Int) { mergedTickets[number, default: []].append(ticket) }

    /// Calls `body` with every request in order (tickets of merged requests included). Call once,
    /// after the last `append`; the spool file is removed afterwards.
    func forEach(_ body: (Request) throws -> Void) throws {
        try writer.finish()
        defer { unlink(writer.path) }
        let reader = try SpoolReader(path: writer.path)
        var number = 0
        while try reader.next() {
            let f = CSVLine.parse(reader.bytes)
            guard f.count == 7 + Int(reader.b), let pid = StableHash.parseHex(f[0]) else {
                throw KenpoError.io(path: writer.path, message: "the postcard request spool is damaged")
            }
            let profile = reader.a == 0 ? nil : profiles[Int(reader.a) - 1]
            try body(Request(personID: pid, postal: f[1], address1: f[2], address2: f[3], name: f[4], insurer: f[5], reason: f[6],
                             tickets: Array(f[7...]) + (mergedTickets[number] ?? []), profile: profile))
            number += 1
        }
    }
}
