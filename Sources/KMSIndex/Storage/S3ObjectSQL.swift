import GRDB

/// SQL pieces for `s3_objects`, which stores a location as its bucket and its key.
enum S3ObjectSQL {
    /// The ARN of `s3_objects o LEFT JOIN s3_buckets b`: bucket ARN / key, the bucket ARN, or
    /// the unparsed ARN kept whole in `key`.
    static let arn = "coalesce(b.arn || '/' || o.key, b.arn, o.key)"
    /// `o.key` equals a key, through the key-hash index; bind `key(_:)`.
    static let keyIs = "o.key_hash = ? AND o.key = ?"

    /// The arguments of `keyIs`.
    static func key(_ key: String) -> [(any DatabaseValueConvertible)?] { [StoredKeyHash.of(key), key] }

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
