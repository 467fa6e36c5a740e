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
        version: versionLine,
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
    /// What `--version` prints.
    static let versionLine = "kmsindex \(version) (index schema \(IndexDatabase.schemaVersion))"

    /// ArgumentParser's own parse, run and exit, with two differences. A usage error exits
    /// with status 2, as the commands document, where ArgumentParser exits with 64 (EX_USAGE).
    /// And the commands that scripts and cron jobs run over and over (`ownTrees`) are parsed as
    /// the root of a tree of their own: ArgumentParser then reflects one command's options,
    /// not the tree's, and skips its probe for a completion-script request. Each names itself
    /// `kmsindex <command>` (`_superCommandName`), so its help and errors read the same. That
    /// is 0.9 ms of a who-read, and of an ingest with nothing new to read (BENCHMARKS.md).
    static func main() {
        Console.openClosedStandardDescriptors()
        Console.ignoreBrokenPipe()
        RowPrinter.escapesForTerminal = Console.stdoutIsTerminal
        let arguments = CommandLine.arguments
        Diagnostics.readFormat(from: arguments)
        // A bare command stays with the tree: as a root with no arguments it would print its
        // help rather than say what is missing.
        if arguments.count > 2, let command = ownTrees[arguments[1]] {
            do {
                var parsed = try command.parseAsRoot(Array(arguments.dropFirst(2)))
                finish { try parsed.run() }
            } catch {
                // ArgumentParser names only the root in "See '… --help'": here the command.
                command.exit(withUsageError: error) {
                    $0.replacingOccurrences(of: "See '\(arguments[1]) ", with: "See 'kmsindex \(arguments[1]) ")
                }
            }
        }
        do {
            var command = try parseAsRoot()
            finish { try command.run() }
        } catch {
            exit(withUsageError: error)
        }
    }

    /// The commands parsed as a tree of their own, by name.
    static let ownTrees: [String: any ParsableCommand.Type] = ["who-read": WhoReadCommand.self, "ingest": IngestCommand.self]

    /// Runs `body` and exits with its status: 0 when it returns, else the `ExitCode` it throws.
    static func finish(_ body: () throws -> Void) -> Never {
        do {
            try body()
            exit()
        } catch {
            exit(withUsageError: error)
        }
    }

}

extension ParsableCommand {
    /// `exit(withError:)`, with status 2 for a usage error, whose message `edit` may change.
    static func exit(withUsageError error: any Error, edit: (String) -> String = { $0 }) -> Never {
        guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
        let message = edit(fullMessage(for: error))
        // As JSON, the usage that follows the error is left out: a log wants the error.
        Console.err(
            Diagnostics.format == .json
                ? Diagnostics.jsonLine(level: "error", Diagnostics.usageErrorMessage(message)) : message)
        exit(withError: ExitCode(2))
    }
}

/// `--db`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: help, completion: .file())
    var db: String?

    /// `--db`'s help, also for who-read, which declares the option itself.
    static let help = ArgumentHelp(
        "The index file.", discussion: "Default: $KMSINDEX_DB, else ./\(IndexDatabase.defaultFileName).", valueName: "path")

    var path: String { IndexDatabase.resolvePath(db) }

    func validate() throws { try Self.validate(db) }

    /// An empty `--db` names no file: refused, rather than taken for the default index.
    static func validate(_ db: String?) throws {
        if db?.isEmpty == true { throw ValidationError("--db needs a path; an empty one names no file") }
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// Reports an error the way every command does; thrown, it ends the command with status 2.
func failure(_ message: String) -> ExitCode {
    Console.err(Diagnostics.line(level: "error", message))
    return ExitCode(2)
}

/// `failure` of an error met writing the index at `index`: a full disk, a failing one or a
/// read-only file is told as such, naming the index (`StorageFailure`).
func failure(writing index: String, _ error: any Error) -> ExitCode {
    failure(StorageFailure.explain(error, index: index) ?? "\(error)")
}
