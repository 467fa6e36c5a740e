import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// The indexer's own principals: stored, matched (a role covers its sessions), marked in
/// who-read and reads, hidden from tables, and guessed by stats.
final class OwnPrincipalsTests: XCTestCase {
    static let sync = "arn:aws:iam::111122223333:role/Sync"

    static func syncIdentity(_ session: String) -> String {
        #"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Sync/\#(session)","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"\#(sync)"}}}"#
    }

    /// The query fixture, and the sync role reading every log file within a day of its delivery.
    static let records =
        queryFixtureRecords + [
            queryRecord(
                "s1", "Decrypt", "2024-03-01T03:00:00Z", identity: syncIdentity("n1"), requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "s2", "Decrypt", "2024-03-01T03:00:01Z", identity: syncIdentity("n1"), requestParameters: Q.context(object: Q.log2)),
            queryRecord(
                "s3", "Decrypt", "2024-03-02T03:00:00Z", identity: syncIdentity("n2"), requestParameters: Q.context(object: Q.log3)),
        ]

    func testAddRemoveListAndRefusals() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        try index.queue.write { db in
            XCTAssertTrue(try OwnPrincipals.add(db, arn: Self.sync))
            XCTAssertFalse(try OwnPrincipals.add(db, arn: Self.sync))
            XCTAssertTrue(try OwnPrincipals.add(db, arn: Q.alice))
            for bad in ["Sync", "arn:aws:s3:::bucket", "arn:aws:iam::111122223333:role/", "arn:aws:sts::1:assumed-role/R"] {
                XCTAssertThrowsError(try OwnPrincipals.add(db, arn: bad), bad)
            }
            XCTAssertEqual(try OwnPrincipals.list(db).map(\.arn), [Self.sync, Q.alice])
            XCTAssertTrue(try OwnPrincipals.remove(db, arn: Q.alice))
            XCTAssertFalse(try OwnPrincipals.remove(db, arn: Q.alice))
            XCTAssertEqual(try OwnPrincipals.list(db).map(\.arn), [Self.sync])
        }
    }

    func testWhoReadAndReadsMarkOwnReads() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir, Self.records)
        func whoRead(_ object: String) throws -> [String] {
            try index.queue.read { db in
                guard case let .object(_, reads, _, _) = try WhoRead(db).answer(object) else { return [] }
                return reads.map { "\($0.eventID)\($0.ownRead ? "*" : "")" }
            }
        }
        XCTAssertEqual(try whoRead(Q.log1), ["s1", "r1", "r2"])
        try index.queue.write { db in _ = try OwnPrincipals.add(db, arn: Self.sync) }
        XCTAssertEqual(try whoRead(Q.log1), ["s1*", "r1", "r2"])
        // A session ARN covers that session only; a user ARN that user.
        try index.queue.write { db in
            _ = try OwnPrincipals.remove(db, arn: Self.sync)
            _ = try OwnPrincipals.add(db, arn: "arn:aws:sts::111122223333:assumed-role/Sync/n2")
            _ = try OwnPrincipals.add(db, arn: Q.alice)
        }
        XCTAssertEqual(try whoRead(Q.log1), ["s1", "r1*", "r2"])
        XCTAssertEqual(try whoRead(Q.log3), ["s3*"])
        let reads = try index.queue.read { db in try PrincipalReads(db).reads(principal: "Sync", filter: QueryFilter()) }
        XCTAssertEqual(reads.map { "\($0.eventID)\($0.ownRead ? "*" : "")" }, ["s1", "s2", "s3*"])
        let (shown, hidden) = OwnPrincipals.visible(reads, all: false)
        XCTAssertEqual(shown.map(\.eventID), ["s1", "s2"])
        XCTAssertEqual(hidden, 1)
        XCTAssertEqual(OwnPrincipals.visible(reads, all: true).rows.count, 3)
    }

    func testStatsNamesTheSyncRole() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir, Self.records)
        let likely = try index.queue.read { db in try OwnPrincipals.likely(db) }
        XCTAssertEqual(likely, OwnPrincipals.Candidate(arn: Self.sync, filesRead: 3, files: 3, alreadyOwn: false))
        // Nobody else reads 90% of the files: without the sync's reads, no guess.
        let other = try TempDir()
        let without = try queryIndex(other, queryFixtureRecords)
        XCTAssertNil(try without.queue.read { db in try OwnPrincipals.likely(db) })
        // A read more than 48 hours after delivery does not count.
        let late = try TempDir()
        var records = Self.records
        records[records.count - 1] = queryRecord(
            "s3", "Decrypt", "2024-03-05T03:00:00Z", identity: Self.syncIdentity("n2"),
            requestParameters: Q.context(object: Q.log3))
        let lateIndex = try queryIndex(late, records)
        XCTAssertEqual(try lateIndex.queue.read { db in try OwnPrincipals.likely(db) }?.filesRead, nil)
        // A sync role per account, each reading its own trail's files (half of all): each reads
        // all of its trail's, and the one that read the most is named.
        let twoTrails = try TempDir()
        let otherSync = "arn:aws:iam::111122223333:role/OtherSync", otherTrail = "arn:aws:cloudtrail:us-west-2:111122223333:trail/other"
        let otherIdentity = Self.syncIdentity("o1").replacingOccurrences(of: "Sync", with: "OtherSync")
        var perTrail = Self.records
        for n in 1...4 {
            let object = "arn:aws:s3:::other-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/01/f\(n).json.gz"
            perTrail.append(
                queryRecord(
                    "d\(n)", "GenerateDataKey", "2024-03-01T0\(n):00:00Z",
                    identity: #"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#,
                    requestParameters: Q.context(object: object, trail: otherTrail)))
            perTrail.append(
                queryRecord(
                    "o\(n)", "Decrypt", "2024-03-01T0\(n):30:00Z", identity: otherIdentity,
                    requestParameters: Q.context(object: object, trail: otherTrail)))
        }
        let perTrailIndex = try queryIndex(twoTrails, perTrail)
        XCTAssertEqual(
            try perTrailIndex.queue.read { db in try OwnPrincipals.likely(db) },
            OwnPrincipals.Candidate(arn: otherSync, filesRead: 4, files: 4, alreadyOwn: false))
        // One log file read once, as in the sample shipped: too little to name anyone.
        let one = try TempDir()
        let seed = try makeIndex(one)
        try ingest(seed, [fixturesURL.appendingPathComponent("seed/AWSLogs").path])
        XCTAssertNil(try seed.queue.read { db in try OwnPrincipals.likely(db) })
    }

    func testCommandLine() throws {
        let dir = try TempDir()
        try dir.write("logs/" + logPath(), gzip(logFile(Self.records)))
        let db = dir.path + "/i.sqlite"
        XCTAssertEqual(try runKMSIndex(["ingest", "-q", "--db", db, dir.path + "/logs"]).status, 0)

        let stats = try runKMSIndex(["stats", "--db", db])
        XCTAssertTrue(stats.stderr.contains("kmsindex own-principal add \(Self.sync)"), stats.stderr)
        XCTAssertTrue(stats.stdout.contains("likely_own_principal  \(Self.sync)"), stats.stdout)

        XCTAssertEqual(try runKMSIndex(["own-principal", "add", "--db", db, "Sync"]).status, 2)
        let add = try runKMSIndex(["own-principal", "add", "--db", db, Self.sync])
        XCTAssertEqual(add.status, 0, add.stderr)
        let list = try runKMSIndex(["own-principal", "list", "--db", db, "--format", "csv"])
        XCTAssertTrue(list.stdout.hasPrefix("arn,added_at\r\n\(Self.sync),"), list.stdout)
        XCTAssertFalse(try runKMSIndex(["stats", "--db", db]).stderr.contains("own-principal add"))

        let table = try runKMSIndex(["who-read", "--db", db, Q.log1])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertFalse(table.stdout.contains("Sync"), table.stdout)
        XCTAssertEqual(table.stderr, "kmsindex: 1 read by the indexer's own principals left out (--all shows them)\n")
        let all = try runKMSIndex(["who-read", "--db", db, "--all", Q.log1])
        XCTAssertTrue(all.stdout.contains("role/Sync (session n1)"), all.stdout)
        XCTAssertEqual(all.stderr, "")
        let json = try runKMSIndex(["who-read", "--db", db, "--format", "json", Q.log1])
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(rows?.map { $0["own_read"] as? Bool }, [true, false, false])
        XCTAssertEqual(rows?.map { $0["source"] as? String }, ["kms", "kms", "kms"])
        XCTAssertTrue(rows?.allSatisfy { $0["bytes"] is NSNull } ?? false)

        let reads = try runKMSIndex(["reads", "--db", db, "--principal", "Sync"])
        XCTAssertEqual(reads.status, 0)
        XCTAssertEqual(reads.stdout, "")
        XCTAssertEqual(reads.stderr, "kmsindex: 3 reads by the indexer's own principals left out (--all shows them)\n")
        let allReads = try runKMSIndex(["reads", "--db", db, "--principal", "Sync", "--all"])
        XCTAssertEqual(allReads.stdout.components(separatedBy: "role/Sync (session").count, 4, allReads.stdout)

        XCTAssertEqual(try runKMSIndex(["own-principal", "remove", "--db", db, Self.sync]).status, 0)
        XCTAssertEqual(try runKMSIndex(["own-principal", "remove", "--db", db, Self.sync]).status, 1)
        XCTAssertEqual(try runKMSIndex(["own-principal", "list", "--db", db]).status, 1)
    }
}
