import KMSCrypto

/// What the chain and signature checks keep of one digest file, read once: a few hundred
/// bytes, whatever the number of log files it lists.
struct DigestRecord {
    /// Where the file was found on disk.
    var path: String
    /// `digestS3Bucket` and `digestS3Object`: where CloudTrail wrote it (the signature covers them).
    var bucket: String
    var object: String
    /// `digestEndTime`, in milliseconds: the chain's order.
    var endMs: Int64
    /// Lowercase hex SHA-256 of the file's uncompressed content.
    var contentSHA256: String
    /// The previous digest as this one names it; nil in a starting digest.
    var previous: Link?
    /// `previousDigestSignature`: the previous digest's own signature (hex).
    var previousSignature: String?
    /// `digestPublicKeyFingerprint`, lowercase.
    var fingerprint: String
    /// `digestSignatureAlgorithm`.
    var algorithm: String
    /// SHA-256 of the string CloudTrail signs for this digest.
    var signedHash: [UInt8]
    /// A late digest (`…_backfill…`), outside the hourly order of its chain.
    var isBackfill: Bool

    struct Link {
        var bucket: String
        var object: String
        /// `previousDigestHashValue`, lowercase.
        var hash: String
    }

    /// `bucket/object`: how digests name each other.
    var location: String { bucket + "/" + object }
    var uri: String { "s3://" + location }

    /// Reads the fields of a parsed digest file; throws `ContentError` when one the checks
    /// need is missing.
    init(path: String, json: JSONValue, contentSHA256: String) throws {
        func text(_ key: String) throws -> String {
            guard let value = json[key]?.string else { throw ContentError.notDigest(missing: key) }
            return value
        }
        self.path = path
        bucket = try text("digestS3Bucket")
        object = try text("digestS3Object")
        let endTime = try text("digestEndTime")
        guard let end = EventTime.milliseconds(endTime) else {
            throw ContentError.digestEndTimeNotATime(endTime)
        }
        endMs = end
        fingerprint = try text("digestPublicKeyFingerprint").lowercased()
        algorithm = json["digestSignatureAlgorithm"]?.string ?? ""
        self.contentSHA256 = contentSHA256
        previousSignature = json["previousDigestSignature"]?.string
        if let previousObject = json["previousDigestS3Object"]?.string {
            previous = Link(
                bucket: try text("previousDigestS3Bucket"), object: previousObject,
                hash: try text("previousDigestHashValue").lowercased())
        }
        isBackfill = object.split(separator: "/").last?.contains("_backfill") ?? false
        // CloudTrail's signing string; a starting digest's missing signature is the text "null"
        // (as in the AWS CLI's validate-logs, matching CloudTrail's Java implementation).
        let signing = endTime + "\n" + bucket + "/" + object + "\n" + contentSHA256 + "\n" + (previousSignature ?? "null")
        signedHash = SHA256.hash(Array(signing.utf8))
    }

    /// True when the file sits where its content says CloudTrail wrote it: the path ends with
    /// the object key from the account folder on (`ACCOUNT/CloudTrail-Digest/…/NAME`), since a
    /// tree may be synced from any prefix.
    var isInPlace: Bool {
        let parts = object.split(separator: "/", omittingEmptySubsequences: false)
        let from = parts.lastIndex(of: "CloudTrail-Digest").map { max($0 - 1, 0) } ?? parts.count - 1
        let tail = parts[from...].joined(separator: "/")
        return path == tail || path.hasSuffix("/" + tail)
    }
}
