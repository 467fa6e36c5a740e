import Foundation
import GRDB

/// Writes files' ledger rows and events into an open transaction.
///
/// Statements are prepared once and bound through SQLite's C API; ids of keys, principals,
/// objects and the rest are cached, so a run looks each one up in SQLite only the first time.
final class EventWriter {
    let db: Database
    /// `--s3-reads auto`'s buckets known at the start of the run; nil: every S3 read is kept.
    var s3Staging: S3ReadStaging?
    /// S3 reads new to the index in this run.
    var s3ReadsAdded = 0
    private let ledger: LedgerWriter
    /// Inserts the uids of 2^k events (k = 0...5), each statement at index k; `selectUID`
    /// tells, when some were not new, which. A file of CloudTrail's cadence holds a few KMS
    /// events: its 6 go in as 4 and 2, not as 6 statements of one.
    private let insertUIDs: [Statement]
    private let selectUID: Statement
    private static let uidsPerStatement = 32
    private let upsertAlias: Statement
    /// CreateGrant's grantee: rare, written as it comes.
    private let insertGrantee: Statement
    private let insertAddendum: Statement
    /// The tables of distinct values events point into (keys, principals, objects…).
    let dimensions: EventDimensions
    // The writer is used from one thread at a time and no access to these overlaps another,
    // so they go without the run-time exclusivity checks of class properties (a begin and an
    // end of access for each use).
    /// The id the next new event gets (ids are given here, as event_uids is written first).
    @exclusivity(unchecked) private var nextEventID: Int64?
    // Rows of events and event_context, written many to a statement.
    @exclusivity(unchecked) private var pendingEvents: PendingRows<EventsRow>
    @exclusivity(unchecked) private var pendingContext: PendingRows<ContextRow>
    /// Aliases learned since the last flush, by key id and alias, with the first and last time
    /// each was seen: a few pairs, seen in thousands of events (an upsert per event cost
    /// about 8,000 instructions).
    @exclusivity(unchecked) private var pendingAliases: [PendingAlias: AliasSeen] = [:]
    /// When an alias was first and last seen: the times as the events wrote them, compared
    /// by their milliseconds.
    private struct AliasSeen {
        var first: String
        var firstMs: Int64
        var last: String
        var lastMs: Int64
    }
    /// The new events counted for the daily summaries, added to them at each flush.
    private let summaries: SummaryAccumulator
    /// Counted events past which they are added to the summaries before the transaction ends.
    var summaryEventsPerFlush = 8192

