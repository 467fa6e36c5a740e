import Foundation
import XCTest

@testable import KMSIndex

/// Runs the built `kmsindex` binary, as a user or a cron job would.
final class CommandLineTests: XCTestCase {
    @discardableResult
    func run(_ arguments: [String], binary: URL = kmsindexBinary, environment: [String: String]? = nil, in directory: URL? = nil) throws
        -> BinaryRun
    {
        try runBinary(arguments, binary: binary, environment: environment, in: directory)
    }

    func testIngestThenWhoReadAsJSON() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        let seed = fixturesURL.appendingPathComponent("seed").path
        let ingest = try run(["ingest", "--db", db, seed])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        XCTAssertEqual(ingest.stdout, "")
        XCTAssertEqual(
            ingest.stderr, "kmsindex: 2 files: 2 ingested, 0 unchanged, 0 skipped, 0 failed; 3 KMS events added (0 already indexed)\n")
        XCTAssertEqual(try run(["ingest", "--quiet", "--db", db, seed]).stderr, "")

        let who = try run([
            "who-read", "--db", db, "--format", "json", "111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz",
        ])
        XCTAssertEqual(who.status, 0, who.stderr)
        let rows = try JSONSerialization.jsonObject(with: Data(who.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(rows?.count, 1)
        XCTAssertEqual(rows?.first?["event_time"] as? String, "2015-11-11T21:20:52Z")
        XCTAssertEqual(rows?.first?["event_name"] as? String, "Decrypt")
        XCTAssertEqual(rows?.first?["event_id"] as? String, "9525bee7-5145-42b0-bed5-ab7196a16daa")
        XCTAssertEqual(rows?.first?["principal_arn"] as? String, "arn:aws:iam::111122223333:user/cloudtrail-admin")
        XCTAssertEqual(rows?.first?["principal_type"] as? String, "IAMUser")
        XCTAssertTrue(rows?.first?["error_code"] is NSNull)
        XCTAssertEqual(rows?.first?["source_ip"] as? String, "internal.amazonaws.com")
        XCTAssertEqual(rows?.first?["key_arn"] as? String, "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        XCTAssertEqual(rows?.first?["object_arn"] as? String, seedLogFileARN)

        let stats = try run(["stats", "--db", db, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["kms_events"] as? Int, 3)
        XCTAssertEqual(object?["files_ingested"] as? Int, 2)
        XCTAssertEqual(object?["files_skipped"] as? Int, 0)
        XCTAssertEqual(object?["files_failed"] as? Int, 0)
        XCTAssertEqual(object?["schema_version"] as? Int, IndexDatabase.schemaVersion)
    }

    func testExitStatusesAndMessages() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        try run(["ingest", "--db", db, fixturesURL.appendingPathComponent("seed").path])
        // Unknown object: 1, and stderr says so.
        let unknown = try run(["who-read", "--db", db, "nothing-like-this.json.gz"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no KMS event or S3 read in the index names nothing-like-this.json.gz"), unknown.stderr)
        // Known but never read (the trail-check prefix): 1.
        let neverRead = try run(["who-read", "--db", db, "arn:aws:s3:::example-bucket-for-CT-logs/AWSLogs/111122223333/"])
        XCTAssertEqual(neverRead.status, 1)
        XCTAssertTrue(neverRead.stderr.contains("no Decrypt or S3 read of it is recorded"), neverRead.stderr)
        // Usage error: 2.
        XCTAssertEqual(try run(["who-read", "--db", db]).status, 2)
        XCTAssertEqual(try run(["ingest", "--db", db, "--jobs", "0", "x"]).status, 2)
        for threads in ["-1", "65"] {
            let refused = try run(["ingest", "--db", db, "--read-ahead=" + threads, "x"])
            XCTAssertEqual(refused.status, 2)
            XCTAssertTrue(refused.stderr.contains("--read-ahead must be between 0 and 64"), refused.stderr)
        }
        // A file that is not a database: 2, untouched.
        let notDB = try dir.write("notes.txt", Data("my notes".utf8))
        let refused = try run(["stats", "--db", notDB])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("is not a SQLite database"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: notDB, encoding: .utf8), "my notes")
        // An empty file: no index, for a query and for findings alike; left empty.
        let empty = try dir.write("empty.sqlite", Data())
        for command in [["stats"], ["findings"], ["who-read", "x.json.gz"]] {
            let emptyRefused = try run([command[0], "--db", empty] + command.dropFirst())
            XCTAssertEqual(emptyRefused.status, 2, "\(command)")
            XCTAssertTrue(emptyRefused.stderr.contains("is an empty file, not an index"), emptyRefused.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: empty)).count, 0)
        // Refused by a command that writes too, with no lock file left beside it (a log file
        // given as --db would leave one in the log tree).
        let logGiven = try dir.write("tree/" + logPath(), gzip(logFile([kmsRecord(eventID: "given")])))
        for command in [["ingest", dir.path + "/tree"], ["prune", "--before", "2020-01-01"], ["merge", notDB]] {
            let refusedWrite = try run([command[0], "--db", logGiven] + command.dropFirst())
            XCTAssertEqual(refusedWrite.status, 2, "\(command)")
            XCTAssertTrue(refusedWrite.stderr.contains("is not a SQLite database"), refusedWrite.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: logGiven + ".lock"), "\(command)")
        }
        // A failed file: 1, the rest indexed.
        try dir.write("logs/" + logPath(unique: "bad0000000000000"), Data("garbage".utf8))
        try dir.write("logs/" + logPath(unique: "good000000000000"), gzip(logFile([kmsRecord(eventID: "ok")])))
        let partial = try run(["ingest", "--quiet", "--db", db, dir.path + "/logs"])
        XCTAssertEqual(partial.status, 1)
        XCTAssertTrue(partial.stderr.contains("failed: \(dir.path)/logs/"), partial.stderr)
        XCTAssertTrue(partial.stderr.contains("1 ingested"), partial.stderr)
    }

    /// Every spelling of the same who-read (`--` before the object, `--opt=value`, another
    /// order) prints and returns exactly the same.
    func testWhoReadAnswersTheSameInEveryFormOfItsArguments() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        try run(["ingest", "-q", "--db", db, fixturesURL.appendingPathComponent("seed").path])
        let objects = [
            seedLogFileARN, "111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz",
            "arn:aws:s3:::example-bucket-for-CT-logs/AWSLogs/111122223333/", "nothing-like-this.json.gz",
            "help",
        ]
        for object in objects {
            for format in ["table", "csv", "tsv", "json", "ndjson"] {
                let parsed = try run(["who-read", "--db", db, "--format", format, "--", object])
                for plain in [
                    ["who-read", "--db", db, "--format", format, object],
                    ["who-read", object, "--format=" + format, "--db=" + db],
                ] {
                    let fast = try run(plain)
                    XCTAssertEqual(fast.status, parsed.status, "\(plain)")
                    XCTAssertEqual(fast.stdout, parsed.stdout, "\(plain)")
                    XCTAssertEqual(fast.stderr, parsed.stderr, "\(plain)")
                }
            }
        }
        let missing = try run(["who-read", "--db", dir.path + "/none.sqlite", "x"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr, try run(["who-read", "--db", dir.path + "/none.sqlite", "--", "x"]).stderr)
        var environment = ProcessInfo.processInfo.environment
        environment["KMSINDEX_DB"] = db
        let fromEnvironment = try run(["who-read", seedLogFileARN], environment: environment)
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)
        XCTAssertEqual(fromEnvironment.stdout, try run(["who-read", "--", seedLogFileARN], environment: environment).stdout)
    }

