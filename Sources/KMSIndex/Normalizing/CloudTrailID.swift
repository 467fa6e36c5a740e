/// An `eventID`, `requestID` or `sharedEventID`, in the form the index stores it.
///
/// A canonical lowercase UUID (`8-4-4-4-12` hex digits: nearly every CloudTrail id) is kept as
/// its 16 bytes, read once from the record's bytes on the parsing thread: no String is made
/// for it, and the writer binds the bytes as they are. Anything else is kept as its text. The
/// `kms_events` view turns the bytes back into the same text.
package enum CloudTrailID: Hashable, Sendable {
    /// The UUID's bytes as two big-endian halves: `high` holds bytes 0-7.
    case uuid(high: UInt64, low: UInt64)
    case text(String)

    package init(_ text: String) {
        self = text.withUTF8Bytes { Self.uuid(in: $0) } ?? .text(text)
    }

    /// The id whose UTF-8 is `bytes` (invalid sequences repaired, as `String(decoding:as:)` does).
    init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        self = Self.uuid(in: bytes) ?? .text(String(decoding: bytes, as: UTF8.self))
    }

    package var isEmpty: Bool {
        if case .text(let text) = self { return text.isEmpty }
        return false
    }

    /// The text of the id: a UUID as lowercase hex with its dashes.
    package var text: String {
        switch self {
        case .text(let text): return text
        case .uuid:
            // Written straight into the string's storage: no array on the way.
            return String(unsafeUninitializedCapacity: 36) { out in
                func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? nibble + 0x30 : nibble + 0x57 }
                var n = 0
                withUUIDBytes { raw in
                    for (i, byte) in raw.enumerated() {
                        if i == 4 || i == 6 || i == 8 || i == 10 {
                            out[n] = UInt8(ascii: "-")
                            n += 1
                        }
                        out[n] = digit(byte >> 4)
                        out[n + 1] = digit(byte & 0x0F)
                        n += 2
                    }
                }
                return n
            }
        }
    }

    /// Calls `body` with the 16 bytes of a UUID, in order; nil for an id kept as text.
    func withUUIDBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard case .uuid(let high, let low) = self else { return nil }
        return withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { body($0) }
    }

    /// The UUID that `u` spells in canonical lowercase form, else nil.
    static func uuid(in u: UnsafeBufferPointer<UInt8>) -> CloudTrailID? {
        guard u.count == 36, u[8] == UInt8(ascii: "-"), u[13] == UInt8(ascii: "-"), u[18] == UInt8(ascii: "-"), u[23] == UInt8(ascii: "-")
        else { return nil }
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
        return valid == ~UInt64(0) ? .uuid(high: a << 32 | b, low: c << 32 | d) : nil
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
        let digit = atLeast(UInt64(UInt8(ascii: "0"))) & ~atLeast(UInt64(UInt8(ascii: "9")) + 1)
        let letter = atLeast(UInt64(UInt8(ascii: "a"))) & ~atLeast(UInt64(UInt8(ascii: "f")) + 1)
        valid &= (digit | letter) & ~word & top | ~top
        // '0'-'9' are 0x30-0x39 and 'a'-'f' 0x61-0x66: the low four bits, plus 9 for a letter.
        var n = ((word & (ones &* 0x0F)) &+ ((word &>> 6) & ones) &* 9).byteSwapped
        n = (n | n &>> 4) & 0x00FF_00FF_00FF_00FF
        n = (n | n &>> 8) & 0x0000_FFFF_0000_FFFF
        return (n | n &>> 16) & 0xFFFF_FFFF
    }
}

extension CloudTrailID: CustomStringConvertible {
    package var description: String { text }
}

extension CloudTrailID: ExpressibleByStringLiteral {
    package init(stringLiteral text: String) { self.init(text) }
}
