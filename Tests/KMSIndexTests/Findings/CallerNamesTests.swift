import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Callers without an ARN (no userIdentity at all, `Unknown`, SAML and web identity users) are
/// readers like any other: findings raise them, each by the name who-read, `key` and `denied`
/// give it, and `reads --principal` takes that name.
final class CallerNamesTests: XCTestCase {
    static func unknown(_ user: String) -> String {
        #"{"type":"Unknown","accountId":"111122223333","principalId":"111122223333","userName":"\#(user)"}"#
    }

    static let saml =
        #"{"type":"SAMLUser","principalId":"SampleUkh1i4+ExamplexL/jEvs=:urn:oid:0.9.2342","userName":"urn:oid:0.9.2342","identityProvider":"bdGOnTesti4+ExamplexL/jEvs="}"#

    func testReadersWithoutAnARNAreFoundAndNamedAsEveryCommandNamesThem() throws {
        let dir = try TempDir()
        let records = [
            // No userIdentity, `{}` and null: the caller is unknown, a reader all the same.
            queryRecord("n1", "Decrypt", "2024-03-01T10:00:00Z", identity: "null", requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "n2", "Decrypt", "2024-03-01T10:01:00Z", identity: "{}", requestParameters: Q.context(object: Q.log1),
                error: ("AccessDenied", "denied")),
            queryRecord(
                "b1", "Decrypt", "2024-03-01T11:00:00Z", identity: Self.unknown("bob"), requestParameters: Q.context(object: Q.log1)),
            queryRecord("s1", "Decrypt", "2024-03-01T12:00:00Z", identity: Self.saml, requestParameters: Q.context(object: Q.log1)),
            // The next day: carol is new; the unknown caller and bob read before.
            queryRecord(
                "c1", "Decrypt", "2024-03-02T10:00:00Z", identity: Self.unknown("carol"), requestParameters: Q.context(object: Q.log2)),
            queryRecord("n3", "Decrypt", "2024-03-02T10:01:00Z", requestParameters: Q.context(object: Q.log2), key: Q.key1)
                .replacingOccurrences(of: #""userIdentity":\#(Q.aliceIdentity)"#, with: #""x":1"#),
            queryRecord(
                "b2", "Decrypt", "2024-03-02T11:00:00Z", identity: Self.unknown("bob"), requestParameters: Q.context(object: Q.log2)),
        ]
        XCTAssertFalse(records[5].contains("userIdentity"))
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])

        let all = try Findings.collect(index, window: .all).findings
        XCTAssertEqual(
            Set(all.filter { $0.kind == .newLogReader }.compactMap(\.principal)),
            ["unknown", "Unknown: bob", "Unknown: carol", "SAMLUser: urn:oid:0.9.2342"])
        XCTAssertEqual(all.filter { $0.kind == .logReadDenied }.compactMap(\.principal), ["unknown"])

        let since = try XCTUnwrap(StoredTime.milliseconds("2024-03-02T00:00:00Z"))
        let day2 = try Findings.collect(index, window: .since(since)).findings.filter { $0.kind == .newLogReader }
        XCTAssertEqual(day2.compactMap(\.principal), ["Unknown: carol"])
        XCTAssertEqual(day2.first?.eventIDs, ["c1"])

