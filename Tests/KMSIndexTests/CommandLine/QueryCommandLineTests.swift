import Foundation
import XCTest

@testable import KMSIndex

/// The query commands, run as the built binary.
final class QueryCommandLineTests: XCTestCase {
    /// An index of the query fixture, ingested by the binary; returns its path.
    func fixtureIndex(_ dir: TempDir, _ records: [String] = queryFixtureRecords) throws -> String {
        try dir.write("logs/" + logPath(), gzip(logFile(records)))
        let db = dir.path + "/i.sqlite"
        let ingest = try runKMSIndex(["ingest", "-q", "--db", db, dir.path + "/logs"])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        return db
    }

    func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func testReadsKeyAndListings() throws {
        let dir = try TempDir()
        let db = try fixtureIndex(dir)

        let reads = try runKMSIndex(["reads", "--db", db, "--principal", "Reader", "--format", "json"])
        XCTAssertEqual(reads.status, 0, reads.stderr)
        let readRows = json(reads.stdout) as? [[String: Any]]
        XCTAssertEqual(readRows?.map { $0["event_id"] as? String }, ["r2", "r3", "r4"])
        XCTAssertEqual(readRows?[1]["error_code"] as? String, "AccessDenied")
        XCTAssertEqual(readRows?[2]["context"] as? String, "aws:lambda:FunctionArn=" + Q.lambda)

        let nobody = try runKMSIndex(["reads", "--db", db, "--principal", "nobody"])
        XCTAssertEqual([nobody.status], [1])
        XCTAssertEqual(nobody.stdout, "")
        XCTAssertEqual(nobody.stderr, "kmsindex: no principal in the index matches nobody\n")
        let late = try runKMSIndex(["reads", "--db", db, "--principal", "Reader", "--since", "2030-01-01", "--format", "json"])
        XCTAssertEqual([late.status], [1])
        XCTAssertEqual(late.stdout, "[]\n")
        XCTAssertEqual(late.stderr, "kmsindex: no Decrypt by Reader matches\n")
        let badTime = try runKMSIndex(["reads", "--db", db, "--principal", "Reader", "--since", "yesterday"])
        XCTAssertEqual(badTime.status, 2)
        XCTAssertTrue(badTime.stderr.contains("'yesterday' is not a time"), badTime.stderr)

        let key = try runKMSIndex(["key", "--db", db, "alias/app", "--format", "json"])
        XCTAssertEqual(key.status, 0, key.stderr)
        let story = json(key.stdout) as? [String: [[String: Any]]]
        XCTAssertEqual(story.map { Set($0.keys) }, Set(KeyReport.sectionNames))
        XCTAssertEqual(story?["key"]?.first?["events"] as? Int, 5)
        XCTAssertEqual(story?["lifecycle"]?.map { $0["operation"] as? String }, ["CreateKey", "ScheduleKeyDeletion", "DisableKey"])
        let keyTable = try runKMSIndex(["key", "--db", db, Q.key1])
        XCTAssertTrue(keyTable.stdout.hasPrefix("== key ==\nkey_arn"), keyTable.stdout)
        XCTAssertTrue(keyTable.stdout.contains("\n== lifecycle ==\n(none)\n"), keyTable.stdout)
        XCTAssertEqual(try runKMSIndex(["key", "--db", db, "nope"]).status, 1)
        XCTAssertEqual(try runKMSIndex(["key", "--db", db, "alias/app", "--key", "x"]).status, 2)

        let keys = try runKMSIndex(["keys", "--db", db, "--format", "csv"])
        XCTAssertEqual(
            keys.stdout,
            """
            key_arn,account,region,key_id,aliases,events,failed,principals,first_seen,last_seen\r
            \(Q.key1),111122223333,us-west-2,11111111-2222-3333-4444-555555555555,alias/logs,6,1,4,2024-03-01T00:05:00Z,2024-03-02T09:00:00Z\r
            \(Q.key2),111122223333,us-west-2,99999999-8888-7777-6666-555555555555,alias/app,5,1,3,2024-02-29T08:00:00Z,2024-03-03T01:00:00Z\r

            """)
        let trails = try runKMSIndex(["trails", "--db", db, "--format", "tsv"])
        XCTAssertEqual(
            trails.stdout,
            """
            trail_arn\taccount\tregion\tname\tevents\tdeliveries\tlog_files\treads\treaders\tfailed\tfirst_seen\tlast_seen
            \(Q.trail)\t111122223333\tus-west-2\tmain\t6\t3\t3\t3\t3\t1\t2024-03-01T00:05:00Z\t2024-03-02T09:00:00Z

            """)
        let objects = try runKMSIndex([
            "objects", "--db", db, "--bucket", "logs-bucket", "--trail", "main", "--limit", "1", "--format", "ndjson",
        ])
        XCTAssertEqual(objects.stdout.split(separator: "\n").count, 1)
        XCTAssertEqual((json(objects.stdout) as? [String: Any])?["object_arn"] as? String, Q.log1)
        XCTAssertEqual((json(objects.stdout) as? [String: Any])?["reads"] as? Int, 2)
        XCTAssertEqual(try runKMSIndex(["objects", "--db", db, "--bucket", "elsewhere"]).status, 1)
        XCTAssertEqual(try runKMSIndex(["keys", "--db", db, "--limit", "0"]).status, 2)
    }

