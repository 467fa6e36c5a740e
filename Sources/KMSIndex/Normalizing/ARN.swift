/// The parts of an Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
///
/// Parsing is lenient: ARNs in logs are not always well formed, and an unparsable one is
/// kept as text by the callers rather than dropped.
public struct ARN: Equatable, Sendable {
    public var partition: String
    public var service: String
    public var region: String
    public var account: String
    /// A slice of the ARN's text: most callers only look at it, and a String of its own would
    /// cost an allocation per ARN.
    public var resource: Substring

    public init?(_ text: String) {
        // Hot path (several ARNs per event): find the five colons in the UTF-8 bytes, without
        // allocating anything but the parts that do not fit in a small string.
        let utf8 = text.utf8
        guard utf8.starts(with: "arn:".utf8) else { return nil }
        var colons = (utf8.startIndex, utf8.startIndex, utf8.startIndex, utf8.startIndex, utf8.startIndex)
        var found = 0
        var i = utf8.startIndex
        while i != utf8.endIndex && found < 5 {
            if utf8[i] == 0x3a {
                switch found {
                case 0: colons.0 = i
                case 1: colons.1 = i
                case 2: colons.2 = i
                case 3: colons.3 = i
                default: colons.4 = i
                }
                found += 1
            }
            i = utf8.index(after: i)
        }
        guard found == 5 else { return nil }
        func part(_ from: String.Index, _ to: String.Index) -> String { String(text[text.index(after: from)..<to]) }
        partition = part(colons.0, colons.1)
        service = part(colons.1, colons.2)
        guard !partition.isEmpty, !service.isEmpty else { return nil }
        region = part(colons.2, colons.3)
        account = part(colons.3, colons.4)
        resource = text[text.index(after: colons.4)...]
    }

    /// True for `arn:…:kms:…:key/ID`.
    /// (Past the ASCII `key/`, any more byte is another character: counting bytes is enough,
    /// and cheaper than counting characters.)
    public var isKMSKey: Bool { service == "kms" && resource.hasPrefix("key/") && resource.utf8.count > 4 }
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
            bucket = String(parsed.resource)
            kind = .bucket
        }
    }

    /// Last path component of the key: the file name of a log file.
    public var name: String? {
        guard let key, kind == .object else { return nil }
        return key.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init)
    }
}
