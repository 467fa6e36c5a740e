import Foundation
import GRDB

/// The indexer's own principals (`own_principals`): the role or user that syncs the log files
/// reads every one of them, and who-read and reads set those reads apart.
package enum OwnPrincipals {
    /// A refused ARN: what `own-principal add` takes is an IAM role, user or session ARN.
    package struct InvalidARN: Error, CustomStringConvertible {
        package var arn: String
        package var description: String {
            "not an IAM role, user or assumed-role session ARN: '\(arn)' (give arn:PARTITION:iam::ACCOUNT:role/NAME, "
                + "arn:PARTITION:iam::ACCOUNT:user/NAME or arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION)"
        }
    }

    /// Stores `arn`; false when it was stored already.
    package static func add(_ db: Database, arn: String, now: Date = Date()) throws -> Bool {
        guard isPrincipalARN(arn) else { throw InvalidARN(arn: arn) }
        try db.execute(
            sql: "INSERT OR IGNORE INTO own_principals (arn, added_at) VALUES (?, ?)",
            arguments: [arn, ISO8601DateFormatter().string(from: now)])
        return db.changesCount > 0
    }

    /// Removes `arn`; false when it was not stored.
    package static func remove(_ db: Database, arn: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM own_principals WHERE arn = ?", arguments: [arn])
        return db.changesCount > 0
    }

    /// The stored ARNs with when each was added, by ARN.
    package static func list(_ db: Database) throws -> [(arn: String, addedAt: String)] {
        try Row.fetchAll(db, sql: "SELECT arn, added_at FROM own_principals ORDER BY arn").map { ($0[0], $0[1]) }
    }

    /// `arn:P:iam::A:role/…`, `arn:P:iam::A:user/…` or `arn:P:sts::A:assumed-role/…/…`: what a
    /// principal's `arn` or `role_arn` can be. Anything else would match nothing, silently.
    static func isPrincipalARN(_ arn: String) -> Bool {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[4].isEmpty else { return false }
        switch parts[2] {
        case "iam": return (parts[5].hasPrefix("role/") || parts[5].hasPrefix("user/")) && !parts[5].hasSuffix("/")
        case "sts": return parts[5].hasPrefix("assumed-role/") && parts[5].split(separator: "/").count >= 3
        default: return false
        }
    }

    /// SQL true when the principal id `column` is one of the own principals: its ARN is stored,
    /// or, for an assumed role, its role's ARN. Uncorrelated, so SQLite computes the set once,
    /// through the indexes of principals' ARNs and roles (`PrincipalRows`). False, not NULL,
    /// for an event with no caller (so that `NOT` keeps it).
    package static func matches(_ column: String) -> String {
        """
        coalesce(\(column) IN (\(PrincipalRows.ids(withARN: "o.arn", source: "own_principals o"))
                       UNION ALL \(PrincipalRows.ids(withRoleARN: "o.arn", source: "own_principals o"))), 0)
        """
    }

    /// A caller that decrypted 90% or more of the CloudTrail log files within 48 hours of their
    /// delivery: likely the indexer's own sync (`stats`).
    package struct Candidate: Sendable, Equatable {
        /// The role ARN for assumed roles (all sessions together), else the principal's ARN.
        package var arn: String
        package var filesRead: Int
        package var files: Int
        package var alreadyOwn: Bool
    }

    /// Log files a caller must have read to be named: one or two reads cannot tell a sync from
    /// a person (the sample shipped, one log file read once by an administrator, named them).
    static let minimumFilesRead = 3

    /// The likeliest own principal, if any caller reaches 90% of at least `minimumFilesRead`
    /// files of one trail (a sync role per account, each reading its own trail's bucket, reads
    /// each a share of all the files). Looks at the log files delivered in the last `days` days
    /// of deliveries, so that its cost does not grow with history. A file delivered less than
    /// 48 hours before the index's last event that a caller has not read yet does not count
    /// against it: its window is still open. Of several, the one that read the most files.
    package static func likely(_ db: Database, days: Int64 = 7) throws -> Candidate? {
        let hours48: Int64 = 48 * 3_600_000
        guard let last = try Int64.fetchOne(db, sql: "SELECT max(event_time) FROM event_uids") else { return nil }
        let from = last - days * 86_400_000 - hours48
        let rows = try Row.fetchAll(
            db,
            sql: """
                WITH files AS (
                    SELECT e.object_id AS object_id, min(e.event_time) AS delivered, min(e.trail_id) AS trail_id
                    FROM event_uids u CROSS JOIN events e ON e.id = u.event_id
                    WHERE u.event_time >= :from AND e.trail_id IS NOT NULL AND e.object_id IS NOT NULL
                      AND e.event_name_sid = (SELECT id FROM strings WHERE text = 'GenerateDataKey')
                      AND e.error_code_sid IS NULL
                      AND (SELECT kind FROM s3_objects WHERE id = e.object_id) = 'object'
                    GROUP BY e.object_id),
                reads AS (
                    SELECT DISTINCT f.object_id, f.trail_id, f.delivered, coalesce(p.role_arn, p.arn) AS caller
                    FROM files f CROSS JOIN events d ON d.object_id = f.object_id
                    JOIN principals p ON p.id = d.principal_id
                    WHERE d.event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt') AND d.error_code_sid IS NULL
                      AND d.event_time BETWEEN f.delivered AND f.delivered + :window
                      AND coalesce(p.role_arn, p.arn) IS NOT NULL),
                trails AS (
                    SELECT trail_id, count(*) AS files, sum(delivered + :window > :last) AS open FROM files GROUP BY trail_id)
                SELECT r.caller, count(*) AS read, t.files - t.open + sum(r.delivered + :window > :last) AS files,
                       EXISTS (SELECT 1 FROM own_principals WHERE arn = r.caller) AS own
                FROM reads r JOIN trails t ON t.trail_id = r.trail_id
                GROUP BY r.caller, r.trail_id
                ORDER BY read DESC, r.caller
                """, arguments: ["from": from, "window": hours48, "last": last])
        for row in rows {
            let read: Int = row["read"], files: Int = row["files"]
            guard read >= minimumFilesRead, read * 10 >= files * 9 else { continue }
            return Candidate(arn: row["caller"], filesRead: read, files: files, alreadyOwn: row["own"])
        }
        return nil
    }
}

extension OwnPrincipals {
    /// The rows a table shows: all of them with `all`, else those not made by own principals,
    /// and how many reads were left out (a read recorded by S3 and KMS, one `readID`, once).
    package static func visible(_ rows: [EventRow], all: Bool) -> (rows: [EventRow], hidden: Int) {
        if all { return (rows, 0) }
        let hidden = rows.filter(\.ownRead)
        let pairs = Set(hidden.compactMap(\.readID))
        return (rows.filter { !$0.ownRead }, hidden.filter { $0.readID == nil }.count + pairs.count)
    }

    /// The note a table prints on stderr for `hidden` rows left out.
    package static func hiddenNote(_ hidden: Int) -> String {
        "\(hidden) read\(hidden == 1 ? "" : "s") by the indexer's own principals left out (--all shows them)"
    }
}
