import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Context values and principals (schema 26) and S3 folders (schema 27) are indexed in ranges
/// (schema 30): a run adds to the newest, the run after a full one starts the next, and a row is
/// found in any of them, never added twice.
final class RecentRowsTests: XCTestCase {
    static func session(_ n: Int) -> String {
        #"{"type":"AssumedRole","principalId":"AROAEXAMPLE:sess-\#(n)","arn":"arn:aws:sts::111122223333:assumed-role/Reader/sess-\#(n)","accountId":"111122223333","accessKeyId":"ASIA\#(n)","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Reader","accountId":"111122223333","userName":"Reader"}}}"#
    }

    /// The S3 location of record `n`: an object of its own, in a folder of its own.
    static func object(_ n: Int) -> String { "arn:aws:s3:::b/u-\(n)/part-\(n)" }

    /// A Decrypt by session `n` of `object(n)` with the context value `value-n`.
    static func record(_ n: Int) -> String {
        kmsRecord(
            identity: session(n),
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(object(n))","app":"value-\#(n)"}}"#)
    }

    private func write(_ dir: TempDir, _ name: String, _ sessions: some Sequence<Int>) throws -> String {
        try dir.write("\(name)/" + logPath(), gzip(logFile(sessions.map(Self.record))))
    }

    /// (rows, recent rows) of each table with recent rows.
    private func counts(_ queue: some DatabaseReader, _ tables: [String] = RecentRows.tables) throws -> [String: [Int]] {
        try queue.read { db in
            var counts: [String: [Int]] = [:]
            for table in tables {
                counts[table] = [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE recent = 1") ?? -1,
                ]
            }
            return counts
        }
    }

    /// `rows` rows and `recent` of them recent, in each table with recent rows.
    private func each(_ rows: Int, _ recent: Int) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: RecentRows.tables.map { ($0, [rows, recent]) })
    }

    private func sessionID(_ db: Database, _ n: Int) throws -> [Int64] {
        let arn = "arn:aws:sts::111122223333:assumed-role/Reader/sess-\(n)"
        return try Int64.fetchAll(db, sql: PrincipalRows.ids(withARN: "?1"), arguments: [arn])
    }

    /// The ids of `object(n)`, as who-read finds them.
    private func objectID(_ db: Database, _ n: Int) throws -> [Int64] {
        let (bucket, key) = S3ObjectSQL.split(arn: Self.object(n))
        return try Int64.fetchAll(
            db, sql: "SELECT o.id FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE b.arn = ? AND \(S3ObjectSQL.keyIs)",
            arguments: StatementArguments([bucket] + S3ObjectSQL.key(key!)))
    }

    /// The ranges (`recent`) of the context value, the principal and the folder of record `n`.
    private func ranges(_ db: Database, _ n: Int) throws -> [Int64] {
        [
            try Int64.fetchOne(db, sql: "SELECT recent FROM context_values WHERE value = ?", arguments: ["value-\(n)"]) ?? -1,
            try Int64.fetchOne(db, sql: "SELECT recent FROM principal_rows WHERE session_name = ?", arguments: ["sess-\(n)"]) ?? -1,
            try Int64.fetchOne(db, sql: "SELECT recent FROM s3_folders WHERE folder = ?", arguments: ["u-\(n)/"]) ?? -1,
        ]
    }

    /// Inserts `rows` context values in range `range` (not read by any event).
    private func insertValues(_ db: Database, rows: Int, range: Int, tag: String = "x") throws {
        try db.execute(
            sql: """
                WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < ?)
                INSERT INTO context_values (value_hash, value, recent) SELECT k, ? || k, ? FROM n
                """, arguments: [rows, tag, range])
    }

    func testNewRowsGoInTheNewestRangeAndAreFoundInEveryRange() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        func ids(_ db: Database, _ n: ClosedRange<Int>) throws -> [[Int64]] {
            try n.map { try sessionID(db, $0) + objectID(db, $0) }
        }
        // Into empty tables, the rows go straight into the main range.
        try ingest(index, [try write(dir, "a", 1...3)])
        XCTAssertEqual(try counts(index.queue), each(3, 0))
        let before = try index.queue.read { db in try ids(db, 1...3) }
        XCTAssertEqual(before.map(\.count), [2, 2, 2])

        // Sessions 2 and 3, their values and objects again, 4 and 5 new: only those two are
        // added, in range 1.
        let (summary, _) = try ingest(index, [try write(dir, "b", 2...5)])
        XCTAssertEqual(summary.eventsAdded, 4)
        XCTAssertEqual(try counts(index.queue), each(5, 2))
        let all = try index.queue.read { db in
            XCTAssertEqual(try ids(db, 1...3), before)
            XCTAssertEqual(try (1...5).map { try ranges(db, $0) }, [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 1, 1], [1, 1, 1]])
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM principals p JOIN events e ON e.principal_id = p.id"), 7)
            return try ids(db, 1...5)
        }
        XCTAssertEqual(all.map(\.count), [2, 2, 2, 2, 2])

        // Rows 4 and 5 in range 3 instead, ranges 1 and 2 empty (as `prune` can leave them): found
        // there by the writer and by who-read, and the next new row goes in range 3, the newest.
        try index.queue.write { db in
            for table in RecentRows.tables { try db.execute(sql: "UPDATE \(table) SET recent = 3 WHERE recent = 1") }
        }
        XCTAssertEqual(try index.queue.read { db in try ids(db, 1...5) }, all)
        let (again, _) = try ingest(index, [try write(dir, "c", 1...6)])
        XCTAssertEqual(again.eventsAdded, 6)
        XCTAssertEqual(try counts(index.queue).mapValues { $0[0] }, RecentRows.tables.reduce(into: [:]) { $0[$1] = 6 })
        try index.queue.read { db in
            XCTAssertEqual(try ids(db, 1...5), all)
            XCTAssertEqual(try ranges(db, 6), [3, 3, 3])
            XCTAssertEqual(try WhoRead(db).answer(Self.object(4)).reads.count, 2)
            XCTAssertEqual(try WhoRead(db).answer(Self.object(6)).reads.count, 1)
        }
    }

    /// The newest range takes new rows until it holds more than `closedAtLeast` rows and a
    /// quarter of the table's; the next rows then go in the range after it. An empty table's go
    /// in the main range, and a table whose rows are all there starts range 1.
    func testANewRangeStartsPastAQuarterOfTheRows() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let least = RecentRows.closedAtLeast, share = RecentRows.closedAtShare
        try index.queue.write { db in
            func next() throws -> Int64? { try RecentRows.rangeForNewRows(db, "context_values") }
            XCTAssertNil(try next())
            try insertValues(db, rows: 10, range: 0, tag: "main")
            XCTAssertEqual(try next(), 1)
            // `least` rows in range 1, most of the table: not closed, however small the table.
            try insertValues(db, rows: least, range: 1, tag: "a")
            XCTAssertEqual(try next(), 1)
            // One more: more than `least`, and more than a quarter.
            try insertValues(db, rows: 1, range: 1, tag: "b")
            XCTAssertEqual(try next(), 2)
            // Range 2 with least + 2 rows, exactly a quarter of the table: not closed.
            let total = share * (least + 2)
            try insertValues(db, rows: total - (10 + least + 1) - (least + 2), range: 0, tag: "c")
            try insertValues(db, rows: least + 2, range: 2, tag: "d")
            XCTAssertEqual(try RecentRows.rowCount(db, "context_values"), total)
            XCTAssertEqual(try next(), 2)
            // One more: more than a quarter.
            try insertValues(db, rows: 1, range: 2, tag: "e")
            XCTAssertEqual(try next(), 3)
        }
    }

    /// A run adds to one range, however many rows it adds; the run after it starts the next
    /// range once that one is full, and no row moves.
    func testTheRunAfterAFullRangeStartsTheNext() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let n = RecentRows.closedAtLeast + 10
        try ingest(index, [try write(dir, "a", 1...1)])
        let (summary, _) = try ingest(index, [try write(dir, "b", 2...n)])
        XCTAssertEqual(summary.eventsAdded, n - 1)
        XCTAssertEqual(try counts(index.queue), each(n, n - 1))
        // Range 1 holds more than a quarter of the rows: the five new ones go in range 2.
        try ingest(index, [try write(dir, "c", (n - 5)...(n + 5))])
        XCTAssertEqual(try counts(index.queue), each(n + 5, n - 1))
        try index.queue.read { db in
            XCTAssertEqual(try ranges(db, 1), [0, 0, 0])
            XCTAssertEqual(try ranges(db, n), [1, 1, 1])
            XCTAssertEqual(try ranges(db, n + 1), [2, 2, 2])
            XCTAssertEqual(try (1...(n + 5)).filter { try sessionID(db, $0).count != 1 || objectID(db, $0).count != 1 }, [])
        }
    }

    /// A shard's rows are found in every range of the destination: none added twice, merged
    /// twice adds nothing. Its new rows go in the destination's range for new rows, or its
    /// main range when the destination's table is empty.
    func testMergeFindsRowsInEveryRange() throws {
        let dir = try TempDir()
        let destination = try makeIndex(dir, name: "dest.sqlite")
        try ingest(destination, [try write(dir, "d1", 1...40)])
        try ingest(destination, [try write(dir, "d2", 41...50)])
        // Rows 46-50 in range 2: three ranges with rows.
        try destination.queue.write { db in
            for table in RecentRows.tables {
                try db.execute(sql: "UPDATE \(table) SET recent = 2 WHERE id > 45")
            }
        }
        let merger = IndexMerger(destination: destination)
        let small = try makeIndex(dir, name: "small.sqlite")
        try ingest(small, [try write(dir, "s", [5, 45, 48, 51])])
        let first = try merger.merge(shardPath: small.path)
        for table in ["context_values", "principals", "s3_objects", "s3_folders"] {
            XCTAssertEqual(first.rowsAdded[table], 1, table)
        }
        let second = try merger.merge(shardPath: small.path)
        for table in ["context_values", "principals", "s3_objects", "s3_folders"] {
            XCTAssertEqual(second.rowsAdded[table], 0, table)
        }
        let large = try makeIndex(dir, name: "large.sqlite")
        try ingest(large, [try write(dir, "l", 45...70)])
        let third = try merger.merge(shardPath: large.path)
        for table in ["context_values", "principals", "s3_objects", "s3_folders"] {
            XCTAssertEqual(third.rowsAdded[table], 19, table)
        }
        try destination.queue.read { db in
            XCTAssertEqual(try ranges(db, 5), [0, 0, 0])
            XCTAssertEqual(try ranges(db, 45), [1, 1, 1])
            XCTAssertEqual(try ranges(db, 48), [2, 2, 2])
            XCTAssertEqual(try ranges(db, 51), [2, 2, 2])
            XCTAssertEqual(try ranges(db, 70), [2, 2, 2])
            XCTAssertEqual(try (1...70).filter { try sessionID(db, $0).count != 1 || objectID(db, $0).count != 1 }, [])
        }
        // Into an empty index, a shard's rows go in the main range.
        let empty = try makeIndex(dir, name: "empty.sqlite")
        _ = try IndexMerger(destination: empty).merge(shardPath: small.path)
        XCTAssertEqual(try counts(empty.queue), each(4, 0))
    }

    /// Migration 026 leaves every existing row folded in, and its values and principals are
    /// found: the same records ingested again add nothing.
    func testMigration26FoldsInEveryExistingRow() throws {
        let dir = try TempDir()
        let path = dir.path + "/v25.sqlite"
        do {
            let index = try makeIndex(dir, name: "v25-source.sqlite")
            try ingest(index, [try write(dir, "a", 1...4)])
        }
        // An index of schema 25 with the same rows: its writer's rows, copied column by column.
        let queue = try indexBefore(migration: "026", at: path)
        try queue.write { db in
            try db.execute(sql: "PRAGMA application_id = \(IndexDatabase.applicationID)")
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [dir.path + "/v25-source.sqlite"])
            try db.execute(
                sql: "INSERT INTO context_values (id, value_hash, value) SELECT id, value_hash, value FROM source.context_values")
            try db.execute(sql: "INSERT INTO roles SELECT * FROM source.roles")
            // Those of schema 25: not the Identity Center user's (schema 33), nor schema 42's.
            let later = [
                "on_behalf_of_user_id", "identity_store_arn", "identity_provider", "credentials_issued_to", "federated_provider",
                "mfa_authenticated", "session_created", "ec2_role_delivery",
            ]
            let old = PrincipalRows.columns.filter { !later.contains($0) }
            let columns = (["id"] + old + ["derived"]).joined(separator: ", ")
            try db.execute(sql: "INSERT INTO principal_rows (\(columns)) SELECT \(columns) FROM source.principal_rows")
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            for (table, index, columns) in [
                ("context_values", "context_values_hash", ["recent", "value_hash"]),
                ("principal_rows", "principal_rows_identity_hash", ["recent", "identity_hash"]),
                ("principal_rows", "principal_rows_role", ["role_id", "recent", "session_name"]),
            ] {
                XCTAssertEqual(
                    try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index]), columns)
                XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE recent != 0"), 0)
            }
        }
        try queue.close()
        let index = try IndexDatabase.openForWriting(path: path, lockTimeout: nil)
        let (summary, _) = try ingest(index, [try write(dir, "b", 1...4)])
        XCTAssertEqual(summary.eventsAdded, 4)
        XCTAssertEqual(
            try counts(index.queue, ["context_values", "principal_rows"]), ["context_values": [4, 0], "principal_rows": [4, 0]])
    }

    /// Migration 027 leaves every S3 folder folded in and found, and failed calls indexed by
    /// time first.
    func testMigration27FoldsInEveryFolder() throws {
        let dir = try TempDir()
        let path = dir.path + "/v26.sqlite"
        let queue = try indexBefore(migration: "027", at: path)
        try queue.write { db in
            try db.execute(sql: "PRAGMA application_id = \(IndexDatabase.applicationID)")
            try db.execute(sql: "INSERT INTO s3_buckets (id, arn, name) VALUES (1, 'arn:aws:s3:::b', 'b')")
            for n in 1...3 {
                try db.execute(
                    sql: "INSERT INTO s3_folders (id, folder) VALUES (?, ?)", arguments: [n, "u-\(n)/"])
                try db.execute(
                    sql: "INSERT INTO s3_object_rows (id, kind, bucket_id, folder_id, name, key_hash) VALUES (?, 'object', 1, ?, ?, ?)",
                    arguments: [n, n, "part-\(n)", StoredKeyHash.of("u-\(n)/part-\(n)")])
            }
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info('s3_folders_folder') ORDER BY seqno"),
                ["recent", "folder"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_folders WHERE recent != 0"), 0)
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info('events_error') ORDER BY seqno"),
                ["event_time", "error_code_sid", "principal_id", "key_id", "requested_key_sid", "event_name_sid", "object_id"])
            XCTAssertEqual(try (1...3).map { try objectID(db, $0) }, [[1], [2], [3]])
        }
        try queue.close()
        let index = try IndexDatabase.openForWriting(path: path, lockTimeout: nil)
        try ingest(index, [try write(dir, "a", 1...4)])
        XCTAssertEqual(try counts(index.queue, ["s3_folders"]), ["s3_folders": [4, 1]])
        try index.queue.read { db in XCTAssertEqual(try (1...4).map { try objectID(db, $0) }, [[1], [2], [3], [4]]) }
    }

    /// The writer's look-ups read every range through the index, never the table.
    func testLookupsUseTheIndexInEveryRange() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try index.queue.read { db in
            let writer = try EventDimensions(db: db)
            for statement in [writer.contextValues.select, writer.principals.select, writer.folders.select] {
                let plan = try Row.fetchAll(
                    db, sql: "EXPLAIN QUERY PLAN " + statement.sql,
                    arguments: StatementArguments(
                        Array(repeating: "x", count: statement.parameterNames.count))
                )
                .map { $0["detail"] as String }
                XCTAssertTrue(plan.contains { $0.contains("(recent=? AND ") }, "\(plan)")
                XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN") }, "\(plan)")
            }
        }
    }
}
