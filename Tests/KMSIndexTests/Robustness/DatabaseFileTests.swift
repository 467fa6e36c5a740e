import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Opening refuses what is not ours, or is newer than us, before changing anything.
final class DatabaseFileTests: XCTestCase {
    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    func testANewerSchemaIsRefusedUntouched() throws {
        let dir = try TempDir()
        let path = dir.path + "/i.sqlite"
        let index = try IndexDatabase.openForWriting(path: path)
        try index.queue.writeWithoutTransaction { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('999_from_the_future')")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let before = bytes(path)
        for open in [{ try IndexDatabase.openForWriting(path: path) }, { try IndexDatabase.openForReading(path: path) }] {
            XCTAssertThrowsError(try open()) { error in
                XCTAssertTrue("\(error)".contains("written by a newer kmsindex (schema 999_from_the_future)"), "\(error)")
            }
        }
        XCTAssertEqual(bytes(path), before)
    }

    func testAnotherSQLiteDatabaseIsRefusedUntouched() throws {
        let dir = try TempDir()
        let path = dir.path + "/other.sqlite"
        let other = try DatabaseQueue(path: path)
        try other.write { db in try db.execute(sql: "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')") }
        try other.close()
        let before = bytes(path)
        XCTAssertThrowsError(try IndexDatabase.openForWriting(path: path)) { error in
            XCTAssertTrue("\(error)".contains("is a SQLite database but not a kmsindex index"), "\(error)")
        }
        XCTAssertThrowsError(try IndexDatabase.openForReading(path: path))
        XCTAssertEqual(bytes(path), before)
    }

    func testAFileThatIsNotSQLiteIsRefusedUntouched() throws {
        let dir = try TempDir()
        let path = try dir.write("notes.txt", Data(String(repeating: "not a database\n", count: 100).utf8))
        XCTAssertThrowsError(try IndexDatabase.openForWriting(path: path)) { error in
            XCTAssertTrue("\(error)".contains("is not a SQLite database"), "\(error)")
        }
        XCTAssertEqual(bytes(path), Data(String(repeating: "not a database\n", count: 100).utf8))
    }

    func testTheIndexAndItsJournalAreCreatedPrivate() throws {
        let dir = try TempDir()
        let path = dir.path + "/i.sqlite"
        let index = try IndexDatabase.openForWriting(path: path)
        try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "p")])))
        try ingest(index, [dir.path + "/logs"])
        for file in [path, path + "-wal", path + "-shm", path + ".lock"] where FileManager.default.fileExists(atPath: file) {
            let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, file)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    func testMigrationsAreRecordedInOrderAndCarriedInTheBinary() throws {
        let dir = try TempDir()
        let index = try IndexDatabase.openForWriting(path: dir.path + "/i.sqlite")
        let applied = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(applied, IndexDatabase.migrations.map(\.identifier))
        XCTAssertEqual(applied, applied.sorted())
        XCTAssertEqual(try index.appliedSchemaVersion(), IndexDatabase.schemaVersion)
        // The embedded SQL is the text of Migrations/, byte for byte.
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Migrations").standardized
        for migration in IndexDatabase.migrations {
            let text = try String(contentsOf: folder.appendingPathComponent(migration.identifier + ".sql"), encoding: .utf8)
            XCTAssertEqual(migration.sql, text, migration.identifier)
        }
    }
}
