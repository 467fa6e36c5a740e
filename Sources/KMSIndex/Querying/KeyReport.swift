import GRDB

/// The answer to `kmsindex key KEY`.
public enum KeyReportAnswer: Sendable, Equatable {
    /// The key's story, in sections (see `KeyReport.sectionNames`).
    case report(KnownKey, SectionedResult)
    /// No key in the index matches.
    case unknown
    /// The text names several keys (an alias that moved, a key id in two accounts).
    case ambiguous([KnownKey])
}

/// One CMK's story: what it is called, how much it is used, by whom, on what, what failed,
/// and what was done to the key itself.
public struct KeyReport {
    let db: Database

    public init(_ db: Database) { self.db = db }

    /// The sections, in order: `key` (one summary row), `aliases`, `daily` (calls per day and
    /// operation), `principals` (top callers), `trails`, `objects` (S3 locations named, most
    /// recently used first), `failures` (failed calls, newest first), `lifecycle` (key
    /// management events, oldest first).
    public static let sectionNames = ["key", "aliases", "daily", "principals", "trails", "objects", "failures", "lifecycle"]

    /// Rows of `principals`, `objects` and `failures` without `--limit`.
    public static let defaultListLimit = 20

    /// Key management operations shown under `lifecycle` (with any other call CloudTrail
    /// marks as not read-only).
    public static let lifecycleOperations = [
        "CreateKey", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "DeleteKey",
        "PutKeyPolicy", "CreateGrant", "RetireGrant", "RevokeGrant", "CreateAlias", "UpdateAlias",
        "DeleteAlias", "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand", "RotateKey",
        "ImportKeyMaterial", "DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial", "UpdateKeyDescription",
        "TagResource", "UntagResource", "ReplicateKey", "UpdatePrimaryRegion", "SynchronizeMultiRegionKey",
    ]

    /// The report for the key `query` names (see `KeyLookup`), over the events `filter`
    /// keeps. `filter.key` is ignored; `filter.limit` caps every list section. An alias is
    /// unique only within an account and region: when it names several keys,
    /// `filter.account` and `filter.region` choose among them.
    public func answer(_ query: String, filter: QueryFilter) throws -> KeyReportAnswer {
        var keys = try KeyLookup.resolve(db, query)
        if keys.count > 1 {
            let chosen = keys.filter { key in
                let arn = ARN(key.arn)
                return (filter.account == nil || arn?.account == filter.account) && (filter.region == nil || arn?.region == filter.region)
            }
            if !chosen.isEmpty { keys = chosen }
        }
        guard let key = keys.first else { return .unknown }
        if keys.count > 1 { return .ambiguous(keys) }
        return .report(key, try report(key, filter: filter))
    }

    func report(_ key: KnownKey, filter: QueryFilter) throws -> SectionedResult {
        var unkeyed = filter
        unkeyed.key = nil
        var c = try unkeyed.conditions(db)
        c.add("e.key_id = ?", key.id)
        let scope = c.sql
        let list = " LIMIT \(filter.limit ?? Self.defaultListLimit)"
        let all = filter.limitClause
        let principal = principalSQL
        let lifecycle = Self.lifecycleOperations.map { "'\($0)'" }.joined(separator: ", ")

        func section(_ name: String, _ sql: String, _ arguments: StatementArguments? = nil) throws -> SectionedResult.Section {
            SectionedResult.Section(name, try fetchTable(db, sql: sql, arguments: arguments ?? c.arguments))
        }
        return SectionedResult([
            try section("key", """
                SELECT k.arn AS key_arn, k.account_id AS account, k.region, k.key_id,
                       count(e.id) AS events, count(e.error_code) AS failed,
                       count(DISTINCT e.principal_id) AS principals, count(DISTINCT e.object_id) AS objects,
                       count(DISTINCT e.trail_id) AS trails,
                       min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
                FROM kms_keys k LEFT JOIN kms_events e ON e.key_id = k.id AND \(scope)
                WHERE k.id = ?
                """, StatementArguments(c.values + [key.id])),
            try section("aliases", """
                SELECT alias, first_seen, last_seen FROM kms_key_aliases WHERE key_id = ? ORDER BY alias
                """, [key.id]),
            try section("daily", """
                SELECT substr(e.event_time, 1, 10) AS day, e.event_name AS operation,
                       count(*) AS calls, count(e.error_code) AS failed
                FROM kms_events e WHERE \(scope)
                GROUP BY day, operation ORDER BY day, operation\(all)
                """),
            try section("principals", """
                SELECT \(principal) AS principal, p.type AS principal_type, count(*) AS calls,
                       count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END) AS decrypts,
                       count(e.error_code) AS failed, min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
                FROM kms_events e LEFT JOIN principals p ON p.id = e.principal_id WHERE \(scope)
                GROUP BY principal ORDER BY calls DESC, principal\(list)
                """),
            try section("trails", """
                SELECT t.arn AS trail_arn,
                       count(CASE WHEN e.event_name = 'GenerateDataKey' AND o.kind = 'object' THEN 1 END) AS deliveries,
                       count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END) AS reads,
                       min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
                FROM kms_events e JOIN trails t ON t.id = e.trail_id LEFT JOIN s3_locations o ON o.id = e.object_id
                WHERE \(scope)
                GROUP BY t.id ORDER BY t.arn\(all)
                """),
            try section("objects", """
                SELECT o.arn AS object_arn, o.kind,
                       count(CASE WHEN e.event_name IN (\(Listings.writeOperations)) THEN 1 END) AS writes,
                       count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END) AS reads,
                       count(CASE WHEN e.event_name = 'Decrypt' AND e.error_code IS NOT NULL THEN 1 END) AS failed_reads,
                       min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
                FROM kms_events e JOIN s3_locations o ON o.id = e.object_id WHERE \(scope)
                GROUP BY o.id ORDER BY last_seen DESC, o.arn\(list)
                """),
            try section("failures", """
                SELECT e.event_time, e.event_name AS operation, \(principal) AS principal,
                       e.error_code, e.error_message, o.arn AS object_arn
                FROM kms_events e LEFT JOIN principals p ON p.id = e.principal_id
                LEFT JOIN s3_locations o ON o.id = e.object_id
                WHERE \(scope) AND e.error_code IS NOT NULL
                ORDER BY e.event_time_ms DESC, e.id DESC\(list)
                """),
            try section("lifecycle", """
                SELECT e.event_time, e.event_name AS operation, \(principal) AS principal,
                       coalesce(e.error_code, 'OK') AS result, e.requested_key
                FROM kms_events e LEFT JOIN principals p ON p.id = e.principal_id
                WHERE \(scope) AND (e.event_name IN (\(lifecycle)) OR e.read_only = 0)
                ORDER BY e.event_time_ms, e.id\(all)
                """),
        ])
    }
}
