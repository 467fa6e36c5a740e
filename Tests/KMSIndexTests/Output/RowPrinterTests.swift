import GRDB
import XCTest

@testable import KMSIndex

final class RowPrinterTests: XCTestCase {
    /// What a printer writes, piece by piece.
    final class Pieces {
        var pieces: [String] = []
        var text: String { pieces.joined() }
    }

    func printer(_ columns: [String], _ format: OutputFormat) -> (RowPrinter, Pieces) {
        let pieces = Pieces()
        return (RowPrinter(columns: columns, format: format) { pieces.pieces.append($0) }, pieces)
    }

    /// Rows streamed one by one print exactly as the held table renders them, in every format,
    /// empty or not.
    func testStreamedRowsPrintAsAHeldTable() {
        let rows: [[Cell]] = [[.integer(3), .text("a,b\tc")], [.real(0.5), .null], [.boolean(true), .text("wide \u{301}text")]]
        for format in OutputFormat.allCases {
            for count in [0, 1, 3] {
                let table = ResultTable(columns: ["n", "s"], cells: Array(rows.prefix(count)))
                let (p, pieces) = printer(table.columns, format)
                for row in table.cells { p.add(row) }
                p.finish()
                XCTAssertEqual(pieces.text, table.render(format), "\(format), \(count) rows")
                XCTAssertEqual(p.rowCount, count)
            }
        }
        XCTAssertEqual(ResultTable(columns: ["n"], cells: []).render(.json), "[]\n")
        XCTAssertEqual(ResultTable(columns: ["n"], cells: []).render(.csv), "n\r\n")
    }

    /// Rows read straight from SQLite's columns print as their cells do, in every format, for
    /// every type of value and text that needs quoting or escaping; text after a NUL is kept.
    func testRowsFromSQLitePrintAsTheirCells() throws {
        let queue = try DatabaseQueue()
        let sql = """
            SELECT 42 AS n, -7 AS neg, 0.25 AS r, NULL AS absent, x'00ff10' AS blob, 'plain' AS plain,
                   'a,b"c' || char(13, 10) || 'd' || char(9) || 'e\\f' AS quoted,
                   'é' || char(27, 133, 8232, 127) || '✓' AS escaped
            UNION ALL SELECT 0, 9223372036854775807, -1e300, 'x', x'', '', ',', char(34)
            """
        try queue.read { db in
            let query = try ListingQuery(db, sql: sql, arguments: [])
            let table = try query.table()
            XCTAssertEqual(table.cells.count, 2)
            for format in OutputFormat.allCases {
                let (p, pieces) = printer(query.columns, format)
                try query.print(to: p)
                p.finish()
                XCTAssertEqual(pieces.text, table.render(format), "\(format)")
                XCTAssertEqual(p.rowCount, 2)
            }
            // A NUL inside text is data: printed (escaped in JSON), not where the text ends.
            let nul = try ListingQuery(db, sql: "SELECT 'a' || char(0) || 'b' AS t", arguments: [])
            let (p, pieces) = printer(nul.columns, .ndjson)
            try nul.print(to: p)
            p.finish()
            XCTAssertEqual(pieces.text, "{\"t\":\"a\\u0000b\"}\n")
        }
    }

    /// Output leaves the printer while rows are still coming: nothing waits for the end but
    /// the last piece (and, for a table, the rows that size its columns).
    func testOutputIsWrittenBeforeTheLastRow() {
        let row: [Cell] = [.text(String(repeating: "x", count: 100))]
        let rows = RowPrinter.pieceBytes / 50
        for format in [OutputFormat.csv, .tsv, .json, .ndjson, .table] {
            let (p, pieces) = printer(["v"], format)
            let count = format == .table ? RowPrinter.sizingRows + rows : rows
            for _ in 0..<count { p.add(row) }
            XCTAssertGreaterThan(pieces.pieces.count, 0, "\(format): written before finish")
            let before = pieces.text.utf8.count
            p.finish()
            XCTAssertLessThan(pieces.text.utf8.count - before, RowPrinter.pieceBytes + 200, "\(format)")
        }
    }

    /// A table of more rows than it is sized by keeps the first rows' widths: a wider value
    /// later widens its own line only.
    func testALongTableIsSizedByItsFirstRows() {
        let (p, pieces) = printer(["name", "n"], .table)
        for i in 0..<RowPrinter.sizingRows { p.add([.text("ab"), .integer(Int64(i % 10))]) }
        p.add([.text("much wider"), .integer(1)])
        p.add([.text("ab"), .integer(2)])
        p.finish()
        let lines = pieces.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines[0], "name  n")
        XCTAssertEqual(lines[1], "----  -")
        XCTAssertEqual(lines[2], "ab    0")
        XCTAssertEqual(lines[lines.count - 3], "much wider  1")
        XCTAssertEqual(lines[lines.count - 2], "ab    2")
        XCTAssertEqual(lines.last, "")
        XCTAssertEqual(lines.count, RowPrinter.sizingRows + 5)
    }
}
