import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct ReadsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reads",
            abstract: "List what a principal decrypted, when, with what result.",
            discussion: """
                PRINCIPAL is a user, role, root or assumed-role session ARN, a role name, a session \
                name, a user name, an access key id, or the service that called (invokedBy). A role \
                (by ARN or name) matches all its sessions. Every Decrypt of theirs is listed, oldest \
                first, with the S3 object or the other encryption-context pairs it named. \
                Exit status: 0 reads listed, 1 none, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        @Option(help: ArgumentHelp("Whose reads to list.", valueName: "principal"))
        var principal: String

        @Flag(help: "Show the reads of the indexer's own principals in the table too (JSON, CSV and TSV always have them).")
        var all = false

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let (known, reads) = try queryIndex(database) { db in
                let query = PrincipalReads(db)
                return (try !query.principalIDs(principal).isEmpty, try query.reads(principal: principal, filter: filter))
            }
            let forTerminal = output.format == .table
            let (shown, hidden) = OwnPrincipals.visible(reads, all: all || !forTerminal)
            if hidden > 0 && shown.isEmpty {
                // Reads were found: status 0, as with --all.
                Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden))
                return
            }
            let table = PrincipalReads.table(shown, forTerminal: forTerminal)
            try emit(
                table, output.format,
                none: known
                    ? "no Decrypt by \(TerminalText.escape(principal)) matches"
                    : "no principal in the index matches \(TerminalText.escape(principal))")
            if hidden > 0 { Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden)) }
        }
    }
}
