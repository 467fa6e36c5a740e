import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct ObjectsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "objects",
            abstract: "List the S3 objects (log files and others) KMS events name.",
            discussion: """
                One row per aws:s3:arn, oldest first: kind (object, prefix, bucket), bucket, key, \
                trail, writes, reads, failed reads, distinct readers, first and last seen. \
                Exit status: 0 objects listed, 1 none, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        @Option(help: ArgumentHelp("Only objects in this bucket (a name, s3://NAME or its ARN).", valueName: "bucket"))
        var bucket: String?

        @Option(help: ArgumentHelp("Only objects of this trail (its ARN or name).", valueName: "trail"))
        var trail: String?

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let format = output.format
            let printer = try queryIndex(database) { db in
                let query = try Listings.objectsQuery(db, filter: filter, bucket: bucket, trail: trail)
                let printer = RowPrinter(columns: query.columns, format: format, writeBytes: Console.out(bytes:))
                try query.print(to: printer)
                return printer
            }
            try endOutput(printer, none: "no object matches")
        }
    }
}
