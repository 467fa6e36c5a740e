import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// `kmsindex merge`: shards ingested separately (and concurrently), merged, answer every
/// question as one ingest of the whole tree does; merging is idempotent and survives SIGKILL.
final class MergeTests: XCTestCase {
    /// A generated tree, its whole ingest, and four shards of it (one per account and region)
    /// ingested by four concurrent processes.
    struct Sharded {
        let dir: TempDir
        var tree: String { dir.path + "/tree/AWSLogs" }
        var whole: String { dir.path + "/whole.sqlite" }
        var shards: [String] { (1...4).map { dir.path + "/shard-\($0).sqlite" } }
        /// Folders of each shard: an account's CloudTrail, digest and Insights folders of one region.
        var shardFolders: [[String]] = []
        var logFiles = 0

        init() throws {
            dir = try TempDir()
            let truth = try Synth.generate(
                SynthOptions(seed: 23, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 10),
                into: dir.url.appendingPathComponent("tree"))
            logFiles = truth.logFiles
            let accounts = try FileManager.default.contentsOfDirectory(atPath: tree).sorted()
            XCTAssertEqual(accounts.count, 2)
            for account in accounts {
                for region in ["us-east-1", "eu-west-1"] {
                    shardFolders.append(
                        ["CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight"]
                            .map { "\(tree)/\(account)/\($0)/\(region)" }
                            .filter { FileManager.default.fileExists(atPath: $0) })
                }
            }
            XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", whole, tree]).status, 0)
            // The four shards at once, as four machines (or cron jobs) would write them.
            let processes = try zip(shards, shardFolders).map { shard, folders in
                let process = Process()
                process.executableURL = kmsindexBinary
                process.arguments = ["ingest", "--quiet", "--db", shard] + folders
                try process.run()
                return process
            }
            for process in processes {
                process.waitUntilExit()
                XCTAssertEqual(process.terminationStatus, 0)
            }
        }
    }

