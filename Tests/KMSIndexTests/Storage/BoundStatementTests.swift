import GRDB
import GRDBSQLite
import XCTest

@testable import KMSIndex

/// A bind that fails must refuse the run: the parameter would otherwise keep the last run's value.
final class BoundStatementTests: XCTestCase {
    func testAFailedBindRefusesTheRunInsteadOfReusingTheLastValue() throws {
        let queue = try DatabaseQueue(configuration: IndexDatabase.configuration(readOnly: false))
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT, b INTEGER)")
            let statement = try db.makeStatement(sql: "INSERT INTO t (a, b) VALUES (?, ?)")
            var row = BoundStatement(statement)
            row.text("first")
            row.int(1)
            XCTAssertEqual(try row.execute(db), 1)

            // Texts over SQLite's length limit cannot be bound (SQLITE_TOOBIG).
            sqlite3_limit(db.sqliteConnection, SQLITE_LIMIT_LENGTH, 16)
            row.text(String(repeating: "x", count: 100))
            row.int(2)
            XCTAssertThrowsError(try row.execute(db)) { error in
                XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_TOOBIG, "\(error)")
                XCTAssertTrue("\(error)".contains("binding parameter 1 of 2 failed"), "\(error)")
            }
            XCTAssertEqual(
                try Row.fetchAll(db, sql: "SELECT a, b FROM t").map { [$0[0] as String, String($0[1] as Int64)] },
                [["first", "1"]])

            // The statement is usable again once every value binds.
            row.text("third")
            row.int(3)
            XCTAssertEqual(try row.execute(db), 1)
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT a FROM t ORDER BY b"), ["first", "third"])
        }
    }

    func testAParameterLeftOutRefusesTheRun() throws {
        let queue = try DatabaseQueue(configuration: IndexDatabase.configuration(readOnly: false))
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT, b INTEGER)")
            let statement = try db.makeStatement(sql: "INSERT INTO t (a, b) VALUES (?, ?)")  // outlives `row`
            var row = BoundStatement(statement)
            row.text("only one")
            XCTAssertThrowsError(try row.execute(db)) { XCTAssertTrue("\($0)".contains("1 of 2 parameters bound"), "\($0)") }
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), 0)
        }
    }
}
