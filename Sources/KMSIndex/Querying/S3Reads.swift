import GRDB

/// Reads of S3 objects recorded by S3 data events (`s3_reads`), and how they meet the KMS
/// Decrypts of the same reads.
package struct S3Reads {
    let db: Database

    package init(_ db: Database) { self.db = db }

    /// An SSE-KMS GetObject and the Decrypt S3 made for it are one read: the same caller on the
    /// same object, at most this far apart.
    package static let pairingWindowMs: Int64 = 5_000

    /// The S3 reads of `object`, oldest first.
    func reads(of object: KnownObject) throws -> [EventRow] {
        try rows(where: "r.object_id = ?", [object.id]).map {
            var row = $0
            row.objectARN = object.arn
            return row
        }
    }

    /// S3 reads by the principals `ids`, oldest first, within the filter's time window.
    func reads(principals ids: [Int64], filter: QueryFilter) throws -> [EventRow] {
        if ids.isEmpty { return [] }
        var conditions = ["r.principal_id IN (\(ids.map(String.init).joined(separator: ", ")))"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let since = filter.since.flatMap(StoredTime.milliseconds) { conditions.append("r.event_time >= ?"); arguments.append(since) }
        if let until = filter.until.flatMap(StoredTime.milliseconds) { conditions.append("r.event_time < ?"); arguments.append(until) }
        if filter.errorsOnly { conditions.append("r.error_code_sid IS NOT NULL") }
        if let region = filter.region {
            conditions.append("r.region_sid = (SELECT id FROM strings WHERE text = ?)"); arguments.append(region)
        }
        if let account = filter.account {
            conditions.append("r.recipient_account_sid = (SELECT id FROM strings WHERE text = ?)")
            arguments.append(account)
        }
        return try rows(where: conditions.joined(separator: " AND "), arguments)
    }

    private func rows(where condition: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> [EventRow] {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT r.event_time, n.text, r.event_uid, p.type, p.arn, p.role_arn, p.session_name, p.invoked_by,
                       c.text, r.error_message, r.source_ip, a.text, NULL, g.text,
                       \(OwnPrincipals.matches("r.principal_id")), p.on_behalf_of_user_id, p.identity_store_arn, p.account_id, p.principal_id, p.user_name, p.credentials_issued_to, r.bytes,
                       (SELECT b.arn || '/' || o.key FROM s3_objects o JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = r.object_id),
                       r.shared_event_uid, r.recipient_account_sid IS NOT (SELECT id FROM strings WHERE text = p.account_id)
                FROM s3_reads r
                JOIN strings n ON n.id = r.event_name_sid
                LEFT JOIN principals p ON p.id = r.principal_id
                LEFT JOIN strings c ON c.id = r.error_code_sid
                LEFT JOIN user_agents a ON a.id = r.user_agent_id
                LEFT JOIN strings g ON g.id = r.region_sid
                WHERE \(condition)
                """, arguments: StatementArguments(arguments))
        // Ordered as `ReadMerger` orders rows, by time then eventID (by row id, reads of one time
        // came in the order they were indexed, which differs between an index and its shards
        // merged), here rather than by SQLite: the eventID is text only once read.
        // A cursor's rows: their texts are read whole.
        return try Array(
            rows.map { row in
                var event = EventRow.stored(row)
                event.bytes = row[21]
                event.objectARN = row.text(22)
                let shared: DatabaseValue = row[23]
                if !shared.isNull { event.sharedEventID = EventUID.text(shared) }
                event.loggedOutsideCallersAccount = row[24] ?? false
                event.source = "s3"
                return event
            }
        ).sorted { ($0.eventTimeMs ?? 0, $0.eventID) < ($1.eventTimeMs ?? 0, $1.eventID) }
    }

    /// KMS and S3 reads together, oldest first, paired (see `ReadMerger`); both lists in time
    /// order.
    package static func merge(_ kms: [EventRow], _ s3: [EventRow]) -> [EventRow] {
        var merged: [EventRow] = []
        var merger = ReadMerger(s3: s3) { merged.append($0) }
        // Nothing here throws: the rows are only collected.
        for row in kms { try? merger.add(row) }
        try? merger.finish()
        return merged
    }
}
