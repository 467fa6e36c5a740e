/// Compact storage of CloudTrail ids (eventID, requestID).
///
/// A lowercase UUID is stored as its 16 bytes (less than half the text, and a smaller unique
/// index); anything else is stored as text. The `kms_events` view turns the bytes back into
/// the same text.
public enum EventUID {
    /// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits), else nil.
    public static func uuidBytes(_ id: String) -> [UInt8]? {
        let u = Array(id.utf8)
        guard u.count == 36 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8? = nil
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == 0x2d else { return nil }
                continue
            }
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}
