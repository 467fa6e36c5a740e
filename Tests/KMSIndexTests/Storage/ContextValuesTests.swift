import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Context values are found by a hash of their text and then their text (schema 24).
final class ContextValuesTests: XCTestCase {
    static let values = ["arn:aws:lambda:us-west-2:111122223333:function:resize", "tablé-ünïcode", "a\"quote", "{\"n\":1}"]

    static func record(_ value: String) -> String {
        kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/k","app":\#(JSONText.quoted(value))}}"#)
    }

    private func valueRows(_ queue: some DatabaseReader) throws -> [String] {
        try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, value_hash, hex(value) FROM context_values ORDER BY id").map(\.description)
        }
    }

    /// Migration 024 hashes the values of an index of schema 23 as the writer hashes them: the
    /// same values written again are found, none added.
    func testMigration24HashesValuesAsTheWriterDoes() throws {
        let dir = try TempDir()
        let path = dir.path + "/v23.sqlite"
        let queue = try indexBefore(migration: "024", at: path)
        // A NUL too, bound as bytes: GRDB binds text up to a NUL.
        let stored = Self.values + ["nul\u{0}inside"]
        try queue.write { db in
            try db.execute(sql: "PRAGMA application_id = \(IndexDatabase.applicationID)")
            for (k, value) in stored.enumerated() {
                try db.execute(
                    sql: "INSERT INTO context_values (id, value) VALUES (?, CAST(? AS TEXT))", arguments: [k + 1, Data(value.utf8)])
            }
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            let hashes = try Int64.fetchAll(db, sql: "SELECT value_hash FROM context_values ORDER BY id")
            XCTAssertEqual(hashes, stored.map(PrincipalIdentity.textHash))
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'context_values'"),
                ["context_values_hash"])
        }
        let before = try valueRows(queue)
        try queue.close()

        let index = try IndexDatabase.openForWriting(path: path, lockTimeout: nil)
        let (summary, _) = try ingest(index, [try dir.write("logs/" + logPath(), gzip(logFile(Self.values.map(Self.record))))])
        XCTAssertEqual(summary.eventsAdded, Self.values.count)
        XCTAssertEqual(try valueRows(index.queue), before, "every value found by its hash, none added")
    }

    /// A shard's values are found in the destination by hash and text; merged twice, none is
    /// added the second time.
    func testMergeAddsOnlyTheValuesTheDestinationLacks() throws {
        let dir = try TempDir()
        let destination = try makeIndex(dir, name: "dest.sqlite")
        try ingest(destination, [try dir.write("d/" + logPath(), gzip(logFile([Self.record(Self.values[1])])))])
        let shard = try makeIndex(dir, name: "shard.sqlite")
        try ingest(shard, [try dir.write("s/" + logPath(), gzip(logFile(Self.values.map(Self.record))))])
        let merger = IndexMerger(destination: destination)
        XCTAssertEqual(try merger.merge(shardPath: shard.path).rowsAdded["context_values"], Self.values.count - 1)
        XCTAssertEqual(try merger.merge(shardPath: shard.path).rowsAdded["context_values"], 0)
        try destination.queue.read { db in
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT value FROM context_values ORDER BY value"),
                Self.values.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM context_values WHERE value_hash != text_hash(CAST(value AS BLOB))"), 0)
        }
    }
}
