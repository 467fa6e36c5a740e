import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// An alias ARN in `resources` is not a key, even typed `AWS::KMS::Key`: UpdateAlias lists the
/// alias first, then the key (as the AWS KMS developer guide shows), and DeleteAlias lists both.
final class AliasARNTests: XCTestCase {
    let key1 = "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"
    let key2 = "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
    let alias = "arn:aws:kms:us-west-2:111122223333:alias/my_alias"

    func typed(_ arns: String...) -> String {
        "[" + arns.map { #"{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"\#($0)"}"# }.joined(separator: ",") + "]"
    }

    /// The alias is created on key 1, moved to key 2, then deleted.
    var records: [String] {
        [
            kmsRecord(
                eventID: "create", eventName: "CreateAlias", eventTime: "2024-03-01T08:00:00Z",
                requestParameters: #"{"aliasName":"alias/my_alias","targetKeyId":"11111111-2222-3333-4444-555555555555"}"#,
                resources: typed(key1, alias)),
            kmsRecord(
                eventID: "read", eventName: "Decrypt", eventTime: "2024-03-01T09:00:00Z",
                requestParameters: #"{"keyId":"alias/my_alias","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/k"}}"#,
                resources: typed(key1)),
            kmsRecord(
                eventID: "update", eventName: "UpdateAlias", eventTime: "2024-03-02T10:00:00Z",
                requestParameters: #"{"aliasName":"alias/my_alias","targetKeyId":"0987dcba-09fe-87dc-65ba-ab0987654321"}"#,
                resources: typed(alias, key2)),
            kmsRecord(
                eventID: "delete", eventName: "DeleteAlias", eventTime: "2024-03-03T11:00:00Z",
                requestParameters: #"{"aliasName":"alias/my_alias"}"#,
                resources: #"[{"ARN":"\#(alias)","accountId":"111122223333"},{"ARN":"\#(key2)","accountId":"111122223333"}]"#),
        ]
    }

    func normalize(_ text: String) throws -> KMSEvent { try normalizedEvent(text) }

    func testAnAliasARNTypedAsAKeyIsNotTheEventsKey() throws {
        let update = try normalize(records[2])
        XCTAssertEqual(update.keyARN, key2)
        XCTAssertNil(update.requestedKey)
        XCTAssertEqual(update.aliases.map(\.alias), ["alias/my_alias"])
        XCTAssertEqual(update.aliases.map(\.keyARN), [key2])
        XCTAssertEqual(try normalize(records[3]).keyARN, key2)
        XCTAssertEqual(try normalize(records[0]).keyARN, key1)
        // An alias ARN alone names no key.
        let alone = try normalize(
            kmsRecord(eventName: "DeleteAlias", requestParameters: #"{"aliasName":"alias/my_alias"}"#, resources: typed(alias)))
        XCTAssertNil(alone.keyARN)
    }

    /// What the index answers about the two keys and the alias.
    func answers(_ index: IndexDatabase) throws -> [String] {
        try index.queue.read { db in
            var lines = try String.fetchAll(db, sql: "SELECT 'kms_keys: ' || arn FROM kms_keys ORDER BY arn")
            lines += try Listings.keys(db, filter: QueryFilter()).rows.map { $0.map { $0 ?? "-" }.joined(separator: " ") }
            for key in [key1, key2] {
                guard case let .report(_, report) = try KeyReport(db).answer(key, filter: QueryFilter()) else {
                    XCTFail("no report of \(key)")
                    continue
                }
                for name in ["key", "aliases", "daily", "principals", "lifecycle"] {
                    lines += rows(report[name]).map { name + ": " + $0.map { $0 ?? "-" }.joined(separator: " ") }
                }
            }
            for table in ["activity_daily", "usage_daily", "activity_totals", "callers", "object_daily"] {
                lines.append(table + ": " + (try String.fetchOne(db, sql: "SELECT group_concat(key_id) FROM \(table)") ?? ""))
            }
            return lines
        }
    }

    func testTheKeyOfAnAliasChangeTellsIt() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir, records)
        let lines = try answers(index)
        XCTAssertEqual(lines.filter { $0.hasPrefix("kms_keys: ") }, ["kms_keys: " + key2, "kms_keys: " + key1])
        XCTAssertFalse(lines.contains { $0.contains(alias) }, "\(lines)")
        let lifecycle = lines.filter { $0.hasPrefix("lifecycle: ") }.map { $0.split(separator: " ")[2] }
        XCTAssertEqual(lifecycle, ["CreateAlias", "UpdateAlias", "DeleteAlias"])
    }

    /// `key ALIAS` of an alias that moved: its ARN and --account or --region cannot choose, and
    /// the message says to give a key ARN.
    func testKeyOfAnAliasThatMovedAsksForAKeyARN() throws {
        let dir = try TempDir()
        _ = try queryIndex(dir, records)
        let db = dir.path + "/index.sqlite"
        for name in ["alias/my_alias", alias] {
            let run = try runKMSIndex(["key", name, "--db", db])
            XCTAssertEqual(run.status, 2)
            XCTAssertTrue(run.stderr.contains("named 2 keys in turn (an alias moved by UpdateAlias); give one's key ARN"), run.stderr)
            XCTAssertTrue(run.stderr.contains("\n  \(key2)\n") && run.stderr.contains("\n  \(key1)\n"), run.stderr)
        }
        XCTAssertEqual(try runKMSIndex(["key", key2, "--db", db]).status, 0)
    }

    /// An index written before: the alias ARN was a row of kms_keys and the key of the
    /// UpdateAlias and DeleteAlias, counted so in every summary. The migration gives what
    /// ingest gives now.
    func testTheMigrationMovesTheCallsToTheKeyTheAliasNamed() throws {
        let dir = try TempDir()
        let path = dir.url.appendingPathComponent("index.sqlite").path
        let index = try queryIndex(dir, records)
        let expected = try answers(index)
        let contents = try indexContents(path)
        try index.queue.write { db in
            try db.execute(
                sql: "INSERT INTO kms_keys (arn, account_id, region, key_id) VALUES (?, '111122223333', 'us-west-2', 's/my_alias')",
                arguments: [alias])
            let fake = db.lastInsertedRowID
            try db.execute(
                sql: """
                    UPDATE events SET key_id = ?
                    WHERE event_name_sid IN (SELECT id FROM strings WHERE text IN ('UpdateAlias', 'DeleteAlias'))
                    """, arguments: [fake])
            try DailySummaries.recount(db, days: 0...30_000)
            try db.execute(sql: "DROP TABLE summary_recounts")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE '038%'")
        }
        let before = try answers(index)
        try index.queue.close()
        XCTAssertEqual(before.filter { $0.hasPrefix("kms_keys: ") }, ["kms_keys: " + alias, "kms_keys: " + key2, "kms_keys: " + key1])
        XCTAssertEqual(before.filter { $0.hasPrefix("lifecycle: ") }.count, 1)

        let migrated = try IndexDatabase.openForReading(path: path)
        XCTAssertEqual(try answers(migrated), expected)
        XCTAssertEqual(try indexContents(path), contents)
        XCTAssertEqual(try migrated.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM summary_recounts") }, 0)
    }

    /// Days noted and not yet counted again (a run killed after the migration) are counted by
    /// the next open, a query's included.
    func testDaysLeftToRecountAreCountedByTheNextOpen() throws {
        let dir = try TempDir()
        let path = dir.url.appendingPathComponent("index.sqlite").path
        let index = try queryIndex(dir, records)
        let expected = try answers(index)
        try index.queue.write { db in
            try db.execute(sql: "DELETE FROM activity_daily; DELETE FROM usage_daily; DELETE FROM callers")
            try db.execute(sql: "INSERT INTO summary_recounts (day) VALUES (19783), (19784), (19785)")
        }
        XCTAssertNotEqual(try answers(index), expected)
        try index.queue.close()
        // Merge reads a shard as it is: one with days left is refused until opened once.
        XCTAssertThrowsError(try IndexMerger.checkShardFile(path)) { error in
            XCTAssertTrue("\(error)".contains("counted again"), "\(error)")
        }
        let reopened = try IndexDatabase.openForReading(path: path)
        XCTAssertEqual(try answers(reopened), expected)
        XCTAssertNoThrow(try IndexMerger.checkShardFile(path))
    }
}
