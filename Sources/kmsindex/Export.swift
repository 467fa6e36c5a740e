import ArgumentParser
import Foundation
import KMSIndex

extension KMSIndexCommand {
    struct ExportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the events as Hive-partitioned, gzip-compressed JSON lines, for Athena, Trino, Spark or DuckDB.",
            discussion: """
                Writes OUT/kms_events/event_date=YYYY-MM-DD/part-NNNNN.json.gz, one JSON object per \
                event: the columns of the kms_events view, plus encryption_context, \
                source_encryption_context and destination_encryption_context. Incremental: only the \
                days that changed since the last export are written again, and days no longer in \
                the index (after prune) are removed; OUT/kms_events/_manifest.json lists the days. \
                Exit status: 0 success, 2 usage or database or file error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The export folder (created if missing).", valueName: "dir"), completion: .directory)
        var out: String

        @Option(help: ArgumentHelp("First day of events to export: YYYY-MM-DD, or Nd for N days ago (UTC).", valueName: "day"))
        var since: String?

        @Option(help: ArgumentHelp("Last day of events to export, inclusive.", valueName: "day"))
        var until: String?

        @Option(help: ArgumentHelp("Most events in one file; a larger day is split.", valueName: "n"))
        var partEvents: Int = 1_000_000

        @Flag(name: .shortAndLong, help: "Print nothing unless something failed.")
        var quiet = false

        @Flag(help: "Print a JSON summary of the run on stdout at the end.")
        var jsonSummary = false

        mutating func validate() throws {
            if partEvents < 1 { throw ValidationError("--part-events must be at least 1") }
            try validateDays(since: since, until: until, nothing: "no day would be written")
        }

        mutating func run() throws {
            Interruption.sayOnInterrupt(
                "each day is written under a temporary name and renamed when whole, so no reader sees half a day: "
                    + "run the same command again to finish")
            let today = Int(Date().timeIntervalSince1970 / 86400)
            var options = ExportOptions(
                outputPath: out, firstDay: since.flatMap { DeliveryDays.day($0, today: today) },
                lastDay: until.flatMap { DeliveryDays.day($0, today: today) })
            options.partEvents = partEvents
            let started = Date()
            let summary: ExportSummary
            do {
                let index = try IndexDatabase.openForReading(path: database.path)
                summary = try Exporter(index: index, options: options).run()
            } catch {
                if jsonSummary { Console.out(Self.json(nil, seconds: Date().timeIntervalSince(started), status: 2)) }
                throw failure("\(error)")
            }
            if !quiet { Console.err("kmsindex: export: " + Self.describe(summary)) }
            if jsonSummary { Console.out(Self.json(summary, seconds: Date().timeIntervalSince(started), status: 0)) }
        }

        static func describe(_ s: ExportSummary) -> String {
            "\(s.daysWritten) days written (\(s.eventsWritten) events, \(s.filesWritten) files, \(s.bytesWritten) bytes), "
                + "\(s.daysUnchanged) unchanged, \(s.daysRemoved) removed; \(s.events) events in range"
        }

        static func json(_ s: ExportSummary?, seconds: Double, status: Int32) -> String {
            let s = s ?? ExportSummary()
            let fields = [
                "\"days_written\":\(s.daysWritten)", "\"days_unchanged\":\(s.daysUnchanged)",
                "\"days_removed\":\(s.daysRemoved)", "\"events_written\":\(s.eventsWritten)",
                "\"events\":\(s.events)", "\"files_written\":\(s.filesWritten)", "\"bytes_written\":\(s.bytesWritten)",
                "\"duration_seconds\":\((seconds * 1000).rounded() / 1000)", "\"exit_status\":\(status)",
            ]
            return "{" + fields.joined(separator: ",") + "}\n"
        }
    }
}
