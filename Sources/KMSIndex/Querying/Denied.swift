import GRDB

/// Failed KMS calls (AccessDenied, KMSInvalidStateException, …) grouped by caller, key and
/// error: `kmsindex denied`, the security view.
public enum Denied {
    /// One row per caller, key and error code, most calls first: the caller (ARN, else
    /// the calling service), the key (ARN, else as the caller wrote it), calls, the
    /// operations tried, distinct S3 objects named, first and last seen, and the latest
    /// error message.
    public static func table(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        var c = try filter.eventConditions(db)
        c.add("e.error_code_sid IS NOT NULL")  // through the partial index of failed calls
        return try fetchTable(db, sql: """
            WITH failed AS (
                SELECT e.id, \(principalSQL) AS principal,
                       coalesce(k.arn, (SELECT text FROM strings WHERE id = e.requested_key_sid)) AS key,
                       (SELECT text FROM strings WHERE id = e.error_code_sid) AS error_code,
                       (SELECT text FROM strings WHERE id = e.event_name_sid) AS event_name, e.object_id,
                       e.event_time AS event_time_ms, e.error_message
                FROM events e
                LEFT JOIN principals p ON p.id = e.principal_id
                LEFT JOIN kms_keys k ON k.id = e.key_id
                WHERE \(c.sql)
            ), ranked AS (
                SELECT *, row_number() OVER (PARTITION BY principal, key, error_code
                                             ORDER BY event_time_ms DESC, id DESC) AS recency
                FROM failed
            ), operations AS (
                SELECT principal, key, error_code, group_concat(event_name, ', ') AS names
                FROM (SELECT DISTINCT principal, key, error_code, event_name FROM failed
                      ORDER BY principal, key, error_code, event_name)
                GROUP BY principal, key, error_code
            )
            SELECT r.principal, r.key, r.error_code, count(*) AS calls, o.names AS operations,
                   count(DISTINCT r.object_id) AS objects,
                   \(isoTimeSQL("min(r.event_time_ms)")) AS first_seen, \(isoTimeSQL("max(r.event_time_ms)")) AS last_seen,
                   max(CASE WHEN r.recency = 1 THEN r.error_message END) AS last_message
            FROM ranked r
            JOIN operations o ON o.principal = r.principal AND o.key IS r.key AND o.error_code = r.error_code
            GROUP BY r.principal, r.key, r.error_code
            ORDER BY calls DESC, max(r.event_time_ms) DESC, r.principal, r.key\(filter.limitClause)
            """, arguments: c.arguments)
    }
}
