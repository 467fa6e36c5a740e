import ArgumentParser
import GRDB
import KMSIndex

extension KMSIndexCommand {
    struct StatsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show what the index holds.")

        @OptionGroup var database: DatabaseOptions

        @OptionGroup var output: OutputOptions

        @Flag(help: SummaryCheck.help)
        var fromEvents = false

        var format: OutputFormat { output.format }

        mutating func run() throws {
            let stats: IndexStats
            do {
                let index = try IndexDatabase.openForReading(path: database.path)
                stats = try index.queue.read { db in try IndexStats.read(db, fromEvents: fromEvents) }
            } catch {
                throw failure("\(error)")
            }
            let fields: [(String, String?)] = [
                ("version", KMSIndexCommand.version),
                ("schema_version", String(stats.schemaVersion)),
                ("files_ingested", String(stats.filesIngested)),
                ("files_skipped", String(stats.filesSkipped)),
                ("files_failed", String(stats.filesFailed)),
                ("kms_events", String(stats.kmsEvents)),
                ("failed_calls", String(stats.failedCalls)),
                ("keys", String(stats.keys)),
                ("trails", String(stats.trails)),
                ("objects", String(stats.objects)),
                ("principals", String(stats.principals)),
                ("first_event_time", stats.firstEventTime),
                ("last_event_time", stats.lastEventTime),
                ("own_principals", String(stats.ownPrincipals)),
                ("likely_own_principal", stats.likelyOwnPrincipal.map(\.arn)),
            ]
            switch format {
            case .json, .ndjson:
                // Counts are numbers; the version and times are strings (times null for an empty index).
                let body = fields.map { name, value -> String in
                    let rendered: String
                    if let value {
                        rendered =
                            ["version", "likely_own_principal"].contains(name) || name.hasSuffix("_time") ? JSONText.quoted(value) : value
                    } else {
                        rendered = "null"
                    }
                    return JSONText.quoted(name) + ": " + rendered
                }
                Console.out(
                    format == .json ? "{\n  " + body.joined(separator: ",\n  ") + "\n}\n" : "{" + body.joined(separator: ", ") + "}\n")
            default:
                Console.out(ResultTable(columns: ["name", "value"], rows: fields.map { [$0.0, $0.1] }).render(format))
                if format == .table, let likely = stats.likelyOwnPrincipal, !likely.alreadyOwn {
                    Console.err(
                        "kmsindex: \(TerminalText.escape(likely.arn)) decrypted \(likely.filesRead) of \(likely.files) log files "
                            + "within 48 hours of their delivery: the indexer's own sync? If so: kmsindex own-principal add \(TerminalText.escape(likely.arn))"
                    )
                }
            }
        }
    }
}
