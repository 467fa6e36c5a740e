import Foundation
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
            // Read in place: iterating `Data` byte by byte was 3% of a long `reads` listing's CPU.
            let (high, low) = data.withUnsafeBytes { raw in
                (
                    UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                    UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                )
            }
            return CloudTrailID.uuid(high: high, low: low).text
        case .blob(let data): return String(decoding: data, as: UTF8.self)
        case .string(let text): return text
        case .int64(let n): return String(n)
        case .double(let x): return String(x)
        case .null: return ""
        }
    }
}

extension CloudTrailID {
    /// The id as the index stores it: a UUID's 16 bytes, anything else as text.
    var storedValue: DatabaseValue {
        withUUIDBytes { Data($0).databaseValue } ?? text.databaseValue
    }
}
