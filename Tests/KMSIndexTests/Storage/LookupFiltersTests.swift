import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// The filters of the ranges below the one new rows go in (schemas 28 and 30): they hold every
/// row of the ranges they say, whatever path added rows since; a value they do not hold is
/// added without a second row; and they are built again when missing.
final class LookupFiltersTests: XCTestCase {
    private func write(_ dir: TempDir, _ name: String, _ sessions: some Sequence<Int>) throws -> String {
        try dir.write("\(name)/" + logPath(), gzip(logFile(sessions.map(RecentRowsTests.record))))
    }

    /// An ingest that keeps a filter for tables of any size.
    @discardableResult
    private func ingest(_ index: IndexDatabase, _ paths: [String], minimumRows: Int = 1) throws -> IngestSummary {
        var options = IngestOptions(paths: paths)
        options.lookupFilterMinimumRows = minimumRows
        return try Ingester(database: index, options: options).run { _ in }
    }

    /// (rows, distinct values) of each table: equal when no value was added twice.
    private func rowsAndValues(_ index: IndexDatabase) throws -> [String: [Int]] {
        try index.queue.read { db in
            [
                "context_values": [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(DISTINCT value) FROM context_values") ?? -1,
                ],
                "principal_rows": [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM principal_rows") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(DISTINCT identity_hash) FROM principal_rows") ?? -1,
                ],
                "s3_folders": [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_folders") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT count(DISTINCT folder) FROM s3_folders") ?? -1,
                ],
            ]
        }
    }

    private func filtered(_ index: IndexDatabase) throws -> [String] {
        try index.queue.read { db in try String.fetchAll(db, sql: "SELECT table_name FROM lookup_filters ORDER BY 1") }
    }

    /// The range below which each stored filter holds every row.
    private func belowRanges(_ index: IndexDatabase) throws -> [String: Int64] {
        try index.queue.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT table_name, below_range FROM lookup_filters").map {
                    ($0[0] as String, $0[1] as Int64)
                })
        }
    }

    private func uncovered(_ index: IndexDatabase) throws -> [String: Int] {
        try index.queue.read { db in try LookupFilters.uncoveredRows(db) }
    }

    func testAFilterHoldsWhatWasInsertedAndLetsFewOthersThrough() throws {
        var random = SeededGenerator(state: 28)
        let inserted = (0..<20_000).map { _ in Int64(bitPattern: random.next()) }
        var filter = LookupFilter(capacity: inserted.count)
        for hash in inserted { filter.insert(hash) }
        XCTAssertEqual(inserted.filter { !filter.mayContain($0) }, [])
        let others = (0..<20_000).map { _ in Int64(bitPattern: random.next()) }
        let through = others.filter(filter.mayContain).count
        XCTAssertLessThan(through, 20_000 / 100, "about 0.4% expected")
        XCTAssertGreaterThan(through, 0)
        // Stored and read back: the same bits.
        let bytes = filter.bytes
        let read = bytes.withUnsafeBytes { LookupFilter(bytes: $0, hashCount: filter.hashCount) }
        XCTAssertEqual(read, filter)
        // What cannot be a filter is not read as one.
        XCTAssertNil(bytes.dropLast(3).withUnsafeBytes { LookupFilter(bytes: $0, hashCount: 4) })
        XCTAssertNil([UInt8]().withUnsafeBytes { LookupFilter(bytes: $0, hashCount: 4) })
        XCTAssertNil(bytes.withUnsafeBytes { LookupFilter(bytes: $0, hashCount: 0) })
        // Sized with history up to a bound, not past it.
        XCTAssertEqual(LookupFilter(capacity: 0).words.count, 1)
        XCTAssertEqual(LookupFilter(capacity: 1 << 40).words.count, LookupFilter.maximumWords)
    }

    /// Through every path that adds rows (an ingest into empty tables, a run that starts a
    /// range, a merge), the filters stored hold every row of the ranges they say; values
    /// already stored are found, never added again.
    func testFiltersHoldTheMainRangesAndNoValueIsAddedTwice() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        // Into empty tables: every row in the main range, a filter of each built at the end.
        try ingest(index, [try write(dir, "a", 1...30)])
        XCTAssertEqual(try filtered(index), RecentRows.tables.sorted())
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])

        // Old and new values: the old ones found through the filter's "maybe", the new ones
        // added in the recent range; the filters still hold (the main range did not change).
        XCTAssertEqual(try ingest(index, [try write(dir, "b", 25...40)]).eventsAdded, 16)
        XCTAssertEqual(try rowsAndValues(index).mapValues { $0[0] }, RecentRows.tables.reduce(into: [:]) { $0[$1] = 40 })
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0[0] != $0[1] }, [])
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])
        // The recent ones again, in a new run: found through the recent range's hashes.
        XCTAssertEqual(try ingest(index, [try write(dir, "b2", 30...40)]).eventsAdded, 11)
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0[0] != $0[1] || $0[0] != 40 }, [])

        // Range 1 of context_values full (5,000 more rows there): the next run adds to range 2,
        // and builds and stores the filter of the ranges below it, which holds range 1.
        try index.queue.write { db in
            try db.execute(
                sql: """
                    WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 5000)
                    INSERT INTO context_values (value_hash, value, recent) SELECT k, 'filler-' || k, 1 FROM n
                    """)
        }
        XCTAssertEqual(try ingest(index, [try write(dir, "c", 35...45)]).eventsAdded, 11)
        XCTAssertEqual(try belowRanges(index), ["context_values": 2, "principal_rows": 1, "s3_folders": 1])
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0[0] != $0[1] }, [])
        XCTAssertEqual(try rowsAndValues(index)["principal_rows"], [45, 45])
        XCTAssertEqual(
            try index.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE recent = 2") }, 5)

        // A shard as large as the index: merge adds its new rows to the range for new rows, which
        // no filter holds, so the filters stay.
        let shard = try makeIndex(dir, name: "shard.sqlite")
        try ingest(shard, [try write(dir, "s", 40...90)])
        _ = try IndexMerger(destination: index).merge(shardPath: shard.path)
        XCTAssertEqual(try belowRanges(index), ["context_values": 2, "principal_rows": 1, "s3_folders": 1])
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0[0] != $0[1] }, [])
        XCTAssertEqual(try rowsAndValues(index)["s3_folders"], [90, 90])
        try ingest(index, [try write(dir, "d", 1...95)])
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0[0] != $0[1] }, [])
        XCTAssertEqual(try rowsAndValues(index)["principal_rows"], [95, 95])
        // A merge into the main range (its table emptied) deletes the filter holding it.
        try index.queue.write { db in
            try db.execute(sql: "DELETE FROM event_context")
            try db.execute(sql: "DELETE FROM context_values")
        }
        _ = try IndexMerger(destination: index).merge(shardPath: shard.path)
        XCTAssertEqual(try belowRanges(index), ["principal_rows": 1, "s3_folders": 1])
        XCTAssertEqual(
            try index.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE recent = 0") }, 51)
        try index.queue.read { db in
            XCTAssertEqual(try WhoRead(db).answer(RecentRowsTests.object(40)).reads.count, 5)
        }
    }

    /// Values a run added to the recent range are found again in later transactions of the
    /// same run, after the cache dropped them: the recent range's hashes keep up with the run.
    func testValuesTheRunAddedAreFoundAfterTheCacheDropsThem() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", 1...30)])
        // One file, read in parts of 5 events in order, a transaction each: the caches of 4
        // ids start a generation after each, and have dropped 41-45 by their second visit.
        var options = IngestOptions(paths: [try write(dir, "b", Array(41...45) + Array(46...85) + Array(41...45))])
        options.eventsPerPart = 5
        options.eventsPerTransaction = 5
        options.idCacheLimit = 4
        options.lookupFilterMinimumRows = 1
        XCTAssertEqual(try Ingester(database: index, options: options).run { _ in }.eventsAdded, 50)
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0[0] != $0[1] || $0[0] != 75 }, [])
        XCTAssertEqual(
            try index.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE recent = 1") }, 45)
    }

    /// Past its limit, the set of the recent range's hashes is dropped, not grown: the values
    /// added after are found by a look-up of the range.
    func testRecentHashesPastTheirLimitAreDroppedAndTheRangeLookedUp() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", 1...30)])
        try index.queue.write { db in
            let dimensions = try EventDimensions(db: db)
            dimensions.ranges.recentHashLimit = 2
            let values = (1...6).map { "new-\($0)" }
            let first = try values.map(dimensions.contextValue)
            // Both generations of the caches dropped: the ids come from the index again.
            dimensions.bound(0, bytes: 0)
            dimensions.bound(0, bytes: 0)
            XCTAssertEqual(try values.map(dimensions.contextValue), first)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE recent = 1"), 6)
        }
    }

    /// The writer trusts a stored filter: a value it does not hold is added without a look-up
    /// in the main range. So a filter that lacks a row there shows as a second row (this is
    /// what deleting a filter with every change of the main range prevents).
    func testTheWriterAddsWhatTheFilterDoesNotHold() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", 1...3)])
        let empty = LookupFilter(capacity: 3)
        try index.queue.write { db in
            try db.execute(
                sql: "UPDATE lookup_filters SET bits = ? WHERE table_name = 'context_values'", arguments: [Data(empty.bytes)])
        }
        XCTAssertEqual(try uncovered(index)["context_values"], 3)
        try ingest(index, [try write(dir, "b", 3...4)])
        XCTAssertEqual(try rowsAndValues(index)["context_values"], [5, 4], "value-3 added again, in the recent range")
        XCTAssertEqual(try rowsAndValues(index)["principal_rows"], [4, 4])
    }

    /// A table emptied (as `prune` can) keeps its filter row; the run that fills it again adds
    /// to its main range, so it deletes that filter, and builds a new one at its end.
    func testARunAddingToAMainRangeReplacesItsFilter() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", 1...3)])
        try index.queue.write { db in
            try db.execute(sql: "DELETE FROM event_context")
            try db.execute(sql: "DELETE FROM context_values")
        }
        XCTAssertEqual(try filtered(index), RecentRows.tables.sorted())
        try ingest(index, [try write(dir, "b", 4...9)])
        XCTAssertEqual(try rowsAndValues(index)["context_values"], [6, 6])
        XCTAssertEqual(try index.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE recent = 0") }, 6)
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])
    }

    /// A filter stored by another scheme, or none, is not read: the main range is looked up,
    /// and the end of the ingest stores one of this scheme. Small tables get none.
    func testFiltersOfAnotherSchemeAreReplacedAndSmallTablesGetNone() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", 1...3)], minimumRows: 4)
        XCTAssertEqual(try filtered(index), [])
        try index.queue.write { db in
            try db.execute(
                sql: "INSERT INTO lookup_filters (table_name, scheme, hash_count, bits) VALUES ('principal_rows', 99, 4, zeroblob(64))")
            XCTAssertNil(try LookupFilters.load(db, "principal_rows"))
        }
        XCTAssertEqual(try ingest(index, [try write(dir, "b", 2...4)], minimumRows: 4).eventsAdded, 3)
        XCTAssertEqual(try rowsAndValues(index).values.filter { $0 != [4, 4] }, [])
        XCTAssertEqual(
            try index.queue.read { db in
                try Row.fetchAll(db, sql: "SELECT table_name, scheme FROM lookup_filters ORDER BY 1").map { "\($0[0]!) \($0[1]!)" }
            }, RecentRows.tables.sorted().map { "\($0) \(LookupFilter.scheme)" })
        XCTAssertEqual(try uncovered(index), ["context_values": 0, "principal_rows": 0, "s3_folders": 0])
    }

    /// Migration 030: a filter stored before holds the main range, and is read by a run that
    /// adds to range 1.
    func testMigration30KeepsAFilterOfTheMainRange() throws {
        let dir = try TempDir()
        let path = dir.path + "/v29.sqlite"
        let queue = try indexBefore(migration: "030", at: path)
        let filter = LookupFilter(capacity: 10)
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO lookup_filters (table_name, scheme, hash_count, bits) VALUES ('context_values', ?, ?, ?)",
                arguments: [LookupFilter.scheme, filter.hashCount, Data(filter.bytes)])
            try db.execute(sql: "INSERT INTO context_values (value_hash, value) VALUES (1, 'old')")
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            let stored = try LookupFilters.load(db, "context_values")
            XCTAssertEqual(stored?.filter, filter)
            XCTAssertEqual(stored?.belowRange, 1)
            XCTAssertEqual(try RecentRows.rangeForNewRows(db, "context_values"), 1)
        }
    }
}
