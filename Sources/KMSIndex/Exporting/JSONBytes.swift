/// JSON text written straight into a byte buffer, for the export's millions of rows.
///
/// Strings are escaped as `JSONText` escapes them (quotes, backslash, control characters, DEL,
/// the C1 controls and U+2028/U+2029 as `\uXXXX`), so the output is valid JSON and safe to print.
/// Their bytes are checked as UTF-8 on the way: SQLite hands back the bytes a TEXT value was
/// stored with, and an invalid sequence (which the index never writes, but a file edited by
/// hand could hold) becomes U+FFFD rather than invalid JSON.
package struct JSONBytes {
    /// The text written so far.
    package var bytes: [UInt8] = []

    /// An empty buffer with room for `capacity` bytes.
    package init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends ASCII text as it is (punctuation, names known to need no escaping).
    @inline(__always)
    package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends bytes as they are.
    @inline(__always)
    package mutating func raw(_ text: [UInt8]) {
        bytes.append(contentsOf: text)
    }

    /// Appends `null`.
    package mutating func null() { raw("null") }

    /// Appends an integer.
    package mutating func int(_ value: Int64) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, written backwards
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                count += 1
                buffer[24 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// Appends a number; NaN and the infinities, which JSON cannot spell, as `null`.
    package mutating func double(_ value: Double) {
        guard value.isFinite else { null(); return }
        bytes.append(contentsOf: "\(value)".utf8)
    }

    /// Appends a string literal of `text`.
    package mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string($0) }
    }

    /// Appends a string literal of the UTF-8 bytes `utf8`, escaped, invalid sequences as U+FFFD.
    package mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var i = 0
        let n = utf8.count
        while i < n {
            let b = utf8[i]
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                // A run of plain ASCII, copied at once.
                var j = i + 1
                while j < n, utf8[j] >= 0x20, utf8[j] < 0x7F, utf8[j] != UInt8(ascii: "\""), utf8[j] != UInt8(ascii: "\\") { j += 1 }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[i..<j]))
                i = j
                continue
            }
            switch b {
            case UInt8(ascii: "\""): raw("\\\""); i += 1
            case UInt8(ascii: "\\"): raw("\\\\"); i += 1
            case UInt8(ascii: "\n"): raw("\\n"); i += 1
            case UInt8(ascii: "\r"): raw("\\r"); i += 1
            case UInt8(ascii: "\t"): raw("\\t"); i += 1
            case 0..<0x20, 0x7F: escaped(UInt32(b)); i += 1
            default:
                let (scalar, length) = Self.decode(utf8, at: i)
                if let scalar {
                    if Self.escapedScalar(scalar) {
                        escaped(scalar)
                    } else {
                        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[i..<(i + length)]))
                    }
                } else {
                    bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD
                }
                i += length
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Non-ASCII scalars written as `\uXXXX`, the same text to a JSON reader: C1 controls (a
    /// terminal's commands), U+2028/U+2029 (line ends to JavaScript) and the bidirectional
    /// marks and overrides (they reorder what a terminal or editor shows around them).
    static func escapedScalar(_ scalar: UInt32) -> Bool {
        (0x80...0x9F).contains(scalar) || scalar == 0x2028 || scalar == 0x2029 || (0x202A...0x202E).contains(scalar)
            || (0x2066...0x2069).contains(scalar) || scalar == 0x200E || scalar == 0x200F
    }

    /// Appends `\uXXXX` for a scalar of the Basic Multilingual Plane.
    private mutating func escaped(_ scalar: UInt32) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        bytes.append(contentsOf: [
            UInt8(ascii: "\\"), UInt8(ascii: "u"), hex[Int(scalar >> 12 & 0xF)], hex[Int(scalar >> 8 & 0xF)],
            hex[Int(scalar >> 4 & 0xF)], hex[Int(scalar & 0xF)],
        ])
    }

    /// The scalar of the multi-byte UTF-8 sequence at `i` and its length; a nil scalar for an
    /// invalid sequence (overlong, surrogate, above U+10FFFF, truncated), whose length is the
    /// bytes to replace with one U+FFFD (the maximal subpart, as Unicode recommends).
    static func decode(_ u: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32?, Int) {
        let b0 = u[i]
        let need: Int
        var scalar: UInt32
        var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the range of the second byte
        switch b0 {
        case 0xC2...0xDF: need = 1; scalar = UInt32(b0 & 0x1F)
        case 0xE0: need = 2; scalar = 0; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2; scalar = UInt32(b0 & 0x0F)
        case 0xED: need = 2; scalar = 0xD; high = 0x9F
        case 0xF0: need = 3; scalar = 0; low = 0x90
        case 0xF1...0xF3: need = 3; scalar = UInt32(b0 & 0x07)
        case 0xF4: need = 3; scalar = 4; high = 0x8F
        default: return (nil, 1)
        }
        for k in 1...need {
            guard i + k < u.count else { return (nil, k) }
            let b = u[i + k]
            if k == 1 ? !(low...high).contains(b) : !(0x80...0xBF).contains(b) { return (nil, k) }
            scalar = scalar << 6 | UInt32(b & 0x3F)
        }
        return (scalar, need + 1)
    }
}
