import Foundation
import GRDB

/// A read of a CloudTrail log file, from whichever record tells it.
struct LogRead {
    var time: Int64
    var eventID: String
    var object: String
    var trail: String

    /// A read of a row of `LogReadSource.detailColumns`: a Decrypt's eventID is looked up
    /// afterwards (`withEventIDs`), those of many reads together.
    init(_ row: Row, time: Int64, trail: String) {
        self.time = time
        eventID = EventUID.text(row["uid"])
        object = row["object"] ?? ""
        self.trail = trail
        eventRow = row["event_row"]
    }

    /// The Decrypt's id in `events` until its eventID is looked up.
    var eventRow: Int64?

    /// `reads` with the eventIDs of their Decrypts, each millisecond of them scanned once
    /// (`EventUIDLookup`).
    static func withEventIDs(_ db: Database, _ reads: [LogRead]) throws -> [LogRead] {
        let pending = reads.compactMap { read in read.eventRow.map { (time: read.time, id: $0) } }
        guard !pending.isEmpty else { return reads }
        let uids = try EventUIDLookup(db).uids(of: pending)
        return reads.map { read in
            var read = read
            if let id = read.eventRow {
                read.eventID = uids[id] ?? ""
                read.eventRow = nil
            }
            return read
        }
    }
}

/// Where reads of log files are learned: KMS Decrypts (S3 decrypts each GET of an SSE-KMS
/// log file under the reader's identity) and S3 data events (`GetObject` of a log file, which
/// also sees reads under S3 Bucket Keys and of SSE-S3 buckets; `--s3-reads`).
enum LogReadSource: CaseIterable {
    case kmsDecrypt, s3Read

    /// S3 reads `r` of CloudTrail log files, by their key (`…/CloudTrail/…/ACCOUNT_CloudTrail_…`):
    /// under Bucket Keys no KMS event names the file.
    static let logFileSQL = "o.key LIKE '%/CloudTrail/%' AND cloudtrail_log_account(o.key) IS NOT NULL"

    /// The alias of the source's rows in its SQL.
    var row: String { self == .kmsDecrypt ? "e" : "r" }

    /// `FROM … WHERE …` of the window's reads of log files, their callers as `p`
    /// (`FindingsScope.principalSQL` names them), with its arguments: less the key or bucket owner's
    /// copies of reads whose caller's copy is in the window, or (`ownerCopies`) those only.
    func from(_ scope: FindingsScope, ownerCopies: Bool = false) -> (sql: String, arguments: [(any DatabaseValueConvertible)?]) {
        // Both sides are never NULL here (the callers' copies have an id and an object), so
        // NOT is the complement; the subquery runs only for an AWSAccount's copy with an id.
        let kept = ownerCopies ? "" : "NOT "
        switch self {
        case .kmsDecrypt:
            return (
                """
                FROM events e LEFT JOIN principals p ON p.id = e.principal_id
                WHERE \(scope.condition) AND e.event_name_sid = ? AND e.trail_id IS NOT NULL
                  AND \(kept)(p.type IS 'AWSAccount' AND e.shared_event_uid IS NOT NULL
                       AND (e.shared_event_uid, coalesce(e.object_id, 0)) IN (\(Self.callerCopies(scope))))
                """, scope.arguments + [scope.decrypt] + scope.arguments + [scope.decrypt]
            )
        case .s3Read:
            return (
                """
                FROM s3_reads r JOIN s3_objects o ON o.id = r.object_id LEFT JOIN principals p ON p.id = r.principal_id
                WHERE \(scope.s3Condition) AND \(Self.logFileSQL)
                  AND \(kept)(p.type IS 'AWSAccount' AND r.shared_event_uid IS NOT NULL
                       AND (r.shared_event_uid, r.object_id) IN (\(Self.callersS3Copies(scope))))
                """, scope.s3Arguments + scope.s3Arguments
            )
        }
    }

