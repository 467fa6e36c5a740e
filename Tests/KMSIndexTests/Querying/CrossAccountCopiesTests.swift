import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// KMS logs a call on another account's key in both accounts, under one `sharedEventID`: the
/// caller's copy names the caller, the key owner's names it as an `AWSAccount`. With both
/// accounts' trails in the index (an organization trail holds both), it is one read: who-read's
/// table lists it once, as the caller's; JSON keeps both events, with one `read_id`; a finding
/// counts it once.
final class CrossAccountCopiesTests: XCTestCase {
    static let callerAccount = "444455556666"
    static let role = "arn:aws:iam::444455556666:role/Auditor"

    static func callerIdentity(_ session: String) -> String {
        #"{"type":"AssumedRole","principalId":"AROAAUDITOR:\#(session)","arn":"arn:aws:sts::444455556666:assumed-role/Auditor/\#(session)","#
            + #""accountId":"444455556666","sessionContext":{"sessionIssuer":{"type":"Role","arn":"\#(role)"}}}"#
    }

    static func ownerIdentity(account: String, principalID: String) -> String {
        #"{"type":"AWSAccount","principalId":"\#(principalID)","accountId":"\#(account)"}"#
    }

    static func sharedID(_ n: Int) -> String { String(format: "5ea7ed00-0000-4000-8000-%012d", n) }

