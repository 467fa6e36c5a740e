import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// `--from-events` answers each listing from every event instead of the daily summaries and
/// their rollups: the same output when the summaries are right, the true one when they are not.
final class FromEventsTests: XCTestCase {
    /// A generated tree of 3 days (failures, deliveries, reads of log files) ingested by the binary.
    private func index(_ dir: TempDir) throws -> String {
        let db = dir.path + "/i.sqlite"
        let ingest = try runKMSIndex(["ingest", "-q", "--db", db, try generatedTree(dir, seed: 11)])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        return db
    }

    /// The commands compared: every one that reads the summaries, over all time and in windows.
    private func commands(_ db: String) throws -> [[String]] {
        let (key, role) = try busiestKeyAndRole(db)
        let account = try DatabaseQueue(path: db).read { db in
            try String.fetchOne(db, sql: "SELECT max(recipient_account_id) FROM kms_events")!
        }
        let window = ["--since", "2024-03-01T07:30:00Z", "--until", "2024-03-03T02:00:00Z"]
        return [
            ["stats"], ["keys"], ["keys"] + window, ["trails"], ["trails", "--account", account],
            ["objects"], ["objects", "--limit", "5"], ["usage"], ["usage", "--since", "2024-03-02"],
            ["usage", "--by", "key"] + window, ["denied"], ["key", key], ["key", key] + window,
            ["reads", "--principal", role], ["reads", "--principal", role] + window,
        ]
    }

    private func output(_ arguments: [String], _ db: String, fromEvents: Bool) throws -> String {
        let run = try runKMSIndex(arguments + ["--db", db, "--format", "json"] + (fromEvents ? ["--from-events"] : []))
        XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
        return run.stdout
    }

    func testAnswersFromTheEventsEqualTheSummaries() throws {
        let dir = try TempDir()
        let db = try index(dir)
        for command in try commands(db) {
            let summarized = try output(command, db, fromEvents: false)
            XCTAssertGreaterThan(summarized.count, 20, "\(command)")
            XCTAssertEqual(try output(command, db, fromEvents: true), summarized, "\(command)")
        }
    }

    /// Merge adds a shard's summaries to the index's, and prune deletes those of the days before
    /// the one it cuts, counts that day again and makes the all-time rollups again: after both,
    /// the summaries still equal the events.
    func testSummariesAfterMergeAndPruneEqualTheEvents() throws {
        let dir = try TempDir()
        _ = try generatedTree(dir, seed: 12)
        let accounts = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/tree/AWSLogs").sorted()
        XCTAssertEqual(accounts.count, 2)
        var shards: [String] = []
        for (n, account) in accounts.enumerated() {
            shards.append(dir.path + "/shard-\(n).sqlite")
            let ingest = try runKMSIndex(["ingest", "-q", "--db", shards[n], dir.path + "/tree/AWSLogs/" + account])
            XCTAssertEqual(ingest.status, 0, ingest.stderr)
        }
        let db = dir.path + "/merged.sqlite"
        // Into an index that holds one shard already: the other's counts are added to its rows.
        for arguments in [["ingest", "-q", "--db", db, dir.path + "/tree/AWSLogs/" + accounts[0]], ["merge", "-q", "--db", db] + shards] {
            let run = try runKMSIndex(arguments)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        func compareAll(_ stage: String) throws {
            for command in try commands(db) {
                let summarized = try output(command, db, fromEvents: false)
                XCTAssertEqual(try output(command, db, fromEvents: true), summarized, "\(stage): \(command)")
            }
        }
        try compareAll("merged")
        let prune = try runKMSIndex(["prune", "--db", db, "--before", "2024-03-01T13:00:00Z"])
        XCTAssertEqual(prune.status, 0, prune.stderr)
        try compareAll("pruned")
        // A cut past a whole day: that day's summaries go with its events.
        let whole = try runKMSIndex(["prune", "--db", db, "--before", "2024-03-02T05:00:00Z"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        try compareAll("pruned past a day")
    }

    /// With every summary and rollup off by one somewhere, the listings show it and
    /// `--from-events` still gives the answers of the untouched index.
    func testAnswersFromTheEventsIgnoreWrongSummaries() throws {
        let dir = try TempDir()
        let db = try index(dir)
        let listings = [["stats"], ["keys"], ["trails"], ["objects"], ["usage"], ["usage", "--since", "2024-03-02"]]
        let right = try listings.map { try output($0, db, fromEvents: false) }
        try DatabaseQueue(path: db).write { db in
            try db.execute(
                sql: """
                    UPDATE activity_totals SET events = events + 1 WHERE key_id = (SELECT max(key_id) FROM activity_totals);
                    INSERT INTO callers SELECT key_id, 999999, requested_key_sid, trail_id, event_name_sid, error_code_sid,
                        recipient_account_sid, region_sid, events, first_time, last_time FROM callers LIMIT 1;
                    UPDATE usage_daily SET events = events + 1 WHERE day = (SELECT max(day) FROM usage_daily);
                    UPDATE object_daily SET reads = reads + 1 WHERE object_id = (SELECT min(object_id) FROM object_daily);
                    DELETE FROM trail_files WHERE object_id = (SELECT min(object_id) FROM trail_files);
                    """)
        }
        for (command, expected) in zip(listings, right) {
            XCTAssertNotEqual(try output(command, db, fromEvents: false), expected, "\(command) reads the summaries")
            XCTAssertEqual(try output(command, db, fromEvents: true), expected, "\(command)")
        }
    }
}
