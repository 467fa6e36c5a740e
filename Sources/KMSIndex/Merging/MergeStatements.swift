import Foundation
import GRDB

/// The set-based SQL of a merge, run on the destination's connection with the shard attached
/// as `shard`. Each table is copied with one statement over all its rows; ids are remapped
/// through temporary tables `temp.merge_map_TABLE (old, new)`, keyed by the shard's id.
///
/// Every lookup goes through an index of the destination (a UNIQUE natural key, the key hash of
/// `s3_objects`, the primary key of `event_uids`) or a temporary table's primary key, so a merge
/// costs O(n log n) in the rows of the shard, whatever the destination holds. `CROSS JOIN`
/// keeps the shard's table outside, the destination's index inside.
enum MergeStatements {
    /// A table of distinct values, found by a UNIQUE natural key (as `EventWriter` finds it).
    struct Dimension {
        var table: String
        /// The UNIQUE column that identifies a row.
        var key: String
        /// Every column but `id`, `key` included.
        var columns: [String]
    }

    /// The tables of distinct values with a UNIQUE key, in an order where none needs a later one.
    static let dimensions: [Dimension] = [
        Dimension(table: "strings", key: "text", columns: ["text"]),
        Dimension(table: "user_agents", key: "text", columns: ["text"]),
        Dimension(table: "context_names", key: "name", columns: ["name"]),
        Dimension(table: "kms_keys", key: "arn", columns: ["arn", "account_id", "region", "key_id"]),
        Dimension(table: "trails", key: "arn", columns: ["arn", "account_id", "region", "name"]),
        Dimension(table: "s3_buckets", key: "arn", columns: ["arn", "name"]),
        Dimension(table: "own_principals", key: "arn", columns: ["arn", "added_at"]),
        Dimension(table: "ledger_dirs", key: "path", columns: ["path", "name_prefix"]),
        Dimension(table: "roles", key: "arn", columns: ["arn", "account_id", "session_arn_prefix", "principal_id_prefix"]),
    ]

    /// Columns of the other tables merge copies (besides `id` where they have one).
    static let objectColumns = ["kind", "bucket_id", "folder_id", "name", "key_hash"]
    static let aliasColumns = ["key_id", "alias", "first_seen", "last_seen"]
    static let fileColumns = [
        "dir_id", "name", "path_hash", "size", "mtime_ns", "outcome", "reason", "records", "kms_events", "events_added",
        "malformed_records", "uncompressed_bytes", "content_sha256", "file_sha256", "read_at", "name_cut",
    ]
    static let uidColumns = ["event_time", "event_uid", "event_id"]
    static let contextColumns = ["event_id", "scope", "name_id", "value_id"]
    /// Columns of `events`, with the table whose ids each names (nil: copied as it is).
    static let eventColumns: [(name: String, mappedBy: String?)] = [
        ("event_time", nil), ("event_name_sid", "strings"), ("region_sid", "strings"),
        ("recipient_account_sid", "strings"), ("key_id", "kms_keys"), ("source_key_id", "kms_keys"),
        ("requested_key_sid", "strings"), ("principal_id", "principals"), ("object_id", "s3_objects"),
        ("trail_id", "trails"), ("source_ip", nil), ("user_agent_id", "user_agents"),
        ("error_code_sid", "strings"), ("error_message", nil), ("request_uid", nil), ("shared_event_uid", nil),
        ("read_only", nil), ("event_type_sid", "strings"), ("source_file_id", "ledger_files"),
        ("source_sid", "strings"),
    ]

    /// Tables derived from events (rollups, summaries), which merge does not copy: they are
    /// refreshed in `IndexMerger.refreshDerivedTables` from the events merge adds. Every other
    /// table of the schema must be in `mergedColumns` (a test checks it).
    static let derivedTables: Set<String> = [
        "activity_daily", "object_daily", "summary_state", "usage_daily", "activity_totals", "callers", "trail_files",
        "log_buckets",
    ]