    /// A Decrypt of `object` with a sharedEventID; the owner's copy is logged in the key's
    /// account, the caller's in its own.
    static func copy(
        _ eventID: String, shared: Int, at time: String, owner: Bool, session: String = "s1",
        object: String = Q.log1, error: (code: String, message: String)? = nil
    ) -> String {
        let identity =
            owner
            ? ownerIdentity(account: callerAccount, principalID: "AROAAUDITOR:\(session)")
            : callerIdentity(session)
        let record = queryRecord(
            eventID, "Decrypt", time, identity: identity, requestParameters: Q.context(object: object), error: error,
            account: owner ? Q.account : callerAccount)
        return record.replacingOccurrences(
            of: #""eventID":"\#(eventID)""#, with: #""eventID":"\#(eventID)","sharedEventID":"\#(sharedID(shared))""#)
    }

    /// Two calls logged in both accounts (the owner's copy first by eventID, then the caller's),
    /// a call of a third account whose own copy is not in the index, and alice's read.
    static let records = [
        copy("a1", shared: 1, at: "2024-03-01T10:00:00Z", owner: true),
        copy("a2", shared: 1, at: "2024-03-01T10:00:00Z", owner: false),
        copy("b1", shared: 2, at: "2024-03-01T11:00:00Z", owner: false, session: "s2"),
        copy("b2", shared: 2, at: "2024-03-01T11:00:00Z", owner: true, session: "s2"),
        queryRecord(
            "c1", "Decrypt", "2024-03-01T12:00:00Z", identity: ownerIdentity(account: "555566667777", principalID: "AROAOTHER:s9"),
            requestParameters: Q.context(object: Q.log1)
        ).replacingOccurrences(of: #""eventID":"c1""#, with: #""eventID":"c1","sharedEventID":"\#(sharedID(3))""#),
        queryRecord("r9", "Decrypt", "2024-03-01T13:00:00Z", requestParameters: Q.context(object: Q.log1)),
    ]

    /// An index of `files` (name: records) ingested by the binary; its path and the index.
    func ingested(_ dir: TempDir, _ files: [(String, [String])], _ options: [String] = []) throws -> (String, IndexDatabase) {
        for (name, records) in files { try dir.write("logs/" + name, gzip(logFile(records))) }
        let db = dir.path + "/i.sqlite"
        let ingest = try runKMSIndex(["ingest", "-q"] + options + ["--db", db, dir.path + "/logs"])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        return (db, try IndexDatabase.openForReading(path: db))
    }

    func testWhoReadListsACallLoggedInBothAccountsOnce() throws {
        let dir = try TempDir()
        let (db, index) = try ingested(dir, [(logPath(), Self.records)])

        // Every event is kept, and the two copies of a call share a read id: the sharedEventID.
        let reads = try whoRead(index, Q.log1).reads
        XCTAssertEqual(reads.map(\.eventID), ["a1", "a2", "b1", "b2", "c1", "r9"])
        XCTAssertEqual(
            reads.map { $0.readID ?? "-" }, [Self.sharedID(1), Self.sharedID(1), Self.sharedID(2), Self.sharedID(2), "-", "-"])
        XCTAssertEqual(reads.map(\.isOwnerCopy), [true, false, false, true, false, false])

        // The table: one row per call, under the caller; the third account's copy, alone, stays.
        let table = try runKMSIndex(["who-read", "--db", db, Q.log1])
        XCTAssertEqual(table.status, 0, table.stderr)
        let rows = table.stdout.split(separator: "\n").filter { $0.hasPrefix("2024-") }
        XCTAssertEqual(rows.count, 4, table.stdout)
        XCTAssertTrue(rows[0].contains("\(Self.role) (session s1)"), String(rows[0]))
        XCTAssertTrue(rows[1].contains("\(Self.role) (session s2)"), String(rows[1]))
        XCTAssertTrue(rows[2].contains("AWSAccount: 555566667777"), String(rows[2]))
        XCTAssertTrue(rows[3].contains(Q.alice), String(rows[3]))
        XCTAssertFalse(table.stdout.contains("AWSAccount: \(Self.callerAccount)"), table.stdout)

        // JSON and CSV keep both copies, with the read id that ties them.
        let json = try runKMSIndex(["who-read", "--db", db, "--format", "json", Q.log1])
        let objects = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(objects.map { $0["event_id"] as? String }, ["a1", "a2", "b1", "b2", "c1", "r9"])
        XCTAssertEqual(
            objects.map { $0["read_id"] as? String }, [Self.sharedID(1), Self.sharedID(1), Self.sharedID(2), Self.sharedID(2), nil, nil])

        // reads of the account lists its copies: the caller's are not among them to fold into.
        let accountReads = try runKMSIndex(["reads", "--db", db, "--principal", "AWSAccount: \(Self.callerAccount)", "--format", "json"])
        let accountRows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(accountReads.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(accountRows.map { $0["event_id"] as? String }, ["a1", "b2"])
    }

    /// The caller's copy pairs with the S3 read S3 logged for it; the owner's copy joins the
    /// pair: three records, one read, one row.
    func testAnS3ReadAndBothCopiesAreOneRead() throws {
        let dir = try TempDir()
        let getObject = S3ReadsTests.s3Event(
            "g1", "GetObject", "2024-03-01T10:00:01Z", bucket: "logs-bucket", key: S3ReadsTests.log1Key,
            identity: Self.callerIdentity("s1"), bytes: 1234)
        let (db, index) = try ingested(
            dir,
            [
                (logPath(stamp: "20240301T0005Z", unique: "kms"), Self.records),
                (logPath(stamp: "20240301T0010Z", unique: "data"), [getObject]),
            ], ["--s3-reads", "auto"])

        let reads = try whoRead(index, Q.log1).reads
        XCTAssertEqual(reads.map(\.eventID), ["a1", "a2", "g1", "b1", "b2", "c1", "r9"])
        XCTAssertEqual(reads.prefix(3).map(\.readID), ["g1", "g1", "g1"])

        let table = try runKMSIndex(["who-read", "--db", db, Q.log1])
        XCTAssertEqual(table.status, 0, table.stderr)
        let rows = table.stdout.split(separator: "\n").filter { $0.hasPrefix("2024-") }
        XCTAssertEqual(rows.count, 4, table.stdout)
        XCTAssertTrue(rows[0].contains("s3+kms") && rows[0].contains("(session s1)"), String(rows[0]))
        XCTAssertFalse(table.stdout.contains("AWSAccount: \(Self.callerAccount)"), table.stdout)
    }

    /// Copies pair only as KMS logs them: one owner's copy with one caller's copy, of the same
    /// object. Two owner's copies sharing an id, or copies of two objects, are all listed and
    /// counted: a record cannot hide another read by naming its sharedEventID.
    static let strayCopies = [
        copy("h1", shared: 7, at: "2024-03-01T16:00:00Z", owner: true, object: Q.log2),
        copy("h2", shared: 7, at: "2024-03-01T16:00:00Z", owner: true, session: "s2", object: Q.log2),
        copy("m1", shared: 8, at: "2024-03-01T17:00:00Z", owner: true, session: "s3", object: Q.log2),
        copy("m2", shared: 8, at: "2024-03-01T17:00:00Z", owner: false, session: "s3", object: Q.log3),
    ]

    func testACopyPairsOnlyWithTheOtherAccountsCopyOfTheSameCall() throws {
        let dir = try TempDir()
        let (db, index) = try ingested(dir, [(logPath(), Self.strayCopies)])
        let reads = try whoRead(index, Q.log2).reads
        XCTAssertEqual(reads.map(\.eventID), ["h1", "h2", "m1"])
        XCTAssertEqual(reads.map { $0.readID ?? "-" }, ["-", "-", "-"])
        let table = try runKMSIndex(["who-read", "--db", db, Q.log2])
        XCTAssertEqual(table.stdout.split(separator: "\n").filter { $0.hasPrefix("2024-") }.count, 3, table.stdout)

        let found = try index.queue.read { db in try LogReadFindings.find(db, FindingsScope(db, window: .all)) }
        let readers = found.filter { $0.kind == .newLogReader }.sorted { ($0.principal ?? "") < ($1.principal ?? "") }
        XCTAssertEqual(readers.map { $0.principal ?? "-" }, ["AWSAccount: \(Self.callerAccount)", Self.role])
        XCTAssertEqual(readers.map(\.events), [3, 1])
    }

    /// A finding counts the read once, under the caller; an account whose own copies are not in
    /// the index is named by its account, once for all its sessions.
    func testFindingsCountACallLoggedInBothAccountsOnce() throws {
        let denied = (code: "AccessDenied", message: "not authorized")
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            Self.records + [
                queryRecord(
                    "c2", "Decrypt", "2024-03-01T12:30:00Z",
                    identity: Self.ownerIdentity(account: "555566667777", principalID: "AROAOTHER:s10"),
                    requestParameters: Q.context(object: Q.log2)),
                Self.copy("d1", shared: 5, at: "2024-03-01T14:00:00Z", owner: true, object: Q.log2, error: denied),
                Self.copy("d2", shared: 5, at: "2024-03-01T14:00:00Z", owner: false, object: Q.log2, error: denied),
                // The caller's account's read whose own copy is not here: the account's, and new
                // though its other copies (a1, b2) are left out.
                Self.copy("e1", shared: 7, at: "2024-03-01T16:00:00Z", owner: true, session: "s3"),
            ])
        for window in [FindingsWindow.all, .sinceLastRun, .since(0)] {
            let found = try index.queue.read { db in try LogReadFindings.find(db, FindingsScope(db, window: window)) }
            let readers = found.filter { $0.kind == .newLogReader }.sorted { ($0.principal ?? "") < ($1.principal ?? "") }
            XCTAssertEqual(
                readers.map { $0.principal ?? "-" }, ["AWSAccount: \(Self.callerAccount)", "AWSAccount: 555566667777", Q.alice, Self.role],
                "\(window)")
            XCTAssertEqual(readers.map(\.events), [1, 2, 1, 2], "\(window)")
            XCTAssertEqual(readers.first?.eventIDs, ["e1"], "\(window)")
            XCTAssertEqual(readers.last?.eventIDs, ["a2", "b1"], "\(window)")
            let denials = found.filter { $0.kind == .logReadDenied }
            XCTAssertEqual(denials.map { $0.principal ?? "-" }, [Self.role], "\(window)")
            XCTAssertEqual(denials.map(\.eventIDs), [["d2"]], "\(window)")
        }
        // Key management logged in both accounts is one finding too: a grant by the caller's role
        // on the owner's key, for a third account.
        let grants = try TempDir()
        let grant = #"{"keyId":"\#(Q.key1)","granteePrincipal":"arn:aws:iam::999988887777:role/partner","operations":["Decrypt"]}"#
        func grantCopy(_ eventID: String, owner: Bool, shared: Int = 6, key: String = Q.key1) -> String {
            queryRecord(
                eventID, "CreateGrant", "2024-03-01T15:00:00Z",
                identity: owner
                    ? Self.ownerIdentity(account: Self.callerAccount, principalID: "AROAAUDITOR:s1") : Self.callerIdentity("s1"),
                requestParameters: grant.replacingOccurrences(of: Q.key1, with: key), key: key,
                account: owner ? Q.account : Self.callerAccount
            ).replacingOccurrences(
                of: #""eventID":"\#(eventID)""#, with: #""eventID":"\#(eventID)","sharedEventID":"\#(Self.sharedID(shared))""#)
        }
        // k3 and k4 share an id but grant on two keys: not one call, both reported.
        let granted = try queryIndex(
            grants,
            [
                grantCopy("k1", owner: true), grantCopy("k2", owner: false), grantCopy("k3", owner: true, shared: 9),
                grantCopy("k4", owner: false, shared: 9, key: Q.key2),
            ])
        let grantFindings = try granted.queue.read { db in try KeyChangeFindings.find(db, FindingsScope(db, window: .all)) }
        XCTAssertEqual(grantFindings.map { $0.principal ?? "-" }, [Self.role, "AWSAccount: \(Self.callerAccount)", Self.role])
        XCTAssertEqual(grantFindings.map(\.eventIDs), [["k2"], ["k3"], ["k4"]])

        // Without the caller's copies, the owner's are what is known: named by the account.
        let ownerOnly = try TempDir()
        let owners = try queryIndex(ownerOnly, [Self.records[0], Self.records[3]])
        let found = try owners.queue.read { db in try LogReadFindings.find(db, FindingsScope(db, window: .all)) }
        XCTAssertEqual(found.map { $0.principal ?? "-" }, ["AWSAccount: \(Self.callerAccount)"])
        XCTAssertEqual(found.map(\.events), [2])
    }

    /// A surge of Decrypts by another account's role on the owner's key, logged in both
    /// accounts, is one finding, the role's: the owner's copies, under the account, are the same
    /// calls. With only the owner's copies the account surges; copies whose caller's copy is
    /// missing still count.
    func testADecryptSurgeLoggedInBothAccountsIsOneFinding() throws {
        // Ten Decrypts a day for four days, then 1,200: each logged in both accounts.
        var owners: [String] = [], callers: [String] = []
        var n = 0
        for day in 1...5 {
            for i in 0..<(day == 5 ? 1_200 : 10) {
                n += 1
                let time = String(format: "2024-03-%02dT10:%02d:%02dZ", day, i / 60, i % 60)
                let object = "arn:aws:s3:::data-lake/part-\(n).parquet"
                owners.append(Self.copy(String(format: "o%05d", n), shared: n, at: time, owner: true, object: object))
                callers.append(Self.copy(String(format: "c%05d", n), shared: n, at: time, owner: false, object: object))
            }
        }
        func surges(_ records: [String]) throws -> [String] {
            let dir = try TempDir()
            let index = try queryIndex(dir, records)
            return try index.queue.read { db in try DecryptSurgeFindings.find(db, FindingsScope(db, window: .all)) }
                .map { "\($0.principal ?? "-") \($0.events) \($0.eventIDs.first ?? "-") \($0.eventIDs.count)" }
        }
        XCTAssertEqual(try surges(owners + callers), ["\(Self.role) 1200 c00041 20"])
        XCTAssertEqual(try surges(callers), ["\(Self.role) 1200 c00041 20"])
        XCTAssertEqual(try surges(owners), ["AWSAccount: \(Self.callerAccount) 1200 o00041 20"])
        // The caller's copies of the first 150 calls of the day are missing: those 150 of the
        // owner's copies are the account's own, not enough for a surge.
        XCTAssertEqual(
            try surges(owners + callers.enumerated().filter { $0.offset < 40 || $0.offset >= 190 }.map(\.element)),
            ["\(Self.role) 1050 c00191 20"])
        // 1,100 of them missing: the account's 1,100 surge too, named by their first.
        XCTAssertEqual(
            try surges(owners + callers.enumerated().filter { $0.offset < 40 || $0.offset >= 1_140 }.map(\.element)),
            ["AWSAccount: \(Self.callerAccount) 1100 o00041 20"])
    }
}
