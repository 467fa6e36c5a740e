import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class KeyReportTests: XCTestCase {
    let s1 = "arn:aws:sts::111122223333:assumed-role/Reader/s1"
    let s2 = "arn:aws:sts::111122223333:assumed-role/Reader/s2"

    func keyReport(_ index: IndexDatabase, _ key: String, _ filter: QueryFilter = QueryFilter()) throws -> SectionedResult? {
        let answer = try index.queue.read { db in try KeyReport(db).answer(key, filter: filter) }
        guard case let .report(_, report) = answer else { return nil }
        return report
    }

    /// Failed calls and key management of one millisecond come in the order of their eventIDs,
    /// whichever file was read first (row ids follow that order, and a merge's shards').
    func testCallsOfOneMillisecondAreInTheOrderOfTheirEventIDsWhicheverFileCameFirst() throws {
        let dir = try TempDir()
        let key = "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"
        func call(_ id: String, _ name: String) -> String {
            kmsRecord(
                eventID: id, eventName: name, eventTime: "2024-03-01T10:00:00Z",
                error: name == "Decrypt" ? (code: "AccessDenied", message: id) : nil)
        }
        let first = try dir.write(
            "a/" + logPath(unique: "AAAAAAAAAAAAAAAA"),
            gzip(
                logFile([
                    call("bbbbbbbb-0000-4000-8000-000000000000", "Decrypt"), call("dddd0000-0000-4000-8000-000000000000", "DisableKey"),
                ])))
        let second = try dir.write(
            "b/" + logPath(unique: "BBBBBBBBBBBBBBBB"),
            gzip(
                logFile([
                    call("aaaaaaaa-0000-4000-8000-000000000000", "Decrypt"), call("cccc0000-0000-4000-8000-000000000000", "DisableKey"),
                ])))
        var reports: [[[String?]]] = []
        for (n, order) in [[first, second], [second, first]].enumerated() {
            let index = try makeIndex(dir, name: "order\(n).sqlite")
            for path in order { try ingest(index, [path]) }
            let report = try XCTUnwrap(try keyReport(index, key))
            reports.append(rows(report["failures"]) + rows(report["lifecycle"]))
        }
        XCTAssertEqual(reports[0], reports[1])
        XCTAssertEqual(reports[0].map { $0[1] }, ["Decrypt", "Decrypt", "DisableKey", "DisableKey"])
        // Failures newest first, ties by eventID from the last; key management oldest first.
        XCTAssertEqual(
            reports[0].prefix(2).map { $0[4] }, ["bbbbbbbb-0000-4000-8000-000000000000", "aaaaaaaa-0000-4000-8000-000000000000"])
    }

    func testEveryWayOfNamingAKeyFindsIt() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        func arns(_ text: String) throws -> [String] {
            try index.queue.read { db in try KeyLookup.resolve(db, text).map(\.arn) }
        }
        XCTAssertEqual(try arns(Q.key2), [Q.key2])
        XCTAssertEqual(try arns("99999999-8888-7777-6666-555555555555"), [Q.key2])
        XCTAssertEqual(try arns("alias/app"), [Q.key2])
        XCTAssertEqual(try arns("app"), [Q.key2])
        XCTAssertEqual(try arns("arn:aws:kms:us-west-2:111122223333:alias/app"), [Q.key2])
        XCTAssertEqual(try arns("arn:aws:kms:eu-west-1:111122223333:alias/app"), [])
        XCTAssertEqual(try arns("alias/logs"), [Q.key1])
        XCTAssertEqual(try arns("nope"), [])
        XCTAssertEqual(try index.queue.read { db in try KeyReport(db).answer("nope", filter: QueryFilter()) }, .unknown)
    }

    func testAnAliasThatMovedIsAmbiguous() throws {
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            queryFixtureRecords + [
                queryRecord("moved", "Encrypt", "2024-03-05T00:00:00Z", requestParameters: #"{"keyId":"alias/app"}"#, key: Q.key1)
            ])
        let answer = try index.queue.read { db in try KeyReport(db).answer("alias/app", filter: QueryFilter()) }
        XCTAssertEqual(answer, .ambiguous([KnownKey(id: 1, arn: Q.key1), KnownKey(id: 2, arn: Q.key2)]))
    }

    func testAccountAndRegionChooseAmongAnAliasesKeys() throws {
        let other = "arn:aws:kms:eu-west-1:444455556666:key/00000000-0000-0000-0000-000000000000"
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            queryFixtureRecords + [
                queryRecord(
                    "there", "Encrypt", "2024-03-05T00:00:00Z", requestParameters: #"{"keyId":"alias/app"}"#, key: other,
                    region: "eu-west-1", account: "444455556666")
            ])
        func answer(_ filter: QueryFilter) throws -> KeyReportAnswer {
            try index.queue.read { db in try KeyReport(db).answer("alias/app", filter: filter) }
        }
        guard case let .ambiguous(keys) = try answer(QueryFilter()) else { return XCTFail() }
        XCTAssertEqual(keys.map(\.arn), [other, Q.key2])
        guard case let .report(chosen, _) = try answer(QueryFilter(region: "us-west-2")) else { return XCTFail() }
        XCTAssertEqual(chosen.arn, Q.key2)
        guard case let .report(byAccount, report) = try answer(QueryFilter(account: "444455556666")) else { return XCTFail() }
        XCTAssertEqual(byAccount.arn, other)
        XCTAssertEqual(rows(report["key"]).first?[4], "1")
        guard case .ambiguous = try answer(QueryFilter(account: "000000000000")) else { return XCTFail() }
    }

    func testTheLogKeysStory() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let report = try XCTUnwrap(try keyReport(index, "alias/logs"))
        XCTAssertEqual(report.sections.map(\.name), KeyReport.sectionNames)
        XCTAssertEqual(
            rows(report["key"]),
            [
                [
                    Q.key1, Q.account, "us-west-2", "11111111-2222-3333-4444-555555555555", "6", "1", "4", "3", "1",
                    "2024-03-01T00:05:00Z", "2024-03-02T09:00:00Z",
                ]
            ])
        XCTAssertEqual(rows(report["aliases"]), [["alias/logs", "2024-03-01T00:05:00Z", "2024-03-01T00:05:00Z"]])
        XCTAssertEqual(
            rows(report["daily"]),
            [
                ["2024-03-01", "Decrypt", "2", "0"], ["2024-03-01", "GenerateDataKey", "2", "0"],
                ["2024-03-02", "Decrypt", "1", "1"], ["2024-03-02", "GenerateDataKey", "1", "0"],
            ])
        XCTAssertEqual(
            rows(report["principals"]),
            [
                ["AWSService: cloudtrail.amazonaws.com", "AWSService", "3", "0", "0", "2024-03-01T00:05:00Z", "2024-03-02T00:05:00Z"],
                [Q.alice, "IAMUser", "1", "1", "0", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"],
                [s1, "AssumedRole", "1", "1", "0", "2024-03-01T11:00:00Z", "2024-03-01T11:00:00Z"],
                [s2, "AssumedRole", "1", "1", "1", "2024-03-02T09:00:00Z", "2024-03-02T09:00:00Z"],
            ])
        XCTAssertEqual(rows(report["trails"]), [[Q.trail, "3", "3", "2024-03-01T00:05:00Z", "2024-03-02T09:00:00Z"]])
        XCTAssertEqual(
            rows(report["objects"]),
            [
                [Q.log2, "object", "1", "1", "1", "2024-03-01T00:10:00Z", "2024-03-02T09:00:00Z"],
                [Q.log3, "object", "1", "0", "0", "2024-03-02T00:05:00Z", "2024-03-02T00:05:00Z"],
                [Q.log1, "object", "1", "2", "0", "2024-03-01T00:05:00Z", "2024-03-01T11:00:00Z"],
            ])
        XCTAssertEqual(
            rows(report["failures"]),
            [
                [
                    "2024-03-02T09:00:00Z", "Decrypt", s2, "AccessDenied",
                    "User: arn:aws:sts::111122223333:assumed-role/Reader/s2 is not authorized", Q.log2,
                ]
            ])
        XCTAssertEqual(rows(report["lifecycle"]), [])
    }

    /// The daily section seeks the key's rows of `usage_daily` by day, account and region (the
    /// table's key starts with them) instead of reading every key's, and still lists them all;
    /// a key whose events span more days than the seeks are worth (any time can be written in a
    /// log) is read as the table comes, with every row listed as well.
    func testTheDailySectionSeeksTheKeysRows() throws {
        func dailyPlan(_ index: IndexDatabase) throws -> (rows: [[String?]], plan: [String]) {
            var statements: [String] = []
            let report = try index.queue.read { db in
                db.trace(options: .statement) { event in
                    if case let .statement(statement) = event { statements.append(statement.expandedSQL) }
                }
                defer { db.trace(options: [], nil) }
                return try KeyReport(db).answer("alias/logs", filter: QueryFilter())
            }
            guard case let .report(_, sections) = report else { throw CancellationError() }
            let daily = try XCTUnwrap(statements.first { $0.contains("FROM usage_daily") })
            let plan = try index.queue.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + daily).map { $0["detail"] as String }
            }
            return (rows(sections["daily"]), plan)
        }
        let seek = "usage_daily USING PRIMARY KEY (day=? AND recipient_account_sid=? AND region_sid=? AND key_id=?)"

        let year = try dailyPlan(try queryIndex(try TempDir()))
        XCTAssertEqual(year.rows.count, 4)
        XCTAssertTrue(year.plan.contains { $0.contains(seek) }, year.plan.joined(separator: "\n"))
        XCTAssertFalse(year.plan.contains { $0.hasPrefix("SCAN usage_daily") }, year.plan.joined(separator: "\n"))

        let ages = queryFixtureRecords + ["1200-01-01T00:00:00Z", "2900-06-01T00:00:00Z"].map { kmsRecord(eventTime: $0) }
        let wide = try dailyPlan(try queryIndex(try TempDir(), ages))
        let days = ["1200-01-01", "2024-03-01", "2024-03-01", "2024-03-02", "2024-03-02", "2900-06-01"]
        XCTAssertEqual(wide.rows.map { $0.first ?? nil }, days)
        XCTAssertFalse(wide.plan.contains { $0.contains(seek) }, wide.plan.joined(separator: "\n"))
    }

    func testTheAppKeysStoryWithItsLifecycle() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let report = try XCTUnwrap(try keyReport(index, "arn:aws:kms:us-west-2:111122223333:alias/app"))
        XCTAssertEqual(
            rows(report["key"]),
            [
                [
                    Q.key2, Q.account, "us-west-2", "99999999-8888-7777-6666-555555555555", "5", "1", "3", "0", "0",
                    "2024-02-29T08:00:00Z", "2024-03-03T01:00:00Z",
                ]
            ])
        XCTAssertEqual(rows(report["aliases"]), [["alias/app", "2024-03-02T12:00:00Z", "2024-03-02T13:00:00Z"]])
        XCTAssertEqual(
            rows(report["daily"]),
            [
                ["2024-02-29", "CreateKey", "1", "0"], ["2024-03-02", "Decrypt", "1", "0"], ["2024-03-02", "Encrypt", "1", "0"],
                ["2024-03-03", "DisableKey", "1", "1"], ["2024-03-03", "ScheduleKeyDeletion", "1", "0"],
            ])
        XCTAssertEqual(
            rows(report["principals"]),
            [
                [Q.alice, "IAMUser", "3", "0", "0", "2024-02-29T08:00:00Z", "2024-03-03T00:00:00Z"],
                [s1, "AssumedRole", "1", "1", "0", "2024-03-02T12:00:00Z", "2024-03-02T12:00:00Z"],
                [s2, "AssumedRole", "1", "0", "1", "2024-03-03T01:00:00Z", "2024-03-03T01:00:00Z"],
            ])
        XCTAssertEqual(rows(report["trails"]), [])
        XCTAssertEqual(rows(report["objects"]), [])
        XCTAssertEqual(rows(report["failures"]), [["2024-03-03T01:00:00Z", "DisableKey", s2, "AccessDenied", "not allowed", nil]])
        XCTAssertEqual(
            rows(report["lifecycle"]),
            [
                ["2024-02-29T08:00:00Z", "CreateKey", Q.alice, "OK", nil],
                ["2024-03-03T00:00:00Z", "ScheduleKeyDeletion", Q.alice, "OK", nil],
                ["2024-03-03T01:00:00Z", "DisableKey", s2, "AccessDenied", nil],
            ])
    }

    func testFiltersAndLimitsApplyToEverySection() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let report = try XCTUnwrap(try keyReport(index, Q.key2, QueryFilter(since: "2024-03-03T00:00:00Z", limit: 1)))
        XCTAssertEqual(rows(report["key"]).map { [$0[4], $0[9], $0[10]] }, [["2", "2024-03-03T00:00:00Z", "2024-03-03T01:00:00Z"]])
        XCTAssertEqual(rows(report["daily"]), [["2024-03-03", "DisableKey", "1", "1"]])
        XCTAssertEqual(rows(report["principals"]).map { $0[0] }, [Q.alice])
        XCTAssertEqual(rows(report["lifecycle"]).map { $0[1] }, ["ScheduleKeyDeletion"])
        let empty = try XCTUnwrap(try keyReport(index, Q.key2, QueryFilter(since: "2030-01-01T00:00:00Z")))
        XCTAssertEqual(
            rows(empty["key"]),
            [[Q.key2, Q.account, "us-west-2", "99999999-8888-7777-6666-555555555555", "0", "0", "0", "0", "0", nil, nil]])
        XCTAssertEqual(rows(empty["aliases"]).count, 1)
    }

    /// Records before late 2022 may have no `resources`: a call that names only an alias does
    /// not say which key it used. The report of the alias's key leaves it out, and says how many.
    func testCallsNamingOnlyAnAliasAreCountedApart() throws {
        let aliasARN = "arn:aws:kms:us-west-2:111122223333:alias/app"
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            queryFixtureRecords + [
                queryRecord("o1", "Encrypt", "2020-05-01T10:00:00Z", requestParameters: #"{"keyId":"alias/app"}"#, key: nil),
                queryRecord("o2", "Encrypt", "2020-05-02T10:00:00Z", requestParameters: #"{"keyId":"\#(aliasARN)"}"#, key: nil),
                queryRecord("o3", "Encrypt", "2020-05-03T10:00:00Z", requestParameters: #"{"keyId":"alias/old"}"#, key: nil),
            ])
        func count(_ text: String, _ filter: QueryFilter = QueryFilter()) throws -> [Int] {
            var events = filter
            events.fromEvents = true
            return try index.queue.read { db in
                [try KeyReport(db).callsNamingOnly(text, filter: filter), try KeyReport(db).callsNamingOnly(text, filter: events)]
            }
        }
        // Every way of naming the alias finds both spellings; the key's own calls are not among them.
        for text in ["alias/app", "app", aliasARN] { XCTAssertEqual(try count(text), [2, 2], text) }
        XCTAssertEqual(try count(Q.key2), [0, 0])
        XCTAssertEqual(try count("alias/old"), [1, 1])
        XCTAssertEqual(try count("alias/ap"), [0, 0])
        XCTAssertEqual(try count("arn:aws:kms:eu-west-1:111122223333:alias/app"), [0, 0])
        XCTAssertEqual(try count("alias/app", QueryFilter(since: "2020-05-02T00:00:00Z")), [1, 1])
        XCTAssertEqual(try count("alias/app", QueryFilter(region: "eu-west-1")), [0, 0])
        // The report of alias/app is its key's: the calls that named only the alias are not in it.
        let report = try XCTUnwrap(keyReport(index, "alias/app"))
        let untouched = try XCTUnwrap(keyReport(try queryIndex(try TempDir()), "alias/app"))
        XCTAssertEqual(rows(report["key"]), rows(untouched["key"]))
        // An alias no record ties to a key is no key, though calls named it.
        XCTAssertEqual(try index.queue.read { db in try KeyReport(db).answer("alias/old", filter: QueryFilter()) }, .unknown)
        // A --key filter keeps them with the key's own calls; an alias ARN of another region, neither.
        try index.queue.read { db in
            func matched(_ text: String) throws -> Int {
                let c = try KeyLookup.eventCondition(db, text, alias: "e")
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM events e WHERE \(c.sql)", arguments: c.arguments) ?? 0
            }
            let own =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM events e JOIN kms_keys k ON k.id = e.key_id WHERE k.arn = ?", arguments: [Q.key2]) ?? 0
            XCTAssertGreaterThan(own, 0)
            XCTAssertEqual(try matched("alias/app"), own + 2)
            XCTAssertEqual(try matched(aliasARN), own + 2)
            XCTAssertEqual(try matched("arn:aws:kms:eu-west-1:111122223333:alias/app"), 0)
        }
    }

    /// The callers are grouped by their name (a session's rows under two access keys are one
    /// caller), ranked by calls, ties in the order SQLite gives text (by bytes: a decomposed
    /// `é` before a precomposed one, `AWSService: …` before `arn:…` before `unknown`), as the
    /// same GROUP BY and ORDER BY in SQL give them.
    func testCallersAreGroupedByTheirNameAndRankedAsSQLiteOrdersText() throws {
        let dir = try TempDir()
        func session(_ name: String, _ accessKey: String) -> String {
            let role =
                #"{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Reader","accountId":"111122223333","userName":"Reader"}"#
            return
                #"{"type":"AssumedRole","principalId":"AROAEXAMPLE:\#(name)","arn":"arn:aws:sts::111122223333:assumed-role/Reader/\#(name)","accountId":"111122223333","accessKeyId":"\#(accessKey)","sessionContext":{"sessionIssuer":\#(role)}}"#
        }
        let service = #"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#
        var records = [
            kmsRecord(eventTime: "2024-03-01T00:01:00Z", identity: session("s1", "ASIAONE")),
            kmsRecord(eventTime: "2024-03-01T00:02:00Z", identity: session("s1", "ASIAONE")),
            kmsRecord(eventTime: "2024-03-01T00:03:00Z", identity: session("s1", "ASIATWO")),
            kmsRecord(eventTime: "2024-03-01T00:04:00Z", identity: session("\u{e9}", "ASIATHREE")),
            kmsRecord(eventTime: "2024-03-01T00:05:00Z", identity: session("e\u{301}", "ASIAFOUR")),
            kmsRecord(eventTime: "2024-03-01T00:06:00Z", identity: service),
        ]
        records.append(kmsRecord(eventTime: "2024-03-01T00:07:00Z").replacing(#/"userIdentity":\{[^}]*\},/#, with: ""))
        try dir.write("t/" + logPath(), gzip(logFile(records)))
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path + "/t"])
        XCTAssertEqual(summary.eventsAdded, 7)
        let key = "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"
        let sessions = "arn:aws:sts::111122223333:assumed-role/Reader/"
        let expected: [[String?]] = [
            [sessions + "s1", "AssumedRole", "3", "3", "0", "2024-03-01T00:01:00Z", "2024-03-01T00:03:00Z"],
            ["AWSService: lambda.amazonaws.com", "AWSService", "1", "1", "0", "2024-03-01T00:06:00Z", "2024-03-01T00:06:00Z"],
            [sessions + "e\u{301}", "AssumedRole", "1", "1", "0", "2024-03-01T00:05:00Z", "2024-03-01T00:05:00Z"],
            [sessions + "\u{e9}", "AssumedRole", "1", "1", "0", "2024-03-01T00:04:00Z", "2024-03-01T00:04:00Z"],
            ["unknown", nil, "1", "1", "0", "2024-03-01T00:07:00Z", "2024-03-01T00:07:00Z"],
        ]
        let report = try XCTUnwrap(try keyReport(index, key))
        XCTAssertEqual(rows(report["principals"]), expected)
        XCTAssertEqual(rows(try XCTUnwrap(try keyReport(index, key, QueryFilter(limit: 2)))["principals"]), Array(expected.prefix(2)))
        XCTAssertEqual(
            rows(try XCTUnwrap(try keyReport(index, key, QueryFilter(since: "2024-03-01T00:02:30Z")))["principals"]).map {
                [$0[0], $0[2]]
            },
            [
                ["AWSService: lambda.amazonaws.com", "1"], [sessions + "e\u{301}", "1"], [sessions + "s1", "1"],
                [sessions + "\u{e9}", "1"], ["unknown", "1"],
            ])
        // The same grouping and order in SQL.
        let bySQL = try index.queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(principalSQL) AS principal, sum(c.events) AS calls FROM callers c
                    LEFT JOIN principals p ON p.id = c.principal_id
                    WHERE c.key_id = (SELECT id FROM kms_keys WHERE arn = ?) GROUP BY principal ORDER BY calls DESC, principal
                    """, arguments: [key]
            ).map { [$0["principal"] as String?, String($0["calls"] as Int)] }
        }
        XCTAssertEqual(bySQL, expected.map { [$0[0], $0[2]] })
    }

    /// The bounded list `CallersByPhrase` keeps gives the first items of a full sort, ties and all.
    func testTheFirstOfManyItemsAreThoseOfASort() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 3, 20, 5_000] {
            let items = (0..<2_000).map { _ in (Int.random(in: 0..<4, using: &generator), Int.random(in: 0..<50, using: &generator)) }
            let precedes: ((Int, Int), (Int, Int)) -> Bool = { a, b in a.0 != b.0 ? a.0 > b.0 : a.1 < b.1 }
            let first = CallersByPhrase.first(count, of: items, by: precedes)
            XCTAssertEqual(first.map { [$0.0, $0.1] }, items.sorted(by: precedes).prefix(count).map { [$0.0, $0.1] }, "\(count)")
        }
    }
}
