import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// What a nightly cron job relies on: pruning by day, the lock, the JSON summary, audit
/// against digests, retention, backups.
final class NightlyRunTests: XCTestCase {
    func testSinceAndUntilPruneDayFoldersBeforeListingThem() throws {
        let dir = try TempDir()
        for day in 1...5 {
            let stamp = "2024030\(day)T0100Z"
            try dir.write(
                "AWSLogs/" + String(logPath(stamp: stamp, unique: "day\(day)000000000000").dropFirst("AWSLogs/".count)),
                gzip(logFile([kmsRecord(eventID: "d\(day)", eventTime: "2024-03-0\(day)T00:55:00Z")])))
        }
        // A day folder that cannot be listed: reading it would fail the run.
        try FileManager.default.createSymbolicLink(
            atPath: dir.path + "/AWSLogs/111122223333/CloudTrail/us-west-2/2024/02",
            withDestinationPath: dir.path + "/nowhere")
        var walked: [String] = []
        try InputWalker(days: DeliveryDays(first: DeliveryDays.day("2024-03-03", today: 0), last: DeliveryDays.day("2024-03-03", today: 0)))
            .walk([dir.path + "/AWSLogs"], visit: { walked.append(String($0.path.split(separator: "_")[3])) }, note: { XCTFail("\($0)") })
        // The 3rd, and the 4th for late deliveries of the 3rd's events; not the 1st, 2nd, 5th, nor February.
        XCTAssertEqual(walked, ["20240303T0100Z", "20240304T0100Z"])

        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [dir.path + "/AWSLogs"])
        options.days = DeliveryDays(first: DeliveryDays.day("2024-03-04", today: 0), last: nil)
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.filesFailed, 0)
        XCTAssertEqual(summary.eventsAdded, 2)
        XCTAssertEqual(DeliveryDays.day("3d", today: 100), 97)
    }

    /// `--since`/`--until` of ingest and export: a day, a time cut to its day, or `Nd`; a day no
    /// month has, or anything after the date that is not a time, is refused (the query commands
    /// refuse them too), not read as another day.
    func testDeliveryDaysAreDaysOrTimesOrAges() throws {
        let march2 = EventTime.daysFromCivil(2024, 3, 2)
        XCTAssertEqual(DeliveryDays.day("2024-03-02", today: 0), march2)
        XCTAssertEqual(DeliveryDays.day("2024-03-02T23:59:59Z", today: 0), march2)
        XCTAssertEqual(DeliveryDays.day("2024-03-02T23:59:59.5Z", today: 0), march2)
        XCTAssertEqual(DeliveryDays.day("2024-02-29", today: 0), EventTime.daysFromCivil(2024, 2, 29))
        XCTAssertEqual(DeliveryDays.day("0d", today: 100), 100)
        for text in [
            "2024-02-31", "2023-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "2024-03-00", "2024-03-02xyz",
            "2024-03-02T25:00:00Z", "2024-3-2", "24-03-02", "2024/03/02", "+3d", "-3d", "d", "99999999999999d", "3 d", "",
        ] {
            XCTAssertNil(DeliveryDays.day(text, today: 100), text)
        }
        let dir = try TempDir()
        let db = ["--db", dir.path + "/i.sqlite"]
        for arguments in [
            ["ingest", "--since", "2024-02-31", dir.path], ["ingest", "--until", "2024-03-01junk", dir.path],
            ["export", "--since", "2024-02-30", "--out", dir.path + "/out"],
        ] {
            let run = try runBinary(arguments + db)
            XCTAssertEqual(run.status, 2, "\(arguments)")
            XCTAssertTrue(run.stderr.contains("takes a day, YYYY-MM-DD, or Nd"), run.stderr)
        }
    }

    /// An index handed over in a folder its reader cannot write to: SQLite cannot make the
    /// index's `-shm` there, and the message says so, with what to do. Run as another user
    /// (`nobody`), which only root can switch to.
    func testAnIndexInAFolderNobodyCanWriteToSaysWhy() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to run a command as another user")
        }
        let base = URL(fileURLWithPath: "/tmp").appendingPathComponent("kmsindex-ro-\(getpid())")
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.createDirectory(at: base.appendingPathComponent("logs"), withIntermediateDirectories: true)
        try gzip(logFile([kmsRecord(eventID: "ro-1")])).write(
            to: base.appendingPathComponent("logs/" + logPath().replacingOccurrences(of: "/", with: "_")))
        let db = base.path + "/idx.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", db, base.path + "/logs"]).status, 0)
        chmod(base.path, 0o755)
        chmod(db, 0o644)
        // A copy of the binary anyone can run (the build folder may not be).
        let binary = base.path + "/kmsindex"
        try FileManager.default.copyItem(atPath: kmsindexBinary.path, toPath: binary)
        /// `binary` run as `nobody`: its status and stderr.
        func asNobody(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binary] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = Pipe()
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        let (status, text) = try asNobody(["stats", "--db", db])
        XCTAssertEqual(status, 2, text)
        XCTAssertTrue(text.contains("cannot read \(db): SQLite reads an index in WAL mode through \(db)-shm"), text)
        XCTAssertTrue(text.contains("query a copy in a folder you can write to, made by `kmsindex backup`"), text)

        // The same index as a shard merged into an index the user can write: the reason is the
        // shard's folder, not the destination.
        let writable = base.path + "/writable"
        try FileManager.default.createDirectory(atPath: writable, withIntermediateDirectories: false)
        chmod(writable, 0o777)
        for destination in ["new.sqlite", "existing.sqlite"] {
            let dest = writable + "/" + destination
            if destination == "existing.sqlite" {
                XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", dest, base.path + "/logs"]).status, 0)
                // Handed to the user who merges, with its lock file.
                for file in [dest, dest + ".lock", dest + "-wal", dest + "-shm"] { chown(file, 65534, 65534) }
            }
            let (merged, said) = try asNobody(["merge", "--db", dest, db])
            XCTAssertNotEqual(merged, 0, said)
            XCTAssertTrue(said.contains("cannot read \(db): SQLite reads an index in WAL mode through \(db)-shm"), said)
            XCTAssertFalse(said.contains("cannot be written"), said)
        }
    }

    func testJSONSummaryForMachines() throws {
        let dir = try TempDir()
        try dir.write("logs/" + logPath(unique: "good000000000000"), gzip(logFile([kmsRecord(eventID: "j1")])))
        let bad = try dir.write("logs/" + logPath(unique: "bad0000000000000"), Data([0x1f, 0x8b, 0x08, 0x00]))
        let run = try runBinary(["ingest", "--quiet", "--json-summary", "--db", dir.path + "/i.sqlite", dir.path + "/logs"])
        XCTAssertEqual(run.status, 1)
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(summary?["files_ingested"] as? Int, 1)
        XCTAssertEqual(summary?["files_failed"] as? Int, 1)
        XCTAssertEqual(summary?["events_added"] as? Int, 1)
        XCTAssertEqual(summary?["exit_status"] as? Int, 1)
        let failed = summary?["failed"] as? [[String: String]]
        XCTAssertEqual(failed?.first?["path"], bad)
        XCTAssertEqual(failed?.first?["reason"], ReadError.truncatedGzip.description)
        XCTAssertNotNil(summary?["duration_seconds"] as? Double)

        let jsonLog = try runBinary(["ingest", "--log-format", "json", "--db", dir.path + "/i.sqlite", dir.path + "/logs"])
        let lines = jsonLog.stderr.split(separator: "\n").map {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
        }
        XCTAssertEqual(lines.first??["level"], "error")
        XCTAssertEqual(lines.first??["path"], bad)
        // A count is a number: a file with two malformed records among good ones.
        let malformed = try dir.write(
            "more/" + logPath(unique: "malf000000000000"), gzip(logFile([kmsRecord(eventID: "m1"), "[1]", "\"x\""])))
        let warned = try runBinary(["ingest", "--log-format", "json", "--db", dir.path + "/i.sqlite", dir.path + "/more"])
        XCTAssertEqual(warned.status, 0, warned.stderr)
        let warning = try XCTUnwrap(
            warned.stderr.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .first { $0["level"] as? String == "warning" }, warned.stderr)
        XCTAssertEqual(warning["count"] as? Int, 2, warned.stderr)
        XCTAssertEqual(warning["path"] as? String, malformed)
    }

    func testProgressLinesForLogsAndSilenceForCron() throws {
        let dir = try TempDir()
        for i in 0..<3 { try dir.write(logPath(unique: "prog\(i)00000000000"), gzip(logFile([kmsRecord()]))) }
        let run = try runBinary(["ingest", "--progress", "--progress-interval", "0", "--db", dir.path + "/i.sqlite", dir.path])
        XCTAssertEqual(run.status, 0)
        let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("kmsindex: progress: ") }
        XCTAssertEqual(lines.count, 3, run.stderr)
        XCTAssertTrue(lines.last?.contains("3 files") ?? false, run.stderr)
        let quiet = try runBinary(["ingest", "--quiet", "--db", dir.path + "/j.sqlite", dir.path])
        XCTAssertEqual(quiet.status, 0)
        XCTAssertEqual(quiet.stderr + quiet.stdout, "")
        // In JSON, the counts are numbers.
        let json = try runBinary([
            "ingest", "--progress", "--progress-interval", "0", "--log-format", "json", "--db", dir.path + "/l.sqlite", dir.path,
        ])
        let objects = json.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(objects.compactMap { $0["files_done"] as? Int }.last, 3, json.stderr)
        XCTAssertEqual(objects.compactMap { $0["events_added"] as? Int }.last, 3, json.stderr)
        // --quiet wins over --progress: a cron line that gives both stays silent on success.
        let both = try runBinary(["ingest", "--quiet", "--progress", "--progress-interval", "0", "--db", dir.path + "/k.sqlite", dir.path])
        XCTAssertEqual(both.status, 0)
        XCTAssertEqual(both.stderr + both.stdout, "")
    }

    func testASecondIngestWaitsForTheFirstAndSaysWhy() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        try dir.write(logPath(), gzip(logFile([kmsRecord(eventID: "l1")])))
        // Hold the lock as another process would.
        let held = try IndexLock(indexPath: db, timeout: 0)
        let refused = try runBinary(["ingest", "--wait", "0.3", "--db", db, dir.path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("another kmsindex (pid \(getpid())) is writing to \(db)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("(see --wait)"), refused.stderr)
        withExtendedLifetime(held) {}
    }

    /// A command that only reads (a query, backup) migrates an older index first, under the
    /// lock; it has no --wait, and a lock not taken in time says what to do instead.
    func testAReaderThatMustMigrateSaysWhatToDoWhenTheLockIsHeld() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        _ = try indexBefore(migration: "038", at: db)
        let held = try IndexLock(indexPath: db, timeout: 0)
        XCTAssertThrowsError(
            try IndexDatabase.openForWriting(path: db, lockTimeout: 0.2, afterWaiting: "to migrate it first: run again")
        ) { error in
            XCTAssertTrue("\(error)".hasSuffix("gave up after waiting 0.2s to migrate it first: run again"), "\(error)")
        }
        withExtendedLifetime(held) {}
    }

    /// findings reads while an ingest writes, and writes what it reported under the index lock:
    /// it waits for the ingest (`--wait`), and says so plainly when that is too long.
    func testFindingsWaitsForAnIngestBeforeWritingWhatItReported() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        try dir.write(logPath(), gzip(logFile([kmsRecord(eventID: "l1")])))
        XCTAssertEqual(try runBinary(["ingest", "-q", "--db", db, dir.path]).status, 0)
        var held: IndexLock? = try IndexLock(indexPath: db, timeout: 0)
        let refused = try runBinary(["findings", "--wait", "0.3", "--db", db])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("another kmsindex (pid \(getpid())) is writing to \(db)"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("database is locked"), refused.stderr)
        let silence = try runBinary(["findings", "--wait", "0.3", "--db", db, "--silence", "new-log-reader"])
        XCTAssertEqual(silence.status, 2)
        XCTAssertTrue(silence.stderr.contains("is writing to \(db)"), silence.stderr)
        XCTAssertNotNil(held)
        held = nil  // released
        let free = try runBinary(["findings", "--wait", "0.3", "--db", db])
        XCTAssertNotEqual(free.status, 2, free.stderr)
    }

    /// Days given the wrong way round, or a path that does not exist, are usage errors, not a
    /// run that reads nothing or records a failure for good.
    /// Output that cannot be written: stdout on a full disk ends the command with status 2 and
    /// says so, before `findings` marks anything reported; stderr whose reader went away (a
    /// journald restart) costs the run nothing, and its status still says files failed.
    func testOutputThatCannotBeWrittenIsNeverASuccess() throws {
        let dir = try TempDir()
        for n in 0..<5 { try dir.write("bad/" + logPath(unique: String(format: "bad%013d", n)), Data("not gzip".utf8)) }
        // Alice reads a log file: a new reader, a finding.
        let context =
            #"{"encryptionContext":{"aws:cloudtrail:arn":"arn:aws:cloudtrail:us-west-2:111122223333:trail/t","#
            + #""aws:s3:arn":"arn:aws:s3:::ct/AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f.json.gz"}}"#
        try dir.write("logs/" + logPath(), gzip(logFile([kmsRecord(eventID: "full-1", requestParameters: context)])))
        let db = dir.path + "/index.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", db, dir.path + "/logs"]).status, 0)
        func toFullDisk(_ arguments: [String], stdout: String = ">/dev/full") throws -> (status: Int32, stderr: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", #""$0" "$@" "# + stdout, kmsindexBinary.path] + arguments
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        for command in [["stats"], ["sql", "SELECT * FROM kms_events"], ["findings"]] {
            let run = try toFullDisk(command + ["--db", db])
            XCTAssertEqual(run.status, 2, "\(command)")
            XCTAssertEqual(run.stderr, "kmsindex: cannot write to standard output: No space left on device\n", "\(command)")
        }
        // Standard output closed (`>&-`): the same, not output written nowhere.
        for command in [["objects"], ["findings"]] {
            let run = try toFullDisk(command + ["--db", db], stdout: ">&-")
            XCTAssertEqual(run.status, 2, "\(command)")
            XCTAssertEqual(run.stderr, "kmsindex: cannot write to standard output: Bad file descriptor\n", "\(command)")
        }
        XCTAssertFalse(try runBinary(["findings", "--db", db, "--format", "json"]).stdout.hasPrefix("[]"))

        let process = Process()
        process.executableURL = kmsindexBinary
        process.arguments = ["ingest", "--quiet", "--db", db, dir.path + "/bad"]
        let closed = Pipe()
        try closed.fileHandleForReading.close()
        process.standardError = closed
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertEqual(
            try count(try IndexDatabase.openForReading(path: db), "SELECT count(*) FROM source_files WHERE outcome = 'failed'"), 5)
    }

    func testReversedDaysAreRefused() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        let ingest = try runBinary(["ingest", "--db", db, "--since", "2024-03-02", "--until", "2024-03-01", dir.path])
        XCTAssertEqual(ingest.status, 2)
        XCTAssertTrue(ingest.stderr.contains("--since 2024-03-02 is after --until 2024-03-01"), ingest.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: db))
        let export = try runBinary(["export", "--db", db, "--out", dir.path + "/out", "--since", "2024-03-02", "--until", "2024-03-01"])
        XCTAssertEqual(export.status, 2)
        XCTAssertTrue(export.stderr.contains("is after --until"), export.stderr)
        XCTAssertEqual(try runBinary(["ingest", "-q", "--db", db, "--since", "2024-03-01", "--until", "2024-03-01", dir.path]).status, 0)
        // A path that does not exist is refused too, before the index records anything.
        let missing = try runBinary(["ingest", "--db", dir.path + "/m.sqlite", dir.path + "/AWSLogz"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no such file or folder: \(dir.path)/AWSLogz"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/m.sqlite"))
        // An index that is a folder, or in a folder that does not exist, is said so.
        let folder = try runBinary(["stats", "--db", dir.path])
        XCTAssertEqual(folder.status, 2)
        XCTAssertTrue(folder.stderr.contains("\(dir.path) is a folder, not an index"), folder.stderr)
        let intoFolder = try runBinary(["ingest", "--db", dir.path, dir.path])
        XCTAssertEqual(intoFolder.status, 2)
        XCTAssertTrue(intoFolder.stderr.contains("is a folder, not an index"), intoFolder.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + ".lock"))
        let nowhere = try runBinary(["ingest", "--db", dir.path + "/nodir/i.sqlite", dir.path])
        XCTAssertEqual(nowhere.status, 2)
        XCTAssertTrue(nowhere.stderr.contains("no folder for the index \(dir.path)/nodir/i.sqlite"), nowhere.stderr)
    }

    func testTwoIngestsAtOnceOnOverlappingTreesBothFinishWithEveryEventOnce() throws {
        let dir = try TempDir()
        let truth = try Synth.generate(
            SynthOptions(seed: 3, accounts: 2, regions: ["us-east-1"], days: 1, filesPerDay: 24), into: dir.url.appendingPathComponent("t"))
        let db = dir.path + "/i.sqlite"
        let accounts = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/t/AWSLogs").sorted()
        let first = Process(), second = Process()
        first.executableURL = kmsindexBinary
        first.arguments = ["ingest", "-q", "--db", db, dir.path + "/t/AWSLogs"]
        second.executableURL = kmsindexBinary
        second.arguments = ["ingest", "-q", "--db", db, dir.path + "/t/AWSLogs/" + accounts[0]]
        try first.run()
        try second.run()
        first.waitUntilExit()
        second.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        XCTAssertEqual(second.terminationStatus, 0)
        let index = try IndexDatabase.openForReading(path: db)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), truth.kmsEvents)
        XCTAssertEqual(
            try count(index, "SELECT count(*) FROM (SELECT event_uid FROM event_uids GROUP BY event_uid HAVING count(*) > 1)"), 0)
    }

    func testAuditFindsDeletedAlteredAndMissingDigestHours() throws {
        let dir = try TempDir()
        let tree = dir.url.appendingPathComponent("t")
        _ = try Synth.generate(SynthOptions(seed: 5, accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 24), into: tree)
        let logs = try FileManager.default.subpathsOfDirectory(atPath: tree.path)
            .filter { $0.contains("/CloudTrail/") && $0.hasSuffix(".json.gz") }.sorted()
        let digests = try FileManager.default.subpathsOfDirectory(atPath: tree.path)
            .filter { $0.contains("/CloudTrail-Digest/") && $0.hasSuffix(".json.gz") }.sorted()
        // Delete one log file, alter another (valid gzip, different content), drop one digest hour.
        let deleted = logs[3], altered = logs[5]
        try FileManager.default.removeItem(at: tree.appendingPathComponent(deleted))
        let original = String(decoding: gunzip(try Data(contentsOf: tree.appendingPathComponent(altered))), as: UTF8.self)
        try gzip(original.replacingOccurrences(of: "\"Records\":[", with: "\"Records\":[ ")).write(to: tree.appendingPathComponent(altered))
        let droppedDigest = digests[digests.count / 2]
        let droppedText = String(decoding: gunzip(try Data(contentsOf: tree.appendingPathComponent(droppedDigest))), as: UTF8.self)
        try FileManager.default.removeItem(at: tree.appendingPathComponent(droppedDigest))

        let index = try makeIndex(dir)
        try ingest(index, [tree.path])
        let findings = try Audit(index: index).run(paths: [tree.path]).filter(\.isProblem)
        let deletedName = String(deleted.split(separator: "/").last!)
        let alteredName = String(altered.split(separator: "/").last!)
        // The dropped digest may itself have listed the deleted or altered file: then only its hour is reported.
        // The digest after the dropped one names a digest no longer there: the chain is broken.
        let next = digests[digests.count / 2 + 1]
        var expected: [String] = ["missing-digest", "digest-chain-broken " + String(next.split(separator: "/").last!)]
        if !droppedText.contains(deletedName) { expected.append("not-ingested " + deletedName) }
        if !droppedText.contains(alteredName) { expected.append("hash-mismatch " + alteredName) }
        let got = findings.map { f -> String in
            f.kind == .missingDigest ? f.kind.rawValue : f.kind.rawValue + " " + String(f.subject.split(separator: "/").last!)
        }
        XCTAssertEqual(got.sorted(), expected.sorted())
        let hour = findings.first { $0.kind == .missingDigest }?.detail
        let start = droppedText.range(of: "\"digestStartTime\":\"").map { droppedText[$0.upperBound...].prefix(13) }
        XCTAssertEqual(hour.map { $0.prefix(13) }, start)
    }

    func testAuditOfAnIntactTreeFindsNoProblem() throws {
        let dir = try TempDir()
        let tree = dir.url.appendingPathComponent("t")
        _ = try Synth.generate(SynthOptions(seed: 6, accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 12), into: tree)
        let index = try makeIndex(dir)
        try ingest(index, [tree.path])
        XCTAssertEqual(try Audit(index: index).run(paths: [tree.path]).filter(\.isProblem), [])
    }

    func testAuditReportsBlindSpots() throws {
        let dir = try TempDir()
        // Account 222… logs only S3 events in eu-west-1 (a trail excluding KMS events), and one
        // bucket is only ever seen at bucket level (S3 Bucket Keys).
        try dir.write(
            logPath(account: "111122223333", region: "us-west-2"),
            gzip(
                logFile([
                    kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket-keys-only"}}"#),
                    kmsRecord(requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::per-object/k"}}"#),
                ])))
        try dir.write(logPath(account: "222233334444", region: "eu-west-1"), gzip(logFile([s3Record(1), s3Record(2)])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let spots = try Audit(index: index).run(paths: [dir.path]).map { "\($0.kind.rawValue) \($0.subject)" }
        // No digest file either: nothing could be compared, which is a problem, not a pass.
        XCTAssertEqual(
            spots, ["no-digests \(dir.path)", "no-kms-events 222233334444/eu-west-1", "bucket-level-only s3://bucket-keys-only"])
    }

    func testPruneThenReingestAddsNothing() throws {
        let dir = try TempDir()
        try dir.write(
            logPath(stamp: "20240301T0100Z"),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "old", eventTime: "2024-03-01T00:55:00Z",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/old","x":"y"}}"#)
                ])))
        try dir.write(
            logPath(stamp: "20240305T0100Z"),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "new", eventTime: "2024-03-05T00:55:00Z",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/new"}}"#)
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let report = try Maintenance.prune(index, before: "2024-03-03T00:00:00Z")
        XCTAssertEqual(report.events, 1)
        XCTAssertEqual(report.contextPairs, 1)
        XCTAssertEqual(report.objects, 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_objects"), 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM source_files"), 2)
        let again = try ingest(index, [dir.path]).0
        XCTAssertEqual(again.eventsAdded, 0)
        XCTAssertEqual(again.filesUnchanged, 2)
    }

    func testBackupIsAConsistentPrivateCopy() throws {
        let dir = try TempDir()
        try dir.write(logPath(), gzip(logFile([kmsRecord(eventID: "b1"), kmsRecord(eventID: "b2")])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let copy = dir.path + "/copy.sqlite"
        try Maintenance.backup(index, to: copy)
        let attributes = try FileManager.default.attributesOfItem(atPath: copy)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let restored = try IndexDatabase.openForReading(path: copy)
        XCTAssertEqual(try count(restored, "SELECT count(*) FROM events"), 2)
        XCTAssertThrowsError(try Maintenance.backup(index, to: copy))
    }

    /// A backup is written under a temporary name and appears whole: what a killed backup left
    /// there is replaced, and nothing is left beside the copy.
    func testABackupAppearsOnlyWhole() throws {
        let dir = try TempDir()
        try dir.write(logPath(), gzip(logFile([kmsRecord(eventID: "w1"), kmsRecord(eventID: "w2")])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        let copy = dir.path + "/whole.sqlite"
        // A killed backup's half-written copy.
        XCTAssertTrue(FileManager.default.createFile(atPath: copy + ".partial", contents: Data("SQLite format 3\0".utf8)))
        try Maintenance.backup(index, to: copy)
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy + ".partial"))
        XCTAssertEqual(try count(try IndexDatabase.openForReading(path: copy), "SELECT count(*) FROM events"), 2)
        let attributes = try FileManager.default.attributesOfItem(atPath: copy)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    /// An empty `--db` names no file: a usage error, not the default index; with
    /// `--log-format json`, the error is one JSON object, as every other diagnostic.
    func testAnEmptyDBIsAUsageErrorToldInTheLogsFormat() throws {
        let dir = try TempDir()
        let text = try runBinary(["ingest", "--db", "", dir.path], in: dir.url)
        XCTAssertEqual(text.status, 2)
        XCTAssertTrue(text.stderr.contains("--db needs a path"), text.stderr)
        let json = try runBinary(["ingest", "--log-format", "json", "--db", "", dir.path], in: dir.url)
        XCTAssertEqual(json.status, 2)
        let lines = json.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(object["level"] as? String, "error")
        XCTAssertEqual(object["message"] as? String, "--db needs a path; an empty one names no file")
        XCTAssertEqual(try runBinary(["who-read", "--db", "", "x"], in: dir.url).status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/" + IndexDatabase.defaultFileName))
        // An error that ends a run with status 2, in the same format.
        try Data("not an index".utf8).write(to: dir.url.appendingPathComponent("bad.sqlite"))
        let failed = try runBinary(["ingest", "--log-format", "json", "--db", dir.path + "/bad.sqlite", dir.path])
        XCTAssertEqual(failed.status, 2)
        let failure = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(failed.stderr.utf8)) as? [String: Any])
        XCTAssertTrue((failure["message"] as? String)?.contains("is not a SQLite database") == true, failed.stderr)
    }

    /// A progress line redrawn in place must fit on one line of the terminal.
    func testAProgressLineIsCutToTheTerminalsWidth() {
        XCTAssertEqual(TerminalText.fitted("12/40 files  3.1 MB/s", columns: 10), "12/40 fil")
        XCTAssertEqual(TerminalText.fitted("12/40 files", columns: 12), "12/40 files")
        XCTAssertEqual(TerminalText.fitted("12/40 files", columns: 11), "12/40 file")
        XCTAssertEqual(TerminalText.fitted("12/40 files", columns: nil), "12/40 files")
        XCTAssertEqual(TerminalText.fitted("12/40 files", columns: 1), "")
    }
}
