import CCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The secret key under which checkup-viewing codes (健診閲覧コード) are stored: the code ledger keeps
/// only HMAC-SHA256(key, code), so a copy of the ledger without the key reveals no code.
///
/// ## Key file (README text)
///
/// - Where: `--key-file PATH`, or else the environment variable `KENPO_CODE_KEY_FILE`. Keep it outside
///   the repository and the data folder. Without a key kenpo refuses to issue codes.
/// - Format: UTF-8 text. Lines starting with `#` are comments, blank lines are ignored; the rest,
///   with white space removed, is the key: hex (e.g. one line of 64 hex characters), or base64
///   (standard or URL-safe alphabet) written after `base64:` (e.g. `base64:AAECAw…`). The prefix is
///   required because a hex key with one damaged character would otherwise still read as base64 —
///   as a different key, under which no stored code would ever match. At least 32 bytes.
///   Make one with `openssl rand -hex 32 > kenpo-code.key && chmod 600 kenpo-code.key`.
/// - Permissions: the file must not be readable or writable by group or others (`chmod 600`).
/// - Demo keys: a comment line `# DEMO KEY` marks a key as a demonstration key (the samples ship one).
///   `isDemo` is then true so the run can say so loudly; a demo key is public by nature, so the
///   permission check is not applied to it (a git checkout makes it 0644).
public struct CodeKey: Sendable, CustomStringConvertible {
    /// The environment variable naming the key file when `--key-file` is not given.
    public static let environmentVariable = "KENPO_CODE_KEY_FILE"
    /// The shortest key accepted, in bytes (the output size of SHA-256).
    public static let minimumBytes = 32
    /// A key file larger than this is not a key file.
    static let maximumFileBytes = 64 * 1024

    /// The key itself. Internal: nothing outside the hasher needs it.
    let bytes: [UInt8]
    /// The file the key came from.
    public let path: String
    /// True when the file carries the `# DEMO KEY` line.
    public let isDemo: Bool

    /// A key from raw bytes (tests, or a caller that holds the key already). At least `minimumBytes`.
    public init(bytes: [UInt8], path: String = "(in memory)", isDemo: Bool = false) throws {
        guard bytes.count >= Self.minimumBytes else {
            throw KenpoError.configuration(path: path, line: nil, message: "the code key is \(bytes.count) bytes; at least \(Self.minimumBytes) are needed (make one with: openssl rand -hex 32)")
        }
        self.bytes = bytes
        self.path = path
        self.isDemo = isDemo
        // Computed once: every issued code's ledger row carries it.
        self.fingerprint = String(Hex.encode(CodeHasher.hmacSHA256(key: bytes, message: Array("kenpo code key fingerprint".utf8))).prefix(16))
    }

    /// A short, non-secret fingerprint of the key: the first 16 hex digits of
    /// HMAC-SHA256(key, "kenpo code key fingerprint"). A ledger records it so that hashes made under
    /// another key are never mixed with its own, and a report can name the key without showing it.
    public let fingerprint: String

    /// Never the key: `CodeKey(path, fingerprint)`.
    public var description: String { "CodeKey(\(path), \(fingerprint)\(isDemo ? ", DEMO" : ""))" }

    /// The key named by `keyFile` (the `--key-file` option) if given, else by `KENPO_CODE_KEY_FILE`
    /// in `environment`; else a configuration error: kenpo never issues codes without a key.
    public static func resolve(keyFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CodeKey {
        if let keyFile, !keyFile.isEmpty { return try load(path: keyFile) }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            do {
                return try load(path: fromEnvironment)
            } catch KenpoError.configuration(let path, let line, let message) {
                throw KenpoError.configuration(path: path, line: line, message: message + " (this file is named by \(environmentVariable))")
            }
        }
        throw KenpoError.configuration(path: "kenpo", line: nil, message: "no code key: pass --key-file or set \(environmentVariable); kenpo never issues codes without one")
    }

