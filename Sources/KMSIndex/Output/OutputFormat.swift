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

    /// The table rendered in `format` (through `RowPrinter`, as streamed results are). Table
    /// output escapes caller-chosen text; JSON and CSV carry it intact (quoted by their own
    /// rules).
    package func render(_ format: OutputFormat) -> String {
        var out = ""
        let printer = RowPrinter(columns: columns, format: format) { out += $0 }
        for row in cells { printer.add(row) }
        printer.finish()
        return out
    }

    /// One JSON object per row, keyed by column name; numbers stay numbers.
    func jsonObjects() -> [String] { cells.map { RowPrinter.jsonObject(columns, $0) } }
}
