import Foundation
import XCTest

@testable import KMSIndexSynth

/// The ground truth agrees with an independent reading of the files (zlib inflate and
/// JSONSerialization, none of the generator's code).
final class GroundTruthTests: XCTestCase {
    func testKMSEventCountsAgreeWithFiles() throws {
        let (truth, tree) = try TreeCache.shared.tree()
        var names: [String: Int] = [:]
        var seen = Set<String>()
        for (_, record) in tree.kmsRecords {
            let id = try XCTUnwrap(record["eventID"] as? String)
            guard seen.insert(id).inserted else { continue }
            names[try XCTUnwrap(record["eventName"] as? String), default: 0] += 1
        }
        XCTAssertGreaterThan(seen.count, 200)
        XCTAssertEqual(truth.kmsEvents, seen.count)
        XCTAssertEqual(truth.eventNames, names)
    }

    func testDecryptsPerObjectAgreeWithFiles() throws {
        let (truth, tree) = try TreeCache.shared.tree()
        var expected: [String: [String: GroundTruthRead]] = [:]
        for (_, record) in tree.kmsRecords where record["eventName"] as? String == "Decrypt" {
            guard let arn = record.string(at: "requestParameters", "encryptionContext", "aws:s3:arn") else { continue }
            let id = try XCTUnwrap(record["eventID"] as? String)
            let principal = record.string(at: "userIdentity", "arn").flatMap { $0.isEmpty ? nil : $0 }
            expected[arn, default: [:]][id] = GroundTruthRead(
                eventTime: try XCTUnwrap(record["eventTime"] as? String), eventID: id, principalArn: principal,
                onBehalfOfUserID: record.string(at: "userIdentity", "onBehalfOf", "userId"),
                errorCode: record["errorCode"] as? String, sharedEventID: record["sharedEventID"] as? String)
        }
        XCTAssertEqual(Set(truth.objects.keys), Set(expected.keys))
        for (arn, reads) in truth.objects {
            XCTAssertEqual(reads.count, expected[arn]?.count, arn)
            XCTAssertEqual(Set(reads.map(\.eventID)), Set(expected[arn]?.keys.map { $0 } ?? []), arn)
            for read in reads {
                XCTAssertEqual(read, expected[arn]?[read.eventID], arn)
            }
            // Time order, then eventID.
            let keys = reads.map { (Self.milliseconds($0.eventTime), $0.eventID) }
            XCTAssertEqual(keys.map(\.0), keys.map(\.0).sorted(), arn)
        }
    }

    func testObjectKindsArePresent() throws {
        let (truth, _) = try TreeCache.shared.tree()
        let arns = Array(truth.objects.keys)
        // CloudTrail's own log files, read back.
        XCTAssertTrue(arns.contains { $0.contains("/AWSLogs/") && $0.hasSuffix(".json.gz") })
        // A bucket with S3 Bucket Keys: the bucket ARN alone.
        XCTAssertTrue(arns.contains { $0.hasPrefix("arn:aws:s3:::") && !$0.dropFirst(13).contains("/") })
        // A hot object read many times, and objects read once.
        XCTAssertGreaterThanOrEqual(truth.objects.values.map(\.count).max() ?? 0, 10)
        XCTAssertGreaterThan(truth.objects.values.filter { $0.count == 1 }.count, 10)
        // Awkward keys: spaces, Unicode, quotes, control characters.
        XCTAssertTrue(arns.contains { $0.contains("売上レポート 最終版.pdf") })
        XCTAssertTrue(arns.contains { $0.contains("quote\"and\\backslash") })
        XCTAssertTrue(arns.contains { $0.contains("line\nbreak") })
        // Failed reads are listed too.
        XCTAssertTrue(truth.objects.values.joined().contains { $0.errorCode == "AccessDenied" })
    }

    func testFileCountsAndSizesAgree() throws {
        let (truth, tree) = try TreeCache.shared.tree()
        XCTAssertEqual(truth.logFiles, tree.logFiles.count)
        XCTAssertEqual(truth.logFiles, 2 * 2 * 8)
        XCTAssertEqual(truth.digestFiles, tree.digests.count)
        XCTAssertEqual(truth.insightFiles, tree.insights.count)
        XCTAssertEqual(truth.otherFiles, tree.otherFiles.count)
        XCTAssertEqual(truth.uncompressedBytes, tree.logFiles.map(\.content.count).reduce(0, +))
    }

    func testGroundTruthFileMatchesReturnedValue() throws {
        let (truth, tree) = try TreeCache.shared.tree()
        let url = tree.root.appendingPathComponent(GroundTruth.fileName)
        XCTAssertEqual(try GroundTruth.read(from: url), truth)
        // snake_case field names; eventName and ARN keys left as they are.
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertNotNil(object["kms_events"])
        XCTAssertNotNil((object["event_names"] as? [String: Any])?["GenerateDataKey"])
        let firstRead = try XCTUnwrap((object["objects"] as? [String: [[String: Any]]])?.values.first?.first)
        XCTAssertNotNil(firstRead["event_time"])
        XCTAssertNotNil(firstRead["event_id"])
    }

    static func milliseconds(_ time: String) -> Int64 {
        // "2024-03-01T00:00:05Z" or "2024-03-01T00:00:05.123Z"
        let digits = time.filter(\.isNumber).map { Int64($0.wholeNumberValue!) }
        var value: Int64 = 0
        for d in digits.prefix(14) { value = value * 10 + d }
        var ms: Int64 = 0
        if digits.count > 14 { for d in digits.dropFirst(14) { ms = ms * 10 + d } }
        return value * 1000 + ms
    }
}
