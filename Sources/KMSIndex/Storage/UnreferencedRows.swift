import GRDB

/// The rows of keys (with their aliases), trails, S3 locations (with their folders and buckets)
/// and principals (with their roles) that removed events named and that nothing names any more,
/// removed with those events: the index then holds what it would hold had the events never come
/// (`stats` counts these tables; `who-read` tells a location it knows from one it never saw),
/// whatever order an update and its original arrive in.
///
/// The same holds for the events of a file read in parts that failed after some parts were
/// written: they go, and the file is read again by the next run.
///
/// `prune` finds such rows by reading every event. The events removed otherwise are few, so
/// their rows are noted before the events go (`note`), then each is looked up in the indexes
/// that name it (`remove`) once the run writes no more events: until then the writer's caches
/// may name them, and a later event may name them again. Two references have no index: a
/// ReEncrypt's source key and an S3 location's bucket; they are read in one pass, and only when
/// a key or a bucket is left to check. Texts (context values, user agents, strings) are left to
/// `prune`: no command counts them; so are the rows noted by a run killed before its end.
enum UnreferencedRows {
    /// Notes the rows that the events `ids` (SQL: a query of event ids) name, before they are
    /// deleted. What is noted is kept in a table of the connection until `remove`; a rollback
    /// takes back both the notes and the deletion.
    static func note(_ db: Database, events ids: String, arguments: StatementArguments = []) throws {
        try note(
            db, rowsOf: "events", ids: ids, arguments: arguments,
            columns: [
                ("key", "key_id"), ("key", "source_key_id"), ("trail", "trail_id"), ("object", "object_id"),
                ("principal", "principal_id"),
            ])
    }

    /// Notes the objects and principals that the S3 reads `ids` (SQL: a query of `s3_reads`
    /// ids) name, before they are deleted.
    static func noteS3Reads(_ db: Database, ids: String) throws {
        try note(db, rowsOf: "s3_reads", ids: ids, columns: [("object", "object_id"), ("principal", "principal_id")])
    }

    /// Notes the rows of each kind that `columns` of the rows `ids` of `table` name.
    private static func note(
        _ db: Database, rowsOf table: String, ids: String, arguments: StatementArguments = [], columns: [(kind: String, column: String)]
    ) throws {
        try createTable(db)
        for (kind, column) in columns {
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO temp.unreferenced (kind, id)
                    SELECT '\(kind)', t.\(column) FROM \(table) t WHERE t.id IN (\(ids)) AND t.\(column) IS NOT NULL
                    """, arguments: arguments)
        }
    }

    /// Whether any row was noted and not yet checked.
    static func anyNoted(_ db: Database) throws -> Bool {
        try createTable(db)
        return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM temp.unreferenced)") ?? false
    }

    private static func createTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TEMP TABLE IF NOT EXISTS unreferenced (kind TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, id))
                    WITHOUT ROWID
                """)
    }

    /// SQL, for each kind of row: what names a row `unreferenced.id` of that kind, each found
    /// through an index (a test reads their plans).
    static let namedThroughIndexes: [(kind: String, namedBy: String)] = [
        ("key", "EXISTS (SELECT 1 FROM events WHERE key_id = unreferenced.id)"),
        ("trail", "EXISTS (SELECT 1 FROM events WHERE trail_id = unreferenced.id)"),
        (
            "object",
            "EXISTS (SELECT 1 FROM events WHERE object_id = unreferenced.id) "
                + "OR EXISTS (SELECT 1 FROM s3_reads WHERE object_id = unreferenced.id)"
        ),
        (
            "principal",
            "EXISTS (SELECT 1 FROM events WHERE principal_id = unreferenced.id) "
                + "OR EXISTS (SELECT 1 FROM s3_reads WHERE principal_id = unreferenced.id)"
        ),
        ("folder", "EXISTS (SELECT 1 FROM s3_object_rows WHERE folder_id = unreferenced.id)"),
        // A role's row gives its sessions' ARN and principalId (`PrincipalRows`): it stays while
        // a principal row names it.
        ("role", "EXISTS (SELECT 1 FROM principal_rows WHERE role_id = unreferenced.id)"),
    ]

    /// SQL: forgets the noted rows of `kind` that `namedBy` finds named.
    static func keep(_ kind: String, namedBy: String) -> String {
        "DELETE FROM temp.unreferenced WHERE kind = '\(kind)' AND (\(namedBy))"
    }

    /// Deletes the noted rows nothing names any more; forgets what was noted. Call when the run
    /// writes no more events.
    static func remove(_ db: Database) throws {
        guard try anyNoted(db) else { return }
        func candidates(_ kind: String) -> String { "(SELECT id FROM temp.unreferenced WHERE kind = '\(kind)')" }
        func keepNamed(_ kinds: String...) throws {
            for (kind, namedBy) in namedThroughIndexes where kinds.contains(kind) {
                try db.execute(sql: keep(kind, namedBy: namedBy))
            }
        }
        // What has no index is read in one pass, and only when a row is left to check.
        func keepScanned(_ kind: String, _ namedBy: String) throws {
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM temp.unreferenced WHERE kind = '\(kind)')") ?? false else {
                return
            }
            try db.execute(sql: keep(kind, namedBy: namedBy))
        }
        // SQL: deletes the rows of `table` whose `column` is a row of `kind` left unnamed.
        func delete(_ table: String, _ column: String = "id", kind: String) -> String {
            "DELETE FROM \(table) WHERE \(column) IN \(candidates(kind));"
        }
        // SQL: notes the rows of `kind` that the `table` rows of `child` about to go name by `column`.
        func noteNamed(_ kind: String, by column: String, of table: String, _ child: String) -> String {
            """
            INSERT OR IGNORE INTO temp.unreferenced (kind, id)
                SELECT '\(kind)', \(column) FROM \(table) WHERE id IN \(candidates(child)) AND \(column) IS NOT NULL;
            """
        }
        try keepNamed("key", "trail", "object", "principal")
        try keepScanned("key", "unreferenced.id IN (SELECT source_key_id FROM events WHERE source_key_id IN \(candidates("key")))")
        try db.execute(
            sql: [
                delete("kms_key_aliases", "key_id", kind: "key"), delete("kms_keys", kind: "key"), delete("trails", kind: "trail"),
                noteNamed("folder", by: "folder_id", of: "s3_object_rows", "object"),
                noteNamed("bucket", by: "bucket_id", of: "s3_object_rows", "object"), delete("s3_object_rows", kind: "object"),
                noteNamed("role", by: "role_id", of: "principal_rows", "principal"), delete("principal_rows", kind: "principal"),
            ].joined(separator: "\n"))
        try keepNamed("folder", "role")
        try keepScanned("bucket", "unreferenced.id IN (SELECT bucket_id FROM s3_object_rows WHERE bucket_id IN \(candidates("bucket")))")
        try db.execute(
            sql: [
                delete("s3_folders", kind: "folder"), delete("s3_buckets", kind: "bucket"), delete("roles", kind: "role"),
                "DELETE FROM temp.unreferenced;",
            ].joined(separator: "\n"))
    }
}
