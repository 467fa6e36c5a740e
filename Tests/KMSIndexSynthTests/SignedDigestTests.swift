import Foundation
import XCTest

@testable import KMSIndexSynth

/// Signing digests changes their signatures and fingerprints, and nothing else; the ground
/// truth describes each chain. (The signatures themselves are verified by kmsindex audit's
/// tests, and by this package's SHA256Tests, with libcrypto.)
final class SignedDigestTests: XCTestCase {
    func testSigningChangesOnlyTheDigestsSignaturesAndFingerprints() throws {
        let options = SynthOptions(seed: 4, accounts: 1, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 6)
        var signedOptions = options
        signedOptions.signDigests = true
        let plainRoot = try makeTemporaryDirectory(), signedRoot = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: plainRoot)
            try? FileManager.default.removeItem(at: signedRoot)
        }
        let plainTruth = try Synth.generate(options, into: plainRoot)
        let signedTruth = try Synth.generate(signedOptions, into: signedRoot)
        let plain = try ReadTree(root: plainRoot), signed = try ReadTree(root: signedRoot)

        XCTAssertEqual(plain.logFiles.map(\.path), signed.logFiles.map(\.path))
        XCTAssertEqual(plain.logFiles.map(\.content), signed.logFiles.map(\.content))
        XCTAssertEqual(plain.digests.map(\.path), signed.digests.map(\.path))
        let keys =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: signedRoot.appendingPathComponent(GroundTruth.publicKeysFileName))) as? [String: Any]
        let key = try XCTUnwrap((keys?["PublicKeyList"] as? [[String: Any]])?.first)
        let fingerprint = try XCTUnwrap(key["Fingerprint"] as? String)
        for (a, b) in zip(plain.digests, signed.digests) {
            let changed = Set(a.object.keys).union(b.object.keys).filter { field in
                !NSDictionary(dictionary: [field: a.object[field] ?? NSNull()]).isEqual(to: [field: b.object[field] ?? NSNull()])
            }
            XCTAssertTrue(
                changed.isSubset(of: ["digestPublicKeyFingerprint", "previousDigestSignature", "previousDigestHashValue"]), "\(changed)")
            XCTAssertEqual(b.object["digestPublicKeyFingerprint"] as? String, fingerprint)
        }

        // The ground truth: one chain per account and region, its oldest and newest digest.
        XCTAssertNil(plainTruth.digestChains)
        let chains = try XCTUnwrap(signedTruth.digestChains)
        XCTAssertEqual(chains.map(\.region), ["us-east-1", "eu-west-1"])
        XCTAssertEqual(chains.map(\.digests).reduce(0, +), signedTruth.digestFiles)
        for chain in chains {
            let own = signed.digests.filter { $0.path.contains("/CloudTrail-Digest/\(chain.region)/") }.map(\.path).sorted()
            XCTAssertEqual(own.count, chain.digests)
            XCTAssertEqual(own.first, chain.oldest)
            XCTAssertEqual(own.last, chain.newest)
        }
        // The digests' own signatures: one line per digest, the newest's included.
        let lines = try String(contentsOf: signedRoot.appendingPathComponent(GroundTruth.digestSignaturesFileName), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, signedTruth.digestFiles)
        XCTAssertTrue(lines.allSatisfy { $0.split(separator: " ").last?.count == 512 })
    }
}
