import Foundation
import KMSCrypto
import XCTest

@testable import KMSIndexSynth

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(
            SHA256.hexDigest(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hexDigest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// One million "a", fed in uneven pieces so block boundaries fall everywhere.
    func testMillionAInPieces() {
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = SHA256()
        var offset = 0
        var step = 1
        while offset < data.count {
            let end = min(data.count, offset + step)
            data[offset..<end].withUnsafeBytes { hasher.update($0) }
            offset = end
            step = step % 150 + 7
        }
        XCTAssertEqual(
            SHA256.hex(hasher.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A hasher is a value: a copy goes on from where the original was, each on its own, and
    /// finalizing leaves the state as it was.
    func testCopiesAreIndependentAndFinalizeKeepsTheState() {
        var ab = SHA256()
        ab.update(Array("a".utf8))
        var ac = ab
        ab.update(Array("b".utf8))
        ac.update(Array("c".utf8))
        XCTAssertEqual(SHA256.hex(ab.finalize()), SHA256.hexDigest(Array("ab".utf8)))
        XCTAssertEqual(SHA256.hex(ac.finalize()), SHA256.hexDigest(Array("ac".utf8)))
        XCTAssertEqual(ab.finalize(), ab.finalize())
        ab.update(Array("c".utf8))
        XCTAssertEqual(SHA256.hex(ab.finalize()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// MD5 as RFC 1321's examples give it (the fingerprint of a CloudTrail public key).
    func testMD5() {
        XCTAssertEqual(SHA256.hex(MD5.hash(Array("".utf8))), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(SHA256.hex(MD5.hash(Array("abc".utf8))), "900150983cd24fb0d6963f7d28e17f72")
    }

    /// The test key signs, its public half verifies that signature and no other.
    func testRSASignatureRoundTrip() throws {
        let key = try RSAPrivateKey(pem: TestSigningKey.pem)
        let publicKey = try RSAPublicKey(der: key.publicKeyPKCS1DER)
        let message = Array("2024-03-01T01:00:00Z\nbucket/key\nabc\nnull".utf8)
        let signature = try key.signature(for: message)
        XCTAssertTrue(publicKey.isValidSignature(signature, sha256Digest: SHA256.hash(message)))
        XCTAssertFalse(publicKey.isValidSignature(signature, sha256Digest: SHA256.hash(message + [0])))
        var altered = signature
        altered[altered.count / 2] ^= 1
        XCTAssertFalse(publicKey.isValidSignature(altered, sha256Digest: SHA256.hash(message)))
        XCTAssertThrowsError(try RSAPublicKey(der: Array("not a key".utf8)))
    }

    /// Lengths around the padding boundary (55, 56, 63, 64, 65 bytes) agree with sha256sum.
    func testPaddingBoundariesAgainstSha256sum() throws {
        for length in [55, 56, 63, 64, 65, 119, 120] {
            let data = Data((0..<length).map { UInt8($0 % 251) })
            XCTAssertEqual(SHA256.hexDigest(data), try sha256sum(data), "length \(length)")
        }
    }

    /// The digest of a generated log file's uncompressed content equals sha256sum's.
    func testGeneratedLogFileAgainstSha256sum() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let file = try XCTUnwrap(tree.logFiles.max { $0.content.count < $1.content.count })
        XCTAssertEqual(SHA256.hexDigest(file.content), try sha256sum(file.content))
    }

    /// Runs the system's sha256sum on `data`.
    private func sha256sum(_ data: Data) throws -> String {
        let tool = "/usr/bin/sha256sum"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("no \(tool)") }
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("input")
        try data.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
