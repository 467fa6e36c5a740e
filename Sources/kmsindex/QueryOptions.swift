import ArgumentParser
import Foundation
import GRDB
import KMSIndex

/// `--format`, shared by every query command.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format.")
    var format: OutputFormat = .table
}

/// The filters shared by the query commands over events.
struct FilterOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Only events at or after this time.",
            discussion: "A date (2024-03-01), a UTC time (2024-03-01T12:00:00Z), or an age: 30m, 24h, 7d.",
            valueName: "time"))
    var since: String?

    @Option(
        help: ArgumentHelp(
            "Only events before this time (a date alone: up to the end of that day).", valueName: "time"))
    var until: String?

    @Option(help: ArgumentHelp("Only events logged for this account (recipientAccountId).", valueName: "id"))
    var account: String?

    @Option(help: ArgumentHelp("Only events in this region.", valueName: "region"))
    var region: String?

    @Option(help: ArgumentHelp("Only events of this key: key ARN, key id, alias name or alias ARN.", valueName: "key"))
    var key: String?

    @Flag(help: "Only failed calls.")
    var errorsOnly = false

    @Option(help: ArgumentHelp("At most this many rows (of each list).", valueName: "n"))
    var limit: Int?

    @Flag(help: SummaryCheck.help)
    var fromEvents = false

    mutating func validate() throws {
        _ = try queryFilter()
    }

    /// The filter these options describe; times relative to now.
    func queryFilter() throws -> QueryFilter {
        do {
            var filter = try QueryFilter.parse(
                since: since, until: until, account: account, region: region,
                key: key, errorsOnly: errorsOnly, limit: limit)
            filter.fromEvents = fromEvents
            return filter
        } catch let error as QueryError {
            throw ValidationError(error.description)
        }
    }
}

/// `--from-events`: the answer counted from every event instead of the summaries.
enum SummaryCheck {
    static let help = ArgumentHelp(
        "Count from the events themselves, not the daily summaries.",
        discussion: "The same answer, read from every event (minutes over a year of history): a check of the summaries.")
}

extension UsageGrouping: ExpressibleByArgument {}

/// Opens the index read-only and runs `body` on it; any failure is reported as every command
/// reports one (status 2).
func queryIndex<T>(_ database: DatabaseOptions, _ body: (Database) throws -> T) throws -> T {
    do {
        let index = try IndexDatabase.openForReading(path: database.path)
        return try index.queue.read { db in try body(db) }
    } catch {
        throw failure("\(error)")
    }
}

/// Ends streamed output as `emit` ends a table: with no rows, stderr says `none`, CSV, TSV
/// and JSON still print their empty form, and the status is 1.
func endOutput(_ printer: RowPrinter, none: @autoclosure () -> String) throws {
    if printer.rowCount == 0 {
        if printer.format != .table { printer.finish() }
        Console.err("kmsindex: " + none())
        throw ExitCode(1)
    }
    printer.finish()
}

/// Prints `table` in `format`. With no rows: stderr says `none`, CSV, TSV and JSON still
/// print their empty form (a header, `[]`), and the status is 1.
func emit(_ table: ResultTable, _ format: OutputFormat, none: @autoclosure () -> String) throws {
    if table.cells.isEmpty {
        if format != .table { Console.out(table.render(format)) }
        Console.err("kmsindex: " + none())
        throw ExitCode(1)
    }
    Console.out(table.render(format))
}

/// Takes the index lock (waiting up to `wait` seconds), opens the index for writing and runs
/// `body` in one transaction; any failure is reported as every command reports one (status 2).
func writeIndex<T>(_ database: DatabaseOptions, wait: Double, _ body: (Database) throws -> T) throws -> T {
    do {
        return try underIndexLock(database.path, wait: wait) { index in try index.queue.write { db in try body(db) } }
    } catch {
        throw failure("\(error)")
    }
}

/// Runs `body` on the index opened for writing, holding the index lock as an ingest does:
/// a running ingest is waited for (up to `wait` seconds), not met with "database is locked".
func underIndexLock<T>(_ path: String, wait: Double, _ body: (IndexDatabase) throws -> T) throws -> T {
    let lock = try IndexLock(indexPath: path, timeout: wait)
    defer { withExtendedLifetime(lock) {} }
    return try body(try IndexDatabase.openForWriting(path: path, lockTimeout: nil))
}

/// `--since` and `--until` of ingest and export: each a day (`DeliveryDays`), the first not
/// after the last; `nothing` says what a reversed window would do.
func validateDays(since: String?, until: String?, nothing: String) throws {
    for (name, value) in [("--since", since), ("--until", until)] {
        if let value, DeliveryDays.day(value, today: 0) == nil {
            throw ValidationError("\(name) takes a day, YYYY-MM-DD, or Nd for N days ago; not '\(value)'")
        }
    }
    let today = Int(Date().timeIntervalSince1970 / 86400)
    if let since, let until, let first = DeliveryDays.day(since, today: today), let last = DeliveryDays.day(until, today: today),
        first > last
    {
        throw ValidationError("--since \(since) is after --until \(until): \(nothing)")
    }
}
