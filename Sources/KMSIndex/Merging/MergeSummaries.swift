import Foundation
import GRDB

/// The daily summaries and rollups of a shard whose events are all new, added as rows.
extension MergeStatements {
    /// The daily summaries and their rollups, which the shard's can stand for; each with its
    /// columns, in order, with the table whose ids each names (nil: copied as it is), its key,
    /// and what a row of the shard does to the destination's row of the same key (nil: nothing,
    /// `INSERT OR IGNORE`). In these tables 0 stands for none (`coalesce(…, 0)` of the grouping)
    /// and stays 0.
    struct Summary {
        var table: String
        var columns: [(name: String, mappedBy: String?)]
        var key: String
        var update: String?
    }

    static let summaries: [Summary] = {
        let maps: [String: String] = [
            "recipient_account_sid": "strings", "region_sid": "strings", "requested_key_sid": "strings",
            "event_name_sid": "strings", "error_code_sid": "strings", "key_id": "kms_keys", "principal_id": "principals",
            "trail_id": "trails", "object_id": "s3_objects", "bucket_id": "s3_buckets",
        ]
        func columns(_ names: String) -> [(name: String, mappedBy: String?)] {
            names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.map { ($0, maps[$0]) }
        }
        let counts = ", events, first_time, last_time"
        return [
            Summary(
                table: "activity_daily", columns: columns(DailySummaries.activityKey + counts),
                key: DailySummaries.activityKey, update: DailySummaries.addCounts),
            Summary(
                table: "object_daily", columns: columns(DailySummaries.objectKey + ", events, writes, reads, first_time, last_time"),
                key: DailySummaries.objectKey,
                update: "writes = writes + excluded.writes, reads = reads + excluded.reads, " + DailySummaries.addCounts),
            Summary(
                table: "usage_daily", columns: columns(DailySummaries.usageKey + counts),
                key: DailySummaries.usageKey, update: DailySummaries.addCounts),
            Summary(
                table: "activity_totals", columns: columns(DailySummaries.totalsKey + counts),
                key: DailySummaries.totalsKey, update: DailySummaries.addCounts),
            Summary(
                table: "callers", columns: columns(DailySummaries.callerKey + counts),
                key: DailySummaries.callerKey, update: DailySummaries.addCounts),
            Summary(table: "trail_files", columns: columns("trail_id, object_id"), key: "trail_id, object_id", update: nil),
            Summary(table: "log_buckets", columns: columns("bucket_id"), key: "bucket_id", update: nil),
        ]
    }()

    /// True when the shard's own daily summaries can stand for the grouping of the events this
    /// merge adds: every event of the shard is added, the shard's summaries count every one of
    /// its events (its watermark is at its newest event), and each of its S3 locations the
    /// destination already held has the same kind there (`delivered` depends on it).
    static func shardSummariesCountAddedEvents(_ db: Database, _ added: AddedEvents) throws -> Bool {
        guard added.all, added.count > 0 else { return false }
        let watermark = try Int64.fetchOne(db, sql: "SELECT last_event_id FROM shard.summary_state WHERE id = 1") ?? 0
        let newest = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM shard.events") ?? 0
        guard watermark >= newest else { return false }
        return try Bool.fetchOne(
            db,
            sql: """
                SELECT NOT EXISTS (SELECT 1 FROM temp.merge_map_s3_objects o CROSS JOIN main.s3_objects d ON d.id = o.new
                                   WHERE NOT o.added AND d.kind IS NOT o.kind)
                """) == true
    }

    /// Copies the shard's daily summaries and rollups whole (see `AddedEvents.asIs`) when the
    /// destination's are empty and every map they name leaves ids as they are; returns false,
    /// having done nothing, otherwise. Only when `shardSummariesCountAddedEvents`.
    static func copyShardSummaries(_ db: Database, identity: Set<String>) throws -> Bool {
        let maps = Set(summaries.flatMap { $0.columns.compactMap(\.mappedBy) })
        guard maps.isSubset(of: identity), try isEmpty(db, summaries.map(\.table)) else { return false }
        for summary in summaries {
            try db.execute(sql: "INSERT INTO main.\(summary.table) SELECT * FROM shard.\(summary.table)")
        }
        return true
    }

    /// Adds the shard's daily summaries and rollups, ids remapped, to the destination's, row by
    /// row of each (counts added, first and last times widened, as `DailySummaries.addStaged`
    /// adds the writer's): rows already grouped, where counting the added events again grouped
    /// every one of them, and rolling them up grouped every daily row. Only when
    /// `shardSummariesCountAddedEvents`.
    static func addShardSummaries(_ db: Database) throws {
        for summary in summaries {
            var values: [String] = [], joins: [String] = []
            for (k, column) in summary.columns.enumerated() {
                guard let map = column.mappedBy else {
                    values.append("e.\(column.name)")
                    continue
                }
                // A missing id stays NULL, which the NOT NULL columns refuse: a shard whose
                // summaries name rows it does not have fails rather than counts them elsewhere.
                values.append("CASE WHEN e.\(column.name) = 0 THEN 0 ELSE m\(k).new END")
                joins.append("LEFT JOIN temp.merge_map_\(map) m\(k) ON m\(k).old = e.\(column.name)")
            }
            // `WHERE true`: an upsert's SELECT needs a WHERE clause for SQLite to parse ON CONFLICT.
            try db.execute(
                sql: """
                    INSERT \(summary.update == nil ? "OR IGNORE " : "")INTO main.\(summary.table) (\(summary.columns.map(\.name).joined(separator: ", ")))
                    SELECT \(values.joined(separator: ", ")) FROM shard.\(summary.table) e
                    \(joins.joined(separator: "\n"))
                    WHERE true
                    \(summary.update.map { "ON CONFLICT (\(summary.key)) DO UPDATE SET \($0)" } ?? "")
                    """)
        }
    }
}
