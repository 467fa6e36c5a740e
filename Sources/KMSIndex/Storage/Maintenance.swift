import Foundation
import GRDB

/// What `prune` removed.
package struct PruneReport: Sendable, Equatable {
    package var events = 0
    /// Reads from S3 data events (`s3_reads`).
    package var s3Reads = 0
    package var contextPairs = 0
    package var keys = 0
    package var objects = 0
    package var trails = 0
    package var principals = 0
    package var userAgents = 0
    package var bytesBefore: Int64 = 0
    package var bytesAfter: Int64 = 0
}

/// Retention and copies of an index.
package enum Maintenance {
    /// Deletes events older than `before` (a UTC time as `EventTime` writes it), then keys,
    /// objects, trails, principals and user agents no event refers to any more, and reclaims
    /// the space. The file ledger is kept, so pruned files are not ingested again.
    package static func prune(_ index: IndexDatabase, before: String) throws -> PruneReport {
        var report = PruneReport()
        report.bytesBefore = fileSize(index.path)
        guard let cutoff = StoredTime.milliseconds(before) else {
            throw QueryError.notATime(before)
        }
        try index.queue.inTransaction { db in
            // Who had read the log files, before their reads go: not new readers after the prune.
            try LogReadFindings.notePrunedReaders(db, before: cutoff)
            try db.execute(
                sql: "DELETE FROM event_context WHERE event_id IN (SELECT id FROM events WHERE event_time < ?)", arguments: [cutoff])
            report.contextPairs = db.changesCount
            try db.execute(
                sql: "DELETE FROM event_grantees WHERE event_id IN (SELECT id FROM events WHERE event_time < ?)", arguments: [cutoff])
            try db.execute(
                sql: "DELETE FROM event_addenda WHERE event_id IN (SELECT id FROM events WHERE event_time < ?)", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM event_uids WHERE event_time < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM superseding_claims WHERE event_time < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM events WHERE event_time < ?", arguments: [cutoff])
            report.events = db.changesCount
            try db.execute(sql: "DELETE FROM s3_reads WHERE event_time < ?", arguments: [cutoff])
            report.s3Reads = db.changesCount
            // S3 reads take the next id past the largest left (a rowid): with the largest gone,
            // ids given before come back, and the findings' mark must not hide them.
            try db.execute(
                sql: """
                    UPDATE findings_state SET last_s3_read_id = min(last_s3_read_id, (SELECT ifnull(max(id), 0) FROM s3_reads))
                    WHERE id = 1
                    """)
            let cutoffDay = DailySummaries.day(ofMilliseconds: cutoff)
            // Every daily summary of the days wholly before the cut: the all-time rollups are
            // made again from them (`recount`).
            for table in ["activity_daily", "object_daily", "usage_daily"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE day < ?", arguments: [cutoffDay])
            }
            try DailySummaries.recount(db, days: cutoffDay...cutoffDay)
            try db.execute(
                sql: """
                    DELETE FROM kms_key_aliases WHERE key_id NOT IN (SELECT key_id FROM events WHERE key_id IS NOT NULL)
                        AND key_id NOT IN (SELECT source_key_id FROM events WHERE source_key_id IS NOT NULL)
                    """)
            try db.execute(
                sql: """
                    DELETE FROM kms_keys WHERE id NOT IN (SELECT key_id FROM events WHERE key_id IS NOT NULL)
                        AND id NOT IN (SELECT source_key_id FROM events WHERE source_key_id IS NOT NULL)
                    """)
            report.keys = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM s3_object_rows WHERE id NOT IN (SELECT object_id FROM events WHERE object_id IS NOT NULL)
                        AND id NOT IN (SELECT object_id FROM s3_reads WHERE object_id IS NOT NULL)
                    """)
            report.objects = db.changesCount
            try db.execute(sql: "DELETE FROM s3_folders WHERE id NOT IN (SELECT folder_id FROM s3_object_rows WHERE folder_id IS NOT NULL)")
            try db.execute(sql: "DELETE FROM s3_buckets WHERE id NOT IN (SELECT bucket_id FROM s3_objects WHERE bucket_id IS NOT NULL)")
            try db.execute(sql: "DELETE FROM context_values WHERE id NOT IN (SELECT value_id FROM event_context)")
            try db.execute(sql: "DELETE FROM trails WHERE id NOT IN (SELECT trail_id FROM events WHERE trail_id IS NOT NULL)")
            report.trails = db.changesCount
            try db.execute(
                sql: """
                    DELETE FROM principal_rows WHERE id NOT IN (SELECT principal_id FROM events WHERE principal_id IS NOT NULL)
                        AND id NOT IN (SELECT principal_id FROM s3_reads WHERE principal_id IS NOT NULL)
                    """)
            report.principals = db.changesCount
            try db.execute(sql: "DELETE FROM roles WHERE id NOT IN (SELECT role_id FROM principal_rows WHERE role_id IS NOT NULL)")
            try db.execute(
                sql: """
                    DELETE FROM user_agents WHERE id NOT IN (SELECT user_agent_id FROM events WHERE user_agent_id IS NOT NULL)
                        AND id NOT IN (SELECT user_agent_id FROM s3_reads WHERE user_agent_id IS NOT NULL)
                    """)
            report.userAgents = db.changesCount
            return .commit
        }
        try index.queue.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        report.bytesAfter = fileSize(index.path)
        return report
    }

    /// Writes a consistent copy of the index to `destination` (which must not exist), while
    /// ingests may be writing: a read transaction sees one snapshot, and `VACUUM INTO` copies it.
    /// The copy is written as `DESTINATION.partial` (one a killed backup left is replaced), flushed,
    /// then linked to its name: a backup killed at any moment leaves no file there that looks
    /// like a whole index.
    package static func backup(_ index: IndexDatabase, to destination: String) throws {
        if FileManager.default.fileExists(atPath: destination) {
            throw DatabaseOpenError.destinationExists(path: destination)
        }
        let partial = destination + ".partial"
        unlink(partial)
        // Created empty and private first: VACUUM INTO fills an empty file and keeps its mode.
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DatabaseOpenError.cannotCreate(path: partial, errno: errno)
        }
        close(fd)
        do {
            try index.queue.inDatabase { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [SQLiteSetup.literal(partial)])
            }
            guard DiskSync.flush(partial) else { throw DatabaseOpenError.cannotCreate(path: partial, errno: errno) }
            // link(2), unlike rename(2), fails rather than replace a file made there meanwhile.
            guard link(partial, destination) == 0 else {
                if errno == EEXIST { throw DatabaseOpenError.destinationExists(path: destination) }
                throw DatabaseOpenError.cannotCreate(path: destination, errno: errno)
            }
            unlink(partial)
            let folder = destination.lastIndex(of: "/").map { String(destination[...$0]) } ?? "."
            guard DiskSync.flush(folder) else { throw DatabaseOpenError.cannotCreate(path: destination, errno: errno) }
        } catch {
            unlink(partial)
            throw error
        }
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
