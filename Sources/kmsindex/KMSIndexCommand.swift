import ArgumentParser
import KMSIndex

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
        // demangling per command at every start (BENCHMARKS.md).
        subcommands: [
            IngestCommand.self, MergeCommand.self, WhoReadCommand.self, StatsCommand.self, AuditCommand.self, PruneCommand.self,
            BackupCommand.self, ExportCommand.self, ReadsCommand.self, OwnPrincipalCommand.self, KeyCommand.self, KeysCommand.self,
            TrailsCommand.self, ObjectsCommand.self, UsageCommand.self, DeniedCommand.self, FindingsCommand.self, SQLCommand.self,
        ]
    )

    /// This binary's version: the release, and the commit when it is not the release's tag.
    static let version = ToolVersion.describe(buildGitState)

    /// ArgumentParser's own parse, run and exit, with two differences. A usage error exits
    /// with status 2, as the commands document, where ArgumentParser exits with 64 (EX_USAGE).
    /// And who-read, which scripts run many times over, is parsed on its own first: building
    /// the whole command tree costs more than its query (`WhoReadCommand.parseAlone`).
    static func main() {
        Console.ignoreBrokenPipe()
        if var whoRead = WhoReadCommand.parseAlone(CommandLine.arguments.dropFirst()) {
            run(&whoRead)
        }
        do {
            var command = try parseAsRoot()
            run(&command)
        } catch {
            exit(withUsageError: error)
        }
    }

    /// Runs `command` and exits with its status: 0 when it returns, else the `ExitCode` it throws.
    static func run(_ command: inout some ParsableCommand) -> Never {
        do {
            try command.run()
            exit()
        } catch {
            exit(withUsageError: error)
        }
    }

    /// `exit(withError:)`, with status 2 for a usage error.
    static func exit(withUsageError error: any Error) -> Never {
        guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
        Console.err(fullMessage(for: error))
        exit(withError: ExitCode(2))
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

/// Reports an error the way every command does; thrown, it ends the command with status 2.
func failure(_ message: String) -> ExitCode {
    Console.err("kmsindex: " + TerminalText.escape(message))
    return ExitCode(2)
}
