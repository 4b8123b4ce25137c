import CCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Streaming SHA-256 over OpenSSL's EVP interface (libcrypto), used for every input and output
/// listed in a manifest.
public final class SHA256Digest {
    private let ctx: OpaquePointer

    public init() {
        ctx = EVP_MD_CTX_new()!
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Finishes and returns the lower-case hex digest. The object must not be used afterwards.
    public func finalizeHex() -> String {
        var md = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &md, &len)
        return Hex.encode(md[0..<Int(len)])
    }

    public static func hex(of bytes: [UInt8]) -> String {
        let d = SHA256Digest(); d.update(bytes); return d.finalizeHex()
    }

    public static func hex(of text: String) -> String { hex(of: Array(text.utf8)) }

    /// SHA-256 of a whole file, read in 1 MB blocks (a regular file only; one that changes while it
    /// is hashed is an error: see `InputFile`).
    public static func hex(ofFile path: String) throws -> (sha256: String, bytes: Int) {
        try hex(of: try FileByteSource(path: path))
    }

    /// SHA-256 of a file already opened, from its first byte (it is left read to its end: `rewind` it
    /// to read it again).
    public static func hex(of file: FileByteSource) throws -> (sha256: String, bytes: Int) {
        file.rewind()
        let d = SHA256Digest()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buf.withUnsafeMutableBytes { try file.read(into: $0) }
            if n == 0 { break }
            buf.withUnsafeBytes { d.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        try file.checkUnchanged()
        return (d.finalizeHex(), file.bytesRead)
    }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8](); out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
