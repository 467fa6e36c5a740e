import Foundation
import XCTest

@testable import KMSIndexSynth

final class DeterminismTests: XCTestCase {
    private let options = SynthOptions(
        seed: 7, accounts: 2, regions: ["us-east-1", "ap-northeast-1"], days: 1, filesPerDay: 4,
        organizationID: "o-a1b2c3d4e5")

    /// Every file (name, bytes, modification time) of two runs with the same options.
    func testSameOptionsGiveIdenticalTrees() throws {
        let first = try makeTemporaryDirectory()
        let second = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        let truthA = try Synth.generate(options, into: first)
        let truthB = try Synth.generate(options, into: second)
        XCTAssertEqual(truthA, truthB)

        let filesA = try snapshot(first)
        let filesB = try snapshot(second)
        XCTAssertGreaterThan(filesA.count, 40)
        XCTAssertEqual(filesA.keys.sorted(), filesB.keys.sorted())
        for (path, a) in filesA {
            let b = try XCTUnwrap(filesB[path])
            XCTAssertEqual(a.bytes, b.bytes, "\(path) differs")
            if path.hasPrefix("AWSLogs/") {
                XCTAssertEqual(a.mtime, b.mtime, "\(path) has another mtime")
            }
        }
    }

    func testAnotherSeedGivesAnotherTree() throws {
        let first = try makeTemporaryDirectory()
        let second = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        var other = options
        other.seed = 8
        _ = try Synth.generate(options, into: first)
        _ = try Synth.generate(other, into: second)
        XCTAssertNotEqual(try snapshot(first).keys.sorted(), try snapshot(second).keys.sorted())
    }

    private func snapshot(_ root: URL) throws -> [String: (bytes: Data, mtime: Date?)] {
        var files: [String: (Data, Date?)] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        while let item = enumerator?.nextObject() as? String {
            let url = root.appendingPathComponent(item)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            files[item] = (try Data(contentsOf: url), attributes[.modificationDate] as? Date)
        }
        return files
    }
}