    /// who-read is parsed as a tree of its own (`KMSIndexCommand.main`): it keeps
    /// ArgumentParser's meaning, and its help and errors are those of `kmsindex who-read`.
    func testWhoReadParsesAndReportsAsACommandOfTheTree() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        try run(["ingest", "-q", "--db", db, fixturesURL.appendingPathComponent("seed").path])
        // A repeated option: the last one counts.
        let repeated = try run(["who-read", "--db", dir.path + "/none.sqlite", "--db", db, seedLogFileARN])
        XCTAssertEqual(repeated.status, 0, repeated.stderr)
        // `--db=` takes the next argument as its value.
        let emptyValue = try run(["who-read", "--db=", db, seedLogFileARN])
        XCTAssertEqual(emptyValue.status, 0, emptyValue.stderr)
        XCTAssertEqual(emptyValue.stdout, try run(["who-read", "--db", db, seedLogFileARN]).stdout)
        let badFormat = try run(["who-read", "--db", db, "--format", "JSON", seedLogFileARN])
        XCTAssertEqual(badFormat.status, 2)
        XCTAssertTrue(badFormat.stderr.hasPrefix("Error: The value 'JSON' is invalid for '--format <format>'."), badFormat.stderr)
        let two = try run(["who-read", "--db", db, "a", "b"])
        XCTAssertEqual(two.status, 2)
        XCTAssertTrue(two.stderr.hasPrefix("Error: Unexpected argument 'b'"), two.stderr)
        XCTAssertTrue(badFormat.stderr.contains("See 'kmsindex who-read --help' for more information."), badFormat.stderr)
        let help = try run(["who-read", "--db", db, "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: kmsindex who-read [--db <path>] <object> [--format <format>]"), help.stdout)
        XCTAssertEqual(help.stdout, try run(["help", "who-read"]).stdout)
        let version = try run(["who-read", "x", "--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.stdout, try run(["--version"]).stdout)
        let bare = try run(["who-read"])
        XCTAssertEqual(bare.status, 2)
        XCTAssertTrue(bare.stderr.hasPrefix("Error: Missing expected argument '<object>'"), bare.stderr)
    }

    /// ingest, parsed as a tree of its own too, helps and fails as `kmsindex ingest` does.
    func testIngestParsesAndReportsAsACommandOfTheTree() throws {
        let help = try run(["ingest", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: kmsindex ingest [<options>] <path> ..."), help.stdout)
        XCTAssertEqual(help.stdout, try run(["help", "ingest"]).stdout)
        let bad = try run(["ingest", "--jobs", "abc", "x"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("Error: The value 'abc' is invalid for '--jobs <jobs>'"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("See 'kmsindex ingest --help' for more information."), bad.stderr)
        let bare = try run(["ingest"])
        XCTAssertEqual(bare.status, 2)
        XCTAssertTrue(bare.stderr.hasPrefix("Error: Missing expected argument '<path> ...'"), bare.stderr)
        XCTAssertEqual(try run(["ingest", "x", "--version"]).stdout, try run(["--version"]).stdout)
    }

    func testDatabaseComesFromTheEnvironmentThenTheDefault() throws {
        let dir = try TempDir()
        let seed = fixturesURL.appendingPathComponent("seed").path
        var environment = ProcessInfo.processInfo.environment
        environment["KMSINDEX_DB"] = dir.path + "/from-env.sqlite"
        XCTAssertEqual(try run(["ingest", "-q", seed], environment: environment).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/from-env.sqlite"))
        environment["KMSINDEX_DB"] = nil
        XCTAssertEqual(try run(["ingest", "-q", seed], environment: environment, in: dir.url).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/kmsindex.sqlite"))
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/kmsindex.sqlite")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testACopiedBinaryCarriesItsMigrations() throws {
        let dir = try TempDir()
        let copy = dir.url.appendingPathComponent("bin/kmsindex")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: kmsindexBinary, to: copy)
        let result = try run(
            ["ingest", "--db", dir.path + "/copy.sqlite", fixturesURL.appendingPathComponent("seed").path], binary: copy, in: dir.url)
        XCTAssertEqual(result.status, 0, result.stderr)
        let stats = try run(["stats", "--db", dir.path + "/copy.sqlite"], binary: copy, in: dir.url)
        XCTAssertNotNil(stats.stdout.range(of: "\nkms_events +3\n", options: .regularExpression), stats.stdout)
    }

    func testCallerChosenTextIsEscapedInTablesAndIntactInJSON() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "evil",
                        identity: #"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Reader/x\u001b[2J\ny"}"#,
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/evil.txt"}}"#,
                        error: ("AccessDenied", "no\u{1b}[2J\nway"))
                ])))
        try run(["ingest", "-q", "--db", db, dir.path])
        let table = try run(["who-read", "--db", db, "s3://b/evil.txt"])
        XCTAssertFalse(table.stdout.contains("\u{1b}"))
        XCTAssertTrue(table.stdout.contains("(session x\\x1b[2J\\ny)"), table.stdout)
        let json = try run(["who-read", "--db", db, "--format", "json", "s3://b/evil.txt"])
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(rows?.first?["error_message"] as? String, "no\u{1b}[2J\nway")
        XCTAssertEqual(rows?.first?["session_name"] as? String, "x\u{1b}[2J\ny")
    }
}
