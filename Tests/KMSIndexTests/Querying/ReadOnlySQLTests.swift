import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class ReadOnlySQLTests: XCTestCase {
    static let writes = [
        "DELETE FROM events",
        "UPDATE events SET error_message = 'x'",
        "INSERT INTO user_agents (text) VALUES ('x')",
        "DROP TABLE events",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "ATTACH DATABASE 'ATTACHED' AS other",
        "DETACH DATABASE main",
        "PRAGMA user_version = 5",
        "PRAGMA journal_mode = delete",
        "PRAGMA wal_checkpoint(TRUNCATE)",
        "VACUUM",
        "VACUUM INTO 'ATTACHED'",
        "REINDEX",
        "ANALYZE",
        "BEGIN IMMEDIATE",
        "  /* a comment */ -- and another\n DELETE FROM events",
        "WITH x AS (SELECT 1) DELETE FROM events",
        "REPLACE INTO user_agents (id, text) VALUES (1, 'x')",
        "ALTER TABLE events ADD COLUMN x",
    ]

    func testEveryWriteIsRefusedAndTheFileStaysByteIdentical() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        try index.queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let main = try XCTUnwrap(fileBytes(index.path))
        let wal = fileBytes(index.path + "-wal")
        let attached = dir.path + "/attached.sqlite"
        let reader = try ReadOnlySQL.open(path: index.path)
        XCTAssertTrue(reader.configuration.readonly)
        for sql in Self.writes.map({ $0.replacingOccurrences(of: "ATTACHED", with: attached) }) {
            XCTAssertThrowsError(try reader.read { db in try ReadOnlySQL.run(db, sql: sql) }, sql) { error in
                XCTAssertTrue(error is QueryError, "\(sql): \(error)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: attached))
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), queryFixtureRecords.count)
        XCTAssertEqual(try count(index, "PRAGMA user_version"), 0)
        XCTAssertEqual(fileBytes(index.path), main)
        XCTAssertEqual(fileBytes(index.path + "-wal"), wal)
    }

    func testPendingMigrationsAreNotApplied() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        try index.queue.writeWithoutTransaction { db in
            try db.execute(
                sql: """
                    DELETE FROM grdb_migrations WHERE identifier LIKE '004%';
                    """)
            _ = try db.checkpoint(.truncate)
        }
        let main = try XCTUnwrap(fileBytes(index.path))
        let reader = try ReadOnlySQL.open(path: index.path)
        XCTAssertEqual(
            try reader.read { db in try ReadOnlySQL.run(db, sql: "SELECT count(*) FROM events") }.rows, [["\(queryFixtureRecords.count)"]])
        XCTAssertEqual(fileBytes(index.path), main)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM grdb_migrations WHERE identifier LIKE '004%'"), 0)
        XCTAssertThrowsError(try ReadOnlySQL.open(path: dir.path + "/missing.sqlite"))
        let notAnIndex = try dir.write("notes.txt", Data("notes".utf8))
        XCTAssertThrowsError(try ReadOnlySQL.open(path: notAnIndex))
        XCTAssertEqual(fileBytes(notAnIndex), Data("notes".utf8))
    }

    func testWritesAreRefusedEvenOnAWritableConnection() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        for sql in Self.writes.map({ $0.replacingOccurrences(of: "ATTACHED", with: dir.path + "/a.sqlite") }) {
            XCTAssertThrowsError(try index.queue.writeWithoutTransaction { db in try ReadOnlySQL.run(db, sql: sql) }, sql)
        }
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), queryFixtureRecords.count)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM user_agents WHERE text = 'x'"), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/a.sqlite"))
    }

    func testQueriesRunWithTypedValuesAndNamedParameters() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        func run(_ sql: String, _ parameters: [String: String] = [:]) throws -> ResultTable {
            try index.queue.read { db in try ReadOnlySQL.run(db, sql: sql, parameters: parameters) }
        }
        let typed = try run("SELECT 1 AS n, 'x' AS s, NULL AS z, 2.5 AS r, x'00ff' AS b;")
        XCTAssertEqual(typed.columns, ["n", "s", "z", "r", "b"])
        XCTAssertEqual(typed.cells, [[.integer(1), .text("x"), .null, .real(2.5), .text("00FF")]])
        XCTAssertEqual(
            try run("-- who?\nSELECT event_id FROM kms_events WHERE principal_arn = :who ORDER BY event_id", ["who": Q.alice]).rows,
            [["m1"], ["m2"], ["r1"], ["x1"]])
        XCTAssertEqual(try run("SELECT @a || $b || :a AS v", ["a": "1", "b": "2"]).rows, [["121"]])
        XCTAssertEqual(try run("PRAGMA table_info(trails)").rows.map { $0[1] }, ["id", "arn", "account_id", "region", "name"])
        XCTAssertEqual(try run("SELECT * FROM events WHERE 0").rows, [])
    }

    func testMistakesAreExplained() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        func message(_ sql: String, _ parameters: [String: String] = [:]) -> String {
            do {
                _ = try index.queue.read { db in try ReadOnlySQL.run(db, sql: sql, parameters: parameters) }
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message("SELECT 1; SELECT 2"), "one SQL statement at a time, please: the query holds more than one")
        XCTAssertEqual(message("SELECT 1; DELETE FROM events"), "one SQL statement at a time, please: the query holds more than one")
        XCTAssertEqual(message("  -- nothing\n"), "no SQL statement given")
        XCTAssertEqual(message("SELECT :a"), "the query uses :a; give it with -p a VALUE")
        XCTAssertEqual(message("SELECT 1", ["a": "1"]), "parameter 'a' is not used by the query (write it :a)")
        XCTAssertEqual(message("SELECT ?"), "the query has a positional parameter (?); use named ones (:name) with -p name VALUE")
        XCTAssertEqual(
            message("DELETE FROM events"),
            "DELETE could change the index: sql runs read-only queries only (SELECT, WITH, EXPLAIN, read-only PRAGMA)")
        XCTAssertEqual(message("attach 'x' as y"), "ATTACH is refused: the index is opened read-only, and sql runs queries only")
        XCTAssertTrue(message("SELEC 1").contains("syntax error"), message("SELEC 1"))
    }
}
