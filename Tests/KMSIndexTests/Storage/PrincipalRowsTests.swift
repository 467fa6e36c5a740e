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

    /// `PrincipalRows.derived` (the writer's) gives the bits `PrincipalRows.insert` (merge's and
    /// the migration's SQL) gives, role by role and field by field, NULs and empty names included.
    func testTheWritersDerivationIsTheSQLs() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        func bytes(_ text: String?) -> [UInt8]? { text.map { Array($0.utf8) } }
        let roles: [(id: Int64?, stems: PrincipalRows.RoleStems?)] = [
            (nil, nil),
            (1, .init(sessionARNPrefix: bytes(Self.sts), accountID: bytes("111122223333"), principalIDPrefix: bytes("AROAEXAMPLE1:"))),
            (2, .init(sessionARNPrefix: nil, accountID: bytes("111122223333"), principalIDPrefix: nil)),
            (3, .init(sessionARNPrefix: bytes(Self.sts + "a\u{0}"), accountID: nil, principalIDPrefix: bytes("AROA\u{0}:"))),
        ]
        let sessions: [(arn: String?, account: String?, principalID: String?, session: String?)] = [
            (Self.sts + "alpha", "111122223333", "AROAEXAMPLE1:alpha", "alpha"),
            (Self.sts + "alpha", "444455556666", "AROAEXAMPLE1:beta", "alpha"),
            (Self.sts + "a\u{0}b", "111122223333", "AROAEXAMPLE1:a\u{0}b", "a\u{0}b"),
            (Self.sts + "a\u{0}b", nil, "AROA\u{0}:b", "b"),
            (Self.sts, "111122223333", "AROAEXAMPLE1:", ""),
            (Self.sts + "alpha", nil, nil, nil),
            (nil, "111122223333", "AROAEXAMPLE1:alpha", "alpha"),
        ]
        var bitsSeen = Set<Int64>()
        try index.queue.write { db in
            // As bytes: GRDB binds text up to a NUL.
            func text(_ value: [UInt8]?) -> Data? { value.map { Data($0) } }
            for role in roles {
                if let id = role.id, let stems = role.stems {
                    try db.execute(
                        sql: """
                            INSERT INTO roles (id, arn, account_id, session_arn_prefix, principal_id_prefix)
                            VALUES (?, 'arn:aws:iam::111122223333:role/r' || ?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))
                            """,
                        arguments: [id, id, text(stems.accountID), text(stems.sessionARNPrefix), text(stems.principalIDPrefix)])
                }
                for s in sessions {
                    try db.execute(sql: "DELETE FROM principal_rows")
                    var values = PrincipalRows.columns.map { _ in "NULL" }
                    values[0] = "0"
                    values[PrincipalRows.columns.firstIndex(of: "arn")!] = "CAST(?1 AS TEXT)"
                    values[PrincipalRows.columns.firstIndex(of: "account_id")!] = "CAST(?2 AS TEXT)"
                    values[PrincipalRows.columns.firstIndex(of: "principal_id")!] = "CAST(?3 AS TEXT)"
                    values[PrincipalRows.columns.firstIndex(of: "session_name")!] = "CAST(?4 AS TEXT)"
                    values[PrincipalRows.columns.firstIndex(of: "role_id")!] = role.id.map(String.init) ?? "NULL"
                    try db.execute(
                        sql: PrincipalRows.insert(values: values, recent: "0"),
                        arguments: [text(bytes(s.arn)), text(bytes(s.account)), text(bytes(s.principalID)), text(bytes(s.session))])
                    let sql = try XCTUnwrap(try Int64.fetchOne(db, sql: "SELECT derived FROM principal_rows"))
                    let swift = PrincipalRows.derived(
                        arn: s.arn, accountID: s.account, principalID: s.principalID, session: s.session, role: role.stems)
                    XCTAssertEqual(swift, sql, "role \(role.id.map(String.init) ?? "none"), \(s)")
                    bitsSeen.insert(sql)
                }
            }
        }
        // The cases reach no bit, every bit, and all three together.
        XCTAssertTrue(bitsSeen.isSuperset(of: [0, 7]), "\(bitsSeen.sorted())")
        for bit: Int64 in [1, 2, 4] {
            XCTAssertTrue(bitsSeen.contains { $0 & bit != 0 && $0 != 7 }, "bit \(bit): \(bitsSeen.sorted())")
        }
    }
}
