/// How query commands print rows.
package enum OutputFormat: String, CaseIterable, Sendable {
    case table, csv, tsv, json, ndjson
}

/// One value of a result: nothing, text, a number, or a truth value.
///
/// Numbers stay numbers in JSON; every format shows them as their decimal text.
package enum Cell: Sendable, Equatable, Hashable {
    case null
    case text(String)
    case integer(Int64)
    case real(Double)
    /// `true` or `false` in every format (JSON's literals).
    case boolean(Bool)

    /// A text cell, or `.null` for nil.
    package init(_ text: String?) {
        self = text.map(Cell.text) ?? .null
    }

    /// The value as text, nil for `.null`.
    package var text: String? {
        switch self {
        case .null: return nil
        case let .text(s): return s
        case let .integer(n): return String(n)
        case let .real(x): return String(x)
        case let .boolean(b): return b ? "true" : "false"
        }
    }

    /// The value as a JSON literal.
    var json: String {
        switch self {
        case .null: return "null"
        case let .text(s):
            // Plain ASCII without quotes, backslashes or controls is its own JSON text.
            if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
                return "\"" + s + "\""
            }
            return JSONText.quoted(s)
        case .integer: return text!
        case let .real(x): return x.isFinite ? text! : "null"
        case .boolean: return text!
        }
    }
}

/// A result set to print: column names and rows of cells.
///
/// Every query command builds one of these, so every command gets every format, and the
/// escaping rules live in one place.
package struct ResultTable: Sendable, Equatable {
    package var columns: [String]
    package var cells: [[Cell]]

    /// The rows as text (numbers as their decimal text, nil for null).
    package var rows: [[String?]] {
        get { cells.map { $0.map(\.text) } }
        set { cells = newValue.map { $0.map(Cell.init) } }
    }

    /// A table of text values.
    package init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.cells = rows.map { $0.map(Cell.init) }
    }

    /// A table of typed values.
    package init(columns: [String], cells: [[Cell]]) {
        self.columns = columns
        self.cells = cells
    }

    /// The table rendered in `format`. Table output escapes caller-chosen text; JSON and CSV
    /// carry it intact (quoted by their own rules).
    package func render(_ format: OutputFormat) -> String {
        switch format {
        case .table: return renderTable()
        case .csv: return renderDelimited(separator: ",")
        case .tsv: return renderDelimited(separator: "\t")
        case .json: return renderJSON(lines: false)
        case .ndjson: return renderJSON(lines: true)
        }
    }

    func renderTable() -> String {
        let cells = rows.map { $0.map { TerminalText.escape($0 ?? "") } }
        let headers = columns.map(TerminalText.escape)
        // Characters, counted fast for the usual ASCII text.
        func width(_ s: String) -> Int { s.utf8.allSatisfy { $0 < 0x80 } ? s.utf8.count : s.count }
        var widths = headers.map(width)
        for row in cells {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], width(cell)) }
        }
        func line(_ values: [String]) -> String {
            var parts: [String] = []
            for (i, v) in values.enumerated() {
                let isLast = i == values.count - 1
                parts.append(isLast ? v : v + String(repeating: " ", count: widths[i] - width(v)))
            }
            return parts.joined(separator: "  ")
        }
        var out = line(headers) + "\n"
        out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for row in cells { out += line(row) + "\n" }
        return out
    }

    func renderDelimited(separator: Character) -> String {
        let tsv = separator == "\t"
        // True when a field needs escaping (TSV: backslash, tab, LF, CR) or quoting (CSV: , " LF CR).
        func special(_ value: String) -> Bool {
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return true }
                if tsv ? byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") : byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"")
                {
                    return true
                }
            }
            return false
        }
        func field(_ value: String?) -> String {
            guard let value else { return "" }
            // Most values need no quoting or escaping: skip the slower paths for them.
            if !special(value) { return value }
            // By Unicode scalar, not Character: a quote or CR LF can be part of a larger grapheme.
            var out = separator == "\t" ? "" : "\""
            for scalar in value.unicodeScalars {
                switch (separator == "\t", scalar) {
                // TSV has no quoting: backslashes, tabs and line breaks are escaped.
                case (true, "\\"): out += "\\\\"
                case (true, "\t"): out += "\\t"
                case (true, "\n"): out += "\\n"
                case (true, "\r"): out += "\\r"
                case (false, "\""): out += "\"\""
                default: out.unicodeScalars.append(scalar)
                }
            }
            return separator == "\t" ? out : out + "\""
        }
        var out = columns.map(field).joined(separator: String(separator)) + "\r\n"
        if separator == "\t" { out = columns.map(field).joined(separator: "\t") + "\n" }
        for row in rows {
            out += row.map(field).joined(separator: String(separator)) + (separator == "\t" ? "\n" : "\r\n")
        }
        return out
    }

    func renderJSON(lines: Bool) -> String {
        let objects = jsonObjects()
        if lines { return objects.map { $0 + "\n" }.joined() }
        if objects.isEmpty { return "[]\n" }
        return "[\n" + objects.map { "  " + $0 }.joined(separator: ",\n") + "\n]\n"
    }

    /// One JSON object per row, keyed by column name; numbers stay numbers.
    func jsonObjects() -> [String] {
        cells.map { row -> String in
            var parts: [String] = []
            for (i, name) in columns.enumerated() {
                let value = i < row.count ? row[i] : .null
                parts.append(JSONText.quoted(name) + ":" + value.json)
            }
            return "{" + parts.joined(separator: ",") + "}"
        }
    }
}
