import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Context values and principals added since the last fold are indexed in a range of their own
/// (schema 26): found in either range, never added twice, folded in when due.
final class RecentRowsTests: XCTestCase {
    static func session(_ n: Int) -> String {
        #"{"type":"AssumedRole","principalId":"AROAEXAMPLE:sess-\#(n)","arn":"arn:aws:sts::111122223333:assumed-role/Reader/sess-\#(n)","accountId":"111122223333","accessKeyId":"ASIA\#(n)","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Reader","accountId":"111122223333","userName":"Reader"}}}"#
    }

    /// A Decrypt by session `n` with the context value `value-n`.
    static func record(_ n: Int) -> String {
        kmsRecord(
            identity: session(n),
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/k","app":"value-\#(n)"}}"#)
    }

    private func write(_ dir: TempDir, _ name: String, _ sessions: some Sequence<Int>) throws -> String {
        try dir.write("\(name)/" + logPath(), gzip(logFile(sessions.map(Self.record))))
    }

    /// (rows, recent rows) of each table with recent rows.
    private func counts(_ queue: some DatabaseReader) throws -> [String: [Int]] {
        try queue.read { db in
            var counts: [String: [Int]] = [:]
            for table in RecentRows.tables {
                counts[table] = [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE recent = 1") ?? -1,
                ]
            }
            return counts
        }
    }

    private func sessionID(_ db: Database, _ n: Int) throws -> [Int64] {
        let arn = "arn:aws:sts::111122223333:assumed-role/Reader/sess-\(n)"
        return try Int64.fetchAll(db, sql: PrincipalRows.ids(withARN: "?1"), arguments: [arn])
    }

    func testRowsFoldedInAreFoundAgainAndNewOnesAreRecent() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", 1...3)])
        XCTAssertEqual(try counts(index.queue), ["context_values": [3, 3], "principal_rows": [3, 3]])
        let before = try index.queue.read { db in try (1...3).map { try sessionID(db, $0) } }
        XCTAssertEqual(before.map(\.count), [1, 1, 1])

        try index.queue.write { db in XCTAssertEqual(try RecentRows.fold(db, always: true), ["context_values": 3, "principal_rows": 3]) }
        XCTAssertEqual(try counts(index.queue), ["context_values": [3, 0], "principal_rows": [3, 0]])
        // Found through the main range after the fold, as before it.
        XCTAssertEqual(try index.queue.read { db in try (1...3).map { try sessionID(db, $0) } }, before)

        // Sessions 2 and 3 and their values again, 4 and 5 new: only those two are added.
        let (summary, _) = try ingest(index, [try write(dir, "b", 2...5)])
        XCTAssertEqual(summary.eventsAdded, 4)
        XCTAssertEqual(try counts(index.queue), ["context_values": [5, 2], "principal_rows": [5, 2]])
        try index.queue.read { db in
            XCTAssertEqual(try (1...3).map { try sessionID(db, $0) }, before)
            XCTAssertEqual(try (4...5).map { try sessionID(db, $0).count }, [1, 1])
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT value FROM context_values WHERE recent = 1 ORDER BY id"), ["value-4", "value-5"])
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM principals p JOIN events e ON e.principal_id = p.id"), 7)
        }
        // New calls by the same five sessions with the same values: their rows are found,
        // whichever range they are in, and none is added.
        let (again, _) = try ingest(index, [try write(dir, "c", 1...5)])
        XCTAssertEqual(again.eventsAdded, 5)
        XCTAssertEqual(try counts(index.queue), ["context_values": [5, 2], "principal_rows": [5, 2]])
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

    /// An ingest whose new principals and values are due commits them folded in.
    func testAnIngestFoldsWhatItMadeDue() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let n = RecentRows.foldedAtLeast + 10
        let (summary, _) = try ingest(index, [try write(dir, "a", 1...n)])
        XCTAssertEqual(summary.eventsAdded, n)
        XCTAssertEqual(try counts(index.queue), ["context_values": [n, 0], "principal_rows": [n, 0]])
        // A few more stay recent: a small share of the table.
        try ingest(index, [try write(dir, "b", (n - 5)...(n + 5))])
        XCTAssertEqual(try counts(index.queue), ["context_values": [n + 5, 5], "principal_rows": [n + 5, 5]])
    }

    /// Once a run has folded a table in, its later rows go straight into the main range: a
    /// long run does not move most of its rows twice.
    func testRowsAfterAFoldInTheSameRunAreNotRecent() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let n = RecentRows.foldedAtLeast + 10
        var options = IngestOptions(paths: [try write(dir, "a", 1...n), try write(dir, "b", (n + 1)...(n + 5))])
        options.jobs = 1  // the files in order, one transaction each
        options.filesPerTransaction = 1
        let summary = try Ingester(database: index, options: options).run { XCTFail("\($0)") }
        XCTAssertEqual(summary.eventsAdded, n + 5)
        XCTAssertEqual(try counts(index.queue), ["context_values": [n + 5, 0], "principal_rows": [n + 5, 0]])
        try index.queue.read { db in
            XCTAssertEqual(try (1...(n + 5)).filter { try sessionID(db, $0).count != 1 }, [])
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
        XCTAssertEqual(first.rowsAdded["context_values"], 1)
        XCTAssertEqual(first.rowsAdded["principals"], 1)
        XCTAssertEqual(try counts(destination.queue), ["context_values": [51, 11], "principal_rows": [51, 11]])
        let second = try merger.merge(shardPath: small.path)
        XCTAssertEqual(second.rowsAdded["context_values"], 0)
        XCTAssertEqual(second.rowsAdded["principals"], 0)
        // 26 rows next to 51: the 19 new ones go in the main range.
        let large = try makeIndex(dir, name: "large.sqlite")
        try ingest(large, [try write(dir, "l", 45...70)])
        let third = try merger.merge(shardPath: large.path)
        XCTAssertEqual(third.rowsAdded["context_values"], 19)
        XCTAssertEqual(third.rowsAdded["principals"], 19)
        XCTAssertEqual(try counts(destination.queue), ["context_values": [70, 11], "principal_rows": [70, 11]])
        try destination.queue.read { db in
            XCTAssertEqual(try (1...70).filter { try sessionID(db, $0).count != 1 }, [])
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
        XCTAssertEqual(try counts(index.queue), ["context_values": [4, 0], "principal_rows": [4, 0]])
    }

    /// The writer's and merge's look-ups read both ranges through the index, never the table.
    func testLookupsUseTheIndexInBothRanges() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try index.queue.read { db in
            let writer = try EventDimensions(db: db)
            for statement in [writer.contextValues.select, writer.principals.select] {
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
