import Foundation
import GRDB

/// How an ingest runs.
package struct IngestOptions: Sendable {
    /// Files and folders to read (folders recursively).
    package var paths: [String]
    /// Largest decompressed size accepted per file.
    package var maxFileBytes = 2 << 30
    /// Threads that decompress and parse; the calling thread writes.
    package var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// How many nice values the parsing threads run below the writer. Where most records are
    /// KMS events the single writer is the bottleneck, and on two cores it shared them with
    /// two parsers, each thread getting two thirds of a core; a few steps lower, the parsers
    /// leave the writer a whole core and run in what it leaves: a month of the year's tree 6%
    /// faster (BENCHMARKS.md). 5, because CFS weighs a thread of nice 5 at a third of one of
    /// nice 0: enough for that, and parsers still get their share beside other work. The
    /// writer's own priority is not raised (that needs privileges).
    package var parserNiceness: Int32 = 5
    /// A transaction is committed after this many files, events or seconds, whichever first.
    /// Each commit writes every page it changed (index pages, a day's summaries) again, so a
    /// commit per few hundred of CloudTrail's small files wrote the index many times over.
    package var filesPerTransaction = 20_000
    package var eventsPerTransaction = 100_000
    package var secondsPerTransaction = 2.0
    /// Most ids the writer keeps cached per generation of a dimension table's cache (objects,
    /// principals…) between commits; past it the cache starts a new generation and drops the
    /// one before, so memory does not grow with history.
    package var idCacheLimit = 1 << 16
    /// New events the writer counts before adding them to the daily summaries, within a
    /// transaction (see `EventWriter.summaryEventsPerFlush`).
    package var summaryEventsPerFlush = 8192
    /// Tables of at least this many rows get a filter of the ranges below the one new rows go
    /// in (`LookupFilters`): at the end of a run that finds it missing, or when a run starts a
    /// range.
    package var lookupFilterMinimumRows = LookupFilters.defaultMinimumRows
    /// A large file's events go to the writer in parts of this many (memory stays flat).
    package var eventsPerPart = 4096
    /// Parsed events that may wait for the writer. While it updates its summaries (tenths of
    /// a second on a churning tree) or writes a checkpoint into a large index (seconds), the
    /// parsers go on with the next files: with 8,192, the year's ingest ran 1.1 cores, not 1.6.
    package var eventsWaiting = 32_768
    /// Delivery days to read (`--since`/`--until`); nil reads every folder.
    package var days: DeliveryDays?
    /// Count the files first, so that progress can show a total and an ETA.
    package var countFilesForProgress = false
    /// Hash each file's decompressed content (`--content-sha256`) as well as its bytes.
    package var hashContent = false
    /// Which reads of S3 objects to keep from S3 data events.
    package var s3Reads: S3ReadMode = .none
    /// Read the largest waiting file first (see `run`); false reads files in the order
    /// listed, which with one job lets tests choose the order.
    package var largestFirst = true
    /// Threads that have files read from disk before a parser opens them (`ReadAhead`); 0
    /// reads each file only when it is parsed.
    package var readAheadThreads = 4

    package init(paths: [String]) {
        self.paths = paths
    }
}

/// Something a person should hear about during an ingest.
package enum IngestDiagnostic: Sendable {
    /// A file was recorded as failed; the rest goes on.
    case fileFailed(path: String, reason: String)
    /// A log file was indexed, but some KMS records in it could not be used.
    case malformedRecords(path: String, count: Int, examples: [MalformedRecord])
}

/// What parsing threads hand to the writer: parts of a large file's events, then each file's end.
enum ParsedPiece: Sendable {
    case part(InputFile, [KMSEvent])
    case done(FileResult)

    /// What the piece weighs in the writer's queue: its events, and one for the piece itself.
    var eventCount: Int {
        switch self {
        case .part(_, let events): 1 + events.count
        case .done(let result): 1 + result.events.count + result.s3Reads.count
        }
    }
}

/// How far an ingest is, for progress displays.
package struct IngestProgress: Sendable {
    /// Files written or found unchanged so far.
    package var filesDone: Int
    /// Files to do in all, once counted (with `countFilesForProgress`).
    package var filesTotal: Int?
    package var bytesRead: Int
    package var eventsAdded: Int
    package var elapsed: Double
}

