import XCTest
@testable import KMSIndex

/// The writer's id cache must answer exactly what was stored, whether a text is found in its
/// small front table or behind it.
final class TextIDCacheTests: XCTestCase {
    func testEveryStoredTextIsFoundAndNoOtherIs() {
        let cache = TextIDCache()
        // Five times the front table's slots: most lookups miss it and go to the Dictionary.
        let texts = (0..<20_000).map { "arn:aws:s3:::bucket/AWSLogs/\($0 % 7)/\($0).json.gz" }
        for (i, text) in texts.enumerated() { cache.set(Int64(i + 1), for: text) }
        for _ in 0..<2 {
            for (i, text) in texts.enumerated() {
                // A text built anew (another String instance) is found all the same.
                XCTAssertEqual(cache.id(of: String(decoding: Array(text.utf8), as: UTF8.self)), Int64(i + 1))
            }
        }
        XCTAssertNil(cache.id(of: "arn:aws:s3:::bucket/AWSLogs/0/20000.json.gz"))
        XCTAssertNil(cache.id(of: ""))
        XCTAssertNil(cache.id(of: "arn:aws:s3:::bucket/AWSLogs/0/0.json.g"))
    }

    func testShortEmptyAndNonASCIITextsAndRemoval() {
        let cache = TextIDCache()
        let texts = ["", "a", "ab", "Decrypt", "us-east-1", "12345678", "123456789", "\u{E9}", "e\u{301}", "ファイル"]
        for (i, text) in texts.enumerated() { cache.set(Int64(i), for: text) }
        for (i, text) in texts.enumerated() { XCTAssertEqual(cache.id(of: text), Int64(i), text) }
        // Equal as Strings (canonically equivalent) but not in bytes: two texts, as in SQLite.
        XCTAssertEqual(cache.id(of: "\u{E9}"), 7)
        XCTAssertEqual(cache.id(of: "e\u{301}"), 8)
        cache.removeAll()
        cache.set(8, for: "e\u{301}")
        XCTAssertNil(cache.id(of: "\u{E9}"))
        for (i, text) in texts.enumerated() { cache.set(Int64(i), for: text) }
        cache.set(42, for: "Decrypt")
        XCTAssertEqual(cache.id(of: "Decrypt"), 42)
        cache.removeAll()
        for text in texts { XCTAssertNil(cache.id(of: text), text) }
    }

    /// Looking a text up by its bytes finds exactly what looking it up as a String finds.
    func testLookupsByBytesAgreeWithLookupsByString() {
        let cache = TextIDCache()
        let stored = ["", "a", "Decrypt", "e\u{301}", "type\u{1F}arn:aws:iam::111122223333:user/alice\u{1F}\u{1F}"]
        for (i, text) in stored.enumerated() { cache.set(Int64(i + 1), for: text) }
        for probe in stored + ["\u{E9}", "b", "type", "Decrypt\u{1F}"] {
            let byBytes = Array(probe.utf8).withUnsafeBufferPointer { cache.id(ofUTF8: $0) }
            XCTAssertEqual(byBytes, cache.id(of: probe), probe.debugDescription)
            XCTAssertEqual(byBytes, stored.firstIndex { Array($0.utf8) == Array(probe.utf8) }.map { Int64($0 + 1) })
        }
    }
}
