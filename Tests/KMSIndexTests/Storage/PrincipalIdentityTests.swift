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
    /// the writer hashes a new principal, and migration 020 splits roles out of the rows, so
    /// that the same principals seen again are found, and read back as they were written.
    func testMigrations007And020KeepPrincipalsAsTheWriterStoresThem() throws {
        let dir = try TempDir()
        let path = try tree(dir)
        let index = try makeIndex(dir)
        try ingest(index, [path])
        // An index of schema 6 has no Identity Center users' fields (schema 33), no providers
        // and no credentials' resource (schema 42).
        let older = """
            on_behalf_of_user_id IS NULL AND identity_store_arn IS NULL AND identity_provider IS NULL
            AND credentials_issued_to IS NULL AND federated_provider IS NULL
            """
        let written = try principals(index.queue, where: older)
        XCTAssertGreaterThan(written.count, 10)

        // The same principals in an index of schema 6: the identity text, the fields joined by
        // U+001F, as its UNIQUE key.
        let old = try indexBefore(migration: "007", at: dir.path + "/v6.sqlite")
        let fields = [
            "type", "arn", "account_id", "principal_id", "user_name", "role_arn", "invoked_by", "access_key_id",
            "source_identity", "credential_from_console",
        ]
        let joined = fields.map { "coalesce(\($0), '')" }.joined(separator: " || char(31) || ")
        try old.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS written", arguments: [index.path])
            try db.execute(
                sql: """
                    INSERT INTO principals (id, identity, session_name, \(fields.joined(separator: ", ")))
                    SELECT id, \(joined), session_name, \(fields.joined(separator: ", ")) FROM written.principals
                    WHERE \(older) ORDER BY id
                    """)
            try db.execute(sql: "DETACH DATABASE written")
            try db.execute(sql: "PRAGMA application_id = \(IndexDatabase.applicationID)")
        }
        try IndexDatabase.migrator.migrate(old)
        XCTAssertEqual(try principals(old), written)
        try old.close()

        // The same tree again into the migrated index: every principal is found, none added but
        // those left out above.
        let migrated = try IndexDatabase.openForWriting(path: dir.path + "/v6.sqlite", lockTimeout: nil)
        let (summary, _) = try ingest(migrated, [path])
        XCTAssertGreaterThan(summary.eventsAdded, 0)
        XCTAssertEqual(try principals(migrated.queue, where: older), written)
        XCTAssertEqual(try principals(migrated.queue).count, try principals(index.queue).count)
    }

    /// The principals' fields, less the session's attributes an index of schema 6 did not keep
    /// (schema 42: stored with a row when it is made, never compared).
    private func principals(_ queue: some DatabaseReader, where condition: String = "1") throws -> [String] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM principals WHERE \(condition) ORDER BY id
                    """
            ).map { row in
                row.filter { !["mfa_authenticated", "session_created", "ec2_role_delivery"].contains($0.0) }
                    .map { "\($0.0):\($0.1)" }.joined(separator: " ")
            }
        }
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
                    INSERT INTO principal_rows (id, identity_hash, type, arn)
                    SELECT 0, identity_hash, 'IAMUser', 'arn:aws:iam::1:user/mallory' FROM principal_rows
                    """)
        }
        try ingest(index, [try dir.write(logPath(unique: "Other00000000000"), gzip(logFile([kmsRecord()])))])
        let arns = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT principal_arn FROM kms_events ORDER BY 1")
        }
        XCTAssertEqual(arns, ["arn:aws:iam::111122223333:user/alice"])
    }
}
