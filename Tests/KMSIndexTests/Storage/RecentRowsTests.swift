import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Context values and principals (schema 26) and S3 folders (schema 27) added since the last
/// fold are indexed in a range of their own: found in either range, never added twice, folded in
/// when due.
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

    func testRowsFoldedInAreFoundAgainAndNewOnesAreRecent() throws {
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
        // added, in the recent range.
        let (summary, _) = try ingest(index, [try write(dir, "b", 2...5)])
        XCTAssertEqual(summary.eventsAdded, 4)
        XCTAssertEqual(try counts(index.queue), each(5, 2))
        let all = try index.queue.read { db in
            XCTAssertEqual(try ids(db, 1...3), before)
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT value FROM context_values WHERE recent = 1 ORDER BY id"), ["value-4", "value-5"])
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT folder FROM s3_folders WHERE recent = 1 ORDER BY id"), ["u-4/", "u-5/"])
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM principals p JOIN events e ON e.principal_id = p.id"), 7)
            return try ids(db, 1...5)
        }
        XCTAssertEqual(all.map(\.count), [2, 2, 2, 2, 2])

        try index.queue.write { db in XCTAssertEqual(try RecentRows.fold(db, always: true), each(2, 0).mapValues { $0[0] }) }
        XCTAssertEqual(try counts(index.queue), each(5, 0))
        // Found through the main range after the fold, as before it.
        XCTAssertEqual(try index.queue.read { db in try ids(db, 1...5) }, all)

        // New calls by the same five sessions on the same objects with the same values: their
        // rows are found and none is added.
        let (again, _) = try ingest(index, [try write(dir, "c", 1...5)])
        XCTAssertEqual(again.eventsAdded, 5)
        XCTAssertEqual(try counts(index.queue), each(5, 0))
        try index.queue.read { db in
            XCTAssertEqual(try ids(db, 1...5), all)
            XCTAssertEqual(try WhoRead(db).answer(Self.object(4)).reads.count, 2)
        }
    }

    /// Recent rows are folded in once they are more than `foldedAtLeast` and a sixteenth of
    /// the table's rows; not before.
    func testAFoldIsDueAtASixteenthOfTheRows() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        func insert(_ db: Database, rows: Int, recent: Int) throws {
            try db.execute(
                sql: """
                    WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < ?)
                    INSERT INTO context_values (value_hash, value, recent) SELECT k, hex(randomblob(8)), ? FROM n
                    """, arguments: [rows, recent])
        }
        let least = RecentRows.foldedAtLeast, share = RecentRows.foldedAtShare
        try index.queue.write { db in
            // Few recent rows: not due, however small the table.
            try insert(db, rows: least, recent: 1)
            XCTAssertEqual(try RecentRows.fold(db), [:])
            // More than foldedAtLeast, and more than a sixteenth: folded.
            try insert(db, rows: 1, recent: 1)
            XCTAssertEqual(try RecentRows.fold(db), ["context_values": least + 1])
            // least + 2 recent rows, exactly a sixteenth of the table: not due.
            try insert(db, rows: share * (least + 2) - (least + 1) - (least + 2), recent: 0)
            try insert(db, rows: least + 2, recent: 1)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values"), share * (least + 2))
            XCTAssertEqual(try RecentRows.fold(db), [:])
            // One more: more than a sixteenth.
            try insert(db, rows: 1, recent: 1)
            XCTAssertEqual(try RecentRows.fold(db), ["context_values": least + 3])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE recent = 1"), 0)
        }
    }

    /// An ingest whose new rows are due commits them folded in.
    func testAnIngestFoldsWhatItMadeDue() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let n = RecentRows.foldedAtLeast + 10
        try ingest(index, [try write(dir, "a", 1...1)])
        let (summary, _) = try ingest(index, [try write(dir, "b", 2...n)])
        XCTAssertEqual(summary.eventsAdded, n - 1)
        XCTAssertEqual(try counts(index.queue), each(n, 0))
        // A few more stay recent: a small share of the table.
        try ingest(index, [try write(dir, "c", (n - 5)...(n + 5))])
        XCTAssertEqual(try counts(index.queue), each(n + 5, 5))
    }

    /// Once a run has folded a table in, its later rows go straight into the main range: a
    /// long run does not move most of its rows twice.
    func testRowsAfterAFoldInTheSameRunAreNotRecent() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let n = RecentRows.foldedAtLeast + 10
        try ingest(index, [try write(dir, "first", 1...1)])
        var options = IngestOptions(paths: [try write(dir, "a", 2...n), try write(dir, "b", (n + 1)...(n + 5))])
        options.jobs = 1  // the files in order, one transaction each
        options.filesPerTransaction = 1
        let summary = try Ingester(database: index, options: options).run { XCTFail("\($0)") }
        XCTAssertEqual(summary.eventsAdded, n + 4)
        XCTAssertEqual(try counts(index.queue), each(n + 5, 0))
        try index.queue.read { db in
            XCTAssertEqual(try (1...(n + 5)).filter { try sessionID(db, $0).count != 1 || objectID(db, $0).count != 1 }, [])
        }
    }

    /// A shard's rows are found in the destination's main range and in its recent range: none
    /// added twice, merged twice adds nothing. A small shard's new rows are recent; a large
    /// shard's go straight into the main range.
    func testMergeFindsRowsInBothRanges() throws {
        let dir = try TempDir()
        let destination = try makeIndex(dir, name: "dest.sqlite")
        try ingest(destination, [try write(dir, "d1", 1...40)])
        try destination.queue.write { db in _ = try RecentRows.fold(db, always: true) }
        try ingest(destination, [try write(dir, "d2", 41...50)])
        let merger = IndexMerger(destination: destination)
        // Three rows next to 50: recent.
        let small = try makeIndex(dir, name: "small.sqlite")
        try ingest(small, [try write(dir, "s", [5, 45, 51])])
        let first = try merger.merge(shardPath: small.path)
        for table in ["context_values", "principals", "s3_objects", "s3_folders"] {
            XCTAssertEqual(first.rowsAdded[table], 1, table)
        }
        XCTAssertEqual(try counts(destination.queue), each(51, 11))
        let second = try merger.merge(shardPath: small.path)
        for table in ["context_values", "principals", "s3_objects", "s3_folders"] {
            XCTAssertEqual(second.rowsAdded[table], 0, table)
        }
        // 26 rows next to 51: the 19 new ones go in the main range.
        let large = try makeIndex(dir, name: "large.sqlite")
        try ingest(large, [try write(dir, "l", 45...70)])
        let third = try merger.merge(shardPath: large.path)
        for table in ["context_values", "principals", "s3_objects", "s3_folders"] {
            XCTAssertEqual(third.rowsAdded[table], 19, table)
        }
        XCTAssertEqual(try counts(destination.queue), each(70, 11))
        try destination.queue.read { db in
            XCTAssertEqual(try (1...70).filter { try sessionID(db, $0).count != 1 || objectID(db, $0).count != 1 }, [])
        }
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
            let columns = (["id"] + PrincipalRows.columns + ["derived"]).joined(separator: ", ")
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

    /// The writer's and merge's look-ups read both ranges through the index, never the table.
    func testLookupsUseTheIndexInBothRanges() throws {
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