    /// Every answer of an index that shows no ids: row counts of every table, the ledger, `stats`,
    /// every S3 location's who-read, `usage`, `keys`, `trails`, `objects`, `denied` (JSON).
    func answers(_ db: String) throws -> [String] {
        let index = try IndexDatabase.openForReading(path: db)
        var lines: [String] = try index.queue.read { db in
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'grdb_migrations' ORDER BY name")
            var lines = try tables.map { "\($0) \(try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)")!)" }
            lines += try String.fetchAll(
                db,
                sql:
                    "SELECT path || ' ' || size || ' ' || mtime_ns || ' ' || outcome || ' ' || ifnull(content_sha256, '-') FROM source_files ORDER BY path"
            )
            lines += try String.fetchAll(
                db,
                sql:
                    "SELECT k.arn || ' ' || a.alias || ' ' || a.first_seen || ' ' || a.last_seen FROM kms_key_aliases a JOIN kms_keys k ON k.id = a.key_id ORDER BY 1"
            )
            lines.append("integrity " + (try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "?"))
            return lines
        }
        let locations = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT arn FROM s3_locations ORDER BY arn") }
        XCTAssertGreaterThan(locations.count, 20)
        for command in [["stats"], ["usage"], ["usage", "--by", "key"], ["keys"], ["trails"], ["objects"], ["denied"]] {
            let run = try runBinary(command + ["--format", "json", "--db", db])
            lines.append("\(command) \(run.status) \(run.stdout)")
        }
        // Every location's who-read JSON as the command renders it (in this process: a process
        // per location would make this test slow), and a few through the command itself.
        for arn in locations {
            let reads = try whoRead(index, arn).reads
            lines.append("who-read \(arn) " + ResultTable(columns: EventRow.columnNames, cells: reads.map(\.cells)).render(.json))
        }
        for arn in locations.prefix(5) {
            let run = try runBinary(["who-read", arn, "--format", "json", "--db", db])
            lines.append("who-read command \(arn) \(run.status) \(run.stdout)")
        }
        return lines
    }

    func merge(_ dest: String, _ shards: [String]) throws -> (run: BinaryRun, summary: [String: Any]) {
        let run = try runBinary(["merge", "--json-summary", "--wait", "1", "--db", dest] + shards)
        let summary = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        return (run, summary)
    }

    func testShardsIngestedConcurrentlyThenMergedAnswerAsOneIngest() throws {
        let s = try Sharded()
        let expected = try answers(s.whole)
        let wholeEvents = try count(try IndexDatabase.openForReading(path: s.whole), "SELECT count(*) FROM events")
        XCTAssertGreaterThan(wholeEvents, 100)

        // Into an index that does not exist yet.
        let dest = s.dir.path + "/merged.sqlite"
        let (run, summary) = try merge(dest, s.shards)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("4 shards: 4 merged, 0 failed; \(wholeEvents) KMS events added"), run.stderr)
        XCTAssertEqual(summary["events_added"] as? Int, wholeEvents)
        XCTAssertEqual(summary["files_added"] as? Int, s.logFiles)
        let perShard = summary["shards"] as? [[String: Any]] ?? []
        XCTAssertEqual(perShard.compactMap { $0["events_added"] as? Int }.reduce(0, +), wholeEvents)
        XCTAssertEqual(perShard.compactMap { $0["days"] as? [String] }.first, ["2024-03-01"])
        XCTAssertEqual(try answers(dest), expected)
        let attributes = try FileManager.default.attributesOfItem(atPath: dest)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "created private, as ingest creates it")

        // Again, and one shard twice in one run: nothing added, every event a duplicate.
        let (again, againSummary) = try merge(dest, s.shards + [s.shards[0]])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(againSummary["events_added"] as? Int, 0)
        XCTAssertEqual(againSummary["files_added"] as? Int, 0)
        XCTAssertEqual(againSummary["files_updated"] as? Int, 0)
        let shardEvents = try s.shards.map { try count(try IndexDatabase.openForReading(path: $0), "SELECT count(*) FROM events") }
        XCTAssertEqual(againSummary["duplicates"] as? Int, shardEvents.reduce(0, +) + shardEvents[0])
        XCTAssertEqual(try answers(dest), expected)

        // A later ingest of the tree into the merged index reads no file again.
        let ingest = try runBinary(["ingest", "--quiet", "--json-summary", "--db", dest, s.tree])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        let ingestSummary = try JSONSerialization.jsonObject(with: Data(ingest.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(ingestSummary["files_unchanged"] as? Int, s.logFiles)
        XCTAssertEqual(ingestSummary["files_ingested"] as? Int, 0)
        XCTAssertEqual(ingestSummary["events_added"] as? Int, 0)
        XCTAssertEqual(try answers(dest), expected)

        // Into an index that already holds a part of the tree: that part is all duplicates.
        let partial = s.dir.path + "/partial.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", partial] + s.shardFolders[2]).status, 0)
        let (intoPartial, partialSummary) = try merge(partial, s.shards)
        XCTAssertEqual(intoPartial.status, 0, intoPartial.stderr)
        XCTAssertEqual(partialSummary["events_added"] as? Int, wholeEvents - shardEvents[2])
        XCTAssertEqual(partialSummary["duplicates"] as? Int, shardEvents[2])
        XCTAssertEqual(try answers(partial), expected)
    }

    /// Shards some of whose events the index already holds (a third of the tree's log files,
    /// of every shard, ingested into it first): each adds only its others, and the index answers
    /// as one ingest of the whole tree.
    func testShardsPartlyInTheIndexAddOnlyTheirOtherEvents() throws {
        let s = try Sharded()
        let expected = try answers(s.whole)
        let total = try count(try IndexDatabase.openForReading(path: s.whole), "SELECT count(*) FROM events")
        let logFiles = (FileManager.default.enumerator(atPath: s.tree)?.allObjects as? [String] ?? [])
            .filter { $0.contains("/CloudTrail/") && $0.hasSuffix(".json.gz") }.sorted()
        XCTAssertGreaterThan(logFiles.count, 12)
        let some = stride(from: 0, to: logFiles.count, by: 3).map { s.tree + "/" + logFiles[$0] }
        let dest = s.dir.path + "/some.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", dest] + some).status, 0)
        let before = try count(try IndexDatabase.openForReading(path: dest), "SELECT count(*) FROM events")
        XCTAssertGreaterThan(before, 0)
        XCTAssertLessThan(before, total)

        let (run, summary) = try merge(dest, s.shards)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(summary["events_added"] as? Int, total - before)
        XCTAssertEqual(summary["duplicates"] as? Int, before)
        for shard in summary["shards"] as? [[String: Any]] ?? [] {
            XCTAssertGreaterThan(shard["events_added"] as? Int ?? 0, 0, "\(shard)")
            XCTAssertGreaterThan(shard["duplicates"] as? Int ?? 0, 0, "\(shard)")
        }
        XCTAssertEqual(try answers(dest), expected)
    }

    /// A merge killed with SIGKILL at moments spread over a whole merge, then run again, ends with
    /// the index of one ingest of the whole tree. Into an index that exists, a kill leaves some
    /// shards merged and others not; into one that does not, no index or a whole one.
    func testKilledMergesEndWithTheAnswersOfOneIngest() throws {
        let s = try Sharded()
        let expected = try answers(s.whole)
        let total = try count(try IndexDatabase.openForReading(path: s.whole), "SELECT count(*) FROM events")
        // A clean merge, timed, to spread the kills over one.
        let start = Date()
        XCTAssertEqual(try merge(s.dir.path + "/timing.sqlite", s.shards).run.status, 0)
        let duration = Date().timeIntervalSince(start)

        for intoExisting in [true, false] {
            let dest = s.dir.path + "/killed-\(intoExisting).sqlite"
            func startOver() throws {
                for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: dest + suffix) }
                if intoExisting { _ = try IndexDatabase.openForWriting(path: dest) }
            }
            try startOver()
            var kills = 0, partial = 0
            for attempt in 0..<30 {
                let process = Process()
                process.executableURL = kmsindexBinary
                process.arguments = ["merge", "--quiet", "--db", dest] + s.shards
                process.standardError = FileHandle.nullDevice
                try process.run()
                usleep(UInt32(duration * Double(attempt % 10 + 1) / 10 * 1_000_000))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    kills += 1
                }
                process.waitUntilExit()
                if FileManager.default.fileExists(atPath: dest) {
                    let events = try count(try IndexDatabase.openForReading(path: dest), "SELECT count(*) FROM events")
                    if events > 0 && events < total { partial += 1 }
                    if events == total { try startOver() }  // more kills land mid-way
                }
            }
            // How many kills land depends on how busy the machine is; the partial merges are the point.
            XCTAssertGreaterThan(kills, 0)
            if intoExisting {
                XCTAssertGreaterThan(partial, 0, "some kills left some shards merged and others not")
            } else {
                XCTAssertEqual(partial, 0, "a new index appears with every shard merged, or not at all")
            }
            XCTAssertEqual(try merge(dest, s.shards).run.status, 0)
            XCTAssertEqual(try answers(dest), expected)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dest + ".seed"))
        }
    }

    func testRefusesWhatIsNotAShardOfThisSchema() throws {
        let dir = try TempDir()
        let shard = dir.path + "/shard.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", shard, fixturesURL.appendingPathComponent("seed").path]).status, 0)
        let dest = dir.path + "/dest.sqlite"
        func events() throws -> Int { try count(try IndexDatabase.openForReading(path: dest), "SELECT count(*) FROM events") }

        // A SQLite database of another program, a file that is not SQLite, an empty file.
        let foreign = dir.path + "/other.db"
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE t (x)") }
        let text = try dir.write("notes.txt", Data("not a database\n".utf8))
        let empty = try dir.write("empty.sqlite", Data())
        // Indexes of a newer and of an older schema.
        let newer = dir.path + "/newer.sqlite", older = dir.path + "/older.sqlite"
        try FileManager.default.copyItem(atPath: shard, toPath: newer)
        try FileManager.default.copyItem(atPath: shard, toPath: older)
        try DatabaseQueue(path: newer).write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('999_from_the_future')") }
        let last = IndexDatabase.migrations.last!.identifier
        try DatabaseQueue(path: older).write { try $0.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [last]) }
        let newerBytes = try Data(contentsOf: URL(fileURLWithPath: newer))

        let cases: [(String, String)] = [
            (foreign, "not a kmsindex index"), (text, "not a SQLite database"), (empty, "not a kmsindex index"),
            (newer, "written by a newer kmsindex (schema 999_from_the_future)"),
            (older, "older than this kmsindex's \(IndexDatabase.schemaVersion)"),
            (dir.path + "/missing.sqlite", "cannot read"),
        ]
        for (path, reason) in cases {
            // Each bad shard before a good one: the good one is merged, the status says one failed.
            try? FileManager.default.removeItem(atPath: dest)
            let (run, summary) = try merge(dest, [path, shard])
            XCTAssertEqual(run.status, 1, path)
            XCTAssertTrue(run.stderr.contains("failed: \(path): "), run.stderr)
            XCTAssertTrue(run.stderr.contains(reason), run.stderr)
            XCTAssertTrue(run.stderr.contains("2 shards: 1 merged, 1 failed"), run.stderr)
            XCTAssertEqual(summary["exit_status"] as? Int, 1)
            let first = (summary["shards"] as? [[String: Any]])?.first
            XCTAssertEqual(first?["status"] as? String, "failed")
            XCTAssertTrue((first?["reason"] as? String)?.contains(reason) == true, path)
            XCTAssertEqual(try events(), 3)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: newer)), newerBytes, "a refused shard is left untouched")

        // Every shard refused: each is reported, and no index is created where there was none.
        try? FileManager.default.removeItem(atPath: dest)
        let (refused, refusedSummary) = try merge(dest, [text, newer, dir.path + "/missing.sqlite"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("3 shards: 0 merged, 3 failed"), refused.stderr)
        XCTAssertEqual((refusedSummary["shards"] as? [[String: Any]])?.map { $0["status"] as? String }, ["failed", "failed", "failed"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
        XCTAssertEqual(try merge(dest, [shard]).run.status, 0)

        // The index lock, as ingest takes it: a merge waits for the writer (--wait), then gives up.
        do {
            let lock = try IndexLock(indexPath: dest, timeout: 1)
            let locked = try merge(dest, [shard]).run
            XCTAssertEqual(locked.status, 2)
            XCTAssertTrue(locked.stderr.contains("(pid \(getpid())) is writing to \(dest)"), locked.stderr)
            withExtendedLifetime(lock) {}
        }

        // The index itself, by its path or through a link, is a usage error: nothing is merged,
        // and an index that does not exist yet is not created.
        try FileManager.default.removeItem(atPath: dest)
        let missing = try merge(dest, [shard, dest])
        XCTAssertEqual(missing.run.status, 2)
        XCTAssertTrue(missing.run.stderr.contains("\(dest) is the index merged into"), missing.run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest))
        XCTAssertEqual(try merge(dest, [shard]).run.status, 0)
        let link = dir.path + "/link.sqlite"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dest)
        for own in [dest, link] {
            let other = dir.path + "/other-\(UUID().uuidString).sqlite"
            try FileManager.default.copyItem(atPath: newer, toPath: other)
            try DatabaseQueue(path: other).write { try $0.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE '999%'") }
            try DatabaseQueue(path: dest).write {
                try $0.execute(sql: "DELETE FROM event_context; DELETE FROM event_uids; DELETE FROM events")
            }
            let run = try merge(dest, [other, own]).run
            XCTAssertEqual(run.status, 2)
            XCTAssertTrue(run.stderr.contains("\(own) is the index merged into"), run.stderr)
            XCTAssertEqual(try events(), 0, "nothing merged")
        }
    }
}

