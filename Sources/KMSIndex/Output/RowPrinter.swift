import Foundation
import GRDB
import GRDBSQLite

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
    /// CSV and TSV bound for a terminal: fields escaped as the table format escapes them
    /// (`TerminalText`), since a control character printed there is a command to the terminal
    /// (a user agent can clear the screen or rewrite a row). Set once at start, when standard
    /// output is a terminal; in a file or a pipe, fields are carried as written.
    package nonisolated(unsafe) static var escapesForTerminal = false
    /// Text is handed to `write` in pieces of about this many bytes.
    static let pieceBytes = 1 << 16

    package let columns: [String]
    package let format: OutputFormat
    /// Rows added so far.
    package private(set) var rowCount = 0

    /// Receives the output's bytes (UTF-8) in order; the buffer is valid during the call only.
    private let write: (UnsafeRawBufferPointer) -> Void
    /// Output not yet handed to `write`, as UTF-8 (JSON and CSV are written byte by byte:
    /// a listing of millions of rows spends its time here).
    private var pending = JSONBytes(capacity: pieceBytes + 4096)
    private var started = false
    /// The table format: rows held until the columns are sized, then the widths.
    private var held: [[String]] = []
    private var widths: [Int]?
    /// JSON: `"name":` of each column, quoted once.
    private let keys: [[UInt8]]

    /// `write` receives the output in order, in pieces.
    package convenience init(columns: [String], format: OutputFormat, write: @escaping (String) -> Void) {
        self.init(columns: columns, format: format, writeBytes: { write(String(decoding: $0, as: UTF8.self)) })
    }

    /// `writeBytes` receives the output in order, in pieces of UTF-8, each valid during the
    /// call only: printed as they are, they are neither checked again nor copied into a string.
    package init(columns: [String], format: OutputFormat, writeBytes: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.columns = columns
        self.format = format
        self.write = writeBytes
        keys = columns.map { name in
            var key = JSONBytes()
            key.string(name)
            key.raw(":")
            return key.bytes
        }
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
            for i in 0..<columns.count {
                if i > 0 { pending.raw(format == .tsv ? "\t" : ",") }
                if i < row.count, let text = row[i].text { field(text) }
            }
            pending.raw(format == .tsv ? "\n" : "\r\n")
        case .json, .ndjson:
            startObject()
            for i in 0..<columns.count {
                if i > 0 { pending.raw(",") }
                pending.raw(keys[i])
                Self.appendJSON(i < row.count ? row[i] : .null, to: &pending)
            }
            endObject()
        }
        flushIfFull()
    }

    /// Adds the row SQLite's statement `handle` is on, read straight from its columns: text
    /// is never made a Swift string on the way to JSON, CSV or TSV. Columns beyond the
    /// printer's are ignored. Values print as `Cell(databaseValue:)` makes them.
    package func add(columnsOf handle: OpaquePointer) {
        guard format != .table else {
            add((0..<Int32(columns.count)).map { Self.cell(handle, $0) })
            return
        }
        rowCount += 1
        let count = min(Int32(columns.count), sqlite3_column_count(handle))
        if format == .csv || format == .tsv {
            startOnce()
            for i in 0..<Int32(columns.count) {
                if i > 0 { pending.raw(format == .tsv ? "\t" : ",") }
                guard i < count else { continue }
                switch sqlite3_column_type(handle, i) {
                case SQLITE_INTEGER: pending.int(sqlite3_column_int64(handle, i))
                case SQLITE_NULL: break
                case SQLITE_TEXT: withColumnText(handle, i) { field($0) }
                default: if let text = Self.cell(handle, i).text { field(text) }
                }
            }
            pending.raw(format == .tsv ? "\n" : "\r\n")
        } else {
            startObject()
            for i in 0..<Int32(columns.count) {
                if i > 0 { pending.raw(",") }
                pending.raw(keys[Int(i)])
                guard i < count else { pending.null(); continue }
                switch sqlite3_column_type(handle, i) {
                case SQLITE_INTEGER: pending.int(sqlite3_column_int64(handle, i))
                case SQLITE_NULL: pending.null()
                case SQLITE_TEXT: withColumnText(handle, i) { pending.string($0) }
                default: Self.appendJSON(Self.cell(handle, i), to: &pending)
                }
            }
            endObject()
        }
        flushIfFull()
    }

    /// Prints what is still held or pending, and the end of the output (a JSON array's
    /// bracket). A table of no rows prints its header alone.
    package func finish() {
        switch format {
        case .table: if widths == nil { sizeTable() }
        case .csv, .tsv: startOnce()
        case .json: pending.raw(started ? "\n]\n" : "[]\n")
        case .ndjson: break
        }
        if !pending.bytes.isEmpty { pending.bytes.withUnsafeBytes(write) }
        pending.bytes.removeAll(keepingCapacity: true)
    }

    /// Prints the rows formatted so far, and nothing after them (a JSON array stays open): what
    /// an error met part-way through a result leaves, before the command exits 2.
    package func flushRowsSoFar() {
        if format == .table, widths == nil, !held.isEmpty { sizeTable() }
        if format == .json, started { pending.raw("\n") }
        if !pending.bytes.isEmpty { pending.bytes.withUnsafeBytes(write) }
        pending.bytes.removeAll(keepingCapacity: true)
    }

    private func emit(_ text: String) {
        var text = text
        text.withUTF8 { pending.bytes.append(contentsOf: $0) }
        flushIfFull()
    }

    private func flushIfFull() {
        if pending.bytes.count >= Self.pieceBytes {
            pending.bytes.withUnsafeBytes(write)
            pending.bytes.removeAll(keepingCapacity: true)
        }
    }

    private func startObject() {
        if format == .json { pending.raw(started ? ",\n  {" : "[\n  {") } else { pending.raw("{") }
        started = true
    }

    private func endObject() { pending.raw(format == .ndjson ? "}\n" : "}") }

    /// The value of column `i`, as `Cell(databaseValue:)` makes it.
    static func cell(_ handle: OpaquePointer, _ i: Int32) -> Cell {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT: return .text(withColumnText(handle, i) { String(decoding: $0, as: UTF8.self) })
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, i))
            let bytes = sqlite3_column_blob(handle, i).map { UnsafeRawBufferPointer(start: $0, count: count) }
            return Cell(databaseValue: Data(bytes ?? UnsafeRawBufferPointer(start: nil, count: 0)).databaseValue)
        default: return .null
        }
    }

    /// A cell as a JSON literal, as `Cell.json` writes it.
    static func appendJSON(_ cell: Cell, to json: inout JSONBytes) {
        switch cell {
        case .null: json.null()
        case let .text(s): json.string(s)
        case let .integer(n): json.int(n)
        case let .real(x): json.double(x)
        case let .boolean(b): if b { json.raw("true") } else { json.raw("false") }
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
        for (i, name) in columns.enumerated() {
            if i > 0 { pending.raw(format == .tsv ? "\t" : ",") }
            field(name)
        }
        pending.raw(format == .tsv ? "\n" : "\r\n")
    }

    private func field(_ value: String) {
        var value = value
        value.withUTF8 { field($0) }
    }

    /// CSV quotes a field holding `,` `"` LF or CR; TSV has no quoting and escapes backslash,
    /// tab, LF and CR (on a terminal, `TerminalText` escapes those and every control character
    /// the same way).
    private func field(_ utf8: UnsafeBufferPointer<UInt8>) {
        if Self.escapesForTerminal {
            var escaped = TerminalText.escape(String(decoding: utf8, as: UTF8.self))
            escaped.withUTF8 { text in
                if format == .tsv || !text.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") }) {
                    pending.bytes.append(contentsOf: text)
                } else {
                    quoted(text)
                }
            }
            return
        }
        let tsv = format == .tsv
        // Most values need no quoting or escaping: copied as they are.
        let (lf, cr) = (UInt8(ascii: "\n"), UInt8(ascii: "\r"))
        let (a, b) = tsv ? (UInt8(ascii: "\\"), UInt8(ascii: "\t")) : (UInt8(ascii: ","), UInt8(ascii: "\""))
        let special = utf8.contains { $0 == lf || $0 == cr || $0 == a || $0 == b }
        guard special else {
            pending.bytes.append(contentsOf: utf8)
            return
        }
        // The special characters are ASCII: a byte of a longer UTF-8 sequence is never one.
        if !tsv { pending.raw("\"") }
        for byte in utf8 {
            switch (tsv, byte) {
            case (true, UInt8(ascii: "\\")): pending.raw("\\\\")
            case (true, UInt8(ascii: "\t")): pending.raw("\\t")
            case (true, UInt8(ascii: "\n")): pending.raw("\\n")
            case (true, UInt8(ascii: "\r")): pending.raw("\\r")
            case (false, UInt8(ascii: "\"")): pending.raw("\"\"")
            default: pending.bytes.append(byte)
            }
        }
        if !tsv { pending.raw("\"") }
    }

    /// A CSV field in quotes, its quotes doubled.
    private func quoted(_ utf8: UnsafeBufferPointer<UInt8>) {
        pending.raw("\"")
        for byte in utf8 {
            if byte == UInt8(ascii: "\"") { pending.raw("\"\"") } else { pending.bytes.append(byte) }
        }
        pending.raw("\"")
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