    /// The sharedEventIDs and files of the window's Decrypts of log files logged in the caller's account:
    /// the key owner's copy of such a call (an `AWSAccount` caller) is the same read, counted
    /// under the caller's copy. One pass over the window, not one per read, made only when the
    /// window has such a copy (the terms before it decide the others).
    static func callerCopies(_ scope: FindingsScope) -> String {
        """
        SELECT x.shared_event_uid, coalesce(x.object_id, 0) FROM events x LEFT JOIN principals q ON q.id = x.principal_id
        WHERE \(scope.condition(on: "x")) AND x.event_name_sid = ? AND x.trail_id IS NOT NULL
          AND x.shared_event_uid IS NOT NULL AND q.type IS NOT 'AWSAccount'
        """
    }

    /// The same for S3 reads logged in both accounts (the caller's and the bucket owner's).
    static func callersS3Copies(_ scope: FindingsScope) -> String {
        """
        SELECT x.shared_event_uid, x.object_id FROM s3_reads x LEFT JOIN principals q ON q.id = x.principal_id
        WHERE \(scope.s3Condition(on: "x")) AND x.shared_event_uid IS NOT NULL AND q.type IS NOT 'AWSAccount'
        """
    }

    /// Keeps the reads that succeeded, by others than the indexer's own principals (which read
    /// every log file: never a new reader).
    var successfulByOthers: String {
        "\(row).error_code_sid IS NULL AND NOT \(OwnPrincipals.matches("\(row).principal_id"))"
    }

    /// The source's table.
    var table: String { self == .kmsDecrypt ? "events" : "s3_reads" }

    /// How many of the window's successful reads by `ids` (an account's callers as the key or
    /// bucket owner logged them) `from` leaves out as the owner's copies of reads whose caller's
    /// copy is in the window: reads of the account all the same, when asked whether it read
    /// before the window.
    func ownerCopiesLeftOut(_ db: Database, _ scope: FindingsScope, ids: [Int64]) throws -> Int {
        guard let list = Self.sqlList(ids) else { return 0 }
        let (from, arguments) = from(scope, ownerCopies: true)
        return try Int.fetchOne(
            db, sql: "SELECT count(*) \(from) AND \(row).principal_id IN (\(list)) AND \(successfulByOthers)",
            arguments: StatementArguments(arguments)) ?? 0
    }

    /// The eventID (an S3 read's) or the event's row (a Decrypt's: `LogRead.withEventIDs` looks
    /// its eventID up), the object and the trail of the source's row `d`: read only for the
    /// reads a finding lists.
    func detailColumns(of d: String) -> String {
        switch self {
        case .kmsDecrypt:
            return """
                NULL AS uid, \(d).id AS event_row,
                \(objectARNSQL("\(d).object_id")) AS object, (SELECT arn FROM trails WHERE id = \(d).trail_id) AS trail
                """
        case .s3Read:
            // The trail: the one whose delivery named the file, else (Bucket Keys) the bucket.
            return """
                \(d).event_uid AS uid, NULL AS event_row, \(objectARNSQL("\(d).object_id")) AS object,
                coalesce((SELECT t.arn FROM events w JOIN trails t ON t.id = w.trail_id
                          WHERE w.object_id = \(d).object_id AND w.trail_id IS NOT NULL LIMIT 1),
                         (SELECT 's3://' || b.name FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id
                          WHERE o.id = \(d).object_id)) AS trail
                """
        }
    }

