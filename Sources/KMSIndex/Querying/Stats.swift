import GRDB

/// Counts that describe an index.
package struct IndexStats: Sendable, Equatable {
    package var schemaVersion = 0
    package var filesIngested = 0
    package var filesSkipped = 0
    package var filesFailed = 0
    package var kmsEvents = 0
    package var keys = 0
    package var trails = 0
    package var objects = 0
    package var principals = 0
    package var failedCalls = 0
    package var firstEventTime: String?
    package var lastEventTime: String?
    /// A caller that decrypted 90% or more of the log files within 48 hours of their delivery.
    package var likelyOwnPrincipal: OwnPrincipals.Candidate?
    package var ownPrincipals = 0

    package init() {}

    /// The counts; with `fromEvents`, the event totals are counted from the events, not
    /// from the all-time rollups (the same numbers: see `QueryFilter.fromEvents`).
    package static func read(_ db: Database, fromEvents: Bool = false) throws -> IndexStats {
        var s = IndexStats()
        let ids = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
        s.schemaVersion = ids.compactMap { Int($0.prefix { $0.isNumber }) }.max() ?? 0
        // Files not ingested through their (partial) index; the ingested ones are the rest.
        let files = try Int.fetchOne(db, sql: "SELECT count(*) FROM ledger_files") ?? 0
        for row in try Row.fetchAll(db, sql: "SELECT outcome, count(*) AS n FROM ledger_files WHERE outcome <> 0 GROUP BY outcome") {
            let n: Int = row["n"]
            if row["outcome"] as Int64 == FileOutcome.skippedCode { s.filesSkipped = n } else { s.filesFailed += n }
        }
        s.filesIngested = files - s.filesSkipped - s.filesFailed
        func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
        // The all-time totals count every event; the first and last come from event_uids,
        // which orders events in time.
        s.kmsEvents =
            try Int.fetchOne(
                db, sql: fromEvents ? "SELECT count(*) FROM events" : "SELECT coalesce(sum(events), 0) FROM activity_totals") ?? 0
        s.keys = try count("kms_keys")
        s.trails = try count("trails")
        s.objects = try count("s3_objects")
        s.principals = try count("principals")
        s.failedCalls =
            try Int.fetchOne(
                db,
                sql: fromEvents
                    ? "SELECT count(*) FROM events WHERE error_code_sid IS NOT NULL"
                    : "SELECT coalesce(sum(events), 0) FROM activity_totals WHERE error_code_sid != 0") ?? 0
        s.firstEventTime = try Int64.fetchOne(db, sql: "SELECT min(event_time) FROM event_uids").map(StoredTime.text)
        s.lastEventTime = try Int64.fetchOne(db, sql: "SELECT max(event_time) FROM event_uids").map(StoredTime.text)
        s.likelyOwnPrincipal = try OwnPrincipals.likely(db)
        s.ownPrincipals = try count("own_principals")
        return s
    }
}
