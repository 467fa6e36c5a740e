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
            guard u.count == 36 else { return nil }
            var high: UInt64 = 0
            var low: UInt64 = 0
            var digits = 0
            for (i, c) in u.enumerated() {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard c == 0x2d else { return nil }
                    continue
                }
                let v: UInt64
                switch c {
                case 0x30...0x39: v = UInt64(c - 0x30)
                case 0x61...0x66: v = UInt64(c - 0x61 + 10)
                default: return nil
                }
                if digits < 16 { high = high << 4 | v } else { low = low << 4 | v }
                digits += 1
            }
            return (high, low)
        }
        guard let (high, low) = halves else { return nil }
        return withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { body($0) }
    }
}
