import GRDB

/// The listings of `kmsindex keys`, `trails` and `objects`: one row per key, trail or S3
/// location, with counts over the events the filter keeps, and first and last seen.
public enum Listings {
    /// Keys by ARN: aliases, events, failed calls, distinct callers, first and last seen.
    public static func keys(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        let source = SummarySource(.activity, filter: filter)
        let c = try filter.summaryConditions(db, failed: "a.error_code_sid != 0")
        return try fetchTable(db, sql: """
            SELECT k.arn AS key_arn, k.account_id AS account, k.region, k.key_id,
                   (SELECT group_concat(alias, ', ') FROM
                       (SELECT alias FROM kms_key_aliases a WHERE a.key_id = k.id ORDER BY alias)) AS aliases,
                   sum(a.events) AS events, sum(CASE WHEN a.error_code_sid != 0 THEN a.events ELSE 0 END) AS failed,
                   count(DISTINCT nullif(a.principal_id, 0)) AS principals,
                   \(isoTimeSQL("min(a.first_time)")) AS first_seen, \(isoTimeSQL("max(a.last_time)")) AS last_seen
            FROM \(source.sql) a JOIN kms_keys k ON k.id = a.key_id
            WHERE \(c.sql)
            GROUP BY k.id ORDER BY k.arn\(filter.limitClause)
            """, arguments: StatementArguments(source.arguments + c.values))
    }

    /// Trails by ARN: events, log-file deliveries (`GenerateDataKey` naming an object), log
    /// files, reads (`Decrypt`), distinct readers, failed calls, first and last seen.
    public static func trails(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        let activity = SummarySource(.activity, filter: filter)
        let c = try filter.summaryConditions(db, failed: "a.error_code_sid != 0")
        let objects = SummarySource(.objects, filter: filter)
        let x = try filter.summaryConditions(db, alias: "x", failed: "x.failed = 1")
        let decrypt = "(SELECT id FROM strings WHERE text = 'Decrypt')"
        return try fetchTable(db, sql: """
            WITH files AS (
                SELECT x.trail_id, count(DISTINCT x.object_id) AS log_files
                FROM \(objects.sql) x JOIN s3_objects so ON so.id = x.object_id
                WHERE so.kind = 'object' AND x.trail_id != 0 AND \(x.sql)
                GROUP BY x.trail_id
            )
            SELECT t.arn AS trail_arn, t.account_id AS account, t.region, t.name,
                   sum(a.events) AS events, sum(CASE WHEN a.delivered THEN a.events ELSE 0 END) AS deliveries,
                   coalesce((SELECT log_files FROM files WHERE files.trail_id = t.id), 0) AS log_files,
                   sum(CASE WHEN a.event_name_sid = \(decrypt) THEN a.events ELSE 0 END) AS reads,
                   count(DISTINCT CASE WHEN a.event_name_sid = \(decrypt) THEN nullif(a.principal_id, 0) END) AS readers,
                   sum(CASE WHEN a.error_code_sid != 0 THEN a.events ELSE 0 END) AS failed,
                   \(isoTimeSQL("min(a.first_time)")) AS first_seen, \(isoTimeSQL("max(a.last_time)")) AS last_seen
            FROM \(activity.sql) a JOIN trails t ON t.id = a.trail_id
            WHERE \(c.sql)
            GROUP BY t.id ORDER BY t.arn\(filter.limitClause)
            """, arguments: StatementArguments(objects.arguments + x.values + activity.arguments + c.values))
    }

    /// S3 locations, oldest first: kind, bucket, key, trail, writes (`GenerateDataKey`,
    /// `Encrypt`), reads (`Decrypt`), failed reads, distinct readers, first and last seen.
    /// `bucket` (a name, `s3://NAME` or a bucket ARN) and `trail` (an ARN or a trail name)
    /// narrow the list.
    public static func objects(_ db: Database, filter: QueryFilter, bucket: String? = nil, trail: String? = nil) throws -> ResultTable {
        let source = SummarySource(.objects, filter: filter)
        var c = try filter.summaryConditions(db, alias: "x", failed: "x.failed = 1")
        // The distinct readers of each object listed, from its events (few, through events_object).
        var r = try filter.eventConditions(db)
        if let bucket {
            c.add("x.object_id IN (SELECT o.id FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE b.name = ?)",
                  bucketName(bucket))
        }
        if let trail {
            let trails = "SELECT id FROM trails WHERE arn = ? OR name = ?"
            c.add("x.trail_id IN (\(trails))", trail, trail)
            r.add("e.trail_id IN (\(trails))", trail, trail)
        }
        return try fetchTable(db, sql: """
            WITH listed AS (
                SELECT x.object_id, max((SELECT arn FROM trails WHERE id = x.trail_id)) AS trail_arn,
                       sum(x.writes) AS writes, sum(x.reads) AS reads,
                       sum(CASE WHEN x.failed THEN x.reads ELSE 0 END) AS failed_reads,
                       min(x.first_time) AS first_time, max(x.last_time) AS last_time
                FROM \(source.sql) x
                WHERE \(c.sql)
                GROUP BY x.object_id
            ), page AS (
                SELECT o.arn AS object_arn, o.kind, o.bucket, o.key, l.*
                FROM listed l JOIN s3_locations o ON o.id = l.object_id
                ORDER BY l.first_time, o.arn\(filter.limitClause)
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


    /// The bucket name in `s3://NAME`, `arn:aws:s3:::NAME` or `NAME`.
    static func bucketName(_ text: String) -> String {
        if text.hasPrefix("arn:") { return S3Location(arn: text).bucket ?? text }
        var name = Substring(text)
        if name.hasPrefix("s3://") { name = name.dropFirst(5) }
        while name.hasSuffix("/") { name = name.dropLast() }
        return String(name)
    }
}

/// Runs a query and keeps its columns and typed values as a `ResultTable`. Blobs become
/// uppercase hex text.
func fetchTable(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> ResultTable {
    let statement = try db.makeStatement(sql: sql)
    return try fetchTable(statement, arguments: arguments)
}

func fetchTable(_ statement: Statement, arguments: StatementArguments = []) throws -> ResultTable {
    let rows = try Row.fetchAll(statement, arguments: arguments)
    return ResultTable(columns: statement.columnNames, cells: rows.map { row in row.databaseValues.map(Cell.init(databaseValue:)) })
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
