import Foundation
import PackagePlugin

/// Writes what git says about the source tree (commit, its version tags, whether the tree is
/// modified) into a Swift file at every build, so that `kmsindex --version` names the build
/// without git at run time, and says "dev" when git was not there at build time either.
@main
struct EmbedGitState: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let outputs = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let scratch = context.pluginWorkDirectoryURL.appending(path: "GitState.swift.new")
        // A prebuild command runs at every build, as a commit or an edit can change the answer
        // without any input file SwiftPM knows of changing. It rewrites the file only when the
        // answer changes, so an unchanged tree compiles nothing again.
        return [
            .prebuildCommand(
                displayName: "Embedding the git state of the source tree",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    "-c", Self.script, "sh", context.package.directoryURL.path, scratch.path,
                    outputs.appending(path: "GitState.swift").path,
                ],
                outputFilesDirectory: outputs
            )
        ]
    }

    /// `sh -c script sh PACKAGE_DIR SCRATCH OUTPUT`. Only tags that look like versions are
    /// kept, so no tag name can break the generated Swift.
    static let script = #"""
        dir=$1 scratch=$2 out=$3
        state=nil
        if top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) && [ "$top" -ef "$dir" ] \
            && commit=$(git -C "$dir" rev-parse --short HEAD 2>/dev/null); then
            tags=$(git -C "$dir" tag --points-at HEAD | grep -E '^v[0-9][0-9A-Za-z.+-]*$' | sed 's/.*/"&"/' | paste -sd, -)
            clean=false
            changes=$(git -C "$dir" status --porcelain --untracked-files=no) && [ -z "$changes" ] && clean=true
            state="GitState(commit: \"$commit\", tags: [$tags], clean: $clean)"
        fi
        mkdir -p "$(dirname "$out")"
        printf '%s\n' '// Generated at build time by Plugins/EmbedGitState. Do not edit.' 'import KMSIndex' '' \
            "let buildGitState: GitState? = $state" > "$scratch"
        if cmp -s "$scratch" "$out"; then rm -f "$scratch"; else mv "$scratch" "$out"; fi
        """#
}
