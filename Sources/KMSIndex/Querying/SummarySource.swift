import GRDB

/// Rows of a daily summary (`activity_daily`, `object_daily`) over the time window of a
/// filter: the days the window covers whole are read from the summary, the part days at
/// either end are grouped the same way from their events (found through `event_uids`, which
/// orders events in time). Either way the rows have the summary's columns, absent ids as 0.
struct SummarySource {
    enum Table {
        /// Per caller (`activity_daily`), without the caller (`usage_daily`), per S3 location (`object_daily`).
        case activity, usage, objects

        var name: String {
            switch self {
            case .activity: return "activity_daily"
            case .usage: return "usage_daily"
            case .objects: return "object_daily"
            }
        }

        var columns: String {
            switch self {
            case .activity: return DailySummaries.activityKey + ", events, first_time, last_time"
            case .usage: return DailySummaries.usageKey + ", events, first_time, last_time"
            case .objects: return DailySummaries.objectKey + ", events, writes, reads, first_time, last_time"
            }
        }

        func select(from: String, where condition: String) -> String {
            switch self {
            case .activity: return DailySummaries.activitySelect(from: from, where: condition)
            case .usage:
                return DailySummaries.rollup(
                    DailySummaries.usageKey,
                    from: "(\(DailySummaries.activitySelect(from: from, where: condition)))")
            case .objects: return DailySummaries.objectSelect(from: from, where: condition)
            }
        }
    }

    /// A derived table (in parentheses) of the summary rows, and its arguments.
    var sql: String
    var arguments: [(any DatabaseValueConvertible)?]

    init(_ table: Table, since: Int64?, until: Int64?, extraSummaryCondition: String = "1", fromEvents: Bool = false) {
        let day = DailySummaries.dayMilliseconds
        // Whole days: from the first day that starts at or after `since`, to the day `until` is in.
        let firstWhole = since.map { DailySummaries.day(ofMilliseconds: $0 + day - 1) }
        let endWhole = until.map { DailySummaries.day(ofMilliseconds: $0) }
        var parts: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func raw(_ lower: Int64?, _ upper: Int64?) {
            var bounds: [String] = []
            if let lower { bounds.append("u.event_time >= ?"); arguments.append(lower) }
            if let upper { bounds.append("u.event_time < ?"); arguments.append(upper) }
            parts.append(
                table.select(
                    from: "event_uids u CROSS JOIN events e ON e.id = u.event_id",
                    where: bounds.isEmpty ? "true" : bounds.joined(separator: " AND ")))
        }
        if fromEvents {
            raw(since, until)  // every row grouped from the events, none read from the summary
        } else if let firstWhole, let endWhole, firstWhole >= endWhole {
            raw(since, until)  // the window lies within one or two days: all of it from events
        } else {
            var whole = "SELECT \(table.columns) FROM \(table.name) WHERE \(extraSummaryCondition)"
            if let firstWhole { whole += " AND day >= ?"; arguments.append(firstWhole) }
            if let endWhole { whole += " AND day < ?"; arguments.append(endWhole) }
            parts.append(whole)
            if let since, let firstWhole, since < firstWhole * day { raw(since, firstWhole * day) }
            if let until, let endWhole, endWhole * day < until { raw(endWhole * day, until) }
        }
        self.sql = "(" + parts.joined(separator: "\nUNION ALL\n") + ")"
        self.arguments = arguments
    }

    init(_ table: Table, filter: QueryFilter, extraSummaryCondition: String = "1") {
        self.init(
            table, since: filter.since.flatMap(StoredTime.milliseconds),
            until: filter.until.flatMap(StoredTime.milliseconds), extraSummaryCondition: extraSummaryCondition,
            fromEvents: filter.fromEvents)
    }

    /// Every row of an all-time rollup.
    private init(wholeTable name: String) {
        sql = "(SELECT * FROM \(name))"
        arguments = []
    }

    /// Event counts without the caller, with usage_daily's columns but the day: over all time,
    /// `activity_totals`; in a time window, `usage_daily` and the part days' events.
    static func counts(_ filter: QueryFilter) -> SummarySource {
        filter.readsDailyRows ? SummarySource(.usage, filter: filter) : SummarySource(wholeTable: "activity_totals")
    }

    /// Rows with a caller (`principal_id`, 0 when absent), to count distinct callers: over all
    /// time, `callers`; in a time window, `activity_daily` and the part days' events.
    static func callers(_ filter: QueryFilter) -> SummarySource {
        filter.readsDailyRows ? SummarySource(.activity, filter: filter) : SummarySource(wholeTable: "callers")
    }
}

extension QueryFilter {
    var hasTimeWindow: Bool { since != nil || until != nil }
    /// Whether counts come from daily rows (a window's, or every event's) rather than the
    /// all-time rollups.
    var readsDailyRows: Bool { hasTimeWindow || fromEvents }
}

extension QueryFilter {
    /// The conditions of this filter, but time, on summary rows `a` (ids, 0 when absent).
    /// `failed` is the condition that keeps failed calls only.
    func summaryConditions(_ db: Database, alias a: String = "a", failed: String) throws -> SQLConditions {
        var c = SQLConditions()
        if let account { c.add("\(a).recipient_account_sid = ?", try stringID(db, account)) }
        if let region { c.add("\(a).region_sid = ?", try stringID(db, region)) }
        if let key { c.merge(try KeyLookup.summaryCondition(db, key, alias: a)) }
        if errorsOnly { c.add(failed) }
        return c
    }
}

/// The id of a text in `strings`, or -1 (which no row has) when it is not there.
func stringID(_ db: Database, _ text: String) throws -> Int64 {
    try Int64.fetchOne(db, sql: "SELECT id FROM strings WHERE text = ?", arguments: [text]) ?? -1
}

/// A time in milliseconds as the views show it: `2015-11-11T21:20:52Z`, `…:52.12Z` with a
/// fraction; floored, so that a time before 1970 is written as after it (`…:59.5Z`).
func isoTimeSQL(_ ms: String) -> String {
    """
    (strftime('%Y-%m-%dT%H:%M:%S', ((\(ms)) - ((\(ms)) % 1000 + 1000) % 1000) / 1000, 'unixepoch') ||
        CASE WHEN (\(ms)) % 1000 = 0 THEN 'Z' ELSE rtrim('.' || printf('%03d', ((\(ms)) % 1000 + 1000) % 1000), '0') || 'Z' END)
    """
}

/// The ARN of the S3 location whose id is `id`, as `s3_locations` shows it. A subquery, not a
/// join with the view: SQLite cannot flatten a view with an outer join into an outer join, and
/// builds the whole view instead.
func objectARNSQL(_ id: String) -> String {
    "(SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key) FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = \(id))"
}
