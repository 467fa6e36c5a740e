import Foundation
import XCTest

@testable import KMSIndex

final class ResultRenderingTests: XCTestCase {
    let typed = ResultTable(columns: ["n", "s"], cells: [[.integer(3), .text("a,b")], [.real(0.5), .null]])

    func testNumbersStayNumbersInJSONAndTextElsewhere() {
        XCTAssertEqual(typed.render(.json), "[\n  {\"n\":3,\"s\":\"a,b\"},\n  {\"n\":0.5,\"s\":null}\n]\n")
        XCTAssertEqual(typed.render(.ndjson), "{\"n\":3,\"s\":\"a,b\"}\n{\"n\":0.5,\"s\":null}\n")
        XCTAssertEqual(typed.render(.csv), "n,s\r\n3,\"a,b\"\r\n0.5,\r\n")
        XCTAssertEqual(typed.render(.tsv), "n\ts\n3\ta,b\n0.5\t\n")
        XCTAssertEqual(typed.render(.table), "n    s\n---  ---\n3    a,b\n0.5  \n")
        XCTAssertEqual(typed.rows, [["3", "a,b"], ["0.5", nil]])
        XCTAssertEqual(ResultTable(columns: ["x"], cells: [[.real(.nan)]]).render(.json), "[\n  {\"x\":null}\n]\n")
    }

    func testDelimitedOutputQuotesByScalarNotByCharacter() {
        // CR LF is one Character, and so is a quote with a combining accent.
        let tricky = ResultTable(columns: ["v"], rows: [["a\r\nb"], ["q\"\u{301}x"], ["t\tb\\"], ["plain"]])
        XCTAssertEqual(tricky.render(.csv), "v\r\n\"a\r\nb\"\r\n\"q\"\"\u{301}x\"\r\nt\tb\\\r\nplain\r\n")
        XCTAssertEqual(tricky.render(.tsv), "v\na\\r\\nb\nq\"\u{301}x\nt\\tb\\\\\nplain\n")
        XCTAssertEqual(ResultTable(columns: ["v"], rows: [["é\"\u{7}"]]).render(.ndjson), "{\"v\":\"é\\\"\\u0007\"}\n")
    }

    func testTableWidthsCountCharacters() {
        let table = ResultTable(columns: ["a", "b"], rows: [["héllo", "x"], ["hi", "y"]])
        XCTAssertEqual(table.render(.table), "a      b\n-----  -\nhéllo  x\nhi     y\n")
    }

    func testTextTablesKeepTheirBehaviour() {
        var table = ResultTable(columns: ["a"], rows: [["1"], [nil]])
        XCTAssertEqual(table.cells, [[.text("1")], [.null]])
        XCTAssertEqual(table.render(.json), "[\n  {\"a\":\"1\"},\n  {\"a\":null}\n]\n")
        table.rows = [["2"]]
        XCTAssertEqual(table.cells, [[.text("2")]])
    }

    func testSectionsRenderInEveryFormat() {
        let result = SectionedResult([
            .init("first", typed),
            .init("second", ResultTable(columns: ["s", "t"], cells: [[.text("x"), .integer(1)]])),
            .init("empty", ResultTable(columns: ["u"], cells: [])),
        ])
        XCTAssertEqual(
            result.render(.table),
            """
            == first ==
            n    s
            ---  ---
            3    a,b
            0.5  \n
            == second ==
            s  t
            -  -
            x  1

            == empty ==
            (none)

            """)
        XCTAssertEqual(
            result.render(.json),
            """
            {
              "first": [
                {"n":3,"s":"a,b"},
                {"n":0.5,"s":null}
              ],
              "second": [
                {"s":"x","t":1}
              ],
              "empty": []
            }

            """)
        XCTAssertEqual(
            result.render(.ndjson),
            """
            {"section":"first","n":3,"s":"a,b"}
            {"section":"first","n":0.5,"s":null}
            {"section":"second","s":"x","t":1}

            """)
        XCTAssertEqual(result.render(.csv), "section,n,s,t,u\r\nfirst,3,\"a,b\",,\r\nfirst,0.5,,,\r\nsecond,,x,1,\r\n")
        XCTAssertEqual(result.render(.tsv), "section\tn\ts\tt\tu\nfirst\t3\ta,b\t\t\nfirst\t0.5\t\t\t\nsecond\t\tx\t1\t\n")
        XCTAssertFalse(result.isEmpty)
        XCTAssertTrue(SectionedResult([.init("empty", ResultTable(columns: ["u"], cells: []))]).isEmpty)
    }

