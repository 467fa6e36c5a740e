import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Principals are stored without what their role gives back (schema 20), and read back, found
/// and merged as they were written.
final class PrincipalRowsTests: XCTestCase {
    static let role = "arn:aws:iam::111122223333:role/path/reader"

    /// A session of `Self.role` (or `issuer`), as CloudTrail writes its userIdentity.
    static func session(
        _ arn: String, principalID: String, account: String = "111122223333", key: String = "ASIAEXAMPLE",
        issuer: String = role
    ) -> String {
        #"{"type":"AssumedRole","principalId":"\#(principalID)","arn":"\#(arn)","accountId":"\#(account)","accessKeyId":"\#(key)","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE1","arn":"\#(issuer)","accountId":"111122223333","userName":"reader"}}}"#
    }

    static let sts = "arn:aws:sts::111122223333:assumed-role/reader/"

    /// (userIdentity, ARN, account, principalId, role ARN, the fields the row leaves out).
    static let cases: [(identity: String, arn: String, account: String?, principalID: String?, role: String?, derived: Int)] = [
        (session(sts + "alpha", principalID: "AROAEXAMPLE1:alpha"), sts + "alpha", "111122223333", "AROAEXAMPLE1:alpha", role, 7),
        (session(sts + "beta", principalID: "AROAEXAMPLE1:beta"), sts + "beta", "111122223333", "AROAEXAMPLE1:beta", role, 7),
        // The role made again: another unique id, kept.
        (session(sts + "gamma", principalID: "AROAOTHER:gamma"), sts + "gamma", "111122223333", "AROAOTHER:gamma", role, 3),
        // Another account: kept.
        (
            session(sts + "delta", principalID: "AROAEXAMPLE1:delta", account: "444455556666"), sts + "delta", "444455556666",
            "AROAEXAMPLE1:delta", role, 5
        ),
        // A session ARN of another role than its issuer: kept.
        (
            session("arn:aws:sts::111122223333:assumed-role/writer/eps", principalID: "AROAEXAMPLE1:eps"),
            "arn:aws:sts::111122223333:assumed-role/writer/eps", "111122223333", "AROAEXAMPLE1:eps", role, 6
        ),
        // A NUL and a quote in the session name: still given back byte for byte.
        (
            session(sts + #"ze\u0000ta\"x"#, principalID: #"AROAEXAMPLE1:ze\u0000ta\"x"#), sts + "ze\u{0}ta\"x", "111122223333",
            "AROAEXAMPLE1:ze\u{0}ta\"x", role, 7
        ),
        // Without a role: kept whole.
        (
            #"{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}"#,
            "arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE", nil, 0
        ),
    ]

    private func write(_ dir: TempDir, _ cases: [Int], name: String) throws -> IndexDatabase {
        let records = cases.map { kmsRecord(identity: Self.cases[$0].identity) }
        let index = try makeIndex(dir, name: name)
        try ingest(index, [try dir.write("\(name)-logs/" + logPath(), gzip(logFile(records)))])
        return index
    }

    private func stored(_ index: IndexDatabase) throws -> [String: (account: String?, principalID: String?, role: String?, derived: Int)] {
        try index.queue.read { db in
            // As bytes: GRDB reads text up to a NUL.
            func text(_ value: DatabaseValue) -> String? { Data.fromDatabaseValue(value).map { String(decoding: $0, as: UTF8.self) } }
            var rows: [String: (String?, String?, String?, Int)] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(p.arn AS BLOB), CAST(p.account_id AS BLOB), CAST(p.principal_id AS BLOB), CAST(p.role_arn AS BLOB),
                           r.derived
                    FROM principals p JOIN principal_rows r ON r.id = p.id
                    """
            ) {
                rows[text(row[0])!] = (text(row[1]), text(row[2]), text(row[3]), row[4])
            }
            return rows
        }
    }

    /// The principals of `index`, each checked against the case it was written from.
    private func readBack(_ index: IndexDatabase) throws -> [String: (account: String?, principalID: String?, role: String?, derived: Int)]
    {
        let rows = try stored(index)
        XCTAssertEqual(rows.count, Self.cases.count)
        for c in Self.cases {
            let row = try XCTUnwrap(rows[c.arn], c.arn)
            XCTAssertEqual(row.account, c.account, c.arn)
            XCTAssertEqual(row.principalID, c.principalID, c.arn)
            XCTAssertEqual(row.role, c.role, c.arn)
        }
        return rows
    }

    func testAPrincipalReadsBackAsWrittenAndKeepsOnlyWhatItsRoleDoesNotGive() throws {
        let dir = try TempDir()
        let index = try write(dir, Array(Self.cases.indices), name: "index.sqlite")
        let rows = try readBack(index)
        for c in Self.cases { XCTAssertEqual(rows[c.arn]?.derived, c.derived, c.arn) }
        // What is left out is not stored: the derived rows keep no ARN of their own.
        let kept = try index.queue.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM principal_rows WHERE arn IS NOT NULL")
        }
        XCTAssertEqual(kept, Self.cases.filter { $0.derived & 1 == 0 }.count)
        // The same records again find every row: nothing added.
        try ingest(
            index,
            [
                try dir.write(
                    "again/" + logPath(unique: "Again00000000000"), gzip(logFile(Self.cases.map { kmsRecord(identity: $0.identity) })))
            ])
        XCTAssertEqual(try stored(index).count, Self.cases.count)
    }

    func testPrincipalsAreFoundByTheirARNRoleAndNames() throws {
        let dir = try TempDir()
        let index = try write(dir, Array(Self.cases.indices), name: "index.sqlite")
        let ids = try index.queue.read { db in
            try Dictionary(
                uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT CAST(arn AS BLOB), id FROM principals").map {
                    (String(decoding: $0[0] as Data, as: UTF8.self), $0[1] as Int64)
                })
        }
        try index.queue.read { db in
            let reads = PrincipalReads(db)
            // A name with a NUL cannot be given: it is no command-line argument.
            for c in Self.cases where !c.arn.contains("\u{0}") {
                XCTAssertEqual(try reads.principalIDs(c.arn), [ids[c.arn]!], c.arn)
            }
            let sessions = Self.cases.filter { $0.role != nil }.map { ids[$0.arn]! }.sorted()
            XCTAssertEqual(try reads.principalIDs(Self.role), sessions)
            XCTAssertEqual(try reads.principalIDs("reader"), sessions)
            XCTAssertEqual(try reads.principalIDs("gamma"), [ids[Self.sts + "gamma"]!])
            XCTAssertEqual(try reads.principalIDs(Self.sts + "nobody"), [])
            XCTAssertEqual(try PrincipalIDLookup(db).ids(Self.role).sorted(), sessions)
            XCTAssertEqual(
                try PrincipalIDLookup(db).ids("arn:aws:iam::111122223333:user/alice"), [ids["arn:aws:iam::111122223333:user/alice"]!])
        }
    }

    /// A role's prefixes are those of the first session each index saw: merged, a shard's
    /// sessions are stored against the destination's role, and read back as written.
    func testMergeStoresSessionsAgainstTheDestinationsRole() throws {
        let dir = try TempDir()
        // gamma first: this index's role has gamma's unique id; the other's has alpha's.
        let destination = try write(dir, [2, 3], name: "dest.sqlite")
        let shard = try write(dir, [0, 1, 2, 4, 5, 6], name: "shard.sqlite")
        let merger = IndexMerger(destination: destination)
        let result = try merger.merge(shardPath: shard.path)
        XCTAssertEqual(result.rowsAdded["principals"], 5)
        let rows = try readBack(destination)
        // alpha's unique id is not the destination role's: kept in its row.
        XCTAssertEqual(rows[Self.sts + "alpha"]?.derived, 3)
        XCTAssertEqual(rows[Self.sts + "gamma"]?.derived, 7)
        XCTAssertEqual(try merger.merge(shardPath: shard.path).rowsAdded["principals"], 0)
        XCTAssertEqual(try stored(destination).count, Self.cases.count)
    }
}
