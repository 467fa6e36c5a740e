import GRDB

/// The ledger of source files: rows by path, the events each file added.
extension MergeStatements {
    /// The ledger. A path the destination has not read is added; one it has read is replaced
    /// when the shard read it later (`read_at`), as ingest's latest reading of a path wins.
    /// `events_added` of rows added or replaced starts at 0: the events this merge adds from
    /// each file are counted in by `countAddedEvents`. A path is found as the writer finds it:
    /// by its hash, its name and its folder (mapped by `ledger_dirs`' dimension merge first).
    /// Returns (added, replaced).
    static func mergeFiles(_ db: Database) throws -> (added: Int, replaced: Int) {
        // Names are compared whole: each index cut its own by its own folder's prefix.
        func whole(_ file: String, _ dir: String) -> String { LedgerPath.wholeName(file, dir: dir) }
        try db.execute(
            sql: """
                CREATE TEMP TABLE merge_files (old INTEGER PRIMARY KEY, dir_id INTEGER, new INTEGER);
                INSERT INTO temp.merge_files (old, dir_id) SELECT s.id, m.new FROM shard.ledger_files s
                LEFT JOIN temp.merge_map_ledger_dirs m ON m.old = s.dir_id;
                UPDATE temp.merge_files SET new = (
                    SELECT d.id FROM shard.ledger_files s LEFT JOIN shard.ledger_dirs sd ON sd.id = s.dir_id
                    CROSS JOIN main.ledger_files d ON d.path_hash = s.path_hash AND d.dir_id IS merge_files.dir_id
                    LEFT JOIN main.ledger_dirs dd ON dd.id = d.dir_id
                    WHERE s.id = merge_files.old AND \(whole("d", "dd")) = \(whole("s", "sd"))
                    ORDER BY d.id LIMIT 1)
                """)
        // A row replaced keeps its path (and so its name, as this index cut it).
        let kept = fileColumns.filter { !["dir_id", "name", "name_cut"].contains($0) }
        let values = kept.map { $0 == "events_added" ? "0" : "s.\($0)" }
        // The hash of a file's content (`ingest --content-sha256`, or an audit's) is kept when
        // the later reading of the same bytes has none: a file deleted since can still be
        // compared with its digest.
        let replacing = zip(kept, values).map { column, value in
            column == "content_sha256"
                ? "coalesce(s.content_sha256, iif(s.file_sha256 = ledger_files.file_sha256, ledger_files.content_sha256, NULL))"
                : value
        }
        try db.execute(
            sql: """
                UPDATE main.ledger_files SET (\(kept.joined(separator: ", "))) = (\(replacing.joined(separator: ", ")))
                FROM temp.merge_files m CROSS JOIN shard.ledger_files s ON s.id = m.old
                WHERE ledger_files.id = m.new AND s.read_at > ledger_files.read_at
                """)
        let replaced = db.changesCount
        // The same the other way: a row kept takes the shard's hash of the same bytes.
        try db.execute(
            sql: """
                UPDATE main.ledger_files SET content_sha256 = s.content_sha256
                FROM temp.merge_files m CROSS JOIN shard.ledger_files s ON s.id = m.old
                WHERE ledger_files.id = m.new AND ledger_files.content_sha256 IS NULL AND s.content_sha256 IS NOT NULL
                  AND s.file_sha256 = ledger_files.file_sha256
                """)
        let last = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.ledger_files") ?? 0
        // Paths new to the destination get the shard's id plus its last id, in the shard's order;
        // their names are cut by the destination folder's prefix, in bytes, as migration 022 cuts.
        let name = "CAST(\(whole("s", "sd")) AS BLOB)", prefix = "CAST(dd.name_prefix AS BLOB)"
        let fits = "coalesce(length(\(name)) > length(\(prefix)) AND substr(\(name), 1, length(\(prefix))) = \(prefix), 0)"
        try db.execute(
            sql: """
                UPDATE temp.merge_files SET new = old + ? WHERE new IS NULL;
                INSERT INTO main.ledger_files (id, dir_id, name, name_cut, \(kept.joined(separator: ", ")))
                SELECT m.new, m.dir_id, iif(\(fits), CAST(substr(\(name), length(\(prefix)) + 1) AS TEXT), \(whole("s", "sd"))),
                       \(fits), \(values.joined(separator: ", "))
                FROM temp.merge_files m CROSS JOIN shard.ledger_files s ON s.id = m.old
                LEFT JOIN shard.ledger_dirs sd ON sd.id = s.dir_id LEFT JOIN main.ledger_dirs dd ON dd.id = m.dir_id
                WHERE m.new > ? ORDER BY m.new
                """, arguments: [last, last])
        let added = db.changesCount
        try createMap(db, "ledger_files")
        try db.execute(sql: "INSERT INTO temp.merge_map_ledger_files (old, new) SELECT old, new FROM temp.merge_files")
        try checkMapped(db, "ledger_files")
        return (added, replaced)
    }

    /// Adds to each ledger row the events this merge added from its file: the events after
    /// `lastID`, read in one range of the table rather than looked up one by one.
    static func countAddedEvents(_ db: Database, after lastID: Int64) throws {
        try db.execute(
            sql: """
                UPDATE main.ledger_files SET events_added = events_added + counted.n
                FROM (SELECT source_file_id AS file, count(*) AS n FROM main.events WHERE id > ? GROUP BY source_file_id) AS counted
                WHERE ledger_files.id = counted.file
                """, arguments: [lastID])
    }
}
