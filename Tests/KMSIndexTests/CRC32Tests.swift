import CCRC32
import CZlib
import XCTest

/// `kmsindex_crc32` must give exactly zlib's `crc32`, whatever the length, alignment, start
/// value or split into calls: it checks every gzip member read.
final class CRC32Tests: XCTestCase {

    func zlibCRC(_ crc: UInt32, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        UInt32(crc32_z(UInt(crc), bytes, count))
    }

    func randomBytes(_ count: Int, _ rng: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    func testKnownValues() {
        let check = Array("123456789".utf8)
        XCTAssertEqual(kmsindex_crc32(0, check, check.count), 0xcbf4_3926)
        XCTAssertEqual(kmsindex_crc32(0, [], 0), 0)
        let zeros = [UInt8](repeating: 0, count: 4096)
        XCTAssertEqual(kmsindex_crc32(0, zeros, zeros.count), zlibCRC(0, zeros, zeros.count))
    }

    func testEveryLengthUpTo300AtEveryAlignment() {
        var rng = SeededGenerator(state: 1)
        let buffer = randomBytes(300 + 16, &rng)
        buffer.withUnsafeBufferPointer { all in
            for alignment in 0..<16 {
                for length in 0...300 {
                    let p = all.baseAddress! + alignment
                    for start: UInt32 in [0, 0xffff_ffff, 0x1234_5678] {
                        XCTAssertEqual(kmsindex_crc32(start, p, length), zlibCRC(start, p, length),
                                       "length \(length), alignment \(alignment), start \(start)")
                    }
                }
            }
        }
    }

    func testLargeRandomLengthsAtEveryAlignment() {
        var rng = SeededGenerator(state: 2)
        let buffer = randomBytes(1 << 20, &rng)
        let lengths = [1 << 16, (1 << 20) - 16, 64 * 1000 + 63] + (0..<40).map { _ in Int.random(in: 301..<(1 << 20) - 16, using: &rng) }
        buffer.withUnsafeBufferPointer { all in
            for length in lengths {
                for alignment in 0..<16 {
                    let p = all.baseAddress! + alignment
                    let start = UInt32.random(in: 0...UInt32.max, using: &rng)
                    XCTAssertEqual(kmsindex_crc32(start, p, length), zlibCRC(start, p, length),
                                   "length \(length), alignment \(alignment), start \(start)")
                }
            }
        }
    }

    func testChainingOverRandomSplitsEqualsOneCall() {
        var rng = SeededGenerator(state: 3)
        for _ in 0..<50 {
            let bytes = randomBytes(Int.random(in: 1..<20_000, using: &rng), &rng)
            let start = Bool.random(using: &rng) ? 0 : UInt32.random(in: 0...UInt32.max, using: &rng)
            bytes.withUnsafeBufferPointer { all in
                var crc = start
                var offset = 0
                while offset < all.count {
                    // Mostly short pieces, some long enough to fold.
                    let piece = min(all.count - offset, Int.random(in: 0..<(Bool.random(using: &rng) ? 80 : 5000), using: &rng))
                    crc = kmsindex_crc32(crc, all.baseAddress! + offset, piece)
                    offset += piece
                }
                XCTAssertEqual(crc, zlibCRC(start, all.baseAddress!, all.count), "length \(all.count)")
            }
        }
    }
}
