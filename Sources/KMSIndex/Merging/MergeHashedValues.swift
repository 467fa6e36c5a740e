import GRDB

/// The distinct values a merge matches by a hash and then their fields, or by their text in both
/// ranges of an index, as the writer finds them (principals, context values, S3 locations and
/// folders): none has a UNIQUE key to insert against.
extension MergeStatements {
    /// Principals have no UNIQUE key: the writer finds one by its identity hash (indexed) and
    /// then every field, an absent field matching an empty one (both sides read through the
    /// view `principals`). Adds the shard's principals the destination lacks, their fields
    /// left out again against the destination's roles (whose prefixes may be another session's
    /// than the shard's), maps every one; returns how many were added. As S3 locations, those
    /// not found get their shard id plus the destination's last id: no second look-up.
    static func mergePrincipals(_ db: Database) throws -> Int {
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.principal_rows") ?? 0
        try createMap(db, "principals")
        try db.execute(
            sql: """
                INSERT INTO temp.merge_map_principals (old, new)
                SELECT s.id, coalesce(
                    (SELECT d.id FROM main.principal_rows x CROSS JOIN main.principals d ON d.id = x.id
                     WHERE x.recent \(RecentRows.anyRange("principal_rows")) AND x.identity_hash = s.identity_hash
                     \(EventDimensions.principalFields.map { "AND coalesce(d.\($0), '') = coalesce(s.\($0), '')" }.joined(separator: " "))
                     ORDER BY d.id LIMIT 1),
                    s.id + ?)
                FROM shard.principals s
                """, arguments: [last])
        let values = PrincipalRows.columns.map { $0 == "role_id" ? "role.id" : "s.\($0)" }
        let range = try RecentRows.rangeForNewRows(db, "principal_rows") ?? 0
        try db.execute(
            sql: PrincipalRows.insert(
                values: values, recent: "\(range)", id: "m.new",
                source: """
                    temp.merge_map_principals m CROSS JOIN shard.principals s ON s.id = m.old
                    LEFT JOIN main.roles role ON role.arn = s.role_arn
                    """,
                filter: "m.new > \(last)", orderBy: "m.new"))
        let added = db.changesCount
        if added > 0 { try LookupFilters.invalidate(db, "principal_rows", addingTo: range) }
        try checkMapped(db, "principals")
        return added
    }

    /// Context values have no UNIQUE key: the writer finds one by the hash of its text
    /// (indexed) and then its text.
    static func mergeContextValues(_ db: Database) throws -> Int {
        try mergeRecentRows(
            db, table: "context_values", columns: ["value_hash", "value"],
            match: "d.value_hash = s.value_hash AND d.value = s.value")
    }

    /// S3 folders: a folder's text is unique within each range of its index, and the writer
    /// looks in both (migration 027).
    static func mergeFolders(_ db: Database) throws -> Int {
        try mergeRecentRows(db, table: "s3_folders", columns: ["folder", "name_prefix"], match: "d.folder = s.folder")
    }

    /// Adds the shard's rows of `table` (one with ranges, see `RecentRows`) the destination
    /// lacks, found in any range of its index by `match` (SQL over the destination's row `d`
    /// and the shard's `s`), and maps every one; returns how many were added. Those not found
    /// get their shard id plus the destination's last id.
    private static func mergeRecentRows(_ db: Database, table: String, columns: [String], match: String) throws -> Int {
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.\(table)") ?? 0
        try createMap(db, table)
        try db.execute(
            sql: """
                INSERT INTO temp.merge_map_\(table) (old, new)
                SELECT s.id, coalesce(
                    (SELECT d.id FROM main.\(table) d WHERE d.recent \(RecentRows.anyRange(table)) AND \(match) ORDER BY d.id LIMIT 1),
                    s.id + ?)
                FROM shard.\(table) s
                """, arguments: [last])
        let range = try RecentRows.rangeForNewRows(db, table) ?? 0
        try db.execute(
            sql: """
                INSERT INTO main.\(table) (id, \(columns.joined(separator: ", ")), recent)
                SELECT m.new, \(columns.map { "s.\($0)" }.joined(separator: ", ")), \(range)
                FROM temp.merge_map_\(table) m CROSS JOIN shard.\(table) s ON s.id = m.old
                WHERE m.new > ? ORDER BY m.new
                """, arguments: [last])
        let added = db.changesCount
        if added > 0 { try LookupFilters.invalidate(db, table, addingTo: range) }
        try checkMapped(db, table)
        return added
    }