    func testUsageDeniedAndSQL() throws {
        let dir = try TempDir()
        let db = try fixtureIndex(dir)

        let usage = try runKMSIndex(["usage", "--db", db, "--format", "csv", "--price-per-10k", "10000", "--free-per-month", "0"])
        XCTAssertEqual(usage.status, 0, usage.stderr)
        XCTAssertEqual(
            usage.stdout,
            """
            section,day,requests,deliveries,baseline,gap,flag,list_cost_usd,month,free_requests,billable_requests,cost_usd\r
            daily,2024-02-29,1,0,0,1,,1.0,,,,\r
            daily,2024-03-01,4,2,287,-283,deliveries-missing,4.0,,,,\r
            daily,2024-03-02,4,1,2,2,"deliveries-missing,above-baseline",4.0,,,,\r
            daily,2024-03-03,2,0,0,2,,2.0,,,,\r
            monthly,,1,,,,,,2024-02,0,1,1.0\r
            monthly,,10,,,,,,2024-03,0,10,10.0\r

            """)
        XCTAssertEqual(try runKMSIndex(["usage", "--db", db, "--by", "nonsense"]).status, 2)
        XCTAssertEqual(try runKMSIndex(["usage", "--db", db, "--free-per-month", "-1"]).status, 2)
        XCTAssertEqual(try runKMSIndex(["usage", "--db", db, "--since", "2030-01-01"]).status, 1)

        let denied = try runKMSIndex(["denied", "--db", db])
        XCTAssertEqual(denied.status, 0, denied.stderr)
        XCTAssertTrue(denied.stdout.hasPrefix("principal "), denied.stdout)
        XCTAssertEqual(denied.stdout.split(separator: "\n").count, 4, denied.stdout)
        XCTAssertEqual(try runKMSIndex(["denied", "--db", db, "--account", "000000000000"]).status, 1)

        let count = try runKMSIndex(["sql", "--db", db, "SELECT count(*) AS n FROM events", "--format", "json"])
        XCTAssertEqual(count.stdout, "[\n  {\"n\":\(queryFixtureRecords.count)}\n]\n")
        let fromStdin = try runKMSIndex(["sql", "--db", db, "-", "-p", "a", "5"], stdin: "SELECT :a AS v")
        XCTAssertEqual(fromStdin.stdout, "v\n-\n5\n", fromStdin.stderr)
        let paramsFirst = try runKMSIndex(["sql", "--db", db, "-p", "a", "x", "-p", "b", "y", "SELECT :a || :b AS v", "--format", "csv"])
        XCTAssertEqual(paramsFirst.stdout, "v\r\nxy\r\n", paramsFirst.stderr)
        XCTAssertEqual(try runKMSIndex(["sql", "--db", db, "SELECT 1 WHERE 0"]).status, 1)
        XCTAssertEqual(try runKMSIndex(["sql", "--db", db, "SELECT :a", "-p", "a"]).status, 2)
        let empty = try runKMSIndex(["sql", "--db", db, "SELECT 1 AS x WHERE 0", "--format", "json"])
        XCTAssertEqual(empty.status, 1)
        XCTAssertEqual(empty.stdout, "[]\n")
        XCTAssertEqual(try runKMSIndex(["sql", "--db", db, "SELECT 1 AS x WHERE 0"]).stdout, "")
    }

