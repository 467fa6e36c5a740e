import Foundation
import GRDB

/// The buckets whose reads `--s3-reads auto` keeps, as the index knows them, read once, on a
/// read-only connection of its own, by the first parsing thread that meets an S3 read: a run
/// without S3 data events never asks. Reads of other buckets are only noted by the parsers
/// (bucket and file), not built; the end of the run decides (`S3ReadStaging`).
final class KnownS3Buckets: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    private var known: Set<String>?

    init(indexPath: String) { path = indexPath }

    func contains(_ bucket: String) -> Bool { names().contains(bucket) }

    /// The names, read the first time.
    func names() -> Set<String> {
        lock.lock()
        defer { lock.unlock() }
        if known == nil {
            var configuration = Configuration()
            configuration.readonly = true
            // Unknown (an unreadable index): every read is noted, and the end of the run decides.
            known =
                (try? DatabaseQueue(path: SQLiteSetup.literal(path), configuration: configuration).read { db in
                    Set(try String.fetchAll(db, sql: S3ReadStaging.bucketsThatCount))
                }) ?? []
        }
        return known!
    }
}