    /// S3 locations. `s3_objects` has no UNIQUE key: the writer finds a location by
    /// (key_hash, key, bucket_id), with NULL equal to NULL (`IS`), in its folder or among those
    /// kept whole, through the index by folder (`S3ObjectSQL.rows`); a shard's folder is mapped
    /// to the destination's by its text, as the writer finds it. A bucket-level location has no
    /// key (and no key hash): those are matched by bucket through a temporary table of the
    /// destination's, which the index lists first (no folder, no key hash).
    /// Locations not found get their shard id plus the destination's last id (after every id
    /// there, in the shard's order) and are inserted with it: no second lookup to learn their ids.
    static func mergeObjects(_ db: Database) throws -> Int {
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.s3_objects") ?? 0
        // The map itself holds each location's columns and whether it is added: one pass over
        // the shard's locations finds them all (no UPDATE of every row, no copy into the map).
        try db.execute(
            sql: """
                CREATE TEMP TABLE merge_bucket_objects (bucket_id INTEGER PRIMARY KEY, id INTEGER NOT NULL);
                INSERT OR IGNORE INTO temp.merge_bucket_objects (bucket_id, id)
                SELECT bucket_id, id FROM main.s3_object_rows
                WHERE folder_id IS NULL AND key_hash IS NULL AND name IS NULL AND bucket_id IS NOT NULL;
                CREATE TEMP TABLE merge_map_s3_objects (old INTEGER PRIMARY KEY, new INTEGER NOT NULL, added INTEGER NOT NULL,
                                                        kind TEXT, bucket_id INTEGER, key TEXT, key_hash INTEGER,
                                                        folder_id INTEGER);
                INSERT INTO temp.merge_map_s3_objects (old, new, added, kind, bucket_id, key, key_hash, folder_id)
                SELECT old, coalesce(found, old + ?), found IS NULL, kind, bucket_id, key, key_hash, folder_id FROM (
                    SELECT w.*,
                           CASE WHEN w.key_hash IS NOT NULL THEN
                                    (SELECT d.id FROM main.s3_object_rows r CROSS JOIN main.s3_objects d ON d.id = r.id
                                     WHERE \(S3ObjectSQL.rows(folderID: "w.folder_id", hash: "w.key_hash"))
                                       AND d.key = w.key AND d.bucket_id IS w.bucket_id)
                                WHEN w.key IS NULL THEN (SELECT x.id FROM temp.merge_bucket_objects x WHERE x.bucket_id = w.bucket_id)
                           END AS found
                    FROM (
                        SELECT o.id AS old, o.kind, b.new AS bucket_id, o.key, o.key_hash,
                               (SELECT m.new FROM shard.s3_object_rows r JOIN temp.merge_map_s3_folders m ON m.old = r.folder_id
                                WHERE r.id = o.id) AS folder_id
                        FROM shard.s3_objects o LEFT JOIN temp.merge_map_s3_buckets b ON b.old = o.bucket_id) w);
                \(S3ObjectRows.insert(
                    id: "m.new", kind: "m.kind", bucketID: "m.bucket_id", key: "m.key", keyHash: "m.key_hash", folderID: "m.folder_id",
                    source: "temp.merge_map_s3_objects m", filter: "m.added", orderBy: "m.new"));
                """, arguments: [last])
        let added = db.changesCount
        try checkMapped(db, "s3_objects")
        return added
    }
}
