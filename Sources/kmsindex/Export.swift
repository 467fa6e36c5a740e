import ArgumentParser
import Foundation
import KMSIndex

extension KMSIndexCommand {
    struct ExportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the events and S3 reads as Hive-partitioned, gzip-compressed JSON lines, for Athena, Trino, Spark or DuckDB.",
            discussion: """
                Writes OUT/kms_events/event_date=YYYY-MM-DD/part-NNNNN.json.gz, one JSON object per \
                event: the columns of the kms_events view, plus encryption_context, \
                source_encryption_context and destination_encryption_context; and \
                OUT/s3_reads/event_date=YYYY-MM-DD/part-NNNNN.json.gz, one JSON object per read of \
                an S3 object from S3 data events (ingest --s3-reads): the columns of the \
                s3_read_events view. Incremental: only the days that changed since the last export \
                are written again, and days no longer in the index (after prune) are removed; each \
                table's _manifest.json lists its days. A table with no rows holds one empty file. \
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

        static func describe(_ summary: ExportSummary) -> String {
            let s = summary.events, r = summary.s3Reads
            return "\(s.daysWritten) days written (\(s.rowsWritten) events, \(s.filesWritten) files, \(s.bytesWritten) bytes), "
                + "\(s.daysUnchanged) unchanged, \(s.daysRemoved) removed; \(s.rows) events in range; S3 reads: "
                + "\(r.daysWritten) days written (\(r.rowsWritten) reads, \(r.filesWritten) files, \(r.bytesWritten) bytes), "
                + "\(r.daysUnchanged) unchanged, \(r.daysRemoved) removed; \(r.rows) reads in range"
        }

        static func json(_ summary: ExportSummary?, seconds: Double, status: Int32) -> String {
            let s = summary?.events ?? ExportTableSummary(), r = summary?.s3Reads ?? ExportTableSummary()
            let fields = [
                "\"days_written\":\(s.daysWritten)", "\"days_unchanged\":\(s.daysUnchanged)",
                "\"days_removed\":\(s.daysRemoved)", "\"events_written\":\(s.rowsWritten)",
                "\"events\":\(s.rows)", "\"files_written\":\(s.filesWritten)", "\"bytes_written\":\(s.bytesWritten)",
                "\"s3_read_days_written\":\(r.daysWritten)", "\"s3_read_days_unchanged\":\(r.daysUnchanged)",
                "\"s3_read_days_removed\":\(r.daysRemoved)", "\"s3_reads_written\":\(r.rowsWritten)",
                "\"s3_reads\":\(r.rows)", "\"s3_read_files_written\":\(r.filesWritten)",
                "\"s3_read_bytes_written\":\(r.bytesWritten)",
                "\"duration_seconds\":\((seconds * 1000).rounded() / 1000)", "\"exit_status\":\(status)",
            ]
            return "{" + fields.joined(separator: ",") + "}\n"
        }
    }
}