/// What an ingest did.
package struct IngestSummary: Sendable, Equatable {
    /// Files found that were read, or looked up in the ledger.
    package var filesSeen = 0
    /// Files already in the ledger with the same size and modification time: not read.
    package var filesUnchanged = 0
    package var filesIngested = 0
    /// Files skipped, by reason (digest files, Insights files, non-log JSON...).
    package var skippedByReason: [String: Int] = [:]
    package var failed: [String: String] = [:]
    /// KMS records read from the files read in this run.
    package var kmsRecords = 0
    /// KMS events new to the index.
    package var eventsAdded = 0
    /// KMS records rejected as malformed.
    package var malformedRecords = 0
    /// Uncompressed bytes read.
    package var bytesRead = 0
    /// Reads of S3 objects new to the index (`--s3-reads`).
    package var s3ReadsAdded = 0
    /// Events removed because an update (`addendum.reason` UPDATED_DATA) in the index supersedes
    /// them: the update of an event already held, or an event whose update was already held.
    package var eventsSuperseded = 0

    package var filesSkipped: Int { skippedByReason.values.reduce(0, +) }
    package var filesFailed: Int { failed.count }
    /// KMS records that were already indexed (duplicate deliveries, or overlapping files).
    package var duplicates: Int { kmsRecords - (malformedRecords - otherMalformedRecords) - eventsAdded }
    /// Records rejected as malformed that are not KMS records (also in `malformedRecords`): S3
    /// reads, and records that are not JSON objects.
    package var otherMalformedRecords = 0

    package init() {}
}

/// An ingest stopped by an error of the index (a full disk, a failing one…). What its
/// transactions committed before it is kept, and not read again by the next run; the rest
/// was rolled back.
package struct IngestInterrupted: Error, CustomStringConvertible {
    /// What the run had committed when it stopped.
    package var committed: IngestSummary
    package var error: any Error
    package var description: String { "\(error)" }
}

