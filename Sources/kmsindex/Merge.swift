import ArgumentParser
import Foundation
import KMSIndex
import Logging

extension KMSIndexCommand {
    struct MergeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Unite indexes written by separate ingests (shards) into the index.",
            discussion: """
                Each shard is copied in one transaction: events the index already holds (same \
                eventID and time) are not added again, so merging a shard twice adds nothing, and a \
                merge killed at any moment can simply be run again. The index is created when it \
                does not exist, as a copy of the largest shard. Files in the shards' ledgers are not read again by a later ingest \
                into the index. A shard must be an index of this kmsindex's schema (open an older \
                one once, e.g. with 'kmsindex stats --db SHARD', to migrate it). Takes the same \
                lock as ingest. Exit status: 0 all merged, 1 some shards failed (the others are \
                merged), 2 usage or database error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("Index files written by 'kmsindex ingest'.", valueName: "shard"), completion: .file())
        var shards: [String]

        @Option(help: ArgumentHelp("Seconds to wait for another ingest or merge writing to the same index.", valueName: "seconds"))
        var wait: Double = 600

        @Flag(name: .shortAndLong, help: "Print nothing unless something failed.")
        var quiet = false

        @Flag(help: "Print a JSON summary of the merge on stdout at the end, with counts per shard.")
        var jsonSummary = false

        @OptionGroup var logging: LoggingOptions

        mutating func validate() throws {
            if wait < 0 { throw ValidationError("--wait must not be negative") }
            _ = try logging.makeLogger(quiet: quiet)
        }

        mutating func run() throws {
            let logger = try logging.makeLogger(quiet: quiet)
            Interruption.sayOnInterrupt(
                "each shard is merged whole or not at all, and a new index appears only with every shard in it: "
                    + "run the same command again to finish")
            let started = Date()
            var outcomes: [Result<MergeResult, MergeError>] = []
            // The index given as a shard is a mistake in the command: nothing is merged (and an
            // index that does not exist yet is not created). By path here; by file once it is open.
            let destination = URL(fileURLWithPath: database.path).standardizedFileURL.path
            if let own = shards.first(where: { URL(fileURLWithPath: $0).standardizedFileURL.path == destination }) {
                throw failure("\(own) is the index merged into (--db \(database.path)); a shard must be another index")
            }
            do {
                let lock = try IndexLock(indexPath: database.path, timeout: wait) { holder in
                    logger.notice(
                        "waiting for another kmsindex (pid \(holder.map(String.init) ?? "unknown")) writing to \(database.path)",
                        metadata: [
                            "pid": "\(holder.map(String.init) ?? "unknown")", "index": "\(database.path)",
                        ])
                }
                func record(_ outcome: Result<MergeResult, MergeError>) {
                    outcomes.append(outcome)
                    guard case let .failure(error) = outcome else { return }
                    logger.error(
                        "failed: \(error.shardPath): \(error.reason)",
                        metadata: [
                            "path": "\(error.shardPath)", "reason": "\(error.reason)",
                        ])
                }
                // A new index is built whole under a temporary name, from a copy of the largest
                // shard (`MergeSeed`); if that fails, it is created and merged into as any index.
                // When it would be new and no shard is one to merge, each is refused and no
                // index is created.
                let isNew = IndexMerger.canSeed(database.path)
                let existed = access(database.path, F_OK) == 0
                let seed = isNew ? IndexMerger.seedChoice(shards) : nil
                if isNew, seed == nil {
                    shards.map(IndexMerger.refusal).forEach(record)
                } else if let seed,
                    let built = try? IndexMerger.build(destinationPath: database.path, shardPaths: shards, seedIndex: seed)
                {
                    built.forEach(record)
                } else {
                    let index = try IndexDatabase.openForWriting(path: database.path, lockTimeout: nil)
                    let merger = IndexMerger(destination: index)
                    if let own = shards.first(where: merger.isDestination) {
                        throw failure("\(own) is the index merged into (--db \(database.path)); a shard must be another index")
                    }
                    for shard in shards {
                        do {
                            record(.success(try merger.merge(shardPath: shard)))
                        } catch let error as MergeError {
                            record(.failure(error))
                        }
                    }
                    if !existed, Self.merged(outcomes).isEmpty {
                        // Created for shards that were all refused: not left behind, empty.
                        try index.queue.close()
                        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(database.path + suffix) }
                    }
                }
                withExtendedLifetime(lock) {}
            } catch let status as ExitCode {
                throw status
            } catch {
                throw failure(writing: database.path, error)
            }
            let failed = outcomes.filter { if case .failure = $0 { return true } else { return false } }.count
            let status: Int32 = failed > 0 ? 1 : 0
            let line = Self.describe(outcomes)
            if failed > 0 { logger.error("\(line)") } else { logger.info("\(line)") }
            if jsonSummary {
                Console.out(Self.json(outcomes, seconds: Date().timeIntervalSince(started), status: status))
            }
            if status != 0 { throw ExitCode(status) }
        }

        static func merged(_ outcomes: [Result<MergeResult, MergeError>]) -> [MergeResult] {
            outcomes.compactMap { try? $0.get() }
        }

        static func describe(_ outcomes: [Result<MergeResult, MergeError>]) -> String {
            let results = merged(outcomes)
            func sum(_ value: (MergeResult) -> Int) -> Int { results.reduce(0) { $0 + value($1) } }
            var line = "\(outcomes.count) shards: \(results.count) merged, \(outcomes.count - results.count) failed; "
            line += "\(sum(\.eventsAdded)) KMS events added (\(sum(\.duplicates)) already indexed), "
            line += "\(sum(\.filesAdded)) files added to the ledger (\(sum(\.filesUpdated)) updated)"
            if sum(\.eventsSuperseded) > 0 { line += "; \(sum(\.eventsSuperseded)) events superseded by an update" }
            return line
        }

        static func json(_ outcomes: [Result<MergeResult, MergeError>], seconds: Double, status: Int32) -> String {
            func time(_ ms: Int64?) -> String { ms.map { JSONText.quoted(StoredTime.text($0)) } ?? "null" }
            func rounded(_ s: Double) -> Double { (s * 1000).rounded() / 1000 }
            let shards = outcomes.map { outcome -> String in
                switch outcome {
                case let .failure(error):
                    return
                        "{\"path\":\(JSONText.quoted(error.shardPath)),\"status\":\"failed\",\"reason\":\(JSONText.quoted(error.reason))}"
                case let .success(r):
                    let rows = r.rowsAdded.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + ":\($0.value)" }
                    let fields = [
                        "\"path\":" + JSONText.quoted(r.shardPath), "\"status\":\"merged\"", "\"events\":\(r.shardEvents)",
                        "\"events_added\":\(r.eventsAdded)", "\"duplicates\":\(r.duplicates)",
                        "\"events_superseded\":\(r.eventsSuperseded)", "\"files\":\(r.shardFiles)",
                        "\"files_added\":\(r.filesAdded)", "\"files_updated\":\(r.filesUpdated)",
                        "\"rows_added\":{\(rows.joined(separator: ","))}",
                        "\"first_event_time\":" + time(r.firstEventTime), "\"last_event_time\":" + time(r.lastEventTime),
                        "\"days\":[\(r.days.map(JSONText.quoted).joined(separator: ","))]",
                        "\"duration_seconds\":\(rounded(r.seconds))",
                    ]
                    return "{" + fields.joined(separator: ",") + "}"
                }
            }
            let results = merged(outcomes)
            func sum(_ value: (MergeResult) -> Int) -> Int { results.reduce(0) { $0 + value($1) } }
            let fields = [
                "\"shards_merged\":\(results.count)", "\"shards_failed\":\(outcomes.count - results.count)",
                "\"events_added\":\(sum(\.eventsAdded))", "\"duplicates\":\(sum(\.duplicates))",
                "\"events_superseded\":\(sum(\.eventsSuperseded))", "\"files_added\":\(sum(\.filesAdded))",
                "\"files_updated\":\(sum(\.filesUpdated))",
                "\"shards\":[\(shards.joined(separator: ","))]",
                "\"duration_seconds\":\(rounded(seconds))", "\"exit_status\":\(status)",
            ]
            return "{" + fields.joined(separator: ",") + "}\n"
        }
    }
}