    func testCallerChosenTextIsEscapedInTablesAndIntactInJSON() {
        let evil = "ua\u{1b}[2J\nnext"
        let result = SectionedResult([.init("s", ResultTable(columns: ["user_agent"], rows: [[evil]]))])
        let table = result.render(.table)
        XCTAssertFalse(table.contains("\u{1b}"))
        XCTAssertTrue(table.contains("ua\\x1b[2J\\nnext"), table)
        let json = try? JSONSerialization.jsonObject(with: Data(result.render(.json).utf8)) as? [String: [[String: String]]]
        XCTAssertEqual(json?["s"]?.first?["user_agent"], evil)
    }

    /// CSV and TSV on a terminal escape what the table escapes: a control character there is a
    /// command to the terminal, a line break a row that was never read. In a file or a pipe
    /// they carry the text as written.
    func testDelimitedOutputOnATerminalEscapesControlCharacters() {
        let evil = "ua\u{1b}[2J,\"x\"\r\nfake row\tand \u{202e}gnp.exe \u{9b}31m\\"
        let table = ResultTable(columns: ["user_agent", "n"], cells: [[Cell(evil), .integer(1)]])
        XCTAssertEqual(table.render(.csv), "user_agent,n\r\n\"\(evil.replacingOccurrences(of: "\"", with: "\"\""))\",1\r\n")
        RowPrinter.escapesForTerminal = true
        defer { RowPrinter.escapesForTerminal = false }
        let shown = #"ua\x1b[2J,"x"\r\nfake row\tand \u{202e}gnp.exe \x9b31m\\"#
        XCTAssertEqual(table.render(.csv), "user_agent,n\r\n\"\(shown.replacingOccurrences(of: "\"", with: "\"\""))\",1\r\n")
        XCTAssertEqual(table.render(.tsv), "user_agent\tn\n\(shown)\t1\n")
        for format in [OutputFormat.csv, .tsv] {
            let text = table.render(format)
            XCTAssertFalse(text.unicodeScalars.contains { TerminalText.isUnsafe($0) && $0 != "\n" && $0 != "\r" && $0 != "\t" }, text)
        }
    }

    /// JSON writes the bidirectional overrides and marks as `\u` escapes: the same text to a
    /// reader, and a terminal or editor shows the rest of the line in its order.
    func testJSONEscapesBidirectionalOverrides() throws {
        let text = "a\u{202e}b\u{2066}c\u{200f}d"
        let table = ResultTable(columns: ["s"], rows: [[text]])
        for format in [OutputFormat.json, .ndjson] {
            let out = table.render(format)
            XCTAssertTrue(out.contains(#"a\u202eb\u2066c\u200fd"#), out)
            let line = try XCTUnwrap(out.split(separator: "\n").first { $0.contains("\"s\"") })
            let object = try JSONSerialization.jsonObject(with: Data(line.trimmingCharacters(in: CharacterSet(charactersIn: "[], ")).utf8))
            XCTAssertEqual((object as? [String: String])?["s"], text)
        }
        var bytes = JSONBytes()
        bytes.string(text)
        XCTAssertEqual(String(decoding: bytes.bytes, as: UTF8.self), #""a\u202eb\u2066c\u200fd""#)
    }
}
