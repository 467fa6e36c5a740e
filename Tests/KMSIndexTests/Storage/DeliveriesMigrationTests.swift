import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Migration 034: an index whose summaries counted failed and foreign GenerateDataKey calls as
/// deliveries counts them as a fresh ingest does.
final class DeliveriesMigrationTests: XCTestCase {
    typealias T = FindingsTree

    func testMigration34CountsOnlyCloudTrailsSuccessfulCalls() throws {
        let dir = try TempDir()
        var tree = T(dir)
        for day in 1...3 { for slot in 0..<48 { tree.delivery(day, slot / 2, slot % 2 * 30) } }
        for slot in 0..<10 { tree.notADelivery(2, slot, 15, error: ("AccessDenied", "not allowed")) }
        for slot in 0..<10 { tree.notADelivery(3, slot, 45, identity: T.role(T.app, session: "s")) }
        try tree.write(days: [1, 2, 3])
        let fresh = try makeIndex(dir, name: "fresh.sqlite")
        try ingest(fresh, [tree.root])
        let old = try makeIndex(dir, name: "old.sqlite")
        try ingest(old, [tree.root])
        // As the summaries were before: every GenerateDataKey naming a trail and a log file a delivery.
        try old.queue.write { db in
            try db.execute(
                sql: """
                    UPDATE activity_daily SET delivered = 1, log_account = '111122223333', log_region = 'us-west-2'
                    WHERE trail_id != 0 AND delivered = 0
                      AND event_name_sid = (SELECT id FROM strings WHERE text = 'GenerateDataKey');
                    DELETE FROM usage_daily;
                    INSERT INTO usage_daily \(DailySummaries.rollup(DailySummaries.usageKey, from: "activity_daily"));
                    DELETE FROM activity_totals;
                    INSERT INTO activity_totals \(DailySummaries.rollup(DailySummaries.totalsKey, from: "usage_daily"));
                    """)
        }
        func answers(_ index: IndexDatabase) throws -> [String] {
            try [["trails"], ["usage"], ["stats"], ["keys"]].map { command in
                try runKMSIndex(command + ["--db", index.path, "--format", "json"]).stdout
                    .split(separator: "\n").filter { !$0.contains("version\":") }.joined(separator: "\n")
            }
        }
        XCTAssertNotEqual(try answers(old), try answers(fresh))
        let migration = try XCTUnwrap(IndexDatabase.migrations.first { $0.identifier.hasPrefix("034") })
        try old.queue.write { db in try db.execute(sql: migration.sql) }
        XCTAssertEqual(try answers(old), try answers(fresh))
        XCTAssertEqual(
            try count(old, "SELECT sum(events) FROM usage_daily WHERE delivered = 1"), 3 * 48,
            "the deliveries, and only they")
    }
}
