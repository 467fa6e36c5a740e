import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Records from before late 2022 may name their key by a bare key id and have no `resources`:
/// ingest ties them to the key of that id in the account and region called, and migration 031
/// ties those an older index holds, summaries included.
final class BareKeyIDTests: XCTestCase {
    let shared = "11111111-2222-3333-4444-555555555555"  // also named by ARN in resources
    let onlyBare = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"  // never named otherwise
    var sharedARN: String { "arn:aws:kms:us-west-2:111122223333:key/\(shared)" }
    var onlyBareARN: String { "arn:aws:kms:us-west-2:111122223333:key/\(onlyBare)" }

    /// Old-style records (the ids of those without resources are returned), modern ones naming
    /// the same key by ARN, and an alias alone (which stays untied).
    func writeTree(_ dir: TempDir) throws -> (root: String, oldStyle: [String]) {
        var records: [String] = []
        var oldStyle: [String] = []
        for (n, keyID) in [shared, shared, onlyBare, onlyBare, onlyBare].enumerated() {
            let id = String(format: "00000000-0000-4000-8000-%012d", n)
            oldStyle.append(id)
            records.append(
                kmsRecord(
                    eventID: id, eventName: "GenerateDataKey", eventTime: "2024-03-0\(1 + n % 2)T10:00:0\(n)Z",
                    requestParameters: #"{"keyId":"\#(keyID)","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/o\#(n)"}}"#,
                    resources: nil))
        }
        for n in 0..<3 {
            records.append(
                kmsRecord(
                    eventID: String(format: "00000000-0000-4000-8000-1%011d", n), eventName: "GenerateDataKey",
                    eventTime: "2024-03-01T11:00:0\(n)Z",
                    requestParameters: #"{"keyId":"\#(shared)","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/m\#(n)"}}"#))
        }
        records.append(
            kmsRecord(
                eventID: "00000000-0000-4000-8000-200000000000", eventName: "Encrypt",
                requestParameters: #"{"keyId":"alias/legacy"}"#, resources: nil))
        _ = try dir.write("logs/" + logPath(), gzip(logFile(records)))
        return (dir.path + "/logs", oldStyle)
    }

    func testABareKeyIDWithoutResourcesNamesTheKeyOfTheAccountAndRegionCalled() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try writeTree(dir).root])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE key_arn = ?", [sharedARN]), 5)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE key_arn = ?", [onlyBareARN]), 3)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE key_arn IS NULL"), 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE requested_key = ?", [onlyBare]), 3)
    }

    /// An index made before: the same events with no key, counted under no key. The migration
    /// gives what an ingest gives now, in every listing and key report.
    func testMigration31TiesTheEventsAnOlderIndexHolds() throws {
        let dir = try TempDir()
        let (root, oldStyle) = try writeTree(dir)
        let fresh = try makeIndex(dir, name: "fresh.sqlite")
        try ingest(fresh, [root])
        let old = try makeIndex(dir, name: "old.sqlite")
        try ingest(old, [root])
        // What ingest made before: no key for those events, their counts under key 0, and no
        // row for a key no event named by ARN.
        try old.queue.write { db in
            let ids = oldStyle.map { "'\($0)'" }.joined(separator: ", ")
            try db.execute(
                sql: """
                    UPDATE events SET key_id = NULL WHERE id IN (SELECT id FROM kms_events WHERE event_id IN (\(ids)))
                    """)
            XCTAssertEqual(db.changesCount, 5)
            try db.execute(sql: "DELETE FROM kms_keys WHERE arn = ?", arguments: [onlyBareARN])
            try DailySummaries.recount(db, days: 19783...19784)
        }
        func answers(_ path: String) throws -> [String] {
            try [
                ["keys"], ["usage", "--by", "key"], ["key", sharedARN], ["key", onlyBareARN], ["stats"],
                ["keys", "--from-events"], ["key", onlyBareARN, "--from-events"],
            ].map { command in
                let run = try runKMSIndex(command + ["--db", path, "--format", "json"])
                return run.stdout.split(separator: "\n").filter { !$0.contains("version\":") }.joined(separator: "\n")
            }
        }
        let before = try answers(old.path)
        XCTAssertNotEqual(before, try answers(fresh.path))
        let migration = try XCTUnwrap(IndexDatabase.migrations.first { $0.identifier.hasPrefix("031") })
        try old.queue.write { db in try db.execute(sql: migration.sql) }
        XCTAssertEqual(try answers(old.path), try answers(fresh.path))
        XCTAssertEqual(try count(old, "SELECT count(*) FROM events WHERE key_id IS NULL"), 1)  // the alias alone
        // Run on an index with nothing to tie, it changes nothing.
        let unchanged = try answers(fresh.path)
        try fresh.queue.write { db in try db.execute(sql: migration.sql) }
        XCTAssertEqual(try answers(fresh.path), unchanged)
    }
}
