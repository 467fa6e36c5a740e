import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// `kmsindex export`: the files hold exactly the rows of `kms_events` and their context pairs,
/// one folder per day; a nightly re-run writes only the days that changed.
final class ExportTests: XCTestCase {
    func testExportOfAGeneratedTreeHoldsExactlyTheRowsOfKMSEvents() throws {
        let dir = try TempDir()
        _ = try Synth.generate(
            SynthOptions(seed: 11, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 2, filesPerDay: 6),
            into: dir.url.appendingPathComponent("tree"))
        // ReEncrypt with both contexts, a custom pair, and text that needs escaping.
        let odd = kmsRecord(
            eventID: "not-a-uuid-\u{1}", eventName: "ReEncrypt", eventTime: "2024-03-02T10:00:00.25Z",
            requestParameters:
                #"{"sourceEncryptionContext":{"app":"a\"b\\c","n":"\u0007"},"destinationEncryptionContext":{"app":"new\u2028line"},"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/k","custom":"x"}}"#,
            error: (code: "AccessDenied", message: "tab\there \u{1b}[31m é \u{85}"), userAgent: "agent \"q\" \\ \u{7f}")
        try dir.write("extra/" + logPath(stamp: "20240302T1005Z"), gzip(logFile([odd])))
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path + "/tree", dir.path + "/extra"])
        XCTAssertEqual(summary.filesFailed, 0)

        let run = try export(dir, ["--part-events", "50"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let exported = try readExport(dir.path + "/out")
        let expected = try expectedObjects(index)
        XCTAssertEqual(exported.count, expected.count)
        XCTAssertGreaterThan(exported.count, 200)
        let byID = Dictionary(uniqueKeysWithValues: exported.map { ($0.object["id"] as! Int, $0) })
        for (id, object) in expected {
            guard let got = byID[id] else { XCTFail("event row \(id) not exported"); continue }
            XCTAssertEqual(got.object as NSDictionary, object as NSDictionary, "event row \(id)")
            XCTAssertEqual(got.day, String((object["event_time"] as! String).prefix(10)), "partition of row \(id)")
        }
        // Columns in the order of kms_events, then the contexts.
        let columns = try index.queue.read { db in try Row.fetchOne(db, sql: "SELECT * FROM kms_events LIMIT 1")!.columnNames }
        XCTAssertEqual(
            exported[0].keys, Array(columns) + ["encryption_context", "source_encryption_context", "destination_encryption_context"])
        let reEncrypt = try XCTUnwrap(exported.first { $0.object["event_id"] as? String == "not-a-uuid-\u{1}" })
        XCTAssertEqual(reEncrypt.object["source_encryption_context"] as? [String: String], ["app": "a\"b\\c", "n": "\u{7}"])
        XCTAssertEqual(reEncrypt.object["destination_encryption_context"] as? [String: String], ["app": "new\u{2028}line"])
        XCTAssertEqual(reEncrypt.object["encryption_context"] as? [String: String], ["aws:s3:arn": "arn:aws:s3:::b/k", "custom": "x"])
        XCTAssertEqual(reEncrypt.object["event_time"] as? String, "2024-03-02T10:00:00.25Z")

        // Days and files as the manifest says; a day of more than 50 events is split.
        let manifest = try ExportManifest.read(path: dir.path + "/out/kms_events/_manifest.json")
        XCTAssertEqual(manifest.events, expected.count)
        XCTAssertEqual(Set(manifest.days.keys), Set(exported.map(\.day)))
        XCTAssertTrue(manifest.days.values.contains { $0.files.count > 1 })
        for (day, entry) in manifest.days {
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out/kms_events/event_date=" + day)
            XCTAssertEqual(files.sorted(), entry.files.map(\.name))
            XCTAssertTrue(entry.files.allSatisfy { $0.events <= 50 })
            XCTAssertEqual(entry.events, exported.filter { $0.day == day }.count)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/out/" + Exporter.workFolder))
    }

    func testTheSeedEventsRoundTripExactly() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let seed = fixturesURL.appendingPathComponent("seed").path
        try ingest(index, [seed])
        XCTAssertEqual(try export(dir, []).status, 0)
        let exported = try readExport(dir.path + "/out")
        XCTAssertEqual(exported.map(\.day), ["2015-11-11", "2015-11-11", "2015-11-11"])
        let read = try XCTUnwrap(exported.first { $0.object["event_name"] as? String == "Decrypt" })
        let sourceFile = try index.queue.read { db in
            try String.fetchOne(db, sql: "SELECT path FROM source_files WHERE path LIKE '%20151111T2125Z_Hn5vR2xYa8QeJ4sU.json.gz'")
        }
        // Row ids depend on the order the two parsing threads finish the files in.
        let ids = try XCTUnwrap(
            try index.queue.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, object_id, key_id, principal_id, trail_id FROM kms_events
                        WHERE event_id = '9525bee7-5145-42b0-bed5-ab7196a16daa'
                        """)
            })
        let logFile =
            "AWSLogs/111122223333/CloudTrail/us-west-2/2015/11/11/111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz"
        let expected: [String: Any] = [
            "id": ids["id"] as Int, "event_id": "9525bee7-5145-42b0-bed5-ab7196a16daa", "event_time": "2015-11-11T21:20:52Z",
            "event_time_ms": 1_447_276_852_000, "event_name": "Decrypt", "aws_region": "us-west-2",
            "recipient_account_id": "111122223333",
            "key_arn": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "source_key_arn": NSNull(), "requested_key": NSNull(), "principal_type": "IAMUser",
            "principal_arn": "arn:aws:iam::111122223333:user/cloudtrail-admin", "principal_account_id": "111122223333",
            "role_arn": NSNull(), "session_name": NSNull(), "user_name": "cloudtrail-admin",
            "invoked_by": "signin.amazonaws.com", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "on_behalf_of_user_id": NSNull(), "identity_store_arn": NSNull(), "object_arn": seedLogFileARN, "object_kind": "object",
            "bucket": "example-bucket-for-CT-logs",
            "object_key": logFile, "trail_arn": "arn:aws:cloudtrail:us-west-2:111122223333:trail/Default",
            "source_ip": "internal.amazonaws.com", "user_agent": "internal.amazonaws.com", "error_code": NSNull(),
            "error_message": NSNull(), "request_id": "16a0590a-88ba-11e5-b406-436f15c3ac01", "shared_event_id": NSNull(),
            "read_only": 1, "event_type": "AwsApiCall", "source_file": sourceFile ?? "?", "object_id": ids["object_id"] as Int,
            "key_id": ids["key_id"] as Int, "principal_id": ids["principal_id"] as Int, "trail_id": ids["trail_id"] as Int,
            "encryption_context": [
                "aws:s3:arn": seedLogFileARN,
                "aws:cloudtrail:arn": "arn:aws:cloudtrail:us-west-2:111122223333:trail/Default",
            ],
            "source_encryption_context": NSNull(), "destination_encryption_context": NSNull(),
        ]
        XCTAssertEqual(read.object as NSDictionary, expected as NSDictionary)
        let expectedAll = try expectedObjects(index)
        for item in exported {
            XCTAssertEqual(item.object as NSDictionary, expectedAll[item.object["id"] as! Int]! as NSDictionary)
        }
    }

    func testNightlyRunsRewriteOnlyTheDaysThatChanged() throws {
        let dir = try TempDir()
        _ = try Synth.generate(
            SynthOptions(seed: 3, accounts: 1, regions: ["us-east-1"], days: 3, filesPerDay: 4, startDate: "2024-03-01"),
            into: dir.url.appendingPathComponent("tree"))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path + "/tree"])
        let days = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT substr(event_time, 1, 10) FROM kms_events ORDER BY 1")
        }
        XCTAssertEqual(days, ["2024-03-01", "2024-03-02", "2024-03-03"])

        // --since/--until choose days: only the 2nd.
        var summary = try exportSummary(dir, ["--since", "2024-03-02", "--until", "2024-03-02"])
        XCTAssertEqual(summary["days_written"], 1)
        XCTAssertEqual(try dayFolders(dir), ["2024-03-02"])
        let secondDay = try count(index, "SELECT count(*) FROM kms_events WHERE event_time LIKE '2024-03-02%'")
        XCTAssertEqual(summary["events"], secondDay)
        XCTAssertEqual(try readExport(dir.path + "/out").count, secondDay)

        // Everything: the 2nd is already there.
        summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["days_written"], summary["days_unchanged"], summary["days_removed"]], [2, 1, 0])
        XCTAssertEqual(try dayFolders(dir), days)
        let before = try fileTimes(dir)

        // Nothing changed: nothing written, not even the manifest.
        summary = try exportSummary(dir, [])
        XCTAssertEqual(
            [summary["days_written"], summary["days_unchanged"], summary["days_removed"], summary["events_written"]], [0, 3, 0, 0])
        XCTAssertEqual(try fileTimes(dir), before)

        // One more day ingested: only that day is written.
        _ = try Synth.generate(
            SynthOptions(seed: 4, accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 4, startDate: "2024-03-04"),
            into: dir.url.appendingPathComponent("tree2"))
        try ingest(index, [dir.path + "/tree2"])
        summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["days_written"], summary["days_unchanged"], summary["days_removed"]], [1, 3, 0])
        let after = try fileTimes(dir)
        XCTAssertEqual(
            after.filter { !$0.key.contains("2024-03-04") && !$0.key.hasSuffix("_manifest.json") },
            before.filter { !$0.key.hasSuffix("_manifest.json") })
        XCTAssertEqual(try dayFolders(dir), days + ["2024-03-04"])

        // A day written before the last migration that changed exported values (an entry
        // without its schema, as before schema 33) is written again, and only it.
        let manifestPath = dir.path + "/out/kms_events/_manifest.json"
        var older = try ExportManifest.read(path: manifestPath)
        older.days[days[0]]?.schema = nil
        try older.jsonData().write(to: URL(fileURLWithPath: manifestPath))
        summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["days_written"], summary["days_unchanged"], summary["days_removed"]], [1, 3, 0])
        XCTAssertEqual(try ExportManifest.read(path: manifestPath).days[days[0]]?.schema, IndexDatabase.schemaVersion)

        // A day whose files are not those the manifest lists is written again: a part deleted,
        // one cut short, a stray file beside them (which a glob would read too).
        let table = dir.path + "/out/kms_events/event_date="
        let part = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: table + days[1]).first)
        try FileManager.default.removeItem(atPath: table + days[1] + "/" + part)
        let cut = try XCTUnwrap(FileHandle(forUpdatingAtPath: table + days[2] + "/" + part))
        try cut.truncate(atOffset: 100)
        try cut.close()
        try Data("stray".utf8).write(to: URL(fileURLWithPath: table + "2024-03-04/part-00000 (1).json.gz"))
        summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["days_written"], summary["days_unchanged"], summary["days_removed"]], [3, 1, 0])
        XCTAssertEqual(try readExport(dir.path + "/out").count, try count(index, "SELECT count(*) FROM events"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: table + "2024-03-04"), [part])

        // Pruned days disappear, from the folder and the manifest.
        let prune = try runBinary(["prune", "--before", "2024-03-03", "--db", index.path])
        XCTAssertEqual(prune.status, 0, prune.stderr)
        summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["days_written"], summary["days_unchanged"], summary["days_removed"]], [0, 2, 2])
        XCTAssertEqual(try dayFolders(dir), ["2024-03-03", "2024-03-04"])
        let manifest = try ExportManifest.read(path: dir.path + "/out/kms_events/_manifest.json")
        XCTAssertEqual(manifest.days.keys.sorted(), ["2024-03-03", "2024-03-04"])
        XCTAssertEqual(manifest.events, try count(index, "SELECT count(*) FROM events"))
        XCTAssertEqual(try readExport(dir.path + "/out").count, manifest.events)
    }

    func testS3ReadsAreATableOfTheirOwnWithEveryColumnOfTheirView() throws {
        let dir = try TempDir()
        var options = SynthOptions(seed: 12, accounts: 1, regions: ["us-east-1"], days: 2, filesPerDay: 8)
        options.s3DataEvents = true
        _ = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        let index = try makeIndex(dir)
        try ingestWithS3Reads(index, dir.path + "/tree")
        let reads = try count(index, "SELECT count(*) FROM s3_reads")
        XCTAssertGreaterThan(reads, 12)

        let summary = try exportSummary(dir, ["--part-events", "5"])
        XCTAssertEqual(summary["s3_reads"], reads)
        XCTAssertEqual(summary["s3_reads_written"], reads)
        let exported = try readExport(dir.path + "/out", table: "s3_reads")
        let expected = try expectedObjects(index, view: "s3_read_events")
        XCTAssertEqual(exported.count, reads)
        XCTAssertEqual(Set(exported.map { $0.object["id"] as! Int }), Set(expected.keys))
        for item in exported {
            let id = item.object["id"] as! Int
            XCTAssertEqual(item.object as NSDictionary, expected[id]! as NSDictionary, "S3 read row \(id)")
            XCTAssertEqual(item.day, String((item.object["event_time"] as! String).prefix(10)), "partition of row \(id)")
            XCTAssertNotNil(item.object["bytes"] as? Int, "S3 read row \(id) has its bytes")
        }
        let columns = try index.queue.read { db in try Row.fetchOne(db, sql: "SELECT * FROM s3_read_events LIMIT 1")!.columnNames }
        XCTAssertEqual(exported[0].keys, Array(columns))

        // Its own manifest, days split into files of at most 5 reads; a re-run writes nothing.
        let manifest = try ExportManifest.read(path: dir.path + "/out/s3_reads/_manifest.json")
        XCTAssertEqual(manifest.table, "s3_reads")
        XCTAssertEqual(manifest.events, reads)
        XCTAssertEqual(Set(manifest.days.keys), Set(exported.map(\.day)))
        XCTAssertTrue(manifest.days.values.allSatisfy { $0.files.allSatisfy { $0.events <= 5 } })
        XCTAssertTrue(manifest.days.values.contains { $0.files.count > 1 })
        let again = try exportSummary(dir, [])
        XCTAssertEqual([again["s3_read_days_written"], again["s3_read_days_removed"]], [0, 0])
        XCTAssertEqual(again["s3_read_days_unchanged"], manifest.days.count)

        // A pruned day goes from this table as from the events'.
        let first = try XCTUnwrap(manifest.days.keys.sorted().first)
        let prune = try runBinary(["prune", "--before", DayExport.dayName(DeliveryDays.day(first, today: 0)! + 1), "--db", index.path])
        XCTAssertEqual(prune.status, 0, prune.stderr)
        let pruned = try exportSummary(dir, [])
        XCTAssertEqual(pruned["s3_read_days_removed"], 1)
        XCTAssertEqual(
            try readExport(dir.path + "/out", table: "s3_reads").count, try count(index, "SELECT count(*) FROM s3_reads"))
    }

    /// A day whose rows changed but kept their count and largest id is written again: an S3
    /// read pruned from the middle of a day frees the largest id, which the next read ingested
    /// into that day is given; and an index rebuilt from the same logs in another order numbers
    /// the same rows otherwise.
    func testADayIsWrittenAgainWhenItsRowsChangeButNotTheirCountNorLargestID() throws {
        let dir = try TempDir()
        func read(_ id: String, _ time: String, _ key: String) -> String {
            S3ReadsTests.s3Event(id, "GetObject", time, bucket: "b", key: key, bytes: 1)
        }
        func ingestFile(_ index: IndexDatabase, _ name: String, _ records: [String]) throws {
            try dir.write(name + "/" + logPath(), gzip(logFile(records)))
            var options = IngestOptions(paths: [dir.path + "/" + name])
            options.s3Reads = .all
            XCTAssertEqual(try Ingester(database: index, options: options).run().filesFailed, 0)
        }
        let index = try makeIndex(dir)
        try ingestFile(index, "one", [read("a", "2024-05-10T15:00:00Z", "A.txt"), read("b", "2024-05-10T09:00:00Z", "B.txt")])
        XCTAssertEqual(try count(index, "SELECT id FROM s3_reads WHERE event_uid = 'b'"), 2)
        XCTAssertEqual(try export(dir, []).status, 0)
        let prune = try runBinary(["prune", "--before", "2024-05-10T12:00:00Z", "--db", index.path])
        XCTAssertEqual(prune.status, 0, prune.stderr)
        try ingestFile(index, "two", [read("c", "2024-05-10T18:00:00Z", "C.txt")])
        XCTAssertEqual(try count(index, "SELECT id FROM s3_reads WHERE event_uid = 'c'"), 2, "the freed id, given again")
        let summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["s3_read_days_written"], summary["s3_read_days_unchanged"]], [1, 0])
        XCTAssertEqual(
            Set(try readExport(dir.path + "/out", table: "s3_reads").map { $0.object["object_key"] as? String }), ["A.txt", "C.txt"])

        // The same logs into a new index, in the other order, exported into the same folder.
        let rebuilt = try makeIndex(dir, name: "rebuilt.sqlite")
        try ingestFile(rebuilt, "two", [read("c", "2024-05-10T18:00:00Z", "C.txt")])
        try ingestFile(rebuilt, "three", [read("a", "2024-05-10T15:00:00Z", "A.txt")])
        XCTAssertEqual(try count(rebuilt, "SELECT count(*) FROM s3_reads"), 2)
        let run = try runBinary(["export", "--db", rebuilt.path, "--out", dir.path + "/out", "--json-summary"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let exported = try readExport(dir.path + "/out", table: "s3_reads")
        let expected = try expectedObjects(rebuilt, view: "s3_read_events")
        XCTAssertEqual(exported.count, 2)
        for item in exported {
            XCTAssertEqual(item.object as NSDictionary, expected[item.object["id"] as! Int]! as NSDictionary)
        }
    }

    /// A time before 1970 with a fraction of a second is written as the time it is, in its own
    /// day's folder: SQLite's `/` and `%` round toward zero, and made 1969-12-31T23:59:59.500Z
    /// `1970-01-01T00:00:00.-5Z` (schema 44).
    func testATimeBefore1970IsWrittenAsItIs() throws {
        let dir = try TempDir()
        try dir.write(
            "t/" + logPath(stamp: "19691231T2355Z"),
            gzip(
                logFile([
                    kmsRecord(eventTime: "1969-12-31T23:59:59.5Z"), kmsRecord(eventTime: "1965-06-15T12:00:00.25Z"),
                    S3ReadsTests.s3Event("r1", "GetObject", "1969-12-31T23:59:59.999Z", bucket: "b", key: "k", bytes: 1),
                ])))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [dir.path + "/t"])
        options.s3Reads = .all
        XCTAssertEqual(try Ingester(database: index, options: options).run().eventsAdded, 2)
        let times = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT event_time FROM kms_events ORDER BY event_time_ms")
                + String.fetchAll(db, sql: "SELECT event_time FROM s3_read_events")
                + String.fetchAll(db, sql: "SELECT event_time FROM object_reads_all WHERE source = 's3'")
                + [String.fetchOne(db, sql: "SELECT \(isoTimeSQL("-1"))")!]
        }
        XCTAssertEqual(
            times,
            [
                "1965-06-15T12:00:00.25Z", "1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
                "1969-12-31T23:59:59.999Z",
            ])
        XCTAssertEqual(try export(dir, []).status, 0)
        let exported = try readExport(dir.path + "/out") + readExport(dir.path + "/out", table: "s3_reads")
        XCTAssertEqual(
            exported.map { [$0.day, $0.object["event_time"] as? String] }.sorted { "\($0)" < "\($1)" },
            [
                ["1965-06-15", "1965-06-15T12:00:00.25Z"], ["1969-12-31", "1969-12-31T23:59:59.5Z"],
                ["1969-12-31", "1969-12-31T23:59:59.999Z"],
            ])
    }

    func testATableWithNoRowsHoldsOneEmptyFileUntilItHasADay() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_reads"), 0)
        XCTAssertEqual(try export(dir, []).status, 0)
        // One empty file, so that a glob over the table's days matches a file (DuckDB's
        // read_json refuses one that matches none); no day in the manifest.
        let empty = dir.path + "/out/s3_reads/event_date=" + Exporter.emptyTableDay
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: empty), ["part-00000.json.gz"])
        XCTAssertEqual(gunzip(try Data(contentsOf: URL(fileURLWithPath: empty + "/part-00000.json.gz"))), Data())
        XCTAssertEqual(try ExportManifest.read(path: dir.path + "/out/s3_reads/_manifest.json").days.count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/out/kms_events/event_date=" + Exporter.emptyTableDay))
        let before = try fileTimes(dir, table: "s3_reads")
        XCTAssertEqual(try exportSummary(dir, [])["s3_read_days_removed"], 0)
        XCTAssertEqual(try fileTimes(dir, table: "s3_reads"), before)

        // Reads come: the empty file goes, their days come.
        var options = SynthOptions(seed: 12, accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 8)
        options.s3DataEvents = true
        _ = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        try ingestWithS3Reads(index, dir.path + "/tree")
        let summary = try exportSummary(dir, [])
        XCTAssertEqual(summary["s3_read_days_removed"], 0)
        XCTAssertGreaterThan(summary["s3_read_days_written"] ?? 0, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty))
        XCTAssertEqual(
            try readExport(dir.path + "/out", table: "s3_reads").count, try count(index, "SELECT count(*) FROM s3_reads"))
    }

    func testTheDayQueriesWalkTheTimeIndexWithoutSorting() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let eventsSQL = try index.queue.read { db in try DayExport.eventsSQL(db) }
        let readsSQL = try index.queue.read { db in try ExportTable.s3Reads.rowsSQL(db) }
        for sql in [eventsSQL, DayExport.contextSQL, DayExport.daysSQL, readsSQL, ExportTable.s3Reads.daysSQL] {
            let plan = try index.queue.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: [0, 1]).map { $0["detail"] as String }
            }
            // No event's eventID found again by scanning its millisecond (the view's way).
            XCTAssertFalse(plan.contains { $0.contains("(event_time=?)") }, "\(plan)")
            XCTAssertTrue(
                plan.contains {
                    $0.contains("USING PRIMARY KEY (event_time>? AND event_time<?)")
                        || $0.contains("USING COVERING INDEX") && $0.contains("event_time>? AND event_time<?")
                }, "\(plan)")
            XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN") || $0.contains("TEMP B-TREE") }, "\(plan)")
        }
    }

    func testJSONStringsAreEscapedAndInvalidUTF8Replaced() throws {
        var json = JSONBytes()
        json.raw("[")
        json.string("q\" b\\ n\n t\t c\u{1} del\u{7f} c1\u{85} ls\u{2028} é 😀")
        json.raw(",")
        let invalid: [UInt8] = [0x61, 0xFF, 0x62, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0xE2, 0x82, 0x63, 0xF0, 0x9F, 0x98]
        invalid.withUnsafeBufferPointer { json.string($0) }
        for value in [Int64.min, -1, 0, 7, Int64.max] {
            json.raw(",")
            json.int(value)
        }
        json.raw(",")
        json.double(.nan)
        json.raw("]")
        let text = String(decoding: json.bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"["q\" b\\ n\n t\t c\u0001 del\u007f c1\u0085 ls\u2028 é 😀","#), text)
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.bytes)) as? [Any])
        XCTAssertEqual(parsed[0] as? String, "q\" b\\ n\n t\t c\u{1} del\u{7f} c1\u{85} ls\u{2028} é 😀")
        XCTAssertEqual(parsed[1] as? String, "a\u{FFFD}b\u{FFFD}(\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}c\u{FFFD}")
        XCTAssertEqual(parsed[2...6].map { ($0 as! NSNumber).int64Value }, [Int64.min, -1, 0, 7, Int64.max])
        XCTAssertTrue(parsed[7] is NSNull)
    }

    func testASecondExportToTheSameFolderIsRefused() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: true)
        let fd = open(dir.path + "/out/" + Exporter.lockFile, O_RDWR | O_CREAT, 0o600)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        let refused = try export(dir, ["--json-summary"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("another kmsindex export is writing to"), refused.stderr)
        close(fd)
        let run = try export(dir, ["--quiet"])
        XCTAssertEqual(run.status, 0)
        XCTAssertEqual(run.stderr + run.stdout, "")
    }

    /// The export folder is created with the folders above it that are missing.
    func testTheExportFolderIsCreatedWithItsParents() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        let out = dir.path + "/exports/nightly/kms"
        let run = try runBinary(["export", "--quiet", "--db", dir.path + "/index.sqlite", "--out", out])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try readExport(out).count, 3)
        // Relative, one character, with a trailing slash, or the current folder.
        for (given, folder) in [("o", "o"), ("p/", "p"), ("q/r//", "q/r"), (".", ".")] {
            let run = try runBinary(["export", "--quiet", "--db", dir.path + "/index.sqlite", "--out", given], in: dir.url)
            XCTAssertEqual(run.status, 0, "\(given): \(run.stderr)")
            XCTAssertEqual(try readExport(dir.path + "/" + folder).count, 3, given)
        }
    }

    func testADayFolderIsSwappedWholeAndLeftoversOfAnInterruptedRunGo() throws {
        let dir = try TempDir()
        let table = dir.path + "/t", work = dir.path + "/w"
        for folder in [table, work, table + "/event_date=2024-03-01", work + "/event_date=2024-03-01"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try dir.write("t/event_date=2024-03-01/part-00000.json.gz", Data("old".utf8))
        try dir.write("t/event_date=2024-03-01/part-00001.json.gz", Data("old".utf8))
        try dir.write("w/event_date=2024-03-01/part-00000.json.gz", Data("new".utf8))
        try ExportFiles.replace(table + "/event_date=2024-03-01", with: work + "/event_date=2024-03-01", work: work)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: table + "/event_date=2024-03-01"), ["part-00000.json.gz"])
        XCTAssertEqual(FileManager.default.contents(atPath: table + "/event_date=2024-03-01/part-00000.json.gz"), Data("new".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work), [])

        // An interrupted export: its temporary folder, and a day renamed into place that the
        // manifest does not list and the index does not hold. The next run clears both.
        let index = try makeIndex(dir, name: "index.sqlite")
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        try dir.write("out/" + Exporter.workFolder + "/event_date=2015-11-11/part-00000.json.gz", Data("half".utf8))
        try dir.write("out/kms_events/event_date=2015-11-12/part-00000.json.gz", Data("stray".utf8))
        let summary = try exportSummary(dir, [])
        XCTAssertEqual([summary["days_written"], summary["days_removed"]], [1, 1])
        XCTAssertEqual(try dayFolders(dir), ["2015-11-11"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/out/" + Exporter.workFolder))
        XCTAssertEqual(try readExport(dir.path + "/out").count, 3)
    }

    // MARK: - Helpers

    /// Ingests `path` keeping the S3 reads of log buckets, as the command does by default.
    private func ingestWithS3Reads(_ index: IndexDatabase, _ path: String) throws {
        var options = IngestOptions(paths: [path])
        options.s3Reads = .auto
        let summary = try Ingester(database: index, options: options).run { _ in }
        XCTAssertEqual(summary.filesFailed, 0)
    }

    private func export(_ dir: TempDir, _ arguments: [String]) throws -> BinaryRun {
        try runBinary(["export", "--db", dir.path + "/index.sqlite", "--out", dir.path + "/out"] + arguments)
    }

    private func exportSummary(_ dir: TempDir, _ arguments: [String]) throws -> [String: Int] {
        let run = try export(dir, arguments + ["--json-summary"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
        return object.compactMapValues { $0 as? Int }
    }

    private func dayFolders(_ dir: TempDir) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out/kms_events")
            .filter { $0.hasPrefix("event_date=") }.map { String($0.dropFirst("event_date=".count)) }.sorted()
    }

    /// Modification time (nanoseconds) and inode of every file of the export, by path.
    private func fileTimes(_ dir: TempDir, table: String = "kms_events") throws -> [String: [Int]] {
        var times: [String: [Int]] = [:]
        let root = dir.path + "/out/" + table
        for relative in FileManager.default.subpaths(atPath: root) ?? [] {
            var status = stat()
            XCTAssertEqual(stat(root + "/" + relative, &status), 0)
            times[relative] = [Int(status.st_mtim.tv_sec) * 1_000_000_000 + Int(status.st_mtim.tv_nsec), Int(status.st_ino)]
        }
        return times
    }

    /// One exported line: its day folder, the object, and its keys in the order written.
    struct Exported {
        var day: String
        var object: [String: Any]
        var keys: [String]
    }

    private func readExport(_ out: String, table: String = "kms_events") throws -> [Exported] {
        var result: [Exported] = []
        let root = out + "/" + table
        for folder in try FileManager.default.contentsOfDirectory(atPath: root).sorted() where folder.hasPrefix("event_date=") {
            for file in try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder).sorted() {
                XCTAssertTrue(file.hasPrefix("part-") && file.hasSuffix(".json.gz"), file)
                let text = gunzip(try Data(contentsOf: URL(fileURLWithPath: root + "/" + folder + "/" + file)))
                for line in text.split(separator: UInt8(ascii: "\n")) {
                    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                    // The keys in order, from the text (JSONSerialization forgets it).
                    let keys = object.keys.sorted {
                        let t = String(decoding: line, as: UTF8.self)
                        return t.range(of: JSONText.quoted($0) + ":")!.lowerBound < t.range(of: JSONText.quoted($1) + ":")!.lowerBound
                    }
                    result.append(Exported(day: String(folder.dropFirst("event_date=".count)), object: object, keys: keys))
                }
            }
        }
        return result
    }

    /// Every row of `view` as the export should write it, by `id`; for kms_events with the
    /// pairs of the encryption_context view.
    private func expectedObjects(_ index: IndexDatabase, view: String = "kms_events") throws -> [Int: [String: Any]] {
        try index.queue.read { db in
            var objects: [Int: [String: Any]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM \(view)") {
                var object: [String: Any] = [:]
                for (name, value) in row {
                    switch value.storage {
                    case .null: object[name] = NSNull()
                    case let .int64(v): object[name] = NSNumber(value: v)
                    case let .double(v): object[name] = NSNumber(value: v)
                    case let .string(s): object[name] = s
                    case .blob: XCTFail("blob in \(view).\(name)")
                    }
                }
                objects[row["id"]] = object
            }
            guard view == "kms_events" else { return objects }
            for id in objects.keys {
                var object = objects[id]!
                object["encryption_context"] = [String: String]()
                object["source_encryption_context"] = NSNull()
                object["destination_encryption_context"] = NSNull()
                objects[id] = object
            }
            let keys = [
                "encryptionContext": "encryption_context", "sourceEncryptionContext": "source_encryption_context",
                "destinationEncryptionContext": "destination_encryption_context",
            ]
            for row in try Row.fetchAll(db, sql: "SELECT event_row, context, name, value FROM encryption_context") {
                let id: Int = row["event_row"], key = keys[row["context"] as String]!
                var pairs = objects[id]?[key] as? [String: String] ?? [:]
                pairs[row["name"]] = row["value"]
                objects[id]?[key] = pairs
            }
            return objects
        }
    }
}
