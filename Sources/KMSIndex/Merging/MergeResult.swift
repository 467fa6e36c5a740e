import Foundation

/// What merging one shard into an index added.
package struct MergeResult: Sendable, Equatable {
    /// The shard, as given.
    package var shardPath: String
    /// KMS events in the shard.
    package var shardEvents = 0
    /// Events new to the index (their `(event_time, event_uid)` was not there yet).
    package var eventsAdded = 0
    /// Events of the shard the index already held.
    package var duplicates = 0
    /// Events removed because an update in the index, from the shard or the destination,
    /// supersedes them (`Addenda`).
    package var eventsSuperseded = 0
    /// Ledger rows (`source_files`) new to the index.
    package var filesAdded = 0
    /// Ledger rows of the index replaced by the shard's, a later reading of the same path.
    package var filesUpdated = 0
    /// Files in the shard's ledger.
    package var shardFiles = 0
    /// New rows per table of distinct values (`kms_keys`, `principals`, `s3_objects`, …) and
    /// aliases (`kms_key_aliases`, new or with a wider first/last seen).
    package var rowsAdded: [String: Int] = [:]
    /// The earliest and latest `event_time` (ms since 1970, UTC) of the events added; nil when
    /// none was.
    package var firstEventTime: Int64?
    package var lastEventTime: Int64?
    /// The UTC days (`YYYY-MM-DD`, sorted) of the events added: the days whose derived tables
    /// (rollups) change.
    package var days: [String] = []
    /// Wall time of the shard's merge.
    package var seconds: Double = 0

    package init(shardPath: String) {
        self.shardPath = shardPath
    }
}

/// Why a shard could not be merged. The index is left as it was before that shard.
package struct MergeError: Error, CustomStringConvertible, Sendable {
    /// The shard, as given.
    package var shardPath: String
    package var reason: String
    /// True when the shard is the destination index itself.
    package var isDestination = false

    package init(_ shardPath: String, _ reason: String, isDestination: Bool = false) {
        self.shardPath = shardPath
        self.reason = reason
        self.isDestination = isDestination
    }

    package var description: String { "\(shardPath): \(reason)" }
}
