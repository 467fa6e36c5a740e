/// What a file turned out to be, once read to the end.
package enum LogFileKind: Equatable, Sendable {
    /// A CloudTrail log file: `{"Records":[...]}`.
    case log
    /// Valid JSON that is not a log file (a digest file, or anything else); the reason says what.
    case notLog(reason: String)
}

/// Why a file's content is not usable: not JSON, or not the JSON expected. Offsets count
/// bytes of the uncompressed content. The path is the caller's: it knows which file it read.
package enum ContentError: Error, Equatable, CustomStringConvertible {
    /// The content is empty (a gzip member of nothing).
    case empty
    /// The content ends inside a value.
    case truncated
    /// Not valid JSON at `offset`; `message` says what was expected and found.
    case invalidJSON(offset: Int, message: String)
    /// Nested deeper than `limit` levels at `offset`.
    case tooDeep(limit: Int, offset: Int)
    /// Something other than whitespace after the top-level value.
    case trailingData
    /// A log file's `Records` that is not an array.
    case recordsNotArray
    /// A digest file without the string member `key`.
    case notDigest(missing: String)
    /// A digest file whose `digestEndTime` is not a time.
    case digestEndTimeNotATime(String)

    package var description: String {
        switch self {
        case .empty: return "no JSON: the content is empty"
        case .truncated: return "JSON ends unexpectedly (file truncated?)"
        case let .invalidJSON(offset, message): return "invalid JSON at byte \(offset): \(message)"
        case let .tooDeep(limit, offset): return "JSON nested deeper than \(limit) levels at byte \(offset)"
        case .trailingData: return "unexpected data after the top-level JSON value"
        case .recordsNotArray: return "Records is not an array"
        case let .notDigest(key): return "not a CloudTrail digest: no string \(key)"
        case let .digestEndTimeNotATime(text): return "digestEndTime is not a time: \(text)"
        }
    }
}

/// A record of a log file that could not be used, with its position in `Records`.
package struct MalformedRecord: Equatable, Sendable {
    package var index: Int
    package var reason: String
}
