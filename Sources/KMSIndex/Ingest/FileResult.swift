import Foundation

/// What became of one source file.
package enum FileOutcome: Equatable, Sendable {
    case ingested
    case skipped(reason: String)
    case failed(reason: String)

    package var name: String {
        switch self {
        case .ingested: return "ingested"
        case .skipped: return "skipped"
        case .failed: return "failed"
        }
    }

    package var reason: String? {
        switch self {
        case .ingested: return nil
        case .skipped(let r), .failed(let r): return r
        }
    }
}

/// A file read by ingest, ready to be written: its ledger row and its KMS events.
package struct FileResult: Sendable {
    package var path: String
    package var size: Int64
    package var mtimeNs: Int64
    package var outcome: FileOutcome
    package var records = 0
    package var kmsRecords = 0
    package var malformedCount = 0
    package var malformed: [MalformedRecord] = []
    package var uncompressedBytes: Int?
    /// SHA-256 of the decompressed content, when it was read to the end and asked for.
    package var contentSHA256: String?
    /// SHA-256 of the file's bytes, when it was read to the end.
    package var fileSHA256: String?
    package var events: [KMSEvent] = []
    /// Reads of S3 objects from S3 data events (`--s3-reads`).
    package var s3Reads: [S3ReadEvent] = []
    /// `--s3-reads auto`: buckets of S3 reads not built, as their bucket was not known to
    /// count when the file was read (see `S3ReadStaging`).
    package var s3NotedBuckets: Set<String> = []
    /// Records that could not be used and are not KMS records (counted in `malformedCount`
    /// too): S3 reads, and records that are not JSON objects.
    package var otherMalformedCount = 0
    /// Listed, then gone before it could be opened: counted as skipped, but given no ledger
    /// row, which would make the file unchanged to the next run if it came back as it was (a
    /// folder moved away and back, a sync that fetches it again with the same time).
    package var vanished = false

    package init(path: String, size: Int64, mtimeNs: Int64, outcome: FileOutcome) {
        self.path = path
        self.size = size
        self.mtimeNs = mtimeNs
        self.outcome = outcome
    }
}
