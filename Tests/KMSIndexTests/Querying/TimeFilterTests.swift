import Foundation
import XCTest

@testable import KMSIndex

final class TimeFilterTests: XCTestCase {
    /// 2024-03-10T12:00:00Z.
    let now = Date(timeIntervalSince1970: 1_710_072_000)

    func testDatesAreTheFirstSecondOrTheEndOfTheDay() throws {
        XCTAssertEqual(try TimeFilter.since("2024-03-01"), "2024-03-01T00:00:00Z")
        XCTAssertEqual(try TimeFilter.until("2024-03-01"), "2024-03-02T00:00:00Z")
        XCTAssertEqual(try TimeFilter.until("2024-02-28"), "2024-02-29T00:00:00Z")
        XCTAssertEqual(try TimeFilter.until("2024-12-31"), "2025-01-01T00:00:00Z")
    }

    func testTimesAreNormalizedToUTCSeconds() throws {
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34:56Z"), "2024-03-01T12:34:56Z")
        XCTAssertEqual(try TimeFilter.until("2024-03-01T12:34:56Z"), "2024-03-01T12:34:56Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34:56.789Z"), "2024-03-01T12:34:56.789Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01 12:34"), "2024-03-01T12:34:00Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34"), "2024-03-01T12:34:00Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34+02:00"), "2024-03-01T10:34:00Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T01:00:00+02:00"), "2024-02-29T23:00:00Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:00:00"), "2024-03-01T12:00:00Z")
        XCTAssertEqual(try TimeFilter.since(" 2024-03-01 "), "2024-03-01T00:00:00Z")
    }

    /// A fraction of a second is kept to the millisecond, as event times are: a time the tool
    /// printed, given back as a bound, falls on the same side of it.
    func testFractionsAreKeptToTheMillisecond() throws {
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34:56.5Z"), "2024-03-01T12:34:56.500Z")
        XCTAssertEqual(try TimeFilter.until("2024-03-01T12:34:56.05Z"), "2024-03-01T12:34:56.050Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34:56.1239Z"), "2024-03-01T12:34:56.123Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T12:34:56.000Z"), "2024-03-01T12:34:56Z")
        XCTAssertEqual(try TimeFilter.since("2024-03-01T01:00:00.25+02:00"), "2024-02-29T23:00:00.250Z")
        // The window is checked as times: 52Z is before 52.5Z, though not as text.
        XCTAssertNoThrow(try QueryFilter.parse(since: "2024-03-01T00:00:52Z", until: "2024-03-01T00:00:52.5Z"))
        XCTAssertThrowsError(try QueryFilter.parse(since: "2024-03-01T00:00:52.5Z", until: "2024-03-01T00:00:52.5Z"))
        XCTAssertThrowsError(try QueryFilter.parse(since: "2024-03-01T00:00:52.5Z", until: "2024-03-01T00:00:52Z"))
    }

    func testAgesCountBackFromNow() throws {
        XCTAssertEqual(try TimeFilter.since("7d", now: now), "2024-03-03T12:00:00Z")
        XCTAssertEqual(try TimeFilter.since("24h", now: now), "2024-03-09T12:00:00Z")
        XCTAssertEqual(try TimeFilter.since("30m", now: now), "2024-03-10T11:30:00Z")
        XCTAssertEqual(try TimeFilter.since("90s", now: now), "2024-03-10T11:58:30Z")
        XCTAssertEqual(try TimeFilter.since("2w", now: now), "2024-02-25T12:00:00Z")
        XCTAssertEqual(try TimeFilter.until("0d", now: now), "2024-03-10T12:00:00Z")
        XCTAssertEqual(TimeFilter.iso(now), "2024-03-10T12:00:00Z")
    }

    func testTextThatIsNotATimeIsRefused() {
        for text in ["yesterday", "2024-02-30", "2024-13-01", "2024-03-01T25:00:00Z", "7x", "-7d", "+7d", "", "d", "2024/03/01"] {
            XCTAssertThrowsError(try TimeFilter.since(text, now: now), text) { error in
                XCTAssertTrue("\(error)".contains("is not a time"), "\(error)")
            }
        }
    }

    func testFilterParsingChecksTheWindowAndTheLimit() throws {
        let filter = try QueryFilter.parse(
            since: "2024-03-01", until: "2024-03-01", account: "1", region: "r",
            key: "k", errorsOnly: true, limit: 5, now: now)
        XCTAssertEqual(
            filter,
            QueryFilter(
                since: "2024-03-01T00:00:00Z", until: "2024-03-02T00:00:00Z", account: "1",
                region: "r", key: "k", errorsOnly: true, limit: 5))
        XCTAssertThrowsError(try QueryFilter.parse(since: "2024-03-02", until: "2024-03-01T12:00:00Z"))
        // Said with the values as given, and the bounds they make.
        XCTAssertThrowsError(try QueryFilter.parse(since: "2024-03-02", until: "2024-03-01")) { error in
            XCTAssertEqual(
                "\(error)",
                "--since 2024-03-02 is not before --until 2024-03-01: from 2024-03-02T00:00:00Z up to, not including, "
                    + "2024-03-02T00:00:00Z is no time at all")
        }
        XCTAssertThrowsError(try QueryFilter.parse(since: "1d", until: "2d", now: now))
        XCTAssertThrowsError(try QueryFilter.parse(since: nil, until: nil, limit: 0))
    }

    func testBoundsOrderFractionalEventTimesCorrectly() throws {
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            [
                queryRecord("a", "Decrypt", "2024-03-01T00:00:00.500Z", requestParameters: Q.context(object: Q.log1)),
                queryRecord("b", "Decrypt", "2024-02-29T23:59:59.900Z", requestParameters: Q.context(object: Q.log1)),
                queryRecord("c", "Decrypt", "2024-03-01T00:00:00Z", requestParameters: Q.context(object: Q.log1)),
            ])
        func ids(_ filter: QueryFilter) throws -> [String] {
            try index.queue.read { db in try PrincipalReads(db).reads(principal: "alice", filter: filter).map(\.eventID).sorted() }
        }
        XCTAssertEqual(try ids(QueryFilter(since: "2024-03-01T00:00:00Z")), ["a", "c"])
        XCTAssertEqual(try ids(QueryFilter(until: "2024-03-01T00:00:00Z")), ["b"])
        XCTAssertEqual(try ids(QueryFilter(since: "2024-02-29T23:59:59Z", until: "2024-03-01T00:00:01Z")), ["a", "b", "c"])
        // Bounds with a fraction, as the command line gives them.
        func window(_ since: String?, _ until: String?) throws -> [String] {
            try ids(try QueryFilter.parse(since: since, until: until))
        }
        XCTAssertEqual(try window("2024-03-01T00:00:00.5Z", "2024-03-01T00:00:01Z"), ["a"])
        XCTAssertEqual(try window(nil, "2024-03-01T00:00:00.5Z"), ["b", "c"])
        XCTAssertEqual(try window("2024-02-29T23:59:59.9Z", "2024-03-01T00:00:00.001Z"), ["b", "c"])
    }
}
