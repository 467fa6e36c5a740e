import GRDB

/// The answer to `kmsindex key KEY`.
package enum KeyReportAnswer: Sendable, Equatable {
    /// The key's story, in sections (see `KeyReport.sectionNames`).
    case report(KnownKey, SectionedResult)
    /// No key in the index matches.
    case unknown
    /// The text names several keys (an alias that moved, a key id in two accounts).
    case ambiguous([KnownKey])
}

/// One CMK's story: what it is called, how much it is used, by whom, on what, what failed,
/// and what was done to the key itself.
package struct KeyReport {
    let db: Database

    package init(_ db: Database) { self.db = db }

    /// The sections, in order: `key` (one summary row), `aliases`, `daily` (calls per day and
    /// operation), `principals` (top callers), `trails`, `objects` (S3 locations named, most
    /// recently used first), `failures` (failed calls, newest first), `lifecycle` (key
    /// management events, oldest first).
    package static let sectionNames = ["key", "aliases", "daily", "principals", "trails", "objects", "failures", "lifecycle"]

    /// The eventID of event `e` (SQL), which orders calls of one millisecond as in every index of
    /// the same logs: row ids follow the order files were read in, and a merge's shards.
    static let eventUID = "(SELECT u.event_uid FROM event_uids u WHERE u.event_time = e.event_time AND u.event_id = e.id)"

    /// Rows of `principals`, `objects` and `failures` without `--limit`.
    package static let defaultListLimit = 20

    /// Key management operations shown under `lifecycle` (with any other call CloudTrail
    /// marks as not read-only).
    package static let lifecycleOperations = [
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
    package func answer(_ query: String, filter: QueryFilter) throws -> KeyReportAnswer {
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

    /// Calls in the filter's window that named `query` as their key (an alias, or a key id or
    /// ARN the index never tied to a key) in a record naming no key ARN: records from before late
    /// 2022 may have no `resources`, and an alias alone does not say which key it pointed at
    /// then. The report of a key leaves them out; `--key` filters count them.
    package func callsNamingOnly(_ query: String, filter: QueryFilter) throws -> Int {
        var only = filter
        only.key = nil
        if only.fromEvents {
            var e = try only.eventConditions(db)
            e.add("e.key_id IS NULL")
            e.add(try KeyLookup.requestedCondition(db, query, alias: "e"))
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM events e WHERE \(e.sql)", arguments: e.arguments) ?? 0
        }
        let source = SummarySource.counts(only)
        var a = try only.summaryConditions(db, failed: "a.error_code_sid != 0")
        a.add("a.key_id = 0")
        a.add(try KeyLookup.requestedCondition(db, query, alias: "a"))
        return try Int.fetchOne(
            db, sql: "SELECT coalesce(sum(a.events), 0) FROM \(source.sql) a WHERE \(a.sql)",
            arguments: StatementArguments(source.arguments + a.values)) ?? 0
    }

    /// SQL: conditions that every `usage_daily` row of the key `id` meets, from its all-time
    /// totals: its days, accounts and regions. The table's key starts with those three, so
    /// SQLite seeks the key's rows in each day rather than reading every key's (a year: 478,000
    /// rows, 40 ms, for a key's 2,000). "1" (no condition: the rows are read as they come) when
    /// that would be more than `mostDailySeeks` seeks: a key's events can name any time, and a
    /// seek per day of thousands of years would cost more than the scan.
    static func usageRows(ofKey id: Int64, _ db: Database) throws -> String {
        let totals = "FROM activity_totals WHERE key_id = \(id)"
        let span = try Row.fetchOne(
            db,
            sql: """
                SELECT min(\(DailySummaries.day("first_time"))), max(\(DailySummaries.day("last_time"))),
                       count(DISTINCT recipient_account_sid) * count(DISTINCT region_sid) \(totals)
                """)
        guard let first: Int64 = span?[0], let last: Int64 = span?[1], let places: Int64 = span?[2], last >= first else {
            return "1"
        }
        let seeks = (last - first + 1).multipliedReportingOverflow(by: places)
        guard !seeks.overflow, seeks.partialValue <= mostDailySeeks else { return "1" }
        return """
            key_id = \(id)
            AND recipient_account_sid IN (SELECT recipient_account_sid \(totals))
            AND region_sid IN (SELECT region_sid \(totals))
            AND day IN (WITH RECURSIVE d(day) AS (SELECT \(first) UNION ALL SELECT day + 1 FROM d WHERE day < \(last))
                        SELECT day FROM d)
            """
    }

    /// Seeks of `usage_daily` past which the daily section reads the table as it comes.
    static let mostDailySeeks: Int64 = 100_000

    /// Events of a key up to which its S3 locations are read from its events, not its summaries.
    static let quietKeyEvents = 50_000

    func report(_ key: KnownKey, filter: QueryFilter) throws -> SectionedResult {
        var unkeyed = filter
        unkeyed.key = nil
        // Counts come from the summaries and their rollups (without the caller where it is not
        // needed, over all time when there is no window); events only for failures and lifecycle.
        let counts = SummarySource.counts(unkeyed)
        // With --from-events no summary is read, the totals that bound the seeks included.
        let daily = SummarySource(
            .usage, filter: unkeyed, extraSummaryCondition: filter.fromEvents ? "1" : try Self.usageRows(ofKey: key.id, db))
        let callers = SummarySource.callers(unkeyed)
        var a = try unkeyed.summaryConditions(db, failed: "a.error_code_sid != 0")
        a.add("a.key_id = ?", key.id)
        let objects = SummarySource(.objects, filter: unkeyed)
        var x = try unkeyed.summaryConditions(db, alias: "x", failed: "x.failed = 1")
        x.add("x.key_id = ?", key.id)
        var e = try unkeyed.eventConditions(db)
        e.add("e.key_id = ?", key.id)
        // Failed calls through the (covering) partial index of failures, not the key's index:
        // a busy key has millions of events, and few failures.
        // A refused ReEncrypt is the failure of its source key too (`kms:ReEncryptFrom`).
        var f = try unkeyed.eventConditions(db)
        f.add("(+e.key_id = ? OR e.source_key_id = ?)", key.id, key.id)
        // The locations the objects list can show: a quiet key's all, through its index; a busy
        // key's latest, walking its events back in time.
        let keyEvents =
            try Int.fetchOne(
                db,
                sql: filter.fromEvents
                    ? "SELECT count(*) FROM events WHERE key_id = ?"
                    : "SELECT coalesce(sum(events), 0) FROM activity_totals WHERE key_id = ?",
                arguments: [key.id]) ?? 0
        let latestIDs =
            keyEvents <= Self.quietKeyEvents
            ? try Int64.fetchAll(
                db, sql: "SELECT DISTINCT e.object_id FROM events e WHERE \(e.sql) AND e.object_id IS NOT NULL",
                arguments: e.arguments)
            : try Listings.objectsAtTimeEdge(
                db, filter: unkeyed, conditions: e,
                count: filter.limit ?? Self.defaultListLimit, newestFirst: true)
        // A quiet key's locations are all known: their number needs no summary.
        let objectCount: (sql: String, arguments: [(any DatabaseValueConvertible)?]) =
            keyEvents <= Self.quietKeyEvents
            ? ("\(latestIDs?.count ?? 0)", [])
            : ("(SELECT count(DISTINCT x.object_id) FROM \(objects.sql) x WHERE \(x.sql))", objects.arguments + x.values)
        let latestList = latestIDs.map { "object_id IN (\($0.map(String.init).joined(separator: ", ")))" }
        let latestOnly = latestList.map { "x." + $0 } ?? "1"
        let latest = SummarySource(.objects, filter: unkeyed, extraSummaryCondition: latestList ?? "1")
        let list = " LIMIT \(filter.limit ?? Self.defaultListLimit)"
        let all = filter.limitClause
        let decrypt = "(SELECT id FROM strings WHERE text = 'Decrypt')"
        let failed = "sum(CASE WHEN a.error_code_sid != 0 THEN a.events ELSE 0 END)"
        let lifecycle = Self.lifecycleOperations.map { "'\($0)'" }.joined(separator: ", ")
        let countsArguments = counts.arguments + a.values, callersArguments = callers.arguments + a.values
        func text(_ sid: String) -> String { "(SELECT text FROM strings WHERE id = \(sid))" }

        func section(_ name: String, _ sql: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> SectionedResult.Section {
            SectionedResult.Section(name, try fetchTable(db, sql: sql, arguments: StatementArguments(arguments)))
        }
        return SectionedResult([
            try section(
                "key",
                """
                SELECT k.arn AS key_arn, k.account_id AS account, k.region, k.key_id,
                       coalesce(s.events, 0) AS events, coalesce(s.failed, 0) AS failed,
                       coalesce(s.principals, 0) AS principals,
                       \(objectCount.sql) AS objects,
                       coalesce(s.trails, 0) AS trails, s.first_seen, s.last_seen
                FROM kms_keys k LEFT JOIN (
                    SELECT sum(a.events) AS events, \(failed) AS failed,
                           (SELECT count(DISTINCT a.principal_id) FROM \(callers.sql) a WHERE a.principal_id != 0 AND \(a.sql)) AS principals,
                           count(DISTINCT nullif(a.trail_id, 0)) AS trails,
                           \(isoTimeSQL("min(a.first_time)")) AS first_seen, \(isoTimeSQL("max(a.last_time)")) AS last_seen
                    FROM \(counts.sql) a WHERE \(a.sql) HAVING count(*) > 0) s
                WHERE k.id = ?
                """, objectCount.arguments + callersArguments + countsArguments + [key.id]),
            try section(
                "aliases",
                """
                SELECT alias, first_seen, last_seen FROM kms_key_aliases WHERE key_id = ? ORDER BY alias
                """, [key.id]),
            try section(
                "daily",
                """
                SELECT date(a.day * 86400, 'unixepoch') AS day, \(text("a.event_name_sid")) AS operation,
                       sum(a.events) AS calls, \(failed) AS failed
                FROM \(daily.sql) a WHERE \(a.sql)
                GROUP BY 1, 2 ORDER BY 1, 2\(all)
                """, daily.arguments + a.values),
            // Summed per principal row by SQLite, then grouped by the caller's phrase here.
            SectionedResult.Section(
                "principals",
                try CallersByPhrase(source: callers.sql, condition: a.sql, arguments: callersArguments)
                    .top(db, limit: filter.limit ?? Self.defaultListLimit)),
            try section(
                "trails",
                """
                SELECT t.arn AS trail_arn,
                       sum(CASE WHEN a.delivered THEN a.events ELSE 0 END) AS deliveries,
                       sum(CASE WHEN a.event_name_sid = \(decrypt) THEN a.events ELSE 0 END) AS reads,
                       \(isoTimeSQL("min(a.first_time)")) AS first_seen, \(isoTimeSQL("max(a.last_time)")) AS last_seen
                FROM \(counts.sql) a JOIN trails t ON t.id = a.trail_id
                WHERE \(a.sql)
                GROUP BY t.id ORDER BY t.arn\(all)
                """, countsArguments),
            // The ARN is made only for the rows that can be listed: those last seen no earlier than
            // the list's last row (ties sort by ARN); those rows' locations are found by walking
            // the key's events back in time when that is quick.
            try section(
                "objects",
                """
                WITH grouped AS MATERIALIZED (
                    SELECT x.object_id, sum(CASE WHEN x.failed THEN 0 ELSE x.writes END) AS writes, sum(x.reads) AS reads,
                           sum(CASE WHEN x.failed THEN x.reads ELSE 0 END) AS failed_reads,
                           min(x.first_time) AS first_time, max(x.last_time) AS last_time
                    FROM \(latest.sql) x WHERE \(x.sql) AND \(latestOnly) GROUP BY x.object_id
                )
                SELECT \(objectARNSQL("g.object_id")) AS object_arn, (SELECT kind FROM s3_objects WHERE id = g.object_id) AS kind,
                       g.writes, g.reads, g.failed_reads,
                       \(isoTimeSQL("g.first_time")) AS first_seen, \(isoTimeSQL("g.last_time")) AS last_seen
                FROM grouped g
                WHERE g.last_time >= coalesce((SELECT last_time FROM grouped ORDER BY last_time DESC\(list) OFFSET \((filter.limit ?? Self.defaultListLimit) - 1)), -9223372036854775808)
                ORDER BY g.last_time DESC, object_arn\(list)
                """, latest.arguments + x.values),
            try section(
                "failures",
                """
                SELECT \(isoTimeSQL("e.event_time")) AS event_time, \(text("e.event_name_sid")) AS operation,
                       \(principalSQL) AS principal, \(text("e.error_code_sid")) AS error_code, e.error_message,
                       \(objectARNSQL("e.object_id")) AS object_arn
                FROM events e LEFT JOIN principals p ON p.id = e.principal_id
                WHERE \(f.sql) AND e.error_code_sid IS NOT NULL
                ORDER BY e.event_time DESC, \(Self.eventUID) DESC\(list)
                """, f.values),
            // Key management is never read-only: the partial index events_key_changes holds it.
            try section(
                "lifecycle",
                """
                SELECT \(isoTimeSQL("e.event_time")) AS event_time, \(text("e.event_name_sid")) AS operation,
                       \(principalSQL) AS principal, coalesce(\(text("e.error_code_sid")), 'OK') AS result,
                       \(text("e.requested_key_sid")) AS requested_key
                FROM events e LEFT JOIN principals p ON p.id = e.principal_id
                WHERE \(e.sql) AND e.read_only IS NOT 1
                  AND (e.event_name_sid IN (SELECT id FROM strings WHERE text IN (\(lifecycle))) OR e.read_only = 0)
                ORDER BY e.event_time, \(Self.eventUID)\(all)
                """, e.values),
        ])
    }
}
