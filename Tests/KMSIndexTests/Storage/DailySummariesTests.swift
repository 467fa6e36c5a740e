import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// The daily summaries must always equal a count of the events they summarize: after ingests
/// in many transactions, with bounded caches, after prune, and as migration 006 fills them.
final class DailySummariesTests: XCTestCase {
    /// A small generated tree: 2 accounts, 2 regions, 3 days.
    private func tree(_ dir: TempDir) throws -> String {
        let options = SynthOptions(seed: 11, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 3, filesPerDay: 8)
        _ = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        return dir.path + "/tree"
    }

    private func ingest(
        _ index: IndexDatabase, _ path: String, filesPerTransaction: Int = 500,
        idCacheLimit: Int = 1 << 17, summaryEventsPerFlush: Int = 8192
    ) throws -> IngestSummary {
        var options = IngestOptions(paths: [path])
        options.jobs = 2
        options.filesPerTransaction = filesPerTransaction
        options.idCacheLimit = idCacheLimit
        options.summaryEventsPerFlush = summaryEventsPerFlush
        return try Ingester(database: index, options: options).run()
    }

    /// Every row of the daily summaries and of their rollups (migration 008).
    private func summaries(_ index: IndexDatabase) throws -> [String] {
        try index.queue.read { db in
            var rows: [String] = []
            for (table, key) in [
                ("activity_daily", DailySummaries.activityKey), ("object_daily", DailySummaries.objectKey),
                ("usage_daily", DailySummaries.usageKey), ("activity_totals", DailySummaries.totalsKey),
                ("callers", DailySummaries.callerKey), ("trail_files", "trail_id, object_id"),
                ("log_buckets", "bucket_id"),
            ] {
                rows += try Row.fetchAll(db, sql: "SELECT '\(table)', * FROM \(table) ORDER BY \(key)").map(\.description)
            }
            return rows
        }
    }

    private func recountAll(_ index: IndexDatabase) throws {
        try index.queue.write { db in
            let days = try Row.fetchOne(db, sql: "SELECT min(event_time), max(event_time) FROM events")!
            try DailySummaries.recount(db, days: DailySummaries.day(ofMilliseconds: days[0])...DailySummaries.day(ofMilliseconds: days[1]))
        }
    }

    func testSummariesKeptByTheWriterEqualARecountAndTheMigration() throws {
        let dir = try TempDir()
        let path = try tree(dir)
        let index = try makeIndex(dir)
        // Many small transactions and tiny caches: rows of one day and kind are added to again
        // and again, and ids fall out of the caches and are looked up.
        let summary = try ingest(index, path, filesPerTransaction: 3, idCacheLimit: 4)
        XCTAssertEqual(summary.filesFailed, 0)
        let kept = try summaries(index)
        XCTAssertGreaterThan(kept.count, 50)
        XCTAssertEqual(try count(index, "SELECT sum(events) FROM activity_daily"), try count(index, "SELECT count(*) FROM events"))
        XCTAssertEqual(try count(index, "SELECT last_event_id FROM summary_state"), try count(index, "SELECT max(id) FROM events"))
        XCTAssertGreaterThan(try count(index, "SELECT count(*) FROM activity_daily WHERE delivered AND log_account != ''"), 0)
        for table in ["usage_daily", "activity_totals", "callers"] {
            XCTAssertEqual(try count(index, "SELECT sum(events) FROM \(table)"), try count(index, "SELECT count(*) FROM events"), table)
        }
        XCTAssertEqual(
            try count(index, "SELECT count(*) FROM log_buckets"),
            try count(index, "SELECT count(DISTINCT o.bucket_id) FROM trail_files t JOIN s3_objects o ON o.id = t.object_id"))
        XCTAssertGreaterThan(try count(index, "SELECT count(*) FROM log_buckets"), 0)
        XCTAssertEqual(
            try count(index, "SELECT count(*) FROM trail_files"),
            try count(
                index,
                "SELECT count(DISTINCT e.trail_id || ' ' || e.object_id) FROM events e JOIN s3_objects o ON o.id = e.object_id WHERE o.kind = 'object'"
            ))

        try recountAll(index)
        XCTAssertEqual(try summaries(index), kept)

        // As an index of schema 5 is converted: migration 006 fills the summaries from events,
        // migration 008 the rollups from the summaries. 008's index of the ledger's outcomes is
        // left out: the ledger is a view since migration 013.
        try index.queue.writeWithoutTransaction { db in
            try db.execute(
                sql: """
                    DROP TABLE activity_daily; DROP TABLE object_daily; DROP TABLE summary_state;
                    DROP INDEX events_key_changes; DELETE FROM grdb_migrations WHERE identifier LIKE '006%';
                    DROP TABLE usage_daily; DROP TABLE activity_totals; DROP TABLE callers; DROP TABLE trail_files
                    """)
        }
        try IndexDatabase.migrator.migrate(index.queue)
        let rollups = try XCTUnwrap(IndexDatabase.migrations.first { $0.identifier.hasPrefix("008") }).sql
        XCTAssertTrue(rollups.contains("CREATE INDEX source_files_outcome ON source_files(outcome);"))
        let logBuckets = try XCTUnwrap(IndexDatabase.migrations.first { $0.identifier.hasPrefix("014") }).sql
        try index.queue.write { db in
            try db.execute(sql: rollups.replacingOccurrences(of: "CREATE INDEX source_files_outcome ON source_files(outcome);", with: ""))
            try db.execute(sql: "DROP TABLE log_buckets")
            try db.execute(sql: logBuckets)
        }
        XCTAssertEqual(try summaries(index), kept)
    }

