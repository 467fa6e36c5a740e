import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// The SQL the README gives users runs on an index as written, and its deliveries are `usage`'s.
final class ReadmeSQLTests: XCTestCase {
    /// Every statement of the README's SQLite `sql` blocks, comments dropped.
    func readmeStatements() throws -> [String] {
        let readme = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        var statements: [String] = []
        for block in text.components(separatedBy: "```sql\n").dropFirst() {
            let code = block.components(separatedBy: "```").first ?? ""
            // The export's engines' SQL, run by scripts/check-export, not SQLite's.
            if code.hasPrefix("-- DuckDB") { continue }
            let lines = code.split(separator: "\n").filter { !$0.hasPrefix("--") }.map { line in
                line.range(of: "  -- ").map { String(line[..<$0.lowerBound]) } ?? String(line)
            }
            statements += lines.joined(separator: "\n").split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { !$0.isEmpty }
        }
        return statements
    }

    func testEveryStatementRuns() throws {
        let statements = try readmeStatements()
        XCTAssertGreaterThanOrEqual(statements.count, 10, "the README's examples were not found")
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let values = ["key": Q.key1, "role": Q.readerRole]
        try index.queue.read { db in
            for sql in statements {
                let statement = try db.makeStatement(sql: sql)
                var arguments: [String: (any DatabaseValueConvertible)?] = [:]
                // `:name` parameters (not the colons of ARNs and times in literals).
                let parameter = try NSRegularExpression(pattern: "(?<![A-Za-z0-9_:%']):([a-z]+)")
                for match in parameter.matches(in: sql, range: NSRange(sql.startIndex..., in: sql)) {
                    let name = (sql as NSString).substring(with: match.range(at: 1))
                    arguments[name] = values[name] ?? "arn:aws:s3:::logs-bucket/none"
                }
                statement.arguments = StatementArguments(arguments)
                XCTAssertNoThrow(try Row.fetchAll(statement), sql)
            }
            // Question 4's deliveries are the ones `usage` counts.
            let question = try XCTUnwrap(statements.first { $0.contains("AS deliveries") })
            let delivered = try Row.fetchAll(db, sql: question).reduce(0) { $0 + ($1["deliveries"] as Int) }
            let counted = try Int.fetchOne(db, sql: "SELECT sum(events) FROM activity_daily WHERE delivered") ?? 0
            XCTAssertEqual(delivered, counted)
            XCTAssertGreaterThan(counted, 0)
        }
    }
}