    /// Tables of this index's own `findings` runs (its watermark, what it reported, what is
    /// silenced) and its days left to count again (`summary_recounts`, empty in any shard merge
    /// accepts): state of the destination, not data of a shard, so merge leaves them as they are.
    static let localTables: Set<String> = ["findings_state", "findings_reported", "findings_silenced", "summary_recounts"]

    /// Filters of the destination's own rows (`LookupFilters`), which merge does not copy: a
    /// merge that adds to a main range deletes its filter, and the next ingest builds it again.
    static let filterTables: Set<String> = ["lookup_filters"]

    /// Every table merge writes, with the columns it copies or sets (besides `id`).
    static var mergedColumns: [String: [String]] {
        var tables = Dictionary(uniqueKeysWithValues: dimensions.map { ($0.table, $0.columns) })
        // `recent` is not copied: merge adds rows to the destination's range for new rows
        // (`RecentRows.rangeForNewRows`).
        tables["principal_rows"] = PrincipalRows.columns + ["derived", "recent"]
        tables["context_values"] = ["value_hash", "value", "recent"]
        tables["s3_folders"] = ["folder", "name_prefix", "recent"]
        tables["s3_object_rows"] = objectColumns
        tables["kms_key_aliases"] = aliasColumns
        tables["ledger_files"] = fileColumns
        tables["event_uids"] = uidColumns
        tables["event_context"] = contextColumns
        tables["event_grantees"] = ["event_id", "grantee"]
        tables["event_addenda"] = ["event_id", "reason", "updated_fields", "original_request_uid", "original_event_uid"]
        tables["superseding_claims"] = claimColumns
        tables["log_readers_pruned"] = ["principal"]
        tables["events"] = eventColumns.map(\.name)
        tables["s3_reads"] = s3ReadColumns.map(\.name)
        tables["s3_reads_staged"] = stagedS3ReadColumns.map(\.name)
        return tables
    }

    /// The columns of `superseding_claims`: ids and times only, copied as they are.
    static let claimColumns = ["event_time", "original_uid", "update_uid"]

    /// Adds the shard's claims of updates (`Addenda`), before the destination's are checked.
    static func mergeClaims(_ db: Database) throws {
        let columns = claimColumns.joined(separator: ", ")
        try db.execute(sql: "INSERT OR IGNORE INTO main.superseding_claims (\(columns)) SELECT \(columns) FROM shard.superseding_claims")
    }

    /// Adds the readers of log files the shard's prunes noted (`log_readers_pruned`).
    static func mergePrunedReaders(_ db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO main.log_readers_pruned (principal) SELECT principal FROM shard.log_readers_pruned")
    }

