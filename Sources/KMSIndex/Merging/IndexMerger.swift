import Foundation
import GRDB
import GRDBSQLite

/// Unites indexes written by separate ingests (shards) into one.
///
/// Each shard is attached read-only to the destination's connection and copied in one
/// transaction, table by table with set-based SQL (`MergeStatements`): rows of distinct values
/// (keys, principals, objects, strings…) and ledger rows by their natural keys, events by the
/// identity ingest uses, `(event_time, event_uid)`, so that an event already in the destination
/// is not added again. A merge killed at any moment leaves each shard wholly merged or not at
/// all; merging a shard again adds nothing.
///
/// The caller holds the destination's `IndexLock`, as ingest does.
package final class IndexMerger {
    package let destination: IndexDatabase
    /// The destination's path as errors name it: a new index is built under a temporary name.
    package let destinationName: String
    /// Shards up to this size in bytes (1 GiB: about 5 million events) are merged with their
    /// temporary tables (id maps) in memory, at most a few hundred MB; larger ones with them in
    /// temporary files.
    package var largestShardWithMapsInMemory: Int64 = 1 << 30

    /// `destination` is opened for writing (`IndexDatabase.openForWriting`); errors name it
    /// `name`, its own path unless given.
    package init(destination: IndexDatabase, name: String? = nil) {
        self.destination = destination
        destinationName = name ?? destination.path
    }

    /// True when `shardPath` names the destination's file (the same file, by any path).
    package func isDestination(_ shardPath: String) -> Bool {
        var a = stat(), b = stat()
        guard stat(shardPath, &a) == 0, stat(destination.path, &b) == 0 else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// Merges one shard into the destination, in one transaction; throws `MergeError`, naming the
    /// shard and the reason, with the destination unchanged.
    package func merge(shardPath: String) throws -> MergeResult {
        let started = Date()
        if isDestination(shardPath) {
            throw MergeError(shardPath, "is the index merged into; a shard must be another index", isDestination: true)
        }
        do {
            let shardBytes = try Self.checkShardFile(shardPath)
            var result = try destination.queue.writeWithoutTransaction { db in
                // The id maps in memory, unless the shard is large: written to temporary files,
                // they were about a third of the pages a merge wrote.
                try db.execute(sql: "PRAGMA temp_store = \(shardBytes <= largestShardWithMapsInMemory ? "MEMORY" : "FILE")")
                try Self.attach(shardPath, db)
                defer { try? db.execute(sql: "DETACH DATABASE shard") }
                var result = MergeResult(shardPath: shardPath)
                try db.inTransaction(.immediate) {
                    try Self.checkShard(db, schema: "shard", path: shardPath)
                    result = try Self.mergeAttachedShard(db, result)
                    return .commit
                }
                return result
            }
            result.seconds = Date().timeIntervalSince(started)
            return result
        } catch let error as MergeError {
            throw error
        } catch let error as DatabaseError {
            // A full disk or a failing one is the destination's, not the shard's (attached read-only).
            let reason = StorageFailure.explain(error, index: destinationName, onlyWrites: true)
            throw MergeError(shardPath, reason ?? error.message ?? "\(error)")
        } catch {
            throw MergeError(shardPath, "\(error)")
        }
    }

    /// Copies the attached shard; inside the shard's transaction.
    private static func mergeAttachedShard(_ db: Database, _ start: MergeResult) throws -> MergeResult {
        var result = start
        result.shardEvents = try Int.fetchOne(db, sql: "SELECT count(*) FROM shard.event_uids") ?? 0
        result.shardFiles = try Int.fetchOne(db, sql: "SELECT count(*) FROM shard.ledger_files") ?? 0
        try MergeStatements.dropTemporaryTables(db)
        for dimension in MergeStatements.dimensions {
            result.rowsAdded[dimension.table] = try MergeStatements.merge(dimension, db)
        }
        result.rowsAdded["s3_folders"] = try MergeStatements.mergeFolders(db)
        result.rowsAdded["context_values"] = try MergeStatements.mergeContextValues(db)
        result.rowsAdded["principals"] = try MergeStatements.mergePrincipals(db)
        result.rowsAdded["s3_objects"] = try MergeStatements.mergeObjects(db)
        result.rowsAdded["kms_key_aliases"] = try MergeStatements.mergeAliases(db)
        (result.filesAdded, result.filesUpdated) = try MergeStatements.mergeFiles(db)
        // Events of the destination its summaries have not counted yet (usually none) are
        // counted first: the shard's counts are then added after them.
        try DailySummaries.addNewEvents(db)
        let identity = try MergeStatements.identityMaps(db)
        let added = try MergeStatements.insertEventUIDs(db, uids: result.shardEvents, identity: identity)
        result.eventsAdded = added.count
        result.duplicates = result.shardEvents - result.eventsAdded
        try MergeStatements.insertEvents(db, added, identity: identity)
        try MergeStatements.countAddedEvents(db, after: added.lastID)
        (result.rowsAdded["s3_reads"], result.rowsAdded["s3_reads_staged"]) = try MergeStatements.mergeS3Reads(db)
        (result.firstEventTime, result.lastEventTime, result.days) = try MergeStatements.addedTimes(db, added)
        try refreshDerivedTables(db, added, identity: identity)
        // An update and the event it supersedes may come from the shard and the destination.
        try MergeStatements.mergeClaims(db)
        try MergeStatements.mergePrunedReaders(db)
        result.eventsSuperseded = try Addenda.removeSuperseded(db)
        try UnreferencedRows.remove(db)
        try MergeStatements.dropTemporaryTables(db)
        return result
    }

    /// Brings the tables derived from events (daily summaries and their rollups) up to date
    /// after a shard's events were inserted, in the same transaction. When the shard's events
    /// are all new, its own daily summaries and rollups, ids remapped, are added to the
    /// destination's; otherwise the events merge added (ids above every event the summaries
    /// have counted) are counted as the writer's would be.
    private static func refreshDerivedTables(_ db: Database, _ added: MergeStatements.AddedEvents, identity: Set<String>) throws {
        guard try MergeStatements.shardSummariesCountAddedEvents(db, added) else {
            try DailySummaries.addNewEvents(db)
            return
        }
        if try !MergeStatements.copyShardSummaries(db, identity: identity) {
            try MergeStatements.addShardSummaries(db)
        }
        try DailySummaries.setWatermark(db, try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.events") ?? 0)
    }

    /// Why merge refuses the shard at `path`, as its outcome (a success with nothing added
    /// when it would not).
    package static func refusal(_ path: String) -> Result<MergeResult, MergeError> {
        do {
            try checkShardFile(path)
            return .success(MergeResult(shardPath: path))
        } catch let error as MergeError {
            return .failure(error)
        } catch {
            return .failure(MergeError(path, "\(error)"))
        }
    }

    /// Refuses, before attaching it, a shard that is missing, not a regular file, empty, not
    /// SQLite, not a kmsindex index, or of another schema. Opening it read-only also repairs
    /// what a killed writer left (a hot journal, a WAL to recover), as queries do.
    /// Returns the shard's size in bytes.
    @discardableResult
    static func checkShardFile(_ path: String) throws -> Int64 {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw MergeError(path, "cannot read: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw MergeError(path, "not a regular file") }
        guard status.st_size > 0 else { throw MergeError(path, "empty file: not a kmsindex index") }
        do {
            try IndexDatabase.checkFileHeader(path: path)
        } catch {
            throw MergeError(path, "not a SQLite database")
        }
        do {
            let reader = try IndexDatabase.readOnlyQueue(path: path)
            defer { try? reader.close() }
            try reader.read { db in try checkShard(db, schema: "main", path: path) }
        } catch let error as DatabaseError {
            // The shard's own reason (its folder), not the destination's.
            if let reason = IndexDatabase.unreadableHere(path, error) { throw MergeError(path, reason.description) }
            throw error
        }
        return Int64(status.st_size)
    }

    /// Refuses a database (`schema` of `db`) that is not a kmsindex index of this binary's schema.
    static func checkShard(_ db: Database, schema: String, path: String) throws {
        let appID = try Int32.fetchOne(db, sql: "PRAGMA \(schema).application_id") ?? 0
        guard appID == IndexDatabase.applicationID else {
            throw MergeError(path, "a SQLite database but not a kmsindex index (application_id \(appID))")
        }
        let hasMigrations =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM \(schema).sqlite_master WHERE type = 'table' AND name = 'grdb_migrations' COLLATE NOCASE
                    """) ?? 0
        let applied = hasMigrations > 0 ? try String.fetchAll(db, sql: "SELECT identifier FROM \(schema).grdb_migrations") : []
        let known = IndexDatabase.migrations.map(\.identifier)
        let newer = Set(applied).subtracting(known).sorted()
        if !newer.isEmpty {
            throw MergeError(
                path,
                "written by a newer kmsindex (schema \(newer.joined(separator: ", "))); this binary "
                    + "knows schema version \(IndexDatabase.schemaVersion): upgrade kmsindex")
        }
        let missing = known.filter { !applied.contains($0) }
        if !missing.isEmpty {
            let version = applied.compactMap { Int($0.prefix { $0.isNumber }) }.max() ?? 0
            throw MergeError(
                path,
                "an index of schema \(version), older than this kmsindex's \(IndexDatabase.schemaVersion): "
                    + "merge migrates no shard; open it once with this kmsindex (`kmsindex stats --db \(path)` "
                    + "migrates it), then merge again")
        }
        // A migration's days not yet counted again (a run killed after it): the shard's summaries
        // are not its events' yet.
        if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM \(schema).summary_recounts)") == true {
            throw MergeError(
                path,
                "its summaries are still to be counted again after its last migration: open it once with this "
                    + "kmsindex (`kmsindex stats --db \(path)`), then merge again")
        }
    }

    /// Attaches the shard as `shard`, read-only: as a `file:` URI with `mode=ro`, its path bound
    /// as a parameter (where SQLite reads no URIs, by its plain path; merge only reads it).
    static func attach(_ path: String, _ db: Database) throws {
        guard SQLiteSetup.uriFilenames else {
            try db.execute(sql: "ATTACH DATABASE ? AS shard", arguments: [path])
            return
        }
        try db.execute(sql: "ATTACH DATABASE ? AS shard", arguments: [readOnlyURI(path)])
        guard sqlite3_db_readonly(db.sqliteConnection, "shard") == 1 else {
            try? db.execute(sql: "DETACH DATABASE shard")
            throw MergeError(path, "could not be attached read-only")
        }
    }

    /// `file:///ABSOLUTE/PATH?mode=ro`, every byte of the path but letters, digits and `/._-~`
    /// percent-encoded.
    static func readOnlyURI(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var uri = "file://"
        for byte in absolute.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "-"), UInt8(ascii: "~"):
                uri.append(Character(Unicode.Scalar(byte)))
            default:
                uri += String(format: "%%%02X", byte)
            }
        }
        return uri + "?mode=ro"
    }
}
