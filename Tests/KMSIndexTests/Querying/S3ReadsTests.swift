import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Reads of S3 objects from S3 data events: which are kept (`--s3-reads`), whatever the file
/// order, and how who-read lists them with the KMS Decrypts.
final class S3ReadsTests: XCTestCase {
    static let bucketKeysObject = "arn:aws:s3:::bk-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f1.json.gz"

    /// An S3 data event as CloudTrail writes it.
    static func s3Event(
        _ id: String, _ name: String, _ time: String, bucket: String, key: String,
        identity: String = Q.aliceIdentity, bytes: Int? = nil, error: String? = nil,
        copySource: String? = nil, category: String? = "Data", sourceIP: String = "198.51.100.9"
    ) -> String {
        var parameters = #""bucketName":"\#(bucket)","Host":"\#(bucket).s3.us-west-2.amazonaws.com","key":"\#(key)""#
        if let copySource { parameters += #","x-amz-copy-source":"\#(copySource)""# }
        var fields = [
            #""eventVersion":"1.09""#, #""userIdentity":"# + identity, #""eventTime":"\#(time)""#,
            #""eventSource":"s3.amazonaws.com""#, #""eventName":"\#(name)""#, #""awsRegion":"us-west-2""#,
            #""sourceIPAddress":"\#(sourceIP)""#, #""userAgent":"[aws-cli/2.15.0]""#,
            #""requestParameters":{\#(parameters)}"#, #""responseElements":null"#,
        ]
        if let error { fields += [#""errorCode":"\#(error)""#, #""errorMessage":"Access Denied""#] }
        if let bytes {
            fields.append(#""additionalEventData":{"SSEApplied":"SSE_KMS","bytesTransferredIn":0,"bytesTransferredOut":\#(bytes)}"#)
        }
        fields += [
            #""requestID":"R\#(id)""#, #""eventID":"\#(id)""#, #""readOnly":true"#,
            #""resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::\#(bucket)/\#(key)"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::\#(bucket)"}]"#,
            #""eventType":"AwsApiCall""#, #""managementEvent":\#(category == nil ? "false" : "false")"#,
            #""recipientAccountId":"111122223333""#,
        ]
        if let category { fields.append(#""eventCategory":"\#(category)""#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// KMS events: the query fixture (log files of `logs-bucket`, SSE-KMS), and a Decrypt of
    /// the Bucket Keys log bucket `bk-logs` that names only the bucket.
    static let kmsRecords =
        queryFixtureRecords + [
            queryRecord(
                "bk1", "Decrypt", "2024-03-01T12:00:00Z", identity: Q.reader("s1"),
                requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bk-logs"}}"#)
        ]

    static let log1Key = String(Q.log1.dropFirst("arn:aws:s3:::logs-bucket/".count))

    /// The data-event trail's records.
    static let s3Records = [
        // The same read as the Decrypt r1 (alice, 10:00:00): one read, recorded twice.
        s3Event("g1", "GetObject", "2024-03-01T10:00:01Z", bucket: "logs-bucket", key: log1Key, bytes: 1234),
        // A read by the Reader role (s1) of the Bucket Keys bucket: only here.
        s3Event(
            "g2", "GetObject", "2024-03-01T12:00:00Z", bucket: "bk-logs",
            key: "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f1.json.gz",
            identity: Q.reader("s1"), bytes: 999),
        s3Event(
            "h1", "HeadObject", "2024-03-01T12:00:01Z", bucket: "bk-logs",
            key: "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f1.json.gz"),
        s3Event(
            "f1", "GetObject", "2024-03-01T12:00:02Z", bucket: "bk-logs",
            key: "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f1.json.gz",
            identity: Q.reader("s2"), error: "AccessDenied"),
        s3Event(
            "c1", "CopyObject", "2024-03-01T12:00:03Z", bucket: "elsewhere", key: "copy.json.gz",
            copySource: "/bk-logs/AWSLogs%2F111122223333/CloudTrail/us-west-2/2024/03/01/f1.json.gz?versionId=abc"),
        s3Event("p1", "PutObject", "2024-03-01T12:00:04Z", bucket: "bk-logs", key: "new.json.gz"),
        s3Event("u1", "GetObject", "2024-03-01T12:00:05Z", bucket: "unrelated", key: "photo.jpg", bytes: 5),
        s3Event("m1", "GetObject", "2024-03-01T12:00:06Z", bucket: "bk-logs", key: "mgmt", category: "Management"),
    ]

    /// A tree of two files (KMS events, data events) ingested with `mode`, in the order given.
    func index(_ dir: TempDir, mode: S3ReadMode, s3First: Bool = false) throws -> IndexDatabase {
        let kmsPath = dir.path + "/logs/" + logPath(stamp: "20240301T0005Z", unique: "kms")
        let s3Path = dir.path + "/logs/" + logPath(stamp: "20240301T0010Z", unique: "data")
        try dir.write("logs/" + logPath(stamp: "20240301T0005Z", unique: "kms"), gzip(logFile(Self.kmsRecords)))
        try dir.write("logs/" + logPath(stamp: "20240301T0010Z", unique: "data"), gzip(logFile(Self.s3Records)))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: s3First ? [s3Path, kmsPath] : [kmsPath, s3Path])
        options.jobs = 1
        options.largestFirst = false
        options.s3Reads = mode
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.filesFailed, 0)
        return index
    }

    func whoReadRows(_ index: IndexDatabase, _ object: String) throws -> [String] {
        try whoRead(index, object).reads.map {
            "\($0.source) \($0.eventName) \($0.eventID) \($0.principalARN ?? "-") \($0.result) \($0.bytes.map(String.init) ?? "-") \($0.readID ?? "-")"
        }
    }

    func testWhoReadListsBothSourcesWithPairs() throws {
        let dir = try TempDir()
        let index = try index(dir, mode: .auto)
        XCTAssertEqual(
            try whoReadRows(index, Q.log1),
            [
                "kms Decrypt r1 \(Q.alice) OK - g1",
                "s3 GetObject g1 \(Q.alice) OK 1234 g1",
                "kms Decrypt r2 arn:aws:sts::111122223333:assumed-role/Reader/s1 OK - -",
            ])
        let session = "arn:aws:sts::111122223333:assumed-role/Reader/"
        XCTAssertEqual(
            try whoReadRows(index, Self.bucketKeysObject),
            [
                "s3 GetObject g2 \(session)s1 OK 999 -",
                "s3 GetObject f1 \(session)s2 AccessDenied - -",
                "s3 CopyObject c1 \(Q.alice) OK - -",
            ])
        let stored = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT event_id FROM object_reads_all WHERE source = 's3' ORDER BY event_time_ms, event_id")
        }
        XCTAssertEqual(stored, ["g1", "g2", "f1", "c1"])
        // An own principal's read recorded twice is one read left out.
        try index.queue.write { db in _ = try OwnPrincipals.add(db, arn: Q.alice) }
        let (shown, hidden) = OwnPrincipals.visible(try whoRead(index, Q.log1).reads, all: false)
        XCTAssertEqual(shown.map(\.eventID), ["r2"])
        XCTAssertEqual(hidden, 1)
        try index.queue.write { db in _ = try OwnPrincipals.remove(db, arn: Q.alice) }
        // `reads --principal` follows.
        let reads = try index.queue.read { db in try PrincipalReads(db).reads(principal: "Reader", filter: QueryFilter()) }
        XCTAssertEqual(reads.map(\.eventID), ["r2", "bk1", "g2", "f1", "r3", "r4"])
    }

    /// `reads`'s table shows a read S3 and KMS both recorded as one row, as who-read's does:
    /// the S3 record with the Decrypt's key. JSON keeps both records, with one read_id.
    func testReadsTableShowsAReadRecordedTwiceOnce() throws {
        let dir = try TempDir()
        _ = try index(dir, mode: .auto)
        let db = dir.path + "/index.sqlite"
        let table = try runKMSIndex(["reads", "--db", db, "--principal", Q.alice, "--until", "2024-03-01T23:00:00Z"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n").dropFirst(2)
        XCTAssertEqual(lines.filter { $0.contains(Q.log1) }.count, 1, table.stdout)
        let read = try XCTUnwrap(lines.first { $0.contains(Q.log1) })
        XCTAssertTrue(read.hasPrefix("2024-03-01T10:00:01Z"), String(read))
        XCTAssertTrue(read.contains(Q.key1), String(read))
        // Where each read was recorded, S3's operation and bytes, as in who-read's table.
        let header = try XCTUnwrap(table.stdout.split(separator: "\n").first)
        XCTAssertEqual(
            header.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "),
            "TIME PRINCIPAL RESULT SOURCE OPERATION OBJECT OR CONTEXT BYTES KEY REGION")
        XCTAssertTrue(read.contains("s3+kms") && read.contains("GetObject") && read.contains("1234"), String(read))
        let json = try runKMSIndex(["reads", "--db", db, "--principal", Q.alice, "--until", "2024-03-01T23:00:00Z", "--format", "json"])
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let log1Rows = rows.filter { $0["object_arn"] as? String == Q.log1 }
        XCTAssertEqual(log1Rows.map { $0["source"] as? String }, ["kms", "s3"])
        XCTAssertEqual(Set(log1Rows.map { $0["read_id"] as? String }), ["g1"])
    }

    /// Both halves of `object_reads_all` write times alike, to the millisecond CloudTrail gave:
    /// sorted by `event_time`, the rows of a second keep their order.
    func testObjectReadsAllWritesMillisecondsForBothSources() throws {
        let dir = try TempDir()
        let path = try dir.write(
            "logs/" + logPath(stamp: "20240301T1000Z", unique: "fractions"),
            gzip(
                logFile([
                    Self.s3Event("s-late", "GetObject", "2024-03-01T10:00:00.5Z", bucket: "b", key: "k"),
                    Self.s3Event("s-whole", "GetObject", "2024-03-01T10:00:00Z", bucket: "b", key: "k"),
                    queryRecord(
                        "k-mid", "Decrypt", "2024-03-01T10:00:00.25Z", identity: Q.aliceIdentity,
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/k"}}"#),
                ])))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [path])
        options.s3Reads = .all
        _ = try Ingester(database: index, options: options).run()
        let rows = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT event_id || ' ' || event_time FROM object_reads_all ORDER BY event_time_ms")
        }
        XCTAssertEqual(rows, ["s-whole 2024-03-01T10:00:00Z", "k-mid 2024-03-01T10:00:00.25Z", "s-late 2024-03-01T10:00:00.5Z"])
    }

    /// An object of a bucket that KMS also names whole (Bucket Keys): its S3 reads are listed,
    /// and who-read says the Decrypts on the bucket are not among them.
    func testWhoReadOfABucketKeysObjectWithS3ReadsSaysWhatIsNotListed() throws {
        let dir = try TempDir()
        _ = try index(dir, mode: .auto)
        let run = try runKMSIndex([
            "who-read", "--db", dir.path + "/index.sqlite", "s3://bk-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f1.json.gz",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("bucket-level encryption contexts (S3 Bucket Keys)"), run.stderr)
        XCTAssertTrue(run.stderr.contains("who-read s3://bk-logs lists them"), run.stderr)
        // An object no read names: the data events of its bucket are indexed, and say so,
        // rather than advice to record them.
        let none = try runKMSIndex(["who-read", "--db", dir.path + "/index.sqlite", "s3://bk-logs/never.json.gz"])
        XCTAssertEqual(none.status, 1, none.stderr)
        XCTAssertTrue(none.stderr.contains("S3 data events of the bucket are in the index, and record no read of it"), none.stderr)
        XCTAssertFalse(none.stderr.contains("event selector"), none.stderr)
    }

    /// `reads --limit N` shows N reads: a read S3 and KMS both recorded is one of them, in the
    /// table as one row, in JSON as both its records, the later one included.
    func testReadsLimitCountsReadsNotRecords() throws {
        let dir = try TempDir()
        _ = try index(dir, mode: .auto)
        let db = dir.path + "/index.sqlite"
        // Alice's reads: r1 (a Decrypt) and g1 (S3's record of the same read), then c1 (a copy).
        func table(_ limit: Int) throws -> [String] {
            let run = try runKMSIndex(["reads", "--db", db, "--principal", Q.alice, "--limit", String(limit)])
            XCTAssertEqual(run.status, 0, run.stderr)
            return run.stdout.split(separator: "\n").dropFirst(2).map(String.init)
        }
        let one = try table(1)
        XCTAssertEqual(one.count, 1, one.joined(separator: "\n"))
        // The S3 record (10:00:01; the Decrypt was at 10:00:00), with the Decrypt's key.
        XCTAssertTrue(one.first?.hasPrefix("2024-03-01T10:00:01Z") == true && one.first?.contains(Q.key1) == true, "\(one)")
        let two = try table(2)
        XCTAssertEqual(two.count, 2, two.joined(separator: "\n"))
        XCTAssertTrue(two.last?.hasPrefix("2024-03-01T12:00:03Z") == true, "the copy last: \(two)")
        func jsonIDs(_ limit: Int) throws -> [String] {
            let run = try runKMSIndex(["reads", "--db", db, "--principal", Q.alice, "--limit", String(limit), "--format", "json"])
            let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
            return rows.map { $0["event_id"] as? String ?? "?" }
        }
        XCTAssertEqual(try jsonIDs(1), ["r1", "g1"])
        XCTAssertEqual(try jsonIDs(2), ["r1", "g1", "c1"])
        XCTAssertEqual(try jsonIDs(3), ["r1", "g1", "c1"])
    }

    /// Reads the table leaves out (an own principal's) do not use up `--limit`.
    func testReadsLimitCountsOnlyTheReadsShown() throws {
        let dir = try TempDir()
        let index = try index(dir, mode: .auto)
        // The Reader role's reads: r2, bk1, g2 by session s1, then f1 by s2.
        try index.queue.write { db in _ = try OwnPrincipals.add(db, arn: "arn:aws:sts::111122223333:assumed-role/Reader/s1") }
        let run = try runKMSIndex(["reads", "--db", dir.path + "/index.sqlite", "--principal", "Reader", "--limit", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = run.stdout.split(separator: "\n").dropFirst(2)
        XCTAssertEqual(rows.count, 1, run.stdout)
        XCTAssertTrue(rows.first?.hasPrefix("2024-03-01T12:00:02Z") == true, "f1, by s2: \(run.stdout)")
    }

    /// Held a pairing window at most, and handed on in order: either record first, a row whose
    /// partner never comes, and rows between.
    func testPairedRowsAreOneRowInTimeOrder() throws {
        func row(_ id: String, _ source: String, _ ms: Int64, readID: String? = nil, key: String? = nil) -> EventRow {
            var r = EventRow(eventTime: "", eventName: source == "s3" ? "GetObject" : "Decrypt", eventID: id)
            r.source = source
            r.eventTimeMs = ms
            r.readID = readID
            r.keyARN = key
            return r
        }
        var out: [String] = []
        var rows = PairedReadRows { out.append("\($0.eventID) \($0.source) \($0.keyARN ?? "-")") }
        try rows.add(row("k1", "kms", 1_000, readID: "s1", key: "K"))
        try rows.add(row("a", "kms", 1_500, key: "K"))
        try rows.add(row("s1", "s3", 2_000, readID: "s1"))
        try rows.add(row("s2", "s3", 3_000, readID: "s2"))
        try rows.add(row("k2", "kms", 3_500, readID: "s2", key: "K2"))
        try rows.add(row("lone", "kms", 4_000, readID: "x"))
        try rows.add(row("b", "kms", 5_000, key: "K"))
        XCTAssertEqual(out, ["s1 s3 K", "a kms K", "s2 s3 K2"])
        try rows.add(row("c", "kms", 9_500, key: "K"))
        XCTAssertEqual(out, ["s1 s3 K", "a kms K", "s2 s3 K2", "lone kms -", "b kms K", "c kms K"])
        try rows.finish()
        XCTAssertEqual(out.count, 6)
        // Many rows: one each, whatever was dropped from the front meanwhile.
        out = []
        var many = PairedReadRows { out.append($0.eventID) }
        for n in 0..<5_000 {
            try many.add(row("k\(n)", "kms", Int64(n) * 1_000, readID: "r\(n)"))
            try many.add(row("s\(n)", "s3", Int64(n) * 1_000 + 1, readID: "r\(n)"))
        }
        try many.finish()
        XCTAssertEqual(out, (0..<5_000).map { "s\($0)" })
    }

    func testModesKeepWhatTheySay() throws {
        func s3IDs(_ mode: S3ReadMode) throws -> [String] {
            let dir = try TempDir()
            let index = try index(dir, mode: mode)
            return try index.queue.read { db in
                try String.fetchAll(db, sql: "SELECT event_id FROM object_reads_all WHERE source = 's3' ORDER BY event_id")
            }
        }
        XCTAssertEqual(try s3IDs(.none), [])
        XCTAssertEqual(try s3IDs(.auto), ["c1", "f1", "g1", "g2"])
        XCTAssertEqual(try s3IDs(.all), ["c1", "f1", "g1", "g2", "u1"])
        XCTAssertEqual(try s3IDs(.buckets(["unrelated"])), ["u1"])
        XCTAssertEqual(S3ReadMode(argument: "a,b"), .buckets(["a", "b"]))
        // Spaces around names are the list's; a name no bucket can have is refused.
        XCTAssertEqual(S3ReadMode(argument: "logs-bucket, Legacy_Bucket.1 "), .buckets(["logs-bucket", "Legacy_Bucket.1"]))
        XCTAssertNil(S3ReadMode(argument: "logs bucket"))
        XCTAssertNil(S3ReadMode(argument: "logs-bucket,bk?"))
        XCTAssertNil(S3ReadMode(argument: ","))
        XCTAssertNil(S3ReadMode(argument: "s3://x"))
        XCTAssertNil(S3ReadMode(argument: "Auto"), "a mistyped mode, not a bucket")
        XCTAssertNil(S3ReadMode(argument: "NONE"))
        XCTAssertEqual(S3ReadMode(argument: "auto-logs"), .buckets(["auto-logs"]))
    }

    /// `none` gives the index of a tree without data events; `auto` the same index whatever the order.
    func testNoneIsTodaysIndexAndAutoIgnoresFileOrder() throws {
        let a = try TempDir(), b = try TempDir(), c = try TempDir(), d = try TempDir()
        let forward = try index(a, mode: .auto), reverse = try index(b, mode: .auto, s3First: true)
        XCTAssertEqual(try tableContents(forward), try tableContents(reverse))
        let none = try index(c, mode: .none)
        // The same files without their data events' effects: the index of before this change.
        let noneReverse = try index(d, mode: .none, s3First: true)
        XCTAssertEqual(try tableContents(none), try tableContents(noneReverse))
        let contents = try tableContents(none)
        XCTAssertEqual(contents["s3_reads"], [])
        XCTAssertEqual(contents["s3_reads_staged"], [])
        XCTAssertFalse(contents["s3_objects"]!.contains { $0.contains("bk-logs") && $0.contains("f1.json.gz") })
    }

    /// Migration 019 turns a killed run's notes (file, bucket name) into (file, hash of the
    /// name), which the next run's end reads as it reads its own.
    func testMigration19KeepsTheNotesOfAKilledRun() throws {
        let dir = try TempDir()
        let queue = try indexBefore(migration: "019", at: dir.path + "/v18.sqlite")
        let notes = [(1, "bk-logs"), (1, "logs-bucket"), (2, "bk-logs"), (2, "unrelated")]
        try queue.write { db in
            // The ledger's rows as schema 18 wrote them.
            try db.execute(sql: "INSERT INTO ledger_dirs (id, path) VALUES (1, 'a')")
            for (id, path) in [(1, "a/one.json.gz"), (2, "a/two.json.gz")] {
                try db.execute(
                    sql: """
                        INSERT INTO ledger_files (id, dir_id, name, path_hash, size, mtime_ns, outcome, read_at)
                        VALUES (?, 1, ?, ?, 1, 1, 0, 1)
                        """, arguments: [id, LedgerPath.split(path).name, LedgerPath.hash(path)])
            }
            for (file, bucket) in notes {
                try db.execute(
                    sql: "INSERT INTO s3_reads_staged (bucket, source_file_id) VALUES (?, ?)", arguments: [bucket, Int64(file)])
            }
        }
        try IndexDatabase.migrator.migrate(queue)
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT source_file_id, bucket_hash FROM s3_reads_staged")
            XCTAssertEqual(
                rows.map { "\($0[0] as Int64) \($0[1] as Int64)" }.sorted(),
                notes.map { "\($0.0) \(LedgerPath.hash($0.1))" }.sorted())
            // The notes are their own key: no second copy of them in an index.
            XCTAssertEqual(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 's3_reads_staged'"), 0)
        }
    }

    func testAMalformedS3ReadCostsNothingElse() throws {
        let dir = try TempDir()
        let bad = Self.s3Records[1].replacingOccurrences(of: #""eventID":"g2","#, with: "")
        try dir.write("logs/" + logPath(), gzip(logFile(Self.kmsRecords + [bad, Self.s3Records[0]])))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [dir.path + "/logs"])
        options.s3Reads = .all
        var diagnostics: [IngestDiagnostic] = []
        let summary = try Ingester(database: index, options: options).run { diagnostics.append($0) }
        XCTAssertEqual(summary.eventsAdded, Self.kmsRecords.count)
        XCTAssertEqual(summary.s3ReadsAdded, 1)
        XCTAssertEqual(summary.duplicates, 0)
        XCTAssertEqual(summary.otherMalformedRecords, 1)
        guard case let .malformedRecords(path, 1, examples)? = diagnostics.first else { return XCTFail("\(diagnostics)") }
        XCTAssertTrue(path.hasSuffix(".json.gz"))
        XCTAssertEqual(examples.first?.reason, "S3 record without a string eventID")
    }

    /// What a caller wrote into an S3 read (its error message, a source that is not an address,
    /// an eventID that is not a UUID) is kept whole, NUL and all, as a KMS event's is: bound
    /// with GRDB's String it was cut at the NUL, and two eventIDs differing after it were one.
    func testAnS3ReadsCallerWrittenTextsKeepTheirNUL() throws {
        let dir = try TempDir()
        func read(_ id: String, _ time: String) -> String {
            Self.s3Event(id, "GetObject", time, bucket: "bk-logs", key: "k", error: "AccessDenied", sourceIP: "1.2.3.4\\u0000evil")
                .replacingOccurrences(of: #""errorMessage":"Access Denied""#, with: #""errorMessage":"denied\u0000after""#)
        }
        try dir.write(
            "logs/" + logPath(),
            gzip(logFile(Self.kmsRecords + [read("id\\u0000one", "2024-03-01T12:00:00Z"), read("id\\u0000two", "2024-03-01T12:00:00Z")])))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [dir.path + "/logs"])
        options.s3Reads = .all
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.s3ReadsAdded, 2)
        let rows = try index.queue.read { db in
            try Array(
                Row.fetchCursor(db, sql: "SELECT event_id, source_ip, error_message FROM s3_read_events ORDER BY event_id")
                    .map { row in (0..<3).map { row.text($0) } })
        }
        XCTAssertEqual(
            rows,
            [
                ["id\u{0}one", "1.2.3.4\u{0}evil", "denied\u{0}after"], ["id\u{0}two", "1.2.3.4\u{0}evil", "denied\u{0}after"],
            ])
        // Ingested again: the same two reads, not two more.
        XCTAssertEqual(try Ingester(database: index, options: options).run().s3ReadsAdded, 0)
    }

    /// Bytes written as a float (`2048.0`, as real records do) are kept as an integer; a copy
    /// through an access point, whose source names no bucket, is a malformed record, not a read
    /// of a bucket that does not exist.
    func testFloatBytesAndAccessPointCopies() throws {
        let dir = try TempDir()
        let float = Self.s3Event("f1", "GetObject", "2024-03-01T10:00:01Z", bucket: "data", key: "a.bin", bytes: 7)
            .replacingOccurrences(of: #""bytesTransferredOut":7"#, with: #""bytesTransferredOut":2048.0"#)
        let viaAccessPoint = Self.s3Event(
            "c1", "CopyObject", "2024-03-01T10:00:02Z", bucket: "data", key: "copy.bin",
            copySource: "arn%3Aaws%3As3%3Aus-west-2%3A111122223333%3Aaccesspoint%2Fmy-ap%2Fobject%2Fsrc.bin")
        try dir.write("logs/" + logPath(), gzip(logFile([float, viaAccessPoint])))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [dir.path + "/logs"])
        options.s3Reads = .all
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.s3ReadsAdded, 1)
        XCTAssertEqual(summary.otherMalformedRecords, 1)
        XCTAssertEqual(try count(index, "SELECT bytes FROM s3_reads"), 2048)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_buckets WHERE name LIKE 'arn:%'"), 0)
    }

    func testPruneAndMergeKeepS3Reads() throws {
        let dir = try TempDir()
        let shard = try index(dir, mode: .auto)
        let destDir = try TempDir()
        let dest = try makeIndex(destDir)
        let merged = try IndexMerger(destination: dest).merge(shardPath: shard.path)
        XCTAssertEqual(merged.rowsAdded["s3_reads"], 4)
        XCTAssertEqual(try tableContents(dest), try tableContents(shard))
        let pruned = try Maintenance.prune(dest, before: "2024-03-01T11:00:00Z")
        XCTAssertEqual(pruned.s3Reads, 1)  // g1, the only S3 read before 11:00
        XCTAssertEqual(try whoReadRows(dest, Self.bucketKeysObject).count, 3)
    }

    /// A `sharedEventID` that is empty, not a string or shared by a third record of the same
    /// object pairs nothing it should not: every read is kept and listed, and the pair stays one.
    func testOddSharedEventIDsPairNothingElse() throws {
        let key = "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f3.json.gz"
        func read(_ id: String, _ time: String, shared: String) -> String {
            Self.s3Event(id, "GetObject", time, bucket: "bk-logs", key: key, identity: Q.reader("s1"))
                .replacingOccurrences(of: #""eventID":"\#(id)""#, with: #""eventID":"\#(id)","sharedEventID":\#(shared)"#)
        }
        let owner = CrossAccountCopiesTests.ownerIdentity(account: "111122223333", principalID: "AROAREADER:s1")
        let records = [
            read("e1", "2024-03-01T14:00:00Z", shared: #""""#),
            read("e2", "2024-03-01T14:00:00Z", shared: #""""#),
            read("n1", "2024-03-01T14:00:01Z", shared: "42"),
            read("n2", "2024-03-01T14:00:01Z", shared: "{\"a\":1}"),
            read("p1", "2024-03-01T14:00:02Z", shared: #""5ea7ed00-0000-4000-8000-000000000009""#),
            Self.s3Event("p2", "GetObject", "2024-03-01T14:00:02Z", bucket: "bk-logs", key: key, identity: owner)
                .replacingOccurrences(
                    of: #""eventID":"p2""#, with: #""eventID":"p2","sharedEventID":"5ea7ed00-0000-4000-8000-000000000009""#),
            read("p3", "2024-03-01T14:00:02Z", shared: #""5ea7ed00-0000-4000-8000-000000000009""#),
        ]
        let dir = try TempDir()
        try dir.write("logs/" + logPath(stamp: "20240301T1405Z", unique: "odd"), gzip(logFile(records)))
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [dir.path + "/logs"])
        options.s3Reads = .all
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.filesFailed, 0)
        XCTAssertEqual(summary.s3ReadsAdded, 7)
        let reads = try whoRead(index, "arn:aws:s3:::bk-logs/" + key).reads
        XCTAssertEqual(reads.map(\.eventID), ["e1", "e2", "n1", "n2", "p1", "p2", "p3"])
        // Only p1 and p2 pair (the first of the role's records with the account's); p3 stays alone.
        XCTAssertEqual(reads.map { $0.readID ?? "-" }, ["-", "-", "-", "-", "p1", "p1", "-"])
        XCTAssertEqual(reads.filter(\.isOwnerCopy).map(\.eventID), ["p2"])
    }

    /// An S3 read logged in both accounts (the caller's and the bucket owner's, under one
    /// `sharedEventID`) is one read: both records are kept, with one `read_id`; who-read's table
    /// lists it once, as the caller's; a finding counts it once; the same after a merge of the
    /// two accounts' shards.
    func testAnS3ReadLoggedInBothAccountsIsOneRead() throws {
        typealias C = CrossAccountCopiesTests
        let key = "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/111122223333_CloudTrail_us-west-2_20240301T0000Z_x.json.gz"
        let other = key.replacingOccurrences(of: "_x.json", with: "_y.json")
        let object = "arn:aws:s3:::bk-logs/" + key
        func copy(_ id: String, shared: Int, at time: String, owner: Bool, accountNamed: Bool = true, key: String = key) -> String {
            let identity =
                owner && accountNamed
                ? C.ownerIdentity(account: C.callerAccount, principalID: "AROAAUDITOR:s1") : C.callerIdentity("s1")
            var record = Self.s3Event(id, "GetObject", time, bucket: "bk-logs", key: key, identity: identity, bytes: 7)
            record = record.replacingOccurrences(
                of: #""eventID":"\#(id)""#, with: #""eventID":"\#(id)","sharedEventID":"\#(C.sharedID(shared))""#)
            if !owner {
                record = record.replacingOccurrences(
                    of: #""recipientAccountId":"111122223333""#, with: #""recipientAccountId":"\#(C.callerAccount)""#)
            }
            return record
        }
        // x: the owner's record names the caller as an AWSAccount; y: both name the role, the
        // owner's is delivered to the bucket's account; z: one id on two objects, not one read.
        let ownerRecords = [
            copy("x1", shared: 1, at: "2024-03-01T13:00:00Z", owner: true),
            copy("y1", shared: 2, at: "2024-03-01T13:01:00Z", owner: true, accountNamed: false),
            copy("z1", shared: 3, at: "2024-03-01T13:02:00Z", owner: true),
        ]
        let callerRecords = [
            copy("x2", shared: 1, at: "2024-03-01T13:00:00Z", owner: false),
            copy("y2", shared: 2, at: "2024-03-01T13:01:00Z", owner: false),
            copy("z2", shared: 3, at: "2024-03-01T13:02:00Z", owner: false, key: other),
        ]
        let dir = try TempDir()
        try dir.write("whole/" + logPath(stamp: "20240301T1305Z", unique: "owner"), gzip(logFile(ownerRecords)))
        try dir.write(
            "whole/" + logPath(account: C.callerAccount, stamp: "20240301T1305Z", unique: "caller"), gzip(logFile(callerRecords)))
        let whole = dir.path + "/whole.sqlite"
        let ingest = try runKMSIndex(["ingest", "-q", "--s3-reads", "all", "--db", whole, dir.path + "/whole"])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        // The two accounts' logs in two shards, merged.
        var shards: [String] = []
        for account in ["111122223333", C.callerAccount] {
            let shard = dir.path + "/\(account).sqlite"
            let run = try runKMSIndex(["ingest", "-q", "--s3-reads", "all", "--db", shard, dir.path + "/whole/AWSLogs/" + account])
            XCTAssertEqual(run.status, 0, run.stderr)
            shards.append(shard)
        }
        let merged = dir.path + "/merged.sqlite"
        let merge = try runKMSIndex(["merge", "-q", "--db", merged] + shards)
        XCTAssertEqual(merge.status, 0, merge.stderr)

        for db in [whole, merged] {
            let json = try runKMSIndex(["who-read", "--db", db, object, "--format", "json"])
            XCTAssertEqual(json.status, 0, json.stderr)
            let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            XCTAssertEqual(rows.map { $0["event_id"] as? String ?? "-" }, ["x1", "x2", "y1", "y2", "z1"], db)
            XCTAssertEqual(rows.map { $0["read_id"] as? String ?? "-" }, ["x2", "x2", "y2", "y2", "-"], db)
            // The table: one row per read, the caller's.
            let table = try runKMSIndex(["who-read", "--db", db, object])
            XCTAssertEqual(table.status, 0, table.stderr)
            let lines = table.stdout.split(separator: "\n").filter { $0.hasPrefix("2024-") }
            XCTAssertEqual(lines.count, 3, table.stdout)
            XCTAssertEqual(lines.filter { $0.contains("role/Auditor (session s1)") }.count, 2, table.stdout)
            XCTAssertEqual(lines.filter { $0.contains("AWSAccount") }.count, 1, table.stdout)
            // `reads` of the role: both of y's records are the role's, one row of the table.
            let reads = try runKMSIndex(["reads", "--db", db, "--principal", C.role])
            XCTAssertEqual(reads.status, 0, reads.stderr)
            XCTAssertEqual(reads.stdout.split(separator: "\n").filter { $0.hasPrefix("2024-") }.count, 3, reads.stdout)
            let readsJSON = try runKMSIndex(["reads", "--db", db, "--principal", C.role, "--format", "json"])
            let readRows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(readsJSON.stdout.utf8)) as? [[String: Any]])
            XCTAssertEqual(readRows.map { $0["event_id"] as? String ?? "-" }, ["x2", "y1", "y2", "z2"], db)
            // A finding counts the read once, under the caller's record; z1's object alone is
            // read by the account.
            let index = try IndexDatabase.openForReading(path: db)
            let readers = try index.queue.read { db in try LogReadFindings.find(db, FindingsScope(db, window: .all)) }
                .filter { $0.kind == .newLogReader }
            XCTAssertEqual(readers.map { "\($0.principal ?? "-") \($0.events)" }, ["AWSAccount: \(C.callerAccount) 1", "\(C.role) 4"], db)
        }
    }
}

/// Every table's rows with ids replaced by what they name, sorted: two indexes built in
/// different orders (different ids) compare equal when they hold the same.
func tableContents(_ index: IndexDatabase) throws -> [String: [String]] {
    try index.queue.read { db in
        var out: [String: [String]] = [:]
        let objectText =
            "(SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key) FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = %@)"
        let principalText =
            "(SELECT coalesce(arn, '') || '|' || coalesce(invoked_by, '') || '|' || coalesce(access_key_id, '') FROM principals WHERE id = %@)"
        let stringText = "(SELECT text FROM strings WHERE id = %@)"
        out["kms"] = try String.fetchAll(
            db,
            sql: """
                SELECT event_time || ' ' || event_id || ' ' || event_name || ' ' || coalesce(principal_arn, '') || ' ' || coalesce(object_arn, '')
                       || ' ' || coalesce(key_arn, '') || ' ' || coalesce(error_code, '') || ' ' || coalesce(source_ip, '')
                FROM kms_events ORDER BY 1
                """)
        out["s3_reads"] = try String.fetchAll(
            db,
            sql: """
                SELECT r.event_time || ' ' || hex(r.event_uid) || ' ' || \(String(format: stringText, "r.event_name_sid")) || ' '
                       || coalesce(\(String(format: principalText, "r.principal_id")), '') || ' ' || \(String(format: objectText, "r.object_id"))
                       || ' ' || coalesce(r.source_ip, '') || ' ' || coalesce(r.bytes, '') || ' ' || coalesce(\(String(format: stringText, "r.error_code_sid")), '')
                FROM s3_reads r ORDER BY 1
                """)
        out["s3_reads_staged"] = try String.fetchAll(db, sql: "SELECT bucket_hash FROM s3_reads_staged ORDER BY 1")
        out["s3_objects"] = try String.fetchAll(
            db, sql: "SELECT \(String(format: objectText, "x.id")) || ' ' || x.kind FROM s3_objects x ORDER BY 1")
        out["principals"] = try String.fetchAll(db, sql: "SELECT \(String(format: principalText, "x.id")) FROM principals x ORDER BY 1")
        out["context"] = try String.fetchAll(db, sql: "SELECT event_row || name || value FROM encryption_context ORDER BY 1").map {
            String($0.drop { $0.isNumber })
        }.sorted()
        // Which file added a duplicated event depends on the order: events_added is left out.
        out["files"] = try Row.fetchAll(db, sql: "SELECT path, outcome, records, kms_events FROM source_files").map { row in
            let path: String = row[0]
            return "\(path.split(separator: "/").last ?? "") \(row[1] as String) \(row[2] as Int) \(row[3] as Int)"
        }.sorted()
        out["own_principals"] = try String.fetchAll(db, sql: "SELECT arn FROM own_principals ORDER BY 1")
        for table in ["activity_totals", "trail_files", "kms_keys", "trails", "s3_buckets"] {
            out[table] = [String(try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0)]
        }
        return out
    }
}

/// Parsing with S3 reads on must release each file's reader (its buffers and its open file)
/// when the file is done: a reader kept alive by its own callback once held every file of a
/// run open, a gigabyte on CloudTrail's cadence.
final class S3ReadsParserLifetimeTests: XCTestCase {
    func testEachFilesReaderIsReleased() throws {
        let dir = try TempDir()
        let record = S3ReadsTests.s3Event("g1", "GetObject", "2024-03-01T10:00:01Z", bucket: "somewhere", key: "k")
        let paths = try (0..<64).map { try dir.write("f\($0).json.gz", gzip(logFile([record, kmsRecord()]))) }
        func openFiles() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
        for mode in [S3ReadMode.auto, .all] {
            var parser = FileParser(maxFileBytes: 1 << 20)
            parser.s3Reads = mode
            parser.knownS3Buckets = KnownS3Buckets(indexPath: dir.path + "/none.sqlite")
            let before = try openFiles()
            for path in paths {
                let result = parser.parse(InputFile(path: path, size: 1, mtimeNs: 0))
                XCTAssertEqual(result.outcome, .ingested)
            }
            XCTAssertLessThan(try openFiles() - before, 4, "\(mode): a file stays open after it was parsed")
        }
    }
}
