import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// Principals are found by the hash of their identity and then their fields (schema 7).
final class PrincipalIdentityTests: XCTestCase {
    private func tree(_ dir: TempDir) throws -> String {
        let options = SynthOptions(seed: 5, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 6)
        _ = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        return dir.path + "/tree"
    }

    /// An index of schema 6 kept each principal's identity text; migration 007 hashes it as
    /// the writer hashes a new principal, so that the same principals seen again are found.
    func testMigration007HashesIdentitiesAsTheWriterDoes() throws {
        let dir = try TempDir()
        let path = try tree(dir)
        let index = try makeIndex(dir)
        try ingest(index, [path])
        func principals() throws -> [String] {
            try index.queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM principals ORDER BY id").map(\.description) }
        }
        let written = try principals()
        XCTAssertGreaterThan(written.count, 10)

        // The table as schema 6 had it: the identity text, the fields joined by U+001F.
        let joined = [
            "type", "arn", "account_id", "principal_id", "user_name", "role_arn", "invoked_by", "access_key_id",
            "source_identity", "credential_from_console",
        ].map { "coalesce(\($0), '')" }.joined(separator: " || char(31) || ")
        try index.queue.writeWithoutTransaction { db in
            try db.execute(
                sql: """
                    CREATE TABLE principals_v6 AS SELECT id, \(joined) AS identity, type, arn, account_id, principal_id, user_name,
                        role_arn, session_name, invoked_by, access_key_id, source_identity, credential_from_console FROM principals;
                    DROP TABLE principals;
                    PRAGMA legacy_alter_table = ON;
                    ALTER TABLE principals_v6 RENAME TO principals;
                    PRAGMA legacy_alter_table = OFF;
                    DELETE FROM grdb_migrations WHERE identifier LIKE '007%';
                    """)
        }
        try IndexDatabase.migrator.migrate(index.queue)
        XCTAssertEqual(try principals(), written)

        // The same tree again, under other paths: every principal is found, none added.
        try FileManager.default.copyItem(atPath: path, toPath: dir.path + "/again")
        let (summary, _) = try ingest(index, [dir.path + "/again"])
        XCTAssertGreaterThan(summary.duplicates, 0)
        XCTAssertEqual(try principals(), written)
    }

    /// Two principals whose identities hash alike are still two rows: the fields decide.
    func testAHashCollisionDoesNotMergePrincipals() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile([kmsRecord()])))])
        // Another principal's row given the hash the writer computes for alice, and an id
        // before hers: a look-up by the hash alone would find it first.
        try index.queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO principals (id, identity_hash, type, arn) SELECT 0, identity_hash, 'IAMUser', 'arn:aws:iam::1:user/mallory'
                    FROM principals
                    """)
        }
        try ingest(index, [try dir.write(logPath(unique: "Other00000000000"), gzip(logFile([kmsRecord()])))])
        let arns = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT principal_arn FROM kms_events ORDER BY 1")
        }
        XCTAssertEqual(arns, ["arn:aws:iam::111122223333:user/alice"])
    }
}
