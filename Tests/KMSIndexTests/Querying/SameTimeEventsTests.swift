import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Events that share one eventTime (CloudTrail writes whole seconds): each command names each
/// event by its own eventID, looked up a millisecond at a time (`EventUIDLookup`), in the order
/// `kms_events` gives them. `scripts/check-linear` (the same-time shapes) shows the work linear.
final class SameTimeEventsTests: XCTestCase {
    static let second = "2024-03-01T00:07:00Z"
    static let denier = "arn:aws:iam::111122223333:user/mallory"
    static let malloryIdentity =
        #"{"type":"IAMUser","principalId":"AIDAMALLORY","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"}"#

    /// Random eventIDs, so that their order is not the order of the file.
    static func ids(_ n: Int, _ random: inout SeededGenerator) -> [String] {
        (0..<n).map { _ in
            let hex = (0..<32).map { _ in String(random.next() % 16, radix: 16) }.joined()
            let c = Array(hex)
            return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(c[$0]) }.joined(separator: "-")
        }
    }

    struct Tree {
        var index: IndexDatabase
        var reads, denials, policyChanges: [String]
    }

    /// 60 reads of one log file, 25 denied reads of it and 12 key policy changes, all in one
    /// second, beside events of other seconds.
    func makeTree(_ dir: TempDir) throws -> Tree {
        var random = SeededGenerator(state: 7)
        let reads = Self.ids(60, &random), denials = Self.ids(25, &random), changes = Self.ids(12, &random)
        var records = [
            queryRecord(
                "w1", "GenerateDataKey", "2024-03-01T00:05:00Z", identity: Q.cloudTrail, requestParameters: Q.context(object: Q.log1)),
            queryRecord("early", "Decrypt", "2024-03-01T00:06:59Z", identity: Q.reader("s0"), requestParameters: Q.context(object: Q.log1)),
            queryRecord("late", "Decrypt", "2024-03-01T00:07:01Z", identity: Q.reader("s0"), requestParameters: Q.context(object: Q.log1)),
        ]
        records += reads.enumerated().map { i, id in
            queryRecord(id, "Decrypt", Self.second, identity: Q.reader("s\(i % 7)"), requestParameters: Q.context(object: Q.log1))
        }
        records += denials.map { id in
            queryRecord(
                id, "Decrypt", Self.second, identity: Self.malloryIdentity, requestParameters: Q.context(object: Q.log1),
                error: (code: "AccessDenied", message: "denied"))
        }
        records += changes.map { id in
            queryRecord(id, "PutKeyPolicy", Self.second, requestParameters: #"{"keyId":"\#(Q.key1)","policyName":"default"}"#)
        }
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        return Tree(index: index, reads: reads, denials: denials, policyChanges: changes)
    }

    func testWhoReadAndReadsNameEachEventOfOneSecondInEventIDOrder() throws {
        let dir = try TempDir()
        let tree = try makeTree(dir)
        let listed = try whoRead(tree.index, Q.log1).reads.map(\.eventID)
        XCTAssertEqual(listed, ["early"] + (tree.reads + tree.denials).sorted() + ["late"])

        let reads = try tree.index.queue.read { db in
            try PrincipalReads(db).reads(principal: Q.readerRole, filter: QueryFilter()).map(\.eventID)
        }
        XCTAssertEqual(reads, ["early"] + tree.reads.sorted() + ["late"])
        // A limit that ends inside the second keeps the smallest eventIDs of it.
        var five = QueryFilter()
        five.limit = 5
        let limited = try tree.index.queue.read { db in try PrincipalReads(db).reads(principal: Q.readerRole, filter: five).map(\.eventID) }
        XCTAssertEqual(limited, ["early"] + tree.reads.sorted().prefix(4))
    }

    func testFindingsNameTheEventsTheyCount() throws {
        let dir = try TempDir()
        let tree = try makeTree(dir)
        let findings = try Findings.collect(tree.index, window: .all).findings
        let policy = findings.filter { $0.kind == .keyPolicyChanged }
        XCTAssertEqual(policy.flatMap(\.eventIDs).sorted(), tree.policyChanges.sorted())
        let denied = try XCTUnwrap(findings.first { $0.kind == .logReadDenied })
        XCTAssertEqual(denied.eventIDs, Array(tree.denials.prefix(Finding.maxEventIDs)))
        let newReader = try XCTUnwrap(findings.first { $0.kind == .newLogReader && $0.principal == Q.readerRole })
        XCTAssertEqual(newReader.eventIDs, ["early"] + tree.reads.prefix(Finding.maxEventIDs - 1))
    }

    func testExportGivesEachEventItsOwnEventID() throws {
        let dir = try TempDir()
        let tree = try makeTree(dir)
        let folder = dir.url.appendingPathComponent("day").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let day = Int(StoredTime.milliseconds(Self.second)! / DayExport.millisecondsPerDay)
        let (files, _) = try tree.index.queue.read { db in try DayExport.write(db, day: day, into: folder, partEvents: 1000) }
        let text = String(decoding: gunzip(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + files[0].name))), as: UTF8.self)
        let exported = try text.split(separator: "\n").map { line in
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return (object["id"] as! Int, object["event_id"] as! String)
        }
        let expected = try tree.index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, event_id FROM kms_events").map { ($0[0] as Int, $0[1] as String) }
        }
        XCTAssertEqual(exported.count, 3 + 60 + 25 + 12)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: exported), Dictionary(uniqueKeysWithValues: expected))
    }

    /// who-read and reads join no eventID row by row: a scan of the event's millisecond each.
    func testTheCommandsQueriesLookUpNoEventIDRowByRow() throws {
        let dir = try TempDir()
        let tree = try makeTree(dir)
        try tree.index.queue.read { db in
            let reads = PrincipalReads(db)
            let (sql, arguments) = try reads.decryptsSQL(of: reads.principalIDs(Q.readerRole), QueryFilter())
            let whoRead = "SELECT \(EventRow.storedColumns) FROM \(EventRow.storedTables) WHERE e.object_id = 1"
            for (query, bound) in [(sql.all, arguments), (sql.dayOnly, arguments + ["[1]", 0]), (whoRead, StatementArguments())] {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query, arguments: bound).map { $0["detail"] as String }
                XCTAssertFalse(plan.contains { $0.contains("event_uids") }, plan.joined(separator: "\n"))
            }
        }
    }
}
