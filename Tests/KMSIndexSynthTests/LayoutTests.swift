import Foundation
import KMSCrypto
import XCTest

@testable import KMSIndexSynth

final class LayoutTests: XCTestCase {
    static let logPattern =
        #"^AWSLogs/(o-[a-z0-9]+/)?(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/\2_CloudTrail_\3_\4\5\6T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"#
    static let digestPattern =
        #"^AWSLogs/(o-[a-z0-9]+/)?(\d{12})/CloudTrail-Digest/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/\2_CloudTrail-Digest_\3_[A-Za-z0-9_.-]+_[a-z0-9-]+_\4\5\6T\d{6}Z\.json\.gz$"#
    static let insightPattern =
        #"^AWSLogs/(o-[a-z0-9]+/)?(\d{12})/CloudTrail-Insight/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/\2_CloudTrail-Insight_\3_\4\5\6T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"#

    private func matches(_ pattern: String, _ text: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    func testEveryFileFollowsTheLayout() throws {
        let (_, tree) = try TreeCache.shared.tree()
        for file in tree.logFiles {
            XCTAssertTrue(matches(Self.logPattern, file.path), file.path)
        }
        for digest in tree.digests {
            XCTAssertTrue(matches(Self.digestPattern, digest.path), digest.path)
        }
        XCTAssertEqual(tree.insights.count, 2)
        for insight in tree.insights {
            XCTAssertTrue(matches(Self.insightPattern, insight.path), insight.path)
        }
        XCTAssertTrue(tree.otherFiles.contains { $0.hasSuffix("/CloudTrail/ConfigWritabilityCheckFile") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: tree.root.appendingPathComponent("ground-truth.json").path))
    }

    /// Each log file is one line of compact JSON, `{"Records":[...]}`, named after its
    /// delivery, which comes after every event it holds.
    func testLogFilesAreCompactAndNamedByDelivery() throws {
        let (_, tree) = try TreeCache.shared.tree()
        for file in tree.logFiles {
            XCTAssertTrue(file.content.starts(with: Array(#"{"Records":[{"eventVersion":"#.utf8)), file.path)
            XCTAssertFalse(file.content.contains(UInt8(ascii: "\n")), file.path)
            // Both sides as YYYYMMDDHHmm numbers: the delivery minute is after every event's.
            let stamp = String(file.path.split(separator: "_").dropLast().last!)  // YYYYMMDDTHHmmZ
            let deliveryMinute = GroundTruthTests.milliseconds(stamp + "00") / 100_000
            let times = file.records.compactMap { $0["eventTime"] as? String }.map(GroundTruthTests.milliseconds)
            XCTAssertEqual(times.count, file.records.count)
            XCTAssertLessThan(times.max()! / 100_000, deliveryMinute, file.path)
        }
    }

    /// Digests list log files with the SHA-256 of their uncompressed content, and chain to the
    /// previous digest by its hash.
    func testDigestsHashTheLogFiles() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let contents = Dictionary(uniqueKeysWithValues: tree.logFiles.map { ($0.path, $0.content) })
        var listed = Set<String>()
        for (path, digest) in tree.digests {
            XCTAssertEqual(digest["digestS3Object"] as? String, path)
            XCTAssertEqual(digest["digestSignatureAlgorithm"] as? String, "SHA256withRSA")
            for key in ["awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestPublicKeyFingerprint"] {
                XCTAssertNotNil(digest[key] as? String, "\(key) in \(path)")
            }
            let files = try XCTUnwrap(digest["logFiles"] as? [[String: Any]])
            for entry in files {
                let object = try XCTUnwrap(entry["s3Object"] as? String)
                let content = try XCTUnwrap(contents[object], "digest lists a missing file \(object)")
                XCTAssertEqual(entry["hashValue"] as? String, SHA256.hexDigest(content), object)
                XCTAssertEqual(entry["hashAlgorithm"] as? String, "SHA-256")
                XCTAssertNotNil(entry["newestEventTime"] as? String)
                XCTAssertNotNil(entry["oldestEventTime"] as? String)
                listed.insert(object)
            }
            if let previous = digest["previousDigestS3Object"] as? String {
                let previousDigest = try Data(contentsOf: tree.root.appendingPathComponent(previous))
                XCTAssertEqual(digest["previousDigestHashValue"] as? String, SHA256.hexDigest(try gunzip(previousDigest)))
                XCTAssertEqual(digest["previousDigestHashAlgorithm"] as? String, "SHA-256")
            } else {
                XCTAssertTrue(digest["previousDigestHashValue"] is NSNull)
            }
        }
        XCTAssertEqual(listed, Set(contents.keys), "every log file is in exactly one digest")
    }

    func testInsightsAreNotLogRecords() throws {
        let (_, tree) = try TreeCache.shared.tree()
        for (_, insight) in tree.insights {
            let records = try XCTUnwrap(insight["Records"] as? [[String: Any]])
            XCTAssertEqual(records.first?["eventType"] as? String, "AwsCloudTrailInsight")
            XCTAssertEqual(records.first?["eventCategory"] as? String, "Insight")
            XCTAssertNotNil(records.first?["insightDetails"] as? [String: Any])
        }
    }

    /// Big files and one small file are written as several concatenated gzip members.
    func testSomeFilesHaveSeveralGzipMembers() throws {
        let (_, tree) = try TreeCache.shared.tree()
        var counts: [Int] = []
        for file in tree.logFiles {
            counts.append(try gzipMemberCount(Data(contentsOf: tree.root.appendingPathComponent(file.path))))
        }
        XCTAssertTrue(counts.contains(1))
        XCTAssertTrue(counts.contains { $0 > 1 })
    }

    /// An organization trail: every path under `AWSLogs/o-.../`, every delivery event made for
    /// the one trail of the management account.
    func testOrganizationTrailLayout() throws {
        let options = SynthOptions(
            seed: 3, accounts: 3, regions: ["eu-central-1"], days: 1, filesPerDay: 3, organizationID: "o-exampleorg1")
        let (truth, tree) = try TreeCache.shared.tree(options)
        XCTAssertEqual(truth.logFiles, 9)
        for file in tree.logFiles {
            XCTAssertTrue(file.path.hasPrefix("AWSLogs/o-exampleorg1/"), file.path)
            XCTAssertTrue(matches(Self.logPattern, file.path), file.path)
        }
        let trails = Set(
            tree.kmsRecords.compactMap { $0.record.string(at: "requestParameters", "encryptionContext", "aws:cloudtrail:arn") })
        XCTAssertEqual(trails.count, 1)
        XCTAssertTrue(trails.first?.hasSuffix(":trail/org-trail") ?? false)
    }

    func testRefusesATreeThatAlreadyExists() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("AWSLogs"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try Synth.generate(SynthOptions(days: 1, filesPerDay: 1), into: root))
    }
}