    /// Reads a key file (format on `CodeKey`). Every failure is a `KenpoError.configuration` naming the
    /// file and, where it helps, the line.
    public static func load(path: String) throws -> CodeKey {
        func fail(_ message: String, line: Int? = nil) -> KenpoError {
            .configuration(path: path, line: line, message: message)
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw fail("cannot read the code key file: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("the code key file is not a regular file") }
        guard Int(st.st_size) <= maximumFileBytes else { throw fail("not a code key file (larger than 64 KiB)") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail("cannot read the code key file: \(String(cString: strerror(errno)))")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw fail("the code key file is not UTF-8 text") }

        var material = ""
        var firstKeyLine: Int?
        var isDemo = false
        var lineNumber = 0
        text.enumerateLines { line, _ in
            lineNumber += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return }
            if trimmed.hasPrefix("#") {
                let comment = trimmed.dropFirst().trimmingCharacters(in: .whitespaces).uppercased()
                if comment.hasPrefix("DEMO KEY") { isDemo = true }
                return
            }
            if firstKeyLine == nil { firstKeyLine = lineNumber }
            material += trimmed.filter { !$0.isWhitespace }
        }
        guard !material.isEmpty else {
            throw fail("the code key file holds no key (expected one line of 64 hex characters, or base64 of at least \(minimumBytes) bytes)")
        }
        let decoded = material.hasPrefix("base64:") ? decodeBase64(String(material.dropFirst(7))) : decodeHex(material)
        guard let bytes = decoded else {
            throw fail(material.hasPrefix("base64:") ? "the code key after base64: is not base64"
                                                     : "the code key is not hex (write a base64 key as base64:…)", line: firstKeyLine)
        }
        guard bytes.count >= minimumBytes else {
            throw fail("the code key is \(bytes.count) bytes; at least \(minimumBytes) are needed (make one with: openssl rand -hex 32)", line: firstKeyLine)
        }
        // Permissions are checked after reading so that a demo key (public anyway) can be told apart.
        let mode = st.st_mode & 0o777
        if mode & 0o077 != 0 && !isDemo {
            throw fail("the code key file can be read or written by group or others (mode \(String(mode, radix: 8))); run: chmod 600 \(path)")
        }
        return try CodeKey(bytes: bytes, path: path, isDemo: isDemo)
    }

    static func decodeHex(_ s: String) -> [UInt8]? {
        let utf8 = Array(s.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func decodeBase64(_ s: String) -> [UInt8]? {
        // Accept the URL-safe alphabet and missing padding as well: both are common in key tools.
        var standard = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = standard.utf8.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { standard += String(repeating: "=", count: 4 - remainder) }
        guard let data = Data(base64Encoded: standard) else { return nil }
        return [UInt8](data)
    }
}

/// Hashes checkup-viewing codes (健診閲覧コード) for the code ledger: HMAC-SHA256 under the `CodeKey`,
/// computed by OpenSSL's libcrypto.
public struct CodeHasher: Sendable {
    public let key: CodeKey

    public init(key: CodeKey) { self.key = key }

    /// Lower-case hex of HMAC-SHA256(key, the code's 12 compact ASCII characters). Hashing the compact
    /// form means the same code always gives the same hash however it was grouped or typed.
    public func hash(_ code: AccessCode) -> String {
        Hex.encode(hashBytes(code))
    }

    /// The same hash as `hash`, as its 32 bytes.
    public func hashBytes(_ code: AccessCode) -> [UInt8] {
        Self.hmacSHA256(key: key.bytes, message: Array(code.compact.utf8))
    }

    /// HMAC-SHA256 (RFC 2104 with SHA-256) of `message` under `key`, 32 bytes. Takes raw bytes so the
    /// RFC 4231 test vectors can be checked against it directly.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // libcrypto wants non-null pointers even for empty input; one spare byte gives it one.
        let keyBuffer = key.isEmpty ? [0] : key
        let messageBuffer = message.isEmpty ? [0] : message
        let result = keyBuffer.withUnsafeBytes { k in
            messageBuffer.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(key.count),
                         m.baseAddress!.assumingMemoryBound(to: UInt8.self), message.count,
                         o.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
                }
            }
        }
        precondition(result != nil && length == 32, "libcrypto HMAC-SHA256 failed")
        return Array(out[0..<Int(length)])
    }
}
