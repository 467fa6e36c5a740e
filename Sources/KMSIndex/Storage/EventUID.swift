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
        var id = id
        let halves: (UInt64, UInt64)? = id.withUTF8 { u in
            guard u.count == 36, u[8] == 0x2d, u[13] == 0x2d, u[18] == 0x2d, u[23] == 0x2d else { return nil }
            // Lowercase hex digits only: the text must come back the same from the view.
            func digits(_ range: Range<Int>, into value: inout UInt64) -> Bool {
                for k in range {
                    let c = u[k]
                    let v: UInt8
                    if c &- 0x30 < 10 { v = c &- 0x30 } else if c &- 0x61 < 6 { v = c &- 0x61 &+ 10 } else { return false }
                    value = value << 4 | UInt64(v)
                }
                return true
            }
            var high: UInt64 = 0
            var low: UInt64 = 0
            guard digits(0..<8, into: &high), digits(9..<13, into: &high), digits(14..<18, into: &high),
                  digits(19..<23, into: &low), digits(24..<36, into: &low) else { return nil }
            return (high, low)
        }
        guard let (high, low) = halves else { return nil }
        return withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { body($0) }
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
