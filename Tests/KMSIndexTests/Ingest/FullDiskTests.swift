import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// A disk that fills up under the index (here: SQLite's `max_page_count`, which fails a write
/// past it with the error a full disk gives) stops the run with an error that says so, keeps
/// what was committed, and the next run with room goes on to the index of a clean run.
final class FullDiskTests: XCTestCase {
    /// The page count of the index at `path`.
    func pages(_ index: IndexDatabase) throws -> Int {
        try index.queue.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
    }

    /// Caps the index's size at `pages` pages on its writing connection.
    func cap(_ index: IndexDatabase, at pages: Int) throws {
        try index.queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages)") }
    }

    func testAFullDiskStopsIngestKeepingWhatItCommittedAndTheNextRunGoesOn() throws {
        let dir = try TempDir()
        let tree = dir.path + "/tree"
        let truth = try Synth.generate(
            SynthOptions(seed: 31, accounts: 2, regions: ["us-east-1"], days: 1, filesPerDay: 48),
            into: URL(fileURLWithPath: tree))
        let clean = dir.path + "/clean.sqlite"
        let cleanPages = try {
            let index = try IndexDatabase.openForWriting(path: clean)
            try ingest(index, [tree])
            return try pages(index)
        }()

        // Room for about half of what the whole tree takes, beyond an empty index.
        let full = dir.path + "/full.sqlite"
        var stopped: IngestInterrupted?
        do {
            let index = try IndexDatabase.openForWriting(path: full)
            let empty = try pages(index)
            try cap(index, at: empty + (cleanPages - empty) / 2)
            var options = IngestOptions(paths: [tree])
            options.filesPerTransaction = 2
            XCTAssertThrowsError(try Ingester(database: index, options: options).run()) { stopped = $0 as? IngestInterrupted }
        }
        let committed = try XCTUnwrap(stopped?.committed)
        XCTAssertEqual((stopped?.error as? DatabaseError)?.resultCode, .SQLITE_FULL)
        XCTAssertGreaterThan(committed.filesIngested, 0)
        XCTAssertLessThan(committed.filesIngested, truth.logFiles)

        // The index holds exactly what the run said it kept.
        let reader = try IndexDatabase.openForReading(path: full)
        XCTAssertEqual(try count(reader, "SELECT count(*) FROM ledger_files"), committed.filesSeen)
        XCTAssertEqual(try count(reader, "SELECT count(*) FROM events"), committed.eventsAdded)
        XCTAssertEqual(try reader.queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }, "ok")

        // The error names the index and the reason.
        let message = try XCTUnwrap(StorageFailure.explain(stopped!.error, index: full))
        XCTAssertTrue(message.hasPrefix("the disk is full: no room to write \(full)"), message)
        XCTAssertTrue(message.contains("SQLite error 13"), message)

        // With room again, the next run reads only the files not kept, and ends where a clean run does.
        let (summary, _) = try ingest(try IndexDatabase.openForWriting(path: full), [tree])
        XCTAssertEqual(summary.filesFailed, 0)
        XCTAssertEqual(summary.filesIngested, truth.logFiles - committed.filesIngested)
        XCTAssertEqual(summary.eventsAdded, truth.kmsEvents - committed.eventsAdded)
        XCTAssertEqual(try indexContents(full), try indexContents(clean))
    }

    func testAFullDiskFailsTheShardsMergeNamingTheIndexAndLeavesItAsItWas() throws {
        let dir = try TempDir()
        let tree = dir.path + "/tree"
        _ = try Synth.generate(
            SynthOptions(seed: 32, accounts: 2, regions: ["us-east-1"], days: 1, filesPerDay: 24),
            into: URL(fileURLWithPath: tree))
        let accounts = try FileManager.default.contentsOfDirectory(atPath: tree + "/AWSLogs").sorted()
        let shard = dir.path + "/shard.sqlite"
        try ingest(try IndexDatabase.openForWriting(path: shard), [tree + "/AWSLogs/" + accounts[1]])
        let destination = dir.path + "/index.sqlite"
        let index = try IndexDatabase.openForWriting(path: destination)
        try ingest(index, [tree + "/AWSLogs/" + accounts[0]])
        let before = try indexContents(destination)

        try cap(index, at: try pages(index) + 2)
        let merger = IndexMerger(destination: index)
        XCTAssertThrowsError(try merger.merge(shardPath: shard)) { error in
            let failure = error as? MergeError
            XCTAssertEqual(failure?.shardPath, shard)
            XCTAssertTrue(failure?.reason.hasPrefix("the disk is full: no room to write \(destination)") == true, "\(error)")
        }
        XCTAssertEqual(try indexContents(destination), before)

        // A damaged shard is the shard's problem: only a full disk or a read-only file is told
        // as the index's.
        let corrupt = DatabaseError(resultCode: .SQLITE_CORRUPT, message: "database disk image is malformed")
        XCTAssertNil(StorageFailure.explain(corrupt, index: destination, onlyWrites: true))
        XCTAssertTrue(StorageFailure.explain(corrupt, index: destination)?.hasPrefix("\(destination) is damaged") == true)
        XCTAssertNil(StorageFailure.explain(DatabaseError(resultCode: .SQLITE_CONSTRAINT), index: destination))

        try cap(index, at: 1 << 30)
        let merged = try merger.merge(shardPath: shard)
        XCTAssertGreaterThan(merged.eventsAdded, 0)
        XCTAssertEqual(merged.duplicates, 0)
    }
}
