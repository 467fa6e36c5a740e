import CZlib
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
        return String(decoding: window.unreadBytes, as: UTF8.self)
    }

    func readAll(_ data: Data) throws -> Data {
        let dir = try TempDir()
        let stream = try DecompressedStream(path: try dir.write("file.gz", data), limit: 1 << 30)
        let window = ByteWindow()
        while try stream.read(into: window, chunk: 4096) > 0 {}
        return Data(window.unreadBytes)
    }

    func assertCorrupt(_ error: Error, _ words: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .corruptGzip(let message)? = error as? ReadError else { return XCTFail("\(error)", file: file, line: line) }
        XCTAssertTrue(message.contains(words), message, file: file, line: line)
    }

    /// Content inflated by zlib itself (with its own checks), to compare with.
    func gunzipWithZlib(_ data: Data) -> Data {
        var stream = z_stream()
        precondition(kmsindex_inflateInit2(&stream, 15 + 32) == Z_OK)
        defer { inflateEnd(&stream) }
        var input = [UInt8](data)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output += buffer[0..<(buffer.count - Int(stream.avail_out))]
                if status == Z_STREAM_END, stream.avail_in > 0 {
                    precondition(inflateReset(&stream) == Z_OK)
                } else if status == Z_STREAM_END {
                    break
                } else {
                    precondition(status == Z_OK, "zlib status \(status)")
                }
            }
        }
        return Data(output)
    }

    /// One gzip member of exactly `size` bytes: stored (uncompressed) deflate blocks, so the size
    /// is exact, with a correct CRC-32 and size in its trailer.
    func storedGzip(size: Int) -> Data {
        func memberSize(_ n: Int) -> Int { 10 + 5 * max(1, (n + 65534) / 65535) + n + 8 }
        var n = size - 23
        while memberSize(n) > size { n -= 1 }
        precondition(memberSize(n) == size)
        let content = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        var offset = 0
        repeat {
            let count = min(65535, n - offset)
            let last: UInt8 = offset + count == n ? 1 : 0
            out += [last, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8(~count >> 8 & 0xff)]
            out += content[offset..<offset + count]
            offset += count
        } while offset < n
        let crc = UInt32(crc32_z(0, content, content.count))
        for value in [crc, UInt32(n)] { out += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        return Data(out)
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
        XCTAssertThrowsError(try read(data)) { assertCorrupt($0, "incorrect data check") }
    }

    func testBadSizeIsAnError() throws {
        var data = gzip("hello, world")
        data[data.count - 4] ^= 0x01
        XCTAssertThrowsError(try read(data)) { assertCorrupt($0, "incorrect length check") }
        // A size that is right mod 2^32 only is still wrong.
        data = gzip("hello, world")
        data[data.count - 1] ^= 0x80
        XCTAssertThrowsError(try read(data)) { assertCorrupt($0, "incorrect length check") }
    }

    func testBadTrailerOfASecondMemberIsAnError() throws {
        XCTAssertEqual(try read(gzip("first,") + gzip("second")), "first,second")
        for (byte, words) in [
            (8, "incorrect data check"), (5, "incorrect data check"), (4, "incorrect length check"), (1, "incorrect length check"),
        ] {
            var second = gzip("second")
            second[second.count - byte] ^= 0x10
            XCTAssertThrowsError(try read(gzip("first,") + second)) { assertCorrupt($0, words) }
        }
    }

    /// The first 256 KB of a file are read at once; a trailer across that boundary is consumed
    /// in two parts, with the buffer refilled between them.
    func testTrailerAcrossAnInputRefill() throws {
        let boundary = 256 * 1024
        for before in 1...7 {
            for prefix in [Data(), gzip("first,")] {
                let member = storedGzip(size: boundary - before + 8 - prefix.count)
                let data = prefix + member
                XCTAssertEqual(data.count - 8, boundary - before)
                XCTAssertEqual(try readAll(data), gunzipWithZlib(data), "\(before) trailer bytes before the boundary")
                // Counted from the end: the first and last trailer bytes, and those either side of the boundary.
                for fromEnd in Set([8, 9 - before, 8 - before, 1]) {
                    var bad = data
                    bad[bad.count - fromEnd] ^= 0x01
                    let words = fromEnd > 4 ? "incorrect data check" : "incorrect length check"
                    XCTAssertThrowsError(try readAll(bad), "\(before), byte \(fromEnd) from the end") { assertCorrupt($0, words) }
                }
            }
        }
    }

    /// A header CRC (FHCRC, which gzip never writes) is checked like the trailer.
    func testHeaderCRCIsChecked() throws {
        let plain = gzip("with a header CRC")
        var header = [UInt8](plain.prefix(10))
        header[3] |= 0x02
        let headerCRC = UInt32(crc32_z(0, header, header.count))
        let good = Data(header + [UInt8(headerCRC & 0xff), UInt8(headerCRC >> 8 & 0xff)]) + plain.dropFirst(10)
        XCTAssertEqual(try read(good), "with a header CRC")
        var badHeader = good
        badHeader[10] ^= 0x01
        XCTAssertThrowsError(try read(badHeader)) { assertCorrupt($0, "header crc mismatch") }
        var badData = good
        badData[badData.count - 8] ^= 0x01
        XCTAssertThrowsError(try read(badData)) { assertCorrupt($0, "incorrect data check") }
    }

    func testUnknownMethodAndReservedFlagsAreErrors() throws {
        var method = gzip("deflate only")
        method[2] = 9
        XCTAssertThrowsError(try read(method)) { assertCorrupt($0, "unknown compression method") }
        for bit in [0x20, 0x40, 0x80] as [UInt8] {
            var flags = gzip("no reserved flags")
            flags[3] |= bit
            XCTAssertThrowsError(try read(gzip("first,") + flags)) { assertCorrupt($0, "unknown header flags set") }
        }
    }

    /// The inflate gives exactly zlib's content on content of every compressibility, every
    /// level, several members, and a header with a name, read in small and large pieces.
    func testContentIsZlibsOnEveryLevel() throws {
        var random = SeededGenerator(state: 20_241_204)
        let texts: [Data] = [
            Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }),
            Data((0..<300_000).map { _ in UInt8(ascii: "a") + UInt8.random(in: 0...3, using: &random) }),
            Data(String(repeating: "{\"eventSource\":\"kms.amazonaws.com\"},", count: 20_000).utf8),
            Data(),
        ]
        for level: Int32 in [1, 6, 9] {
            let members = texts.map { gzip($0, level: level) }
            let data = members.reduce(Data(), +)
            XCTAssertEqual(try readAll(data), gunzipWithZlib(data), "level \(level)")
            XCTAssertEqual(try read(members[2], limit: 1 << 30).utf8.count, texts[2].count)
        }
        // FNAME: the header carries the original file name, zero-terminated.
        let plain = gzip("named")
        var named = [UInt8](plain.prefix(10))
        named[3] |= 0x08
        let withName = Data(named + Array("CloudTrail.json".utf8) + [0]) + plain.dropFirst(10)
        XCTAssertEqual(try read(withName), "named")
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

    /// The content, or the error, of `data` read through an input buffer of `inputBytes`.
    func outcome(_ data: Data, inputBytes: Int) throws -> Result<Data, ReadError> {
        let dir = try TempDir()
        let stream = try DecompressedStream(path: try dir.write("file.gz", data), limit: 1 << 30, inputBytes: inputBytes)
        let window = ByteWindow()
        do {
            while try stream.read(into: window, chunk: 4096) > 0 {}
            return .success(Data(window.unreadBytes))
        } catch let error as ReadError {
            return .failure(error)
        }
    }

    /// A fuzzer's input (36 bytes; `gzip -t` finds its CRC and length wrong): inflate failed on
    /// it with its count of input left wrapped, and the reader counted the input it used from
    /// that count before looking at the failure: a negative count stopped the process. It is
    /// a corrupt stream, through a buffer of any size.
    func testInflateEndingOutsideItsInputIsACleanError() throws {
        let data = try XCTUnwrap(Data(base64Encoded: "H4sIAAAAAAACA1PKKi0uUUhUKC4lKcrMS1cCADBEJ9sPAAAA"))
        for size in [64, 256 * 1024] {
            guard case .failure(.corruptGzip(let message)) = try outcome(data, inputBytes: size) else {
                return XCTFail("not a corrupt stream through a \(size)-byte buffer")
            }
            XCTAssertFalse(message.isEmpty)
        }
    }

    /// Through an input buffer of a few dozen bytes, refilled at every step, every stream reads
    /// to the same content or the same error as through the default buffer: members, padding,
    /// corrupt trailers, truncation, garbage.
    func testASmallInputBufferReadsTheSame() throws {
        var random = SeededGenerator(state: 20_261_205)
        let noise = Data((0..<50_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        let text = Data(String(repeating: "{\"eventSource\":\"kms.amazonaws.com\"},", count: 2_000).utf8)
        var badSecond = gzip("second")
        badSecond[badSecond.count - 8] ^= 0x10
        var badLength = gzip(text)
        badLength[badLength.count - 2] ^= 0x01
        let whole = gzip(text, level: 9)
        let inputs: [(String, Data)] = [
            ("members", gzip("{\"Records\":[") + gzip(noise, level: 1) + gzip(text, level: 9) + gzip("]}")),
            ("padding", gzip(text) + Data(repeating: 0, count: 100)),
            ("bad trailer of a second member", gzip("first,") + badSecond),
            ("bad length", badLength),
            ("truncated", whole.prefix(whole.count - 3)),
            ("garbage", gzip(text) + Data("junk".utf8)),
            ("the fuzzer's", try XCTUnwrap(Data(base64Encoded: "H4sIAAAAAAACA1PKKi0uUUhUKC4lKcrMS1cCADBEJ9sPAAAA"))),
        ]
        for (name, data) in inputs {
            let expected = try outcome(data, inputBytes: 256 * 1024)
            for size in [16, 17, 19, 64, 100, 4096] {
                XCTAssertEqual(try outcome(data, inputBytes: size), expected, "\(name), \(size)-byte buffer")
            }
        }
        XCTAssertEqual(try outcome(gzip(text) + gzip(noise), inputBytes: 64), .success(text + noise))
    }

    func testDecompressedSizeLimitStopsABomb() throws {
        let bomb = gzip(Data(repeating: 0x20, count: 10_000_000))
        XCTAssertLessThan(bomb.count, 20_000)
        XCTAssertThrowsError(try read(bomb, limit: 1_000_000)) { error in
            XCTAssertEqual(error as? ReadError, .tooLarge(limit: 1_000_000))
        }
    }
}
