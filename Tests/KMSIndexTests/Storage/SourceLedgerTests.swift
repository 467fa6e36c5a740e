import GRDB
import XCTest

@testable import KMSIndex

/// The compact ledger (migration 013): folders once, names found by a hash of the path, and
/// `source_files` as a view with the values the table had.
final class SourceLedgerTests: XCTestCase {
    let paths = [
        "/logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0005Z_a.json.gz",
        "/logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/111122223333_CloudTrail_us-east-1_20260102T0010Z_b.json.gz",
        "/top.json.gz",
        "relative.json.gz",
        "/logs/dossier é/naïve.json.gz",
        "/logs/trailing/",
    ]

    func testSplitAndHash() {
        XCTAssertEqual(LedgerPath.split("/a/b/c.gz").dir, "/a/b")
        XCTAssertEqual(LedgerPath.split("/a/b/c.gz").name, "c.gz")
        XCTAssertEqual(LedgerPath.split("/c.gz").dir, "")
        XCTAssertNil(LedgerPath.split("c.gz").dir)
        XCTAssertEqual(LedgerPath.split("/a/").name, "")
        XCTAssertNotEqual(LedgerPath.hash("/a/b"), LedgerPath.hash("/a/c"))
        XCTAssertEqual(LedgerPath.hash("/a/b"), "/a/b".withUTF8Bytes(PrincipalIdentity.hash))
        XCTAssertNil(LedgerPath.sha256Bytes("abc"))
        XCTAssertNil(LedgerPath.sha256Bytes(String(repeating: "g", count: 64)))
        XCTAssertEqual(LedgerPath.sha256Bytes(String(repeating: "aB", count: 32)), Data(repeating: 0xAB, count: 32))
    }

