import Foundation
import Testing
import KenpoCore

@Suite("CodeHasher")
struct CodeHasherTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = s.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    /// RFC 4231 section 4, test cases 1–7, HMAC-SHA-256 (case 5 is truncated to 128 bits).
    static let rfc4231: [(key: [UInt8], data: [UInt8], mac: String)] = [
        (Array(repeating: 0x0B, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (Array(repeating: 0xAA, count: 20), Array(repeating: 0xDD, count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        (Array(1...25), Array(repeating: 0xCD, count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (Array(repeating: 0x0C, count: 20), Array("Test With Truncation".utf8),
         "a3b6167473100ee06e0c796c2955552b"),
        (Array(repeating: 0xAA, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (Array(repeating: 0xAA, count: 131),
         Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1–7", arguments: 0..<7)
    func rfc4231(_ index: Int) {
        let c = Self.rfc4231[index]
        let mac = CodeHasher.hmacSHA256(key: c.key, message: c.data)
        #expect(mac.count == 32)
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        #expect(hex.hasPrefix(c.mac), "test case \(index + 1)")
    }

    @Test("HMAC with an empty message and an empty key still works (RFC 2104 allows both)")
    func emptyInputs() {
        // Python: hmac.new(b"", b"", hashlib.sha256).hexdigest()
        let mac = CodeHasher.hmacSHA256(key: [], message: [])
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    static let key32 = Array(UInt8(0)...UInt8(31))

    @Test("a code's hash is lower-case hex HMAC over its compact form")
    func hashOfCode() throws {
        guard case .valid(let code) = AccessCode.parse("ab3k-7qxm-2d92") else { Issue.record("code"); return }
        let hasher = CodeHasher(key: try CodeKey(bytes: Self.key32))
        // Python: hmac.new(bytes(range(32)), b"AB3K7QXM2D92", hashlib.sha256).hexdigest()
        #expect(hasher.hash(code) == "d6838f194088fcb77e434d94d6cdc80762a337550f2791aa20ecff17bd6f63ce")
        #expect(try CodeKey(bytes: Self.key32).fingerprint == "d9492a237b37d62f")
    }

    // MARK: - key files

    final class Folder {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "kenpo-key-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
            let file = path + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
            return file
        }
    }

    static let hexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

    @Test("key file formats", arguments: [
        hexKey + "\n",
        "# kenpo code key, made 2026-11-01\n\n" + hexKey + "\n",
        hexKey.uppercased(),
        "  " + String(hexKey.prefix(32)) + "\n  " + String(hexKey.suffix(32)) + "  \n",
        "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",            // no padding
        "# comment\r\nbase64: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n",
    ])
    func formats(_ text: String) throws {
        let folder = try Folder()
        let key = try CodeKey.load(path: try folder.write("k", text))
        #expect(key.fingerprint == "d9492a237b37d62f")
        #expect(!key.isDemo)
    }

    @Test("a # DEMO KEY line marks a demo key, which may be world-readable")
    func demoKey() throws {
        let folder = try Folder()
        let path = try folder.write("demo.key", "# DEMO KEY — for the samples only, never for real members\n" + Self.hexKey + "\n", mode: 0o644)
        let key = try CodeKey.load(path: path)
        #expect(key.isDemo)
        #expect(key.description.contains("DEMO"))
        #expect(!key.description.contains(Self.hexKey))
    }

    @Test("unusable key files are configuration errors that say what to do", arguments: [
        ("", 0o600, "holds no key"),
        ("# only a comment\n", 0o600, "holds no key"),
        ("00010203", 0o600, "is 4 bytes; at least 32"),
        ("zz" + String(hexKey.dropFirst(2)), 0o600, "is not hex (write a base64 key as base64:"),
        ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0o600, "is not hex"),
        ("base64:%%%%", 0o600, "after base64: is not base64"),
        ("base64:AAECAw==", 0o600, "is 4 bytes"),
        (hexKey, 0o644, "chmod 600"),
        (hexKey, 0o640, "chmod 600"),
        (hexKey, 0o604, "chmod 600"),
    ])
    func refusals(_ c: (String, Int, String)) throws {
        let folder = try Folder()
        let path = try folder.write("k", c.0, mode: c.1)
        do {
            _ = try CodeKey.load(path: path)
            Issue.record("accepted \(c)")
        } catch let error as KenpoError {
            #expect(error.exitStatus == .usage)
            guard case .configuration(let p, _, let message) = error else { Issue.record("\(error)"); return }
            #expect(p == path)
            #expect(message.contains(c.2), "\(message)")
        }
    }

    @Test("a missing key file names the file")
    func missing() throws {
        let folder = try Folder()
        #expect(throws: KenpoError.configuration(path: folder.path + "/nope", line: nil, message: "cannot read the code key file: No such file or directory")) {
            try CodeKey.load(path: folder.path + "/nope")
        }
    }

    @Test("resolve: --key-file wins, then KENPO_CODE_KEY_FILE, else a clear refusal")
    func resolve() throws {
        let folder = try Folder()
        let explicit = try folder.write("explicit", Self.hexKey)
        let fromEnv = try folder.write("env", "# DEMO KEY\n" + Self.hexKey)
        let env = ["KENPO_CODE_KEY_FILE": fromEnv]
        #expect(try CodeKey.resolve(keyFile: explicit, environment: env).path == explicit)
        #expect(try CodeKey.resolve(keyFile: nil, environment: env).path == fromEnv)
        #expect(try CodeKey.resolve(keyFile: "", environment: env).path == fromEnv)
        #expect(throws: KenpoError.configuration(path: "kenpo", line: nil, message: "no code key: pass --key-file or set KENPO_CODE_KEY_FILE; kenpo never issues codes without one")) {
            try CodeKey.resolve(keyFile: nil, environment: [:])
        }
        #expect(throws: KenpoError.configuration(path: "kenpo", line: nil, message: "no code key: pass --key-file or set KENPO_CODE_KEY_FILE; kenpo never issues codes without one")) {
            try CodeKey.resolve(keyFile: nil, environment: ["KENPO_CODE_KEY_FILE": ""])
        }
        do {
            _ = try CodeKey.resolve(keyFile: nil, environment: ["KENPO_CODE_KEY_FILE": folder.path + "/missing"])
            Issue.record("accepted a missing file")
        } catch KenpoError.configuration(_, _, let message) {
            #expect(message.hasSuffix("(this file is named by KENPO_CODE_KEY_FILE)"))
        }
    }

    @Test("a key shorter than 32 bytes is refused in memory too")
    func shortKey() {
        #expect(throws: KenpoError.self) { try CodeKey(bytes: Array(repeating: 1, count: 31)) }
    }
}
