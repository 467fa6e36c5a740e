import Foundation
import GRDB

/// A merge into an index that does not exist yet builds it whole under a temporary name.
///
/// Merging a shard into an empty index adds every row of it, ids unchanged: the result is the
/// shard itself, less this index's own `findings` state. A page-by-page copy of the shard
/// (SQLite's backup) gives it without reading a row, and without creating and migrating a new
/// index; the largest shard is chosen, as the one whose merge would cost most. The other shards
/// are merged into that copy, which is then flushed and renamed into place: the index appears
/// with every shard in it, and a merge killed before leaves no index, so run again it starts
/// over. Until then nothing else reads the file, so its changes go through a rollback journal
/// (a shard that fails is still undone) with no write-ahead log and no flush per shard: the
/// log's copy of each page, and its checkpoint, were a tenth of the merge (BENCHMARKS.md).
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

    /// Creates the index at `destinationPath` (where `canSeed` holds) from `shardPaths`: a copy
    /// of the shard at `seedIndex`, the others merged into it in order. Returns each shard's
    /// outcome, in the order given; throws, leaving no index, when the copy or the file
    /// itself fails (not when a shard other than the copied one does). The caller holds the
    /// destination's `IndexLock`.
    package static func build(destinationPath: String, shardPaths: [String], seedIndex: Int) throws -> [Result<MergeResult, MergeError>] {
        let temporary = destinationPath + ".seed"
        let leftovers = ["", "-journal", "-wal", "-shm"].map { temporary + $0 }
        for path in leftovers { unlink(path) }
        var outcomes = [Result<MergeResult, MergeError>?](repeating: nil, count: shardPaths.count)
        do {
            outcomes[seedIndex] = .success(try copy(shardPaths[seedIndex], to: temporary))
            let index = try IndexDatabase.openForWriting(path: temporary, lockTimeout: nil)
            try index.queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = TRUNCATE")
                try db.execute(sql: "PRAGMA synchronous = OFF")
            }
            let merger = IndexMerger(destination: index, name: destinationPath)
            for (position, shard) in shardPaths.enumerated() where position != seedIndex {
                do {
                    outcomes[position] = .success(try merger.merge(shardPath: shard))
                } catch let error as MergeError {
                    outcomes[position] = .failure(error)
                }
            }
            // Renamed as an index in WAL mode, as every other one is; closing the last
            // connection removes the (empty) log.
            try index.queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try index.queue.close()
            guard access(temporary + "-wal", F_OK) != 0 else {
                throw MergeError(shardPaths[seedIndex], "\(temporary) kept a write-ahead log after it was closed")
            }
            try flush(temporary)
            guard rename(temporary, destinationPath) == 0 else {
                throw MergeError(
                    shardPaths[seedIndex], "cannot rename \(temporary) to \(destinationPath): \(String(cString: strerror(errno)))")
            }
            let folder = (destinationPath as NSString).deletingLastPathComponent
            try flush(folder.isEmpty ? "." : folder)
        } catch {
            for path in leftovers { unlink(path) }
            if let error = error as? MergeError { throw error }
            throw MergeError(shardPaths[seedIndex], "\(error)")
        }
        return outcomes.map { $0! }
    }

    /// Writes at `temporary` a copy of the shard at `shardPath`, and returns what merging that
    /// shard into an empty index would report.
    private static func copy(_ shardPath: String, to temporary: String) throws -> MergeResult {
        let started = Date()
        try checkShardFile(shardPath)
        // Created empty and private first, as a new index is: the copy keeps the file's mode.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MergeError(shardPath, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        close(fd)
        var result = MergeResult(shardPath: shardPath)
        do {
            let source = try IndexDatabase.readOnlyQueue(path: shardPath)
            let copy = try DatabaseQueue(path: SQLiteSetup.literal(temporary))
            try source.backup(to: copy)
            try source.close()
            try copy.inDatabase { db in
                // The backup copies pages without reading them: a damaged shard would be a
                // damaged index. Checked here (its pages are in memory), it is refused and the
                // shards are merged into a new index as any other, which reads each row.
                let problems = try String.fetchAll(db, sql: "PRAGMA quick_check(1)")
                guard problems == ["ok"] else {
                    throw MergeError(shardPath, "the index is damaged (\(problems.first ?? "quick_check failed"))")
                }
                // This index's own findings state starts as a new index's does (migration 009):
                // nothing reported or silenced, every event still to examine.
                for table in MergeStatements.localTables.sorted() { try db.execute(sql: "DELETE FROM \(table)") }
                try db.execute(sql: "INSERT INTO findings_state (id, last_event_id) VALUES (1, 0)")
                result = try seededResult(db, result)
            }
            try copy.close()
        } catch let error as MergeError {
            throw error
        } catch {
            throw MergeError(shardPath, "\(error)")
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
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
            MergeStatements.dimensions.map(\.table) + [
                "s3_folders", "context_values", "principals", "s3_objects", "kms_key_aliases", "s3_reads", "s3_reads_staged",
            ]
        for table in tables { result.rowsAdded[table] = try count(table) }
        let added = MergeStatements.AddedEvents(lastID: 0, count: result.eventsAdded, all: true)
        (result.firstEventTime, result.lastEventTime, result.days) = try MergeStatements.addedTimes(db, added, schema: "main")
        return result
    }

    /// fsync(2) of a file or folder.
    private static func flush(_ path: String) throws {
        guard DiskSync.flush(path) else { throw MergeError(path, "cannot flush to disk: \(String(cString: strerror(errno)))") }
    }
}
