import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Schema 4 stores times, addresses, strings, eventIDs and S3 locations compactly; the views
/// must give back exactly what CloudTrail wrote.
final class CompactSchemaTests: XCTestCase {
    func testTimesAreMillisecondsAndPrintBackAsWritten() {
        XCTAssertEqual(StoredTime.milliseconds("2015-11-11T21:20:52Z"), 1_447_276_852_000)
        XCTAssertEqual(StoredTime.milliseconds("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(StoredTime.milliseconds("2015-11-11T21:20:52.12Z"), 1_447_276_852_120)
        XCTAssertEqual(StoredTime.milliseconds("2015-11-11T21:20:52.123456Z"), 1_447_276_852_123)
        XCTAssertEqual(StoredTime.milliseconds("2024-02-29T23:59:59Z"), 1_709_251_199_000)
        for bad in [
            "", "2015-11-11", "2015-11-11T21:20:52", "2015-11-11 21:20:52Z", "2015-13-11T21:20:52Z",
            "2015-11-11T21:20:52.Z", "2015-11-11T21:20:5xZ", "x015-11-11T21:20:52Z",
        ] {
            XCTAssertNil(StoredTime.milliseconds(bad), bad)
        }
        for text in [
            "2015-11-11T21:20:52Z", "2015-11-11T21:20:52.12Z", "2015-11-11T21:20:52.001Z",
            "1999-12-31T23:59:59.5Z", "2038-01-19T03:14:08Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
        ] {
            XCTAssertEqual(StoredTime.milliseconds(text).map(StoredTime.text), text)
        }
    }

    func testTimesPrintDigitByDigitAsThePaddedPartsDid() {
        var rng = SeededGenerator(state: 20_241_204)
        let year0: Int64 = -62_167_219_200_000  // 0000-01-01T00:00:00Z
        let year10000: Int64 = 253_402_300_800_000
        var samples: [Int64] = [0, 1, 10, 100, 120, 999, 1000, year0, year10000 - 1, year0 - 1, year10000, -1]
        for _ in 0..<20_000 { samples.append(Int64.random(in: (year0 - 86_400_000_000)...(year10000 + 86_400_000_000), using: &rng)) }
        for _ in 0..<2_000 { samples.append(Int64.random(in: 0...2_000_000_000, using: &rng) * 1000) }
        for ms in samples {
            XCTAssertEqual(StoredTime.text(ms), StoredTime.paddedText(ms), "\(ms)")
        }
        XCTAssertEqual(StoredTime.text(year10000 - 1), "9999-12-31T23:59:59.999Z")
        XCTAssertEqual(StoredTime.text(1_447_276_852_120), "2015-11-11T21:20:52.12Z")
    }

    /// A time an offset shifts out of 0000-9999 cannot be stored: the record is rejected as
    /// malformed, reported, and the file's other events are indexed.
    func testATimeOutsideTheStorableYearsIsAMalformedRecord() throws {
        XCTAssertNil(EventTime.normalize("0000-01-01T00:00:00+05:00"))
        XCTAssertNil(EventTime.normalize("9999-12-31T23:00:00-05:00"))
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let records = [kmsRecord(eventTime: "0000-01-01T00:00:00+05:00"), kmsRecord(), kmsRecord()]
        let (summary, diagnostics) = try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        XCTAssertEqual(summary.malformedRecords, 1)
        XCTAssertEqual(summary.eventsAdded, 2)
        guard case .malformedRecords(_, 1, _)? = diagnostics.first else { return XCTFail("\(diagnostics)") }
    }

    func testOnlyCanonicalIPv4AddressesArePacked() {
        XCTAssertEqual(StoredAddress.ipv4("203.0.113.7"), 0xCB00_7107)
        XCTAssertEqual(StoredAddress.ipv4("0.0.0.0"), 0)
        XCTAssertEqual(StoredAddress.ipv4("255.255.255.255"), 0xFFFF_FFFF)
        for text in [
            "01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..3.4", "1.2.3.4 ", "::1",
            "2001:db8::1", "kms.amazonaws.com", "AWS Internal", "", "1.2.3.-4",
        ] {
            XCTAssertNil(StoredAddress.ipv4(text), text)
        }
    }

    /// Source addresses, fractional times and uncommon S3 ARNs round-trip through the views,
    /// and a fraction of a second sorts after the whole second.
    func testViewsShowWhatCloudTrailWrote() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let cn = "arn:aws-cn:s3:::cn-bucket/a.txt"
        let cases: [(ip: String, time: String, object: String)] = [
            ("203.0.113.7", "2024-03-01T00:00:05.12Z", "arn:aws:s3:::bucket/key.txt"),
            ("2001:db8::1", "2024-03-01T00:00:05Z", "arn:aws:s3:::bucket/key.txt"),
            ("kms.amazonaws.com", "2024-03-01T00:00:04.999Z", "arn:aws:s3:::bucket/key.txt"),
            ("010.0.0.1", "2024-03-01T00:00:06Z", cn),
            ("1.2.3.4", "2024-03-01T00:00:07Z", "arn:aws:s3:::bucket/dir/"),
            ("1.2.3.4", "2024-03-01T00:00:08Z", "arn:aws:s3:::bucket"),
            ("1.2.3.4", "2024-03-01T00:00:09Z", "not an arn/with a slash"),
        ]
        let records = cases.map { c in
            kmsRecord(eventTime: c.time, requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(c.object)"}}"#)
                .replacingOccurrences(of: "203.0.113.7", with: c.ip)
        }
        let path = try dir.write(logPath(), gzip(logFile(records)))
        _ = try ingest(index, [path])

        let rows = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT source_ip, event_time, object_arn FROM kms_events ORDER BY id")
        }
        XCTAssertEqual(rows.map { $0["source_ip"] as String }, cases.map(\.ip))
        XCTAssertEqual(rows.map { $0["event_time"] as String }, cases.map(\.time))
        XCTAssertEqual(rows.map { $0["object_arn"] as String }, cases.map(\.object))
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events WHERE typeof(source_ip) = 'integer'"), 4)
        // A name is an id in strings (schema 15); an IPv6 address and a non-canonical IPv4 stay text.
        XCTAssertEqual(
            try count(
                index,
                """
                SELECT count(*) FROM events e JOIN strings s ON s.id = e.source_sid
                WHERE e.source_ip IS NULL AND s.text = 'kms.amazonaws.com'
                """), 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events WHERE typeof(source_ip) = 'text' AND source_sid IS NULL"), 2)
        XCTAssertTrue(StoredAddress.isName("AWS Internal"))
        XCTAssertTrue(StoredAddress.isName("s3.amazonaws.com"))
        XCTAssertFalse(StoredAddress.isName("2001:db8::1"))
        XCTAssertFalse(StoredAddress.isName("010.0.0.1"))
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_buckets"), 2)
        let kinds = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT arn, kind, bucket, key, name FROM s3_locations ORDER BY id")
        }
        XCTAssertEqual(
            kinds.map { [$0["kind"], $0["bucket"], $0["key"], $0["name"]] as [String?] },
            [
                ["object", "bucket", "key.txt", "key.txt"],
                ["object", "cn-bucket", "a.txt", "a.txt"],
                ["prefix", "bucket", "dir/", nil],
                ["bucket", "bucket", nil, nil],
                ["unparsed", nil, nil, nil],
            ])

        // who-read finds each object by its ARN, and orders reads by time with fractions.
        guard case .object(_, let reads, _, _) = try whoRead(index, "arn:aws:s3:::bucket/key.txt") else {
            return XCTFail("key.txt not found")
        }
        XCTAssertEqual(reads.map(\.eventTime), ["2024-03-01T00:00:04.999Z", "2024-03-01T00:00:05Z", "2024-03-01T00:00:05.12Z"])
        for object in [cn, "s3://cn-bucket/a.txt", "arn:aws:s3:::bucket/dir/", "not an arn/with a slash"] {
            guard case .object(let found, let reads, _, _) = try whoRead(index, object) else {
                return XCTFail("\(object) not found")
            }
            XCTAssertEqual(reads.count, 1, object)
            XCTAssertEqual(found.arn, object.hasPrefix("s3://") ? cn : object)
        }
    }

    /// who-read reads the tables directly; it must show every event as the kms_events view does.
    func testWhoReadShowsEventsAsTheViewDoes() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let object = #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/key.txt"}}"#
        let records = [
            kmsRecord(eventID: "not-a-uuid", eventTime: "2024-03-01T00:00:01.5Z", requestParameters: object),
            kmsRecord(eventTime: "2024-03-01T00:00:01Z", requestParameters: object, error: ("AccessDenied", "no \u{1b}[2J")),
            kmsRecord(eventName: "GenerateDataKey", eventTime: "2024-03-01T00:00:00Z", requestParameters: object)
                .replacingOccurrences(of: "203.0.113.7", with: "s3.amazonaws.com"),
            kmsRecord(eventTime: "2024-03-01T00:00:02Z", requestParameters: object, resources: nil)
                .replacingOccurrences(of: "203.0.113.7", with: "2001:db8::7"),
            kmsRecord(
                eventTime: "2024-03-01T00:00:02Z", identity: #"{"type":"AWSService","invokedBy":"s3.amazonaws.com"}"#,
                requestParameters: object),
        ]
        _ = try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        guard case .object(_, let reads, let writes, _) = try whoRead(index, "s3://bucket/key.txt") else {
            return XCTFail("object not found")
        }
        let viewed = try index.queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(EventRow.selectColumns) FROM kms_events WHERE object_id IS NOT NULL
                    ORDER BY event_time_ms, event_id
                    """
            ).map(EventRow.init)
        }
        XCTAssertEqual(reads, viewed.filter { $0.eventName == "Decrypt" })
        XCTAssertEqual(writes, viewed.filter { $0.eventName != "Decrypt" })
        XCTAssertEqual(reads.count, 4)
        XCTAssertEqual(reads.compactMap(\.sourceIP).sorted(), ["2001:db8::7", "203.0.113.7", "203.0.113.7", "203.0.113.7"])
        XCTAssertEqual(reads.prefix(2).map(\.eventTime), ["2024-03-01T00:00:01Z", "2024-03-01T00:00:01.5Z"])
        XCTAssertEqual(reads[1].eventID, "not-a-uuid")
        XCTAssertEqual(writes.map(\.sourceIP), ["s3.amazonaws.com"])
    }

    func testOnlyCanonicalLowercaseUUIDsAreStoredAsBytes() {
        XCTAssertEqual(
            EventUID.uuidBytes("00112233-4455-6677-8899-aabbccddeeff"),
            [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF])
        for text in [
            "00112233-4455-6677-8899-AABBCCDDEEFF", "00112233-4455-6677-8899-aabbccddeef", "001122334-455-6677-8899-aabbccddeeff",
            "00112233-4455-6677-8899-aabbccddeeffa", "00112233-4455-6677-8899-aabbccddeefg", "",
        ] {
            XCTAssertNil(EventUID.uuidBytes(text), text)
        }
    }

    /// The folder's FNV-1a (32-bit; 0x811C9DC5 of no bytes) in the high bits, the name's in the
    /// low bits; the keys of one folder share the high bits, so they are neighbours in the index.
    func testKeyHashIsTheFolderThenTheNameFNV1a() {
        func expected(folder: UInt32, name: UInt32) -> Int64 { Int64(folder >> 12) << 27 | Int64(name >> 5) }
        XCTAssertEqual(StoredKeyHash.of(""), expected(folder: 0x811C_9DC5, name: 0x811C_9DC5))
        XCTAssertEqual(StoredKeyHash.of("a"), expected(folder: 0x811C_9DC5, name: 0xE40C_292C))
        XCTAssertEqual(StoredKeyHash.of("foobar"), expected(folder: 0x811C_9DC5, name: 0xBF9C_F968))
        let folderA = Array("a/".utf8).withUnsafeBufferPointer { StoredKeyHash.fnv1a32($0[...]) }
        XCTAssertEqual(StoredKeyHash.of("a/"), expected(folder: folderA, name: 0x811C_9DC5))
        XCTAssertEqual(StoredKeyHash.of("x/foobar") & (1 << 27 - 1), StoredKeyHash.of("foobar") & (1 << 27 - 1))
        let day = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/"
        let hashes = (0..<300).map { StoredKeyHash.of(day + "111122223333_CloudTrail_us-east-1_20240301T\($0)Z_x.json.gz") }
        XCTAssertEqual(Set(hashes.map { $0 >> 27 }).count, 1, "one folder, one range of the index")
        XCTAssertEqual(Set(hashes).count, 300)
        XCTAssertNotEqual(StoredKeyHash.of("AWSLogs/2024/03/02/a") >> 27, StoredKeyHash.of("AWSLogs/2024/03/01/a") >> 27)
        for key in hashes + [StoredKeyHash.of("é/ü"), StoredKeyHash.of(String(repeating: "/", count: 9))] {
            XCTAssertTrue((0..<(1 << 47)).contains(key), "6 bytes in SQLite: \(key)")
        }
    }

    /// Whole keys are found through the index by folder, ends of keys by a scan; both exactly
    /// (case, LIKE wildcards), and keys that share their ending stay apart.
    func testKeyLookupsFindExactlyTheNamedObjects() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let keys =
            [
                "AWSLogs/1/CloudTrail/r/2024/03/01/1_CloudTrail_r_20240301T0005Z_AbCdEfGh12345678.json.gz",
                "other/1_CloudTrail_r_20240301T0005Z_AbCdEfGh12345678.json.gz", "x.gz", "dir/x.gz", "dir/y_%.gz",
                "dir/X.gz",
            ] + (0..<50).map { "day=\($0)/part-00000.snappy.parquet" }
        let records = keys.map { kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/\#($0)"}}"#) }
        _ = try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        func arns(_ query: String) throws -> [String] {
            switch try whoRead(index, query) {
            case .object(let o, _, _, _): return [o.arn]
            case .ambiguous(let candidates): return candidates
            case .unknown: return []
            }
        }
        XCTAssertEqual(try arns("AbCdEfGh12345678.json.gz").count, 0, "not a whole file name")
        XCTAssertEqual(
            try arns("1_CloudTrail_r_20240301T0005Z_AbCdEfGh12345678.json.gz"),
            ["arn:aws:s3:::b/" + keys[0], "arn:aws:s3:::b/" + keys[1]])
        XCTAssertEqual(try arns("01/1_CloudTrail_r_20240301T0005Z_AbCdEfGh12345678.json.gz"), ["arn:aws:s3:::b/" + keys[0]])
        XCTAssertEqual(try arns("x.gz"), ["arn:aws:s3:::b/dir/x.gz", "arn:aws:s3:::b/x.gz"])
        XCTAssertEqual(try arns("X.gz"), ["arn:aws:s3:::b/dir/X.gz"])
        XCTAssertEqual(try arns("s3://b/day=7/part-00000.snappy.parquet"), ["arn:aws:s3:::b/day=7/part-00000.snappy.parquet"])
        XCTAssertEqual(try arns("arn:aws:s3:::b/day=49/part-00000.snappy.parquet"), ["arn:aws:s3:::b/day=49/part-00000.snappy.parquet"])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_objects"), keys.count)
        XCTAssertEqual(try arns("b/x.gz"), ["arn:aws:s3:::b/x.gz"])
        XCTAssertEqual(try arns("y_%.gz"), ["arn:aws:s3:::b/dir/y_%.gz"])
        XCTAssertEqual(try arns("y__.gz"), [], "LIKE wildcards in the query are taken literally")
        let plan = try index.queue.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT o.id FROM s3_objects o WHERE \(S3ObjectSQL.keyIs)",
                arguments: StatementArguments(S3ObjectSQL.key(keys[0]))
            ).map { $0["detail"] as String }
        }
        XCTAssertTrue(plan.contains { $0.contains("s3_object_rows_folder_hash (folder_id=? AND key_hash=?)") }, "\(plan)")
        // No table read whole: the only scans are of the list of the folder index's ranges.
        XCTAssertEqual(plan.filter { $0.hasPrefix("SCAN") && !["SCAN CONSTANT ROW", "SCAN ranges"].contains($0) }, [], "\(plan)")
        // The README's lookups: through the key's folder in plain SQL (sqlite3, Datasette), and
        // with key_hash(), which `kmsindex sql` knows, as well.
        let reader = try ReadOnlySQL.open(path: index.path)
        let byFolder = """
            SELECT o.id FROM s3_objects o JOIN s3_object_rows r ON r.id = o.id
            WHERE (r.folder_id = (SELECT id FROM s3_folders
                                  WHERE recent IN (SELECT recent FROM index_ranges WHERE table_name = 's3_folders')
                                    AND folder = rtrim(:key, replace(:key, '/', '')))
                   OR r.folder_id IS NULL) AND o.key = :key
            """
        for (sql, wanted) in [
            (byFolder, "SEARCH r USING COVERING INDEX s3_object_rows_folder_hash (folder_id=?)"),
            (byFolder + " AND r.key_hash = key_hash(:key)", "s3_object_rows_folder_hash (folder_id=? AND key_hash=?)"),
        ] {
            for key in [keys[0], keys[1], keys[2], keys[7], "dir/nowhere.gz", "nowhere"] {
                let found = try reader.read { db in
                    try ReadOnlySQL.run(db, sql: "SELECT count(*) FROM (\(sql))", parameters: ["key": key])
                }
                XCTAssertEqual(found.rows, [[keys.contains(key) ? "1" : "0"]], key)
            }
            let explained = try reader.read { db in
                try ReadOnlySQL.run(db, sql: "EXPLAIN QUERY PLAN " + sql, parameters: ["key": keys[7]])
            }
            let details = explained.rows.map { $0.last.map { $0 ?? "" } ?? "" }
            XCTAssertTrue(details.contains { $0.contains(wanted) }, "\(details)")
            // No table read whole: the only scans are of the list of the folder index's ranges.
            XCTAssertEqual(details.filter { $0.hasPrefix("SCAN") && !["SCAN CONSTANT ROW", "SCAN ranges"].contains($0) }, [], "\(details)")
        }
    }

    /// An index written by schema 3 is converted by migration 004 with nothing lost.
    func testMigrationFromSchema3KeepsEveryValue() throws {
        let dir = try TempDir()
        let path = dir.path + "/v3.sqlite"
        let queue = try indexBefore(migration: "004", at: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    PRAGMA application_id = \(IndexDatabase.applicationID);
                    INSERT INTO source_files (id, path, size, mtime_ns, outcome, read_at) VALUES (1, '/logs/a.json.gz', 1, 1, 'ingested', 'now');
                    INSERT INTO kms_keys (id, arn) VALUES (1, 'arn:aws:kms:us-west-2:111122223333:key/k1');
                    INSERT INTO principals (id, identity, type, arn) VALUES (1, 'p', 'IAMUser', 'arn:aws:iam::111122223333:user/alice');
                    INSERT INTO trails (id, arn) VALUES (1, 'arn:aws:cloudtrail:us-west-2:111122223333:trail/t');
                    INSERT INTO user_agents (id, text) VALUES (1, 'aws-cli/2');
                    INSERT INTO context_names (id, name) VALUES (1, 'aws:lambda:FunctionArn');
                    INSERT INTO s3_objects (id, arn, kind, bucket, key, name) VALUES
                        (1, 'arn:aws:s3:::b/AWSLogs/x.json.gz', 'object', 'b', 'AWSLogs/x.json.gz', 'x.json.gz'),
                        (2, 'arn:aws-cn:s3:::b/k', 'object', 'b', 'k', 'k'),
                        (3, 'arn:aws:s3:::b', 'bucket', 'b', NULL, NULL),
                        (4, 'arn:aws:s3:::b/AWSLogs/', 'prefix', 'b', 'AWSLogs/', NULL),
                        (5, 'garbage', 'unparsed', NULL, NULL, NULL);
                    INSERT INTO events (id, event_uid, event_time, event_name, aws_region, recipient_account_id, key_id,
                                        requested_key, principal_id, object_id, trail_id, source_ip, user_agent_id,
                                        error_code, error_message, request_uid, shared_event_id, read_only, event_type, source_file_id) VALUES
                        (1, x'0123456789abcdef0123456789abcdef', '2024-03-01T00:00:05.12Z', 'Decrypt', 'us-west-2', '111122223333', 1,
                         'alias/a', 1, 1, 1, '203.0.113.7', 1, 'AccessDenied', 'no', x'00112233445566778899aabbccddeeff',
                         '3a5c9e1f-0000-4000-8000-000000000001', 1, 'AwsApiCall', 1),
                        (2, 'not-a-uuid', '2024-03-01T00:00:05Z', 'GenerateDataKey', NULL, NULL, NULL,
                         NULL, NULL, 2, NULL, '010.1.1.1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1),
                        (3, x'ffffffffffffffffffffffffffffffff', '2023-12-31T23:59:59Z', 'Encrypt', 'eu-west-1', '111122223333', 1,
                         NULL, 1, 3, NULL, '2001:db8::1', NULL, NULL, NULL, NULL, NULL, 0, NULL, 1),
                        (4, x'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', '2024-01-01T00:00:00Z', 'Decrypt', NULL, NULL, NULL,
                         NULL, NULL, 4, NULL, 'kms.amazonaws.com', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1),
                        (5, x'dddddddddddddddddddddddddddddddd', '2024-01-02T00:00:00Z', 'Decrypt', NULL, NULL, NULL,
                         NULL, NULL, 5, NULL, '255.255.255.255', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1);
                    INSERT INTO event_context (event_id, scope, name_id, value) VALUES (1, 0, 1, 'arn:aws:lambda:f'), (3, 1, 1, '{"n":1}');
                    """)
        }
        let columns =
            "id, event_id, event_time, event_name, aws_region, recipient_account_id, key_arn, requested_key, principal_arn, object_arn, object_kind, bucket, object_key, trail_arn, source_ip, user_agent, error_code, error_message, request_id, shared_event_id, read_only, event_type, source_file"
        func dump(_ queue: DatabaseQueue) throws -> [[String?]] {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT \(columns) FROM kms_events ORDER BY id").map { row in
                    row.databaseValues.map { $0.isNull ? nil : $0.description }
                }
                    + Row.fetchAll(db, sql: "SELECT * FROM encryption_context ORDER BY 1, 2, 3").map { row in
                        row.databaseValues.map { $0.isNull ? nil : $0.description }
                    }
            }
        }
        let before = try dump(queue)
        try IndexDatabase.migrator.migrate(queue)
        XCTAssertEqual(try dump(queue), before)
        XCTAssertEqual(before.count, 5 + 8)
        try queue.read { db in
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok")
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM event_uids"), 5)
            XCTAssertEqual(
                try Int.fetchAll(db, sql: "SELECT event_time FROM events ORDER BY id"),
                [1_709_251_205_120, 1_709_251_205_000, 1_704_067_199_000, 1_704_067_200_000, 1_704_153_600_000])
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT typeof(source_ip) FROM events ORDER BY id"),
                ["integer", "text", "text", "text", "integer"])
        }
        // The converted index takes new events and answers who-read.
        let index = try IndexDatabase.openForWriting(path: path)
        let record = kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/AWSLogs/x.json.gz"}}"#)
        _ = try ingest(index, [try dir.write(logPath(), gzip(logFile([record])))])
        guard case .object(_, let reads, _, _) = try whoRead(index, "arn:aws:s3:::b/AWSLogs/x.json.gz") else {
            return XCTFail("object lost by the migration")
        }
        XCTAssertEqual(reads.map(\.eventTime), ["2024-03-01T00:00:00Z", "2024-03-01T00:00:05.12Z"])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_objects"), 5)
    }

    /// Migration 005 rewrites s3_objects' kind check so that an insert builds no temporary
    /// B-tree, and keeps every location and every event's view of it.
    func testMigration005KeepsObjectsAndInsertsWithoutATemporaryTable() throws {
        let dir = try TempDir()
        let path = dir.path + "/v4.sqlite"
        let queue = try indexBefore(migration: "005", at: path)
        // Into the table, which is s3_object_rows from schema 21 on.
        func insertTempTables(_ db: Database, table: String = "s3_objects", key: String = "key") throws -> Int {
            try Row.fetchAll(
                db, sql: "EXPLAIN INSERT INTO \(table) (kind, bucket_id, \(key), key_hash) VALUES (?, ?, ?, ?)",
                arguments: ["object", nil, nil, nil]
            )
            .filter { ($0["opcode"] as String?) == "OpenEphemeral" }.count
        }
        try queue.write { db in
            XCTAssertEqual(try insertTempTables(db), 1, "schema 4 builds one for its IN list")
            try db.execute(
                sql: """
                    PRAGMA application_id = \(IndexDatabase.applicationID);
                    INSERT INTO source_files (id, path, size, mtime_ns, outcome, read_at) VALUES (1, '/logs/a.json.gz', 1, 1, 'ingested', 'now');
                    INSERT INTO s3_buckets (id, arn, name) VALUES (1, 'arn:aws:s3:::b', 'b');
                    INSERT INTO s3_objects (id, kind, bucket_id, key, key_hash) VALUES
                        (1, 'object', 1, 'AWSLogs/x.json.gz', key_hash('AWSLogs/x.json.gz')),
                        (2, 'prefix', 1, 'AWSLogs/', key_hash('AWSLogs/')),
                        (3, 'bucket', 1, NULL, NULL),
                        (7, 'unparsed', NULL, 'garbage', key_hash('garbage'));
                    INSERT INTO strings (id, text) VALUES (1, 'Decrypt');
                    INSERT INTO events (id, event_time, event_name_sid, object_id, source_file_id) VALUES
                        (1, 1, 1, 1, 1), (2, 2, 1, 3, 1), (3, 3, 1, 7, 1);
                    """)
        }
        func dump() throws -> [[String?]] {
            try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM s3_locations ORDER BY id").map { row in
                    row.databaseValues.map { $0.isNull ? nil : $0.description }
                }
                    + Row.fetchAll(db, sql: "SELECT id, object_arn, object_kind, bucket, object_key FROM kms_events ORDER BY id").map {
                        row in
                        row.databaseValues.map { $0.isNull ? nil : $0.description }
                    }
            }
        }
        let before = try dump()
        XCTAssertEqual(before.count, 4 + 3)
        try IndexDatabase.migrator.migrate(queue)
        XCTAssertEqual(try dump(), before)
        try queue.write { db in
            XCTAssertEqual(try insertTempTables(db, table: "s3_object_rows", key: "name"), 0)
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok")
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_objects WHERE key_hash = key_hash('garbage') AND key = 'garbage'"), 1)
            XCTAssertThrowsError(try db.execute(sql: "INSERT INTO s3_object_rows (kind) VALUES ('file')"))
            XCTAssertEqual(try Bool.fetchOne(db, sql: "PRAGMA legacy_alter_table"), false)
        }
    }

    /// Migration 016 computes every stored key hash again, and keys are found by it after.
    func testMigration016HashesEveryKeyByItsFolder() throws {
        let dir = try TempDir()
        let queue = try indexBefore(migration: "016", at: dir.path + "/v15.sqlite")
        let keys = [
            "AWSLogs/1/CloudTrail/us-east-1/2024/03/01/a.json.gz", "AWSLogs/1/CloudTrail/us-east-1/2024/03/01/b.json.gz", "garbage",
        ]
        try queue.write { db in
            try db.execute(sql: "INSERT INTO s3_buckets (id, arn, name) VALUES (1, 'arn:aws:s3:::b', 'b')")
            for (n, key) in keys.enumerated() {
                // Schema 15's hash: FNV-1a of the whole key, as a signed 32-bit integer.
                var old: UInt32 = 0x811C_9DC5
                for byte in key.utf8 { old = (old ^ UInt32(byte)) &* 0x0100_0193 }
                try db.execute(
                    sql: "INSERT INTO s3_objects (id, kind, bucket_id, key, key_hash) VALUES (?, ?, ?, ?, ?)",
                    arguments: [n + 1, key == "garbage" ? "unparsed" : "object", key == "garbage" ? nil : 1, key, Int32(bitPattern: old)])
            }
            try db.execute(sql: "INSERT INTO s3_objects (id, kind, bucket_id, key, key_hash) VALUES (9, 'bucket', 1, NULL, NULL)")
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, key, key_hash FROM s3_objects ORDER BY id")
            XCTAssertEqual(rows.count, 4)
            for row in rows {
                let key: String? = row["key"]
                XCTAssertEqual(row["key_hash"] as Int64?, key.map(StoredKeyHash.of))
            }
            for key in keys {
                XCTAssertEqual(
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM s3_objects WHERE key_hash = key_hash(?1) AND key = ?1", arguments: [key]), 1)
            }
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA integrity_check"), "ok")
        }
    }
}
