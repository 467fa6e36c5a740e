import Foundation
import XCTest

@testable import KMSIndex

/// The version a build reports, from what git said at build time.
final class ToolVersionTests: XCTestCase {
    func testCleanTreeAtTheReleaseTagIsTheRelease() {
        let git = GitState(commit: "c413ccd", tags: ["v0.2.9", "v0.3.0"], clean: true)
        XCTAssertEqual(ToolVersion.describe(git, release: "0.3.0"), "0.3.0")
    }

    func testModifiedTreeAtTheTagIsADevBuild() {
        let git = GitState(commit: "c413ccd", tags: ["v0.3.0"], clean: false)
        XCTAssertEqual(ToolVersion.describe(git, release: "0.3.0"), "0.3.0-dev+c413ccd")
    }

    func testCommitWithoutTheReleaseTagIsADevBuild() {
        XCTAssertEqual(ToolVersion.describe(GitState(commit: "c413ccd", tags: [], clean: true), release: "0.3.0"), "0.3.0-dev+c413ccd")
        // A tag of another version does not make this one a release.
        XCTAssertEqual(
            ToolVersion.describe(GitState(commit: "c413ccd", tags: ["v0.2.0"], clean: true), release: "0.3.0"), "0.3.0-dev+c413ccd")
    }

    func testBuildWithoutGitIsADevBuild() {
        XCTAssertEqual(ToolVersion.describe(nil, release: "0.3.0"), "0.3.0-dev")
    }

    func testReleaseIsThreeNumbers() {
        XCTAssertNotNil(ToolVersion.release.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+/), ToolVersion.release)
    }
}
