/// Makes text that callers chose (user agents, session names, error messages, object keys)
/// safe to print on a terminal.
package enum TerminalText {
    /// `text` (one line of plain ASCII, such as a progress line) cut to `columns` less one, so
    /// that the cursor stays on its line; whole when the width is unknown.
    package static func fitted(_ text: String, columns: Int?) -> String {
        guard let columns, text.count >= columns else { return text }
        return String(text.prefix(max(columns - 1, 0)))
    }

    /// Escapes control characters (C0, DEL, C1, which start terminal escape sequences),
    /// line and paragraph separators and bidirectional overrides as visible `\x1b`, `\n`,
    /// `\u{202e}` text. Everything else passes unchanged; a backslash is doubled so the result
    /// reads back unambiguously.
    package static func escape(_ s: String) -> String {
        var needs = false
        for scalar in s.unicodeScalars where isUnsafe(scalar) || scalar == "\\" {
            needs = true
            break
        }
        guard needs else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if isUnsafe(scalar) {
                    out +=
                        scalar.value <= 0xff
                        ? "\\x" + hex(scalar.value, width: 2)
                        : "\\u{" + hex(scalar.value, width: 4) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || v == 0x7f || (0x80...0x9f).contains(v) || v == 0x2028 || v == 0x2029
            || (0x202a...0x202e).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200e || v == 0x200f
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
