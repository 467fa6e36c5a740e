import ArgumentParser
import KMSIndex

#if canImport(Glibc)
import Glibc
#endif

/// `kmsindex`: who used which KMS key, on which S3 object, when, from CloudTrail logs.
@main
struct KMSIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmsindex",
        abstract: "Index the KMS events of CloudTrail logs in SQLite and answer who read which object.",
        discussion: """
            Exit status: 0 success (a query found rows), 1 some files failed (ingest) or no rows \
            found (queries), 2 usage or database error, 3 findings reported (findings).
            """,
        version: "kmsindex \(version) (index schema \(IndexDatabase.schemaVersion))",
        // Every command sets commandName: a name derived from the type's name costs a
        // demangling, about a million instructions per command, at every start.
        subcommands: [Ingest.self, Merge.self, WhoReadCommand.self, Stats.self, AuditCommand.self, Prune.self, Backup.self, Export.self, Reads.self, OwnPrincipal.self, Key.self, Keys.self, Trails.self, Objects.self, UsageCommand.self, DeniedCommand.self, FindingsCommand.self, SQLCommand.self]
    )

    /// This binary's version: the release, and the commit when it is not the release's tag.
    static let version = ToolVersion.describe(buildGitState)

    /// Runs the command; usage errors exit with status 2, like every other error of ours.
    static func main() {
        Console.ignoreBrokenPipe()
        if let plain = PlainWhoReadArguments(CommandLine.arguments.dropFirst()) {
            WhoReadCommand.listReads(of: plain.object, databasePath: IndexDatabase.resolvePath(plain.db), format: plain.format)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                Console.out(message + "\n")
                Glibc.exit(0)
            }
            if !message.isEmpty { Console.err(message) }
            Glibc.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// `--db`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The index file.", discussion: "Default: $KMSINDEX_DB, else ./\(IndexDatabase.defaultFileName).",
        valueName: "path"), completion: .file())
    var db: String?

    var path: String { IndexDatabase.resolvePath(db) }
}

extension OutputFormat: ExpressibleByArgument {}

/// Reports an error the way every command does, and exits with status 2.
func fail(_ message: String) -> Never {
    Console.err("kmsindex: " + TerminalText.escape(message))
    exit(2)
}
