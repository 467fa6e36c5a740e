import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct UsageCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "usage",
            abstract: "Show KMS requests per day against CloudTrail's baseline, and their cost.",
            discussion: """
                daily: requests per day (and per --by value); deliveries, the GenerateDataKey calls \
                of log-file deliveries; baseline, the \(Usage.deliveriesPerDay) deliveries a day each \
                trail, account and region seen delivering should cost (their first and last day in \
                proportion); gap = requests - baseline; flag: deliveries-missing (log files missing from \
                the index, a trail that stopped) and/or above-baseline (KMS use beyond CloudTrail's), by \
                more than \(Int(Usage.tolerance * 100))% of the baseline; list_cost_usd at the list price before the \
                free tier. monthly: requests, the free tier (per account and month, taken from the requests \
                shown) and the estimated cost (symmetric requests at one price, no key-month fee: see the \
                README). Exit status: 0 rows, 1 none, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var filters: FilterOptions

        @Option(help: ArgumentHelp("Split each day by account, region, key or operation.", valueName: "column"))
        var by: UsageGrouping?

        @Option(name: .customLong("price-per-10k"), help: ArgumentHelp("Dollars per 10,000 requests.", valueName: "usd"))
        var pricePer10k = UsagePricing().pricePer10k

        @Option(help: ArgumentHelp("Free requests per account and month.", valueName: "n"))
        var freePerMonth = UsagePricing().freePerMonth

        mutating func validate() throws {
            if !(pricePer10k >= 0) || !pricePer10k.isFinite { throw ValidationError("--price-per-10k must be a price, 0 or more") }
            if freePerMonth < 0 { throw ValidationError("--free-per-month must be 0 or more") }
        }

        mutating func run() throws {
            let filter = try filters.queryFilter()
            let pricing = UsagePricing(pricePer10k: pricePer10k, freePerMonth: freePerMonth)
            let report = try queryIndex(database) { db in try Usage.report(db, filter: filter, by: by, pricing: pricing) }
            if report.isEmpty {
                if output.format != .table { Console.out(report.render(output.format)) }
                Console.err("kmsindex: no KMS request matches")
                throw ExitCode(1)
            }
            Console.out(report.render(output.format))
        }
    }
}
