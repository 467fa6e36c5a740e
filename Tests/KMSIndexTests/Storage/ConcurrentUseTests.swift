import Foundation
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// Queries from other processes while an ingest writes: they answer from a consistent
/// snapshot and never fail with "database is locked".
final class ConcurrentUseTests: XCTestCase {
    func testQueriesDuringAnIngestAnswerAndNeverSeeALock() throws {
        let dir = try TempDir()
        let tree = dir.path + "/tree"
        let truth = try Synth.generate(
            SynthOptions(seed: 12, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 48),
            into: URL(fileURLWithPath: tree))
        let db = dir.path + "/i.sqlite"
        // Create the index first, so that queries have something to open from the start.
        try FileManager.default.createDirectory(atPath: dir.path + "/nothing-yet", withIntermediateDirectories: false)
        XCTAssertEqual(try runBinary(["ingest", "-q", "--db", db, dir.path + "/nothing-yet"]).status, 0)

        let ingest = Process()
        ingest.executableURL = kmsindexBinary
        ingest.arguments = ["ingest", "-q", "--files-per-transaction", "2", "--db", db, tree]
        try ingest.run()
        let objectARN = truth.objects.keys.sorted().first!
        var seen: [Int] = []
        var queries = 0
        while ingest.isRunning || queries < 5 {
            let stats = try runBinary(["stats", "--format", "json", "--db", db])
            XCTAssertEqual(stats.status, 0, stats.stderr)
            XCTAssertFalse(stats.stderr.contains("locked"), stats.stderr)
            let counts = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
            seen.append(counts?["kms_events"] as? Int ?? -1)
            let who = try runBinary(["who-read", "--format", "json", "--db", db, objectARN])
            XCTAssertTrue(who.status == 0 || who.status == 1, who.stderr)
            XCTAssertFalse(who.stderr.contains("locked"), who.stderr)
            queries += 1
        }
        ingest.waitUntilExit()
        XCTAssertEqual(ingest.terminationStatus, 0)
        XCTAssertEqual(seen, seen.sorted(), "a later snapshot never holds fewer events")
        XCTAssertGreaterThan(queries, 2)
        let final = try runBinary(["stats", "--format", "json", "--db", db])
        let finalCounts = try JSONSerialization.jsonObject(with: Data(final.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(finalCounts?["kms_events"] as? Int, truth.kmsEvents)
    }
}
