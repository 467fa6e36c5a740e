import Foundation
import GRDB

/// Writes reads of S3 objects (`s3_reads`), through the event writer's id caches, and keeps
/// `--s3-reads auto`'s staging (`s3_reads_staged`: a file and the hash of a bucket's name).
///
/// `auto` keeps the reads of buckets that KMS events name as a bucket (S3 Bucket Keys) or
/// that hold CloudTrail log files. Which buckets count is decided from the whole index at the
/// end of a run (`S3ReadStaging.resolve`), after every KMS event of the run is written, so the
/// index does not depend on the order files are read in. Reads of buckets known before the
/// run go straight in. For the others only the file and a hash of the bucket's name are
/// noted, in the file's transaction (a killed run loses nothing): at the end, the files of
/// buckets that count are read again for those reads, and the notes are dropped. Data events
/// on unrelated buckets cost a small row per file and bucket during the run, and nothing after.
extension EventWriter {
    /// Inserts `read` unless an S3 read with its time and eventID is indexed; returns whether it was new.
    @discardableResult
    func insertS3Read(_ read: S3ReadEvent, fileID: Int64) throws -> Bool {
        // Bound through the C API with their lengths: GRDB binds a String up to its first NUL,
        // and what a caller wrote (an error message, an address, an eventID) may hold one.
        var row = BoundStatement(
            try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO s3_reads (event_time, event_uid, event_name_sid, region_sid, recipient_account_sid, principal_id,
                                                    object_id, source_ip, user_agent_id, error_code_sid, error_message, bytes, source_file_id,
                                                    shared_event_uid)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """))
        row.int(read.eventTimeMs)
        row.uid(CloudTrailID(read.eventID))
        row.int(try dimensions.string(read.eventName))
        row.int(try dimensions.string(read.awsRegion))
        row.int(try dimensions.string(read.recipientAccountID))
        row.int(try dimensions.principal(read.principal))
        row.int(try dimensions.object(read.objectARN))
        if let ip = read.sourceIPAddress, let packed = StoredAddress.ipv4(ip) { row.int(packed) } else { row.text(read.sourceIPAddress) }
        row.int(try dimensions.userAgent(read.userAgent))
        row.int(try dimensions.string(read.errorCode))
        row.text(read.errorMessage)
        row.int(read.bytes)
        row.int(fileID)
        row.uid(read.sharedEventID.map { CloudTrailID($0) })
        _ = try row.execute(db)
        let added = db.changesCount > 0
        if let original = read.supersedes {
            // Claimed as a KMS update's is, and settled with them (`Addenda.removeSuperseded`).
            var claim = BoundStatement(
                try db.cachedStatement(
                    sql: "INSERT OR IGNORE INTO superseding_claims (event_time, original_uid, update_uid) VALUES (?, ?, ?)"))
            claim.int(read.eventTimeMs)
            claim.uid(CloudTrailID(original))
            claim.uid(CloudTrailID(read.eventID))
            _ = try claim.execute(db)
        }
        if !added { return false }
        s3ReadsAdded += 1
        return true
    }

    /// Writes a file's S3 reads (after its ledger row, `fileID`): kept, or noted for the end
    /// of the run when `staging` does not know their bucket yet.
    func writeS3Reads(_ reads: inout [S3ReadEvent], noted: Set<String>, fileID: Int64, staging: S3ReadStaging?) throws {
        func note(_ bucket: String) throws {
            var row = BoundStatement(
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO s3_reads_staged (source_file_id, bucket_hash) VALUES (?, ?)"))
            row.int(fileID)
            row.int(LedgerPath.hash(bucket))
            _ = try row.execute(db)
        }
        for bucket in noted.sorted() { try note(bucket) }
        for read in reads {
            if let staging, try !staging.knownBuckets(db).contains(read.bucket) {
                try note(read.bucket)
            } else {
                try insertS3Read(read, fileID: fileID)
            }
        }
        reads = []
    }
}

/// `--s3-reads auto`: the buckets whose reads count, and the decision at the end of a run.
final class S3ReadStaging {
    /// Buckets whose reads count, as the index knew them before the run's first S3 read
    /// (asked then, and only then: a run without S3 data events pays nothing).
    private var known: Set<String>?

    func knownBuckets(_ db: Database) throws -> Set<String> {
        if let known { return known }
        let found = Set(try String.fetchAll(db, sql: Self.bucketsThatCount))
        known = found
        return found
    }

    /// Names of the buckets KMS events name as a bucket, or whose objects a trail's events
    /// name (log files: `log_buckets`, the buckets of `trail_files`, which holds every object
    /// of an event with `aws:cloudtrail:arn`), over the whole index.
    static let bucketsThatCount = """
        SELECT b.name FROM s3_buckets b WHERE EXISTS (
            SELECT 1 FROM s3_object_rows o
            WHERE \(S3ObjectSQL.isBucketRow) AND o.bucket_id = b.id
              AND EXISTS (SELECT 1 FROM events e WHERE e.object_id = o.id))
        UNION
        SELECT b.name FROM s3_buckets b WHERE b.id IN (SELECT bucket_id FROM log_buckets)
        """

    /// Keeps the noted reads of buckets that count now, reading their files again, and drops
    /// the notes; in the caller's transaction, after the run's last events are written and
    /// counted. A file that changed since (its bytes' SHA-256 differs from the ledger's) is
    /// left alone: the next run reads it again anyway.
    static func resolve(_ db: Database, writer: EventWriter, parser base: FileParser) throws {
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_reads_staged") ?? 0
        if count == 0 { return }
        // Notes name a bucket by the hash of its name: two names with one hash only make a file
        // be read again for reads it does not hold.
        var counting: [Int64: [String]] = [:]
        for name in try String.fetchAll(db, sql: bucketsThatCount) { counting[LedgerPath.hash(name), default: []].append(name) }
        var files: [Int64: (path: String, sha: String?, buckets: Set<String>)] = [:]
        let notes = try Row.fetchCursor(
            db,
            sql: """
                SELECT s.source_file_id, f.path, f.file_sha256, s.bucket_hash
                FROM s3_reads_staged s JOIN source_files f ON f.id = s.source_file_id ORDER BY s.source_file_id
                """)
        while let row = try notes.next() {
            guard let names = counting[row[3]] else { continue }
            files[row[0], default: (row[1], row[2], [])].buckets.formUnion(names)
        }
        for (fileID, file) in files.sorted(by: { $0.key < $1.key }) {
            var parser = base
            parser.s3Reads = .buckets(file.buckets)
            let result = parser.parse(InputFile(path: file.path, size: 0, mtimeNs: 0))
            guard result.outcome == .ingested, let sha = file.sha, result.fileSHA256 == sha else { continue }
            for read in result.s3Reads { try writer.insertS3Read(read, fileID: fileID) }
        }
        try db.execute(sql: "DELETE FROM s3_reads_staged")
    }
}
