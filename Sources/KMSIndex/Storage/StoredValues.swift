import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How source addresses are stored: a dotted IPv4 address as its 32-bit value (5 bytes instead
/// of up to 15); anything else (IPv6, `kms.amazonaws.com`, `AWS Internal`) as text.
package enum StoredAddress {
    /// True for an address that is a name (`s3.amazonaws.com`, `AWS Internal`): a letter and
    /// no ':' (an IPv6 address has one). The writer keeps such a name once, in strings.
    static func isName(_ address: String) -> Bool {
        var letter = false
        for byte in address.utf8 {
            if byte == UInt8(ascii: ":") { return false }
            if (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") { letter = true }
        }
        return letter
    }

    /// The value of a canonical dotted-quad IPv4 address (no leading zeros), else nil, so that
    /// the `kms_events` view prints exactly the text CloudTrail wrote.
    package static func ipv4(_ text: String) -> Int64? {
        text.withUTF8Bytes { b -> Int64? in
            guard b.count >= 7, b.count <= 15 else { return nil }
            var value: Int64 = 0
            var part: Int64 = 0
            var digits = 0
            var parts = 0
            for k in 0...b.count {
                if k == b.count || b[k] == UInt8(ascii: ".") {
                    guard digits > 0, part <= 255 else { return nil }
                    value = value << 8 | part
                    parts += 1
                    part = 0
                    digits = 0
                } else {
                    let c = b[k]
                    guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), !(digits == 1 && part == 0) else { return nil }
                    part = part * 10 + Int64(c - UInt8(ascii: "0"))
                    digits += 1
                }
            }
            return parts == 4 ? value : nil
        }
    }

    /// The text of a stored address, as the `kms_events` view shows it.
    static func text(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .int64(let n): return "\(n >> 24).\(n >> 16 & 255).\(n >> 8 & 255).\(n & 255)"
        case .null: return nil
        default: return String.fromDatabaseValue(value) ?? value.description
        }
    }
}

/// The hash `s3_objects.key_hash` holds (migration 016): the 32-bit FNV-1a of the key's folder
/// (its UTF-8 bytes up to the last `/`) in bits 46-27, and of the rest (the file name) in bits
/// 26-0; non-negative and below 2^47, so 6 bytes in SQLite. The index of (folder_id, key_hash)
/// (migration 029) finds a key in one step whatever the keys share (`…/part-00000.snappy.parquet`
/// in every folder), and lookups compare the key itself too. The folder's bits still keep the
/// keys kept whole (no folder_id) of one folder side by side.
/// Connections of kmsindex know it as the SQL function `key_hash(text)`.
package enum StoredKeyHash {
    package static func of(_ key: String) -> Int64 {
        key.withUTF8Bytes { bytes in
            let slash = bytes.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
            let folder = fnv1a32(bytes[..<slash]) >> 12
            let name = fnv1a32(bytes[slash...]) >> 5
            return Int64(folder) << 27 | Int64(name)
        }
    }

    /// 32-bit FNV-1a.
    static func fnv1a32(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in bytes {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return hash
    }

    static let sqlFunction = DatabaseFunction("key_hash", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map(of)
    }
}
