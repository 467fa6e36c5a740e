import GRDB

/// The listings of `kmsindex keys`, `trails` and `objects`: one row per key, trail or S3
/// location, with counts over the events the filter keeps, and first and last seen.
package enum Listings {
    /// Keys by ARN: aliases, events, failed calls, distinct callers, first and last seen.
    package static func keys(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        let counts = SummarySource.counts(filter), callers = SummarySource.callers(filter)
        let c = try filter.summaryConditions(db, failed: "a.error_code_sid != 0")
        return try fetchTable(
            db,
            sql: """
                WITH sums AS (
                    SELECT a.key_id, sum(a.events) AS events,
                           sum(CASE WHEN a.error_code_sid != 0 THEN a.events ELSE 0 END) AS failed,
                           min(a.first_time) AS first_time, max(a.last_time) AS last_time
                    FROM \(counts.sql) a WHERE \(c.sql) GROUP BY a.key_id
                ), who AS (
                    SELECT a.key_id, count(DISTINCT a.principal_id) AS principals
                    FROM \(callers.sql) a WHERE a.principal_id != 0 AND \(c.sql) GROUP BY a.key_id
                )
                SELECT k.arn AS key_arn, k.account_id AS account, k.region, k.key_id,
                       (SELECT group_concat(alias, ', ') FROM
                           (SELECT alias FROM kms_key_aliases a WHERE a.key_id = k.id ORDER BY alias)) AS aliases,
                       s.events, s.failed, coalesce(w.principals, 0) AS principals,
                       \(isoTimeSQL("s.first_time")) AS first_seen, \(isoTimeSQL("s.last_time")) AS last_seen
                FROM sums s JOIN kms_keys k ON k.id = s.key_id LEFT JOIN who w ON w.key_id = s.key_id
                ORDER BY k.arn\(filter.limitClause)
                """, arguments: StatementArguments(counts.arguments + c.values + callers.arguments + c.values))
    }

    /// Trails by ARN: events, log-file deliveries (`GenerateDataKey` naming an object), log
    /// files, reads (`Decrypt`), distinct readers, failed calls, first and last seen.
    package static func trails(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        let counts = SummarySource.counts(filter), callers = SummarySource.callers(filter)
        let c = try filter.summaryConditions(db, failed: "a.error_code_sid != 0")
        let decrypt = "(SELECT id FROM strings WHERE text = 'Decrypt')"
        var files = "SELECT trail_id, count(*) AS log_files FROM trail_files GROUP BY trail_id"
        var filesArguments: [(any DatabaseValueConvertible)?] = []
        if filter.readsDailyRows || !c.clauses.isEmpty {
            // Distinct log files are not a sum: counted from the daily rows the filter keeps.
            let objects = SummarySource(.objects, filter: filter)
            let x = try filter.summaryConditions(db, alias: "x", failed: "x.failed = 1")
            files = """
                SELECT x.trail_id, count(DISTINCT x.object_id) AS log_files
                FROM \(objects.sql) x JOIN s3_objects so ON so.id = x.object_id
                WHERE so.kind = 'object' AND x.trail_id != 0 AND \(x.sql)
                GROUP BY x.trail_id
                """
            filesArguments = objects.arguments + x.values
        }
        return try fetchTable(
            db,
            sql: """
                WITH files AS (\(files)), sums AS (
                    SELECT a.trail_id, sum(a.events) AS events,
                           sum(CASE WHEN a.delivered THEN a.events ELSE 0 END) AS deliveries,
                           sum(CASE WHEN a.event_name_sid = \(decrypt) THEN a.events ELSE 0 END) AS reads,
                           sum(CASE WHEN a.error_code_sid != 0 THEN a.events ELSE 0 END) AS failed,
                           min(a.first_time) AS first_time, max(a.last_time) AS last_time
                    FROM \(counts.sql) a WHERE \(c.sql) GROUP BY a.trail_id
                ), readers AS (
                    SELECT a.trail_id, count(DISTINCT a.principal_id) AS readers
                    FROM \(callers.sql) a
                    WHERE a.principal_id != 0 AND a.event_name_sid = \(decrypt) AND \(c.sql) GROUP BY a.trail_id
                )
                SELECT t.arn AS trail_arn, t.account_id AS account, t.region, t.name,
                       s.events, s.deliveries, coalesce(f.log_files, 0) AS log_files, s.reads,
                       coalesce(r.readers, 0) AS readers, s.failed,
                       \(isoTimeSQL("s.first_time")) AS first_seen, \(isoTimeSQL("s.last_time")) AS last_seen
                FROM sums s JOIN trails t ON t.id = s.trail_id
                LEFT JOIN files f ON f.trail_id = s.trail_id LEFT JOIN readers r ON r.trail_id = s.trail_id
                ORDER BY t.arn\(filter.limitClause)
                """, arguments: StatementArguments(filesArguments + counts.arguments + c.values + callers.arguments + c.values))
    }

    /// S3 locations, oldest first: kind, bucket, key, trail, writes (`GenerateDataKey`,
    /// `Encrypt`), reads (`Decrypt`), failed reads, distinct readers, first and last seen.
    /// `bucket` (a name, `s3://NAME` or a bucket ARN) and `trail` (an ARN or a trail name)
    /// narrow the list.
    package static func objects(_ db: Database, filter: QueryFilter, bucket: String? = nil, trail: String? = nil) throws -> ResultTable {
        try objectsQuery(db, filter: filter, bucket: bucket, trail: trail).table()
    }

    /// `objects`, ready to run: a year's 1.8 million locations are printed as they come
    /// (`ListingQuery.stream`) rather than held.
    package static func objectsQuery(_ db: Database, filter: QueryFilter, bucket: String? = nil, trail: String? = nil) throws
        -> ListingQuery
    {
        var c = try filter.summaryConditions(db, alias: "x", failed: "x.failed = 1")
        // The distinct readers of each object listed, from its events (few, through events_object).
        var r = try filter.eventConditions(db)
        if let bucket {
            let inBucket = "SELECT o.id FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE b.name = ?"
            c.add("x.object_id IN (\(inBucket))", bucketName(bucket))
            r.add("e.object_id IN (\(inBucket))", bucketName(bucket))
        }
        if let trail {
            let trails = "SELECT id FROM trails WHERE arn = ? OR name = ?"
            c.add("x.trail_id IN (\(trails))", trail, trail)
            r.add("e.trail_id IN (\(trails))", trail, trail)
        }
        var only = "1"
        if let limit = filter.limit, let ids = try objectsAtTimeEdge(db, filter: filter, conditions: r, count: limit) {
            let list = ids.map(String.init).joined(separator: ", ")
            only = "object_id IN (\(list))"
            c.add("x.object_id IN (\(list))")
        }
        let source = SummarySource(.objects, filter: filter, extraSummaryCondition: only)
        return try ListingQuery(
            db,
            sql: """
                WITH listed AS (
                    SELECT x.object_id, max((SELECT arn FROM trails WHERE id = x.trail_id)) AS trail_arn,
                           sum(CASE WHEN x.failed THEN 0 ELSE x.writes END) AS writes, sum(x.reads) AS reads,
                           sum(CASE WHEN x.failed THEN x.reads ELSE 0 END) AS failed_reads,
                           min(x.first_time) AS first_time, max(x.last_time) AS last_time
                    FROM \(source.sql) x
                    WHERE \(c.sql)
                    GROUP BY x.object_id
                ), page AS (
                    -- s3_locations' columns, from its tables: SQLite cannot flatten the view (an outer
                    -- join) into this join, and would build it whole.
                    SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key) AS object_arn, o.kind, b.name AS bucket,
                           CASE WHEN o.bucket_id IS NOT NULL THEN o.key END AS key, l.*
                    FROM listed l JOIN s3_objects o ON o.id = l.object_id LEFT JOIN s3_buckets b ON b.id = o.bucket_id
                    ORDER BY l.first_time, object_arn\(filter.limitClause)
                )
                -- Readers are counted for the rows listed only, after the sort.
                SELECT object_arn, kind, bucket, key, trail_arn, writes, reads, failed_reads,
                       (SELECT count(DISTINCT e.principal_id) FROM events e
                        WHERE e.object_id = p.object_id AND e.event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt')
                          AND \(r.sql)) AS readers,
                       \(isoTimeSQL("first_time")) AS first_seen, \(isoTimeSQL("last_time")) AS last_seen
                FROM page p ORDER BY first_time, object_arn
                """, arguments: StatementArguments(source.arguments + c.values + r.values))
    }

    /// The S3 locations first seen earliest (with `newestFirst`, last seen latest) among the
    /// events `e` that `conditions` keep: the first `count` distinct ones in time order (reverse
    /// time order), and any other seen in the same millisecond as the last of them, so that a
    /// listing sorted by first (last) seen and cut at `count` rows needs no other. Nil when
    /// that takes more than `budget` events (a filter that keeps few): the caller then groups
    /// every location.
    static func objectsAtTimeEdge(
        _ db: Database, filter: QueryFilter, conditions: SQLConditions, count: Int,
        newestFirst: Bool = false, budget: Int = 200_000
    ) throws -> [Int64]? {
        var bounds = SQLConditions()
        if let since = filter.since { bounds.add("u.event_time >= ?", StoredTime.milliseconds(since)) }
        if let until = filter.until { bounds.add("u.event_time < ?", StoredTime.milliseconds(until)) }
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT CASE WHEN e.object_id IS NOT NULL AND \(conditions.sql) THEN e.object_id END, u.event_time
                FROM event_uids u CROSS JOIN events e ON e.id = u.event_id
                WHERE \(bounds.sql) ORDER BY u.event_time\(newestFirst ? " DESC" : ""), u.event_uid\(newestFirst ? " DESC" : "")
                """, arguments: StatementArguments(conditions.values + bounds.values))
        var found: [Int64] = [], seen = Set<Int64>(), lastTime: Int64?, read = 0
        while let row = try rows.next() {
            let time: Int64 = row[1]
            if let lastTime, time != lastTime { return found }
            read += 1
            if read > budget { return nil }
            guard let id: Int64 = row[0], seen.insert(id).inserted else { continue }
            found.append(id)
            if found.count == count { lastTime = time }
        }
        return found
    }

    /// The bucket name in `s3://NAME`, `arn:aws:s3:::NAME` or `NAME`.
    static func bucketName(_ text: String) -> String {
        if text.hasPrefix("arn:") { return S3Location(arn: text).bucket ?? text }
        var name = Substring(text)
        if name.hasPrefix("s3://") { name = name.dropFirst(5) }
        while name.hasSuffix("/") { name = name.dropLast() }
        return String(name)
    }
}

/// A listing's query, prepared: its rows held as a `ResultTable`, or handed on as SQLite
/// yields them.
package struct ListingQuery {
    let statement: Statement
    let arguments: StatementArguments

    init(_ db: Database, sql: String, arguments: StatementArguments) throws {
        self.init(statement: try db.makeStatement(sql: sql), arguments: arguments)
    }

    init(statement: Statement, arguments: StatementArguments) {
        self.statement = statement
        self.arguments = arguments
    }

    package var columns: [String] { statement.columnNames }

    package func table() throws -> ResultTable { try fetchTable(statement, arguments: arguments) }

    /// Hands each row to `printer` as SQLite yields it, holding none.
    package func print(to printer: RowPrinter) throws {
        try statement.forEachRow(arguments) { printer.add(columnsOf: $0) }
    }
}

/// Runs a query and keeps its columns and typed values as a `ResultTable`. Blobs become
/// uppercase hex text.
func fetchTable(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> ResultTable {
    let statement = try db.makeStatement(sql: sql)
    return try fetchTable(statement, arguments: arguments)
}

/// Texts are read whole (GRDB's strings end at a NUL; see `FullText`).
func fetchTable(_ statement: Statement, arguments: StatementArguments = []) throws -> ResultTable {
    var cells: [[Cell]] = []
    let columns = Int32(statement.columnCount)
    try statement.forEachRow(arguments) { handle in cells.append((0..<columns).map { RowPrinter.cell(handle, $0) }) }
    return ResultTable(columns: statement.columnNames, cells: cells)
}

extension Cell {
    /// The cell of a database value.
    init(databaseValue value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case let .int64(n): self = .integer(n)
        case let .double(x): self = .real(x)
        case let .string(s): self = .text(s)
        case let .blob(data):
            let digits = Array("0123456789ABCDEF")
            self = .text(String(data.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }))
        }
    }
}