    /// The first `limit` successful reads by others of each of `principals` in the window,
    /// oldest first, in the source's order: `limit` rows at most per principal, however many
    /// reads it made (SQLite numbers them with a sorter that spills to disk, not in memory here).
    func firstReads(_ db: Database, _ scope: FindingsScope, of principals: [String], limit: Int) throws -> [String: [LogRead]] {
        guard !principals.isEmpty else { return [:] }
        let (from, arguments) = from(scope)
        // In hex: a name may hold a NUL, which JSON text in SQLite would not carry whole.
        let names = String(decoding: try JSONEncoder().encode(principals.map(Self.hex)), as: UTF8.self)
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT x.principal, x.time, \(detailColumns(of: "d"))
                FROM (SELECT \(FindingsScope.principalSQL) AS principal, \(row).event_time AS time, \(row).id AS id,
                             row_number() OVER (PARTITION BY \(FindingsScope.principalSQL)
                                                ORDER BY \(row).event_time, \(row).id) AS n
                      \(from) AND \(successfulByOthers)
                        AND hex(\(FindingsScope.principalSQL)) IN (SELECT value FROM json_each(?))) x
                JOIN \(table) d ON d.id = x.id
                WHERE x.n <= ?
                ORDER BY x.principal, x.n
                """, arguments: StatementArguments(arguments + [names, limit]))
        var listed: [(principal: String, read: LogRead)] = []
        while let row = try rows.next() {
            listed.append((row.text(0) ?? "", LogRead(row, time: row["time"], trail: row["trail"] ?? "")))
        }
        // The eventIDs of every principal's reads together: those of one millisecond in one scan.
        var reads: [String: [LogRead]] = [:]
        for (entry, read) in zip(listed, try LogRead.withEventIDs(db, listed.map(\.read))) {
            reads[entry.principal, default: []].append(read)
        }
        return reads
    }

    /// Successful reads of log files by `principal` in all of the index's history, but those of
    /// the own principals (as in the window: an own session of a role leaves its other sessions
    /// readers like any other). `logKeys`
    /// is `logKeyIDs`, read once for all principals: read again for each, it was a pass over
    /// `activity_totals` per principal (quadratic when both are many).
    func readsEver(_ db: Database, principal: String, decrypt: Int64, principals: PrincipalIDLookup, logKeys: String) throws -> Int {
        let ids = try principals.ids(principal)
        guard let list = Self.sqlList(ids) else { return 0 }
        switch self {
        case .kmsDecrypt:
            // `callers` is keyed by key then caller: the keys that protect logs are few, so each
            // (key, session) pair is one seek, however many sessions a role had.
            return try Int.fetchOne(
                db,
                sql: """
                    SELECT coalesce(sum(c.events), 0) FROM callers c
                    WHERE c.key_id IN (\(logKeys))
                      AND c.principal_id IN (\(list))
                      AND c.trail_id != 0 AND c.event_name_sid = ? AND c.error_code_sid = 0
                      AND NOT \(OwnPrincipals.matches("c.principal_id"))
                    """, arguments: [decrypt]) ?? 0
        case .s3Read:
            return try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM s3_reads r JOIN s3_objects o ON o.id = r.object_id
                    WHERE (r.principal_id IN (\(list))\(ids.contains(0) ? " OR r.principal_id IS NULL" : ""))
                      AND r.error_code_sid IS NULL AND \(Self.logFileSQL)
                      AND NOT \(OwnPrincipals.matches("r.principal_id"))
                    """) ?? 0
        }
    }

    /// A text's UTF-8 bytes in hex, as SQLite's `hex()` writes them.
    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02X", $0) }.joined() }

    /// Row ids as an SQL list; nil for none.
    static func sqlList(_ ids: [Int64]) -> String? { ids.isEmpty ? nil : ids.map(String.init).joined(separator: ",") }

    /// The keys of events that name a trail (those that protect log files), as an SQL list.
    static func logKeyIDs(_ db: Database) throws -> String {
        let ids = try Int64.fetchAll(db, sql: "SELECT DISTINCT key_id FROM activity_totals WHERE trail_id != 0")
        return ids.isEmpty ? "NULL" : ids.map(String.init).joined(separator: ",")
    }
}

