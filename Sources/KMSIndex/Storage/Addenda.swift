import GRDB

/// CloudTrail's `addendum` (migration 032): kept per event in `event_addenda`; and the events
/// an update supersedes, removed.
///
/// An UPDATED_DATA record names the event it updates by `originalEventID`: the event of that id
/// at the update's eventTime (the same call). Once both are in the index the original goes, its
/// rows and its counts in the summaries (its days counted again). Checked at the end of every
/// ingest and merge over every update the index holds, so an original that arrives after its
/// update, or a run killed before its check, is caught by the next.
enum Addenda {
    static let updatedData = "UPDATED_DATA"

    /// The insert of one event's addendum: `?1` the event's id, then reason, updated fields,
    /// original requestID and original eventID.
    static let insert = """
        INSERT OR REPLACE INTO event_addenda (event_id, reason, updated_fields, original_request_uid, original_event_uid)
        VALUES (?, ?, ?, ?, ?)
        """

    /// Whether the index holds an update: only then is there anything to check.
    static func anyUpdate(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM event_addenda WHERE reason = ?)", arguments: [updatedData]) ?? false
    }

    /// Removes every event an update in the index supersedes; returns how many. Two updates
    /// that name each other supersede neither. The summaries must hold every event (the
    /// writer flushed).
    static func removeSuperseded(_ db: Database) throws -> Int {
        guard try anyUpdate(db) else { return 0 }
        try db.execute(
            sql: """
                CREATE TEMP TABLE IF NOT EXISTS superseded (id INTEGER PRIMARY KEY, event_time INTEGER NOT NULL);
                DELETE FROM temp.superseded;
                INSERT OR IGNORE INTO temp.superseded (id, event_time)
                SELECT u.event_id, u.event_time FROM event_addenda a
                JOIN events e ON e.id = a.event_id
                JOIN event_uids u ON u.event_time = e.event_time AND u.event_uid = a.original_event_uid
                WHERE a.reason = :updated AND u.event_id != a.event_id
                  AND NOT EXISTS (
                      SELECT 1 FROM event_addenda b JOIN event_uids v ON v.event_time = e.event_time AND v.event_id = a.event_id
                      WHERE b.event_id = u.event_id AND b.reason = :updated AND b.original_event_uid = v.event_uid);
                """, arguments: ["updated": updatedData])
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.superseded") ?? 0
        guard count > 0 else { return 0 }
        let days = try Int64.fetchAll(
            db, sql: "SELECT DISTINCT \(DailySummaries.day("event_time")) FROM temp.superseded ORDER BY 1")
        try db.execute(
            sql: """
                DELETE FROM event_context WHERE event_id IN (SELECT id FROM temp.superseded);
                DELETE FROM event_grantees WHERE event_id IN (SELECT id FROM temp.superseded);
                DELETE FROM event_addenda WHERE event_id IN (SELECT id FROM temp.superseded);
                DELETE FROM event_uids WHERE (event_time, event_id) IN (SELECT event_time, id FROM temp.superseded);
                DELETE FROM events WHERE id IN (SELECT id FROM temp.superseded);
                DELETE FROM temp.superseded;
                """)
        try DailySummaries.recount(db, days: days.map { $0...$0 })
        return count
    }
}
