import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// `new-log-reader` and `log-read-denied` keep a few reads per finding instead of the window's
/// reads: their findings equal those of the whole-list version (kept below as the reference) on
/// generated trees with reads from both sources, in every kind of window.
final class LogReadFindingsTests: XCTestCase {
    func testFindingsEqualTheWholeListVersionInEveryWindow() throws {
        let dir = try TempDir()
        var options = SynthOptions(seed: 23, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 3, filesPerDay: 48)
        options.s3DataEvents = true
        _ = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
        let index = try makeIndex(dir)
        var ingestOptions = IngestOptions(paths: [dir.path + "/tree"])
        ingestOptions.s3Reads = .auto
        _ = try Ingester(database: index, options: ingestOptions).run()

        let day: Int64 = 86_400_000
        let start = try XCTUnwrap(try index.queue.read { db in try Int64.fetchOne(db, sql: "SELECT min(event_time) FROM events") })
        let windows: [FindingsWindow] = [.all, .sinceLastRun, .since(start + day), .since(start + 2 * day + day / 2)]
        var compared = (readers: 0, denials: 0, listsCut: 0)
        for window in windows {
            let (found, expected) = try index.queue.read { db in
                let scope = try FindingsScope(db, window: window)
                return (try LogReadFindings.find(db, scope), try ReferenceLogReadFindings.find(db, scope))
            }
            let order = { (a: Finding, b: Finding) in Finding.ordered(a, b) }
            XCTAssertEqual(found.sorted(by: order), expected.sorted(by: order), "\(window)")
            compared.readers += found.filter { $0.kind == .newLogReader }.count
            compared.denials += found.filter { $0.kind == .logReadDenied }.count
            compared.listsCut += found.filter { $0.events > $0.eventIDs.count }.count
        }
        // The tree exercises what the reads are kept for: readers, denials, long lists.
        XCTAssertGreaterThan(compared.readers, 4)
        XCTAssertGreaterThan(compared.denials, 0)
        XCTAssertGreaterThan(compared.listsCut, 0)

        // An own principal is never a new reader, in both versions.
        let reader = try XCTUnwrap(
            try index.queue.read { db in try LogReadFindings.find(db, FindingsScope(db, window: .all)) }
                .first { $0.kind == .newLogReader }?.principal)
        XCTAssertTrue(try index.queue.write { db in try OwnPrincipals.add(db, arn: reader) })
        let (found, expected) = try index.queue.read { db in
            let scope = try FindingsScope(db, window: .all)
            return (try LogReadFindings.find(db, scope), try ReferenceLogReadFindings.find(db, scope))
        }
        XCTAssertEqual(found.sorted(by: Finding.ordered), expected.sorted(by: Finding.ordered))
        XCTAssertFalse(found.contains { $0.kind == .newLogReader && $0.principal == reader })
    }
}

extension LogReadFindingsTests {
    /// Calls logged in both accounts (`CrossAccountCopiesTests`): both versions count each once.
    func testCrossAccountCopiesEqualTheWholeListVersion() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir, CrossAccountCopiesTests.records)
        for window in [FindingsWindow.all, .sinceLastRun, .since(0)] {
            let (found, expected) = try index.queue.read { db in
                let scope = try FindingsScope(db, window: window)
                return (try LogReadFindings.find(db, scope), try ReferenceLogReadFindings.find(db, scope))
            }
            XCTAssertEqual(found.sorted(by: Finding.ordered), expected.sorted(by: Finding.ordered), "\(window)")
            XCTAssertEqual(found.filter { $0.principal == CrossAccountCopiesTests.role }.map(\.events), [2], "\(window)")
        }
    }
}

// The whole-list version: every read of the window in memory, grouped in Swift.

