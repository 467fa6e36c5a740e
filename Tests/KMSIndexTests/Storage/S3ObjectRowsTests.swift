import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// S3 locations are stored as a folder kept once and the rest of their key (schema 21), and
/// read back, found and merged as they were written.
final class S3ObjectRowsTests: XCTestCase {
    static let logFolder = "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/"
    static let logName = "111122223333_CloudTrail_us-west-2_20240301T0005Z_AbCdEfGh12345678.json.gz"

    /// (key, what the row keeps of it: nil when it keeps the whole key).
    static let cases: [(key: String, kept: String?)] = [
        (logFolder + logName, "0005Z_AbCdEfGh12345678.json.gz"),
        (logFolder + "111122223333_CloudTrail_us-west-2_20240301T0010Z_Other00000000000.json.gz", "0010Z_Other00000000000.json.gz"),
        // In a log folder, a name that does not start as a log file's: kept whole.
        (logFolder + "notes.txt", nil),
        // The folder's whole prefix, and nothing after it.
        (logFolder + "111122223333_CloudTrail_us-west-2_20240301T", ""),
        // Not a log folder (a month of 13 days' digits): the folder only.
        (
            "AWSLogs/111122223333/CloudTrail/us-west-2/2024/3/01/111122223333_CloudTrail_us-west-2_20240301T0005Z_x.json.gz",
            "111122223333_CloudTrail_us-west-2_20240301T0005Z_x.json.gz"
        ),
        ("lake/part-0001.parquet", "part-0001.parquet"),
        ("lake/", ""),
        ("no-folder.txt", nil),
        ("δ/ünïcode/名前.txt", "名前.txt"),
        // A quote and a NUL: still given back byte for byte.
        ("q/a\"b\u{0}c", "a\"b\u{0}c"),
    ]

    static func record(_ key: String) -> String {
        let arn = JSONText.quoted("arn:aws:s3:::bucket/" + key)
        return kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":\#(arn)}}"#)
    }

    private func write(_ dir: TempDir, _ cases: [Int], name: String) throws -> IndexDatabase {
        let index = try makeIndex(dir, name: name)
        let records = cases.map { Self.record(Self.cases[$0].key) }
        try ingest(index, [try dir.write("\(name)-logs/" + logPath(), gzip(logFile(records)))])
        return index
    }

