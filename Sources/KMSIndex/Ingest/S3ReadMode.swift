import Foundation

/// Which S3 data events `ingest --s3-reads` keeps: reads of objects (see `S3ReadNormalizer`).
package enum S3ReadMode: Sendable, Equatable {
    /// None: S3 records are skipped like any other non-KMS record (the index of before).
    case none
    /// Every read of every bucket.
    case all
    /// Reads of buckets the KMS events name as a bucket (S3 Bucket Keys) or that hold
    /// CloudTrail log files, known from this run or an earlier one (`S3ReadStaging`).
    case auto
    /// Reads of these buckets (by name).
    case buckets(Set<String>)

    /// `auto`, `all`, `none`, or `BUCKET[,BUCKET...]`; nil for an empty list.
    package init?(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "all": self = .all
        case "none": self = .none
        default:
            // `Auto` or `ALL` is a mistyped mode rather than a bucket (a legacy bucket name may
            // hold capitals, but one named so is not worth the silent miss).
            if ["auto", "all", "none"].contains(argument.lowercased()) { return nil }
            // Spaces around a name are the list's, not the name's: no bucket name holds one. A
            // name with any other character than a bucket name can hold keeps nothing, silently,
            // and its files would not be read again: refused.
            let names = argument.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty, names.allSatisfy(Self.isBucketName) else { return nil }
            self = .buckets(Set(names))
        }
    }

    /// Made of the characters of bucket names, legacy ones included (capitals and `_` in
    /// us-east-1, up to 255 characters).
    static func isBucketName(_ name: String) -> Bool {
        (1...255).contains(name.utf8.count)
            && name.utf8.allSatisfy { b in
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                    || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
                    || b == UInt8(ascii: "_")
            }
    }

    /// Whether a parsed read of `bucket` is kept by the parser (auto keeps every one: the
    /// writer stages those of buckets not known yet).
    func parserKeeps(bucket: String) -> Bool {
        switch self {
        case .none: return false
        case .all, .auto: return true
        case .buckets(let names): return names.contains(bucket)
        }
    }
}
