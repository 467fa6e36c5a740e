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

    /// An index is in WAL mode, and opening it for writing changes nothing in it: no table made
    /// and dropped to leave a WAL behind (what GRDB's own WAL set-up does for its pools).
    func testOpeningForWritingIsWALAndWritesNothing() throws {
        let dir = try TempDir()
        let path = dir.path + "/i.sqlite"
        try IndexDatabase.openForWriting(path: path).queue.close()
        func schemaVersion() throws -> Int {
            let index = try IndexDatabase.openForWriting(path: path)
            defer { try? index.queue.close() }
            return try index.queue.read { db in
                XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
                return try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? -1
            }
        }
        let first = try schemaVersion()
        XCTAssertEqual(try schemaVersion(), first)
        XCTAssertEqual(try schemaVersion(), first)
    }

    /// A process killed while it set up the WAL's shared memory leaves a -shm file whose header
    /// is not valid. Reading it then needs recovery, which read-only connections cannot do.
    func testAnIndexWhoseSharedMemoryNeedsRecoveryOpensForReadingAndWriting() throws {
        let dir = try TempDir()
        let live = dir.path + "/live.sqlite"
        let index = try IndexDatabase.openForWriting(path: live)
        try index.queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            try db.execute(sql: "INSERT INTO strings (text) VALUES ('only in the WAL')")
        }
        for (copyName, reopen) in [
            ("r", { try IndexDatabase.openForReading(path: $0) }),
            ("w", { try IndexDatabase.openForWriting(path: $0) }),
        ] as [(String, (String) throws -> IndexDatabase)] {
            // A copy of the files as a kill leaves them, with a shared-memory file of zeros.
            let copy = dir.path + "/killed-\(copyName).sqlite"
            try FileManager.default.copyItem(atPath: live, toPath: copy)
            try FileManager.default.copyItem(atPath: live + "-wal", toPath: copy + "-wal")
            XCTAssertTrue(FileManager.default.createFile(atPath: copy + "-shm", contents: Data(count: 32768)))
            let reopened = try reopen(copy)
            let text = try reopened.queue.read { db in
                try String.fetchOne(db, sql: "SELECT text FROM strings WHERE text = 'only in the WAL'")
            }
            XCTAssertEqual(text, "only in the WAL", copyName)
        }
        withExtendedLifetime(index) {}
    }

    /// A process killed in the middle of a transaction in rollback-journal mode (as while a new
    /// index switches to WAL) leaves a hot journal. Read-only connections cannot roll it back.
    func testAnIndexWithAHotJournalOpensForReadingAndWriting() throws {
        let dir = try TempDir()
        let live = dir.path + "/live.sqlite"
        let index = try IndexDatabase.openForWriting(path: live)
        try index.queue.writeWithoutTransaction { db in
            try db.execute(sql: "INSERT INTO strings (text) VALUES ('committed')")
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
            // A small cache spills the transaction's pages into the file before it commits.
            try db.execute(sql: "PRAGMA cache_size = 2")
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "DELETE FROM strings")
            for n in 0..<3000 { try db.execute(sql: "INSERT INTO strings (text) VALUES (?)", arguments: ["uncommitted \(n)"]) }
            for name in ["r", "w"] {
                // The files as a kill leaves them: the journal is hot once no process holds the lock.
                let copy = dir.path + "/killed-\(name).sqlite"
                try FileManager.default.copyItem(atPath: live, toPath: copy)
                try FileManager.default.copyItem(atPath: live + "-journal", toPath: copy + "-journal")
            }
            try db.execute(sql: "ROLLBACK")
        }
        for (name, reopen) in [
            ("r", { try IndexDatabase.openForReading(path: $0) }),
            ("w", { try IndexDatabase.openForWriting(path: $0) }),
        ] as [(String, (String) throws -> IndexDatabase)] {
            let reopened = try reopen(dir.path + "/killed-\(name).sqlite")
            let texts = try reopened.queue.read { db in try String.fetchAll(db, sql: "SELECT text FROM strings") }
            XCTAssertEqual(texts, ["committed"], name)
        }
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
