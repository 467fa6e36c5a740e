import Foundation
import XCTest

@testable import KMSIndexSynth

final class SizeAndOptionsTests: XCTestCase {
    /// A target size beyond what small files hold: most files stay under 100 KB, a heavy file
    /// takes the rest, and the total lands near the target.
    func testTargetSizeMakesAHeavyTail() throws {
        var options = TreeCache.standardOptions
        options.seed = 5
        options.filesPerDay = 6
        options.targetUncompressedBytes = 3_000_000
        let (truth, tree) = try TreeCache.shared.tree(options)
        XCTAssertEqual(Double(truth.uncompressedBytes), 3_000_000, accuracy: 150_000)
        let sizes = tree.logFiles.map(\.content.count)
        XCTAssertGreaterThan(sizes.filter { $0 < 100_000 }.count, sizes.count * 3 / 4)
        XCTAssertGreaterThan(sizes.max() ?? 0, 1_500_000)
    }

    /// A target smaller than the default scales every file down.
    func testSmallTargetScalesDown() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let options = SynthOptions(seed: 9, accounts: 1, regions: ["us-west-2"], days: 1, filesPerDay: 8, targetUncompressedBytes: 400_000)
        let truth = try Synth.generate(options, into: root)
        XCTAssertEqual(truth.logFiles, 8)
        XCTAssertEqual(Double(truth.uncompressedBytes), 400_000, accuracy: 60_000)
    }

    func testParseByteSize() {
        XCTAssertEqual(SynthOptions.parseByteSize("1GB"), 1_000_000_000)
        XCTAssertEqual(SynthOptions.parseByteSize("200MB"), 200_000_000)
        XCTAssertEqual(SynthOptions.parseByteSize("512KiB"), 524_288)
        XCTAssertEqual(SynthOptions.parseByteSize("1.5g"), 1_500_000_000)
        XCTAssertEqual(SynthOptions.parseByteSize("2GiB"), 2_147_483_648)
        XCTAssertEqual(SynthOptions.parseByteSize("12345"), 12345)
        XCTAssertNil(SynthOptions.parseByteSize("lots"))
        XCTAssertNil(SynthOptions.parseByteSize("-1MB"))
        XCTAssertNil(SynthOptions.parseByteSize(""))
    }

    func testInvalidOptionsAreRejected() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let bad = [
            SynthOptions(accounts: 0), SynthOptions(regions: []), SynthOptions(regions: ["a", "a"]),
            SynthOptions(days: 0), SynthOptions(filesPerDay: 0), SynthOptions(startDate: "2024-02-30"),
            SynthOptions(targetUncompressedBytes: 0), SynthOptions(organizationID: "org"),
        ]
        for options in bad {
            XCTAssertThrowsError(try Synth.generate(options, into: root), "\(options)") { error in
                guard case SynthError.invalidOptions = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("AWSLogs").path))
    }

    func testOneFilePerDayStillWorks() throws {
        let root = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let truth = try Synth.generate(SynthOptions(accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 1), into: root)
        XCTAssertEqual(truth.logFiles, 1)
        XCTAssertGreaterThan(truth.kmsEvents, 30)
    }
}
