import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class PrincipalReadsTests: XCTestCase {
    func reads(_ index: IndexDatabase, _ principal: String, _ filter: QueryFilter = QueryFilter()) throws -> [String] {
        try index.queue.read { db in try PrincipalReads(db).reads(principal: principal, filter: filter).map(\.eventID) }
    }

    func testEveryFormOfPrincipalFindsItsDecrypts() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        XCTAssertEqual(try reads(index, Q.readerRole), ["r2", "r3", "r4"])
        XCTAssertEqual(try reads(index, "Reader"), ["r2", "r3", "r4"])
        XCTAssertEqual(try reads(index, "s1"), ["r2", "r4"])
        XCTAssertEqual(try reads(index, "arn:aws:sts::111122223333:assumed-role/Reader/s2"), ["r3"])
        XCTAssertEqual(try reads(index, Q.alice), ["r1"])
        XCTAssertEqual(try reads(index, "alice"), ["r1"])
        XCTAssertEqual(try reads(index, "AKIAEXAMPLE"), ["r1"])
        XCTAssertEqual(try reads(index, "cloudtrail.amazonaws.com"), [])
        XCTAssertEqual(try reads(index, "Read"), [])
        XCTAssertEqual(try reads(index, "arn:aws:iam::111122223333:role/Other"), [])
        XCTAssertEqual(try index.queue.read { db in try PrincipalReads(db).principalIDs("nobody") }, [])
    }

    /// `"arn":""` (seen in the wild, with type Unknown) is no ARN: such callers are named by what
    /// else they have (their user name), and two of them are not one blank principal.
    func testAnEmptyARNIsNoARN() throws {
        func unknown(_ user: String, _ account: String) -> String {
            #"{"type":"Unknown","arn":"","accountId":"\#(account)","userName":"\#(user)"}"#
        }
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            [
                queryRecord(
                    "c1", "Decrypt", "2024-03-01T10:00:00Z", identity: unknown("carol", "111122223333"),
                    requestParameters: Q.context(object: Q.log1)),
                queryRecord(
                    "d1", "Decrypt", "2024-03-01T11:00:00Z", identity: unknown("dave", "444455556666"),
                    requestParameters: Q.context(object: Q.log1),
                    error: ("AccessDenied", "denied")),
                queryRecord(
                    "c2", "Decrypt", "2024-03-01T12:00:00Z", identity: unknown("carol", "111122223333"),
                    requestParameters: Q.context(object: Q.log2),
                    error: ("AccessDenied", "denied")),
            ])
        try index.queue.read { db in
            let reads = try PrincipalReads(db).reads(principal: "carol", filter: QueryFilter())
            XCTAssertEqual(reads.map(\.principalDescription), ["Unknown: carol", "Unknown: carol"])
            guard case let .report(_, report) = try KeyReport(db).answer(Q.key1, filter: QueryFilter()) else { return XCTFail() }
            XCTAssertEqual(
                rows(report["principals"]).map { [$0[0], $0[2]] }, [["Unknown: carol", "2"], ["Unknown: dave", "1"]])
            XCTAssertEqual(
                try Denied.table(db, filter: QueryFilter()).rows.map { $0[0] }, ["Unknown: carol", "Unknown: dave"])
            // `reads` by the phrase, as who-read and key name them, or by the type and account.
            XCTAssertEqual(try PrincipalReads(db).reads(principal: "Unknown: dave", filter: QueryFilter()).map(\.eventID), ["d1"])
            XCTAssertEqual(try PrincipalReads(db).reads(principal: "Unknown: 444455556666", filter: QueryFilter()).map(\.eventID), ["d1"])
            // Findings name neither blank.
            let findings = try LogReadFindings.find(db, try FindingsScope(db, window: .all))
            XCTAssertFalse(findings.contains { ($0.principal ?? "").isEmpty }, "\(findings)")
        }
    }

    /// A role session started by a person carries their `sourceIdentity`, whatever the session
    /// is called: the person's reads are found by it.
    func testASourceIdentityFindsTheSessionsItStarted() throws {
        func session(_ name: String, _ person: String) -> String {
            Q.reader(name).replacingOccurrences(of: #""sessionContext":{"#, with: #""sessionContext":{"sourceIdentity":"\#(person)","#)
        }
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            [
                queryRecord(
                    "j1", "Decrypt", "2024-03-01T10:00:00Z", identity: session("a1", "jane@example.com"),
                    requestParameters: Q.context(object: Q.log1)),
                queryRecord(
                    "b1", "Decrypt", "2024-03-01T11:00:00Z", identity: session("a2", "bob@example.com"),
                    requestParameters: Q.context(object: Q.log1)),
                queryRecord(
                    "j2", "Decrypt", "2024-03-01T12:00:00Z", identity: session("deploy-7", "jane@example.com"),
                    requestParameters: Q.context(object: Q.log2)),
            ])
        XCTAssertEqual(try reads(index, "jane@example.com"), ["j1", "j2"])
        XCTAssertEqual(try reads(index, "bob@example.com"), ["b1"])
        XCTAssertEqual(try reads(index, "Reader"), ["j1", "b1", "j2"])
    }

    func testFiltersNarrowTheReads() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(errorsOnly: true)), ["r3"])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(since: "2024-03-02T00:00:00Z")), ["r3", "r4"])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(until: "2024-03-02T00:00:00Z")), ["r2"])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(key: "alias/app")), ["r4"])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(key: Q.key1)), ["r2", "r3"])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(key: "unknown-key")), [])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(region: "eu-west-1")), [])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(account: Q.account, region: "us-west-2")), ["r2", "r3", "r4"])
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(limit: 1)), ["r2"])
    }

    func testTablesShowTheObjectOrTheContext() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let found = try index.queue.read { db in try PrincipalReads(db).reads(principal: "s1", filter: QueryFilter()) }
        XCTAssertEqual(
            rows(PrincipalReads.table(found, forTerminal: true)),
            [
                ["2024-03-01T11:00:00Z", Q.readerRole + " (session s1)", "OK", Q.log1, Q.key1, "us-west-2"],
                ["2024-03-02T12:00:00Z", Q.readerRole + " (session s1)", "OK", "aws:lambda:FunctionArn=" + Q.lambda, Q.key2, "us-west-2"],
            ])
        let full = PrincipalReads.table(found, forTerminal: false)
        XCTAssertEqual(full.columns, EventRow.columnNames + ["context"])
        XCTAssertEqual(
            rows(full).map { [$0[0], $0[1], $0[2], $0[3], $0[5], $0[6], $0[8], $0[14], $0[$0.count - 1]] },
            [
                [
                    "2024-03-01T11:00:00Z", "Decrypt", "r2", "arn:aws:sts::111122223333:assumed-role/Reader/s1", Q.readerRole, "s1", nil,
                    Q.log1, nil,
                ],
                [
                    "2024-03-02T12:00:00Z", "Decrypt", "r4", "arn:aws:sts::111122223333:assumed-role/Reader/s1", Q.readerRole, "s1", nil,
                    nil,
                    "aws:lambda:FunctionArn=" + Q.lambda,
                ],
            ])
    }

    /// A role of more sessions than are looked up one by one (`idsReadDirectly`): the sessions
    /// that decrypted in the window are all found, those that decrypted only outside it are not,
    /// every one is found without a window, and another role's reads stay out.
    func testARoleOfManySessionsIsFilteredByTheWindowWhole() throws {
        let dir = try TempDir()
        var records: [String] = []
        var inWindow: [String] = []
        for session in 0..<1_200 {
            let day = session % 3 == 0 ? "2024-03-01" : "2024-03-05"
            let id = "s\(session)"
            records.append(
                queryRecord(
                    id, "Decrypt", "\(day)T10:\(String(format: "%02d", session % 60)):00Z", identity: Q.reader("session-\(session)"),
                    requestParameters: Q.context(object: Q.log1)))
            if day == "2024-03-05" { inWindow.append(id) }
        }
        records.append(queryRecord("other", "Decrypt", "2024-03-05T11:00:00Z", requestParameters: Q.context(object: Q.log1)))
        let index = try queryIndex(dir, records)
        let window = QueryFilter(since: "2024-03-04T00:00:00Z", until: "2024-03-06T00:00:00Z")
        XCTAssertEqual(try reads(index, "Reader", window).sorted(), inWindow.sorted())
        XCTAssertEqual(try reads(index, "Reader", QueryFilter(until: "2024-03-02T00:00:00Z")).count, 400)
        XCTAssertEqual(try reads(index, "alice", window), ["other"])
        XCTAssertGreaterThan(1_200, PrincipalReads.idsReadDirectly)
        XCTAssertEqual(try reads(index, "Reader").count, 1_200)
        XCTAssertEqual(try reads(index, "session-7"), ["s7"])
    }

    /// A role of many sessions, each on days of its own, interleaved: with --limit the days
    /// come in order whichever session has them, and the answer is the start of the whole one.
    func testALimitOverManySessionsOfTheirOwnDaysKeepsTheOrder() throws {
        let dir = try TempDir()
        var records: [String] = []
        for session in 0..<7 {
            for day in stride(from: 1 + session % 3, through: 28, by: 3 + session % 2) {
                records.append(
                    queryRecord(
                        "s\(session)d\(day)", "Decrypt", "2024-02-\(String(format: "%02d", day))T\(String(format: "%02d", session)):00:00Z",
                        identity: Q.reader("s\(session)"), requestParameters: Q.context(object: Q.log1)))
            }
        }
        let index = try queryIndex(dir, records)
        let all = try reads(index, "Reader")
        XCTAssertEqual(all.count, records.count)
        for window in [QueryFilter(), QueryFilter(since: "2024-02-10T00:00:00Z", until: "2024-02-20T05:00:00Z")] {
            let whole = try reads(index, "Reader", window)
            for limit in [1, 2, 3, 10, whole.count - 1, whole.count, whole.count + 5] where limit > 0 {
                var limited = window
                limited.limit = limit
                XCTAssertEqual(try reads(index, "Reader", limited), Array(whole.prefix(limit)), "\(window), limit \(limit)")
            }
        }
    }

    /// A caller of many days asked for a window: its events of the window are one range of the
    /// callers' index (caller, day), not all its events, and the answer is exact at the
    /// window's edges too (within a day, and at midnight).
    func testAWindowOfABusyCallerIsARangeOfItsIndex() throws {
        let dir = try TempDir()
        var records: [String] = []
        for day in 1...9 {
            for minute in 0..<30 {
                let id = "d\(day)m\(minute)"
                records.append(
                    queryRecord(
                        id, minute % 3 == 0 ? "GenerateDataKey" : "Decrypt",
                        "2024-03-0\(day)T\(String(format: "%02d", minute % 24)):\(String(format: "%02d", minute)):00Z",
                        identity: Q.reader("busy"), requestParameters: Q.context(object: Q.log1)))
            }
        }
        // Other callers on the day asked for, so that the day is not the caller's alone.
        for k in 0..<5 {
            records.append(queryRecord("o\(k)", "Decrypt", "2024-03-05T12:0\(k):00Z", requestParameters: Q.context(object: Q.log1)))
        }
        let index = try queryIndex(dir, records)
        let all = try reads(index, "busy")
        XCTAssertEqual(all.count, 9 * 20)
        let windows = [
            QueryFilter(since: "2024-03-05T00:00:00Z", until: "2024-03-06T00:00:00Z"),
            QueryFilter(since: "2024-03-05T10:10:00Z", until: "2024-03-05T20:20:00Z"),
            QueryFilter(since: "2024-03-09T00:00:00Z"), QueryFilter(until: "2024-03-01T12:00:00Z"),
            QueryFilter(since: "2024-03-01T06:00:00Z"),
        ]
        let times = try index.queue.read { db in
            try Dictionary(
                uniqueKeysWithValues: PrincipalReads(db).reads(principal: "busy", filter: QueryFilter()).map { ($0.eventID, $0.eventTime) })
        }
        for window in windows {
            let expected = all.filter { id in
                let t = times[id]!
                return (window.since.map { t >= $0 } ?? true) && (window.until.map { t < $0 } ?? true)
            }
            XCTAssertEqual(try reads(index, "busy", window), expected, "\(window)")
            // With --limit, read a day at a time: the first N of the same answer, whatever N.
            for limit in [1, 2, 19, 20, 21, 45, expected.count, expected.count + 1] where limit > 0 {
                var limited = window
                limited.limit = limit
                XCTAssertEqual(try reads(index, "busy", limited), Array(expected.prefix(limit)), "\(window), limit \(limit)")
            }
            try index.queue.read { db in
                let reads = PrincipalReads(db)
                let (sql, arguments) = try reads.decryptsSQL(of: reads.principalIDs("busy"), window)
                for (query, bound) in [
                    (sql.all, arguments), (sql.dayOnly, arguments + [try reads.principalIDs("busy").description, 19_787]),
                ] {
                    let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query, arguments: bound).map { $0["detail"] as String }
                    XCTAssertTrue(
                        plan.contains { $0.contains("USING INDEX events_principal (principal_id=? AND <expr>") },
                        plan.joined(separator: "\n"))
                }
            }
        }
    }

    /// Every event of the fixture, its ids looked up in Swift (`StoredEventTexts`), reads as
    /// SQLite's joins give it, with one of the indexer's own principals among the callers,
    /// and with the cache bounded at one id of each kind (each look-up then drops the others).
    func testEventsFromTheirIdsReadAsTheJoinsGiveThem() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        XCTAssertTrue(try index.queue.write { db in try OwnPrincipals.add(db, arn: Q.readerRole) })
        try index.queue.read { db in
            let joined = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(EventRow.storedColumns),
                           (SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key)
                            FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = e.object_id)
                    FROM \(EventRow.storedTables) ORDER BY e.id
                    """
            ).map { row in
                var event = EventRow.stored(row)
                event.eventRow = row[21]
                event.objectARN = row[row.count - 1]
                return try withEventID(db, event)
            }
            XCTAssertEqual(joined.count, queryFixtureRecords.count)
            XCTAssertEqual(joined.filter(\.ownRead).map(\.eventID).sorted(), ["m3", "r2", "r3", "r4"])
            for limit in [1, 1 << 16] {
                let texts = try StoredEventTexts(db, limit: limit)
                let fromIDs = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(StoredEventTexts.columns) FROM events e ORDER BY e.id
                        """
                ).map { try withEventID(db, texts.row($0)) }
                XCTAssertEqual(fromIDs, joined, "limit \(limit)")
            }
        }
    }

    /// `event` with its eventID looked up, as the query commands do.
    private func withEventID(_ db: Database, _ event: EventRow) throws -> EventRow {
        var held = [event]
        try EventUIDLookup(db).fill(&held)
        return held[0]
    }
}