/// `new-log-reader` and `log-read-denied`. Memory holds a few reads per principal and per
/// denial, not the window's reads: a year of them is millions.
enum LogReadFindings {
    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        try denied(db, scope) + newReaders(db, scope)
    }

    /// Each principal's successful reads of log files in the window, from both sources, and
    /// how many files they read. A read both sources saw counts in both.
    static func readCounts(_ db: Database, _ scope: FindingsScope) throws -> [(principal: String, reads: Int, files: Int)] {
        var parts: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for source in LogReadSource.allCases {
            let (from, sourceArguments) = source.from(scope)
            // A Decrypt naming no object is a read of one file with no name, as the listing shows it.
            parts.append(
                """
                SELECT \(FindingsScope.principalSQL) AS principal, coalesce(\(source.row).object_id, 0) AS object_id
                \(from) AND \(source.successfulByOthers)
                """)
            arguments += sourceArguments
        }
        // A cursor's rows: a name is read whole (`FullText`), NUL and all.
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT principal, count(*) AS reads, count(DISTINCT object_id) AS files
                FROM (\(parts.joined(separator: " UNION ALL "))) GROUP BY principal
                """, arguments: StatementArguments(arguments))
        var counts: [(principal: String, reads: Int, files: Int)] = []
        while let row = try rows.next() { counts.append((principal: row.text(0) ?? "", reads: row["reads"], files: row["files"])) }
        return counts
    }

    /// Principals all of whose successful reads of log files ever, from both sources, are in
    /// the window: they read one for the first time in it. A role counts once for all its
    /// sessions; a read both sources saw counts in both, in the window as in all of history.
    static func newReaders(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        var newOnes: [(principal: String, reads: Int, files: Int)] = []
        let lookup = PrincipalIDLookup(db)
        var logKeys: String?
        for count in try readCounts(db, scope) {
            if logKeys == nil { logKeys = try LogReadSource.logKeyIDs(db) }
            var ever = 0, inWindow = count.reads
            for source in LogReadSource.allCases {
                ever += try source.readsEver(
                    db, principal: count.principal, decrypt: scope.decrypt, principals: lookup, logKeys: logKeys ?? "NULL")
                if count.principal.hasPrefix(FindingsScope.accountPrefix) {
                    inWindow += try source.ownerCopiesLeftOut(db, scope, ids: try lookup.ids(count.principal))
                }
            }
            if ever <= inWindow, try !readBeforeAPrune(db, count.principal) { newOnes.append(count) }
        }
        // The first reads of each, oldest first across both sources; within a source, as it lists them.
        let principals = newOnes.map(\.principal)
        var firstReads: [String: [LogRead]] = [:]
        for source in LogReadSource.allCases {
            for (principal, reads) in try source.firstReads(db, scope, of: principals, limit: Finding.maxEventIDs) {
                firstReads[principal, default: []] += reads
            }
        }
        var pairedReads: [String: Int] = [:]
        for principal in principals { pairedReads[principal] = try pairedS3Reads(db, scope, principal: principal) }
        return newOnes.compactMap { count in
            let reads = (firstReads[count.principal] ?? []).enumerated()
                .sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
            guard let first = reads.first else { return nil }
            // A read S3 and KMS both recorded is one read in the text (the counts above, which
            // decide who is new, take both records, in the window as in all of history).
            let readCount = count.reads - (pairedReads[count.principal] ?? 0)
            return Finding(
                .newLogReader, .high, time: isoTime(first.time), subject: first.object, principal: count.principal,
                detail:
                    "\(count.principal) read CloudTrail log files for the first time: \(readCount) read(s) of \(count.files) file(s) of \(first.trail)",
                eventIDs: reads.map(\.eventID), events: count.reads, identity: [first.eventID])
        }
    }

    /// Whether `principal` read log files in days a prune deleted (`log_readers_pruned`).
    static func readBeforeAPrune(_ db: Database, _ principal: String) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM log_readers_pruned WHERE principal = CAST(? AS TEXT))",
            arguments: [FindingsScope.wholeText(principal)])
            == true
    }

    /// Notes the principals of the successful reads of log files before `cutoff` (ms), from
    /// both sources, as findings name them: `prune` calls it before it deletes those reads.
    static func notePrunedReaders(_ db: Database, before cutoff: Int64) throws {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO log_readers_pruned (principal)
                SELECT \(FindingsScope.principalSQL) FROM events e LEFT JOIN principals p ON p.id = e.principal_id
                WHERE e.event_time < :cutoff AND e.event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt')
                  AND e.trail_id IS NOT NULL AND e.error_code_sid IS NULL
                UNION
                SELECT \(FindingsScope.principalSQL)
                FROM s3_reads r JOIN s3_objects o ON o.id = r.object_id LEFT JOIN principals p ON p.id = r.principal_id
                WHERE r.event_time < :cutoff AND r.error_code_sid IS NULL AND \(LogReadSource.logFileSQL)
                """, arguments: ["cutoff": cutoff])
    }

    /// The window's successful S3 reads of log files by `principal` that S3 made a Decrypt of
    /// the same file for, by the same caller (ARN), a pairing window apart at most (who-read's pairs,
    /// `ReadMerger`): each is one read with that Decrypt. Asked of new readers only.
    static func pairedS3Reads(_ db: Database, _ scope: FindingsScope, principal: String) throws -> Int {
        let source = LogReadSource.s3Read
        let (from, arguments) = source.from(scope)
        let window = S3Reads.pairingWindowMs
        return try Int.fetchOne(
            db,
            sql: """
                SELECT count(*) \(from) AND \(source.successfulByOthers) AND \(FindingsScope.principalSQL) = CAST(? AS TEXT)
                  AND EXISTS (SELECT 1 FROM events d JOIN principals q ON q.id = d.principal_id
                              WHERE d.object_id = r.object_id AND d.event_name_sid = ? AND q.arn = p.arn
                                AND d.error_code_sid IS NULL
                                AND d.event_time BETWEEN r.event_time - \(window) AND r.event_time + \(window))
                """, arguments: StatementArguments(arguments + [FindingsScope.wholeText(principal), scope.decrypt])) ?? 0
    }

    /// Failed reads, one finding per principal, trail and UTC day: its first reads, its count
    /// and its error codes are kept, not every read.
    static func denied(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        struct Denial {
            /// The first reads, `Finding.maxEventIDs` at most.
            var listed: [LogRead]
            var count: Int
            var errors: Set<String>
        }
        let source = LogReadSource.kmsDecrypt
        let (from, arguments) = source.from(scope)
        // A failed Decrypt is the denial; a refused GetObject is seen by S3 only.
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT \(FindingsScope.principalSQL) AS principal, e.event_time AS time,
                       (SELECT text FROM strings WHERE id = e.error_code_sid) AS error, \(source.detailColumns(of: "e"))
                \(from) AND e.error_code_sid IS NOT NULL
                ORDER BY e.event_time, e.id
                """, arguments: StatementArguments(arguments))
        var groups: [[String]: Denial] = [:]
        var order: [[String]] = []
        while let row = try rows.next() {
            let principal = row.text(0) ?? "", time: Int64 = row["time"], error: String = row["error"]
            let trail: String = row["trail"] ?? ""
            let key = [principal, trail, dayText(FindingsScope.day(time))]
            if var denial = groups[key] {
                denial.count += 1
                denial.errors.insert(error)
                if denial.listed.count < Finding.maxEventIDs { denial.listed.append(LogRead(row, time: time, trail: trail)) }
                groups[key] = denial
            } else {
                groups[key] = Denial(listed: [LogRead(row, time: time, trail: trail)], count: 1, errors: [error])
                order.append(key)
            }
        }
        // The eventIDs of the listed reads only, all together.
        let listed = try LogRead.withEventIDs(db, order.flatMap { groups[$0]!.listed })
        var next = listed.makeIterator()
        for key in order { groups[key]!.listed = groups[key]!.listed.map { _ in next.next()! } }
        return order.map { key in
            let denial = groups[key]!, first = denial.listed[0]
            return Finding(
                .logReadDenied, .medium, time: isoTime(first.time), subject: first.trail, principal: key[0],
                detail:
                    "\(denial.count) failed Decrypt(s) of CloudTrail log files (\(denial.errors.sorted().joined(separator: ", "))) on \(key[2]), the first of \(first.object)",
                eventIDs: denial.listed.map(\.eventID), events: denial.count, identity: [key[2]])
        }
    }
}
