/// Prints result rows as they come, in any `OutputFormat`, holding none of them: an ad-hoc
/// query or a listing of millions of rows prints in the memory of one. The table format holds
/// its first `sizingRows` rows, to size its columns; a later value wider than its column
/// widens only its own line.
///
/// `ResultTable.render` prints through it too, so a result reads the same whether it was
/// held or streamed.
package final class RowPrinter {
    /// Rows a table is sized by: all of them, for a result of up to this many.
    package static let sizingRows = 10_000
    /// Text is handed to `write` in pieces of about this many bytes.
    static let pieceBytes = 1 << 16

    package let columns: [String]
    package let format: OutputFormat
    /// Rows added so far.
    package private(set) var rowCount = 0

    private let write: (String) -> Void
    private var pending = ""
    private var started = false
    /// The table format: rows held until the columns are sized, then the widths.
    private var held: [[String]] = []
    private var widths: [Int]?

    /// `write` receives the output in order, in pieces.
    package init(columns: [String], format: OutputFormat, write: @escaping (String) -> Void) {
        self.columns = columns
        self.format = format
        self.write = write
    }

    package func add(_ row: [Cell]) {
        rowCount += 1
        switch format {
        case .table:
            let texts = row.map { TerminalText.escape($0.text ?? "") }
            if let widths {
                emit(Self.tableLine(texts, widths))
            } else {
                held.append(texts)
                if held.count == Self.sizingRows { sizeTable() }
            }
        case .csv, .tsv:
            startOnce()
            emit(delimitedLine(row.map(\.text)))
        case .json:
            emit((started ? ",\n  " : "[\n  ") + Self.jsonObject(columns, row))
            started = true
        case .ndjson:
            emit(Self.jsonObject(columns, row) + "\n")
        }
    }

    /// Prints what is still held or pending, and the end of the output (a JSON array's
    /// bracket). A table of no rows prints its header alone.
    package func finish() {
        switch format {
        case .table: if widths == nil { sizeTable() }
        case .csv, .tsv: startOnce()
        case .json: emit(started ? "\n]\n" : "[]\n")
        case .ndjson: break
        }
        if !pending.isEmpty { write(pending) }
        pending = ""
    }

    private func emit(_ text: String) {
        pending += text
        if pending.utf8.count >= Self.pieceBytes {
            write(pending)
            pending = ""
        }
    }

    // MARK: Table

    /// Sizes the columns by the header and the held rows, and prints them.
    private func sizeTable() {
        let headers = columns.map(TerminalText.escape)
        var widths = headers.map(Self.width)
        for row in held {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], Self.width(cell)) }
        }
        self.widths = widths
        emit(Self.tableLine(headers, widths))
        emit(Self.tableLine(widths.map { String(repeating: "-", count: $0) }, widths))
        for row in held { emit(Self.tableLine(row, widths)) }
        held = []
    }

    /// Characters, counted fast for the usual ASCII text.
    private static func width(_ s: String) -> Int { s.utf8.allSatisfy { $0 < 0x80 } ? s.utf8.count : s.count }

    private static func tableLine(_ values: [String], _ widths: [Int]) -> String {
        var parts: [String] = []
        for (i, v) in values.enumerated() {
            let isLast = i == values.count - 1
            let pad = i < widths.count ? max(0, widths[i] - width(v)) : 0
            parts.append(isLast ? v : v + String(repeating: " ", count: pad))
        }
        return parts.joined(separator: "  ") + "\n"
    }

    // MARK: CSV and TSV

    private func startOnce() {
        guard !started else { return }
        started = true
        emit(delimitedLine(columns))
    }

    private func delimitedLine(_ values: [String?]) -> String {
        let tsv = format == .tsv
        return values.map { Self.field($0, tsv: tsv) }.joined(separator: tsv ? "\t" : ",") + (tsv ? "\n" : "\r\n")
    }

    /// CSV quotes a field holding `,` `"` LF or CR; TSV has no quoting and escapes backslash,
    /// tab, LF and CR.
    private static func field(_ value: String?, tsv: Bool) -> String {
        guard let value else { return "" }
        // Most values need no quoting or escaping: skip the slower paths for them.
        var special = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                || (tsv
                    ? byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") : byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\""))
            {
                special = true
                break
            }
        }
        if !special { return value }
        // By Unicode scalar, not Character: a quote or CR LF can be part of a larger grapheme.
        var out = tsv ? "" : "\""
        for scalar in value.unicodeScalars {
            switch (tsv, scalar) {
            case (true, "\\"): out += "\\\\"
            case (true, "\t"): out += "\\t"
            case (true, "\n"): out += "\\n"
            case (true, "\r"): out += "\\r"
            case (false, "\""): out += "\"\""
            default: out.unicodeScalars.append(scalar)
            }
        }
        return tsv ? out : out + "\""
    }

    // MARK: JSON

    /// One JSON object, keyed by column name; numbers stay numbers.
    static func jsonObject(_ columns: [String], _ row: [Cell]) -> String {
        var parts: [String] = []
        for (i, name) in columns.enumerated() {
            let value = i < row.count ? row[i] : .null
            parts.append(JSONText.quoted(name) + ":" + value.json)
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
