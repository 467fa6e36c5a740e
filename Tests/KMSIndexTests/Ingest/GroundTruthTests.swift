import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// A generated CloudTrail tree, ingested, checked against the generator's ground truth.
final class GroundTruthTests: XCTestCase {
    func testIndexMatchesTheGroundTruthOfAGeneratedTree() throws {
        let dir = try TempDir()
        let options = SynthOptions(
            seed: 7, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 12,
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
            XCTAssertEqual(
                reads.map { key($0.eventTime, $0.eventID) }.sorted(),
                expected.map { key($0.eventTime, $0.eventID) }.sorted(), arn)
            XCTAssertEqual(
                reads.map { "\($0.eventID) \(caller($0.principalARN, $0.onBehalfOfUserID)) \($0.errorCode ?? "OK")" }.sorted(),
                expected.map { "\($0.eventID) \(caller($0.principalArn, $0.onBehalfOfUserID)) \($0.errorCode ?? "OK")" }.sorted(), arn)
        }
        // And no object has reads the ground truth does not know.
        let objectsWithReads = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT object_arn FROM object_reads")
        }
        XCTAssertEqual(Set(objectsWithReads), Set(truth.objects.filter { !$0.value.isEmpty }.keys))
        XCTAssertEqual(try index.queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }, "ok")
    }

    /// The organization shape: log files read from another account than the key's are logged
    /// in both accounts. Every object's who-read lists both records, and gives the two records
    /// of each call their `sharedEventID` as their one `read_id`.
    func testEachCallLoggedInBothAccountsOfAnOrganizationIsOneRead() throws {
        let dir = try TempDir()
        var options = SynthShape.organization.options(seed: 3, targetUncompressedBytes: 6_000_000, days: 1)
        options.accounts = 2
        options.regions = ["us-east-1", "eu-west-1"]
        options.filesPerDay = 12
        let truth = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path + "/tree"])
        XCTAssertEqual(summary.eventsAdded, truth.kmsEvents)

        var pairs = 0, logFilePairs = 0
        for (arn, expected) in truth.objects {
            let reads = try whoRead(index, arn).reads
            XCTAssertEqual(reads.map(\.eventID).sorted(), expected.map(\.eventID).sorted(), arn)
            let calls = Dictionary(grouping: expected.filter { $0.sharedEventID != nil }, by: { $0.sharedEventID! })
            for (shared, records) in calls where records.count == 2 {
                pairs += 1
                if arn.contains("/CloudTrail/") { logFilePairs += 1 }
                // The caller's record names its principal; the key owner's names an AWSAccount.
                let callers = records.filter { $0.principalArn != nil }
                XCTAssertEqual(callers.count, 1, arn)
                let ids = Set(records.map { id in reads.first { $0.eventID == id.eventID }?.readID })
                XCTAssertEqual(ids, [shared], arn)
            }
        }
        XCTAssertGreaterThan(logFilePairs, 20, "log files read from the readers' account")
        XCTAssertGreaterThan(pairs, logFilePairs, "data-lake objects read from another account too")
    }
}

/// A caller as the ground truth tells it: its ARN, and the user id of an Identity Center user
/// (who has no ARN; its account is shared with the other users).
private func caller(_ arn: String?, _ user: String?) -> String { "\(arn ?? "-") \(user ?? "-")" }

/// A generated tree with S3 data events (`--s3-data-events`): who-read of every object lists
/// exactly the ground truth's Decrypts and S3 reads, pairs what the generator paired, marks
/// the sync role's reads once it is an own principal (which stats proposes); and `auto` gives
/// the same index whatever the file order.
final class S3ReadsGroundTruthTests: XCTestCase {
    func ingestTree(_ dir: TempDir, tree: String, reverse: Bool) throws -> IndexDatabase {
        let index = try makeIndex(dir, name: reverse ? "reverse.sqlite" : "forward.sqlite")
        var files: [String] = []
        try InputWalker(excluded: [], days: nil).walk([tree], visit: { files.append($0.path) }, note: { _ in })
        files.sort()
        var options = IngestOptions(paths: reverse ? files.reversed() : files)
        options.jobs = 1
        options.largestFirst = false
        options.s3Reads = .auto
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.filesFailed, 0, "\(summary.failed)")
        return index
    }

    func testWhoReadOfEveryObjectAndFileOrder() throws {
        let dir = try TempDir()
        var options = SynthOptions(seed: 11, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 12)
        options.s3DataEvents = true
        let truth = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        let s3Truth = try XCTUnwrap(truth.s3Reads)
        XCTAssertTrue(s3Truth.values.joined().contains { $0.errorCode != nil }, "failed GetObjects")
        XCTAssertTrue(s3Truth.values.joined().contains { $0.pairedDecrypt != nil }, "reads recorded twice")
        XCTAssertTrue(s3Truth.values.joined().contains { $0.pairedDecrypt == nil && $0.errorCode == nil }, "reads only in data events")

        let index = try ingestTree(dir, tree: dir.path + "/tree", reverse: false)
        for arn in Set(truth.objects.keys).union(s3Truth.keys) {
            let reads = try whoRead(index, arn).reads
            let expected =
                (truth.objects[arn] ?? []).map {
                    "kms \($0.eventID) \(caller($0.principalArn, $0.onBehalfOfUserID)) \($0.errorCode ?? "OK")"
                }
                + (s3Truth[arn] ?? []).map { "s3 \($0.eventID) \(caller($0.principalArn, $0.onBehalfOfUserID)) \($0.errorCode ?? "OK")" }
            XCTAssertEqual(
                reads.map { "\($0.source) \($0.eventID) \(caller($0.principalARN, $0.onBehalfOfUserID)) \($0.errorCode ?? "OK")" }
                    .sorted(),
                expected.sorted(), arn)
            // Pairs: each S3 read the generator paired shares its read id with that Decrypt.
            for read in s3Truth[arn] ?? [] {
                let row = reads.first { $0.source == "s3" && $0.eventID == read.eventID }
                let partner = reads.first { $0.source == "kms" && $0.readID != nil && $0.readID == row?.readID }
                XCTAssertEqual(partner?.eventID, read.pairedDecrypt, "\(arn) \(read.eventID)")
                XCTAssertEqual(row?.bytes.map(Int.init), read.bytes)
            }
        }
        // No S3 read the ground truth does not know (HeadObject, unrelated buckets).
        let stored = try index.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_reads") }
        XCTAssertEqual(stored, s3Truth.values.joined().count)

        // The sync role is proposed, and once named its reads are marked.
        let likely = try index.queue.read { db in try OwnPrincipals.likely(db) }
        XCTAssertTrue(truth.syncPrincipals?.contains(likely?.arn ?? "") ?? false, "\(String(describing: likely))")
        try index.queue.write { db in for arn in truth.syncPrincipals ?? [] { _ = try OwnPrincipals.add(db, arn: arn) } }
        let paired = try XCTUnwrap(s3Truth.first { $0.value.contains { $0.pairedDecrypt != nil } })
        let marked = try whoRead(index, paired.key).reads.filter(\.ownRead).map(\.eventID)
        XCTAssertFalse(marked.isEmpty)

        let reverse = try ingestTree(dir, tree: dir.path + "/tree", reverse: true)
        try index.queue.write { db in for arn in truth.syncPrincipals ?? [] { _ = try OwnPrincipals.remove(db, arn: arn) } }
        XCTAssertEqual(try tableContents(index), try tableContents(reverse))
    }
}
