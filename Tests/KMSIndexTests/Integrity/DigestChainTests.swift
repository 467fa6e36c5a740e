import XCTest

@testable import KMSIndex

/// The chain check on hand-made digests: the cases a generated tree does not have.
final class DigestChainTests: XCTestCase {
    /// A digest of the us-east-1 chain ending at `hour` (or a late one), naming `previous`.
    func digest(_ hour: Int, backfill: Bool = false, previous: String? = nil, previousHash: String = "") throws -> DigestRecord {
        let object = key(hour, backfill: backfill)
        var fields: [(String, JSONValue)] = [
            ("digestS3Bucket", .string("b")), ("digestS3Object", .string(object)),
            ("digestEndTime", .string("2024-03-01T\(hour < 10 ? "0" : "")\(hour):00:00Z")),
            ("digestPublicKeyFingerprint", .string("00")), ("digestSignatureAlgorithm", .string("SHA256withRSA")),
        ]
        if let previous {
            fields += [
                ("previousDigestS3Bucket", .string("b")), ("previousDigestS3Object", .string(previous)),
                ("previousDigestHashValue", .string(previousHash)), ("previousDigestSignature", .string("ab")),
            ]
        }
        // The key in lower case stands for the content's SHA-256 (hashes are lowercase hex).
        return try DigestRecord(path: "/synced/" + object, json: .object(fields), contentSHA256: object.lowercased())
    }

    func key(_ hour: Int, backfill: Bool = false) -> String {
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240301T\(hour < 10 ? "0" : "")\(hour)0000Z\(backfill ? "_backfill" : "").json.gz"
    }

    func testALinkToALateDigestIsCheckedByItsHashAlone() throws {
        let chain = DigestChain([
            try digest(1),
            try digest(2, previous: key(1), previousHash: key(1).lowercased()),
            try digest(2, backfill: true),
            try digest(3, previous: key(2, backfill: true), previousHash: key(2, backfill: true).lowercased()),
        ])
        XCTAssertEqual(chain.findings, [])
        XCTAssertEqual(chain.vouchedSignatures.keys.sorted(), [0, 2])
    }

    func testALateDigestChangedAfterTheNextOneNamedItIsABreak() throws {
        let chain = DigestChain([
            try digest(1),
            try digest(2, previous: key(1), previousHash: key(1).lowercased()),
            try digest(2, backfill: true),
            try digest(3, previous: key(2, backfill: true), previousHash: "0123abcd"),
        ])
        XCTAssertEqual(chain.findings.map(\.kind), [.digestChainBroken])
        XCTAssertEqual(chain.findings.first?.subject, "s3://b/" + key(2, backfill: true))
        XCTAssertTrue(chain.findings[0].detail.contains("recorded 0123abcd"), chain.findings[0].detail)
    }

    func testALateDigestIsNotTakenForTheOneBeforeTheNextInItsChain() throws {
        // Hour 3 names hour 2, though the late digest of hour 2 sorts between them: no break.
        // A late digest naming no previous one starts nothing either.
        let chain = DigestChain([
            try digest(1),
            try digest(2, previous: key(1), previousHash: key(1).lowercased()),
            try digest(2, backfill: true),
            try digest(3, previous: key(2), previousHash: key(2).lowercased()),
        ])
        XCTAssertEqual(chain.findings, [])
    }

    func testTwoDigestsNamingTheSamePreviousOneAreABreak() throws {
        let chain = DigestChain([
            try digest(1),
            try digest(2, previous: key(1), previousHash: key(1).lowercased()),
            try digest(3, previous: key(1), previousHash: key(1).lowercased()),
        ])
        XCTAssertEqual(chain.findings.map(\.kind), [.digestChainBroken, .digestChainBroken])
        XCTAssertTrue(chain.findings[0].detail.contains("one of them was not written by CloudTrail"), chain.findings[0].detail)
    }

    func testAStartingDigestBeginsANewChain() throws {
        // Logging stopped after hour 2 and started again at hour 5: no break.
        let chain = DigestChain([
            try digest(1),
            try digest(2, previous: key(1), previousHash: key(1).lowercased()),
            try digest(5),
            try digest(6, previous: key(5), previousHash: key(5).lowercased()),
        ])
        XCTAssertEqual(chain.findings, [])
    }

    func testADigestNotWhereItSaysItWasWrittenIsABreak() throws {
        var moved = try digest(1)
        moved.path = "/synced/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/elsewhere.json.gz"
        let chain = DigestChain([moved])
        XCTAssertEqual(chain.findings.map(\.kind), [.digestChainBroken])
        XCTAssertEqual(chain.checked, [])
    }
}
