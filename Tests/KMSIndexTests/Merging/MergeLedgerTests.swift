import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// What merge carries besides events: every table and column of the schema, the ledger (the
/// latest reading of a path wins), and the days of the events it added.
final class MergeLedgerTests: XCTestCase {
    /// A new migration that adds a table or a column fails here until merge copies it, or
    /// refreshes it as a table derived from events (`MergeStatements.derivedTables`).
    func testMergeCopiesEveryColumnOfEveryTableOfTheSchema() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let schema = try index.queue.read { db -> [String: Set<String>] in
            let tables = try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'grdb_migrations' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                    """)
            return try Dictionary(
                uniqueKeysWithValues: tables.map { table in
                    (
                        table,
                        Set(try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?) WHERE name != 'id'", arguments: [table]))
                    )
                })
        }
        XCTAssertGreaterThanOrEqual(schema.count, 14)
        let merged = MergeStatements.mergedColumns
        let notCopied = MergeStatements.derivedTables.union(MergeStatements.localTables).union(MergeStatements.filterTables)
        for (table, columns) in schema where !notCopied.contains(table) {
            XCTAssertEqual(
                Set(merged[table] ?? []), columns,
                "\(table): merge must copy every column (MergeStatements), or refresh it as a derived table")
        }
        XCTAssertEqual(Set(merged.keys).subtracting(schema.keys), [], "merge copies tables the schema does not have")
    }

    /// Merge adds a shard's daily summaries and rollups as they are, ids remapped: every column
    /// must be listed (`MergeStatements.summaries`), and every column naming ids must be mapped.
    func testMergeKnowsEveryColumnOfTheSummaries() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        for summary in MergeStatements.summaries {
            let columns = try index.queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [summary.table])
            }
            XCTAssertEqual(summary.columns.map(\.name), columns, summary.table)
            for column in summary.columns where column.name.hasSuffix("_id") || column.name.hasSuffix("_sid") {
                XCTAssertNotNil(column.mappedBy, "\(summary.table).\(column.name)")
            }
        }
        XCTAssertEqual(
            Set(MergeStatements.summaries.map(\.table)),
            MergeStatements.derivedTables.subtracting(["summary_state"]))
    }

    func testMergeReportsTheDaysOfTheEventsItAddedAndNothingTheSecondTime() throws {
        let dir = try TempDir()
        let shard = try makeIndex(dir, name: "shard.sqlite")
        try ingest(shard, [fixturesURL.appendingPathComponent("seed").path])
        let merger = IndexMerger(destination: try makeIndex(dir, name: "dest.sqlite"))

        let first = try merger.merge(shardPath: shard.path)
        XCTAssertEqual(first.eventsAdded, 3)
        XCTAssertEqual(first.duplicates, 0)
        XCTAssertEqual(first.filesAdded, 2)
        XCTAssertEqual(first.days, ["2015-11-11"])
        XCTAssertEqual(first.firstEventTime.map(StoredTime.text), "2015-11-11T21:15:33Z")
        XCTAssertEqual(first.lastEventTime.map(StoredTime.text), "2015-11-11T21:20:52Z")
        XCTAssertEqual(first.rowsAdded["kms_keys"], 1)
        XCTAssertEqual(try count(merger.destination, "SELECT sum(events_added) FROM source_files"), 3)

        let second = try merger.merge(shardPath: shard.path)
        XCTAssertEqual(second.eventsAdded, 0)
        XCTAssertEqual(second.duplicates, 3)
        XCTAssertEqual(second.filesAdded + second.filesUpdated, 0)
        XCTAssertEqual(second.days, [])
        XCTAssertNil(second.firstEventTime)
        XCTAssertEqual(second.rowsAdded.values.reduce(0, +), 0)
        XCTAssertEqual(try count(merger.destination, "SELECT count(*) FROM events"), 3)
        XCTAssertEqual(try count(merger.destination, "SELECT sum(events_added) FROM source_files"), 3)

        // A shard larger than the limit is merged with its temporary tables in files: the same.
        let inFiles = IndexMerger(destination: try makeIndex(dir, name: "files.sqlite"))
        inFiles.largestShardWithMapsInMemory = 0
        var again = try inFiles.merge(shardPath: shard.path)
        again.seconds = first.seconds
        XCTAssertEqual(again, first)

        XCTAssertThrowsError(try merger.merge(shardPath: merger.destination.path)) { error in
            XCTAssertEqual((error as? MergeError)?.isDestination, true)
        }
    }

    /// A shard path is bound, never spliced into SQL or a URI unescaped: quotes, `?`, `#`, `%`
    /// and spaces in it are just a name.
    func testShardPathsWithQuotesAndURICharactersAreJustNames() throws {
        let dir = try TempDir()
        let odd = dir.path + "/it's a ?odd=1#name%20.sqlite"
        let shard = try IndexDatabase.openForWriting(path: odd)
        try ingest(shard, [fixturesURL.appendingPathComponent("seed").path])
        let merger = IndexMerger(destination: try makeIndex(dir, name: "dest.sqlite"))
        XCTAssertEqual(try merger.merge(shardPath: odd).eventsAdded, 3)
        // Relative to the current directory, too.
        let cwd = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        FileManager.default.changeCurrentDirectoryPath(dir.path)
        XCTAssertEqual(try merger.merge(shardPath: "it's a ?odd=1#name%20.sqlite").duplicates, 3)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasPrefix("file:") })
        // A relative path that starts with `file:` is a name too, not a URI (`s.sqlite`), for
        // the checks before the merge as for the merge, and for a query.
        let uriLike = try IndexDatabase.openForWriting(path: "file:s.sqlite")
        try ingest(uriLike, [fixturesURL.appendingPathComponent("seed").path])
        let fresh = IndexMerger(destination: try makeIndex(dir, name: "dest2.sqlite"))
        XCTAssertEqual(try fresh.merge(shardPath: "file:s.sqlite").eventsAdded, 3)
        XCTAssertEqual(try count(try IndexDatabase.openForReading(path: "file:s.sqlite"), "SELECT count(*) FROM events"), 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/s.sqlite"))
    }

    /// A path read by the destination and, later and changed, by a shard: the shard's row wins,
    /// as a later ingest's would, and the next ingest into the destination finds the file
    /// unchanged. An earlier reading of the path does not replace a later one.
    func testTheLatestReadingOfAPathWinsInTheLedger() throws {
        let dir = try TempDir()
        let path = try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "first")])))
        let earlier = try makeIndex(dir, name: "earlier.sqlite")
        try ingest(earlier, [path])
        let dest = try makeIndex(dir, name: "dest.sqlite")
        try ingest(dest, [path])

        sleep(1)  // read_at has whole seconds
        try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "first"), kmsRecord(eventID: "second")])))
        let later = try makeIndex(dir, name: "later.sqlite")
        try ingest(later, [path])
        let newSize = try count(later, "SELECT size FROM source_files")

        let merger = IndexMerger(destination: dest)
        let result = try merger.merge(shardPath: later.path)
        XCTAssertEqual(result.filesAdded, 0)
        XCTAssertEqual(result.filesUpdated, 1)
        XCTAssertEqual(result.eventsAdded, 1)
        XCTAssertEqual(try count(dest, "SELECT size FROM source_files"), newSize)
        XCTAssertEqual(try count(dest, "SELECT events_added FROM source_files"), 1)

        let older = try merger.merge(shardPath: earlier.path)
        XCTAssertEqual(older.filesUpdated, 0)
        XCTAssertEqual(try count(dest, "SELECT size FROM source_files"), newSize)

        let (summary, _) = try ingest(dest, [path])
        XCTAssertEqual(summary.filesUnchanged, 1)
        XCTAssertEqual(summary.filesIngested, 0)
        XCTAssertEqual(try count(dest, "SELECT count(*) FROM events"), 2)
    }

    /// A reading of the same bytes without the content's hash (`--content-sha256`, or one an
    /// audit kept) does not erase it, whichever of the two is later; a reading of other bytes
    /// does.
    func testTheContentHashOfTheSameBytesSurvivesAMerge() throws {
        let dir = try TempDir()
        let path = try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "first")])))
        func index(_ name: String, hashing: Bool) throws -> IndexDatabase {
            let index = try makeIndex(dir, name: name)
            var options = IngestOptions(paths: [path])
            options.hashContent = hashing
            _ = try Ingester(database: index, options: options).run()
            return index
        }
        func hashes(_ index: IndexDatabase) throws -> Int { try count(index, "SELECT count(content_sha256) FROM source_files") }
        let hashedEarlier = try index("hashed-earlier.sqlite", hashing: true)
        let hashedDest = try index("hashed-dest.sqlite", hashing: true)
        sleep(1)  // read_at has whole seconds
        let plainLater = try index("plain-later.sqlite", hashing: false)
        let plainDest = try index("plain-dest.sqlite", hashing: false)
        XCTAssertEqual(try hashes(hashedDest), 1)
        XCTAssertEqual(try hashes(plainDest), 0)

        // The later reading replaces the row, the hash stays.
        let replaced = try IndexMerger(destination: hashedDest).merge(shardPath: plainLater.path)
        XCTAssertEqual(replaced.filesUpdated, 1)
        XCTAssertEqual(try hashes(hashedDest), 1)
        // The earlier reading's hash joins the later row.
        let kept = try IndexMerger(destination: plainDest).merge(shardPath: hashedEarlier.path)
        XCTAssertEqual(kept.filesUpdated, 0)
        XCTAssertEqual(try hashes(plainDest), 1)

        // Other bytes, read later: the hash of the old ones goes.
        sleep(1)
        try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "first"), kmsRecord(eventID: "second")])))
        let changed = try index("changed.sqlite", hashing: false)
        XCTAssertEqual(try IndexMerger(destination: hashedDest).merge(shardPath: changed.path).filesUpdated, 1)
        XCTAssertEqual(try hashes(hashedDest), 0)
    }
}
