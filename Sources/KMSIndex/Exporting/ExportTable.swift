import GRDB

/// A table the export writes, one folder of day partitions each: where its rows come from, in
/// time order, and whether its lines carry the encryption context.
package struct ExportTable: Sendable, Equatable {
    /// The folder under the export folder, and the table's name in the engines' definitions.
    package let name: String
    /// The view whose columns a line holds, in its order.
    let view: String
    /// Rows' times, ids and eventIDs in a time range, in time order (an index alone answers it).
    let daysSQL: String
    /// True for KMS events: each line ends with the request's, source and destination
    /// encryption contexts.
    let withContext: Bool

    /// The KMS events (`kms_events`), walked through `event_uids`.
    package static let kmsEvents = ExportTable(
        name: "kms_events", view: "kms_events", daysSQL: DayExport.daysSQL, withContext: true)
    /// The reads of S3 objects that S3 data events recorded (`s3_read_events`), walked through
    /// `s3_reads`' (event_time, event_uid) index.
    package static let s3Reads = ExportTable(
        name: "s3_reads", view: "s3_read_events",
        daysSQL: "SELECT event_time, id, event_uid FROM s3_reads WHERE event_time >= ? AND event_time < ? ORDER BY event_time",
        withContext: false)
    /// What `export` writes, in order.
    package static let all = [kmsEvents, s3Reads]

    /// The rows of a time range, every column of the view in its order, in time order.
    func rowsSQL(_ db: Database) throws -> String {
        if withContext { return try DayExport.eventsSQL(db) }
        let names = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('\(view)')")
        return """
            SELECT \(names.map { "v.\"\($0)\"" }.joined(separator: ", "))
            FROM s3_reads r CROSS JOIN \(view) v ON v.id = r.id
            WHERE r.event_time >= ? AND r.event_time < ?
            ORDER BY r.event_time, r.event_uid
            """
    }
}
