/// The parts of an Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
///
/// Parsing is lenient: ARNs in logs are not always well formed, and an unparsable one is
/// kept as text by the callers rather than dropped.
public struct ARN: Equatable, Sendable {
    public var partition: String
    public var service: String
    public var region: String
    public var account: String
    public var resource: String

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        partition = String(parts[1])
        service = String(parts[2])
        region = String(parts[3])
        account = String(parts[4])
        resource = String(parts[5])
    }

    /// True for `arn:…:kms:…:key/ID`.
    public var isKMSKey: Bool { service == "kms" && resource.hasPrefix("key/") && resource.count > 4 }
    /// True for `arn:…:kms:…:alias/NAME`.
    public var isKMSAlias: Bool { service == "kms" && resource.hasPrefix("alias/") }
}

/// What an `aws:s3:arn` encryption-context value names.
public struct S3Location: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// One object: per-object attribution is possible.
        case object
        /// A bucket prefix ending in `/` (CloudTrail's trail check names `AWSLogs/ACCOUNT/`).
        case prefix
        /// A whole bucket: S3 Bucket Keys, where KMS never sees individual objects.
        case bucket
        /// Not an S3 ARN that could be read.
        case unparsed
    }

    public var kind: Kind
    public var bucket: String?
    public var key: String?

    public init(arn: String) {
        guard let parsed = ARN(arn), parsed.service == "s3", parsed.region.isEmpty, parsed.account.isEmpty,
              !parsed.resource.isEmpty
        else {
            kind = .unparsed
            return
        }
        if let slash = parsed.resource.firstIndex(of: "/") {
            bucket = String(parsed.resource[..<slash])
            let rest = String(parsed.resource[parsed.resource.index(after: slash)...])
            key = rest
            kind = rest.isEmpty || rest.hasSuffix("/") ? .prefix : .object
        } else {
            bucket = parsed.resource
            kind = .bucket
        }
    }

    /// Last path component of the key: the file name of a log file.
    public var name: String? {
        guard let key, kind == .object else { return nil }
        return key.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init)
    }
}
