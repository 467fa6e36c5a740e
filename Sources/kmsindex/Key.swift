import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct KeyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key",
            abstract: "Tell one KMS key's story.",
            discussion: """
                KEY is a key ARN, a key id, an alias name (alias/NAME) or an alias ARN; --account and \
                --region choose among the keys of an alias used in several accounts or regions. Sections: the \
                key (counts, first and last seen), its aliases, calls per day and operation, top \
                principals, trails, S3 objects (most recent first), failed calls (newest first) and \
                lifecycle events (CreateKey, DisableKey, ScheduleKeyDeletion, PutKeyPolicy, grants, \
                aliases...). principals, objects and failures show \(KeyReport.defaultListLimit) rows \
                unless --limit says otherwise; --limit caps every list. JSON is one object with an \
                array per section; CSV, TSV and NDJSON rows carry a section column. \
                Exit status: 0 key found, 1 unknown key, 2 error (an alias naming several keys too).
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        @Argument(help: ArgumentHelp("The key.", valueName: "key"))
        var key: String

        mutating func validate() throws {
            if filters.key != nil { throw ValidationError("give the key as the argument, not with --key") }
        }

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let (answer, namingOnly) = try queryIndex(database) { db in
                let report = KeyReport(db)
                return (try report.answer(key, filter: filter), try report.callsNamingOnly(key, filter: filter))
            }
            // Calls that named only the alias (or an id never tied to a key) are not the key's in
            // the report: said on stderr, so that "no key" is not taken for "no calls".
            let shown = TerminalText.escape(key)
            let namingNote =
                "\(namingOnly) call\(namingOnly == 1 ? "" : "s") named \(shown) without naming a key ARN (records from "
                + "before late 2022 may lack resources); `kmsindex usage --key \(shown)` counts them"
            switch answer {
            case .unknown:
                Console.err("kmsindex: no key in the index matches \(shown)" + (namingOnly > 0 ? "; " + namingNote : ""))
                throw ExitCode(1)
            case let .ambiguous(keys):
                // Keys of one account and region: an alias that moved (UpdateAlias) named each in
                // its turn, and neither its ARN nor --account or --region tells them apart.
                let places = Set(keys.map { key in ARN(key.arn).map { "\($0.account) \($0.region)" } ?? key.arn })
                Console.err(
                    places.count == 1
                        ? "kmsindex: \(TerminalText.escape(key)) named \(keys.count) keys in turn (an alias moved by UpdateAlias); give one's key ARN (its report's aliases say when the alias named it):"
                        : "kmsindex: \(TerminalText.escape(key)) names \(keys.count) keys; give the key ARN or an alias ARN, or narrow with --account or --region:"
                )
                for candidate in keys { Console.err("  " + TerminalText.escape(candidate.arn)) }
                throw ExitCode(2)
            case let .report(_, report):
                Console.out(report.render(output.format))
                if namingOnly > 0 { Console.err("kmsindex: not in this report: " + namingNote) }
            }
        }
    }
}
