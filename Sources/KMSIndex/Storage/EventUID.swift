import GRDB

/// Compact storage of CloudTrail ids (eventID, requestID): a lowercase UUID is stored as its
/// 16 bytes (less than half the text, and a smaller unique index), anything else as text
/// (`CloudTrailID`). The `kms_events` view turns the bytes back into the same text.
package enum EventUID {
    /// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits), else nil.
    package static func uuidBytes(_ id: String) -> [UInt8]? {
        CloudTrailID(id).withUUIDBytes { Array($0) }
    }

    /// The text of a stored id, as the `kms_events` view shows it: a 16-byte blob as a lowercase
    /// UUID, anything else as its text.
    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .blob(let data) where data.count == 16:
            let half = { (from: Int) in data.dropFirst(from).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            return CloudTrailID.uuid(high: half(0), low: half(8)).text
        case .blob(let data): return String(decoding: data, as: UTF8.self)
        case .string(let text): return text
        case .int64(let n): return String(n)
        case .double(let x): return String(x)
        case .null: return ""
        }
    }
}
