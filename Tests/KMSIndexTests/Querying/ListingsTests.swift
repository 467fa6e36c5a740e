import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class ListingsTests: XCTestCase {
    func testKeysAreListedWithAliasesAndCounts() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let keys = try index.queue.read { db in try Listings.keys(db, filter: QueryFilter()) }
        XCTAssertEqual(
            keys.columns,
            ["key_arn", "account", "region", "key_id", "aliases", "events", "failed", "principals", "first_seen", "last_seen"])
        XCTAssertEqual(
            rows(keys),
            [
                [
                    Q.key1, Q.account, "us-west-2", "11111111-2222-3333-4444-555555555555", "alias/logs", "6", "1", "4",
                    "2024-03-01T00:05:00Z", "2024-03-02T09:00:00Z",
                ],
                [
                    Q.key2, Q.account, "us-west-2", "99999999-8888-7777-6666-555555555555", "alias/app", "5", "1", "3",
                    "2024-02-29T08:00:00Z", "2024-03-03T01:00:00Z",
                ],
            ])
        XCTAssertEqual(keys.cells[0][5], .integer(6))
        let other = try index.queue.read { db in try Listings.keys(db, filter: QueryFilter(account: "444455556666")) }
        XCTAssertEqual(rows(other).map { [$0[0], $0[5]] }, [[Q.key2, "1"]])
        let failing = try index.queue.read { db in try Listings.keys(db, filter: QueryFilter(errorsOnly: true, limit: 1)) }
        XCTAssertEqual(rows(failing).map { [$0[0], $0[5], $0[8]] }, [[Q.key1, "1", "2024-03-02T09:00:00Z"]])
    }

    func testTrailsCountDeliveriesLogFilesAndReaders() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let trails = try index.queue.read { db in try Listings.trails(db, filter: QueryFilter()) }
        XCTAssertEqual(
            trails.columns,
            [
                "trail_arn", "account", "region", "name", "events", "deliveries", "log_files", "reads",
                "readers", "failed", "first_seen", "last_seen",
            ])
        XCTAssertEqual(
            rows(trails),
            [
                [Q.trail, Q.account, "us-west-2", "main", "6", "3", "3", "3", "3", "1", "2024-03-01T00:05:00Z", "2024-03-02T09:00:00Z"]
            ])
        let none = try index.queue.read { db in try Listings.trails(db, filter: QueryFilter(region: "eu-west-1")) }
        XCTAssertEqual(rows(none), [])
    }

    func testObjectsAreListedOldestFirstAndNarrowedByBucketAndTrail() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        func objects(_ filter: QueryFilter = QueryFilter(), bucket: String? = nil, trail: String? = nil) throws -> ResultTable {
            try index.queue.read { db in try Listings.objects(db, filter: filter, bucket: bucket, trail: trail) }
        }
        let all = try objects()
        XCTAssertEqual(
            all.columns,
            [
                "object_arn", "kind", "bucket", "key", "trail_arn", "writes", "reads", "failed_reads", "readers",
                "first_seen", "last_seen",
            ])
        let key1 = String(Q.log1.dropFirst("arn:aws:s3:::logs-bucket/".count))
        XCTAssertEqual(
            rows(all),
            [
                [Q.log1, "object", "logs-bucket", key1, Q.trail, "1", "2", "0", "2", "2024-03-01T00:05:00Z", "2024-03-01T11:00:00Z"],
                [
                    Q.log2, "object", "logs-bucket", String(Q.log2.dropFirst(25)), Q.trail, "1", "1", "1", "1", "2024-03-01T00:10:00Z",
                    "2024-03-02T09:00:00Z",
                ],
                [
                    Q.log3, "object", "logs-bucket", String(Q.log3.dropFirst(25)), Q.trail, "1", "0", "0", "0", "2024-03-02T00:05:00Z",
                    "2024-03-02T00:05:00Z",
                ],
            ])
        for bucket in ["logs-bucket", "s3://logs-bucket", "s3://logs-bucket/", "arn:aws:s3:::logs-bucket"] {
            XCTAssertEqual(try objects(bucket: bucket).rows.count, 3, bucket)
        }
        XCTAssertEqual(try objects(bucket: "other").rows.count, 0)
        XCTAssertEqual(try objects(trail: "main").rows.count, 3)
        XCTAssertEqual(try objects(trail: Q.trail).rows.count, 3)
        XCTAssertEqual(try objects(trail: "nope").rows.count, 0)
        XCTAssertEqual(
            rows(try objects(QueryFilter(since: "2024-03-02T00:00:00Z"))).map { [$0[0], $0[5], $0[6]] },
            [
                [Q.log3, "1", "0"], [Q.log2, "0", "1"],
            ])
        XCTAssertEqual(rows(try objects(QueryFilter(limit: 1))).map { $0[0] }, [Q.log1])
    }

    /// A location's readers are counted from the index of events by location alone: a data-lake
    /// file read 76,000 times must not cost a row read per Decrypt (schema 37).
    /// A GenerateDataKey that failed wrote nothing: not a write of its object (in `objects` and
    /// in `key`'s objects), from the summaries as from the events.
    func testAFailedGenerateDataKeyIsNoWrite() throws {
        let dir = try TempDir()
        let context = { (key: String) in #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::data/\#(key)"}}"# }
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(eventName: "GenerateDataKey", requestParameters: context("written")),
                    kmsRecord(
                        eventName: "GenerateDataKey", requestParameters: context("refused"),
                        error: (code: "AccessDenied", message: "no")),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        for fromEvents in [false, true] {
            var filter = QueryFilter()
            filter.fromEvents = fromEvents
            let table = try index.queue.read { db in try Listings.objects(db, filter: filter) }
            let writes = Dictionary(uniqueKeysWithValues: rows(table).map { ($0[0] ?? "", $0[5] ?? "") })
            XCTAssertEqual(writes, ["arn:aws:s3:::data/written": "1", "arn:aws:s3:::data/refused": "0"], "fromEvents \(fromEvents)")
        }
        let answer = try index.queue.read { db in
            try KeyReport(db).answer("arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555", filter: QueryFilter())
        }
        guard case let .report(_, report) = answer else { return XCTFail("no report") }
        XCTAssertEqual(
            Set(rows(report["objects"]).map { [$0[0], $0[2]] }), [["arn:aws:s3:::data/written", "1"], ["arn:aws:s3:::data/refused", "0"]])
    }

    func testObjectsCountReadersFromTheIndexAlone() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        try index.queue.read { db in
            let query = try Listings.objectsQuery(db, filter: QueryFilter(limit: 2))
            let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.statement.sql, arguments: query.arguments)
                .map { $0["detail"] as String }
            XCTAssertTrue(
                plan.contains { $0.contains("USING COVERING INDEX events_object (object_id=? AND event_name_sid=?)") },
                plan.joined(separator: "\n"))
            XCTAssertEqual(rows(try query.table()).map { [$0[0], $0[8]] }, [[Q.log1, "2"], [Q.log2, "1"]])
        }
    }
}
