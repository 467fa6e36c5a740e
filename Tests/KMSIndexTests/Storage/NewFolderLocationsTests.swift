import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// An S3 location in a folder the run itself added is stored without a look-up: no location
/// in that folder can be stored yet. Never a second row for one location, whether the folder
/// was deleted by `prune` under a location stored uncut, or the cache of locations dropped
/// the run's own.
final class NewFolderLocationsTests: XCTestCase {
    private func record(_ object: String) -> String {
        kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/\#(object)"}}"#)
    }

    private func write(_ dir: TempDir, _ name: String, _ objects: [String], unique: String = "AbCdEfGh12345678") throws -> String {
        try dir.write("\(name)/" + logPath(unique: unique), gzip(logFile(objects.map(record))))
    }

    /// Rows of each location: one each when none was added twice.
    private func rowsPerLocation(_ index: IndexDatabase) throws -> [String: Int] {
        try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT key, count(*) FROM s3_objects GROUP BY key").reduce(into: [:]) { $0[$1[0]] = $1[1] }
        }
    }

    /// A key of a CloudTrail log folder whose name is not a log file's is stored whole, and its
    /// folder row is named by no location: `prune` deletes such a row. The folder then comes
    /// back as new to the run that meets the key again, and the key is still found.
    func testALocationStoredWholeIsFoundWhenItsFolderComesBack() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let folder = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/"
        try ingest(index, [try write(dir, "a", [folder + "notes.txt"])])
        try index.queue.write { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_object_rows WHERE folder_id IS NULL"), 1)
            try db.execute(sql: "DELETE FROM s3_folders WHERE id NOT IN (SELECT folder_id FROM s3_object_rows WHERE folder_id IS NOT NULL)")
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_folders"), 0)
        }
        // The same key, and a log file of that folder, new: stored cut, without a look-up.
        let logFile = folder + "111122223333_CloudTrail_us-east-1_20240102T0000Z_x.json.gz"
        try ingest(index, [try write(dir, "b", [folder + "notes.txt", logFile, logFile])])
        XCTAssertEqual(try rowsPerLocation(index), [folder + "notes.txt": 1, logFile: 1])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_object_rows WHERE folder_id IS NOT NULL AND name = '0000Z_x.json.gz'"), 1)
    }

    /// The locations a run stored in a folder it added are found again after the cache of
    /// locations dropped them, in later transactions of the same run.
    func testLocationsOfANewFolderAreFoundAfterTheCacheDropsThem() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, "a", ["old/part-0"])])
        let lake = (1...5).map { "lake/part-\($0)" }
        let others = (1...40).map { "other-\($0)/part" }
        // One file, read in parts of 5 events in order, a transaction each: the cache of 4
        // ids starts a generation after each, and has dropped the lake's by its second visit.
        var options = IngestOptions(paths: [try write(dir, "b", lake + others + lake)])
        options.eventsPerPart = 5
        options.eventsPerTransaction = 5
        options.idCacheLimit = 4
        let summary = try Ingester(database: index, options: options).run { _ in }
        XCTAssertEqual(summary.eventsAdded, 50)
        let rows = try rowsPerLocation(index)
        XCTAssertEqual(rows.count, 46)
        XCTAssertEqual(rows.filter { $0.value != 1 }, [:])
    }
}