        try index.queue.read { db in
            // The names findings give are those `reads --principal` takes, and who-read shows.
            for (name, reads) in [("Unknown: bob", ["b1", "b2"]), ("Unknown: carol", ["c1"]), ("SAMLUser: urn:oid:0.9.2342", ["s1"])] {
                let found = try PrincipalReads(db).reads(principal: name, filter: QueryFilter())
                XCTAssertEqual(found.map(\.eventID), reads, name)
                XCTAssertEqual(Set(found.map(\.principalDescription)), [name])
            }
            // A user name with ':' is a name, not an ARN.
            XCTAssertEqual(try PrincipalReads(db).reads(principal: "urn:oid:0.9.2342", filter: QueryFilter()).map(\.eventID), ["s1"])
            XCTAssertEqual(try PrincipalReads(db).reads(principal: "arn:aws:iam::111122223333:user/nobody", filter: QueryFilter()), [])
            guard case let .object(_, reads, _, _) = try WhoRead(db).answer(Q.log1) else { return XCTFail() }
            let names = reads.map(\.principalDescription)
            XCTAssertEqual(names, ["unknown", "unknown", "Unknown: bob", "SAMLUser: urn:oid:0.9.2342"])
            // Machine-readable output carries the name, and the user name.
            let columns = EventRow.columnNames
            let saml = try XCTUnwrap(reads.last)
            XCTAssertEqual(saml.cells[columns.firstIndex(of: "principal")!], Cell("SAMLUser: urn:oid:0.9.2342"))
            XCTAssertEqual(saml.cells[columns.firstIndex(of: "user_name")!], Cell("urn:oid:0.9.2342"))
        }
    }

    /// Schema 41 renames the callers without an ARN that silence rules and prune's notes name,
    /// as findings named them before, to the names findings give them now.
    func testMigration041RenamesSilencedAndPrunedReaders() throws {
        let dir = try TempDir()
        let service = #"{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}"#
        let records = [
            queryRecord("l1", "Decrypt", "2024-03-01T10:00:00Z", identity: service, requestParameters: Q.context(object: Q.log1)),
            queryRecord("s1", "Decrypt", "2024-03-01T11:00:00Z", identity: Self.saml, requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "b1", "Decrypt", "2024-03-01T12:00:00Z", identity: Self.unknown("bob"), requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "c1", "Decrypt", "2024-03-01T13:00:00Z", identity: Self.unknown("carol"), requestParameters: Q.context(object: Q.log1)),
            queryRecord("a1", "Decrypt", "2024-03-01T14:00:00Z", requestParameters: Q.context(object: Q.log1)),
        ]
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        let migration = try XCTUnwrap(IndexDatabase.migrations.first { $0.identifier.hasPrefix("041") })
        let alice = "arn:aws:iam::111122223333:user/alice"
        try index.queue.write { db in
            // As schema 40's findings named them: the service bare, the SAML user by its
            // principalId, both Unknown users by their principalId (the account).
            for principal in ["lambda.amazonaws.com", "SampleUkh1i4+ExamplexL/jEvs=:urn:oid:0.9.2342", "111122223333", alice, ""] {
                try db.execute(
                    sql: "INSERT INTO findings_silenced (kind, principal, subject, added_at) VALUES ('new-log-reader', ?, 's', 't')",
                    arguments: [principal])
            }
            for principal in ["lambda.amazonaws.com", "111122223333", alice] {
                try db.execute(sql: "INSERT INTO log_readers_pruned (principal) VALUES (?)", arguments: [principal])
            }
            try db.execute(sql: migration.sql)
        }
        let silenced = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT principal FROM findings_silenced ORDER BY 1") }
        XCTAssertEqual(
            silenced, ["", "AWSService: lambda.amazonaws.com", "SAMLUser: urn:oid:0.9.2342", "Unknown: bob", "Unknown: carol", alice])
        let pruned = try index.queue.read { db in try String.fetchAll(db, sql: "SELECT principal FROM log_readers_pruned ORDER BY 1") }
        XCTAssertEqual(pruned, ["AWSService: lambda.amazonaws.com", "Unknown: bob", "Unknown: carol", alice])
        // The names are those findings give now: the readers noted before a prune are not new.
        let findings = try Findings.collect(index, window: .all).findings.filter { $0.kind == .newLogReader }
        XCTAssertEqual(findings.compactMap(\.principal), ["SAMLUser: urn:oid:0.9.2342"])
    }

    static func lambda(_ function: String) -> String {
        #"{"type":"AWSService","invokedBy":"lambda.amazonaws.com","inScopeOf":{"issuerType":"AWS::Lambda::Function","credentialsIssuedTo":"arn:aws:lambda:us-west-2:111122223333:function:\#(function)"}}"#
    }

    static func webIdentity(_ provider: String) -> String {
        #"{"type":"WebIdentityUser","principalId":"\#(provider):app:u1","userName":"u1","identityProvider":"\#(provider)"}"#
    }

    static func session(mfa: String) -> String {
        #"{"type":"AssumedRole","principalId":"AROAEXAMPLE:gh","arn":"arn:aws:sts::111122223333:assumed-role/deploy/gh","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/deploy","accountId":"111122223333","userName":"deploy"},"webIdFederationData":{"federatedProvider":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com","attributes":{}},"attributes":{"creationDate":"2024-03-01T09:00:00Z","mfaAuthenticated":"\#(mfa)"},"ec2RoleDelivery":"2.0"}}"#
    }

    /// Schema 42: a service's credentials' resource and a user's identity provider tell callers
    /// apart; a session's attributes are kept with its row; merge carries and matches them all.
    func testProvidersAndScopeTellCallersApartAndSessionAttributesAreKept() throws {
        let dir = try TempDir()
        func read(_ id: String, _ time: String, _ identity: String) -> String {
            queryRecord(id, "Decrypt", "2024-03-01T\(time)Z", identity: identity, requestParameters: Q.context(object: Q.log1))
        }
        let first = [
            read("f1", "10:00:00", Self.lambda("billing")), read("f2", "10:01:00", Self.lambda("exfil")),
            read("w1", "10:02:00", Self.webIdentity("accounts.google.com")),
            read("w2", "10:03:00", Self.webIdentity("cognito-identity.amazonaws.com")),
            read("g1", "10:04:00", Self.session(mfa: "false")),
        ]
        // The same session's later call (its attributes are its own: the first row's stay).
        let second = [read("g2", "10:05:00", Self.session(mfa: "true")), read("f3", "10:06:00", Self.lambda("exfil"))]
        let whole = try makeIndex(dir, name: "whole.sqlite")
        try ingest(whole, [try dir.write(logPath(), gzip(logFile(first + second)))])
        func principals(_ index: IndexDatabase) throws -> [[String?]] {
            try index.queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT type, identity_provider, credentials_issued_to, federated_provider, mfa_authenticated,
                               session_created, ec2_role_delivery
                        FROM principals ORDER BY id
                        """
                ).map { row in (0..<7).map { row[$0] } }
            }
        }
        let fn = "arn:aws:lambda:us-west-2:111122223333:function:"
        let provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
        XCTAssertEqual(
            try principals(whole),
            [
                ["AWSService", nil, fn + "billing", nil, nil, nil, nil], ["AWSService", nil, fn + "exfil", nil, nil, nil, nil],
                ["WebIdentityUser", "accounts.google.com", nil, nil, nil, nil, nil],
                ["WebIdentityUser", "cognito-identity.amazonaws.com", nil, nil, nil, nil, nil],
                ["AssumedRole", nil, nil, provider, "false", "2024-03-01T09:00:00Z", "2.0"],
            ])
        try whole.queue.read { db in
            XCTAssertEqual(try PrincipalReads(db).reads(principal: fn + "exfil", filter: QueryFilter()).map(\.eventID), ["f2", "f3"])
            XCTAssertEqual(
                try PrincipalReads(db).reads(principal: "AWSService: lambda.amazonaws.com", filter: QueryFilter()).map(\.eventID),
                ["f1", "f2", "f3"])
        }
        let findings = try Findings.collect(whole, window: .all).findings.filter { $0.kind == .newLogReader }
        XCTAssertEqual(
            Set(findings.compactMap(\.principal)),
            [
                "AWSService: lambda.amazonaws.com (\(fn)billing)", "AWSService: lambda.amazonaws.com (\(fn)exfil)",
                "WebIdentityUser: u1", "arn:aws:iam::111122223333:role/deploy",
            ])

        // The same calls in two shards, merged: the same principals, found again by a later ingest.
        let shards = try [(first, "a"), (second, "b")].map { records, name in
            let shard = try makeIndex(dir, name: "\(name).sqlite")
            try ingest(
                shard,
                [try dir.write(logPath(stamp: "20240301T10\(name == "a" ? "00" : "05")Z", unique: "Shard\(name)"), gzip(logFile(records)))])
            return shard
        }
        let merged = try makeIndex(dir, name: "merged.sqlite")
        for shard in shards { _ = try IndexMerger(destination: merged).merge(shardPath: shard.path) }
        XCTAssertEqual(try principals(merged), try principals(whole))
        try ingest(
            merged,
            [
                try dir.write(
                    logPath(stamp: "20240301T1010Z", unique: "Later"), gzip(logFile([read("f4", "10:10:00", Self.lambda("billing"))])))
            ])
        XCTAssertEqual(try principals(merged), try principals(whole))
    }

    /// A plain name that names several callers (a user, a role, another role's session) is said
    /// to: the reads of all of them come together. A role's sessions are one caller.
    func testANameOfSeveralCallersIsSaidToBe() throws {
        let dir = try TempDir()
        let user =
            #"{"type":"IAMUser","principalId":"AIDAD","arn":"arn:aws:iam::111122223333:user/deploy","accountId":"111122223333","userName":"deploy"}"#
        func session(_ role: String, _ name: String) -> String {
            #"{"type":"AssumedRole","principalId":"AROA\#(role):\#(name)","arn":"arn:aws:sts::111122223333:assumed-role/\#(role)/\#(name)","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/\#(role)","userName":"\#(role)"}}}"#
        }
        let records = [
            queryRecord("u1", "Decrypt", "2024-03-01T10:00:00Z", identity: user, requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "r1", "Decrypt", "2024-03-01T11:00:00Z", identity: session("deploy", "ci-1"), requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "r2", "Decrypt", "2024-03-01T11:30:00Z", identity: session("deploy", "ci-2"), requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "o1", "Decrypt", "2024-03-01T12:00:00Z", identity: session("Other", "deploy"), requestParameters: Q.context(object: Q.log1)),
        ]
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        try index.queue.read { db in
            let reads = PrincipalReads(db)
            func named(_ query: String) throws -> [String]? { try reads.callersNamed(query, ids: try reads.principalIDs(query))?.names }
            XCTAssertEqual(
                try named("deploy"),
                ["arn:aws:iam::111122223333:role/Other", "arn:aws:iam::111122223333:role/deploy", "arn:aws:iam::111122223333:user/deploy"])
            XCTAssertEqual(try reads.reads(principal: "deploy", filter: QueryFilter()).map(\.eventID), ["u1", "r1", "r2", "o1"])
            XCTAssertNil(try named("arn:aws:iam::111122223333:role/deploy"))
            XCTAssertNil(try named("ci-1"))
            XCTAssertNil(try named("Other"))
        }
        let run = try runBinary(["reads", "--principal", "deploy", "--db", index.path, "--format", "json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("deploy names 3 callers"), run.stderr)
    }

    /// A caller's name holding a NUL (JSON's \u0000) is a name like any other in findings:
    /// whole, raised once, and known the next day.
    func testANameHoldingANulIsWholeInFindings() throws {
        let dir = try TempDir()
        let eve =
            #"{"type":"IAMUser","principalId":"AIDAE","arn":"arn:aws:iam::111122223333:user/eve\u0000x","accountId":"111122223333","userName":"eve\u0000x"}"#
        let records = [
            queryRecord("e1", "Decrypt", "2024-03-01T10:00:00Z", identity: eve, requestParameters: Q.context(object: Q.log1)),
            queryRecord(
                "e2", "Decrypt", "2024-03-01T10:01:00Z", identity: eve, requestParameters: Q.context(object: Q.log1),
                error: ("AccessDenied", "denied")),
            queryRecord("e3", "Decrypt", "2024-03-02T10:00:00Z", identity: eve, requestParameters: Q.context(object: Q.log2)),
        ]
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        let name = "arn:aws:iam::111122223333:user/eve\u{0}x"
        let all = try Findings.collect(index, window: .all).findings
        XCTAssertEqual(all.filter { $0.kind == .newLogReader }.map(\.principal), [name])
        XCTAssertEqual(all.filter { $0.kind == .newLogReader }.first?.eventIDs, ["e1", "e3"])
        XCTAssertEqual(all.filter { $0.kind == .logReadDenied }.map(\.principal), [name])
        let since = try XCTUnwrap(StoredTime.milliseconds("2024-03-02T00:00:00Z"))
        XCTAssertEqual(try Findings.collect(index, window: .since(since)).findings.filter { $0.kind == .newLogReader }.count, 0)
    }
}