    /// Creates `temp.merge_map_TABLE (old, new)`.
    static func createMap(_ db: Database, _ table: String) throws {
        try db.execute(sql: "CREATE TEMP TABLE merge_map_\(table) (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
    }

    /// Adds the dimension's rows the destination lacks, and maps every shard row to its
    /// destination row; returns how many rows were added.
    static func merge(_ d: Dimension, _ db: Database) throws -> Int {
        let columns = d.columns.joined(separator: ", ")
        try db.execute(sql: "INSERT OR IGNORE INTO main.\(d.table) (\(columns)) SELECT \(columns) FROM shard.\(d.table) ORDER BY id")
        let added = db.changesCount
        try createMap(db, d.table)
        try db.execute(
            sql: """
                INSERT INTO temp.merge_map_\(d.table) (old, new)
                SELECT s.id, d.id FROM shard.\(d.table) s CROSS JOIN main.\(d.table) d ON d.\(d.key) = s.\(d.key)
                """)
        try checkMapped(db, d.table)
        return added
    }

    /// Fails unless every row of the shard's `table` has a destination row.
    static func checkMapped(_ db: Database, _ table: String) throws {
        let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM shard.\(table)") ?? 0
        let mapped = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.merge_map_\(table)") ?? 0
        if rows != mapped {
            throw MergeInconsistency(description: "\(rows - mapped) of its \(rows) rows of \(table) match no row of the index")
        }
    }

    /// Aliases of keys, with the earliest first and latest last seen of both; returns the rows
    /// added or widened.
    static func mergeAliases(_ db: Database) throws -> Int {
        // `WHERE true`: an upsert's SELECT needs a WHERE clause for SQLite to parse ON CONFLICT.
        try db.execute(
            sql: """
                INSERT INTO main.kms_key_aliases (key_id, alias, first_seen, last_seen)
                SELECT m.new, a.alias, a.first_seen, a.last_seen
                FROM shard.kms_key_aliases a CROSS JOIN temp.merge_map_kms_keys m ON m.old = a.key_id WHERE true
                ON CONFLICT (key_id, alias) DO UPDATE SET
                    first_seen = \(StoredTime.earlierSQL("excluded.first_seen", "first_seen")),
                    last_seen = \(StoredTime.laterSQL("excluded.last_seen", "last_seen"))
                WHERE \(StoredTime.earlierSQL("excluded.first_seen", "first_seen")) <> first_seen
                    OR \(StoredTime.laterSQL("excluded.last_seen", "last_seen")) <> last_seen
                """)
        return db.changesCount
    }

    /// The events of a shard a merge adds, and how to read them. An added event's id in the
    /// destination is its id in the shard plus the destination's last id before the merge
    /// (`lastID`): after every id of the destination, in the shard's order, found without
    /// numbering (a window function sorted every event). Duplicates leave their ids unused, as
    /// in ingest.
    struct AddedEvents {
        /// The destination's last event id before the shard's events: the events added are the
        /// rows of `main.events` with a greater id.
        var lastID: Int64
        /// How many events are added.
        var count: Int
        /// True when every event of the shard is added (none was in the destination, the usual
        /// case of shards of separate accounts or times): they are read straight from the
        /// shard's tables. Otherwise the chosen ones are listed in `temp.merge_events (old, new,
        /// event_time)`.
        var all: Bool
        /// True when the destination held no event and every map the events name leaves ids as
        /// they are (a shard merged into a new index): the shard's rows are copied whole with
        /// `INSERT INTO main.T SELECT * FROM shard.T`, which SQLite carries out as a copy of the
        /// records, its indexes' too, without decoding them or searching the indexes.
        var asIs = false

        /// FROM clause of the added events `e` (`shard.events`).
        var events: String {
            all ? "shard.events e" : "temp.merge_events m CROSS JOIN shard.events e ON e.id = m.old"
        }
        /// The new id of the event of shard id `column`, in a query over `events`.
        func newID(_ column: String) -> String {
            all ? "\(column) + \(lastID)" : "m.new"
        }
        /// FROM clause of the rows of the shard's `table` (alias `t`) that belong to added events,
        /// by its `event_id` column.
        func rows(of table: String) -> String {
            all ? "shard.\(table) t" : "temp.merge_events m CROSS JOIN shard.\(table) t ON t.event_id = m.old"
        }
    }

    /// Adds the shard's event uids the destination lacks (by `(event_time, event_uid)`, the
    /// primary key of `event_uids`, as ingest finds a duplicate): one `INSERT OR IGNORE` in the
    /// key's order, whose descent of the index to insert is also the probe for a duplicate.
    /// When every uid was new, every event of the shard is added (`AddedEvents.all`); otherwise
    /// the ones added are those whose uid row now names their new id, listed in
    /// `temp.merge_events`.
    /// `uids` is the number of the shard's uid rows.
    static func insertEventUIDs(_ db: Database, uids: Int, identity: Set<String>) throws -> AddedEvents {
        let last = try Int64.fetchOne(db, sql: "SELECT \(EventWriter.lastEventIDSQL(schema: "main"))") ?? 0
        let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM shard.events") ?? 0
        if last == 0, uids == events, eventMaps.isSubset(of: identity),
            try isEmpty(db, ["event_uids", "events", "event_context", "event_grantees", "event_addenda"])
        {
            try db.execute(sql: "INSERT INTO main.event_uids SELECT * FROM shard.event_uids")
            return AddedEvents(lastID: 0, count: db.changesCount, all: true, asIs: true)
        }
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO main.event_uids (event_time, event_uid, event_id)
                SELECT u.event_time, u.event_uid, u.event_id + ? FROM shard.event_uids u
                """, arguments: [last])
        let added = db.changesCount
        if added == uids && uids == events {
            return AddedEvents(lastID: last, count: added, all: true)
        }
        // An event the destination already held keeps its uid row (an id up to `last`); an
        // added one's row names the shard's id plus `last`.
        try db.execute(
            sql: """
                CREATE TEMP TABLE merge_events (old INTEGER PRIMARY KEY, new INTEGER NOT NULL, event_time INTEGER NOT NULL);
                INSERT INTO temp.merge_events (old, new, event_time)
                SELECT u.event_id, u.event_id + ?1, u.event_time
                FROM shard.event_uids u
                WHERE EXISTS (SELECT 1 FROM main.event_uids d
                              WHERE d.event_time = u.event_time AND d.event_uid = u.event_uid AND d.event_id = u.event_id + ?1)
                """, arguments: [last])
        return AddedEvents(lastID: last, count: db.changesCount, all: false)
    }

    /// The SELECT list of `columns` read from `e`, each id through its map, and the joins it
    /// needs: a LEFT JOIN on the map's primary key per mapped column, none for a map that
    /// leaves every id as it is (`identity`).
    static func remapped(_ columns: [(name: String, mappedBy: String?)], identity: Set<String> = []) -> (values: [String], joins: [String])
    {
        var values: [String] = [], joins: [String] = []
        for (k, column) in columns.enumerated() {
            guard let table = column.mappedBy, !identity.contains(table) else {
                values.append("e.\(column.name)")
                continue
            }
            values.append("m\(k).new")
            joins.append("LEFT JOIN temp.merge_map_\(table) m\(k) ON m\(k).old = e.\(column.name)")
        }
        return (values, joins)
    }

    /// The maps (`merge_map_TABLE`) that map every id of the shard to the same id: a shard
    /// merged into an empty index, or tables both were given in the same order.
    static let eventMaps = Set(eventColumns.compactMap(\.mappedBy) + ["context_names", "context_values"])

    /// True when every one of the destination's `tables` is empty.
    static func isEmpty(_ db: Database, _ tables: [String]) throws -> Bool {
        let probe = tables.map { "NOT EXISTS (SELECT 1 FROM main.\($0))" }.joined(separator: " AND ")
        return try Bool.fetchOne(db, sql: "SELECT \(probe)") == true
    }

    static func identityMaps(_ db: Database) throws -> Set<String> {
        let names = try String.fetchAll(
            db, sql: "SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name LIKE 'merge\\_map\\_%' ESCAPE '\\'")
        var identity: Set<String> = []
        for name in names where try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM temp.\(name) WHERE new != old)") == true {
            identity.insert(String(name.dropFirst("merge_map_".count)))
        }
        return identity
    }

    /// Inserts the added events and their context pairs, grantees and addenda, with ids remapped. Each
    /// id goes through a LEFT JOIN on its map's primary key (a correlated subquery per column
    /// opened and closed a cursor for every event), unless its map leaves it as it is.
    static func insertEvents(_ db: Database, _ added: AddedEvents, identity: Set<String>) throws {
        if added.asIs {
            try db.execute(
                sql: """
                    INSERT INTO main.events SELECT * FROM shard.events;
                    INSERT INTO main.event_context SELECT * FROM shard.event_context;
                    INSERT INTO main.event_grantees SELECT * FROM shard.event_grantees;
                    INSERT INTO main.event_addenda SELECT * FROM shard.event_addenda;
                    """)
            return
        }
        let (values, joins) = remapped(eventColumns, identity: identity)
        let name = identity.contains("context_names") ? "t.name_id" : "n.new"
        let value = identity.contains("context_values") ? "t.value_id" : "v.new"
        try db.execute(
            sql: """
                INSERT INTO main.events (id, \(eventColumns.map(\.name).joined(separator: ", ")))
                SELECT \(added.newID("e.id")), \(values.joined(separator: ", "))
                FROM \(added.events)
                \(joins.joined(separator: "\n"))
                ORDER BY e.id;
                INSERT INTO main.event_context (event_id, scope, name_id, value_id)
                SELECT \(added.newID("t.event_id")), t.scope, \(name), \(value)
                FROM \(added.rows(of: "event_context"))
                \(identity.contains("context_names") ? "" : "LEFT JOIN temp.merge_map_context_names n ON n.old = t.name_id")
                \(identity.contains("context_values") ? "" : "LEFT JOIN temp.merge_map_context_values v ON v.old = t.value_id")
                ORDER BY t.event_id, t.scope, t.name_id;
                INSERT INTO main.event_grantees (event_id, grantee)
                SELECT \(added.newID("t.event_id")), t.grantee FROM \(added.rows(of: "event_grantees"))
                ORDER BY t.event_id;
                INSERT INTO main.event_addenda (event_id, reason, updated_fields, original_request_uid, original_event_uid)
                SELECT \(added.newID("t.event_id")), t.reason, t.updated_fields, t.original_request_uid, t.original_event_uid
                FROM \(added.rows(of: "event_addenda"))
                ORDER BY t.event_id;
                """.replacingOccurrences(of: "\n\n", with: "\n"))
    }

    /// The range and the UTC days of the events added; `schema` holds the shard's tables.
    static func addedTimes(_ db: Database, _ added: AddedEvents, schema: String = "shard") throws -> (
        first: Int64?, last: Int64?, days: [String]
    ) {
        guard added.count > 0 else { return (nil, nil, []) }
        if added.all {
            // Every event of the shard: its earliest and latest times, and the earliest of each
            // next day, are seeks in the index of the shard's uids (time first), one per day.
            let first = try Int64.fetchOne(db, sql: "SELECT min(event_time) FROM \(schema).event_uids")
            let last = try Int64.fetchOne(db, sql: "SELECT max(event_time) FROM \(schema).event_uids")
            var days: [String] = []
            var next = first
            while let time = next {
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT date(?1 * 86400, 'unixepoch'), (SELECT min(event_time) FROM \(schema).event_uids WHERE event_time >= (?1 + 1) * 86400000)
                        """, arguments: [DailySummaries.day(ofMilliseconds: time)])
                days.append(row?[0] ?? "")
                next = row?[1]
            }
            return (first, last, days)
        }
        let row = try Row.fetchOne(db, sql: "SELECT min(event_time) AS first, max(event_time) AS last FROM temp.merge_events")
        // Days as integers first (floor division, for times before 1970 too): a date() per event
        // cost more than the grouping.
        let days = try String.fetchAll(
            db,
            sql: """
                SELECT date(day * 86400, 'unixepoch') FROM (
                    SELECT (event_time - ((event_time % 86400000) + 86400000) % 86400000) / 86400000 AS day
                    FROM temp.merge_events GROUP BY day)
                ORDER BY day
                """)
        return (row?["first"], row?["last"], days)
    }

    /// Drops the temporary tables of one shard's merge.
    static func dropTemporaryTables(_ db: Database) throws {
        let names = try String.fetchAll(
            db, sql: "SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name LIKE 'merge\\_%' ESCAPE '\\'")
        for name in names { try db.execute(sql: "DROP TABLE temp.\(name)") }
    }
}

/// A shard whose rows do not fit the index (a row of a table that matches no row of the index).
struct MergeInconsistency: Error, CustomStringConvertible {
    var description: String
}
