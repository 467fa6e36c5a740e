import GRDB

/// Reads of S3 objects from S3 data events, and the ones `--s3-reads auto` has not decided yet.
extension MergeStatements {
    /// Columns of `s3_reads`, with the table whose ids each names (nil: copied as it is).
    static let s3ReadColumns: [(name: String, mappedBy: String?)] = [
        ("event_time", nil), ("event_uid", nil), ("event_name_sid", "strings"), ("region_sid", "strings"),
        ("recipient_account_sid", "strings"), ("principal_id", "principals"), ("object_id", "s3_objects"),
        ("source_ip", nil), ("user_agent_id", "user_agents"), ("error_code_sid", "strings"), ("error_message", nil),
        ("bytes", nil), ("source_file_id", "ledger_files"), ("shared_event_uid", nil),
    ]
    static let stagedS3ReadColumns: [(name: String, mappedBy: String?)] = [
        ("source_file_id", "ledger_files"), ("bucket_hash", nil),
    ]

    /// Copies the shard's S3 reads the destination lacks (unique by time and eventID, as in
    /// ingest) and its staged reads (a killed ingest's: the next ingest into the destination
    /// decides them), ids remapped; returns how many of each were added.
    static func mergeS3Reads(_ db: Database) throws -> (reads: Int, staged: Int) {
        func copy(_ table: String, _ columns: [(name: String, mappedBy: String?)], order: String) throws -> Int {
            let (values, joins) = remapped(columns)
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO main.\(table) (\(columns.map(\.name).joined(separator: ", ")))
                    SELECT \(values.joined(separator: ", ")) FROM shard.\(table) e
                    \(joins.joined(separator: "\n"))
                    ORDER BY \(order)
                    """)
            return db.changesCount
        }
        return (
            try copy("s3_reads", s3ReadColumns, order: "e.id"),
            try copy("s3_reads_staged", stagedS3ReadColumns, order: "e.source_file_id")
        )
    }
}
