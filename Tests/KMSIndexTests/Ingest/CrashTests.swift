import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// An ingest killed with SIGKILL at any moment, then run again, ends with exactly the index a
/// clean single run produces.
final class CrashTests: XCTestCase {
    /// Everything that must be equal between two indexes of the same tree, as text.
    func contents(_ path: String) throws -> [String] {
        let index = try IndexDatabase.openForReading(path: path)
        return try index.queue.read { db in
            var lines: [String] = []
            for table in [
                "events", "event_uids", "strings", "kms_keys", "kms_key_aliases", "trails", "s3_objects",
                "s3_buckets", "principals", "user_agents", "context_names", "context_values", "event_context",
            ] {
                lines.append("\(table) \(try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)")!)")
            }
            lines += try String.fetchAll(db, sql: "SELECT outcome || ' ' || count(*) FROM source_files GROUP BY outcome ORDER BY outcome")
            // Every object's who-read answer, and every event with what it names.
            lines += try String.fetchAll(
                db,
                sql: """
                    SELECT object_arn || ' ' || group_concat(event_id, ',') FROM
                      (SELECT object_arn, event_id FROM object_reads ORDER BY object_arn, event_time, event_id)
                    GROUP BY object_arn ORDER BY object_arn
                    """)
            lines += try String.fetchAll(
                db,
                sql: """
                    SELECT event_id || ' ' || event_name || ' ' || ifnull(key_arn, '-') || ' ' || ifnull(principal_arn, '-')
                           || ' ' || ifnull(object_arn, '-') || ' ' || ifnull(trail_arn, '-') || ' ' || ifnull(user_agent, '-')
                    FROM kms_events ORDER BY event_id
                    """)
            lines.append("integrity " + (try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "?"))
            lines.append(
                "duplicates \(try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT event_uid FROM event_uids GROUP BY event_uid HAVING count(*) > 1)")!)"
            )
            return lines
        }
    }

    func ingestProcess(_ db: String, _ tree: String) throws -> Process {
        let process = Process()
        process.executableURL = kmsindexBinary
        process.arguments = ["ingest", "--quiet", "--files-per-transaction", "3", "--db", db, tree]
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func testKilledIngestsEndWithTheIndexOfACleanRun() throws {
        let dir = try TempDir()
        let tree = dir.path + "/tree"
        _ = try Synth.generate(
            SynthOptions(seed: 11, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 48),
            into: URL(fileURLWithPath: tree))
        let clean = dir.path + "/clean.sqlite"
        let start = Date()
        let reference = try ingestProcess(clean, tree)
        reference.waitUntilExit()
        XCTAssertEqual(reference.terminationStatus, 0)
        let duration = Date().timeIntervalSince(start)

        // At least 20 kills, at moments spread from the start to past the middle of a whole run
        // (each run resumes where the last one was killed, so later kills land later in the work).
        let killed = dir.path + "/killed.sqlite"
        var kills = 0
        var attempt = 0
        while kills < 24 && attempt < 100 {
            let process = try ingestProcess(killed, tree)
            let fraction = Double((attempt * 7) % 20 + 1) / 40
            usleep(UInt32(duration * fraction * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            attempt += 1
        }
        XCTAssertGreaterThanOrEqual(kills, 20)
        let last = try ingestProcess(killed, tree)
        last.waitUntilExit()
        XCTAssertEqual(last.terminationStatus, 0)
        let expected = try contents(clean)
        XCTAssertTrue(expected.contains("integrity ok"))
        XCTAssertEqual(try contents(killed), expected)
    }

    /// A kill while a new index is being created and migrated leaves one the next run finishes
    /// (it must never look like another program's SQLite database).
    func testKillsDuringCreationLeaveAnIndexTheNextRunFinishes() throws {
        let dir = try TempDir()
        let tree = fixturesURL.appendingPathComponent("seed").path
        var killedEarly = 0
        for step in 0..<60 {
            let db = dir.path + "/new-\(step).sqlite"
            let process = try ingestProcess(db, tree)
            usleep(UInt32(step) * 1_000)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killedEarly += 1
            }
            process.waitUntilExit()
            let again = try ingestProcess(db, tree)
            again.waitUntilExit()
            XCTAssertEqual(again.terminationStatus, 0, "killed after \(step) ms")
            XCTAssertEqual(try count(try IndexDatabase.openForReading(path: db), "SELECT count(*) FROM events"), 3)
        }
        XCTAssertGreaterThan(killedEarly, 10)
    }
}
