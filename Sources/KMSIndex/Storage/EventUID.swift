import GRDB

/// Compact storage of CloudTrail ids (eventID, requestID).
///
/// A lowercase UUID is stored as its 16 bytes (less than half the text, and a smaller unique
/// index); anything else is stored as text. The `kms_events` view turns the bytes back into
/// the same text.
public enum EventUID {
    /// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits), else nil.
    public static func uuidBytes(_ id: String) -> [UInt8]? {
        withUUIDBytes(id) { Array($0) }
    }

    /// Calls `body` with the 16 bytes of a canonical lowercase UUID, without allocating;
    /// nil when `id` is not one.
    static func withUUIDBytes<R>(_ id: String, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let halves: (UInt64, UInt64)? = id.withUTF8Bytes { u in
            guard u.count == 36, u[8] == 0x2d, u[13] == 0x2d, u[18] == 0x2d, u[23] == 0x2d else { return nil }
            // Eight digits at a time (a branch per digit was mispredicted: digits and letters
            // come at random in a UUID). Words of the digits 0-7, 9-12 + 14-17, 19-22 + 24-27, 28-35.
            let raw = UnsafeRawPointer(u.baseAddress!)
            func load(_ offset: Int) -> UInt64 {
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            }
            let low4: UInt64 = 0xFFFF_FFFF
            var valid = ~UInt64(0)
            let a = hexValue(load(0), valid: &valid)
            let b = hexValue(load(9) & low4 | (load(14) & low4) << 32, valid: &valid)
            let c = hexValue(load(19) & low4 | (load(24) & low4) << 32, valid: &valid)
            let d = hexValue(load(28), valid: &valid)
            return valid == ~UInt64(0) ? (a << 32 | b, c << 32 | d) : nil
        }
        guard let (high, low) = halves else { return nil }
        return withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { body($0) }
    }

    /// The value of eight characters (the first in the low byte of `word`) read as lowercase hex
    /// digits; clears a bit of `valid` when one of them is not `0-9a-f` (the text must come
    /// back the same from the view).
    @inline(__always)
    private static func hexValue(_ word: UInt64, valid: inout UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let top = ones &* 0x80
        // For a byte below 0x80, byte + (0x80 - n) has its top bit set exactly when byte >= n
        // (and does not carry into the next byte); a byte from 0x80 up is invalid anyway.
        func atLeast(_ n: UInt64) -> UInt64 { word &+ ones &* (0x80 - n) }
        let digit = atLeast(0x30) & ~atLeast(0x3A)
        let letter = atLeast(0x61) & ~atLeast(0x67)
        valid &= (digit | letter) & ~word & top | ~top
        // '0'-'9' are 0x30-0x39 and 'a'-'f' 0x61-0x66: the low four bits, plus 9 for a letter.
        var n = ((word & (ones &* 0x0F)) &+ ((word &>> 6) & ones) &* 9).byteSwapped
        n = (n | n &>> 4) & 0x00FF_00FF_00FF_00FF
        n = (n | n &>> 8) & 0x0000_FFFF_0000_FFFF
        return (n | n &>> 16) & 0xFFFF_FFFF
    }

    /// The text of a stored id, as the `kms_events` view shows it: a 16-byte blob as a lowercase
    /// UUID, anything else as its text.
    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .blob(let data) where data.count == 16:
            let hex = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(36)
            for (i, byte) in data.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(0x2D) }
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
            return String(decoding: out, as: UTF8.self)
        case .blob(let data): return String(decoding: data, as: UTF8.self)
        case .string(let text): return text
        case .int64(let n): return String(n)
        case .double(let x): return String(x)
        case .null: return ""
        }
    }
}
