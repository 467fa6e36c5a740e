import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct PruneCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete events older than a day, and reclaim the space.",
            discussion: """
                Keys, objects, trails, principals and user agents no remaining event refers to are \
                deleted too. The file ledger is kept, so the pruned files are not ingested again.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Delete events before this UTC day or time (YYYY-MM-DD, or an ISO-8601 time).", valueName: "day"))
        var before: String

        @Option(help: ArgumentHelp("Seconds to wait for an ingest writing to the same index.", valueName: "seconds"))
        var wait: Double = 600

        mutating func validate() throws {
            guard EventTime.normalize(before.count == 10 ? before + "T00:00:00Z" : before) != nil else {
                throw ValidationError("--before takes YYYY-MM-DD or an ISO-8601 time; not '\(before)'")
            }
        }

        mutating func run() throws {
            Interruption.sayOnInterrupt(
                "the events before the cutoff are deleted in one transaction, all of them or none: "
                    + "run the same command again to finish")
            let cutoff = EventTime.normalize(before.count == 10 ? before + "T00:00:00Z" : before)!
            let report: PruneReport
            do {
                let lock = try IndexLock(indexPath: database.path, timeout: wait)
                let index = try IndexDatabase.openForWriting(path: database.path, lockTimeout: nil)
                report = try Maintenance.prune(index, before: cutoff)
                withExtendedLifetime(lock) {}
            } catch {
                throw failure(writing: database.path, error)
            }
            Console.err(
                "kmsindex: pruned events before \(cutoff): \(report.events) events, "
                    + (report.s3Reads > 0 ? "\(report.s3Reads) S3 reads, " : "") + "\(report.contextPairs) context pairs, "
                    + "\(report.keys) keys, \(report.objects) objects, \(report.trails) trails, \(report.principals) principals, "
                    + "\(report.userAgents) user agents; \(report.bytesBefore) -> \(report.bytesAfter) bytes")
        }
    }
}