    /// who-read prints an object's reads as they come: the same rows, in the same order, as
    /// the whole answer the library gives, for every object, many reads of one included.
    func testWhoReadStreamsTheLibrarysAnswer() throws {
        let dir = try TempDir()
        var records = queryFixtureRecords
        for i in 0..<300 {
            let second = String(format: "%02d", i % 60), minute = String(format: "%02d", i / 60)
            records.append(
                queryRecord(
                    "hot\(i)", "Decrypt", "2024-03-03T10:\(minute):\(second)Z", identity: Q.reader("s\(i % 7)"),
                    requestParameters: Q.context(object: Q.log3)))
        }
        // Two reads in one millisecond, whose ids sort otherwise than they were written.
        records.append(queryRecord("zz-same-ms", "Decrypt", "2024-03-04T00:00:00Z", requestParameters: Q.context(object: Q.log3)))
        records.append(queryRecord("aa-same-ms", "Decrypt", "2024-03-04T00:00:00Z", requestParameters: Q.context(object: Q.log3)))
        let db = try fixtureIndex(dir, records)
        let index = try IndexDatabase.openForReading(path: db)
        let objects = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT arn FROM s3_locations ORDER BY arn") }
        XCTAssertGreaterThan(objects.count, 2)
        for object in objects {
            let answer = try index.queue.read { db in try WhoRead(db).answer(object) }
            guard case let .object(_, reads, _, _) = answer else { return XCTFail("\(object): \(answer)") }
            let expected = ResultTable(columns: EventRow.columnNames, cells: reads.map(\.cells))
            for format in [OutputFormat.json, .csv] {
                let run = try runKMSIndex(["who-read", "--db", db, "--format", format.rawValue, object])
                XCTAssertEqual(run.status, reads.isEmpty ? 1 : 0, run.stderr)
                XCTAssertEqual(run.stdout, expected.render(format), "\(object), \(format)")
            }
        }
        let hot = try runKMSIndex(["who-read", "--db", db, "--format", "ndjson", Q.log3])
        let ids = hot.stdout.split(separator: "\n").compactMap { line -> String? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event_id"] as? String
        }
        XCTAssertEqual(ids.count, 302)
        XCTAssertEqual(Array(ids.suffix(2)), ["aa-same-ms", "zz-same-ms"])
    }

    /// objects prints its rows as they come: the same as the library's whole table.
    func testObjectsStreamsTheLibrarysTable() throws {
        let dir = try TempDir()
        let db = try fixtureIndex(dir)
        let index = try IndexDatabase.openForReading(path: db)
        for (arguments, filter) in [([], QueryFilter()), (["--since", "2024-03-02"], QueryFilter(since: "2024-03-02T00:00:00Z"))] {
            let expected = try index.queue.read { db in try Listings.objects(db, filter: filter) }
            XCTAssertGreaterThan(expected.cells.count, 0)
            for format in OutputFormat.allCases {
                let run = try runKMSIndex(["objects", "--db", db, "--format", format.rawValue] + arguments)
                XCTAssertEqual(run.status, 0, run.stderr)
                XCTAssertEqual(run.stdout, expected.render(format), "\(arguments) \(format)")
            }
        }
    }

