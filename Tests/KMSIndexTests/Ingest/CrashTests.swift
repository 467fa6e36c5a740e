import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// An ingest killed with SIGKILL at any moment, then run again, ends with exactly the index a
/// clean single run produces.
final class CrashTests: XCTestCase {
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

        let expected = try indexContents(clean)
        XCTAssertTrue(expected.contains("integrity ok"))

        // At least 20 kills, at moments spread from the start to past the middle of a whole run
        // (each run resumes where the last one was killed, so later kills land later in the work).
        // A run that gets to the end before its kill ends a series: its index must be the clean
        // run's, and the next series starts from nothing, so that kills keep landing in work
        // however fast the runs go (on a loaded machine the first run's time says little).
        let killed = dir.path + "/killed.sqlite"
        var kills = 0
        var attempt = 0
        var series = 0
        while kills < 24 && attempt < 100 {
            let process = try ingestProcess(killed, tree)
            let fraction = Double((attempt * 7) % 20 + 1) / 40
            usleep(UInt32(duration * fraction * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            if process.terminationReason == .exit {
                XCTAssertEqual(process.terminationStatus, 0)
                XCTAssertEqual(try indexContents(killed), expected, "series \(series)")
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: killed + suffix) }
                series += 1
            }
            attempt += 1
        }
        XCTAssertGreaterThanOrEqual(kills, 20)
        let last = try ingestProcess(killed, tree)
        last.waitUntilExit()
        XCTAssertEqual(last.terminationStatus, 0)
        XCTAssertEqual(try indexContents(killed), expected)
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
