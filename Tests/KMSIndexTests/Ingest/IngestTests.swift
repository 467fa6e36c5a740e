import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class IngestTests: XCTestCase {
    /// A file given twice, or given and also inside a folder given, is read once: read twice,
    /// its ledger row said the second reading's count, no event added. A file the folder's
    /// walk would not read (a digest folder's) is still read when given.
    func testAFileGivenTwiceIsReadOnce() throws {
        let dir = try TempDir()
        let path = try dir.write("tree/" + logPath(), gzip(logFile([kmsRecord(eventID: "once-1"), kmsRecord(eventID: "once-2")])))
        let digestFolder = try dir.write(
            "tree/AWSLogs/111122223333/CloudTrail-Digest/x.json.gz", gzip(logFile([kmsRecord(eventID: "given")])))
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path + "/tree", path, dir.path + "/tree/./" + logPath(), digestFolder])
        XCTAssertEqual(summary.filesIngested, 2)
        XCTAssertEqual(summary.eventsAdded, 3)
        XCTAssertEqual(try count(index, "SELECT events_added FROM source_files WHERE path = ?", [path]), 2)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM source_files"), 2)
    }

    func testMultiMemberGzipIsReadWhole() throws {
        let dir = try TempDir()
        let text = logFile([kmsRecord(eventID: "m1"), s3Record(1), kmsRecord(eventID: "m2")])
        let half = text.index(text.startIndex, offsetBy: text.count / 2)
        try dir.write("logs/" + logPath(), gzip(String(text[..<half])) + gzip(String(text[half...])))
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path + "/logs"])
        XCTAssertEqual(summary.filesIngested, 1)
        XCTAssertEqual(summary.eventsAdded, 2)
    }

    func testBadFilesAreReportedAndRecordedAndTheRestIsIndexed() throws {
        let dir = try TempDir()
        let good = gzip(logFile([kmsRecord(eventID: "good-1")]))
        try dir.write("logs/" + logPath(unique: "good0000000000001"), good)
        let truncatedPath = try dir.write("logs/" + logPath(unique: "trunc000000000001"), good.prefix(good.count - 20))
        let notJSON = try dir.write("logs/" + logPath(unique: "notjson0000000001"), gzip("this is not json"))
        try dir.write("logs/" + logPath(unique: "good0000000000002"), gzip(logFile([kmsRecord(eventID: "good-2")])))
        let index = try makeIndex(dir)
        let (summary, diagnostics) = try ingest(index, [dir.path + "/logs"])
        XCTAssertEqual(summary.filesIngested, 2)
        XCTAssertEqual(summary.eventsAdded, 2)
        XCTAssertEqual(
            summary.failed,
            [
                truncatedPath: ReadError.truncatedGzip.description,
                notJSON: "invalid JSON at byte 0: invalid literal this",
            ])
        XCTAssertEqual(diagnostics.count, 2)
        let failedRows = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT path, reason FROM source_files WHERE outcome = 'failed' ORDER BY path")
        }
        XCTAssertEqual(failedRows.map { $0["path"] as String }, [notJSON, truncatedPath])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 2)
    }

    func testDigestInsightAndOtherFilesAreSkippedWithTheirReason() throws {
        let dir = try TempDir()
        try dir.write(
            "AWSLogs/111122223333/CloudTrail-Digest/us-west-2/2024/03/01/111122223333_CloudTrail-Digest_us-west-2_t_us-west-2_20240301T010000Z.json.gz",
            gzip(#"{"digestStartTime":"2024-03-01T00:00:00Z","logFiles":[]}"#))
        try dir.write(
            "AWSLogs/111122223333/CloudTrail-Insight/us-west-2/2024/03/01/111122223333_CloudTrail-Insight_us-west-2_20240301T0100Z_x.json.gz",
            gzip(#"{"Records":[{"eventType":"AwsCloudTrailInsight"}]}"#))
        try dir.write("AWSLogs/111122223333/CloudTrail/us-west-2/ConfigWritabilityCheckFile", Data("x".utf8))
        try dir.write("elsewhere/settings.json", Data(#"{"setting":true}"#.utf8))
        try dir.write("elsewhere/digest-copy.json.gz", gzip(#"{"awsAccountId":"1","digestStartTime":"x","logFiles":[]}"#))
        try dir.write(logPath(), gzip(logFile([kmsRecord(eventID: "k")])))
        let index = try makeIndex(dir)
        let (summary, diagnostics) = try ingest(index, [dir.path])
        XCTAssertTrue(diagnostics.isEmpty)
        XCTAssertEqual(summary.filesFailed, 0)
        XCTAssertEqual(summary.filesIngested, 1)
        XCTAssertEqual(
            summary.skippedByReason,
            [
                "CloudTrail digest file": 2,
                "CloudTrail Insights file": 1,
                "not a .json or .json.gz file": 1,
                "JSON object without Records, not a CloudTrail log file": 1,
            ])
    }

    func testLogFileNameWithoutRecordsFails() throws {
        let dir = try TempDir()
        let path = try dir.write(logPath(), gzip(#"{"hello":1}"#))
        let (summary, _) = try ingest(try makeIndex(dir), [path])
        XCTAssertEqual(
            summary.failed[path], "named like a CloudTrail log file, but: JSON object without Records, not a CloudTrail log file")
    }

    func testDuplicatesAcrossFilesAreIndexedOnce() throws {
        let dir = try TempDir()
        let shared = kmsRecord(eventID: "dup-1")
        try dir.write(logPath(unique: "aaaaaaaaaaaaaaa1"), gzip(logFile([shared, kmsRecord(eventID: "only-a")])))
        try dir.write(logPath(unique: "aaaaaaaaaaaaaaa2"), gzip(logFile([kmsRecord(eventID: "only-b"), shared])))
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path])
        XCTAssertEqual(summary.kmsRecords, 4)
        XCTAssertEqual(summary.eventsAdded, 3)
        XCTAssertEqual(summary.duplicates, 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE event_id = 'dup-1'"), 1)
    }

    func testReRunReadsNothingAndAddsNothingButAChangedFileIsReRead() throws {
        let dir = try TempDir()
        let path = try dir.write(logPath(), gzip(logFile([kmsRecord(eventID: "r1")])))
        try dir.write(logPath(unique: "other00000000000"), gzip(logFile([kmsRecord(eventID: "r2")])))
        let index = try makeIndex(dir)
        XCTAssertEqual(try ingest(index, [dir.path]).0.eventsAdded, 2)

        let again = try ingest(index, [dir.path]).0
        XCTAssertEqual(again.filesUnchanged, 2)
        XCTAssertEqual(again.filesIngested, 0)
        XCTAssertEqual(again.eventsAdded, 0)

        try gzip(logFile([kmsRecord(eventID: "r1"), kmsRecord(eventID: "r3")])).write(to: URL(fileURLWithPath: path))
        let changed = try ingest(index, [dir.path]).0
        XCTAssertEqual(changed.filesIngested, 1)
        XCTAssertEqual(changed.filesUnchanged, 1)
        XCTAssertEqual(changed.eventsAdded, 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 3)
        XCTAssertEqual(try count(index, "SELECT events_added FROM source_files WHERE path = ?", [path]), 1)
    }

    /// A nightly run over a tree with nothing new writes nothing to the index, not even its
    /// header's mark (the same bytes written again are still a write and a flush): the file
    /// keeps its bytes and its modification time, its log stays empty.
    func testARunWithNothingNewWritesNothing() throws {
        let dir = try TempDir()
        try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "n1"), kmsRecord(eventID: "n2")])))
        let db = dir.path + "/index.sqlite"
        let first = try runBinary(["ingest", "--quiet", "--db", db, dir.path + "/logs"])
        XCTAssertEqual(first.status, 0, first.stderr)
        func modified() -> timespec {
            var st = stat()
            XCTAssertEqual(stat(db, &st), 0)
            return st.st_mtim
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: db)), modifiedBefore = modified()
        let again = try runBinary(["ingest", "--quiet", "--db", db, dir.path + "/logs"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout + again.stderr, "")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), before)
        let modifiedAfter = modified()
        XCTAssertEqual([modifiedAfter.tv_sec, modifiedAfter.tv_nsec], [modifiedBefore.tv_sec, modifiedBefore.tv_nsec])
        let wal = (try? FileManager.default.attributesOfItem(atPath: db + "-wal"))?[.size] as? NSNumber
        XCTAssertEqual(wal?.intValue ?? 0, 0)
    }

    func testFailedDecryptIsKeptAndShownByWhoRead() throws {
        let dir = try TempDir()
        let object = "arn:aws:s3:::secrets/payroll.csv"
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "denied", eventTime: "2024-03-01T10:00:00Z",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(object)"}}"#,
                        error: ("AccessDenied", "User: arn:aws:iam::111122223333:user/alice is not authorized")),
                    kmsRecord(
                        eventID: "allowed", eventTime: "2024-03-01T09:00:00Z",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(object)"}}"#),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let reads = try whoRead(index, "s3://secrets/payroll.csv").reads
        XCTAssertEqual(reads.map(\.eventID), ["allowed", "denied"])
        XCTAssertEqual(reads.map(\.result), ["OK", "AccessDenied"])
        XCTAssertEqual(reads.last?.errorMessage, "User: arn:aws:iam::111122223333:user/alice is not authorized")
    }

    func testBucketKeysContextIsAnsweredAsBucketLevel() throws {
        let dir = try TempDir()
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(eventID: "bk", requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket-keys-bucket"}}"#)
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        XCTAssertEqual(try whoRead(index, "s3://bucket-keys-bucket/some/object.parquet"), .unknown(bucketLevel: .only))
        XCTAssertEqual(try whoRead(index, "s3://bucket-keys-bucket").reads.map(\.eventID), ["bk"])
        XCTAssertEqual(try whoRead(index, "arn:aws:s3:::bucket-keys-bucket").reads.map(\.eventID), ["bk"])
    }

    /// Bucket Keys turned on for a bucket already in use: its objects read before have their
    /// Decrypts, and an object with none is answered with the bucket-level contexts beside them.
    func testABucketOfBothObjectAndBucketLevelContextsSaysSo() throws {
        let dir = try TempDir()
        func context(_ arn: String) -> String { #"{"encryptionContext":{"aws:s3:arn":"\#(arn)"}}"# }
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(eventID: "old", requestParameters: context("arn:aws:s3:::mixed/old/a.bin")),
                    kmsRecord(eventID: "bk", requestParameters: context("arn:aws:s3:::mixed")),
                    kmsRecord(eventID: "plain", requestParameters: context("arn:aws:s3:::plain/a.bin")),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        XCTAssertEqual(try whoRead(index, "s3://mixed/old/a.bin").reads.map(\.eventID), ["old"])
        XCTAssertEqual(try whoRead(index, "s3://mixed/new/b.bin"), .unknown(bucketLevel: .also))
        XCTAssertEqual(try whoRead(index, "s3://plain/b.bin"), .unknown(bucketLevel: .none))
        let run = try runBinary(["who-read", "--db", index.path, "s3://mixed/new/b.bin"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("bucket-level encryption contexts (S3 Bucket Keys)"), run.stderr)
        // An object with reads listed: they are not all its reads, and who-read says so, in
        // every format; an object of a bucket never seen whole has nothing to add.
        guard case let .object(_, _, _, bucketLevel) = try whoRead(index, "s3://mixed/old/a.bin") else { return XCTFail() }
        XCTAssertEqual(bucketLevel, .also)
        for format in ["table", "json", "csv"] {
            let partial = try runBinary(["who-read", "--db", index.path, "--format", format, "s3://mixed/old/a.bin"])
            XCTAssertEqual(partial.status, 0, partial.stderr)
            XCTAssertTrue(partial.stderr.contains("note: the bucket of arn:aws:s3:::mixed/old/a.bin is also seen"), partial.stderr)
            XCTAssertTrue(partial.stderr.contains("who-read s3://mixed lists them"), partial.stderr)
        }
        let plain = try runBinary(["who-read", "--db", index.path, "s3://plain/a.bin"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stderr, "")
        // A script reads an empty result for an object the index does not name, as for one with no reads.
        let json = try runBinary(["who-read", "--db", index.path, "--format", "json", "s3://nowhere/x"])
        XCTAssertEqual(json.status, 1)
        XCTAssertEqual(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[]")
        let csv = try runBinary(["who-read", "--db", index.path, "--format", "csv", "s3://nowhere/x"])
        XCTAssertTrue(csv.stdout.hasPrefix("event_time,"), csv.stdout)
        // No object at all is a usage error, not a match of every key.
        let empty = try runBinary(["who-read", "--db", index.path, " "])
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("give the object"), empty.stderr)
    }

    func testAmbiguousSuffixListsTheCandidates() throws {
        let dir = try TempDir()
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b1/x/report.csv"}}"#),
                    kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b2/y/report.csv"}}"#),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        XCTAssertEqual(
            try whoRead(index, "report.csv"), .ambiguous(candidates: ["arn:aws:s3:::b1/x/report.csv", "arn:aws:s3:::b2/y/report.csv"]))
        XCTAssertEqual(try whoRead(index, "x/report.csv").reads.count, 1)
    }

    func testEveryContextPairIsQueryable() throws {
        let dir = try TempDir()
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "ctx",
                        requestParameters:
                            #"{"encryptionContext":{"aws:cloudtrail:arn":"arn:aws:cloudtrail:us-west-2:111122223333:trail/t","aws:s3:arn":"arn:aws:s3:::b/k","department":"finance"}}"#
                    )
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let pairs = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT context, name, value FROM encryption_context ORDER BY name").map {
                "\($0["context"] as String) \($0["name"] as String)=\($0["value"] as String)"
            }
        }
        XCTAssertEqual(
            pairs,
            [
                "encryptionContext aws:cloudtrail:arn=arn:aws:cloudtrail:us-west-2:111122223333:trail/t",
                "encryptionContext aws:s3:arn=arn:aws:s3:::b/k",
                "encryptionContext department=finance",
            ])
    }

    func testAnEmptyTrailOrS3ARNNamesNothingAndIsKeptAsAPair() throws {
        let dir = try TempDir()
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "empty",
                        requestParameters: #"{"encryptionContext":{"aws:cloudtrail:arn":"","aws:s3:arn":""}}"#),
                    // A name repeated: the last counts, whether it names a location or not.
                    kmsRecord(
                        eventID: "last",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"","aws:s3:arn":"arn:aws:s3:::b/k"}}"#),
                    kmsRecord(
                        eventID: "undone",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/j","aws:s3:arn":""}}"#),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM trails"), 0)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_objects"), 1)
        let pairs = try index.queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT e.event_id, c.name, c.value FROM encryption_context c JOIN kms_events e ON e.id = c.event_row
                    ORDER BY e.event_id, c.name
                    """
            ).map { "\($0["event_id"] as String) \($0["name"] as String)=\($0["value"] as String)" }
        }
        XCTAssertEqual(
            pairs, ["empty aws:cloudtrail:arn=", "empty aws:s3:arn=", "last aws:s3:arn=arn:aws:s3:::b/k", "undone aws:s3:arn="])
    }

    func testMalformedKMSRecordIsCountedAndTheRestOfTheFileKept() throws {
        let dir = try TempDir()
        let path = try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(eventID: "fine"),
                    #"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2024-03-01T00:00:00Z"}"#,
                ])))
        let index = try makeIndex(dir)
        let (summary, diagnostics) = try ingest(index, [dir.path])
        XCTAssertEqual(summary.eventsAdded, 1)
        XCTAssertEqual(summary.malformedRecords, 1)
        guard case let .malformedRecords(reportedPath, n, examples)? = diagnostics.first else { return XCTFail() }
        XCTAssertEqual(reportedPath, path)
        XCTAssertEqual(n, 1)
        XCTAssertEqual(examples.first?.index, 1)
        XCTAssertEqual(try count(index, "SELECT malformed_records FROM source_files"), 1)
    }

    func testEventUIDsRoundTripThroughTheView() throws {
        let dir = try TempDir()
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(eventID: "0a1b2c3d-4e5f-6789-abcd-ef0123456789"),
                    kmsRecord(eventID: "0A1B2C3D-4E5F-6789-ABCD-EF0123456789"),
                    kmsRecord(eventID: "not-a-uuid"),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let ids = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM kms_events ORDER BY event_id") }
        XCTAssertEqual(ids, ["0A1B2C3D-4E5F-6789-ABCD-EF0123456789", "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "not-a-uuid"])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM event_uids WHERE typeof(event_uid) = 'blob' AND length(event_uid) = 16"), 1)
    }

    func testPrincipalsAreSharedAcrossEventsAndRolesGroupSessions() throws {
        let dir = try TempDir()
        func role(_ session: String) -> String {
            #"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Reader/\#(session)","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Reader"}}}"#
        }
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(identity: role("s1")), kmsRecord(identity: role("s1")), kmsRecord(identity: role("s2")),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM principals"), 2)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE role_arn = 'arn:aws:iam::111122223333:role/Reader'"), 3)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE session_name = 's1'"), 2)
    }
}

/// Large files hand their events over in parts; a file that fails after some parts were
/// written loses them, and nothing else.
final class LargeFileTests: XCTestCase {
    func ingestInParts(_ index: IndexDatabase, _ paths: [String]) throws -> IngestSummary {
        var options = IngestOptions(paths: paths)
        options.eventsPerPart = 3
        options.filesPerTransaction = 1
        return try Ingester(database: index, options: options).run()
    }

    func testEventsInPartsAreAllIndexedAndCounted() throws {
        let dir = try TempDir()
        let path = try dir.write(
            logPath(), gzip(logFile((0..<10).map { kmsRecord(eventID: "part-\($0)") } + [kmsRecord(eventID: "part-0")])))
        let index = try makeIndex(dir)
        let summary = try ingestInParts(index, [dir.path])
        XCTAssertEqual(summary.eventsAdded, 10)
        XCTAssertEqual(summary.duplicates, 1)
        XCTAssertEqual(try count(index, "SELECT events_added FROM source_files WHERE path = ?", [path]), 10)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM source_files WHERE outcome = 'ingested'"), 1)
    }

    func testAFileThatFailsAfterSomePartsLosesThemAndNothingElse() throws {
        let dir = try TempDir()
        try dir.write(
            "a/" + logPath(unique: "keep000000000000"), gzip(logFile([kmsRecord(eventID: "shared"), kmsRecord(eventID: "kept")])))
        let index = try makeIndex(dir)
        _ = try ingestInParts(index, [dir.path + "/a"])
        // Ten good records, then the file breaks off: the parts already written must go, and the
        // caller and S3 locations only they named.
        let mallory =
            #"{"type":"IAMUser","principalId":"AIDAMALLORY","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"}"#
        let doomed = (0..<10).map {
            kmsRecord(
                eventID: "doomed-\($0)", identity: mallory,
                requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::doomed-bucket/doomed/\#($0).txt"}}"#)
        }
        let text = logFile(doomed + [kmsRecord(eventID: "shared")])
        let broken = try dir.write("b/" + logPath(unique: "broken0000000000"), gzip(String(text.dropLast(40))))
        let summary = try ingestInParts(index, [dir.path + "/b"])
        XCTAssertEqual(summary.failed[broken], "JSON ends unexpectedly (file truncated?)")
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE event_id LIKE 'doomed-%'"), 0)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 2)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM source_files WHERE outcome = 'failed' AND path = ?", [broken]), 1)
        for (table, rows) in [("principal_rows", 1), ("s3_object_rows", 1), ("s3_folders", 0), ("s3_buckets", 1)] {
            XCTAssertEqual(try count(index, "SELECT count(*) FROM \(table)"), rows, table)
        }
    }

    /// A file's parts and its end as the writer gets them: the events of a file that breaks off
    /// after `records` (nil: whole), in parts of 3.
    func parsed(_ dir: TempDir, _ name: String, _ ids: [String], breaksOff: Bool = false) throws -> (
        file: InputFile, parts: [[KMSEvent]], end: FileResult
    ) {
        var text = logFile(ids.map { kmsRecord(eventID: $0) })
        if breaksOff { text = String(text.dropLast(40)) }
        let path = try dir.write(name + "/" + logPath(unique: name.padding(toLength: 16, withPad: "0", startingAt: 0)), gzip(text))
        let file = InputFile(path: path, size: 1, mtimeNs: 1)
        var parts: [[KMSEvent]] = []
        let end = FileParser(partSize: 3).parse(file, window: ByteWindow()) { parts.append($0) }
        return (file, parts, end)
    }

    /// Two files delivered the same events, read at the same time: the one read in parts wrote
    /// them first, then broke off. The other file's copies stay, as its own.
    func testEventsAnotherFileDeliveredSurviveAnOpenFileThatFails() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let broken = try parsed(dir, "broken", ["a0", "a1", "a2", "a3", "a4", "a5", "a6"], breaksOff: true)
        let copy = try parsed(dir, "copy", ["a1", "a2", "b0"])
        XCTAssertEqual(broken.parts.count, 2)
        XCTAssertNotEqual(broken.end.outcome, .ingested)
        XCTAssertEqual(copy.parts.count, 1)
        var adopted = 0
        try index.queue.writeWithoutTransaction { db in
            let writer = try EventWriter(db: db)
            let fileID = try writer.open(broken.file)
            var part = broken.parts[0]
            try writer.insert(&part, intoOpen: fileID)
            // The copy, read whole meanwhile (its events as one part and an end).
            var whole = copy.end
            whole.events = copy.parts[0] + whole.events
            XCTAssertEqual(try writer.write(&whole), 1)
            part = broken.parts[1]
            try writer.insert(&part, intoOpen: fileID)
            var end = broken.end
            XCTAssertEqual(try writer.write(&end, opened: fileID), 0)
            adopted = writer.takeEventsAdopted()
            try writer.flush()
        }
        XCTAssertEqual(adopted, 2)
        let kept = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_id, source_file FROM kms_events ORDER BY event_id").map {
                [$0["event_id"] as String, ($0["source_file"] as String).contains("/copy/") ? "copy" : "broken"]
            }
        }
        XCTAssertEqual(kept, [["a1", "copy"], ["a2", "copy"], ["b0", "copy"]])
        XCTAssertEqual(try count(index, "SELECT events_added FROM source_files WHERE path = ?", [copy.file.path]), 3)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM event_uids"), 3)
        XCTAssertEqual(try count(index, "SELECT sum(events) FROM activity_daily"), 3)
    }

    /// The same, when the file that delivered them too is itself read in parts: it keeps them
    /// if it ends well, and they go with it if it breaks off too.
    func testEventsHandedToAnOpenFileFollowItsOutcome() throws {
        for secondEndsWell in [true, false] {
            let dir = try TempDir()
            let index = try makeIndex(dir)
            let first = try parsed(dir, "first", ["a0", "a1", "a2", "a3"], breaksOff: true)
            let second = try parsed(dir, "second", ["a1", "a2", "b0", "b1"], breaksOff: !secondEndsWell)
            try index.queue.writeWithoutTransaction { db in
                let writer = try EventWriter(db: db)
                let firstID = try writer.open(first.file)
                var part = first.parts[0]
                try writer.insert(&part, intoOpen: firstID)
                let secondID = try writer.open(second.file)
                part = second.parts[0]
                try writer.insert(&part, intoOpen: secondID)
                var end = first.end
                _ = try writer.write(&end, opened: firstID)
                XCTAssertTrue(writer.hasOpenFiles)
                end = second.end
                XCTAssertEqual(try writer.write(&end, opened: secondID), secondEndsWell ? 4 : 0)
                XCTAssertFalse(writer.hasOpenFiles)
                XCTAssertEqual(writer.takeEventsAdopted(), 0)
                try writer.flush()
            }
            let ids = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT event_id FROM kms_events ORDER BY event_id") }
            XCTAssertEqual(ids, secondEndsWell ? ["a1", "a2", "b0", "b1"] : [], "second ends well: \(secondEndsWell)")
            XCTAssertEqual(try count(index, "SELECT count(*) FROM event_uids"), ids.count)
            XCTAssertEqual(try count(index, "SELECT ifnull(sum(events), 0) FROM activity_daily"), ids.count)
        }
    }

    /// The same file under two folders, one copy cut short (a partial download), read by two
    /// parsers at once: whichever order the writer gets their parts in, every event stays.
    func testACopyCutShortCostsNoEventOfTheWholeCopy() throws {
        let dir = try TempDir()
        let text = logFile((0..<300).map { kmsRecord(eventID: "same-\($0)") })
        let whole = gzip(text)
        for round in 0..<3 {
            let good = try dir.write("r\(round)/good/" + logPath(), whole)
            try dir.write("r\(round)/partial/" + logPath(), whole.prefix(whole.count - 100))
            let index = try makeIndex(dir, name: "index-\(round).sqlite")
            var options = IngestOptions(paths: [dir.path + "/r\(round)"])
            options.eventsPerPart = 7
            options.jobs = 2
            let summary = try Ingester(database: index, options: options).run()
            XCTAssertEqual(summary.failed.count, 1)
            XCTAssertEqual(summary.eventsAdded, 300)
            XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 300)
            XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE source_file = ?", [good]), 300)
            XCTAssertEqual(try count(index, "SELECT events_added FROM source_files WHERE path = ?", [good]), 300)
        }
    }

    /// Commits come only between files read in parts: a run killed at any moment leaves each
    /// file wholly indexed or not at all. Every commit is checked for a file still open.
    func testNoCommitHoldsAnOpenFile() throws {
        final class CommitWatch: TransactionObserver, @unchecked Sendable {
            var commits = 0
            var openAtCommit = 0
            func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
            func databaseDidChange(with event: DatabaseEvent) {}
            func databaseDidCommit(_ db: Database) {
                commits += 1
                openAtCommit +=
                    (try? Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_files WHERE reason = 'interrupted while being read'")) ?? 0
            }
            func databaseDidRollback(_ db: Database) {}
        }
        let dir = try TempDir()
        for n in 0..<4 {
            try dir.write(
                "tree/" + logPath(unique: "large\(n)0000000000"),
                gzip(logFile((0..<40).map { kmsRecord(eventID: "large-\(n)-\($0)") })))
        }
        for n in 0..<30 {
            try dir.write("tree/" + logPath(unique: String(format: "small%011d", n)), gzip(logFile([kmsRecord(eventID: "small-\(n)")])))
        }
        let index = try makeIndex(dir)
        let watch = CommitWatch()
        index.queue.writeWithoutTransaction { db in db.add(transactionObserver: watch, extent: .databaseLifetime) }
        var options = IngestOptions(paths: [dir.path + "/tree"])
        options.eventsPerPart = 3
        options.filesPerTransaction = 1
        options.eventsPerTransaction = 1
        options.jobs = 2
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.eventsAdded, 4 * 40 + 30)
        // Usually a commit per file. The parsers may run ahead of the writer (its queue holds
        // thousands of events): when the parts of files started before the first commit fell due
        // reach the writer last, the run commits once, at its end.
        XCTAssertGreaterThanOrEqual(watch.commits, 1)
        XCTAssertEqual(watch.openAtCommit, 0)
    }
}