    /// sql prints rows as SQLite yields them: a long result arrives whole, in order, in every
    /// format, and an error met after the first rows leaves them printed, then fails.
    func testSQLStreamsLongResults() throws {
        let dir = try TempDir()
        let db = try fixtureIndex(dir)
        let numbers = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 30000) SELECT x, 'v' || x AS v FROM n"
        let ndjson = try runKMSIndex(["sql", "--db", db, numbers, "--format", "ndjson"])
        XCTAssertEqual(ndjson.status, 0, ndjson.stderr)
        let lines = ndjson.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 30_000)
        XCTAssertEqual(lines.first, "{\"x\":1,\"v\":\"v1\"}")
        XCTAssertEqual(lines.last, "{\"x\":30000,\"v\":\"v30000\"}")
        let json = try runKMSIndex(["sql", "--db", db, numbers, "--format", "json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(parsed?.count, 30_000)
        XCTAssertEqual(parsed?.last?["x"] as? Int, 30_000)
        let table = try runKMSIndex(["sql", "--db", db, numbers])
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 30_002)
        XCTAssertTrue(table.stdout.hasPrefix("x      v\n-----  ------\n1      v1\n"), String(table.stdout.prefix(60)))
        // abs() of the smallest integer overflows at the 20,000th row.
        let failing = try runKMSIndex([
            "sql", "--db", db,
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 30000) "
                + "SELECT x, abs(CASE WHEN x = 20000 THEN -9223372036854775807 - 1 ELSE x END) AS a FROM n",
            "--format", "ndjson",
        ])
        XCTAssertEqual(failing.status, 2)
        XCTAssertTrue(failing.stderr.contains("integer overflow"), failing.stderr)
        // Every row before the one that failed, and no other, in every format.
        XCTAssertEqual(failing.stdout.split(separator: "\n").count, 19_999)
        XCTAssertEqual(failing.stdout.split(separator: "\n").last, #"{"x":19999,"a":19999}"#)
        let short =
            "WITH t(n) AS (VALUES (1), (2), (3)) SELECT n, abs(CASE WHEN n = 3 THEN -9223372036854775807 - 1 ELSE n END) AS a FROM t"
        let expected = [
            "csv": "n,a\r\n1,1\r\n2,2\r\n", "table": "n  a\n-  -\n1  1\n2  2\n",
            "ndjson": #"{"n":1,"a":1}"# + "\n" + #"{"n":2,"a":2}"# + "\n",
            "json": "[\n  " + #"{"n":1,"a":1}"# + ",\n  " + #"{"n":2,"a":2}"# + "\n",
        ]
        for (format, output) in expected {
            let run = try runKMSIndex(["sql", "--db", db, short, "--format", format])
            XCTAssertEqual(run.status, 2, format)
            XCTAssertEqual(run.stdout, output, format)
        }
    }

    func testSQLRefusesWritesAndLeavesTheFileAlone() throws {
        let dir = try TempDir()
        let db = try fixtureIndex(dir)
        // A read-only connection may create an empty -wal where there was none: no content changes.
        let main = fileBytes(db), wal = fileBytes(db + "-wal") ?? Data()
        let attached = dir.path + "/attached.sqlite"
        for sql in ReadOnlySQLTests.writes.map({ $0.replacingOccurrences(of: "ATTACHED", with: attached) }) {
            let run = try runKMSIndex(["sql", "--db", db, sql])
            XCTAssertEqual(run.status, 2, sql)
            XCTAssertEqual(run.stdout, "", sql)
            XCTAssertTrue(run.stderr.contains("could change the index") || run.stderr.contains("is refused"), "\(sql): \(run.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: attached))
        XCTAssertEqual(fileBytes(db), main)
        XCTAssertEqual(fileBytes(db + "-wal") ?? Data(), wal)
        let still = try runKMSIndex(["sql", "--db", db, "SELECT count(*) FROM events"])
        XCTAssertEqual(still.stdout, "count(*)\n--------\n\(queryFixtureRecords.count)\n")
    }

    func testUserAgentsAreEscapedInTablesAndIntactInJSON() throws {
        let dir = try TempDir()
        let evil = "ua\u{1b}[2J\nnext"
        let db = try fixtureIndex(
            dir,
            [
                queryRecord(
                    "e1", "Decrypt", "2024-03-01T00:00:00Z", requestParameters: Q.context(object: Q.log1),
                    error: ("AccessDenied", "no\u{1b}]0;title\u{07}"), userAgent: evil)
            ])
        let table = try runKMSIndex(["sql", "--db", db, "SELECT user_agent FROM kms_events"])
        XCTAssertFalse(table.stdout.contains("\u{1b}"))
        XCTAssertEqual(table.stdout, "user_agent\n---------------\nua\\x1b[2J\\nnext\n")
        let asJSON = try runKMSIndex(["sql", "--db", db, "SELECT user_agent FROM kms_events", "--format", "json"])
        XCTAssertEqual((json(asJSON.stdout) as? [[String: String]])?.first?["user_agent"], evil)
        let reads = try runKMSIndex(["reads", "--db", db, "--principal", "alice", "--format", "ndjson"])
        XCTAssertEqual((json(reads.stdout) as? [String: Any])?["user_agent"] as? String, evil)
        let denied = try runKMSIndex(["denied", "--db", db])
        XCTAssertFalse(denied.stdout.contains("\u{1b}"))
        XCTAssertTrue(denied.stdout.contains("no\\x1b]0;title\\x07"), denied.stdout)
    }

    /// `key` of an alias that only records without `resources` name: not "no calls".
    func testKeySaysHowManyCallsNamedOnlyTheAlias() throws {
        let dir = try TempDir()
        let db = try fixtureIndex(
            dir,
            queryFixtureRecords + [
                queryRecord("o1", "Encrypt", "2020-05-01T10:00:00Z", requestParameters: #"{"keyId":"alias/old"}"#, key: nil),
                queryRecord("o2", "Encrypt", "2020-05-02T10:00:00Z", requestParameters: #"{"keyId":"alias/app"}"#, key: nil),
            ])
        let old = try runKMSIndex(["key", "--db", db, "alias/old"])
        XCTAssertEqual(old.status, 1)
        XCTAssertEqual(old.stdout, "")
        XCTAssertEqual(
            old.stderr,
            "kmsindex: no key in the index matches alias/old; 1 call named alias/old without naming a key ARN (records from "
                + "before late 2022 may lack resources); `kmsindex usage --key alias/old` counts them\n")
        let app = try runKMSIndex(["key", "--db", db, "alias/app", "--format", "json"])
        XCTAssertEqual(app.status, 0, app.stderr)
        XCTAssertNotNil(json(app.stdout))
        XCTAssertEqual(
            app.stderr,
            "kmsindex: not in this report: 1 call named alias/app without naming a key ARN (records from "
                + "before late 2022 may lack resources); `kmsindex usage --key alias/app` counts them\n")
        let nothing = try runKMSIndex(["key", "--db", db, "alias/none"])
        XCTAssertEqual(nothing.stderr, "kmsindex: no key in the index matches alias/none\n")
        // The text as given is the user's: escaped in the message, bound in the SQL.
        let hostile = try runKMSIndex(["key", "--db", db, "alias/\u{1B}[2J'; DROP TABLE events; --"])
        XCTAssertEqual(hostile.status, 1)
        XCTAssertEqual(hostile.stderr, "kmsindex: no key in the index matches alias/\\x1b[2J'; DROP TABLE events; --\n")
        let phrase = try runKMSIndex(["reads", "--db", db, "--principal", "AWSAccount: \u{1B}[2J' OR 1=1 --"])
        XCTAssertEqual(phrase.status, 1)
        XCTAssertEqual(phrase.stderr, "kmsindex: no principal in the index matches AWSAccount: \\x1b[2J' OR 1=1 --\n")
        XCTAssertEqual(try runKMSIndex(["key", "--db", db, "alias/old"]).status, 1)
        XCTAssertEqual(try runKMSIndex(["key", "--db", db, Q.key1]).status, 0)
        let quiet = try runKMSIndex(["key", "--db", db, Q.key1, "--format", "json"])
        XCTAssertEqual(quiet.stderr, "")
    }
}

/// Text holding a NUL is printed whole by every command (`\u0000` in JSON), not cut there:
/// a caller could otherwise hide the rest of a user agent or a message behind one.
final class NULTextTests: XCTestCase {
    func testEveryCommandPrintsTextWithANULWhole() throws {
        let dir = try TempDir()
        let key = "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"
        let identity =
            #"{"type":"AssumedRole","principalId":"AROAEXAMPLE:sess\u0000tail","arn":"arn:aws:sts::111122223333:assumed-role/Nul/sess\u0000tail","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Nul","accountId":"111122223333"}}}"#
        let record = kmsRecord(
            identity: identity,
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/dir/file\u0000x.txt","c":"v\u0000w"}}"#,
            error: ("AccessDenied", "denied\u{0} but allowed"), userAgent: "agent\u{0}hidden")
        try dir.write(logPath(), gzip(logFile([record])))
        let db = dir.path + "/index.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", db, dir.path + "/AWSLogs"]).status, 0)
        // who-read of an ARN a command line cannot hold (no argument holds a NUL), in process.
        var reads: [EventRow] = []
        try IndexDatabase.openForReading(path: db).queue.read { db in
            let id = try Int64.fetchOne(db, sql: "SELECT id FROM s3_objects")!
            let object = KnownObject(id: id, arn: "", kind: "object", bucket: "bucket")
            try WhoRead(db).forEachEvent(of: object, s3: [], writes: { _ in }, read: { reads.append($0) })
        }
        XCTAssertEqual(reads.map(\.sessionName), ["sess\u{0}tail"])
        XCTAssertEqual(reads.map(\.errorMessage), ["denied\u{0} but allowed"])
        XCTAssertEqual(reads.map(\.userAgent), ["agent\u{0}hidden"])
        let runs = [
            ["reads", "--db", db, "--format", "json", "--principal", "arn:aws:iam::111122223333:role/Nul"],
            ["denied", "--db", db, "--format", "json"],
            ["key", "--db", db, "--format", "json", key],
        ]
        let expected: [[String]] = [
            [#"sess\u0000tail"#, #"denied\u0000 but allowed"#, #"agent\u0000hidden"#, #"dir/file\u0000x.txt"#, #"v\u0000w"#],
            [#"sess\u0000tail"#, #"denied\u0000 but allowed"#],
            [#"sess\u0000tail"#, #"denied\u0000 but allowed"#, #"dir/file\u0000x.txt"#],
        ]
        for (arguments, texts) in zip(runs, expected) {
            let run = try runBinary(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments[0]): \(run.stderr)")
            for text in texts { XCTAssertTrue(run.stdout.contains(text), "\(arguments[0]) cut \(text): \(run.stdout)") }
        }
    }
}
