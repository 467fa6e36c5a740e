import GRDB

/// A read of a CloudTrail log file, from whichever record tells it.
struct LogRead {
    var time: Int64
    var eventID: String
    var principal: String
    var object: String
    var trail: String
    /// The error code of a read that failed.
    var error: String?
    /// The reader is one of the indexer's own principals (`own-principal add`).
    var own = false
}

/// Where reads of log files are learned. KMS Decrypts (S3 decrypts each GET of an SSE-KMS
/// log file under the reader's identity) are the one source today; S3 data events
/// (GetObject on the log bucket) are the second, when they are indexed.
enum LogReadSource: CaseIterable {
    case kmsDecrypt

    /// The reads in the window, oldest first.
    func reads(_ db: Database, _ scope: FindingsScope) throws -> [LogRead] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT e.event_time AS time, \(FindingsScope.uidSQL) AS uid, \(FindingsScope.principalSQL) AS principal,
                   \(objectARNSQL("e.object_id")) AS object, t.arn AS trail,
                   (SELECT text FROM strings WHERE id = e.error_code_sid) AS error,
                   \(OwnPrincipals.matches("e.principal_id")) AS own
            FROM events e JOIN trails t ON t.id = e.trail_id LEFT JOIN principals p ON p.id = e.principal_id
            WHERE \(scope.condition) AND e.event_name_sid = ? AND e.trail_id IS NOT NULL
            ORDER BY e.event_time, e.id
            """, arguments: StatementArguments(scope.arguments + [scope.decrypt]))
        return rows.compactMap { row in
            guard let principal: String = row["principal"] else { return nil }
            return LogRead(time: row["time"], eventID: EventUID.text(row["uid"]), principal: principal,
                           object: row["object"] ?? "", trail: row["trail"], error: row["error"], own: row["own"])
        }
    }

    /// Successful reads of log files by `principal` in all of the index's history.
    func readsEver(_ db: Database, _ scope: FindingsScope, principal: String) throws -> Int {
        let ids = try FindingsScope.principalIDs(db, principal)
        guard !ids.isEmpty else { return 0 }
        // `callers` is keyed by key then caller: the keys that protect logs are few, so each
        // (key, session) pair is one seek, however many sessions a role had.
        return try Int.fetchOne(db, sql: """
            SELECT coalesce(sum(c.events), 0) FROM callers c
            WHERE c.key_id IN (SELECT DISTINCT key_id FROM activity_totals WHERE trail_id != 0)
              AND c.principal_id IN (\(ids.map(String.init).joined(separator: ",")))
              AND c.trail_id != 0 AND c.event_name_sid = ? AND c.error_code_sid = 0
            """, arguments: [scope.decrypt]) ?? 0
    }
}

/// `new-log-reader` and `log-read-denied`.
enum LogReadFindings {
    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        var findings: [Finding] = []
        for source in LogReadSource.allCases {
            let reads = try source.reads(db, scope)
            // The indexer's own principals read every log file: never a new reader.
            findings += try newReaders(db, scope, source, reads.filter { $0.error == nil && !$0.own })
            findings += denied(reads.filter { $0.error != nil })
        }
        return findings
    }

    /// Principals all of whose reads of log files ever are in the window: they read one for
    /// the first time in it. A role counts once for all its sessions.
    static func newReaders(_ db: Database, _ scope: FindingsScope, _ source: LogReadSource, _ reads: [LogRead]) throws -> [Finding] {
        var byPrincipal: [String: [LogRead]] = [:]
        for read in reads { byPrincipal[read.principal, default: []].append(read) }
        var findings: [Finding] = []
        for (principal, reads) in byPrincipal where try source.readsEver(db, scope, principal: principal) <= reads.count {
            let first = reads[0]
            let files = Set(reads.map(\.object)).count
            findings.append(Finding(
                .newLogReader, .high, time: isoTime(first.time), subject: first.object, principal: principal,
                detail: "\(principal) read CloudTrail log files for the first time: \(reads.count) read(s) of \(files) file(s) of \(first.trail)",
                eventIDs: reads.map(\.eventID), identity: [first.eventID]))
        }
        return findings
    }

    /// Failed reads, one finding per principal, trail and UTC day.
    static func denied(_ reads: [LogRead]) -> [Finding] {
        var groups: [[String]: [LogRead]] = [:]
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
