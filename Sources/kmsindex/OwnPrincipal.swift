import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    /// `own-principal add|remove|list`: the principals whose reads are the indexer's own.
    struct OwnPrincipalCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "own-principal",
            abstract: "Name the principals the indexer itself reads the log files with (the sync's role).",
            discussion: """
                Their reads are marked own_read in who-read and reads, and left out of table output \
                (--all shows them). A role ARN covers all its sessions; a user ARN that user; an \
                assumed-role session ARN that session. Stored in the index.
                """,
            subcommands: [AddCommand.self, RemoveCommand.self, ListCommand.self]
        )

        struct AddCommand: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Add an own principal.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: ArgumentHelp("A role, user or assumed-role session ARN.", valueName: "arn"))
            var arn: String
            @Option(help: ArgumentHelp("Seconds to wait for an ingest writing to the same index.", valueName: "seconds"))
            var wait: Double = 600

            mutating func run() throws {
                let added = try writeIndex(database, wait: wait) { db in try OwnPrincipals.add(db, arn: arn) }
                Console.err("kmsindex: " + (added ? "added " : "already an own principal: ") + TerminalText.escape(arn))
            }
        }

        struct RemoveCommand: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an own principal.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: ArgumentHelp("An ARN given to add.", valueName: "arn"))
            var arn: String
            @Option(help: ArgumentHelp("Seconds to wait for an ingest writing to the same index.", valueName: "seconds"))
            var wait: Double = 600

            mutating func run() throws {
                let removed = try writeIndex(database, wait: wait) { db in try OwnPrincipals.remove(db, arn: arn) }
                guard removed else {
                    Console.err("kmsindex: not an own principal: " + TerminalText.escape(arn))
                    throw ExitCode(1)
                }
                Console.err("kmsindex: removed " + TerminalText.escape(arn))
            }
        }

        struct ListCommand: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the own principals.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var output: OutputOptions

            mutating func run() throws {
                let stored = try queryIndex(database) { db in try OwnPrincipals.list(db) }
                try emit(
                    ResultTable(columns: ["arn", "added_at"], rows: stored.map { [$0.arn, $0.addedAt] }),
                    output.format, none: "no own principal is stored")
            }
        }
    }
}
