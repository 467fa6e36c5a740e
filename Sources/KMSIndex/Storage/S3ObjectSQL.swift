import GRDB

/// SQL pieces for `s3_objects`, which stores a location as its bucket and its key.
enum S3ObjectSQL {
    /// The ARN of `s3_objects o LEFT JOIN s3_buckets b`: bucket ARN / key, the bucket ARN, or
    /// the unparsed ARN kept whole in `key`.
    static let arn = "coalesce(b.arn || '/' || o.key, b.arn, o.key)"
    /// `s3_object_rows o` is a bucket's own row (a context that named the bucket: S3 Bucket
    /// Keys). Such a row has neither folder nor key hash: the index of both finds it among a few.
    static let isBucketRow = "o.folder_id IS NULL AND o.key_hash IS NULL AND o.kind = 'bucket'"
    /// `o.key` equals a key, through the index of locations by folder (migration 029): the key's
    /// folder row, then (folder_id, key_hash) in it, or among the locations kept whole; bind
    /// `key(_:)`.
    static let keyIs = """
        o.id IN (SELECT r.id FROM s3_object_rows r
                 WHERE \(rows(folderID: "(SELECT f.id FROM s3_folders f WHERE f.recent \(RecentRows.anyRange("s3_folders")) AND f.folder = ?)", hash: "?"))) \
        AND o.key = ?
        """

    /// The arguments of `keyIs`: the key's folder (nil when it has no '/'), its hash, the key.
    static func key(_ key: String) -> [(any DatabaseValueConvertible)?] {
        [LedgerPath.s3Folder(of: key), StoredKeyHash.of(key), key]
    }

    /// The ids of `s3_object_rows r` with the key hash `hash` (SQL) in the folder row `folderID`
    /// (SQL; NULL when the key has none) or kept whole: where a location with that key can be.
    static func rows(folderID: String, hash: String) -> String {
        "(r.folder_id = \(folderID) OR r.folder_id IS NULL) AND r.key_hash IS \(hash)"
    }

    /// An S3 ARN as its bucket ARN and key, as the index stores it; a nil bucket ARN for an
    /// ARN that is not a readable S3 ARN, a nil key for a bucket. Pass `location` when the ARN
    /// is already parsed.
    static func split(arn: String, _ location: S3Location? = nil) -> (bucketARN: String?, key: String?) {
        let location = location ?? S3Location(arn: arn)
        guard location.bucket != nil else { return (nil, arn) }
        guard let key = location.key, location.kind != .bucket else { return (arn, nil) }
        return (String(decoding: arn.utf8.dropLast(key.utf8.count + 1), as: UTF8.self), key)
    }
}
