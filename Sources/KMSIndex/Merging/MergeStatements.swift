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
        Dimension(table: "context_values", key: "value", columns: ["value"]),
        Dimension(table: "kms_keys", key: "arn", columns: ["arn", "account_id", "region", "key_id"]),
        Dimension(table: "trails", key: "arn", columns: ["arn", "account_id", "region", "name"]),
        Dimension(table: "s3_buckets", key: "arn", columns: ["arn", "name"]),
        Dimension(table: "own_principals", key: "arn", columns: ["arn", "added_at"]),
        Dimension(table: "ledger_dirs", key: "path", columns: ["path"]),
    ]

    /// Columns of `principals`: found by their identity hash and then every field, as the
    /// writer finds them (`mergePrincipals`).
    static let principalColumns = ["identity_hash"] + EventDimensions.principalFields

    /// Columns of the other tables merge copies (besides `id` where they have one).
    static let objectColumns = ["kind", "bucket_id", "key", "key_hash"]
    static let aliasColumns = ["key_id", "alias", "first_seen", "last_seen"]
    static let fileColumns = [
        "dir_id", "name", "path_hash", "size", "mtime_ns", "outcome", "reason", "records", "kms_events", "events_added",
        "malformed_records", "uncompressed_bytes", "content_sha256", "read_at",
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
    ]

    /// Columns of `s3_reads`, with the table whose ids each names (nil: copied as it is).
    static let s3ReadColumns: [(name: String, mappedBy: String?)] = [
        ("event_time", nil), ("event_uid", nil), ("event_name_sid", "strings"), ("region_sid", "strings"),
        ("recipient_account_sid", "strings"), ("principal_id", "principals"), ("object_id", "s3_objects"),
        ("source_ip", nil), ("user_agent_id", "user_agents"), ("error_code_sid", "strings"), ("error_message", nil),
        ("bytes", nil), ("source_file_id", "ledger_files"),
    ]
    static let stagedS3ReadColumns: [(name: String, mappedBy: String?)] = [
        ("bucket", nil), ("source_file_id", "ledger_files"),
    ]

    /// Copies the shard's S3 reads the destination lacks (unique by time and eventID, as in
    /// ingest) and its staged reads (a killed ingest's: the next ingest into the destination
    /// decides them), ids remapped; returns how many of each were added.
    static func mergeS3Reads(_ db: Database) throws -> (reads: Int, staged: Int) {
        func copy(_ table: String, _ columns: [(name: String, mappedBy: String?)], conflict: String) throws -> Int {
            let (values, joins) = remapped(columns)
            try db.execute(sql: """
                INSERT \(conflict) INTO main.\(table) (\(columns.map(\.name).joined(separator: ", ")))
                SELECT \(values.joined(separator: ", ")) FROM shard.\(table) e
                \(joins.joined(separator: "\n"))
                ORDER BY e.id
                """)
            return db.changesCount
        }
        return (try copy("s3_reads", s3ReadColumns, conflict: "OR IGNORE"), try copy("s3_reads_staged", stagedS3ReadColumns, conflict: "OR IGNORE"))
    }

    /// Tables derived from events (rollups, summaries), which merge does not copy: they are
    /// refreshed in `IndexMerger.refreshDerivedTables` from the events merge adds. Every other
    /// table of the schema must be in `mergedColumns` (a test checks it).
    static let derivedTables: Set<String> = [
        "activity_daily", "object_daily", "summary_state", "usage_daily", "activity_totals", "callers", "trail_files",
        "log_buckets",
    ]

    /// Tables of this index's own `findings` runs (its watermark, what it reported, what is
    /// silenced): state of the destination, not data of a shard, so merge leaves them as they are.
    static let localTables: Set<String> = ["findings_state", "findings_reported", "findings_silenced"]

    /// Every table merge writes, with the columns it copies (besides `id`).
    static var mergedColumns: [String: [String]] {
        var tables = Dictionary(uniqueKeysWithValues: dimensions.map { ($0.table, $0.columns) })
        tables["principals"] = principalColumns
        tables["s3_objects"] = objectColumns
        tables["kms_key_aliases"] = aliasColumns
        tables["ledger_files"] = fileColumns
        tables["event_uids"] = uidColumns
        tables["event_context"] = contextColumns
        tables["event_grantees"] = ["event_id", "grantee"]
        tables["events"] = eventColumns.map(\.name)
        tables["s3_reads"] = s3ReadColumns.map(\.name)
        tables["s3_reads_staged"] = stagedS3ReadColumns.map(\.name)
        return tables
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
        try db.execute(sql: """
            INSERT INTO temp.merge_map_\(d.table) (old, new)
            SELECT s.id, d.id FROM shard.\(d.table) s CROSS JOIN main.\(d.table) d ON d.\(d.key) = s.\(d.key)
            """)
        try checkMapped(db, d.table)
        return added
    }

    /// Principals have no UNIQUE key: the writer finds one by its identity hash (indexed) and
    /// then every field, an absent field matching an empty one. Adds the shard's principals the
    /// destination lacks, maps every one; returns how many were added.
    static func mergePrincipals(_ db: Database) throws -> Int {
        let columns = principalColumns.joined(separator: ", ")
        let found = """
            (SELECT d.id FROM main.principals d WHERE d.identity_hash = s.identity_hash
             \(EventDimensions.principalFields.map { "AND coalesce(d.\($0), '') = coalesce(s.\($0), '')" }.joined(separator: " "))
             ORDER BY d.id LIMIT 1)
            """
        try createMap(db, "principals")
        let mapFound = """
            INSERT INTO temp.merge_map_principals (old, new)
            SELECT old, new FROM (SELECT s.id AS old, \(found) AS new FROM shard.principals s
                                  WHERE s.id NOT IN (SELECT old FROM temp.merge_map_principals))
            WHERE new IS NOT NULL
            """
        try db.execute(sql: mapFound)
        try db.execute(sql: """
            INSERT INTO main.principals (\(columns)) SELECT \(columns) FROM shard.principals s
            WHERE s.id NOT IN (SELECT old FROM temp.merge_map_principals) ORDER BY s.id
            """)
        let added = db.changesCount
        try db.execute(sql: mapFound)
        try checkMapped(db, "principals")
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

    /// S3 locations. `s3_objects` has no UNIQUE key: the writer finds a location by
    /// (key_hash, key, bucket_id), with NULL equal to NULL (`IS`), through the key_hash index. A
    /// bucket-level location has no key (and no key hash): those are matched by bucket through a
    /// temporary table of the destination's, which the key_hash index lists (key_hash IS NULL).
    /// Locations not found get their shard id plus the destination's last id (after every id
    /// there, in the shard's order) and are inserted with it: no second lookup to learn their ids.
    static func mergeObjects(_ db: Database) throws -> Int {
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.s3_objects") ?? 0
        try db.execute(sql: """
            CREATE TEMP TABLE merge_objects (old INTEGER PRIMARY KEY, kind TEXT, bucket_id INTEGER, key TEXT,
                                             key_hash INTEGER, new INTEGER, added INTEGER NOT NULL DEFAULT 0);
            INSERT INTO temp.merge_objects (old, kind, bucket_id, key, key_hash)
            SELECT o.id, o.kind, b.new, o.key, o.key_hash
            FROM shard.s3_objects o LEFT JOIN temp.merge_map_s3_buckets b ON b.old = o.bucket_id;
            CREATE TEMP TABLE merge_bucket_objects (bucket_id INTEGER PRIMARY KEY, id INTEGER NOT NULL);
            INSERT OR IGNORE INTO temp.merge_bucket_objects (bucket_id, id)
            SELECT bucket_id, id FROM main.s3_objects WHERE key_hash IS NULL AND key IS NULL AND bucket_id IS NOT NULL;
            UPDATE temp.merge_objects SET new = (
                SELECT d.id FROM main.s3_objects d
                WHERE d.key_hash = merge_objects.key_hash AND d.key = merge_objects.key AND d.bucket_id IS merge_objects.bucket_id)
            WHERE key_hash IS NOT NULL;
            UPDATE temp.merge_objects SET new = (SELECT b.id FROM temp.merge_bucket_objects b WHERE b.bucket_id = merge_objects.bucket_id)
            WHERE key_hash IS NULL AND key IS NULL;
            UPDATE temp.merge_objects SET new = old + ?, added = 1 WHERE new IS NULL;
            INSERT INTO main.s3_objects (id, kind, bucket_id, key, key_hash)
            SELECT new, kind, bucket_id, key, key_hash FROM temp.merge_objects WHERE added ORDER BY new;
            """, arguments: [last])
        let added = db.changesCount
        try createMap(db, "s3_objects")
        try db.execute(sql: "INSERT INTO temp.merge_map_s3_objects (old, new) SELECT old, new FROM temp.merge_objects")
        try checkMapped(db, "s3_objects")
        return added
    }

    /// Aliases of keys, with the earliest first and latest last seen of both; returns the rows
    /// added or widened.
    static func mergeAliases(_ db: Database) throws -> Int {
        // `WHERE true`: an upsert's SELECT needs a WHERE clause for SQLite to parse ON CONFLICT.
        try db.execute(sql: """
            INSERT INTO main.kms_key_aliases (key_id, alias, first_seen, last_seen)
            SELECT m.new, a.alias, a.first_seen, a.last_seen
            FROM shard.kms_key_aliases a CROSS JOIN temp.merge_map_kms_keys m ON m.old = a.key_id WHERE true
            ON CONFLICT (key_id, alias) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)
            WHERE excluded.first_seen < first_seen OR excluded.last_seen > last_seen
            """)
        return db.changesCount
    }

    /// The ledger. A path the destination has not read is added; one it has read is replaced
    /// when the shard read it later (`read_at`), as ingest's latest reading of a path wins.
    /// `events_added` of rows added or replaced starts at 0: the events this merge adds from
    /// each file are counted in by `countAddedEvents`. A path is found as the writer finds it:
    /// by its hash, its name and its folder (mapped by `ledger_dirs`' dimension merge first).
    /// Returns (added, replaced).
    static func mergeFiles(_ db: Database) throws -> (added: Int, replaced: Int) {
        try db.execute(sql: """
            CREATE TEMP TABLE merge_files (old INTEGER PRIMARY KEY, dir_id INTEGER, new INTEGER);
            INSERT INTO temp.merge_files (old, dir_id) SELECT s.id, m.new FROM shard.ledger_files s
            LEFT JOIN temp.merge_map_ledger_dirs m ON m.old = s.dir_id;
            UPDATE temp.merge_files SET new = (
                SELECT d.id FROM shard.ledger_files s CROSS JOIN main.ledger_files d
                ON d.path_hash = s.path_hash AND d.name = s.name AND d.dir_id IS merge_files.dir_id
                WHERE s.id = merge_files.old ORDER BY d.id LIMIT 1)
            """)
        let kept = fileColumns.filter { $0 != "dir_id" }
        let values = kept.map { $0 == "events_added" ? "0" : "s.\($0)" }
        try db.execute(sql: """
            UPDATE main.ledger_files SET (\(kept.joined(separator: ", "))) = (\(values.joined(separator: ", ")))
            FROM temp.merge_files m CROSS JOIN shard.ledger_files s ON s.id = m.old
            WHERE ledger_files.id = m.new AND s.read_at > ledger_files.read_at
            """)
        let replaced = db.changesCount
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.ledger_files") ?? 0
        // Paths new to the destination get the shard's id plus its last id, in the shard's order.
        try db.execute(sql: """
            UPDATE temp.merge_files SET new = old + ? WHERE new IS NULL;
            INSERT INTO main.ledger_files (id, \(fileColumns.joined(separator: ", ")))
            SELECT m.new, m.dir_id, \(values.joined(separator: ", "))
            FROM temp.merge_files m CROSS JOIN shard.ledger_files s ON s.id = m.old
            WHERE m.new > ? ORDER BY m.new
            """, arguments: [last, last])
        let added = db.changesCount
        try createMap(db, "ledger_files")
        try db.execute(sql: "INSERT INTO temp.merge_map_ledger_files (old, new) SELECT old, new FROM temp.merge_files")
        try checkMapped(db, "ledger_files")
        return (added, replaced)
    }

    /// Chooses the shard's events the destination lacks (by `(event_time, event_uid)`, the
    /// primary key of `event_uids`): `temp.merge_events (old, new, event_time)`. An event's new id
    /// is its id in the shard plus the destination's last id: after every id of the destination,
    /// in the shard's order, found without numbering (a window function sorted every event).
    /// Duplicates leave their ids unused, as in ingest. Returns the number of events chosen, and
    /// the destination's last id before them: the events added are the rows of `main.events`
    /// with a greater id.
    static func chooseNewEvents(_ db: Database) throws -> (count: Int, lastID: Int64) {
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.events") ?? 0
        try db.execute(sql: """
            CREATE TEMP TABLE merge_events (old INTEGER PRIMARY KEY, new INTEGER NOT NULL, event_time INTEGER NOT NULL);
            INSERT INTO temp.merge_events (old, new, event_time)
            SELECT u.event_id, u.event_id + ?, u.event_time
            FROM shard.event_uids u
            WHERE NOT EXISTS (SELECT 1 FROM main.event_uids d WHERE d.event_time = u.event_time AND d.event_uid = u.event_uid)
            """, arguments: [last])
        return (db.changesCount, last)
    }

    /// The SELECT list of `columns` read from `e`, each id through its map, and the joins it
    /// needs: a LEFT JOIN on the map's primary key per mapped column.
    static func remapped(_ columns: [(name: String, mappedBy: String?)]) -> (values: [String], joins: [String]) {
        var values: [String] = [], joins: [String] = []
        for (k, column) in columns.enumerated() {
            guard let table = column.mappedBy else {
                values.append("e.\(column.name)")
                continue
            }
            values.append("m\(k).new")
            joins.append("LEFT JOIN temp.merge_map_\(table) m\(k) ON m\(k).old = e.\(column.name)")
        }
        return (values, joins)
    }

    /// Inserts the chosen events, their uids and their context pairs, with ids remapped.
    /// Each id goes through a LEFT JOIN on its map's primary key: a correlated subquery per
    /// column opened and closed a cursor for every event.
    static func insertEvents(_ db: Database) throws {
        let (values, joins) = remapped(eventColumns)
        try db.execute(sql: """
            INSERT INTO main.event_uids (event_time, event_uid, event_id)
            SELECT u.event_time, u.event_uid, m.new FROM shard.event_uids u CROSS JOIN temp.merge_events m ON m.old = u.event_id;
            INSERT INTO main.events (id, \(eventColumns.map(\.name).joined(separator: ", ")))
            SELECT m.new, \(values.joined(separator: ", "))
            FROM temp.merge_events m CROSS JOIN shard.events e ON e.id = m.old
            \(joins.joined(separator: "\n"))
            ORDER BY m.old;
            INSERT INTO main.event_context (event_id, scope, name_id, value_id)
            SELECT m.new, c.scope, n.new, v.new
            FROM temp.merge_events m CROSS JOIN shard.event_context c ON c.event_id = m.old
            LEFT JOIN temp.merge_map_context_names n ON n.old = c.name_id
            LEFT JOIN temp.merge_map_context_values v ON v.old = c.value_id
            ORDER BY m.old, c.scope, c.name_id;
            INSERT INTO main.event_grantees (event_id, grantee)
            SELECT m.new, g.grantee FROM temp.merge_events m CROSS JOIN shard.event_grantees g ON g.event_id = m.old
            ORDER BY m.old;
            """)
    }

    /// Adds to each ledger row the events this merge added from its file: the events after
    /// `lastID`, read in one range of the table rather than looked up one by one.
    static func countAddedEvents(_ db: Database, after lastID: Int64) throws {
        try db.execute(sql: """
            UPDATE main.ledger_files SET events_added = events_added + counted.n
            FROM (SELECT source_file_id AS file, count(*) AS n FROM main.events WHERE id > ? GROUP BY source_file_id) AS counted
            WHERE ledger_files.id = counted.file
            """, arguments: [lastID])
    }

    /// The range and the UTC days of the events added.
    static func addedTimes(_ db: Database) throws -> (first: Int64?, last: Int64?, days: [String]) {
        let row = try Row.fetchOne(db, sql: "SELECT min(event_time) AS first, max(event_time) AS last FROM temp.merge_events")
        // Days as integers first (floor division, for times before 1970 too): a date() per event
        // cost more than the grouping.
        let days = try String.fetchAll(db, sql: """
            SELECT date(day * 86400, 'unixepoch') FROM (
                SELECT (event_time - ((event_time % 86400000) + 86400000) % 86400000) / 86400000 AS day
                FROM temp.merge_events GROUP BY day)
            ORDER BY day
            """)
        return (row?["first"], row?["last"], days)
    }

    /// Drops the temporary tables of one shard's merge.
    static func dropTemporaryTables(_ db: Database) throws {
        let names = try String.fetchAll(db, sql: "SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name LIKE 'merge\\_%' ESCAPE '\\'")
        for name in names { try db.execute(sql: "DROP TABLE temp.\(name)") }
    }
}

/// A shard whose rows do not fit the index (a row of a table that matches no row of the index).
struct MergeInconsistency: Error, CustomStringConvertible {
    var description: String
}