    /// Key (as `s3_objects` shows it) → (what its row keeps, whether it names a folder).
    private func stored(_ index: IndexDatabase) throws -> [String: (name: String?, hasFolder: Bool)] {
        try index.queue.read { db in
            // As bytes: GRDB reads text up to a NUL.
            func text(_ value: DatabaseValue) -> String? { Data.fromDatabaseValue(value).map { String(decoding: $0, as: UTF8.self) } }
            var rows: [String: (String?, Bool)] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(o.key AS BLOB), CAST(r.name AS BLOB), r.folder_id IS NOT NULL
                    FROM s3_objects o JOIN s3_object_rows r ON r.id = o.id WHERE o.bucket_id IS NOT NULL AND o.key IS NOT NULL
                    """)
            {
                rows[text(row[0])!] = (text(row[1]), row[2])
            }
            return rows
        }
    }

    /// The locations of `index`, each checked against the key it was written from.
    private func readBack(_ index: IndexDatabase) throws -> [String: (name: String?, hasFolder: Bool)] {
        let rows = try stored(index)
        XCTAssertEqual(Set(rows.keys), Set(Self.cases.map(\.key)))
        return rows
    }

    func testAKeyReadsBackAsWrittenAndKeepsOnlyWhatItsFolderDoesNotGive() throws {
        let dir = try TempDir()
        let index = try write(dir, Array(Self.cases.indices), name: "index.sqlite")
        let rows = try readBack(index)
        for c in Self.cases {
            XCTAssertEqual(rows[c.key]?.name, c.kept ?? c.key, c.key)
            XCTAssertEqual(rows[c.key]?.hasFolder, c.kept != nil, c.key)
        }
        try index.queue.read { db in
            XCTAssertEqual(
                try String.fetchOne(db, sql: "SELECT name_prefix FROM s3_folders WHERE folder = ?", arguments: [Self.logFolder]),
                "111122223333_CloudTrail_us-west-2_20240301T")
            // Found by its key, as who-read and `sql` users find one.
            for c in Self.cases where !c.key.contains("\u{0}") {
                XCTAssertEqual(
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM s3_objects o WHERE \(S3ObjectSQL.keyIs)",
                        arguments: StatementArguments(S3ObjectSQL.key(c.key))), 1, c.key)
            }
        }
        // The same records again find every location: nothing added.
        let again = Self.cases.map { Self.record($0.key) }
        try ingest(index, [try dir.write("again/" + logPath(unique: "Again00000000000"), gzip(logFile(again)))])
        XCTAssertEqual(try stored(index).count, Self.cases.count)
    }

    /// The writer cuts a new key against its folder's row as stored: where an older kmsindex left
    /// the row without a name prefix, after the folder only.
    func testTheWriterCutsAgainstTheFolderRowAsStored() throws {
        let dir = try TempDir()
        let index = try write(dir, [0], name: "index.sqlite")
        // The log folder's row as an older kmsindex could have left it: no prefix, names whole.
        try index.queue.write { db in
            try db.execute(
                sql: """
                    UPDATE s3_object_rows SET name = (SELECT name_prefix FROM s3_folders WHERE id = folder_id) || name
                    WHERE folder_id = (SELECT id FROM s3_folders WHERE folder = ?)
                    """, arguments: [Self.logFolder])
            try db.execute(sql: "UPDATE s3_folders SET name_prefix = NULL WHERE folder = ?", arguments: [Self.logFolder])
        }
        let key = Self.cases[1].key
        try ingest(index, [try dir.write("more/" + logPath(unique: "More000000000000"), gzip(logFile([Self.record(key)])))])
        let rows = try stored(index)
        XCTAssertEqual(rows[key]?.name, String(key.dropFirst(Self.logFolder.count)))
        XCTAssertEqual(rows[key]?.hasFolder, true)
        XCTAssertEqual(rows[Self.cases[0].key]?.name, Self.logName)
    }

    /// `S3ObjectRows.cut` (the writer's) keeps of each key what `S3ObjectRows.insert` (merge's,
    /// the migration's) keeps, against a folder row with and without a name prefix.
    func testTheWritersCutIsTheSQLCut() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE s3_folders (id INTEGER PRIMARY KEY, folder TEXT, name_prefix TEXT);
                    CREATE TABLE s3_object_rows (id INTEGER PRIMARY KEY, kind TEXT, bucket_id INTEGER, folder_id INTEGER,
                                                 name TEXT, key_hash INTEGER);
                    """)
            for c in Self.cases {
                guard let folder = LedgerPath.s3Folder(of: c.key) else { continue }
                for prefix in [CloudTrailLogName.namePrefix(folder: folder), nil] {
                    try db.execute(sql: "DELETE FROM s3_folders; DELETE FROM s3_object_rows")
                    try db.execute(sql: "INSERT INTO s3_folders VALUES (7, ?, ?)", arguments: [folder, prefix])
                    try db.execute(
                        sql: S3ObjectRows.insert(kind: "'object'", bucketID: "1", key: "CAST(?1 AS TEXT)", keyHash: "0", folderID: "7"),
                        arguments: [Data(c.key.utf8)])
                    let row = try XCTUnwrap(try Row.fetchOne(db, sql: "SELECT folder_id, CAST(name AS BLOB) FROM s3_object_rows"))
                    let cut = S3ObjectRows.cut(c.key, folderID: 7, head: Array((folder + (prefix ?? "")).utf8))
                    XCTAssertEqual(row[0] as Int64?, cut.folderID, c.key)
                    XCTAssertEqual((row[1] as Data?).map { String(decoding: $0, as: UTF8.self) }, cut.name, c.key)
                }
            }
        }
    }

    /// Merged, a shard's locations are cut against the destination's folders, and read back as
    /// written; merged again, nothing is added.
    func testMergeKeepsEveryKey() throws {
        let dir = try TempDir()
        let destination = try write(dir, [1, 2, 5], name: "dest.sqlite")
        let shard = try write(dir, Array(Self.cases.indices), name: "shard.sqlite")
        // The destination's log folder as an older kmsindex could have left it: no prefix.
        try destination.queue.write { db in
            try db.execute(sql: "UPDATE s3_folders SET name_prefix = NULL WHERE folder = ?", arguments: [Self.logFolder])
            try db.execute(
                sql: """
                    UPDATE s3_object_rows SET name = ? || name
                    WHERE folder_id = (SELECT id FROM s3_folders WHERE folder = ?) AND name LIKE '0010Z%'
                    """, arguments: ["111122223333_CloudTrail_us-west-2_20240301T", Self.logFolder])
        }
        let merger = IndexMerger(destination: destination)
        XCTAssertEqual(try merger.merge(shardPath: shard.path).rowsAdded["s3_objects"], Self.cases.count - 3)
        let rows = try readBack(destination)
        // The shard's log file, cut by its prefix there, is kept whole after the folder here.
        XCTAssertEqual(rows[Self.logFolder + Self.logName]?.name, Self.logName)
        XCTAssertEqual(try merger.merge(shardPath: shard.path).rowsAdded["s3_objects"], 0)
        XCTAssertEqual(try stored(destination).count, Self.cases.count)
    }

    /// Migration 021 cuts the keys of an index of schema 20 as the writer cuts them, and the
    /// view gives every row back as it was.
    func testMigration21KeepsEveryLocation() throws {
        let dir = try TempDir()
        let queue = try indexBefore(migration: "021", at: dir.path + "/v20.sqlite")
        let keys = Self.cases.map(\.key) + [nil]
        try queue.write { db in
            try db.execute(sql: "INSERT INTO s3_buckets (id, arn, name) VALUES (1, 'arn:aws:s3:::bucket', 'bucket')")
            for (n, key) in keys.enumerated() {
                try db.execute(
                    // As bytes: GRDB binds text up to a NUL.
                    sql: "INSERT INTO s3_objects (id, kind, bucket_id, key, key_hash) VALUES (?, ?, 1, CAST(? AS TEXT), ?)",
                    arguments: [n + 1, key == nil ? "bucket" : "object", key.map { Data($0.utf8) }, key.map(StoredKeyHash.of)])
            }
        }
        let before = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, kind, bucket_id, hex(key), key_hash FROM s3_objects ORDER BY id")
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            XCTAssertEqual(try Row.fetchAll(db, sql: "SELECT id, kind, bucket_id, hex(key), key_hash FROM s3_objects ORDER BY id"), before)
            let kept = try Row.fetchAll(db, sql: "SELECT hex(name), folder_id IS NOT NULL FROM s3_object_rows ORDER BY id")
            for (n, c) in Self.cases.enumerated() {
                // The migration's folder is found with SQLite's rtrim, which stops at a NUL.
                let expected = c.key.contains("\u{0}") ? nil : c.kept
                XCTAssertEqual(kept[n][0] as String, (expected ?? c.key).utf8.map { String(format: "%02X", $0) }.joined(), c.key)
                XCTAssertEqual(kept[n][1] as Bool, expected != nil, c.key)
            }
        }
    }
}
