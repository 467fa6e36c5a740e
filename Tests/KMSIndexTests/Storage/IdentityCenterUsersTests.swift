import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Identity Center users (schema 33): named by `onBehalfOf` only, no ARN, an account shared with
/// the account's other users; each user is a principal of its own.
final class IdentityCenterUsersTests: XCTestCase {
    static let store = "arn:aws:identitystore::111122223333:identitystore/d-123"

    /// `userIdentity` of an Identity Center user, as CloudTrail writes it.
    static func identity(_ user: String, store: String = store) -> String {
        #"{"type": "IdentityCenterUser", "accountId": "111122223333", "onBehalfOf": {"userId": "\#(user)", "identityStoreArn": "\#(store)"}, "credentialId": "c"}"#
    }

    /// A Decrypt of the seed's log file by `user`.
    static func read(_ user: String, at time: String, store: String = store) -> String {
        kmsRecord(
            eventTime: time, identity: identity(user, store: store),
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(seedLogFileARN)"}}"#)
    }

    /// A log file of reads, at its own path.
    static func logOfReads(_ dir: TempDir, _ reads: [String], unique: String) throws -> String {
        try dir.write(logPath(stamp: "20151111T2130Z", unique: unique), gzip(logFile(reads)))
    }

    /// The principals of an index, with the two new columns, oldest first.
    static func principals(_ reader: some DatabaseReader) throws -> [[String?]] {
        try reader.read { db in
            try Row.fetchAll(db, sql: "SELECT type, on_behalf_of_user_id, identity_store_arn FROM principals ORDER BY id")
                .map { [$0[0], $0[1], $0[2]] }
        }
    }

    func testTwoUsersOfOneAccountAreTwoPrincipalsAndWhoReadNamesEach() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        let reads = [
            Self.read("u-1", at: "2015-11-11T21:30:00Z"), Self.read("u-2", at: "2015-11-11T21:31:00Z"),
            Self.read("u-1", at: "2015-11-11T21:32:00Z"),
        ]
        try ingest(index, [try Self.logOfReads(dir, reads, unique: "IdentityCenter01")])

        XCTAssertEqual(
            try Self.principals(index.queue).filter { $0[0] == "IdentityCenterUser" },
            [["IdentityCenterUser", "u-1", Self.store], ["IdentityCenterUser", "u-2", Self.store]])
        let whoRead = try whoRead(index, seedLogFileARN).reads
        XCTAssertEqual(
            whoRead.map(\.principalDescription),
            [
                "arn:aws:iam::111122223333:user/cloudtrail-admin", "IdentityCenterUser: u-1", "IdentityCenterUser: u-2",
                "IdentityCenterUser: u-1",
            ])
        XCTAssertEqual(whoRead.map(\.identityStoreARN), [nil, Self.store, Self.store, Self.store])
        // JSON, CSV and TSV carry both fields.
        let columns = EventRow.columnNames
        let user = try XCTUnwrap(columns.firstIndex(of: "on_behalf_of_user_id"))
        XCTAssertEqual(whoRead.map { $0.cells[user].text }, [nil, "u-1", "u-2", "u-1"])
        XCTAssertEqual(whoRead[1].cells[try XCTUnwrap(columns.firstIndex(of: "identity_store_arn"))].text, Self.store)

        try index.queue.read { db in
            // `reads --principal USER-ID`: that user's reads only.
            let query = PrincipalReads(db)
            XCTAssertEqual(
                try query.reads(principal: "u-1", filter: QueryFilter()).map(\.eventTime), ["2015-11-11T21:30:00Z", "2015-11-11T21:32:00Z"])
            XCTAssertEqual(
                try query.reads(principal: "u-2", filter: QueryFilter()).map(\.principalDescription), ["IdentityCenterUser: u-2"])
            // The key's callers are the two users, apart.
            guard
                case let .report(_, report) = try KeyReport(db).answer(
                    "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555", filter: QueryFilter())
            else { return XCTFail("key not found") }
            XCTAssertEqual(
                report["principals"]?.rows.map { [$0[0], $0[2]] }, [["IdentityCenterUser: u-1", "2"], ["IdentityCenterUser: u-2", "1"]])
            // The views show them.
            XCTAssertEqual(
                try String.fetchAll(
                    db, sql: "SELECT on_behalf_of_user_id FROM object_reads WHERE on_behalf_of_user_id IS NOT NULL ORDER BY event_time_ms"),
                ["u-1", "u-2", "u-1"])
            XCTAssertEqual(
                try String.fetchAll(
                    db, sql: "SELECT DISTINCT identity_store_arn FROM object_reads_all WHERE principal_type = 'IdentityCenterUser'"),
                [Self.store])
            // Findings name them apart too.
            XCTAssertEqual(
                try String.fetchAll(
                    db, sql: "SELECT \(FindingsScope.principalSQL) FROM principals p WHERE p.type = 'IdentityCenterUser' ORDER BY p.id"),
                ["IdentityCenterUser: u-1", "IdentityCenterUser: u-2"])
        }
    }

