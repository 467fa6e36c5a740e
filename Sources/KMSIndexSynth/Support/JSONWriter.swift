/// Writes compact JSON straight into a byte buffer, the way CloudTrail's files look: no spaces,
/// keys in the order written, strings escaped per RFC 8259 (quote, backslash and control
/// characters; other UTF-8 is written as is).
///
/// Commas are placed automatically: after a value or a closing bracket the next item gets one;
/// after an opening bracket or a key it does not. This is the hot path of the generator, so it
/// never goes through Foundation.
struct JSONWriter {
    /// The bytes written so far.
    var bytes: [UInt8]
    private var needsComma = false

    init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Forgets what was written, keeping the allocation.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// Starts a new top-level value right after the previous one, with no comma between: the
    /// caller joins records itself.
    mutating func startRecord() {
        needsComma = false
    }

    @inline(__always)
    private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    mutating func beginObject() {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func beginArray() {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object key known at compile time; it must need no escaping.
    mutating func key(_ name: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// An object key chosen at run time (an encryption context key, a tag): escaped.
    mutating func key(_ name: String) {
        separator()
        JSONWriter.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func string(_ value: String) {
        separator()
        JSONWriter.appendQuoted(value, to: &bytes)
        needsComma = true
    }

    /// A string value known at compile time; it must need no escaping.
    mutating func string(_ value: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        value.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    mutating func int(_ value: Int) {
        separator()
        JSONWriter.appendDecimal(value, to: &bytes)
        needsComma = true
    }

    /// A number with a fractional part, printed with Swift's shortest round-trip form.
    mutating func double(_ value: Double) {
        separator()
        bytes.append(contentsOf: value.description.utf8)
        needsComma = true
    }

    mutating func bool(_ value: Bool) {
        separator()
        if value {
            bytes.append(contentsOf: "true".utf8)
        } else {
            bytes.append(contentsOf: "false".utf8)
        }
        needsComma = true
    }

    mutating func null() {
        separator()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// A timestamp as CloudTrail's eventTime string (see `UTCTime.appendISO8601`).
    mutating func time(_ milliseconds: Int64, fractional: Bool = false) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        UTCTime.appendISO8601(milliseconds, fractional: fractional, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A complete, already valid JSON value.
    mutating func raw(_ value: [UInt8]) {
        separator()
        bytes.append(contentsOf: value)
        needsComma = true
    }

    // MARK: Fields (key + value)

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: StaticString) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        int(value)
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bool(value)
    }

    /// Writes the field only when the value is present.
    mutating func optionalField(_ name: StaticString, _ value: String?) {
        if let value { field(name, value) }
    }

    mutating func nullField(_ name: StaticString) {
        key(name)
        null()
    }

    /// A flat object of string pairs, in the given order (an encryption context, a tag map).
    mutating func stringMap(_ pairs: [(String, String)]) {
        beginObject()
        for (k, v) in pairs {
            key(k)
            string(v)
        }
        endObject()
    }

    // MARK: Escaping

    /// Appends `value` as a quoted, escaped JSON string.
    static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = value
        text.withUTF8 { appendEscaped($0, to: &out) }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var start = 0
        for i in 0..<text.count {
            let b = text[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            if start < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<i])) }
            out.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            }
            start = i + 1
        }
        if start < text.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[start...])) }
    }

    /// Appends the decimal digits of `value`.
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendDecimal(UInt(value.magnitude), to: &out)
        } else {
            appendDecimal(UInt(value), to: &out)
        }
    }

    private static func appendDecimal(_ value: UInt, to out: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
