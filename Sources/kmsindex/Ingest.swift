import ArgumentParser
import Foundation
import KMSIndex
import Logging

extension KMSIndexCommand {
    struct IngestCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ingest",
            // Parsed as the root of its own tree (`KMSIndexCommand.main`), still shown as
            // `kmsindex ingest`.
            _superCommandName: "kmsindex",
            abstract: "Read CloudTrail log files (.json.gz or .json) into the index.",
            discussion: """
                Folders are read recursively. Files already in the index, with the same size and \
                modification time, are not read again; events already indexed (same eventID) are not \
                added again. One ingest writes to an index at a time: another waits (--wait). \
                Exit status: 0 all good, 1 some files failed (the rest is indexed), 2 usage or \
                database error.
                """,
            version: KMSIndexCommand.versionLine
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("Files and folders to read.", valueName: "path"), completion: .file())
        var paths: [String]

        @Option(help: ArgumentHelp("Read only delivery-day folders from this day on: YYYY-MM-DD, or Nd for N days ago.", valueName: "day"))
        var since: String?

        @Option(help: ArgumentHelp("Read only delivery-day folders up to this day (and the next, for late deliveries).", valueName: "day"))
        var until: String?

        @Option(help: "Parsing threads (default: the number of cores).")
        var jobs: Int?

        @Option(help: "Threads that have files read from disk before they are parsed, when not cached (0: none).")
        var readAhead: Int = IngestOptions(paths: []).readAheadThreads

        @Option(help: "Largest decompressed size of one file, in bytes.")
        var maxFileBytes: Int = 2 << 30

        @Option(help: ArgumentHelp("Seconds to wait for another ingest writing to the same index.", valueName: "seconds"))
        var wait: Double = 600

        @Option(help: .hidden)
        var filesPerTransaction: Int?

        @Flag(name: .shortAndLong, help: "Print nothing unless something failed.")
        var quiet = false

        @Flag(help: "Print a progress line every 10 seconds (a progress bar is shown anyway on a terminal; neither with --quiet).")
        var progress = false

        @Option(help: .hidden)
        var progressInterval: Double = 10

        @Flag(help: "Print a JSON summary of the run on stdout at the end.")
        var jsonSummary = false

        @Option(
            help: ArgumentHelp(
                "Which reads of S3 objects to keep from S3 data events: auto, all, none, or BUCKET[,BUCKET...].",
                discussion: "auto: buckets KMS events name as a bucket (S3 Bucket Keys) or that hold CloudTrail log files.",
                valueName: "mode"))
        var s3Reads: String = "auto"

        @Flag(
            help: ArgumentHelp(
                "Hash each log file's decompressed content (SHA-256, as CloudTrail's digests list it) while reading it.",
                discussion: """
                    Without it, each file's bytes are hashed, and `audit` hashes the content of the files it \
                    checks, once. Give it when log files may be deleted after they are ingested.
                    """))
        var contentSHA256 = false

        @OptionGroup var logging: LoggingOptions

        mutating func validate() throws {
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            if readAhead < 0 || readAhead > 64 { throw ValidationError("--read-ahead must be between 0 and 64") }
            if maxFileBytes < 1 { throw ValidationError("--max-file-bytes must be positive") }
            if wait < 0 { throw ValidationError("--wait must not be negative") }
            // A path that does not exist is a mistyped argument (or a volume not mounted): refused
            // before the index is opened, rather than recorded in its ledger as a failed file.
            for path in paths where access(path, F_OK) != 0 && errno == ENOENT {
                throw ValidationError("no such file or folder: \(path)")
            }
            if S3ReadMode(argument: s3Reads) == nil {
                throw ValidationError("--s3-reads takes auto, all, none or bucket names separated by commas; not '\(s3Reads)'")
            }
            try validateDays(since: since, until: until, nothing: "no day would be read")
            _ = try logging.makeLogger(quiet: quiet)
        }

        mutating func run() throws {
            let logger = try logging.makeLogger(quiet: quiet)
            Interruption.sayOnInterrupt(
                "the files committed so far stay indexed, the rest is undone, and nothing is counted twice: "
                    + "run the same command again to index the rest")
            var options = IngestOptions(paths: paths)
            if let jobs { options.jobs = jobs }
            options.readAheadThreads = readAhead
            options.maxFileBytes = maxFileBytes
            options.s3Reads = S3ReadMode(argument: s3Reads)!
            options.hashContent = contentSHA256
            if let filesPerTransaction { options.filesPerTransaction = max(1, filesPerTransaction) }
            let today = Int(Date().timeIntervalSince1970 / 86400)
            if since != nil || until != nil {
                options.days = DeliveryDays(
                    first: since.flatMap { DeliveryDays.day($0, today: today) },
                    last: until.flatMap { DeliveryDays.day($0, today: today) })
            }
            let showBar = !quiet && Console.stderrIsTerminal && !Console.terminalIsDumb
            options.countFilesForProgress = showBar
            // --quiet is what a cron job gives: nothing on success, whatever else is asked.
            let display = ProgressDisplay(bar: showBar, lines: progress && !quiet && !showBar, lineInterval: progressInterval)

            let started = Date()
            let summary: IngestSummary
            do {
                let lock = try IndexLock(indexPath: database.path, timeout: wait) { holder in
                    logger.notice(
                        "waiting for another kmsindex (pid \(holder.map(String.init) ?? "unknown")) writing to \(database.path)",
                        metadata: [
                            "pid": "\(holder.map(String.init) ?? "unknown")", "index": "\(database.path)",
                        ])
                }
                let index = try IndexDatabase.openForWriting(path: database.path, lockTimeout: nil)
                summary = try Ingester(database: index, options: options).run(
                    diagnostic: { diagnostic in
                        display.clear()
                        switch diagnostic {
                        case let .fileFailed(path, reason):
                            logger.error("failed: \(path): \(reason)", metadata: ["path": "\(path)", "reason": "\(reason)"])
                        case let .malformedRecords(path, count, examples):
                            var metadata: Logger.Metadata = ["path": "\(path)", "count": .stringConvertible(count)]
                            if let first = examples.first { metadata["first"] = "record \(first.index): \(first.reason)" }
                            let first = examples.first.map { " (record \($0.index): \($0.reason))" } ?? ""
                            logger.warning("\(path): \(count) malformed record(s) not indexed\(first)", metadata: metadata)
                        }
                    }, progress: display.isActive ? { display.update($0) } : nil)
                withExtendedLifetime(lock) {}
            } catch let stopped as IngestInterrupted {
                display.clear()
                throw failure(Self.describe(stopped, index: database.path))
            } catch {
                display.clear()
                throw failure(writing: database.path, error)
            }
            display.clear()
            let status: Int32 = summary.filesFailed > 0 ? 1 : 0
            if summary.filesFailed > 0 {
                logger.error("\(Self.describe(summary))")
            } else {
                logger.info("\(Self.describe(summary))")
            }
            if jsonSummary {
                Console.out(Self.json(summary, seconds: Date().timeIntervalSince(started), status: status))
            }
            if status != 0 { throw ExitCode(status) }
        }

        /// Why the run stopped, what it kept and what to do: a cron job's whole report.
        static func describe(_ stopped: IngestInterrupted, index: String) -> String {
            let reason = StorageFailure.explain(stopped.error, index: index) ?? "\(stopped.error)"
            let kept = stopped.committed
            guard kept.filesSeen > 0 else {
                return "ingest stopped: \(reason). Nothing of this run was kept; run it again once this is fixed."
            }
            return "ingest stopped: \(reason). Kept, committed before it: \(kept.filesSeen) files (\(kept.filesIngested) ingested) "
                + "and \(kept.eventsAdded) KMS events; run the same ingest again once this is fixed: it goes on from there "
                + "(files kept are not read again)."
        }

        static func describe(_ s: IngestSummary) -> String {
            var skipped = ""
            if s.filesSkipped > 0 {
                let reasons = s.skippedByReason.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                skipped = " (\(reasons))"
            }
            var line = "\(s.filesSeen) files: \(s.filesIngested) ingested, \(s.filesUnchanged) unchanged, "
            line += "\(s.filesSkipped) skipped\(skipped), \(s.filesFailed) failed; "
            line += "\(s.eventsAdded) KMS events added (\(s.duplicates) already indexed"
            line += s.malformedRecords > 0 ? ", \(s.malformedRecords) malformed)" : ")"
            if s.eventsSuperseded > 0 { line += "; \(s.eventsSuperseded) superseded by an update" }
            return line
        }

        static func json(_ s: IngestSummary, seconds: Double, status: Int32) -> String {
            let skipped = s.skippedByReason.sorted { $0.key < $1.key }
                .map { JSONText.quoted($0.key) + ":" + String($0.value) }.joined(separator: ",")
            let failed = s.failed.sorted { $0.key < $1.key }
                .map { "{\"path\":" + JSONText.quoted($0.key) + ",\"reason\":" + JSONText.quoted($0.value) + "}" }
                .joined(separator: ",")
            let fields = [
                "\"files_seen\":\(s.filesSeen)", "\"files_ingested\":\(s.filesIngested)",
                "\"files_unchanged\":\(s.filesUnchanged)", "\"files_skipped\":\(s.filesSkipped)",
                "\"skipped_by_reason\":{\(skipped)}", "\"files_failed\":\(s.filesFailed)", "\"failed\":[\(failed)]",
                "\"kms_records\":\(s.kmsRecords)", "\"events_added\":\(s.eventsAdded)", "\"s3_reads_added\":\(s.s3ReadsAdded)",
                "\"duplicates\":\(s.duplicates)", "\"events_superseded\":\(s.eventsSuperseded)",
                "\"malformed_records\":\(s.malformedRecords)",
                "\"bytes_read\":\(s.bytesRead)", "\"duration_seconds\":\((seconds * 1000).rounded() / 1000)",
                "\"exit_status\":\(status)",
            ]
            return "{" + fields.joined(separator: ",") + "}\n"
        }
    }
}
