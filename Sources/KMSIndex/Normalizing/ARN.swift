/// The parts of an Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
///
/// Parsing is lenient: ARNs in logs are not always well formed, and an unparsable one is
/// kept as text by the callers rather than dropped.
package struct ARN: Equatable, Sendable {
    package var partition: String
    package var service: String
    package var region: String
    package var account: String
    /// A slice of the ARN's text: most callers only look at it, and a String of its own would
    /// cost an allocation per ARN.
    package var resource: Substring

    package init?(_ text: String) {
        // Hot path (several ARNs per event): the five colons are found in the UTF-8 bytes; only
        // the resource (a slice) may be long, the other parts fit in small strings.
        var partition = "", service = "", region = "", account = ""
        var resourceStart = -1
        var copy = text
        copy.withUTF8 { bytes in
            guard bytes.count >= 4, bytes[0] == UInt8(ascii: "a"), bytes[1] == UInt8(ascii: "r"), bytes[2] == UInt8(ascii: "n"),
                bytes[3] == UInt8(ascii: ":")
            else { return }
            func part(_ from: Int, _ to: Int) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self)
            }
            var partStart = 4
            var found = 1
            for i in 4..<bytes.count where bytes[i] == UInt8(ascii: ":") {
                switch found {
                case 1: partition = part(partStart, i)
                case 2: service = part(partStart, i)
                case 3: region = part(partStart, i)
                default:
                    account = part(partStart, i)
                    resourceStart = i + 1
                    return
                }
                found += 1
                partStart = i + 1
            }
        }
        guard resourceStart >= 0, !partition.isEmpty, !service.isEmpty else { return nil }
        self.partition = partition
        self.service = service
        self.region = region
        self.account = account
        resource = text[text.utf8.index(text.utf8.startIndex, offsetBy: resourceStart)...]
    }

    /// True for `arn:…:kms:…:key/ID`.
    /// (Past the ASCII `key/`, any more byte is another character: counting bytes is enough,
    /// and cheaper than counting characters.)
    package var isKMSKey: Bool { service == "kms" && Self.hasPrefix(resource, "key/") && resource.utf8.count > 4 }
    /// True for `arn:…:kms:…:alias/NAME`.
    package var isKMSAlias: Bool { service == "kms" && Self.hasPrefix(resource, "alias/") }

    /// `text.hasPrefix(prefix)` for an ASCII `prefix` whose characters have no other canonical
    /// form, compared by bytes: the characters are the bytes, unless a non-ASCII scalar right
    /// after the prefix extends its last character (then `hasPrefix` decides).
    static func hasPrefix(_ text: Substring, _ prefix: String) -> Bool {
        let bytes = text.utf8
        guard bytes.starts(with: prefix.utf8) else { return false }
        let next = bytes.index(bytes.startIndex, offsetBy: prefix.utf8.count)
        if next == bytes.endIndex || bytes[next] < 0x80 { return true }
        return text.hasPrefix(prefix)
    }
}

/// What an `aws:s3:arn` encryption-context value names.
package struct S3Location: Equatable, Sendable {
    package enum Kind: String, Sendable {
        /// One object: per-object attribution is possible.
        case object
        /// A bucket prefix ending in `/` (CloudTrail's trail check names `AWSLogs/ACCOUNT/`).
        case prefix
        /// A whole bucket: S3 Bucket Keys, where KMS never sees individual objects.
        case bucket
        /// Not an S3 ARN that could be read.
        case unparsed
    }

    package var kind: Kind
    package var bucket: String?
    package var key: String?

    package init(arn: String) {
        // The writer parses every new object's ARN: an ASCII one, the usual case, is split in
        // its bytes, where equal bytes are equal characters.
        if let location = arn.withARNBytes({ $0.flatMap(Self.init(asciiARN:)) }) {
            self = location
            return
        }
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

    /// The location an all-ASCII ARN names; nil for other text, whose characters (a slash
    /// with a combining mark after it, or a prepended mark before it, is not a slash
    /// character) are left to `Character`s.
    private init?(asciiARN arn: ARNBytes) {
        var slash = -1
        for i in arn.bytes.indices {
            let byte = arn.bytes[i]
            if byte >= 0x80 { return nil }
            if byte == UInt8(ascii: "/") && slash < 0 && i >= arn.resourceStart { slash = i }
        }
        guard arn.serviceIs("s3"), arn.region.isEmpty, arn.account.isEmpty, arn.resourceStart < arn.bytes.count else {
            kind = .unparsed
            return
        }
        if slash < 0 {
            bucket = arn.string(arn.resourceStart..<arn.bytes.count)
            kind = .bucket
        } else {
            bucket = arn.string(arn.resourceStart..<slash)
            key = arn.string(slash + 1..<arn.bytes.count)
            kind = slash + 1 == arn.bytes.count || arn.bytes[arn.bytes.count - 1] == UInt8(ascii: "/") ? .prefix : .object
        }
    }

    /// Last path component of the key: the file name of a log file.
    package var name: String? {
        guard let key, kind == .object else { return nil }
        // From the last '/': a key of many parts is not split whole.
        guard let slash = key.utf8.lastIndex(of: UInt8(ascii: "/")) else { return key }
        return String(key[key.utf8.index(after: slash)...])
    }
}
