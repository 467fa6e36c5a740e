import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct TrailsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trails",
            abstract: "List the CloudTrail trails whose log files KMS protected.",
            discussion: """
                One row per trail ARN (aws:cloudtrail:arn): account, region, name, events, log-file \
                deliveries, log files, reads, distinct readers, failed calls, first and last seen. \
                Exit status: 0 trails listed, 1 none, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let table = try queryIndex(database) { db in try Listings.trails(db, filter: filter) }
            try emit(table, output.format, none: "no trail matches")
        }
    }
}