    /// Rows written by schema 12 read the same through the view after migration 013, keep
    /// their ids, and are found by path.
    func testMigrationKeepsEveryRowAndValue() throws {
        let dir = try TempDir()
        let queue = try indexBefore(migration: "013", at: dir.path + "/v12.sqlite")
        let sha = String(repeating: "0123456789abcdef", count: 4)
        try queue.write { db in
            for (k, path) in paths.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO source_files (id, path, size, mtime_ns, outcome, reason, records, kms_events, events_added,
                                                  malformed_records, uncompressed_bytes, read_at, content_sha256)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        10 + k * 3, path, 100 + k, 1_700_000_000_000_000_000 + k, ["ingested", "skipped", "failed"][k % 3],
                        k % 3 == 0 ? nil : "reason \(k)", k, k * 2, k, k % 2, k == 3 ? nil : 1000 + k,
                        "2026-01-0\(k + 1)T12:34:5\(k)Z", k % 2 == 0 ? sha : nil,
                    ])
            }
        }
        let before = try queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM source_files ORDER BY id") }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            // The columns of schema 12; migration 017 adds `file_sha256`, unknown for these rows.
            let columns = before[0].columnNames.joined(separator: ", ")
            let after = try Row.fetchAll(db, sql: "SELECT \(columns) FROM source_files ORDER BY id")
            XCTAssertEqual(after, before)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM source_files WHERE file_sha256 IS NOT NULL"), 0)
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_dirs"), 4, "/logs/…/02, '', /logs/dossier é, /logs/trailing")
            XCTAssertEqual(try Data.fetchOne(db, sql: "SELECT content_sha256 FROM ledger_files WHERE id = 10")?.count, 32)
            let lookup = try db.makeStatement(sql: LedgerLookup.sql)
            for (k, path) in paths.enumerated() {
                let found = try XCTUnwrap(try LedgerLookup.find(lookup, path: path), path)
                XCTAssertEqual(found.size, Int64(100 + k))
                XCTAssertEqual(found.failed, k % 3 == 2)
            }
            // Migration 022: the log files' names without what their folder says, the rest whole.
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT name FROM ledger_files WHERE name_cut ORDER BY id"),
                ["0005Z_a.json.gz", "0010Z_b.json.gz"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_files WHERE NOT name_cut"), paths.count - 2)
            XCTAssertNil(try LedgerLookup.find(lookup, path: "/logs/top.json.gz"), "same name, another folder")
            XCTAssertNil(try LedgerLookup.find(lookup, path: "/relative.json.gz"), "a folder where the row has none")
            XCTAssertNil(try LedgerLookup.find(lookup, path: "top.json.gz"), "no folder where the row has one")
        }
    }

    /// Migration 018 copies the ledger whole (every column of every row, ids kept) and checks
    /// outcomes with comparisons: the insert builds no temporary B-tree, and the same values
    /// are refused.
    func testMigration18KeepsTheLedgerAndItsCheck() throws {
        let dir = try TempDir()
        let queue = try indexBefore(migration: "018", at: dir.path + "/v17.sqlite")
        // Rows as schema 17's writer made them.
        try queue.write { db in
            for (k, path) in paths.enumerated() {
                let (folder, name) = LedgerPath.split(path)
                if let folder { try db.execute(sql: "INSERT OR IGNORE INTO ledger_dirs (path) VALUES (?)", arguments: [folder]) }
                try db.execute(
                    sql: """
                        INSERT INTO ledger_files (dir_id, name, path_hash, size, mtime_ns, outcome, reason, records, kms_events,
                                                  events_added, malformed_records, uncompressed_bytes, read_at, content_sha256,
                                                  file_sha256)
                        VALUES ((SELECT id FROM ledger_dirs WHERE path = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        folder, name, LedgerPath.hash(path), k, k, k % 3, "r\(k)", k, k, k, k % 2, k == 2 ? nil : 10 * k, 1_700_000_000 + k,
                        k % 2 == 0 ? Data(repeating: 0xAB, count: 32) : nil, Data(repeating: 0xCD, count: 32),
                    ])
            }
        }
        let before = try queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM source_files ORDER BY id") }
        XCTAssertEqual(before.count, paths.count)
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            XCTAssertEqual(try Row.fetchAll(db, sql: "SELECT * FROM source_files ORDER BY id"), before)
            let insert = "INSERT INTO ledger_files (name, path_hash, size, mtime_ns, outcome, read_at) VALUES ('x', 1, 1, 1, 0, 1)"
            let plan = try Row.fetchAll(db, sql: "EXPLAIN " + insert)
            XCTAssertFalse(plan.contains { ($0["opcode"] as String?) == "OpenEphemeral" }, "\(plan)")
            let indexes = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'ledger_files' ORDER BY name")
            XCTAssertEqual(indexes, ["ledger_files_outcome", "ledger_files_path"])
        }
        for refused in ["3", "-1", "0.5", "'ingested'", "NULL"] {
            XCTAssertThrowsError(
                try queue.write { db in
                    let columns = "name, path_hash, size, mtime_ns, outcome, read_at"
                    try db.execute(sql: "INSERT INTO ledger_files (\(columns)) VALUES ('x', 1, 1, 1, \(refused), 1)")
                }, refused)
        }
    }

    /// A path written again keeps its row and id; one in a new folder gets a new row.
    func testWriterUpdatesInPlace() throws {
        let dir = try TempDir()
        let index = try IndexDatabase.openForWriting(path: dir.path + "/index.sqlite")
        try index.queue.write { db in
            let ledger = try LedgerWriter(db: db)
            var ids: [Int64] = []
            for path in paths {
                ids.append(try ledger.record(path, .init(size: 1, mtimeNs: 1, outcome: .failed(reason: "x"), reason: "x")))
            }
            XCTAssertEqual(Set(ids).count, paths.count)
            // A new path's id is given before its row is written, and is the next one.
            let fresh = try ledger.slot("/logs/new/file.json.gz")
            XCTAssertTrue(fresh.isNew)
            XCTAssertEqual(fresh.id, ids.max()! + 1)
            try ledger.write(fresh, .init(size: 9, mtimeNs: 9, outcome: .ingested, eventsAdded: 2))
            XCTAssertEqual(try ledger.slot("/logs/new/file.json.gz").id, fresh.id)
            XCTAssertFalse(try ledger.slot("/logs/new/file.json.gz").isNew)
            let again = try ledger.record(
                paths[0],
                .init(
                    size: 2, mtimeNs: 3, outcome: .ingested, records: 5,
                    contentSHA256: String(repeating: "ab", count: 32), eventsAdded: 4))
            XCTAssertEqual(again, ids[0])
            let row = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT * FROM source_files WHERE id = ?", arguments: [again]))
            XCTAssertEqual(row["path"] as String, paths[0])
            XCTAssertEqual(row["size"] as Int, 2)
            XCTAssertEqual(row["outcome"] as String, "ingested")
            XCTAssertNil(row["reason"] as String?)
            XCTAssertEqual(row["events_added"] as Int, 4)
            XCTAssertEqual(row["content_sha256"] as String, String(repeating: "ab", count: 32))
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_files"), paths.count + 1)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT events_added FROM ledger_files WHERE id = ?", arguments: [fresh.id]), 2)
            // The lookup goes through the hash's index.
            let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + LedgerLookup.sql, arguments: [1, "a", "b"])
                .map { $0["detail"] as String }.joined(separator: " ")
            XCTAssertTrue(plan.contains("ledger_files_path"), plan)
        }
    }
    /// Log files' names are kept without what their folder says (schema 22), found again by a
    /// re-run, and merged whole into an index that cut them otherwise.
    func testLogNamesAreCutByTheirFolderFoundAgainAndMergedWhole() throws {
        let dir = try TempDir()
        let folder = "tree/" + (logPath() as NSString).deletingLastPathComponent
        let files = [
            try dir.write("tree/" + logPath(), gzip(logFile([kmsRecord()]))),
            try dir.write("tree/" + logPath(stamp: "20240301T0010Z", unique: "Second0000000000"), gzip(logFile([kmsRecord()]))),
            try dir.write(folder + "/notes.json.gz", gzip(logFile([kmsRecord()]))),
        ]
        let shard = try makeIndex(dir, name: "shard.sqlite")
        try ingest(shard, [dir.path + "/tree"])
        func paths(_ index: IndexDatabase) throws -> [String] {
            try index.queue.read { db in try String.fetchAll(db, sql: "SELECT path FROM source_files ORDER BY path") }
        }
        XCTAssertEqual(try paths(shard), files.sorted())
        try shard.queue.read { db in
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT name FROM ledger_files WHERE name_cut ORDER BY name"),
                ["0005Z_AbCdEfGh12345678.json.gz", "0010Z_Second0000000000.json.gz"])
        }
        XCTAssertEqual(try ingest(shard, [dir.path + "/tree"]).0.filesUnchanged, files.count)

        // A destination that read the first file, its names kept whole (no prefix on its folder).
        let destination = try makeIndex(dir, name: "dest.sqlite")
        try ingest(destination, [files[0]])
        try destination.queue.write { db in
            try db.execute(
                sql: """
                    UPDATE ledger_files SET name = (SELECT name_prefix FROM ledger_dirs WHERE id = dir_id) || name, name_cut = 0
                    WHERE name_cut;
                    UPDATE ledger_dirs SET name_prefix = NULL;
                    """)
        }
        XCTAssertEqual(try paths(destination), [files[0]])
        let merged = try IndexMerger(destination: destination).merge(shardPath: shard.path)
        XCTAssertEqual(merged.filesAdded, 2)
        XCTAssertEqual(try paths(destination), files.sorted())
        XCTAssertEqual(try ingest(destination, [dir.path + "/tree"]).0.filesUnchanged, files.count)
    }

    /// `stats` counts files by outcome with the index of the files not ingested (schema 23),
    /// which holds those only.
    func testStatsCountFilesByOutcome() throws {
        let dir = try TempDir()
        let index = try IndexDatabase.openForWriting(path: dir.path + "/index.sqlite")
        let outcomes: [FileOutcome] = [.ingested, .ingested, .skipped(reason: "s"), .failed(reason: "f"), .ingested, .failed(reason: "g")]
        try index.queue.write { db in
            let ledger = try LedgerWriter(db: db)
            for (k, outcome) in outcomes.enumerated() {
                _ = try ledger.record("/logs/f\(k).json.gz", .init(size: 1, mtimeNs: 1, outcome: outcome, reason: nil))
            }
        }
        try index.queue.read { db in
            let stats = try IndexStats.read(db)
            XCTAssertEqual([stats.filesIngested, stats.filesSkipped, stats.filesFailed], [3, 1, 2])
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_files INDEXED BY ledger_files_outcome WHERE outcome <> 0"), 3)
            // The ingested files are not in it: SQLite cannot read them through it.
            XCTAssertThrowsError(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_files INDEXED BY ledger_files_outcome WHERE outcome = 0"))
        }
    }
}
