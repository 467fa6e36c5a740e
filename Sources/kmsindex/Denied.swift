import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct DeniedCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "denied",
            abstract: "List failed KMS calls (AccessDenied and the rest) by principal and key.",
            discussion: """
                One row per principal, key and error code, most calls first: calls, operations tried, \
                distinct S3 objects, first and last seen, and the latest error message. \
                Exit status: 0 failures listed, 1 none, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let table = try queryIndex(database) { db in try Denied.table(db, filter: filter) }
            try emit(table, output.format, none: "no failed call matches")
        }
    }
}
