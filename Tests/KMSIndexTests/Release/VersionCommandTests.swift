import Foundation
import XCTest

@testable import KMSIndex

/// `kmsindex --version` and the version in `stats`, from the built binary.
final class VersionCommandTests: XCTestCase {
    /// The folder of Package.swift.
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// What git says about the package now, as the build saw it (nil without git).
    func gitState() throws -> GitState? {
        func git(_ arguments: [String]) throws -> BinaryRun {
            try runBinary(["git", "-C", packageRoot.path] + arguments, binary: URL(fileURLWithPath: "/usr/bin/env"))
        }
        let commit = try git(["rev-parse", "--short", "HEAD"])
        guard commit.status == 0 else { return nil }
        let tags = try git(["tag", "--points-at", "HEAD"]).stdout.split(separator: "\n").map(String.init)
        let changes = try git(["status", "--porcelain", "--untracked-files=no"])
        return GitState(
            commit: commit.stdout.trimmingCharacters(in: .whitespacesAndNewlines), tags: tags,
            clean: changes.status == 0 && changes.stdout.isEmpty)
    }

    func testVersionNamesTheBuildAndTheSchema() throws {
        let run = try runBinary(["--version"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let expected = ToolVersion.describe(try gitState())
        XCTAssertEqual(run.stdout, "kmsindex \(expected) (index schema \(IndexDatabase.schemaVersion))\n")
        XCTAssertEqual(run.stderr, "")
    }

    /// The version is compiled in: a copy of the binary, with no git or source tree in reach,
    /// says the same.
    func testCopiedBinaryAnswersWithoutGit() throws {
        let dir = try TempDir()
        let copy = dir.url.appendingPathComponent("kmsindex")
        try FileManager.default.copyItem(at: kmsindexBinary, to: copy)
        let original = try runBinary(["--version"])
        let copied = try runBinary(["--version"], binary: copy, environment: ["PATH": dir.path], in: dir.url)
        XCTAssertEqual(copied.status, 0, copied.stderr)
        XCTAssertEqual(copied.stdout, original.stdout)
    }

    func testStatsShowsTheVersion() throws {
        let dir = try TempDir()
        let db = dir.path + "/i.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", db, fixturesURL.appendingPathComponent("seed").path]).status, 0)
        let version = try runBinary(["--version"]).stdout.split(separator: " ")[1]
        let json = try runBinary(["stats", "--db", db, "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["version"] as? String, String(version))
        XCTAssertEqual(object?["schema_version"] as? Int, IndexDatabase.schemaVersion)
        let table = try runBinary(["stats", "--db", db, "--format", "tsv"])
        XCTAssertTrue(table.stdout.contains("version\t\(version)\n"), table.stdout)
    }
}