private struct ReferenceLogRead {
    var time: Int64
    var eventID: String
    var principal: String
    var object: String
    var trail: String
    /// The error code of a read that failed.
    var error: String?
    /// The reader is one of the indexer's own principals (`own-principal add`).
    var own = false
    /// The caller's type and the call's sharedEventID: the key owner's copy of a cross-account
    /// call (`AWSAccount`) is the same read as the caller's copy.
    var type: String?
    var shared: Data?
    /// The caller's ARN, and whether S3 recorded the read: an S3 read with a Decrypt by the same
    /// caller of the same file a pairing window apart is one read with it.
    var arn: String? = nil
    var isS3 = false
}

/// Where reads of log files are learned: KMS Decrypts (S3 decrypts each GET of an SSE-KMS
/// log file under the reader's identity) and S3 data events (`GetObject` of a log file, which
/// also sees reads under S3 Bucket Keys and of SSE-S3 buckets; `--s3-reads`).
private enum ReferenceLogReadSource: CaseIterable {
    case kmsDecrypt, s3Read

    /// S3 reads `r` of CloudTrail log files, by their key (`…/CloudTrail/…/ACCOUNT_CloudTrail_…`):
    /// under Bucket Keys no KMS event names the file.
    static let logFileSQL = "o.key LIKE '%/CloudTrail/%' AND cloudtrail_log_account(o.key) IS NOT NULL"

    /// The reads in the window, oldest first.
    func reads(_ db: Database, _ scope: FindingsScope) throws -> [ReferenceLogRead] {
        let rows: [Row]
        switch self {
        case .kmsDecrypt:
            rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.event_time AS time,
                           (SELECT u.event_uid FROM event_uids u WHERE u.event_time = e.event_time AND u.event_id = e.id) AS uid, \(FindingsScope.principalSQL) AS principal,
                           \(objectARNSQL("e.object_id")) AS object, t.arn AS trail,
                           (SELECT text FROM strings WHERE id = e.error_code_sid) AS error,
                           \(OwnPrincipals.matches("e.principal_id")) AS own, p.type AS type, e.shared_event_uid AS shared,
                           p.arn AS arn, 0 AS s3
                    FROM events e JOIN trails t ON t.id = e.trail_id LEFT JOIN principals p ON p.id = e.principal_id
                    WHERE \(scope.condition) AND e.event_name_sid = ? AND e.trail_id IS NOT NULL
                    ORDER BY e.event_time, e.id
                    """, arguments: StatementArguments(scope.arguments + [scope.decrypt]))
        case .s3Read:
            // The trail: the one whose delivery named the file, else (Bucket Keys) the bucket.
            rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.event_time AS time, r.event_uid AS uid, \(FindingsScope.principalSQL) AS principal,
                           \(objectARNSQL("r.object_id")) AS object,
                           coalesce((SELECT t.arn FROM events d JOIN trails t ON t.id = d.trail_id
                                     WHERE d.object_id = r.object_id AND d.trail_id IS NOT NULL LIMIT 1),
                                    (SELECT 's3://' || b.name FROM s3_buckets b WHERE b.id = o.bucket_id)) AS trail,
                           (SELECT text FROM strings WHERE id = r.error_code_sid) AS error,
                           \(OwnPrincipals.matches("r.principal_id")) AS own, p.type AS type, NULL AS shared,
                           p.arn AS arn, 1 AS s3
                    FROM s3_reads r JOIN s3_objects o ON o.id = r.object_id LEFT JOIN principals p ON p.id = r.principal_id
                    WHERE \(scope.s3Condition) AND \(LogReadSource.logFileSQL)
                    ORDER BY r.event_time, r.id
                    """, arguments: StatementArguments(scope.s3Arguments))
        }
        return rows.compactMap { row in
            guard let principal: String = row["principal"] else { return nil }
            return ReferenceLogRead(
                time: row["time"], eventID: EventUID.text(row["uid"]), principal: principal,
                object: row["object"] ?? "", trail: row["trail"] ?? "", error: row["error"], own: row["own"], type: row["type"],
                shared: row["shared"], arn: row["arn"], isS3: row["s3"])
        }
    }
}

