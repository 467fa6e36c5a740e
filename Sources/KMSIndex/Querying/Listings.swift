import GRDB

/// The listings of `kmsindex keys`, `trails` and `objects`: one row per key, trail or S3
/// location, with counts over the events the filter keeps, and first and last seen.
public enum Listings {
    /// Keys by ARN: aliases, events, failed calls, distinct callers, first and last seen.
    public static func keys(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        let c = try filter.conditions(db)
        return try fetchTable(db, sql: """
            SELECT k.arn AS key_arn, k.account_id AS account, k.region, k.key_id,
                   (SELECT group_concat(alias, ', ') FROM
                       (SELECT alias FROM kms_key_aliases a WHERE a.key_id = k.id ORDER BY alias)) AS aliases,
                   count(*) AS events, count(e.error_code) AS failed, count(DISTINCT e.principal_id) AS principals,
                   min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
            FROM kms_events e JOIN kms_keys k ON k.id = e.key_id
            WHERE \(c.sql)
            GROUP BY k.id ORDER BY k.arn\(filter.limitClause)
            """, arguments: c.arguments)
    }

    /// Trails by ARN: events, log-file deliveries (`GenerateDataKey` naming an object), log
    /// files, reads (`Decrypt`), distinct readers, failed calls, first and last seen.
    public static func trails(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        let c = try filter.conditions(db)
        return try fetchTable(db, sql: """
            SELECT t.arn AS trail_arn, t.account_id AS account, t.region, t.name,
                   count(*) AS events,
                   count(CASE WHEN e.event_name = 'GenerateDataKey' AND o.kind = 'object' THEN 1 END) AS deliveries,
                   count(DISTINCT CASE WHEN o.kind = 'object' THEN e.object_id END) AS log_files,
                   count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END) AS reads,
                   count(DISTINCT CASE WHEN e.event_name = 'Decrypt' THEN e.principal_id END) AS readers,
                   count(e.error_code) AS failed,
                   min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
            FROM kms_events e JOIN trails t ON t.id = e.trail_id LEFT JOIN s3_locations o ON o.id = e.object_id
            WHERE \(c.sql)
            GROUP BY t.id ORDER BY t.arn\(filter.limitClause)
            """, arguments: c.arguments)
    }

    /// S3 locations, oldest first: kind, bucket, key, trail, writes (`GenerateDataKey`,
    /// `Encrypt`), reads (`Decrypt`), failed reads, distinct readers, first and last seen.
    /// `bucket` (a name, `s3://NAME` or a bucket ARN) and `trail` (an ARN or a trail name)
    /// narrow the list.
    public static func objects(_ db: Database, filter: QueryFilter, bucket: String? = nil, trail: String? = nil) throws -> ResultTable {
        var c = try filter.conditions(db)
        if let bucket { c.add("o.bucket = ?", bucketName(bucket)) }
        if let trail { c.add("e.trail_id IN (SELECT id FROM trails WHERE arn = ? OR name = ?)", trail, trail) }
        return try fetchTable(db, sql: """
            SELECT o.arn AS object_arn, o.kind, o.bucket, o.key, max(t.arn) AS trail_arn,
                   count(CASE WHEN e.event_name IN (\(writeOperations)) THEN 1 END) AS writes,
                   count(CASE WHEN e.event_name = 'Decrypt' THEN 1 END) AS reads,
                   count(CASE WHEN e.event_name = 'Decrypt' AND e.error_code IS NOT NULL THEN 1 END) AS failed_reads,
                   count(DISTINCT CASE WHEN e.event_name = 'Decrypt' THEN e.principal_id END) AS readers,
                   min(e.event_time) AS first_seen, max(e.event_time) AS last_seen
            FROM kms_events e JOIN s3_locations o ON o.id = e.object_id LEFT JOIN trails t ON t.id = e.trail_id
            WHERE \(c.sql)
            GROUP BY o.id ORDER BY first_seen, o.arn\(filter.limitClause)
            """, arguments: c.arguments)
    }

    /// Operations that encrypt an object (S3 calls them when it writes one).
    static let writeOperations = "'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'Encrypt'"

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
