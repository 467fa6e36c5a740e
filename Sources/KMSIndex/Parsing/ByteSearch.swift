/// Word-at-a-time byte search (SWAR): looks at eight bytes per step instead of one.
///
/// Skipping the strings of non-KMS records is the hottest loop of ingest; most of their
/// bytes are string content, where only `"` and `\` matter.
enum ByteSearch {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080
    static let quotes: UInt64 = ones &* UInt64(UInt8(ascii: "\""))
    static let backslashes: UInt64 = ones &* UInt64(UInt8(ascii: "\\"))

    /// Sets the high bit of the zero bytes of `x`. Exact for the lowest zero byte; bytes above
    /// it may be flagged wrongly (a borrow), so only the lowest flag is to be trusted.
    @inline(__always)
    static func lowestZeroByteFlags(_ x: UInt64) -> UInt64 {
        (x &- ones) & ~x & highs
    }

    /// Index of the first `"` or `\` in `p[from..<end]`; nil when there is none.
    @inline(__always)
    static func firstQuoteOrBackslash(_ p: UnsafePointer<UInt8>, from: Int, to end: Int) -> Int? {
        var j = from
        while j + 8 <= end {
            let w = UInt64(littleEndian: UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self))
            let flags = lowestZeroByteFlags(w ^ quotes) | lowestZeroByteFlags(w ^ backslashes)
            if flags != 0 { return j + flags.trailingZeroBitCount >> 3 }
            j += 8
        }
        while j < end {
            let c = p[j]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { return j }
            j += 1
        }
        return nil
    }

    /// True when every byte is below 0x80, looked at eight bytes at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var j = 0
        while j + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: j, as: UInt64.self) & highs != 0 { return false }
            j += 8
        }
        while j < bytes.count {
            if base[j] >= 0x80 { return false }
            j += 1
        }
        return true
    }
}
