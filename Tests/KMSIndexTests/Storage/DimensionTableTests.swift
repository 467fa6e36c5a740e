import GRDB
import XCTest

@testable import KMSIndex

/// The writer's cache of a dimension table keeps two generations: bounding it drops the older
/// one only, and a text met again moves to the current one.
final class DimensionTableTests: XCTestCase {
    func testBoundingKeepsWhatWasMetRecently() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try index.queue.write { db in
            let table = try DimensionTable(
                db, table: "strings", select: "SELECT id FROM strings WHERE text = ?",
                insert: "INSERT INTO strings (text) VALUES (?)")
            func id(_ text: String) throws -> Int64 { try table.id(db, text) { $0.text(text) } }
            let a = try id("a"), b = try id("b")
            // A row removed behind the cache's back shows whether an id came from the cache.
            func forget(_ text: String) throws { try db.execute(sql: "DELETE FROM strings WHERE text = ?", arguments: [text]) }
            try forget("a")
            try forget("b")

            table.bound(1, bytes: 1 << 30)  // a new generation; "a" and "b" in the one before
            XCTAssertEqual(try id("a"), a, "found in the generation before")
            XCTAssertEqual(table.cachedCount, 3)

            table.bound(0, bytes: 1 << 30)  // "b", not met since, is dropped; "a" was met again
            XCTAssertEqual(try id("a"), a)
            XCTAssertNotEqual(try id("b"), b, "looked up, not found, inserted again")

            // Bytes bound a generation as ids do.
            table.bound(1 << 20, bytes: 1)
            table.bound(1 << 20, bytes: 1)
            XCTAssertEqual(table.cachedCount, 0)
            XCTAssertNotEqual(try id("a"), a)
        }
    }
}
