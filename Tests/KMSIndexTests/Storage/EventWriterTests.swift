import Foundation
import GRDB
import GRDBSQLite
import XCTest

@testable import KMSIndex

/// The writer's caches and the order it writes in.
final class EventWriterTests: XCTestCase {
    /// Principals that differ in any single field are separate rows, and the same principal
    /// seen again is not a new row.
    func testPrincipalsThatDifferInOneFieldAreSeparateRows() throws {
        // Unless told otherwise, all share principalId, accessKeyId and invokedBy.
        func identity(
            type: String = "AssumedRole", arn: String = "arn:aws:sts::111122223333:assumed-role/app/s1",
            account: String = "111122223333", accessKey: String = "ASIAEXAMPLE", userName: String? = nil,
            issuer: String = "arn:aws:iam::111122223333:role/app", sourceIdentity: String? = nil
        ) -> String {
            var session = #""sessionIssuer":{"type":"Role","arn":"\#(issuer)"}"#
            if let sourceIdentity { session += #","sourceIdentity":"\#(sourceIdentity)""# }
            var fields = [
                #""type":"\#(type)""#, #""principalId":"AROAEXAMPLE:s1""#, #""arn":"\#(arn)""#,
                #""accountId":"\#(account)""#, #""accessKeyId":"\#(accessKey)""#,
                #""invokedBy":"s3.amazonaws.com""#, #""sessionContext":{\#(session)}"#,
            ]
            if let userName { fields.append(#""userName":"\#(userName)""#) }
            return "{" + fields.joined(separator: ",") + "}"
        }
        let base = identity()
        let variants = [
            base,
            identity(type: "FederatedUser"),
            identity(arn: "arn:aws:sts::111122223333:assumed-role/app/s2"),  // another session name
            identity(account: "444455556666"),
            identity(accessKey: "ASIAOTHER"),
            identity(userName: "carol"),
            identity(issuer: "arn:aws:iam::111122223333:role/other"),
            identity(sourceIdentity: "dave"),
        ]
        var records = variants.map { kmsRecord(identity: $0) }
        // The same principal as the first, signed in from the console: differs only there.
        records.append("{\"sessionCredentialFromConsole\":\"true\"," + kmsRecord(identity: base).dropFirst())
        // The first principal again: found in the cache, no new row.
        records.append(kmsRecord(identity: base))

        let dir = try TempDir()
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        XCTAssertEqual(summary.eventsAdded, records.count)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM principals"), variants.count + 1)
        XCTAssertEqual(try count(index, "SELECT count(DISTINCT principal_id) FROM events"), variants.count + 1)
        let sessions = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT session_name FROM kms_events ORDER BY id")
        }
        XCTAssertEqual(sessions, ["s1", "s1", "s2", "s1", "s1", "s1", "s1", "s1", "s1", "s1"])
        XCTAssertEqual(
            try count(
                index,
                """
                SELECT count(*) FROM events a JOIN events b ON a.principal_id = b.principal_id
                WHERE a.id = 1 AND b.id = \(records.count)
                """), 1)
    }

    /// Into an empty index, new values are inserted without being looked up; into one that has
    /// rows, they are looked up first: a second run that names the same keys, objects,
    /// principals and context values adds events only.
    func testASecondRunReusesTheRowsOfTheFirst() throws {
        func records(_ n: Int) -> [String] {
            (0..<n).map { i in
                kmsRecord(
                    identity:
                        #"{"type":"IAMUser","principalId":"AIDA\#(i % 3)","arn":"arn:aws:iam::111122223333:user/u\#(i % 3)","accountId":"111122223333"}"#,
                    requestParameters:
                        #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket\#(i % 2)/key\#(i % 4).txt","dept":"d\#(i % 5)"}}"#,
                    userAgent: "agent-\(i % 2)")
            }
        }
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(unique: "first"), gzip(logFile(records(20))))])
        let tables = [
            "principals", "s3_objects", "s3_buckets", "kms_keys", "strings", "user_agents",
            "context_names", "context_values",
        ]
        let before = try tables.map { try count(index, "SELECT count(*) FROM \($0)") }
        XCTAssertEqual(before, [3, 4, 2, 1, 4, 2, 1, 5])
        let (summary, _) = try ingest(index, [try dir.write(logPath(unique: "second"), gzip(logFile(records(20))))])
        XCTAssertEqual(summary.eventsAdded, 20)
        XCTAssertEqual(try tables.map { try count(index, "SELECT count(*) FROM \($0)") }, before)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 40)
        XCTAssertEqual(try count(index, "SELECT count(DISTINCT object_arn) FROM kms_events"), 4)
    }

    /// Events are written in the order of their file: ids follow it, and of two records with
    /// the same eventID the first is kept.
    func testEventsAreWrittenInFileOrder() throws {
        let ids = (0..<50).map { String(format: "00000000-0000-0000-0000-%012d", 50 - $0) }
        var records = ids.map { kmsRecord(eventID: $0, eventName: "Decrypt") }
        records.insert(kmsRecord(eventID: ids[7], eventName: "Encrypt"), at: 30)

        let dir = try TempDir()
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        XCTAssertEqual(summary.eventsAdded, ids.count)
        XCTAssertEqual(summary.duplicates, 1)
        let stored = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_id, event_name FROM kms_events ORDER BY id")
        }
        XCTAssertEqual(stored.map { $0["event_id"] as String }, ids)
        XCTAssertEqual(Set(stored.map { $0["event_name"] as String }), ["Decrypt"])
    }

    /// eventIDs are checked in statements of 32, 16, 8, 4, 2 or 1: duplicates within a batch
    /// (before and after the first), across batches, of an earlier file, and three of one in a
    /// batch are each told apart, and the first one in file order is kept; a file of 7 events
    /// (4, 2 and 1) too.
    func testDuplicatesAreFoundWithinAndAcrossBatchesOfUIDs() throws {
        func id(_ n: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", n) }
        var first = (0..<100).map { (n: $0, name: "Decrypt") }
        for (position, n) in [(10, 5), (12, 5), (40, 40), (41, 40), (64, 70), (65, 99), (90, 30)] {
            first.insert((n, "Encrypt"), at: position)
        }
        let second = (90..<140).map { (n: $0, name: "Encrypt") } + [(120, "Decrypt"), (3, "Encrypt")]
        let third = [
            (200, "Decrypt"), (201, "Decrypt"), (200, "Encrypt"), (202, "Decrypt"), (203, "Decrypt"), (201, "Encrypt"), (204, "Decrypt"),
        ]

        // What must be kept: each id's first occurrence, in the order of first occurrences.
        var kept: [(n: Int, name: String)] = []
        var seen = Set<Int>()
        for record in first + second + third where seen.insert(record.n).inserted { kept.append(record) }

        let dir = try TempDir()
        let index = try makeIndex(dir)
        func file(_ records: [(n: Int, name: String)]) -> Data {
            gzip(logFile(records.map { kmsRecord(eventID: id($0.n), eventName: $0.name) }))
        }
        let (a, _) = try ingest(index, [try dir.write(logPath(unique: "first"), file(first))])
        XCTAssertEqual(a.eventsAdded, 100)
        XCTAssertEqual(a.duplicates, 7)
        let (b, _) = try ingest(index, [try dir.write(logPath(unique: "second"), file(second))])
        XCTAssertEqual(b.eventsAdded, 40)
        XCTAssertEqual(b.duplicates, 12)
        let (c, _) = try ingest(index, [try dir.write(logPath(unique: "third"), file(third))])
        XCTAssertEqual(c.eventsAdded, 5)
        XCTAssertEqual(c.duplicates, 2)
        let stored = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_id, event_name FROM kms_events ORDER BY id")
        }
        XCTAssertEqual(stored.map { $0["event_id"] as String }, kept.map { id($0.n) })
        XCTAssertEqual(stored.map { $0["event_name"] as String }, kept.map(\.name))
        XCTAssertEqual(try count(index, "SELECT count(*) FROM event_uids"), 145)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM event_uids u JOIN events e ON e.id = u.event_id"), 145)
    }

    /// Aliases are gathered per transaction: each (key, alias) gets the earliest and latest
    /// time of all its events, across files and ingests, and two
    /// spellings of one alias name that differ in bytes stay two aliases.
    func testAliasesKeepTheirFirstAndLastTimeAcrossEventsFilesAndIngests() throws {
        let nfc = "alias/caf\u{E9}", nfd = "alias/cafe\u{301}"
        func record(_ alias: String, _ time: String) -> String {
            kmsRecord(eventName: "Encrypt", eventTime: time, requestParameters: #"{"keyId":"\#(alias)"}"#)
        }
        var times = (0..<200).map { String(format: "2024-03-01T%02d:%02d:00Z", $0 / 60 % 24, $0 % 60) }
        var rng = SeededGenerator(state: 20_241_204)
        times.shuffle(using: &rng)
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let first = times.map { record("alias/app", $0) } + [record(nfc, "2024-03-02T00:00:00Z"), record(nfd, "2024-03-03T00:00:00Z")]
        _ = try ingest(index, [try dir.write(logPath(unique: "first"), gzip(logFile(first)))])
        let second = [record("alias/app", "2024-02-29T23:59:59Z"), record(nfc, "2024-03-04T00:00:00Z")]
        _ = try ingest(index, [try dir.write(logPath(unique: "second"), gzip(logFile(second)))])

        let rows = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT alias, first_seen, last_seen FROM kms_key_aliases ORDER BY first_seen")
        }
        XCTAssertEqual(
            rows.map { [$0["alias"] as String, $0["first_seen"] as String, $0["last_seen"] as String] },
            [
                ["alias/app", "2024-02-29T23:59:59Z", "2024-03-01T03:19:00Z"],
                [nfc, "2024-03-02T00:00:00Z", "2024-03-04T00:00:00Z"],
                [nfd, "2024-03-03T00:00:00Z", "2024-03-03T00:00:00Z"],
            ])
        XCTAssertTrue((rows[1]["alias"] as String).hasSameUTF8(as: nfc))
        XCTAssertTrue((rows[2]["alias"] as String).hasSameUTF8(as: nfd))
    }

    /// Times with a fraction of a second are compared as times, not as text (where `…:52.5Z`
    /// comes before `…:52Z`): within a run, across runs, and in a merge.
    func testAliasTimesWithFractionsKeepTheirOrder() throws {
        func record(_ time: String) -> String {
            kmsRecord(eventName: "Encrypt", eventTime: time, requestParameters: #"{"keyId":"alias/ct"}"#)
        }
        func seen(_ index: IndexDatabase) throws -> [String] {
            try index.queue.read { db in
                try Row.fetchAll(db, sql: "SELECT first_seen, last_seen FROM kms_key_aliases").flatMap {
                    [$0[0] as String, $0[1] as String]
                }
            }
        }
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let times = ["2015-11-11T21:20:52.5Z", "2015-11-11T21:20:52Z", "2015-11-11T21:20:52.9Z"]
        _ = try ingest(index, [try dir.write("a/" + logPath(unique: "a"), gzip(logFile(times.map(record))))])
        XCTAssertEqual(try seen(index), ["2015-11-11T21:20:52Z", "2015-11-11T21:20:52.9Z"])
        // A later run, one time inside and one outside each end.
        let more = ["2015-11-11T21:20:51.999Z", "2015-11-11T21:20:52.95Z", "2015-11-11T21:20:52.1Z"]
        _ = try ingest(index, [try dir.write("b/" + logPath(unique: "b"), gzip(logFile(more.map(record))))])
        XCTAssertEqual(try seen(index), ["2015-11-11T21:20:51.999Z", "2015-11-11T21:20:52.95Z"])
        // A shard whose times fall inside and past those ends.
        let shard = try makeIndex(dir, name: "shard.sqlite")
        let shardTimes = ["2015-11-11T21:20:52Z", "2015-11-11T21:20:53Z"]
        _ = try ingest(shard, [try dir.write("c/" + logPath(unique: "c"), gzip(logFile(shardTimes.map(record))))])
        _ = try IndexMerger(destination: index).merge(shardPath: shard.path)
        XCTAssertEqual(try seen(index), ["2015-11-11T21:20:51.999Z", "2015-11-11T21:20:53Z"])
    }

    /// Events rows are inserted many to a statement: every value lands in its own row and
    /// column, across full batches, the rows left over, and several files.
    func testBatchedEventRowsKeepEveryValueInPlace() throws {
        let names = ["Decrypt", "Encrypt", "GenerateDataKey", "ReEncrypt"]
        func record(_ i: Int) -> String {
            kmsRecord(
                eventID: String(format: "00000000-0000-4000-8000-%012d", i), eventName: names[i % names.count],
                eventTime: String(format: "2024-03-01T00:%02d:%02dZ", i / 60, i % 60),
                requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/k\#(i % 9)"}}"#,
                error: i % 5 == 0 ? ("AccessDenied", "denied \(i)") : nil, userAgent: "agent-\(i % 13)")
        }
        let perStatement = PendingRows<TestRow>.rowsPerStatement
        let counts = [3 * perStatement + 5, 7, perStatement]
        let dir = try TempDir()
        var paths: [String] = []
        var next = 0
        for (n, count) in counts.enumerated() {
            paths.append(try dir.write("b\(n)/" + logPath(), gzip(logFile((next..<next + count).map(record)))))
            next += count
        }
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, paths)
        XCTAssertEqual(summary.eventsAdded, next)
        let rows = try index.queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT event_id, event_name, event_time, object_key, error_code, error_message, user_agent, source_ip
                    FROM kms_events ORDER BY event_time_ms, id
                    """)
        }
        XCTAssertEqual(rows.count, next)
        for (i, row) in rows.enumerated() {
            XCTAssertEqual(row["event_id"], String(format: "00000000-0000-4000-8000-%012d", i))
            XCTAssertEqual(row["event_name"], names[i % names.count])
            XCTAssertEqual(row["event_time"], String(format: "2024-03-01T00:%02d:%02dZ", i / 60, i % 60))
            XCTAssertEqual(row["object_key"], "k\(i % 9)")
            XCTAssertEqual(row["error_code"] as String?, i % 5 == 0 ? "AccessDenied" : nil)
            XCTAssertEqual(row["error_message"] as String?, i % 5 == 0 ? "denied \(i)" : nil)
            XCTAssertEqual(row["user_agent"], "agent-\(i % 13)")
            XCTAssertEqual(row["source_ip"], "203.0.113.7")
        }
    }

    /// A large file's parts and its end go through the same draining writes, in order.
    func testPartsOfALargeFileAreWrittenInOrder() throws {
        let ids = (0..<10).map { String(format: "00000000-0000-0000-0000-%012d", 10 - $0) }
        let dir = try TempDir()
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [try dir.write(logPath(), gzip(logFile(ids.map { kmsRecord(eventID: $0) })))])
        options.eventsPerPart = 3
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.eventsAdded, ids.count)
        let stored = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM kms_events ORDER BY id") }
        XCTAssertEqual(stored, ids)
    }

    /// Every byte at every digit position: only `0-9a-f` make a UUID, read as its value.
    func testUUIDDigitsAreExactlyLowercaseHex() {
        let template = Array("0123abcd-4567-89ef-0a1b-2c3d4e5f6789".utf8)
        let hex = Array("0123456789abcdef".utf8)
        for position in template.indices where template[position] != UInt8(ascii: "-") {
            for byte in UInt8.min...UInt8.max where byte < 0x80 {
                var text = template
                text[position] = byte
                let bytes = EventUID.uuidBytes(String(decoding: text, as: UTF8.self))
                guard let digit = hex.firstIndex(of: byte) else {
                    XCTAssertNil(bytes, "byte \(byte) at \(position)")
                    continue
                }
                let nibble = position - template[..<position].filter { $0 == UInt8(ascii: "-") }.count
                guard let bytes else { return XCTFail("byte \(byte) at \(position) refused") }
                XCTAssertEqual(Int(nibble % 2 == 0 ? bytes[nibble / 2] >> 4 : bytes[nibble / 2] & 0x0F), digit)
            }
        }
        // Multi-byte characters never make a UUID (36 bytes, but not 36 hex digits and dashes).
        XCTAssertNil(EventUID.uuidBytes("0123abcd-4567-89ef-0a1b-2c3d4e5f67é"))
    }

    /// SQLite's global settings are applied before the first connection, or not at all: asked
    /// again once connections are open, SQLite refuses, and nothing else changes.
    func testSQLiteSettingsAppliedLateAreRefusedHarmlessly() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        XCTAssertFalse(SQLiteSetup.apply())
        // Whichever test opened the process's first connection: memory statistics are off (SQLite
        // counts nothing) exactly when the settings took effect, and on (counting the open
        // index's memory) when a connection opened elsewhere came first.
        XCTAssertEqual(sqlite3_memory_used() == 0, SQLiteSetup.applied, "memory used: \(sqlite3_memory_used())")
        let (summary, _) = try ingest(index, [try dir.write(logPath(), gzip(logFile([kmsRecord()])))])
        XCTAssertEqual(summary.eventsAdded, 1)
    }

    /// Texts that are equal as Swift Strings (canonically equivalent) but not in bytes are
    /// stored as CloudTrail wrote them, each event with its own spelling.
    func testTextsThatDifferOnlyInUnicodeNormalizationKeepTheirBytes() throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        func record(_ text: String) -> String {
            kmsRecord(
                identity:
                    #"{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"\#(text)"}"#,
                requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/\#(text)","note":"\#(text)"}}"#,
                userAgent: text)
        }
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let records = [record(composed), record(decomposed), record(composed)]
        _ = try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        let rows = try index.queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT user_agent, user_name, object_key,
                           (SELECT value FROM encryption_context c WHERE c.event_row = e.id AND c.name = 'note') AS note
                    FROM kms_events e ORDER BY id
                    """)
        }
        XCTAssertEqual(rows.count, 3)
        for (row, text) in zip(rows, [composed, decomposed, composed]) {
            for column in ["user_agent", "user_name", "object_key", "note"] {
                XCTAssertEqual((row[column] as String?).map { Array($0.utf8) }, Array(text.utf8), column)
            }
        }
    }

    /// Pending rows come out in order, whole statements first, then one by one; discarded
    /// rows are never written.
    func testPendingRowsAreWrittenInOrderAndDiscardedOnes() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a INTEGER, b TEXT)")
            var pending = try PendingRows<TestRow>(db)
            let n = 2 * PendingRows<TestRow>.rowsPerStatement + 5
            for i in 0..<n { try pending.append(TestRow(a: Int64(i), b: i % 3 == 0 ? nil : "b\(i)"), db) }
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), 0)
            try pending.flush(db)
            let rows = try Row.fetchAll(db, sql: "SELECT a, b FROM t ORDER BY rowid")
            XCTAssertEqual(rows.map { $0["a"] as Int64 }, (0..<Int64(n)).map { $0 })
            XCTAssertEqual(rows.map { $0["b"] as String? }, (0..<n).map { $0 % 3 == 0 ? nil : "b\($0)" })
            try pending.append(TestRow(a: -1, b: nil), db)
            pending.discard()
            try pending.flush(db)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), n)
            // More than it holds: written on the way, none lost.
            for i in 0..<PendingRows<TestRow>.rowsHeld + 1 { try pending.append(TestRow(a: Int64(1000 + i), b: nil), db) }
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), n + PendingRows<TestRow>.rowsHeld)
            try pending.flush(db)
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), n + PendingRows<TestRow>.rowsHeld + 1)
        }
    }
}

