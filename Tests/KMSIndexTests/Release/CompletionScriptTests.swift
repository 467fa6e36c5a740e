import Foundation
import XCTest

/// The shell completion scripts the Debian package ships, as the binary writes them.
final class CompletionScriptTests: XCTestCase {
    /// The subcommands, from the help's list of them.
    func subcommands() throws -> [String] {
        let help = try runBinary(["--help"]).stdout
        guard let list = help.components(separatedBy: "SUBCOMMANDS:\n").last else { return [] }
        return list.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let name = line.split(separator: " ").first.map(String.init)
            return name?.wholeMatch(of: /[a-z][a-z-]*/) != nil ? name : nil
        }
    }

    func testEveryShellCompletesEverySubcommandWithoutRunningKmsindex() throws {
        let names = try subcommands()
        XCTAssertTrue(names.contains("who-read") && names.contains("reads") && names.count >= 16, "\(names)")
        for shell in ["bash", "zsh", "fish"] {
            let script = try runBinary(["--generate-completion-script", shell])
            XCTAssertEqual(script.status, 0, script.stderr)
            // A custom completion calls `kmsindex ---completion`, which would open the index (who-read
            // and reads name objects and principals only the index knows): none may.
            XCTAssertFalse(script.stdout.contains("---completion"), shell)
            for name in names {
                XCTAssertTrue(script.stdout.contains(name), "\(shell) does not complete \(name)")
            }
        }
    }
}
