import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// The three events of the KMS developer guide, ingested as log files at their real S3 paths.
final class SeedEventsTests: XCTestCase {
    func testFixturesAreTheSeedDocumentsEventsVerbatim() throws {
        // The committed log files hold exactly the committed event texts.
        let folder = fixturesURL.appendingPathComponent("seed/AWSLogs/111122223333/CloudTrail/us-west-2/2015/11/11")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        let contents = try files.map { String(decoding: gunzip(try Data(contentsOf: folder.appendingPathComponent($0))), as: UTF8.self) }
        XCTAssertEqual(contents, [logFile([seedEvents[0], seedEvents[1]]), logFile([seedEvents[2]])])
        // And each event text stands in the seed document, when it is beside the checkout.
        let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../../shared/seeds/000_7b631bd8bb2229fc.txt").standardized
        if let document = try? String(contentsOf: seed, encoding: .utf8) {
            for event in seedEvents { XCTAssertTrue(document.contains(event)) }
        }
    }

    func testSeedIngestAttachesEachEventToWhatItNames() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let (summary, diagnostics) = try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        XCTAssertEqual(summary.filesIngested, 2)
        XCTAssertEqual(summary.eventsAdded, 3)
        XCTAssertEqual(summary.filesFailed, 0)
        XCTAssertTrue(diagnostics.isEmpty)

        // The trail check names the trail and the bucket prefix, not an object.
        let check = try index.queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM kms_events WHERE event_id = '3cdb2457-c035-4890-93b6-181832b9e766'")
        }
        XCTAssertEqual(check?["trail_arn"], "arn:aws:cloudtrail:us-west-2:111122223333:trail/Default")
        XCTAssertEqual(check?["object_arn"], "arn:aws:s3:::example-bucket-for-CT-logs/AWSLogs/111122223333/")
        XCTAssertEqual(check?["object_kind"], "prefix")
        XCTAssertEqual(check?["key_arn"], "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        XCTAssertEqual(check?["requested_key"], "arn:aws:kms:us-west-2:111122223333:alias/ExampleAliasForCloudTrailCMK")
        // The alias beside the key ARN is learned.
        let aliases = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT alias FROM kms_key_aliases")
        }
        XCTAssertEqual(aliases, ["alias/ExampleAliasForCloudTrailCMK"])

        // who-read of the log file: exactly the Decrypt by cloudtrail-admin, and the GenerateDataKey wrote it.
        guard
            case let .object(object, reads, writes, bucketOnly) = try whoRead(
                index,
                "s3://example-bucket-for-CT-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2015/11/11/111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz"
            )
        else {
            return XCTFail("the log file is not known")
        }
        XCTAssertEqual(object.arn, seedLogFileARN)
        XCTAssertEqual(object.kind, "object")
        XCTAssertEqual(bucketOnly, .none)
        XCTAssertEqual(reads.map(\.eventID), ["9525bee7-5145-42b0-bed5-ab7196a16daa"])
        XCTAssertEqual(reads.first?.principalARN, "arn:aws:iam::111122223333:user/cloudtrail-admin")
        XCTAssertEqual(reads.first?.eventTime, "2015-11-11T21:20:52Z")
        XCTAssertEqual(reads.first?.result, "OK")
        XCTAssertEqual(reads.first?.keyARN, "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        XCTAssertEqual(writes.map(\.eventName), ["GenerateDataKey"])
        XCTAssertEqual(writes.first?.eventID, "7738554f-92ab-4e27-83e3-03354b1aa898")
        XCTAssertEqual(writes.first?.roleARN, "arn:aws:iam::086441151436:role/AWSCloudTrail")
        XCTAssertEqual(writes.first?.sessionName, "i-34755b85")
    }

    func testEveryFormOfTheObjectFindsTheSameLogFile() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        let forms = [
            seedLogFileARN,
            "s3://example-bucket-for-CT-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2015/11/11/111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz",
            "example-bucket-for-CT-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2015/11/11/111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz",
            "111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz",
            "2015/11/11/111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz",
        ]
        for form in forms {
            XCTAssertEqual(try whoRead(index, form).reads.map(\.eventID), ["9525bee7-5145-42b0-bed5-ab7196a16daa"], form)
        }
        XCTAssertEqual(try whoRead(index, "no-such-file.json.gz"), .unknown(bucketLevel: .none))
    }
}