    /// The same user id in another identity store is another principal.
    func testTheIdentityStoreIsPartOfTheIdentity() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let other = "arn:aws:identitystore::111122223333:identitystore/d-456"
        let reads = [Self.read("u-1", at: "2015-11-11T21:30:00Z"), Self.read("u-1", at: "2015-11-11T21:31:00Z", store: other)]
        try ingest(index, [try Self.logOfReads(dir, reads, unique: "IdentityCenter01")])
        XCTAssertEqual(
            try Self.principals(index.queue), [["IdentityCenterUser", "u-1", Self.store], ["IdentityCenterUser", "u-1", other]])
    }

    /// A principal without `onBehalfOf` has the identity text, and the stored hash, it had
    /// before schema 33: the fields joined by U+001F (the hashes below were computed so).
    func testIdentitiesWithoutOnBehalfOfAreUnchanged() throws {
        let old: [(fields: [String], hash: Int64)] = [
            (
                [
                    "IAMUser", "arn:aws:iam::086441151436:user/AWSCloudTrail", "086441151436", "AIDACKCEVSQ6C2EXAMPLE", "AWSCloudTrail", "",
                    "internal.amazonaws.com", "AKIAI44QH8DHBEXAMPLE", "", "",
                ], -783_667_858_039_494_244
            ),
            (
                [
                    "AssumedRole", "arn:aws:sts::086441151436:assumed-role/AWSCloudTrail/i-34755b85", "086441151436",
                    "AROACKCEVSQ6C2EXAMPLE:i-34755b85", "", "arn:aws:iam::086441151436:role/AWSCloudTrail", "internal.amazonaws.com",
                    "AKIAI44QH8DHBEXAMPLE", "", "",
                ], -625_653_973_115_003_523
            ),
            (
                [
                    "IAMUser", "arn:aws:iam::111122223333:user/cloudtrail-admin", "111122223333", "AIDACKCEVSQ6C2EXAMPLE",
                    "cloudtrail-admin", "",
                    "signin.amazonaws.com", "AKIAIOSFODNN7EXAMPLE", "", "",
                ], -1_113_820_828_666_279_090
            ),
        ]
        for (event, expected) in zip(seedEvents, old) {
            let principal = try normalize(event).principal
            var bytes: [UInt8] = []
            PrincipalIdentity.append(principal, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), expected.fields.joined(separator: "\u{1F}"))
            XCTAssertEqual(bytes.withUnsafeBufferPointer(PrincipalIdentity.hash), expected.hash)
        }
        // As the writer stores them (the seed's two files are read in either order).
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [fixturesURL.appendingPathComponent("seed").path])
        XCTAssertEqual(
            try index.queue.read { db in try Int64.fetchAll(db, sql: "SELECT identity_hash FROM principal_rows ORDER BY 1") },
            old.map(\.hash).sorted())

        // An empty onBehalfOf is no onBehalfOf; a user's identity is the old one and its two fields.
        var principal = try normalize(seedEvents[2]).principal
        var before: [UInt8] = [], empty: [UInt8] = [], user: [UInt8] = []
        PrincipalIdentity.append(principal, to: &before)
        principal.onBehalfOfUserID = ""
        PrincipalIdentity.append(principal, to: &empty)
        XCTAssertEqual(empty, before)
        principal.onBehalfOfUserID = "u-1"
        principal.identityStoreARN = Self.store
        PrincipalIdentity.append(principal, to: &user)
        XCTAssertEqual(user, before + Array("\u{1F}u-1\u{1F}\(Self.store)".utf8))
    }

    /// An index of schema 30, its principals as that writer stored them (Identity Center users
    /// of an account merged into one), upgrades in place: every principal is kept, value for
    /// value, with no user id; new events of the same principals find them; new events of
    /// Identity Center users make one principal per user.
    func testMigration033KeepsThePrincipalsOfAnOldIndex() throws {
        let dir = try TempDir()
        // What the schema-30 writer stored: the seed's principals and one for every Identity
        // Center user of the account (the fields it kept, without onBehalfOf).
        let written = try makeIndex(dir, name: "written.sqlite")
        try ingest(written, [fixturesURL.appendingPathComponent("seed").path])
        let oldUser = kmsRecord(
            eventTime: "2015-11-11T21:30:00Z", identity: #"{"type": "IdentityCenterUser", "accountId": "111122223333"}"#,
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(seedLogFileARN)"}}"#)
        try ingest(written, [try Self.logOfReads(dir, [oldUser], unique: "IdentityCenter00")])
        try written.queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }

        let path = dir.path + "/v30.sqlite"
        let old = try indexBefore(migration: "033", at: path)
        try old.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS written", arguments: [written.path])
            try copyTables(db)
            try db.execute(sql: "DETACH DATABASE written")
            try db.execute(sql: "PRAGMA application_id = \(IndexDatabase.applicationID)")
        }
        let before = try old.read { db in try Row.fetchAll(db, sql: "SELECT * FROM principals ORDER BY id") }
        XCTAssertEqual(before.count, 4)
        XCTAssertFalse(before[0].hasColumn("on_behalf_of_user_id"))
        try IndexDatabase.migrator.migrate(old)
        try old.read { db in
            let columns = before[0].columnNames.joined(separator: ", ")
            XCTAssertEqual(try Row.fetchAll(db, sql: "SELECT \(columns) FROM principals ORDER BY id"), before)
            let added = try Row.fetchAll(db, sql: "SELECT on_behalf_of_user_id, identity_store_arn FROM principals ORDER BY id")
            XCTAssertEqual(added.map { [$0[0] as String?, $0[1] as String?] }, Array(repeating: [nil, nil], count: 4))
            XCTAssertEqual(try String.fetchAll(db, sql: "PRAGMA integrity_check"), ["ok"])
        }
        try old.close()

        // The seed's events again (new ids: not duplicates) and two users: the seed's three
        // principals are found; the users are one new principal each, the old merged row kept.
        let index = try IndexDatabase.openForWriting(path: path, lockTimeout: nil)
        let again = seedEvents.map { $0.replacingOccurrences(of: #""eventID": ""#, with: #""eventID": "again-"#) }
        XCTAssertEqual(again.filter { $0.contains("again-") }.count, 3)
        let reads = [Self.read("u-1", at: "2015-11-11T21:31:00Z"), Self.read("u-2", at: "2015-11-11T21:32:00Z")]
        let (summary, _) = try ingest(index, [try Self.logOfReads(dir, again + reads, unique: "IdentityCenter01")])
        XCTAssertEqual(summary.eventsAdded, 5)
        XCTAssertEqual(
            try Self.principals(index.queue).dropFirst(3),
            [["IdentityCenterUser", nil, nil], ["IdentityCenterUser", "u-1", Self.store], ["IdentityCenterUser", "u-2", Self.store]])
        XCTAssertEqual(
            try whoRead(index, seedLogFileARN).reads.map(\.principalDescription),
            [
                "arn:aws:iam::111122223333:user/cloudtrail-admin", "arn:aws:iam::111122223333:user/cloudtrail-admin",
                "IdentityCenterUser: 111122223333", "IdentityCenterUser: u-1", "IdentityCenterUser: u-2",
            ])
    }

    private func normalize(_ text: String) throws -> KMSEvent {
        let bytes = Array(text.utf8)
        let value = try bytes.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(buffer, from: 0)
            return try s.parseValue()
        }
        return try EventNormalizer.normalize(value)
    }

    /// Copies every table of `written` (an index of this schema) into `main` (an older one, and
    /// empty), the columns `main` has.
    private func copyTables(_ db: Database) throws {
        let tables = try String.fetchAll(
            db, sql: "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'")
        for table in tables {
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?, 'main')", arguments: [table])
                .map { "\"\($0)\"" }.joined(separator: ", ")
            // Some tables start with a row of their own (summary_state).
            try db.execute(sql: "DELETE FROM main.\"\(table)\"")
            try db.execute(sql: "INSERT INTO main.\"\(table)\" (\(columns)) SELECT \(columns) FROM written.\"\(table)\"")
        }
    }

    /// Merge carries the users' fields from shard to index, and matches by them: a user the
    /// index has is found, another user of the same account is added.
    func testMergeCarriesAndMatchesIdentityCenterUsers() throws {
        let dir = try TempDir()
        let dest = try makeIndex(dir, name: "dest.sqlite")
        try ingest(dest, [fixturesURL.appendingPathComponent("seed").path])
        try ingest(dest, [try Self.logOfReads(dir, [Self.read("u-1", at: "2015-11-11T21:30:00Z")], unique: "IdentityCenter01")])
        let shard = try makeIndex(dir, name: "shard.sqlite")
        let reads = [Self.read("u-2", at: "2015-11-11T21:31:00Z"), Self.read("u-1", at: "2015-11-11T21:32:00Z")]
        try ingest(shard, [try Self.logOfReads(dir, reads, unique: "IdentityCenter02")])

        let result = try IndexMerger(destination: dest).merge(shardPath: shard.path)
        XCTAssertEqual(result.eventsAdded, 2)
        XCTAssertEqual(result.rowsAdded["principals"], 1)
        XCTAssertEqual(
            try Self.principals(dest.queue).filter { $0[0] == "IdentityCenterUser" },
            [["IdentityCenterUser", "u-1", Self.store], ["IdentityCenterUser", "u-2", Self.store]])
        XCTAssertEqual(
            try whoRead(dest, seedLogFileARN).reads.map(\.principalDescription),
            [
                "arn:aws:iam::111122223333:user/cloudtrail-admin", "IdentityCenterUser: u-1", "IdentityCenterUser: u-2",
                "IdentityCenterUser: u-1",
            ])
        // Ingesting the shard's events into the index after the merge adds no principal: the
        // writer finds the merged rows.
        try ingest(dest, [try Self.logOfReads(dir, [Self.read("u-2", at: "2015-11-11T21:33:00Z")], unique: "IdentityCenter03")])
        XCTAssertEqual(try Self.principals(dest.queue).count, 5)
    }
}
