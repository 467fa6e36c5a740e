import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct KeysCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys",
            abstract: "List the KMS keys in the index.",
            discussion: """
                One row per key ARN: account, region, key id, aliases, events, failed calls, distinct \
                principals, first and last seen, counted over the events the filters keep. \
                Exit status: 0 keys listed, 1 none, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let table = try queryIndex(database) { db in try Listings.keys(db, filter: filter) }
            try emit(table, output.format, none: "no key matches")
        }
    }
}