extension MergeTests {
    /// A merge into an index that does not exist starts from a copy of the largest shard: it
    /// reports and answers exactly as a merge into an empty index, carries none of that shard's
    /// own findings state, and starts over from what a killed copy left.
    func testANewIndexStartsAsACopyOfTheLargestShardAndAnswersTheSame() throws {
        let s = try Sharded()
        for shard in s.shards {
            try DatabaseQueue(path: shard).write { db in
                try db.execute(
                    sql: """
                        UPDATE findings_state SET last_event_id = 7, reported_at = '2024-03-02T00:00:00Z';
                        INSERT INTO findings_reported VALUES ('f1', 'log-read', '2024-03-02T00:00:00Z');
                        INSERT INTO findings_silenced (kind, added_at) VALUES ('decrypt-surge', '2024-03-02T00:00:00Z');
                        """)
            }
        }
        let sizes = try s.shards.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int ?? 0 }
        let largest = try XCTUnwrap(IndexMerger.seedChoice(s.shards))
        XCTAssertEqual(largest, sizes.firstIndex(of: sizes.max()!))
        // Merged as if given first: what the others add depends on what is there before them.
        let largestFirst = [s.shards[largest]] + s.shards.enumerated().filter { $0.offset != largest }.map(\.element)

        let empty = s.dir.path + "/empty.sqlite"
        _ = try IndexDatabase.openForWriting(path: empty)
        XCTAssertFalse(IndexMerger.canSeed(empty))
        let seeded = s.dir.path + "/seeded.sqlite"
        XCTAssertTrue(IndexMerger.canSeed(seeded))
        try s.dir.write("seeded.sqlite.seed", Data("left by a killed merge".utf8))

