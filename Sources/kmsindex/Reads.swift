import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct ReadsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reads",
            abstract: "List what a principal decrypted, when, with what result.",
            discussion: """
                PRINCIPAL is a user, role, root or assumed-role session ARN, a role name, a session \
                name, a user name, an access key id, the service that called (invokedBy), or an \
                Identity Center user's id (onBehalfOf.userId), a source identity (sourceIdentity, \
                the person who started a role session), or a caller with no ARN as who-read \
                names it (AWSAccount: 444455556666). A role (by ARN or name) matches all \
                its sessions. Every Decrypt of theirs is listed, oldest \
                first, with the S3 object or the other encryption-context pairs it named, and \
                their S3 reads where S3 data events were ingested (a read S3 and KMS both \
                recorded is one row of the table). \
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
            let forTerminal = output.format == .table
            // Made once the index says whether it holds S3 reads: the table then has their columns.
            var printer: RowPrinter!
            // Reads of own principals are left out of the table (`OwnPrincipals.visible`, as
            // the rows come): counted once per read, a paired Decrypt and S3 read being one.
            let showAll = all || !forTerminal
            var hiddenAlone = 0
            var hiddenPairs = Set<String>()
            let principal = principal
            // A read recorded by S3 and by the Decrypt S3 made for it is one row of the table,
            // as in who-read's (JSON, CSV and TSV keep both, with one read_id).
            var s3 = false
            var rows = PairedReadRows { read in printer.add(PrincipalReads.cells(read, forTerminal: true, s3: s3)) }
            let format = output.format
            let known = try queryIndex(database) { db in
                s3 = try PrincipalReads.indexHoldsS3Reads(db)
                printer = RowPrinter(
                    columns: PrincipalReads.columns(forTerminal: forTerminal, s3: s3), format: format, writeBytes: Console.out(bytes:))
                let query = PrincipalReads(db)
                let ids = try query.principalIDs(principal)
                guard !ids.isEmpty else { return false }
                if let (names, count) = try query.callersNamed(principal, ids: ids) {
                    // Said first: the reads of all of them follow, interleaved in time.
                    let shown = names.map(TerminalText.escape).joined(separator: ", ") + (count > names.count ? ", …" : "")
                    Console.err(
                        "kmsindex: \(TerminalText.escape(principal)) names \(count) callers (\(shown)): their reads are listed together; give one's ARN or phrase for its own"
                    )
                }
                // The ids found above: a role of many sessions is looked up once.
                try query.forEachRead(ofIDs: ids, filter: filter) { read in
                    // A read logged in both accounts whose two records are the principal's is one
                    // row of the table, as in who-read's.
                    if forTerminal, read.isOwnerCopy { return false }
                    if !showAll, read.ownRead {
                        if let pair = read.readID { hiddenPairs.insert(pair) } else { hiddenAlone += 1 }
                        return false
                    }
                    if forTerminal {
                        try rows.add(read)
                    } else {
                        printer.add(PrincipalReads.cells(read, forTerminal: false))
                    }
                    return true
                }
                try rows.finish()
                return true
            }
            let hidden = hiddenAlone + hiddenPairs.count
            if hidden > 0 && printer.rowCount == 0 {
                // Reads were found: status 0, as with --all.
                Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden))
                return
            }
            try endOutput(
                printer,
                none: known
                    ? "no Decrypt by \(TerminalText.escape(principal)) matches"
                    : "no principal in the index matches \(TerminalText.escape(principal))")
            if hidden > 0 { Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden)) }
        }
    }
}
