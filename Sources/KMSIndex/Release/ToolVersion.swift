/// What git said about the source tree when the binary was built.
package struct GitState: Equatable, Sendable {
    /// The short hash of the commit built.
    package var commit: String
    /// The version tags (`vX.Y.Z`) on that commit.
    package var tags: [String]
    /// No tracked file differed from the commit.
    package var clean: Bool

    /// What the build found; the generated `buildGitState` of the `kmsindex` target makes one.
    package init(commit: String, tags: [String], clean: Bool) {
        self.commit = commit
        self.tags = tags
        self.clean = clean
    }
}

/// The version a kmsindex binary reports.
package enum ToolVersion {
    /// The release this source is, or is on the way to. The one place the number is written; a
    /// release is the commit tagged `v` + this number.
    package static let release = "0.3.0"

    /// `release` for a build of a clean tree at the tag `v` + `release`; `release-dev+COMMIT`
    /// for any other build from git; `release-dev` when there was no git at build time.
    package static func describe(_ git: GitState?, release: String = release) -> String {
        guard let git else { return release + "-dev" }
        if git.clean && git.tags.contains("v" + release) { return release }
        return release + "-dev+" + git.commit
    }
}
