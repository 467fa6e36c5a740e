import Foundation
import XCTest

@testable import KMSIndexSynth

final class JSONWriterTests: XCTestCase {
    /// Every control character, quotes, backslashes and non-ASCII text survive a round trip
    /// through a standard JSON parser.
    func testStringEscapingRoundTrips() throws {
        let controls = String(decoding: (0..<32).map { UInt8($0) }, as: UTF8.self)
        let samples = [
            "", "plain", "quote\" and backslash\\", controls, "line\nbreak\r\ttab", "\u{1B}[2J clear screen",
            "日本語のテキスト", "emoji 🎉👩‍💻", "slash / and \u{7F} delete", "\u{2028}\u{2029}",
        ]
        var w = JSONWriter()
        w.beginObject()
        for (index, sample) in samples.enumerated() {
            w.key("k\(index)")
            w.string(sample)
        }
        w.key("quoted \"key\"\n")
        w.string("v")
        w.endObject()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any])
        for (index, sample) in samples.enumerated() {
            XCTAssertEqual(object["k\(index)"] as? String, sample, "sample \(index)")
        }
        XCTAssertEqual(object["quoted \"key\"\n"] as? String, "v")
        // Control characters never appear raw.
        XCTAssertFalse(w.bytes.contains { $0 < 0x20 })
    }

    func testCommasAndNesting() throws {
        var w = JSONWriter()
        w.beginObject()
        w.field("a", 1)
        w.key("b")
        w.beginArray()
        w.int(-2)
        w.bool(true)
        w.null()
        w.beginObject()
        w.endObject()
        w.beginArray()
        w.endArray()
        w.string("x")
        w.endArray()
        w.key("c")
        w.stringMap([("aws:s3:arn", "arn:aws:s3:::b/k"), ("x", "y")])
        w.key("t")
        w.time(1_709_251_200_123, fractional: true)
        w.endObject()
        XCTAssertEqual(
            String(decoding: w.bytes, as: UTF8.self),
            #"{"a":1,"b":[-2,true,null,{},[],"x"],"c":{"aws:s3:arn":"arn:aws:s3:::b/k","x":"y"},"t":"2024-03-01T00:00:00.123Z"}"#
        )
    }

    func testTimeFormats() {
        let ms: Int64 = 1_383_354_388_000  // 2013-11-02T01:06:28Z
        XCTAssertEqual(UTCTime.iso8601(ms), "2013-11-02T01:06:28Z")
        XCTAssertEqual(UTCTime.compactSeconds(ms), "20131102T010628Z")
        XCTAssertEqual(UTCTime.compactMinutes(ms), "20131102T0106Z")
        XCTAssertEqual(UTCTime.datePath(ms), "2013/11/02")
        XCTAssertEqual(UTCTime.humanReadable(ms), "Nov 2, 2013, 1:06:28 AM")
        XCTAssertEqual(UTCTime.parseDay("2024-02-29"), 1_709_164_800_000)
        XCTAssertNil(UTCTime.parseDay("2023-02-29"))
        XCTAssertNil(UTCTime.parseDay("2024-3-1"))
    }
}
