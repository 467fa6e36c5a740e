import Foundation
import GRDB
import GRDBSQLite

/// Compact storage of CloudTrail ids (eventID, requestID): a lowercase UUID is stored as its
/// 16 bytes (less than half the text, and a smaller unique index), anything else as text
/// (`CloudTrailID`). The `kms_events` view turns the bytes back into the same text.
package enum EventUID {
    /// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits), else nil.
    package static func uuidBytes(_ id: String) -> [UInt8]? {
        CloudTrailID(id).withUUIDBytes { Array($0) }
    }

    /// SQL giving the text of a stored id in `column`, as `text(_:)` and `kms_events` give it.
    static func textSQL(_ column: String) -> String {
        """
        CASE WHEN typeof(\(column)) = 'blob' AND length(\(column)) = 16 THEN
            lower(substr(hex(\(column)), 1, 8) || '-' || substr(hex(\(column)), 9, 4) || '-' ||
                  substr(hex(\(column)), 13, 4) || '-' || substr(hex(\(column)), 17, 4) || '-' ||
                  substr(hex(\(column)), 21, 12))
        ELSE CAST(\(column) AS TEXT) END
        """
    }

    /// The text of a stored id, as the `kms_events` view shows it: a 16-byte blob as a lowercase
    /// UUID, anything else as its text.
    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .blob(let data) where data.count == 16:
            // Read in place: iterating `Data` byte by byte was 3% of a long `reads` listing's CPU.
            return data.withUnsafeBytes(uuidText)
        case .blob(let data): return String(decoding: data, as: UTF8.self)
        case .string(let text): return text
        case .int64(let n): return String(n)
        case .double(let x): return String(x)
        case .null: return ""
        }
    }

    /// `text(_:)` of column `column` of a row of a statement, read in place.
    static func text(_ row: OpaquePointer, _ column: Int32) -> String {
        switch sqlite3_column_type(row, column) {
        case SQLITE_BLOB:
            let bytes = UnsafeRawBufferPointer(start: sqlite3_column_blob(row, column), count: Int(sqlite3_column_bytes(row, column)))
            return bytes.count == 16 ? uuidText(bytes) : String(decoding: bytes, as: UTF8.self)
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(row, column))
            return String(decoding: UnsafeRawBufferPointer(start: sqlite3_column_text(row, column), count: count), as: UTF8.self)
        case SQLITE_INTEGER: return String(sqlite3_column_int64(row, column))
        case SQLITE_FLOAT: return String(sqlite3_column_double(row, column))
        default: return ""
        }
    }

    /// 16 bytes as a lowercase UUID.
    private static func uuidText(_ raw: UnsafeRawBufferPointer) -> String {
        let high = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
        let low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        return CloudTrailID.uuid(high: high, low: low).text
    }
}

extension CloudTrailID {
    /// The id as the index stores it: a UUID's 16 bytes, anything else as text.
    var storedValue: DatabaseValue {
        withUUIDBytes { Data($0).databaseValue } ?? text.databaseValue
    }
}
