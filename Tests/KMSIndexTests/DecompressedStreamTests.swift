import Foundation
import XCTest

@testable import KMSIndex

final class DecompressedStreamTests: XCTestCase {
    func read(_ data: Data, limit: Int = 1 << 30) throws -> String {
        let dir = try TempDir()
        let path = try dir.write("file.gz", data)
        let stream = try DecompressedStream(path: path, limit: limit)
        let window = ByteWindow(capacity: 64)
        while try stream.read(into: window, chunk: 7) > 0 {}
        return String(decoding: UnsafeBufferPointer(start: window.base + window.start, count: window.count), as: UTF8.self)
    }

    func testConcatenatedMembersReadAsOneStream() throws {
        XCTAssertEqual(try read(gzip("{\"Records\":[") + gzip("1,2") + gzip("]}")), "{\"Records\":[1,2]}")
    }

    func testPlainJSONPassesThrough() throws {
        XCTAssertEqual(try read(Data("{\"a\":1}".utf8)), "{\"a\":1}")
    }

    func testTrailingZeroPaddingIsIgnored() throws {
        XCTAssertEqual(try read(gzip("abc") + Data(repeating: 0, count: 100)), "abc")
    }

    func testTruncatedStreamIsAnError() throws {
        let whole = gzip(String(repeating: "CloudTrail ", count: 1000))
        XCTAssertThrowsError(try read(whole.prefix(whole.count / 2))) { error in
            XCTAssertEqual(error as? ReadError, .truncatedGzip)
        }
        // Cut inside the 8-byte trailer: the data is all there, but unverified.
        XCTAssertThrowsError(try read(whole.prefix(whole.count - 3))) { error in
            XCTAssertEqual(error as? ReadError, .truncatedGzip)
        }
    }

    func testBadCRCIsAnError() throws {
        var data = gzip("hello, world")
        data[data.count - 8] ^= 0xff
        XCTAssertThrowsError(try read(data)) { error in
            guard case .corruptGzip(let message)? = error as? ReadError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("check"), message)
        }
    }

    func testCorruptSecondMemberIsAnError() throws {
        var second = gzip(String(repeating: "x", count: 500))
        second[12] ^= 0x55
        XCTAssertThrowsError(try read(gzip("first") + second))
    }

    func testGarbageAfterTheStreamIsAnError() throws {
        XCTAssertThrowsError(try read(gzip("abc") + Data("junk".utf8))) { error in
            XCTAssertEqual(error as? ReadError, .trailingGarbage(offset: gzip("abc").count))
        }
    }

    func testEmptyFileIsAnError() throws {
        XCTAssertThrowsError(try read(Data())) { XCTAssertEqual($0 as? ReadError, .emptyFile) }
    }

    func testDecompressedSizeLimitStopsABomb() throws {
        let bomb = gzip(Data(repeating: 0x20, count: 10_000_000))
        XCTAssertLessThan(bomb.count, 20_000)
        XCTAssertThrowsError(try read(bomb, limit: 1_000_000)) { error in
            XCTAssertEqual(error as? ReadError, .tooLarge(limit: 1_000_000))
        }
    }
}
