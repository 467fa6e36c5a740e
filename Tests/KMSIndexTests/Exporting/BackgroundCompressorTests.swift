import Foundation
import XCTest

@testable import KMSIndex

/// Files compressed on the compressor's thread hold exactly the bytes handed over, in order,
/// and an error there reaches the caller.
final class BackgroundCompressorTests: XCTestCase {
    func testFilesHoldTheirBytesInOrderAndTheirSizes() throws {
        let dir = try TempDir()
        let compressor = BackgroundCompressor(capacity: 4096)
        var expected: [Data] = []
        for file in 0..<3 {
            try compressor.open(dir.path + "/part-\(file).json.gz")
            var content = Data()
            // More than the capacity waits at once: the caller is held back, nothing is lost.
            for piece in 0..<50 {
                let bytes = Array("{\"file\":\(file),\"piece\":\(piece),\"pad\":\"\(String(repeating: "x", count: piece * 7))\"}\n".utf8)
                content.append(contentsOf: bytes)
                try compressor.write(bytes)
            }
            try compressor.close()
            expected.append(content)
        }
        let sizes = try compressor.finish()
        XCTAssertEqual(sizes.count, 3)
        for (file, content) in expected.enumerated() {
            let path = dir.path + "/part-\(file).json.gz"
            let onDisk = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(Int64(onDisk.count), sizes[file])
            XCTAssertEqual(gunzip(onDisk), content)
        }
    }

    func testAnErrorOnItsThreadReachesTheCaller() throws {
        let dir = try TempDir()
        try dir.write("taken.json.gz", Data("x".utf8))
        let compressor = BackgroundCompressor()
        try compressor.open(dir.path + "/taken.json.gz")
        // The error may be seen by a later call or by finish, never lost.
        var seen: Error?
        do {
            for _ in 0..<1_000 { try compressor.write(Array(repeating: 1, count: 1024)) }
            try compressor.close()
            _ = try compressor.finish()
        } catch {
            seen = error
        }
        XCTAssertTrue("\(seen.map { "\($0)" } ?? "none")".contains("taken.json.gz"), "\(String(describing: seen))")
        compressor.stop()
    }
}