        let (plainRun, plainSummary) = try merge(empty, largestFirst)
        let (seededRun, seededSummary) = try merge(seeded, s.shards)
        XCTAssertEqual(plainRun.status, 0, plainRun.stderr)
        XCTAssertEqual(seededRun.status, 0, seededRun.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: seeded + ".seed"))
        func withoutTimes(_ summary: [String: Any]) -> [String: NSDictionary] {
            var shards: [String: NSDictionary] = [:]
            for var shard in summary["shards"] as? [[String: Any]] ?? [] {
                shard["duration_seconds"] = nil
                shards[shard["path"] as? String ?? ""] = shard as NSDictionary
            }
            return shards
        }
        XCTAssertEqual(withoutTimes(seededSummary).count, 4)
        XCTAssertEqual(withoutTimes(seededSummary), withoutTimes(plainSummary))
        XCTAssertEqual(seededRun.stderr, plainRun.stderr)
        let expected = try answers(s.whole)
        XCTAssertEqual(try answers(seeded), expected)
        XCTAssertEqual(try answers(empty), expected)
        let state = try IndexDatabase.openForReading(path: seeded).queue.read { db in
            try Row.fetchOne(db, sql: "SELECT last_event_id, last_s3_read_id, reported_at FROM findings_state")
        }
        XCTAssertEqual(state, ["last_event_id": 0, "last_s3_read_id": 0, "reported_at": nil])
        let attributes = try FileManager.default.attributesOfItem(atPath: seeded)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)

        // A WAL or journal where the index would be: no copy is renamed over it.
        let stray = s.dir.path + "/stray.sqlite"
        try s.dir.write("stray.sqlite-wal", Data())
        XCTAssertFalse(IndexMerger.canSeed(stray))
    }

    /// A damaged shard is never the copy a new index starts as: it is refused with its reason,
    /// and the others are merged into a new index as into any other.
    func testADamagedLargestShardIsRefusedAndTheOthersMergedWhole() throws {
        let s = try Sharded()
        let largest = try XCTUnwrap(IndexMerger.seedChoice(s.shards))
        let damaged = s.shards[largest]
        // A leaf page of events with its header overwritten, as a bad disk would.
        let pages = try DatabaseQueue(path: damaged).read { db in
            try Int.fetchAll(db, sql: "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno")
        }
        XCTAssertGreaterThan(pages.count, 1)
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: damaged))
        for page in pages.suffix(1) {
            try handle.seek(toOffset: UInt64((page - 1) * 4096))
            handle.write(Data(repeating: 0xA5, count: 64))
        }
        try handle.close()
        let others = s.shards.filter { $0 != damaged }
        let expected = try others.reduce(0) { sum, shard in
            sum + (try DatabaseQueue(path: shard).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 })
        }

        let dest = s.dir.path + "/new.sqlite"
        let (run, summary) = try merge(dest, s.shards)
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains(damaged), run.stderr)
        XCTAssertEqual((summary["shards"] as? [[String: Any]])?.filter { $0["status"] as? String == "failed" }.count, 1, "\(summary)")
        try DatabaseQueue(path: dest).read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT count(*) FROM events"), expected)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest + ".seed"))
    }
}
