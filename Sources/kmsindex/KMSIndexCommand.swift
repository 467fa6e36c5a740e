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
    /// And the plain forms of who-read, which scripts run many times over, are read without
    /// ArgumentParser (`PlainWhoReadArguments`): its set-up costs more than the query, even
    /// for the one command alone.
    static func main() {
        Console.ignoreBrokenPipe()
        if let plain = PlainWhoReadArguments(CommandLine.arguments.dropFirst()) {
            finish {
                try WhoReadCommand.listReads(of: plain.object, databasePath: IndexDatabase.resolvePath(plain.db), format: plain.format)
            }
        }
        do {
            var command = try parseAsRoot()
            finish { try command.run() }
        } catch {
            exit(withUsageError: error)
        }
    }

    /// Runs `body` and exits with its status: 0 when it returns, else the `ExitCode` it throws.
    static func finish(_ body: () throws -> Void) -> Never {
        do {
            try body()
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
    @Option(
        name: .long,
        help: ArgumentHelp(
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