/// `new-log-reader` and `log-read-denied`.
private enum ReferenceLogReadFindings {
    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        var findings: [Finding] = []
        var reads: [ReferenceLogRead] = []
        for source in ReferenceLogReadSource.allCases {
            var found = try source.reads(db, scope)
            // A call logged in both accounts is read once: the caller's copy (of the same file).
            func call(_ read: ReferenceLogRead) -> [String]? { read.shared.map { [$0.base64EncodedString(), read.object] } }
            let callerCopies = Set(found.filter { $0.type != "AWSAccount" }.compactMap(call))
            found.removeAll { $0.type == "AWSAccount" && call($0).map(callerCopies.contains) == true }
            // A failed Decrypt is the denial; a refused GetObject is seen by S3 only.
            if source == .kmsDecrypt { findings += denied(found.filter { $0.error != nil }) }
            // The indexer's own principals read every log file: never a new reader.
            reads += found.filter { $0.error == nil && !$0.own }
        }
        // Oldest first across both sources; within a source, as it listed them.
        let ordered = reads.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        findings += try newReaders(db, scope, ordered.map(\.element))
        return findings
    }

    /// Principals all of whose successful reads of log files ever, from both sources, are in
    /// the window: they read one for the first time in it. A role counts once for all its
    /// sessions; a read both sources saw counts in both, in the window as in all of history.
    static func newReaders(_ db: Database, _ scope: FindingsScope, _ reads: [ReferenceLogRead]) throws -> [Finding] {
        var byPrincipal: [String: [ReferenceLogRead]] = [:]
        for read in reads { byPrincipal[read.principal, default: []].append(read) }
        var findings: [Finding] = []
        // Every successful Decrypt of the index by caller and file, with its times.
        var decrypts: [[String]: [Int64]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT e.event_time, p.arn, \(objectARNSQL("e.object_id")) FROM events e JOIN principals p ON p.id = e.principal_id
                WHERE e.event_name_sid = ? AND e.error_code_sid IS NULL AND e.object_id IS NOT NULL AND p.arn IS NOT NULL
                """, arguments: [scope.decrypt])
        {
            decrypts[[row[1], row[2]], default: []].append(row[0])
        }
        for (principal, reads) in byPrincipal {
            var ever = 0
            // "Ever" is counted by the code under test: the reference is about grouping the window's reads.
            let lookup = PrincipalIDLookup(db), logKeys = try LogReadSource.logKeyIDs(db)
            for source in LogReadSource.allCases {
                ever += try source.readsEver(db, principal: principal, decrypt: scope.decrypt, principals: lookup, logKeys: logKeys)
            }
            guard ever <= reads.count else { continue }
            let first = reads[0]
            let files = Set(reads.map(\.object)).count
            let paired = reads.filter { read in
                guard read.isS3, let arn = read.arn else { return false }
                return decrypts[[arn, read.object]]?.contains { abs($0 - read.time) <= S3Reads.pairingWindowMs } == true
            }.count
            findings.append(
                Finding(
                    .newLogReader, .high, time: isoTime(first.time), subject: first.object, principal: principal,
                    detail:
                        "\(principal) read CloudTrail log files for the first time: \(reads.count - paired) read(s) of \(files) file(s) of \(first.trail)",
                    eventIDs: reads.map(\.eventID), identity: [first.eventID]))
        }
        return findings
    }

    /// Failed reads, one finding per principal, trail and UTC day.
    static func denied(_ reads: [ReferenceLogRead]) -> [Finding] {
        var groups: [[String]: [ReferenceLogRead]] = [:]
        for read in reads {
            groups[[read.principal, read.trail, dayText(FindingsScope.day(read.time))], default: []].append(read)
        }
        return groups.map { key, reads in
            let first = reads[0]
            let errors = Set(reads.compactMap(\.error)).sorted().joined(separator: ", ")
            return Finding(
                .logReadDenied, .medium, time: isoTime(first.time), subject: first.trail, principal: first.principal,
                detail: "\(reads.count) failed Decrypt(s) of CloudTrail log files (\(errors)) on \(key[2]), the first of \(first.object)",
                eventIDs: reads.map(\.eventID), identity: [key[2]])
        }
    }
}
