import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read CloudTrail log files (.json.gz or .json) into the index.",
            discussion: """
                Folders are read recursively. Files already in the index, with the same size and \
                modification time, are not read again; events already indexed (same eventID) are not \
                added again. Exit status: 0 all good, 1 some files failed (the rest is indexed), \
                2 usage or database error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("Files and folders to read.", valueName: "path"))
        var paths: [String]

        @Option(help: "Parsing threads (default: the number of cores).")
        var jobs: Int?

        @Option(help: "Largest decompressed size of one file, in bytes.")
        var maxFileBytes: Int = 2 << 30

        @Flag(name: .shortAndLong, help: "Print nothing when all went well.")
        var quiet = false

        mutating func validate() throws {
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            if maxFileBytes < 1 { throw ValidationError("--max-file-bytes must be positive") }
        }

        mutating func run() throws {
            var options = IngestOptions(paths: paths)
            if let jobs { options.jobs = jobs }
            options.maxFileBytes = maxFileBytes
            let summary: IngestSummary
            do {
                let index = try IndexDatabase.openForWriting(path: database.path)
                summary = try Ingester(database: index, options: options).run { diagnostic in
                    switch diagnostic {
                    case let .fileFailed(path, reason):
                        Console.err("kmsindex: failed: \(TerminalText.escape(path)): \(TerminalText.escape(reason))")
                    case let .malformedRecords(path, count, examples):
                        let first = examples.first.map { " (record \($0.index): \(TerminalText.escape($0.reason)))" } ?? ""
                        Console.err("kmsindex: warning: \(TerminalText.escape(path)): \(count) malformed KMS record(s) not indexed\(first)")
                    }
                }
            } catch {
                fail("\(error)")
            }
            if !quiet || summary.filesFailed > 0 {
                Console.err("kmsindex: " + Self.describe(summary))
            }
            if summary.filesFailed > 0 { throw ExitCode(1) }
        }

        static func describe(_ s: IngestSummary) -> String {
            var skipped = ""
            if s.filesSkipped > 0 {
                let reasons = s.skippedByReason.sorted { $0.key < $1.key }
                    .map { "\($0.value) \(TerminalText.escape($0.key))" }.joined(separator: ", ")
                skipped = " (\(reasons))"
            }
            var line = "\(s.filesSeen) files: \(s.filesIngested) ingested, \(s.filesUnchanged) unchanged, "
            line += "\(s.filesSkipped) skipped\(skipped), \(s.filesFailed) failed; "
            line += "\(s.eventsAdded) KMS events added (\(s.duplicates) already indexed"
            line += s.malformedRecords > 0 ? ", \(s.malformedRecords) malformed)" : ")"
            return line
        }
    }
}
