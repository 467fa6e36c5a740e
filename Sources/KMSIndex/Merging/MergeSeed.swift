import Foundation
import GRDB

/// A merge into an index that does not exist yet starts from a copy of one shard.
///
/// Merging a shard into an empty index adds every row of it, ids unchanged: the result is the
/// shard itself, less this index's own `findings` state. A page-by-page copy of the shard
/// (SQLite's backup) gives it without reading a row, and without creating and migrating a new
/// index; the largest shard is chosen, as the one whose merge would cost most. The copy is
/// written under a temporary name, flushed, then renamed into place: a merge killed meanwhile
/// leaves no index, and run again starts over.
extension IndexMerger {
    /// True when nothing is at `destinationPath`: no index, and no journal or WAL a copy
    /// renamed there would be read with.
    package static func canSeed(_ destinationPath: String) -> Bool {
        ["", "-wal", "-journal"].allSatisfy { access(destinationPath + $0, F_OK) != 0 && errno == ENOENT }
    }

    /// Of `shardPaths`, the index of the largest file that is a shard merge accepts; nil when
    /// none is. Files are checked largest first, so usually only the one chosen is opened.
    package static func seedChoice(_ shardPaths: [String]) -> Int? {
        var sizes: [(index: Int, bytes: Int64)] = []
        for (index, path) in shardPaths.enumerated() {
            var status = stat()
            if stat(path, &status) == 0 { sizes.append((index, Int64(status.st_size))) }
        }
        // Largest first; of equal sizes, the first given.
        sizes.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.index < $1.index }
        return sizes.first { (try? checkShardFile(shardPaths[$0.index])) != nil }?.index
    }

    /// Creates the index at `destinationPath` (where `canSeed` holds) as a copy of the shard at
    /// `shardPath`, and returns what merging that shard into an empty index would report. The
    /// caller holds the destination's `IndexLock`.
    package static func seed(destinationPath: String, from shardPath: String) throws -> MergeResult {
        let started = Date()
        try checkShardFile(shardPath)
        let temporary = destinationPath + ".seed"
        unlink(temporary)
        unlink(temporary + "-journal")
        // Created empty and private first, as a new index is: the copy keeps the file's mode.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MergeError(shardPath, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        close(fd)
        do {
            var result = MergeResult(shardPath: shardPath)
            let source = try IndexDatabase.readOnlyQueue(path: shardPath)
            let copy = try DatabaseQueue(path: temporary)
            try source.backup(to: copy)
            try source.close()
            try copy.inDatabase { db in
                // This index's own findings state starts as a new index's does (migration 009):
                // nothing reported or silenced, every event still to examine.
                for table in MergeStatements.localTables.sorted() { try db.execute(sql: "DELETE FROM \(table)") }
                try db.execute(sql: "INSERT INTO findings_state (id, last_event_id) VALUES (1, 0)")
                result = try seededResult(db, result)
            }
            try copy.close()
            try flush(temporary)
            guard rename(temporary, destinationPath) == 0 else {
                throw MergeError(shardPath, "cannot rename \(temporary) to \(destinationPath): \(String(cString: strerror(errno)))")
            }
            let folder = (destinationPath as NSString).deletingLastPathComponent
            try flush(folder.isEmpty ? "." : folder)
            result.seconds = Date().timeIntervalSince(started)
            return result
        } catch {
            unlink(temporary)
            unlink(temporary + "-journal")
            if let error = error as? MergeError { throw error }
            throw MergeError(shardPath, "\(error)")
        }
    }

    /// What `merge(shardPath:)` reports for a shard merged into an empty index: every row added.
    private static func seededResult(_ db: Database, _ start: MergeResult) throws -> MergeResult {
        func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM main.\(table)") ?? 0 }
        var result = start
        result.shardEvents = try count("event_uids")
        result.eventsAdded = result.shardEvents
        result.shardFiles = try count("ledger_files")
        result.filesAdded = result.shardFiles
        let tables =
            MergeStatements.dimensions.map(\.table) + ["principals", "s3_objects", "kms_key_aliases", "s3_reads", "s3_reads_staged"]
        for table in tables { result.rowsAdded[table] = try count(table) }
        let added = MergeStatements.AddedEvents(lastID: 0, count: result.eventsAdded, all: true)
        (result.firstEventTime, result.lastEventTime, result.days) = try MergeStatements.addedTimes(db, added, schema: "main")
        return result
    }

    /// fsync(2) of a file or folder.
    private static func flush(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw MergeError(path, "cannot flush to disk: \(reason)")
        }
        close(fd)
    }
}
