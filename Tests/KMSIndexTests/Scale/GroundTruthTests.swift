import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// A generated CloudTrail tree, ingested, checked against the generator's ground truth.
final class GroundTruthTests: XCTestCase {
    func testIndexMatchesTheGroundTruthOfAGeneratedTree() throws {
        let dir = try TempDir()
        let options = SynthOptions(seed: 7, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 12,
                                   organizationID: "o-abc123def4")
        let truth = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        let index = try makeIndex(dir)
        let (summary, diagnostics) = try ingest(index, [dir.path + "/tree"])

        XCTAssertEqual(summary.filesFailed, 0, "\(summary.failed)")
        XCTAssertTrue(diagnostics.isEmpty)
        XCTAssertEqual(summary.filesIngested, truth.logFiles)
        XCTAssertEqual(summary.skippedByReason["CloudTrail digest file"], truth.digestFiles)
        XCTAssertEqual(summary.skippedByReason["CloudTrail Insights file"], truth.insightFiles)
        XCTAssertEqual(summary.eventsAdded, truth.kmsEvents)
        XCTAssertGreaterThan(summary.duplicates, 0, "the generator delivers some events twice")

        let names = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_name, count(*) AS n FROM kms_events GROUP BY event_name")
                .reduce(into: [String: Int]()) { $0[$1["event_name"]] = $1["n"] }
        }
        XCTAssertEqual(names, truth.eventNames)

        // Every object's who-read list, exactly.
        XCTAssertFalse(truth.objects.isEmpty)
        for (arn, expected) in truth.objects {
            let reads = try whoRead(index, arn).reads
            func key(_ time: String, _ id: String) -> String { (EventTime.normalize(time) ?? time) + " " + id }
            XCTAssertEqual(reads.map { key($0.eventTime, $0.eventID) }.sorted(),
                           expected.map { key($0.eventTime, $0.eventID) }.sorted(), arn)
            XCTAssertEqual(reads.map { "\($0.eventID) \($0.principalARN ?? "-") \($0.errorCode ?? "OK")" }.sorted(),
                           expected.map { "\($0.eventID) \($0.principalArn ?? "-") \($0.errorCode ?? "OK")" }.sorted(), arn)
        }
        // And no object has reads the ground truth does not know.
        let objectsWithReads = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT object_arn FROM object_reads")
        }
        XCTAssertEqual(Set(objectsWithReads), Set(truth.objects.filter { !$0.value.isEmpty }.keys))
        XCTAssertEqual(try index.queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }, "ok")
    }
}