/// Reads CloudTrail files into the index: walk, read and parse on worker threads, write in
/// batched transactions on the calling thread.
///
/// A file's ledger row and its events are always committed in the same transaction, so a
/// run killed at any moment leaves either all of a file or none of it.
package final class Ingester {
    package let database: IndexDatabase
    package let options: IngestOptions

    package init(database: IndexDatabase, options: IngestOptions) {
        self.database = database
        self.options = options
    }

    /// Runs the ingest. Throws only for database errors (`IngestInterrupted` once writing
    /// started); bad files are in the summary.
    /// `progress` is called on the calling thread after each file written.
    package func run(
        diagnostic: (IngestDiagnostic) -> Void = { _ in },
        progress: ((IngestProgress) -> Void)? = nil
    ) throws -> IngestSummary {
        let started = Date()
        // Largest files first, among those listed: a large file read last kept one core busy
        // while the other had nothing left (about 0.2 s of the 1 GB benchmark's 3 s).
        let pending = BoundedQueue<InputFile>(capacity: 256, largestFirst: options.largestFirst ? { Int($0.size) } : nil)
        let results = BoundedQueue<ParsedPiece>(capacity: options.eventsWaiting, cost: \.eventCount)
        let partGate = PartGate()
        let notes = NoteCollector()
        let ledger = try LedgerReader(path: database.path)

        let databasePath = InputWalker.absolute(database.path)
        let ownFiles = Set(["", "-wal", "-shm", "-journal", ".lock"].map { databasePath + $0 })
        // The walk (stat of every file: kernel time) and the ledger look-ups (SQLite) run on two
        // threads: on a re-run of an unchanged tree they are all the work, and overlap.
        // Files are looked up a batch at a time, in one read transaction: one per file took and
        // released SQLite's lock each time.
        let found = BoundedQueue<[InputFile]>(capacity: 8)
        // On two cores or more the walk itself runs on two threads, which take the tree's
        // folders one at a time: stat'ing every file was the longest of the threads of a re-run,
        // and folders differ in size (a digest folder holds a tenth of a log folder's files).
        let (paths, walk) = InputWalker(excluded: ownFiles, days: options.days).parts(options.paths, count: min(2, options.jobs))
        let visited = InputWalker.VisitedFolders()
        let roots = walk.claim(paths, in: visited)
        let rootsLeft = BoundedQueue<String>(capacity: max(1, roots.count))
        for root in roots { _ = rootsLeft.push(root) }
        rootsLeft.close()
        let walkers = max(1, min(2, options.jobs, roots.count))
        let walkersLeft = Counter(walkers)
        for _ in 0..<walkers {
            Thread {
                var batch: [InputFile] = []
                do {
                    while let root = rootsLeft.pop() {
                        try walk.walk(
                            [root], visited: visited, claimed: true,
                            visit: { file in
                                batch.append(file)
                                if batch.count == LedgerReader.batchSize {
                                    guard found.push(batch) else { throw CancellationError() }
                                    batch = []
                                }
                            },
                            note: { note in
                                switch note {
                                case let .skipped(_, reason): notes.skipped(reason)
                                case let .failed(path, reason):
                                    results.push(.done(FileResult(path: path, size: 0, mtimeNs: 0, outcome: .failed(reason: reason))))
                                }
                            })
                    }
                    if !batch.isEmpty { found.push(batch) }
                } catch {}
                if walkersLeft.decrement() == 0 { found.close() }
            }.start()
        }
        let readAhead = options.readAheadThreads > 0 ? ReadAhead(threads: options.readAheadThreads) : nil
        let lookUp = Thread {
            var stopped = false
            lookUps: while let batch = found.pop() {
                let changed = zip(batch, ledger.areUnchanged(batch)).compactMap { file, unchanged in
                    if unchanged { notes.unchanged() }
                    return unchanged ? nil : file
                }
                for (k, file) in changed.enumerated() {
                    if k % ReadAhead.groupSize == 0 {
                        readAhead?.add(Array(changed[k..<min(changed.count, k + ReadAhead.groupSize)]))
                    }
                    if !pending.push(file) {
                        stopped = true
                        break lookUps
                    }
                }
            }
            // Stopped early (the writer failed): the walk stops at its next batch.
            found.close()
            while found.pop() != nil {}
            pending.close()
            if stopped { readAhead?.cancel() } else { readAhead?.finish() }
        }
        lookUp.start()

        let knownS3Buckets = KnownS3Buckets(indexPath: database.path)
        let workersLeft = Counter(options.jobs)
        for _ in 0..<max(1, options.jobs) {
            let parser = {
                var parser = FileParser(maxFileBytes: options.maxFileBytes, partSize: options.eventsPerPart)
                parser.s3Reads = options.s3Reads
                parser.hashContent = options.hashContent
                if options.s3Reads == .auto { parser.knownS3Buckets = knownS3Buckets }
                return parser
            }()
            Thread { [options] in
                ThreadPriority.lowerCurrentThread(by: options.parserNiceness)
                let window = ByteWindow()
                let strings = StringInterner()
                while let file = pending.pop() {
                    readAhead?.taken(file)
                    var started = false
                    let result = parser.parse(file, window: window, strings: strings) { part in
                        if !started {
                            partGate.waitUntilOpen()
                            started = true
                        }
                        results.push(.part(file, consume part))
                    }
                    if !results.push(.done(consume result)) { break }
                }
                if workersLeft.decrement() == 0 { results.close() }
            }.start()
        }

        if options.countFilesForProgress {
            Thread { [options] in
                var n = 0
                try? InputWalker(excluded: ownFiles, days: options.days).walk(options.paths, visit: { _ in n += 1 }, note: { _ in })
                notes.setTotal(n)
            }.start()
        }

        var summary = IngestSummary()
        let report = progress.map { callback in
            { (summary: IngestSummary) in
                callback(
                    IngestProgress(
                        filesDone: summary.filesSeen + notes.unchangedCount, filesTotal: notes.total,
                        bytesRead: summary.bytesRead, eventsAdded: summary.eventsAdded,
                        elapsed: Date().timeIntervalSince(started)))
            }
        }
        // The read-ahead's threads end with the run, even where parsers stopped before taking
        // every file queued (they wait for the parsers to take them).
        defer { readAhead?.cancel() }
        do {
            try write(results, partGate: partGate, into: &summary, diagnostic: diagnostic, progress: report)
        } catch {
            pending.close()
            results.close()
            while results.pop() != nil {}
            throw error
        }
        summary.filesUnchanged = notes.unchangedCount
        for (reason, n) in notes.skippedCounts {
            summary.skippedByReason[reason, default: 0] += n
            summary.filesSeen += n
        }
        summary.filesSeen += summary.filesUnchanged
        return summary
    }

    private func write(
        _ results: BoundedQueue<ParsedPiece>, partGate: PartGate, into summary: inout IngestSummary,
        diagnostic: (IngestDiagnostic) -> Void, progress: ((IngestSummary) -> Void)?
    ) throws {
        try database.queue.writeWithoutTransaction { db in
            let writer = try EventWriter(db: db)
            writer.cacheLimit = options.idCacheLimit
            writer.summaryEventsPerFlush = options.summaryEventsPerFlush
            writer.dimensions.ranges.filterMinimumRows = options.lookupFilterMinimumRows
            if options.s3Reads == .auto { writer.s3Staging = S3ReadStaging() }
            var filesInBatch = 0
            var eventsInBatch = 0
            var batchStart = Date()
            var inTransaction = false
            // Large files arrive in parts; their ledger rows say "interrupted" until they end.
            var openFiles: [String: Int64] = [:]
            var committed = summary
            // Parsers wait at a large file's first part while a commit waits for open files.
            defer { partGate.open() }
            do {
                while let piece = results.pop() {
                    if !inTransaction {
                        try db.beginTransaction(.immediate)
                        inTransaction = true
                        batchStart = Date()
                    }
                    // The piece is consumed so that its events array is not shared: the writer
                    // moves the events out of it one by one.
                    switch consume piece {
                    case .part(let file, var events):
                        let fileID = try openFiles[file.path] ?? writer.open(file)
                        openFiles[file.path] = fileID
                        eventsInBatch += events.count
                        try writer.insert(&events, intoOpen: fileID)
                    case .done(var result):
                        eventsInBatch += result.events.count
                        let added = try writer.write(&result, opened: openFiles.removeValue(forKey: result.path))
                        account(result, added: added, into: &summary, diagnostic: diagnostic)
                        summary.eventsAdded += writer.takeEventsAdopted()
                        progress?(summary)
                        filesInBatch += 1
                    }
                    if filesInBatch >= options.filesPerTransaction || eventsInBatch >= options.eventsPerTransaction
                        || Date().timeIntervalSince(batchStart) >= options.secondsPerTransaction
                    {
                        // A file read in parts is committed whole or not at all: the commit
                        // waits for the open ones to end (and those whose parts already wait in
                        // the queue), and parsers start no other meanwhile.
                        guard !writer.hasOpenFiles else {
                            partGate.close()
                            continue
                        }
                        partGate.open()
                        try writer.flush()
                        try db.commit()
                        committed = summary
                        writer.boundCaches()
                        inTransaction = false
                        filesInBatch = 0
                        eventsInBatch = 0
                    }
                }
                if options.s3Reads == .auto {
                    // Decided once every KMS event of the run is written and counted.
                    if !inTransaction {
                        try db.beginTransaction(.immediate)
                        inTransaction = true
                    }
                    try writer.flush()
                    try S3ReadStaging.resolve(db, writer: writer, parser: FileParser(maxFileBytes: options.maxFileBytes))
                }
                // Events an update supersedes (`Addenda`), whichever of the two came first.
                if try Addenda.anyUpdate(db) {
                    if !inTransaction {
                        try db.beginTransaction(.immediate)
                        inTransaction = true
                    }
                    try writer.flush()
                    summary.eventsSuperseded = try Addenda.removeSuperseded(db)
                }
                // What only removed events named (superseded, or of a file that failed after
                // some of its parts were written), now that no event is written any more.
                if try UnreferencedRows.anyNoted(db) {
                    if !inTransaction {
                        try db.beginTransaction(.immediate)
                        inTransaction = true
                    }
                    try UnreferencedRows.remove(db)
                }
                // The filters this run deleted (or that were never built) are built again, for the
                // range the next run adds to, and committed with the run's last rows.
                let minimumRows = options.lookupFilterMinimumRows
                if !inTransaction, try !LookupFilters.missing(db, minimumRows: minimumRows).isEmpty {
                    try db.beginTransaction(.immediate)
                    inTransaction = true
                }
                if inTransaction {
                    try writer.flush()
                    try LookupFilters.refresh(db, minimumRows: minimumRows)
                    try db.commit()
                }
                summary.s3ReadsAdded = writer.s3ReadsAdded
            } catch {
                if inTransaction { try? db.rollback() }
                writer.resetCaches()
                throw IngestInterrupted(committed: committed, error: error)
            }
        }
    }

    private func account(
        _ result: FileResult, added: Int, into summary: inout IngestSummary,
        diagnostic: (IngestDiagnostic) -> Void
    ) {
        summary.filesSeen += 1
        summary.bytesRead += result.uncompressedBytes ?? 0
        switch result.outcome {
        case .ingested:
            summary.filesIngested += 1
            summary.kmsRecords += result.kmsRecords
            summary.eventsAdded += added
            summary.malformedRecords += result.malformedCount
            summary.otherMalformedRecords += result.otherMalformedCount
            if result.malformedCount > 0 {
                diagnostic(.malformedRecords(path: result.path, count: result.malformedCount, examples: result.malformed))
            }
        case .skipped(let reason):
            summary.skippedByReason[reason, default: 0] += 1
        case .failed(let reason):
            summary.failed[result.path] = reason
            diagnostic(.fileFailed(path: result.path, reason: reason))
        }
    }
}

/// Counts kept by the walker thread and read once the walk is over.
final class NoteCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var unchangedFiles = 0
    private var counted: Int?
    private(set) var skippedCounts: [String: Int] = [:]

    var unchangedCount: Int { lock.withLock { unchangedFiles } }
    var total: Int? { lock.withLock { counted } }
    func setTotal(_ n: Int) { lock.withLock { counted = n } }
    func unchanged() { lock.withLock { unchangedFiles += 1 } }
    func skipped(_ reason: String) { lock.withLock { skippedCounts[reason, default: 0] += 1 } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(_ value: Int) { self.value = max(1, value) }
    func decrement() -> Int {
        lock.withLock {
            value -= 1; return value
        }
    }
}