    init(db: Database) throws {
        self.db = db
        ledger = try LedgerWriter(db: db)
        // OR IGNORE, not ON CONFLICT DO NOTHING: a statement of many rows that may abort (on a
        // NOT NULL constraint) keeps a journal of the pages it changes (see EventsRow).
        func uidInsert(_ rows: Int) -> String {
            "INSERT OR IGNORE INTO event_uids (event_time, event_uid, event_id) VALUES "
                + Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ", ")
        }
        insertUIDs = try (0...Self.uidsPerStatement.trailingZeroBitCount).map { try db.makeStatement(sql: uidInsert(1 << $0)) }
        selectUID = try db.makeStatement(sql: "SELECT event_id FROM event_uids WHERE event_time = ? AND event_uid = ?")
        pendingEvents = try PendingRows(db)
        summaries = try SummaryAccumulator(db)
        pendingContext = try PendingRows(db)
        insertGrantee = try db.makeStatement(sql: "INSERT OR REPLACE INTO event_grantees (event_id, grantee) VALUES (?, ?)")
        insertAddendum = try db.makeStatement(sql: Addenda.insert)
        upsertAlias = try db.makeStatement(
            sql: """
                INSERT INTO kms_key_aliases (key_id, alias, first_seen, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (key_id, alias) DO UPDATE SET
                    first_seen = \(StoredTime.earlierSQL("excluded.first_seen", "first_seen")),
                    last_seen = \(StoredTime.laterSQL("excluded.last_seen", "last_seen"))
                """)
        dimensions = try EventDimensions(db: db)
    }

    /// Forgets cached ids (after a rollback they may name rows that no longer exist).
    func resetCaches() {
        dimensions.reset()
        nextEventID = nil
        ledger.resetCache()
        pendingEvents.discard()
        pendingContext.discard()
        pendingAliases = [:]
        summaries.discard()
    }

    /// Most ids one generation of a cache keeps between commits. Past it, after a commit, the
    /// cache starts a new generation and drops the one before (two are kept): memory stays
    /// flat however many objects, principals and keys a year of history holds, and what was
    /// met recently stays cached.
    @exclusivity(unchecked) var cacheLimit = 1 << 16
    /// Most bytes one generation of a cache keeps between commits (see `cacheLimit`): a
    /// principal's identity is hundreds of bytes. At 8 MiB, the caches of principals, objects
    /// and context values held 47 MiB more at the peak of 4 months of the year's history, for
    /// no gain in speed (BENCHMARKS.md).
    @exclusivity(unchecked) var cacheByteLimit = 4 << 20

    /// Starts a new generation of the caches past `cacheLimit` ids or `cacheByteLimit` bytes.
    /// Call it after a commit.
    func boundCaches() {
        dimensions.bound(cacheLimit, bytes: cacheByteLimit)
    }

    /// Inserts the rows still pending. Call it before committing, and before reading events
    /// on this connection.
    func flush() throws {
        try flushPendingRows()
        try summaries.flush(db)
        // Every event up to the newest is counted now: this writer counted those it wrote.
        try DailySummaries.setWatermark(db, try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0)
    }

    private func flushPendingRows() throws {
        try pendingEvents.flush(db)
        try pendingContext.flush(db)
        for (alias, seen) in pendingAliases {
            var row = BoundStatement(upsertAlias)
            row.int(alias.keyID)
            row.text(alias.alias)
            row.text(seen.first)
            row.text(seen.last)
            _ = try row.execute(db)
        }
        pendingAliases.removeAll(keepingCapacity: true)
    }

    /// A large file whose events arrive in parts, between its first part and its end. Its
    /// events are provisional: they go if the file fails.
    private struct OpenFile {
        /// Its events: those of this file with a higher id, and those it adopted.
        var watermark: Int64
        var added = 0
        /// Events that another open file wrote first and this one delivered too: when that
        /// file failed, they became this file's.
        var adopted: Set<Int64> = []
        /// Events of this file that other files delivered too (event, that file): not written
        /// again, so they are theirs if this file fails.
        var sharedWith: [(event: Int64, file: Int64)] = []
    }
    /// Open files by ledger id. The caller commits only while there are none (`hasOpenFiles`):
    /// a file is committed whole or not at all, and what fails takes only its own events.
    private var openFiles: [Int64: OpenFile] = [:]
    /// Events that files already written adopted from a file that failed: counted by the
    /// caller in its summary (`takeEventsAdopted`).
    private var eventsAdopted = 0

    var hasOpenFiles: Bool { !openFiles.isEmpty }

    /// Starts a file whose events come in parts; returns its ledger id. Its ledger row says
    /// "interrupted" until the end arrives.
    func open(_ file: InputFile) throws -> Int64 {
        let fileID = try ledger.record(
            file.path,
            LedgerWriter.Entry(
                size: file.size, mtimeNs: file.mtimeNs, outcome: .failed(reason: "interrupted while being read"),
                reason: "interrupted while being read"))
        openFiles[fileID] = OpenFile(watermark: try newEventID() - 1)
        return fileID
    }

    /// Adds a part of an open file's events, emptying `events`.
    func insert(_ events: inout [KMSEvent], intoOpen fileID: Int64) throws {
        let added = try insert(draining: &events, fileID: fileID)
        openFiles[fileID]?.added += added
    }

    /// Events adopted by files already written since the last call (see `eventsAdopted`).
    func takeEventsAdopted() -> Int {
        defer { eventsAdopted = 0 }
        return eventsAdopted
    }

    /// Writes a file's final ledger row and its (remaining) events, emptying `file.events`;
    /// returns how many events of the file were new. A file opened in parts (`opened`, its
    /// ledger id) that did not end well loses the events it added, but for those another file
    /// delivered too, which become that file's. A file that vanished before it was opened
    /// gets no row (`FileResult.vanished`).
    func write(_ file: inout FileResult, opened: Int64? = nil) throws -> Int {
        if file.vanished && opened == nil { return 0 }
        let open = opened.flatMap { openFiles.removeValue(forKey: $0) }
        if let opened, let open, file.outcome != .ingested {
            try flush()
            try handOver(open.sharedWith, from: opened)
            let arguments: StatementArguments = ["file": opened, "mark": open.watermark]
            var added = "SELECT id FROM events WHERE source_file_id = :file AND id > :mark"
            if !open.adopted.isEmpty {
                try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS adopted_events (id INTEGER PRIMARY KEY)")
                try db.execute(sql: "DELETE FROM temp.adopted_events")
                let insertAdopted = try db.makeStatement(sql: "INSERT INTO temp.adopted_events (id) VALUES (?)")
                for id in open.adopted { try insertAdopted.execute(arguments: [id]) }
                added += " UNION ALL SELECT id FROM events WHERE source_file_id = :file AND id IN temp.adopted_events"
            }
            // The file's events are in the daily summaries: their days are counted again.
            let times = try Row.fetchOne(
                db, sql: "SELECT min(event_time), max(event_time) FROM events WHERE id IN (\(added))", arguments: arguments)
            try db.execute(sql: "DELETE FROM event_context WHERE event_id IN (\(added))", arguments: arguments)
            try db.execute(sql: "DELETE FROM event_grantees WHERE event_id IN (\(added))", arguments: arguments)
            try db.execute(sql: "DELETE FROM event_addenda WHERE event_id IN (\(added))", arguments: arguments)
            try db.execute(
                sql: """
                    DELETE FROM event_uids WHERE event_id IN (\(added))
                        AND event_time IN (SELECT event_time FROM events WHERE id IN (\(added)))
                    """, arguments: arguments)
            try UnreferencedRows.note(db, events: added, arguments: arguments)
            try db.execute(sql: "DELETE FROM events WHERE id IN (\(added))", arguments: arguments)
            nextEventID = nil
            if let first = times?[0] as Int64?, let last = times?[1] as Int64? {
                try DailySummaries.recount(db, days: DailySummaries.day(ofMilliseconds: first)...DailySummaries.day(ofMilliseconds: last))
            }
        }
        var reason = file.outcome.reason
        if file.outcome == .ingested, file.malformedCount > 0 {
            reason =
                "\(file.malformedCount) malformed \(file.otherMalformedCount > 0 ? "" : "KMS ")record(s): "
                + file.malformed.prefix(3).map { "record \($0.index): \($0.reason)" }.joined(separator: "; ")
        }
        // The events name the file's row before it is written: it is written once, with their count.
        let slot = try ledger.slot(file.path)
        var added = file.outcome == .ingested ? open?.added ?? 0 : 0
        added += try insert(draining: &file.events, fileID: slot.id)
        if file.outcome == .ingested, !file.s3Reads.isEmpty || !file.s3NotedBuckets.isEmpty {
            try writeS3Reads(&file.s3Reads, noted: file.s3NotedBuckets, fileID: slot.id, staging: s3Staging)
        }
        try ledger.write(
            slot,
            LedgerWriter.Entry(
                size: file.size, mtimeNs: file.mtimeNs, outcome: file.outcome, reason: reason, records: file.records,
                kmsRecords: file.kmsRecords, malformedRecords: file.malformedCount,
                uncompressedBytes: file.uncompressedBytes, contentSHA256: file.contentSHA256, fileSHA256: file.fileSHA256,
                eventsAdded: added))
        return added
    }

    /// SQL: the last event id given out: the largest in `events`, or the summaries' watermark
    /// when a superseded event above it was removed (`Addenda`). An id is never given twice,
    /// so a mark past it (the findings') never hides a later event.
    static func lastEventIDSQL(schema: String = "main") -> String {
        """
        max(ifnull((SELECT max(id) FROM \(schema).events), 0),
            ifnull((SELECT last_event_id FROM \(schema).summary_state WHERE id = 1), 0))
        """
    }

    private func newEventID() throws -> Int64 {
        if let id = nextEventID { return id }
        let id = try Int64.fetchOne(db, sql: "SELECT \(Self.lastEventIDSQL()) + 1") ?? 1
        nextEventID = id
        return id
    }

    /// Inserts events not indexed yet, in order, emptying `events`; returns how many were new.
    private func insert(draining events: inout [KMSEvent], fileID: Int64) throws -> Int {
        // Each event is moved out of the array, written, and dropped: reading events in place
        // copied each one (retaining, then releasing, every one of its strings). popLast takes
        // them in order once the array is reversed, through its buffer: Array.reverse copies
        // the elements it swaps, a buffer's swapAt moves them.
        events.withUnsafeMutableBufferPointer { $0.reverse() }
        var added = 0
        while !events.isEmpty {
            // The next events' uids go in first, many to a statement (a statement per event
            // cost more than its insert); the events whose uid was added are new, the others
            // duplicates, whose ids then stay unused.
            // The largest power of two that fits.
            let count = 1 << (Int.bitWidth - 1 - min(Self.uidsPerStatement, events.count).leadingZeroBitCount)
            let first = try newEventID()
            let isNew = try insertUIDs(of: events, count: count, firstID: first, fileID: fileID)
            for k in 0..<count {
                let event = events.popLast()!
                if isNew & (1 << UInt64(k)) != 0 {
                    try insert(event, id: first + Int64(k), fileID: fileID)
                    added += 1
                }
            }
            nextEventID = first + Int64(count)
        }
        // Counts are added to the summaries a few thousand events at a time, not only at a
        // commit: the parsers work on meanwhile, where the commit of a run's last events
        // would add them all while nothing else runs (tenths of a second on a churning tree).
        if summaries.eventsCounted >= summaryEventsPerFlush { try summaries.flush(db) }
        return added
    }

    /// Inserts the uids of the last `count` events of `events` (taken from the end), with ids
    /// from `firstID` on; bit k of the result is set when the k-th of them was new.
    private func insertUIDs(of events: [KMSEvent], count: Int, firstID: Int64, fileID: Int64) throws -> UInt64 {
        var isNew: UInt64 = 0
        try events.withUnsafeBufferPointer { buffer in
            /// Binds the k-th event's uid (its time and id), read in place.
            func bindUID(_ row: inout BoundStatement, _ k: Int) {
                let e = buffer.baseAddress! + (buffer.count - 1 - k)
                row.int(e.pointee.eventTimeMs)
                row.uid(e.pointee.eventID)
            }
            var row = BoundStatement(insertUIDs[count.trailingZeroBitCount])
            for k in 0..<count {
                bindUID(&row, k)
                row.int(firstID + Int64(k))
            }
            // Nearly always all new. Otherwise the stored ids tell which were: a duplicate has
            // another event's id, be it from before or from earlier in this batch.
            if try row.execute(db) == count { isNew = ~0 >> UInt64(64 - count); return }
            for k in 0..<count {
                var query = BoundStatement(selectUID)
                bindUID(&query, k)
                guard let stored = try query.fetchInt64(db) else { continue }
                if stored == firstID + Int64(k) {
                    isNew |= 1 << UInt64(k)
                } else if !openFiles.isEmpty, stored < firstID {
                    try noteShared(stored, with: fileID)
                }
            }
        }
        return isNew
    }

    /// Notes that file `fileID` delivered event `id` too, when that event is an open file's:
    /// should that file fail, the event stays, as `fileID`'s.
    private func noteShared(_ id: Int64, with fileID: Int64) throws {
        try pendingEvents.flush(db)
        guard let owner = try Int64.fetchOne(db, sql: "SELECT source_file_id FROM events WHERE id = ?", arguments: [id]),
            owner != fileID, let open = openFiles[owner], id > open.watermark || open.adopted.contains(id)
        else { return }
        openFiles[owner]?.sharedWith.append((id, fileID))
    }

    /// Hands a failing open file's events that other files delivered too over to the first of
    /// those files still standing (open, or written as ingested).
    private func handOver(_ shared: [(event: Int64, file: Int64)], from failing: Int64) throws {
        for (id, file) in shared {
            if openFiles[file] == nil {
                let outcome = try Int64.fetchOne(db, sql: "SELECT outcome FROM ledger_files WHERE id = ?", arguments: [file])
                guard outcome == FileOutcome.ingested.code else { continue }
            }
            try db.execute(
                sql: "UPDATE events SET source_file_id = ? WHERE id = ? AND source_file_id = ?", arguments: [file, id, failing])
            guard db.changesCount == 1 else { continue }
            if openFiles[file] != nil {
                openFiles[file]!.adopted.insert(id)
                openFiles[file]!.added += 1
            } else {
                try db.execute(sql: "UPDATE ledger_files SET events_added = events_added + 1 WHERE id = ?", arguments: [file])
                eventsAdopted += 1
            }
        }
    }

    /// Writes a new event, whose uid is stored with `id`.
    private func insert(_ e: KMSEvent, id: Int64, fileID: Int64) throws {
        let time = e.eventTimeMs
        // Optional values go to the dimension lookups without `map`: its closures cost a retain
        // and a release of the writer and of the string for every value.
        var row = EventsRow(id: id, time: time, fileID: fileID)
        row.eventName = try dimensions.string(e.eventName)
        row.region = try dimensions.string(e.awsRegion)
        row.recipientAccount = try dimensions.string(e.recipientAccountID)
        row.key = try dimensions.key(e.keyARN)
        row.sourceKey = try dimensions.key(e.sourceKeyARN)
        row.requestedKey = try dimensions.string(e.requestedKey)
        row.principal = try dimensions.principal(e.principal)
        row.object = try dimensions.object(e.s3ARN)
        row.trail = try dimensions.trail(e.trailARN)
        if let ip = e.sourceIPAddress {
            if let packed = StoredAddress.ipv4(ip) {
                row.packedSourceIP = packed
            } else if StoredAddress.isName(ip) {
                row.sourceName = try dimensions.string(ip)
            } else {
                row.sourceIP = ip
            }
        }
        row.userAgent = try dimensions.userAgent(e.userAgent)
        row.errorCode = try dimensions.string(e.errorCode)
        row.errorMessage = e.errorMessage
        row.requestID = e.requestID
        row.sharedEventID = e.sharedEventID
        row.readOnly = e.readOnly
        row.eventType = try dimensions.string(e.eventType)
        var delivery: String?
        // CloudTrail's own call (`DailySummaries.deliveredSQL`): by a service, which CloudTrail
        // names where it would give an address, and successful.
        if row.trail != nil, e.eventName == "GenerateDataKey", e.errorCode == nil, row.sourceName != nil, let arn = e.s3ARN {
            let location = S3Location(arn: arn)
            if location.kind == .object { delivery = S3ObjectSQL.split(arn: arn, location).key }
        }
        summaries.add(e, row, delivery: delivery)
        try pendingEvents.append(row, db)
        for pair in e.otherContext {
            try pendingContext.append(
                ContextRow(
                    eventRowID: id, scope: Int64(pair.scope.rawValue),
                    name: try dimensions.contextName(pair.name), value: try dimensions.contextValue(pair.value)), db)
        }
        if let grantee = e.granteePrincipal {
            try insertGrantee.execute(arguments: [id, grantee])
        }
        if let addendum = e.addendum {
            try insertAddendum.execute(arguments: [
                id, addendum.reason, addendum.updatedFields, addendum.originalRequestID?.storedValue,
                addendum.originalEventID?.storedValue,
            ])
        }
        for (alias, keyARN) in e.aliases {
            let pair = PendingAlias(keyID: try dimensions.key(keyARN), alias: alias)
            let (time, ms) = (e.eventTime, e.eventTimeMs)
            guard var seen = pendingAliases[pair] else {
                pendingAliases[pair] = AliasSeen(first: time, firstMs: ms, last: time, lastMs: ms)
                continue
            }
            if ms < seen.firstMs { (seen.first, seen.firstMs) = (time, ms) }
            if ms > seen.lastMs { (seen.last, seen.lastMs) = (time, ms) }
            pendingAliases[pair] = seen
        }
    }
}