extension EventWriterTests {
    /// Values are not cleared between runs, so a run with a parameter left unbound is refused
    /// instead of reusing the last run's value.
    func testAStatementWithAParameterLeftUnboundIsRefused() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a INTEGER, b TEXT)")
            let statement = try db.makeStatement(sql: "INSERT INTO t (a, b) VALUES (?, ?)")
            var full = BoundStatement(statement)
            full.int(1)
            full.text("x")
            XCTAssertEqual(try full.execute(db), 1)
            var partial = BoundStatement(statement)
            partial.int(2)
            XCTAssertThrowsError(try partial.execute(db)) { error in
                XCTAssertEqual((error as? DatabaseError)?.resultCode, .SQLITE_MISUSE)
            }
            var tooMany = BoundStatement(statement)
            tooMany.int(3)
            tooMany.text("y")
            tooMany.int(4)
            XCTAssertThrowsError(try tooMany.execute(db))
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), 1)
            XCTAssertEqual(try String.fetchOne(db, sql: "SELECT b FROM t WHERE a = 1"), "x")
        }
    }
}

private struct TestRow: BoundRow {
    static let insertHead = "INSERT INTO t (a, b)"
    static let columnCount = 2
    var a: Int64
    var b: String?
    func bind(_ row: inout BoundStatement) {
        row.int(a)
        row.text(b)
    }
}