    /// Within one transaction the writer adds its counts to the summaries every few events:
    /// a row of a day is then added to many times before the commit, and must still be exact.
    func testSummariesAddedManyTimesWithinATransactionEqualARecount() throws {
        let dir = try TempDir()
        let path = try tree(dir)
        let often = try makeIndex(dir)
        _ = try ingest(often, path, filesPerTransaction: 100_000, summaryEventsPerFlush: 7)
        let kept = try summaries(often)
        XCTAssertGreaterThan(try count(often, "SELECT count(*) FROM events"), 7 * 20)
        XCTAssertEqual(try count(often, "SELECT sum(events) FROM activity_daily"), try count(often, "SELECT count(*) FROM events"))
        try recountAll(often)
        XCTAssertEqual(try summaries(often), kept)
    }

    func testBoundedCachesChangeNothingInTheIndex() throws {
        let dir = try TempDir()
        let path = try tree(dir)
        let unbounded = try makeIndex(dir, name: "a.sqlite")
        let bounded = try makeIndex(dir, name: "b.sqlite")
        _ = try ingest(unbounded, path, filesPerTransaction: 2)
        _ = try ingest(bounded, path, filesPerTransaction: 2, idCacheLimit: 2)
        for table in [
            "principals", "s3_objects", "s3_buckets", "kms_keys", "trails", "strings", "user_agents",
            "context_names", "context_values", "events", "event_context",
        ] {
            XCTAssertEqual(
                try count(bounded, "SELECT count(*) FROM \(table)"), try count(unbounded, "SELECT count(*) FROM \(table)"), table)
        }
        func events(_ index: IndexDatabase) throws -> [String] {
            try index.queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT event_id, event_time, event_name, key_arn, principal_arn, access_key_id, object_arn,
                               trail_arn, user_agent, error_code FROM kms_events ORDER BY event_time_ms, event_id
                        """
                ).map(\.description)
            }
        }
        XCTAssertEqual(try events(bounded), try events(unbounded))
        let kept = try summaries(bounded)
        try recountAll(bounded)
        XCTAssertEqual(try summaries(bounded), kept)
    }

    func testPruneLeavesSummariesEqualToTheirEvents() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        _ = try ingest(index, try tree(dir))
        let before = try count(index, "SELECT count(*) FROM events")
        // In the middle of the second day: that day is counted again from what is left of it.
        let report = try Maintenance.prune(index, before: "2024-03-02T13:17:00Z")
        XCTAssertGreaterThan(report.events, 0)
        XCTAssertLessThan(report.events, before)
        let kept = try summaries(index)
        XCTAssertEqual(try count(index, "SELECT sum(events) FROM activity_daily"), before - report.events)
        try recountAll(index)
        XCTAssertEqual(try summaries(index), kept)
    }

    /// Listings read from the summaries and, for the part days of a window, from the events;
    /// the answers must equal queries over every event (the text views), whatever the bounds.
    func testListingsEqualQueriesOverEveryEventForAnyWindow() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        _ = try ingest(index, try tree(dir))
        let windows: [(String?, String?)] = [
            (nil, nil), ("2024-03-01T00:00:00Z", nil), (nil, "2024-03-02T00:00:00Z"),
            ("2024-03-01T07:30:00Z", "2024-03-03T02:00:00Z"), ("2024-03-02T03:00:00Z", "2024-03-02T09:00:00Z"),
            ("2024-03-01T23:00:00Z", "2024-03-02T01:00:00Z"), ("2024-03-02T00:00:00Z", "2024-03-03T00:00:00Z"),
        ]
        try index.queue.read { db in
            XCTAssertGreaterThan(try Denied.table(db, filter: QueryFilter()).cells.count, 3)  // the comparisons below see failures
            let account = try String.fetchOne(db, sql: "SELECT recipient_account_id FROM kms_events LIMIT 1")!
            for (since, until) in windows {
                for variant in 0..<3 {
                    var filter = QueryFilter(since: since, until: until)
                    if variant == 1 { filter.account = account }
                    if variant == 2 { filter.errorsOnly = true }
                    let c = try filter.viewConditions(db)
                    let label = "\(since ?? "-") \(until ?? "-") \(variant)"
                    let keys = try fetchTable(
                        db,
                        sql: """
                            SELECT k.arn, count(*), count(e.error_code), count(DISTINCT e.principal_id),
                                   min(e.event_time_ms), max(e.event_time_ms)
                            FROM kms_events e JOIN kms_keys k ON k.id = e.key_id WHERE \(c.sql) GROUP BY k.id ORDER BY k.arn
                            """, arguments: c.arguments)
                    let listed = try Listings.keys(db, filter: filter)
                    XCTAssertEqual(listed.rows.map { [$0[0], $0[5], $0[6], $0[7], ms($0[8]), ms($0[9])] }, keys.rows, label)

                    let trails = try fetchTable(
                        db,
                        sql: """
                            SELECT t.arn, count(*), count(CASE WHEN e.event_name = 'GenerateDataKey' AND o.kind = 'object' THEN 1 END),
                                   count(DISTINCT CASE WHEN o.kind = 'object' THEN e.object_id END),
                                   count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END),
                                   count(DISTINCT CASE WHEN e.event_name = 'Decrypt' THEN e.principal_id END), count(e.error_code)
                            FROM kms_events e JOIN trails t ON t.id = e.trail_id LEFT JOIN s3_locations o ON o.id = e.object_id
                            WHERE \(c.sql) GROUP BY t.id ORDER BY t.arn
                            """, arguments: c.arguments)
                    XCTAssertEqual(try Listings.trails(db, filter: filter).rows.map { Array($0[0...0] + $0[4...9]) }, trails.rows, label)

                    let requests = try fetchTable(
                        db,
                        sql: """
                            SELECT substr(e.event_time, 1, 10) AS day, count(*) FROM kms_events e WHERE \(c.sql)
                            GROUP BY day ORDER BY day
                            """, arguments: c.arguments)
                    let daily = try Usage.report(db, filter: filter).sections[0].table
                    XCTAssertEqual(daily.rows.filter { $0[1] != "0" }.map { [$0[0], $0[1]] }, requests.rows, label)

                    let objects = try fetchTable(
                        db,
                        sql: """
                            SELECT o.arn, count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END), min(e.event_time_ms)
                            FROM kms_events e JOIN s3_locations o ON o.id = e.object_id WHERE \(c.sql)
                            GROUP BY o.id ORDER BY min(e.event_time_ms), o.arn
                            """, arguments: c.arguments)
                    XCTAssertEqual(try Listings.objects(db, filter: filter).rows.map { [$0[0], $0[6], ms($0[9])] }, objects.rows, label)
                    // With a limit, the earliest locations are found by walking the events in time.
                    for limit in [1, 7] {
                        filter.limit = limit
                        XCTAssertEqual(
                            try Listings.objects(db, filter: filter).rows.map { [$0[0], $0[6], ms($0[9])] },
                            Array(objects.rows.prefix(limit)), "\(label) limit \(limit)")
                    }
                    filter.limit = nil

                    XCTAssertEqual(try Denied.table(db, filter: filter), try referenceDenied(db, filter: filter), label)
                }
            }
        }
    }

    /// Over all of history, reports read the all-time rollups; in a window, the daily rows.
    /// A window around everything must give the same answers.
    func testAllTimeRollupsAnswerAsTheDailyRowsDo() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        _ = try ingest(index, try tree(dir), filesPerTransaction: 5)
        let everything = QueryFilter(since: "2000-01-01T00:00:00Z", until: "2100-01-01T00:00:00Z")
        try index.queue.read { db in
            let keys = try String.fetchAll(db, sql: "SELECT arn FROM kms_keys ORDER BY arn")
            XCTAssertGreaterThan(keys.count, 1)
            for key in keys {
                guard case let .report(_, all) = try KeyReport(db).answer(key, filter: QueryFilter()),
                    case let .report(_, windowed) = try KeyReport(db).answer(key, filter: everything)
                else {
                    return XCTFail(key)
                }
                XCTAssertEqual(all, windowed, key)
            }
            XCTAssertEqual(try Listings.keys(db, filter: QueryFilter()), try Listings.keys(db, filter: everything))
            XCTAssertEqual(try Listings.trails(db, filter: QueryFilter()), try Listings.trails(db, filter: everything))
            XCTAssertEqual(try IndexStats.read(db).kmsEvents, try Int.fetchOne(db, sql: "SELECT count(*) FROM events"))
        }
    }

    /// Every statement the listings run finds events through an index, never by reading
    /// every event.
    func testListingsNeverScanEveryEvent() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        _ = try ingest(index, try tree(dir))
        var statements: [String] = []
        try index.queue.read { db in
            db.trace(options: .statement) { event in
                if case let .statement(statement) = event { statements.append(statement.expandedSQL) }
            }
            let key = try String.fetchOne(db, sql: "SELECT arn FROM kms_keys LIMIT 1")!
            for filter in [QueryFilter(), QueryFilter(since: "2024-03-01T05:00:00Z", until: "2024-03-03T01:00:00Z", key: key)] {
                _ = try Listings.keys(db, filter: filter)
                _ = try Listings.trails(db, filter: filter)
                _ = try Listings.objects(db, filter: filter, bucket: "b", trail: "t")
                _ = try Usage.report(db, filter: filter, by: .key)
                _ = try Denied.table(db, filter: filter)
                _ = try KeyReport(db).answer(key, filter: filter)
                _ = try IndexStats.read(db)
            }
            db.trace(options: [], nil)
            XCTAssertGreaterThan(statements.count, 20)
            for sql in statements where !sql.hasPrefix("PRAGMA") {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
                // The partial index of failed calls is small; any other scan of events reads them all.
                for line in plan
                where (line == "SCAN e" || line.hasPrefix("SCAN e ") || line.hasPrefix("SCAN events"))
                    && !line.contains("INDEX events_error")
                {
                    XCTFail("\(line) in \(sql.prefix(300))")
                }
            }
        }
    }

    func testLogFileNamesGiveTheirAccountAndRegion() {
        XCTAssertEqual(
            CloudTrailLogName.parts(
                "AWSLogs/o-1/111122223333/CloudTrail/eu-west-1/2024/03/01/111122223333_CloudTrail_eu-west-1_20240301T0005Z_AbC.json.gz")?
                .account, "111122223333")
        XCTAssertEqual(CloudTrailLogName.parts("x/111122223333_CloudTrail_eu-west-1_20240301T0005Z_AbC.json.gz")?.region, "eu-west-1")
        XCTAssertNil(CloudTrailLogName.parts("x/111122223333_CloudTrail_eu-west-1")?.region)  // no '_' after the region
        XCTAssertEqual(CloudTrailLogName.parts("x/111122223333_CloudTrail_eu-west-1")?.account, "111122223333")
        XCTAssertNil(CloudTrailLogName.parts("_CloudTrail_eu-west-1_x.json.gz"))  // no account before the marker
        XCTAssertNil(CloudTrailLogName.parts("a_CloudTrail_/b.json.gz"))  // the marker is in a folder, not the name
        XCTAssertNil(CloudTrailLogName.parts(""))
        XCTAssertEqual(CloudTrailLogName.parts("a_CloudTrail__x")?.account, "a")
        XCTAssertNil(CloudTrailLogName.parts("a_CloudTrail__x")?.region)  // empty region
    }

    /// A day's log folder gives what its files' names start with; anything else gives nil,
    /// however many parts it has (read from the end: a key of a million parts costs its length).
    func testLogFoldersGiveTheirNamePrefix() {
        let day = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/01/"
        XCTAssertEqual(CloudTrailLogName.namePrefix(folder: day), "111122223333_CloudTrail_eu-west-1_20240301T")
        XCTAssertEqual(CloudTrailLogName.namePrefix(folder: "/" + day), "111122223333_CloudTrail_eu-west-1_20240301T")
        XCTAssertEqual(
            CloudTrailLogName.namePrefix(folder: "111122223333/CloudTrail/eu-west-1/2024/03/01/"),
            "111122223333_CloudTrail_eu-west-1_20240301T")
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: "CloudTrail/eu-west-1/2024/03/01/"))  // five parts
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: "/CloudTrail/eu-west-1/2024/03/01/"))  // an empty account
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: String(day.dropLast())))  // not a folder
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/3/01/"))
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: String(repeating: "/", count: 1_000_000)))
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: ""))
        XCTAssertNil(CloudTrailLogName.namePrefix(folder: "/"))
        XCTAssertEqual(S3Location(arn: "arn:aws:s3:::b/a/b/c.gz").name, "c.gz")
        XCTAssertEqual(S3Location(arn: "arn:aws:s3:::b/c.gz").name, "c.gz")
        XCTAssertEqual(S3Location(arn: "arn:aws:s3:::b/" + String(repeating: "/", count: 100_000) + "x").name, "x")
    }
}

/// `Denied.table` as one SQL query over the failed events (its first form): the reference.
private func referenceDenied(_ db: Database, filter: QueryFilter) throws -> ResultTable {
    var c = try filter.eventConditions(db)
    c.add("e.error_code_sid IS NOT NULL")
    return try fetchTable(
        db,
        sql: """
            WITH failed AS (
                SELECT e.id, \(principalSQL) AS principal,
                       coalesce(k.arn, (SELECT text FROM strings WHERE id = e.requested_key_sid)) AS key,
                       (SELECT text FROM strings WHERE id = e.error_code_sid) AS error_code,
                       (SELECT text FROM strings WHERE id = e.event_name_sid) AS event_name, e.object_id,
                       e.event_time AS event_time_ms, e.error_message
                FROM events e LEFT JOIN principals p ON p.id = e.principal_id LEFT JOIN kms_keys k ON k.id = e.key_id
                WHERE \(c.sql)
            ), ranked AS (
                SELECT *, row_number() OVER (PARTITION BY principal, key, error_code
                                             ORDER BY event_time_ms DESC, id DESC) AS recency
                FROM failed
            ), operations AS (
                SELECT principal, key, error_code, group_concat(event_name, ', ') AS names
                FROM (SELECT DISTINCT principal, key, error_code, event_name FROM failed
                      ORDER BY principal, key, error_code, event_name)
                GROUP BY principal, key, error_code
            )
            SELECT r.principal, r.key, r.error_code, count(*) AS calls, o.names AS operations,
                   count(DISTINCT r.object_id) AS objects,
                   \(isoTimeSQL("min(r.event_time_ms)")) AS first_seen, \(isoTimeSQL("max(r.event_time_ms)")) AS last_seen,
                   max(CASE WHEN r.recency = 1 THEN r.error_message END) AS last_message
            FROM ranked r
            JOIN operations o ON o.principal = r.principal AND o.key IS r.key AND o.error_code = r.error_code
            GROUP BY r.principal, r.key, r.error_code
            ORDER BY calls DESC, max(r.event_time_ms) DESC, r.principal, r.key\(filter.limitClause)
            """, arguments: c.arguments)
}

extension QueryFilter {
    /// The filter as conditions on the text columns of the `kms_events` view (`e`): the slow,
    /// obvious form the listings' answers are checked against.
    func viewConditions(_ db: Database) throws -> SQLConditions {
        var c = SQLConditions()
        if let since { c.add("e.event_time_ms >= ?", StoredTime.milliseconds(since)) }
        if let until { c.add("e.event_time_ms < ?", StoredTime.milliseconds(until)) }
        if let account { c.add("e.recipient_account_id = ?", account) }
        if let region { c.add("e.aws_region = ?", region) }
        if let key {
            let ids = try KeyLookup.resolve(db, key).map(\.id)
            var forms = [key]
            if let alias = EventNormalizer.aliasName(key), alias != key { forms.append(alias) }
            let byKey = ids.isEmpty ? "" : "e.key_id IN (\(ids.map(String.init).joined(separator: ", "))) OR "
            c.add(
                byKey + "(e.key_id IS NULL AND e.requested_key IN (\(forms.map { _ in "?" }.joined(separator: ", "))))",
                arguments: forms)
        }
        if errorsOnly { c.add("e.error_code IS NOT NULL") }
        return c
    }
}

/// A time as the listings print it, in milliseconds (the reference queries compare those).
private func ms(_ text: String?) -> String? {
    text.flatMap(StoredTime.milliseconds).map(String.init)
}
