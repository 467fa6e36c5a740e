import Foundation
import GRDB

/// What became of one source file.
package enum FileOutcome: Equatable, Sendable {
    case ingested
    case skipped(reason: String)
    case failed(reason: String)

    package var name: String {
        switch self {
        case .ingested: return "ingested"
        case .skipped: return "skipped"
        case .failed: return "failed"
        }
    }

    package var reason: String? {
        switch self {
        case .ingested: return nil
        case .skipped(let r), .failed(let r): return r
        }
    }
}

/// A file read by ingest, ready to be written: its ledger row and its KMS events.
package struct FileResult: Sendable {
    package var path: String
    package var size: Int64
    package var mtimeNs: Int64
    package var outcome: FileOutcome
    package var records = 0
    package var kmsRecords = 0
    package var malformedCount = 0
    package var malformed: [MalformedRecord] = []
    package var uncompressedBytes: Int?
    /// SHA-256 of the decompressed content, when it was read to the end.
    package var contentSHA256: String?
    package var events: [KMSEvent] = []
    /// Reads of S3 objects from S3 data events (`--s3-reads`).
    package var s3Reads: [S3ReadEvent] = []
    /// `--s3-reads auto`: buckets of S3 reads not built, as their bucket was not known to
    /// count when the file was read (see `S3ReadStaging`).
    package var s3NotedBuckets: Set<String> = []
    /// S3 read records that could not be used (counted in `malformedCount` too).
    package var s3MalformedCount = 0

    package init(path: String, size: Int64, mtimeNs: Int64, outcome: FileOutcome) {
        self.path = path
        self.size = size
        self.mtimeNs = mtimeNs
        self.outcome = outcome
    }
}

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
    private let upsertFile: Statement
    /// Inserts the uids of one event, or of `uidsPerStatement`; `selectUID` tells, when some
    /// were not new, which.
    private let insertUID: Statement
    private let insertUIDs: Statement
    private let selectUID: Statement
    private static let uidsPerStatement = 32
    private let upsertAlias: Statement
    /// CreateGrant's grantee: rare, written as it comes.
    private let insertGrantee: Statement
    private let keys: DimensionTable
    private let trails: DimensionTable
    private let objects: DimensionTable
    private let buckets: DimensionTable
    private let strings: DimensionTable
    private let userAgents: DimensionTable
    private let contextNames: DimensionTable
    private let contextValues: DimensionTable
    private let principals: DimensionTable
    // Ids of dimension rows already stored.
    private let keyIDs = TextIDCache()
    private let trailIDs = TextIDCache()
    private let objectIDs = TextIDCache()
    private let bucketIDs = TextIDCache()
    private let userAgentIDs = TextIDCache()
    private let contextNameIDs = TextIDCache()
    private let contextValueIDs = TextIDCache()
    private let stringIDs = TextIDCache()
    private let principalIDs = TextIDCache()
    // The writer is used from one thread at a time and no access to these overlaps another,
    // so they go without the run-time exclusivity checks of class properties (a begin and an
    // end of access for each lookup).
    @exclusivity(unchecked) private var identityBytes: [UInt8] = []
    /// The id the next new event gets (ids are given here, as event_uids is written first).
    @exclusivity(unchecked) private var nextEventID: Int64?
    // Rows of events and event_context, written many to a statement.
    @exclusivity(unchecked) private var pendingEvents: PendingRows<EventsRow>
    @exclusivity(unchecked) private var pendingContext: PendingRows<ContextRow>
    /// Aliases learned since the last flush, by key id and alias, with the first and last time
    /// each was seen: a few pairs, seen in thousands of events (an upsert per event cost
    /// about 8,000 instructions).
    @exclusivity(unchecked) private var pendingAliases: [PendingAlias: (first: String, last: String)] = [:]
    /// The new events counted for the daily summaries, added to them at each flush.
    private let summaries: SummaryAccumulator

    init(db: Database) throws {
        self.db = db
        upsertFile = try db.makeStatement(sql: """
            INSERT INTO source_files (path, size, mtime_ns, outcome, reason, records, kms_events,
                                      events_added, malformed_records, uncompressed_bytes, content_sha256, read_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            ON CONFLICT (path) DO UPDATE SET
                size = excluded.size, mtime_ns = excluded.mtime_ns, outcome = excluded.outcome,
                reason = excluded.reason, records = excluded.records, kms_events = excluded.kms_events,
                events_added = 0, malformed_records = excluded.malformed_records,
                uncompressed_bytes = excluded.uncompressed_bytes, content_sha256 = excluded.content_sha256,
                read_at = excluded.read_at
            RETURNING id
            """)
        // OR IGNORE, not ON CONFLICT DO NOTHING: a statement of many rows that may abort (on a
        // NOT NULL constraint) keeps a journal of the pages it changes (see EventsRow).
        func uidInsert(_ rows: Int) -> String {
            "INSERT OR IGNORE INTO event_uids (event_time, event_uid, event_id) VALUES "
                + Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ", ")
        }
        insertUID = try db.makeStatement(sql: uidInsert(1))
        insertUIDs = try db.makeStatement(sql: uidInsert(Self.uidsPerStatement))
        selectUID = try db.makeStatement(sql: "SELECT event_id FROM event_uids WHERE event_time = ? AND event_uid = ?")
        pendingEvents = try PendingRows(db)
        summaries = try SummaryAccumulator(db)
        pendingContext = try PendingRows(db)
        insertGrantee = try db.makeStatement(sql: "INSERT OR REPLACE INTO event_grantees (event_id, grantee) VALUES (?, ?)")
        upsertAlias = try db.makeStatement(sql: """
            INSERT INTO kms_key_aliases (key_id, alias, first_seen, last_seen) VALUES (?, ?, ?, ?)
            ON CONFLICT (key_id, alias) DO UPDATE SET
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen)
            """)
        keys = try DimensionTable(db, table: "kms_keys", select: "SELECT id FROM kms_keys WHERE arn = ?",
                                  insert: "INSERT INTO kms_keys (arn, account_id, region, key_id) VALUES (?, ?, ?, ?)")
        trails = try DimensionTable(db, table: "trails", select: "SELECT id FROM trails WHERE arn = ?",
                                    insert: "INSERT INTO trails (arn, account_id, region, name) VALUES (?, ?, ?, ?)")
        objects = try DimensionTable(db, table: "s3_objects", select: "SELECT id FROM s3_objects WHERE key_hash IS ? AND key IS ? AND bucket_id IS ?",
                                     insert: "INSERT INTO s3_objects (kind, bucket_id, key, key_hash) VALUES (?, ?, ?, ?)")
        buckets = try DimensionTable(db, table: "s3_buckets", select: "SELECT id FROM s3_buckets WHERE arn = ?",
                                     insert: "INSERT INTO s3_buckets (arn, name) VALUES (?, ?)")
        strings = try DimensionTable(db, table: "strings", select: "SELECT id FROM strings WHERE text = ?",
                                     insert: "INSERT INTO strings (text) VALUES (?)")
        userAgents = try DimensionTable(db, table: "user_agents", select: "SELECT id FROM user_agents WHERE text = ?",
                                        insert: "INSERT INTO user_agents (text) VALUES (?)")
        contextNames = try DimensionTable(db, table: "context_names", select: "SELECT id FROM context_names WHERE name = ?",
                                          insert: "INSERT INTO context_names (name) VALUES (?)")
        contextValues = try DimensionTable(db, table: "context_values", select: "SELECT id FROM context_values WHERE value = ?",
                                           insert: "INSERT INTO context_values (value) VALUES (?)")
        principals = try DimensionTable(db, table: "principals", select: """
            SELECT id FROM principals WHERE identity_hash = ?
            \(Self.principalFields.map { "AND coalesce(\($0), '') = coalesce(?, '')" }.joined(separator: " "))
            """, insert: """
            INSERT INTO principals (identity_hash, type, arn, account_id, principal_id, user_name, role_arn,
                session_name, invoked_by, access_key_id, source_identity, credential_from_console)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
    }

    /// Forgets cached ids (after a rollback they may name rows that no longer exist).
    func resetCaches() {
        for table in [keys, trails, objects, buckets, strings, userAgents, contextNames, contextValues, principals] {
            table.onlyOwnRows = false
        }
        keyIDs.removeAll()
        trailIDs.removeAll()
        objectIDs.removeAll()
        bucketIDs.removeAll()
        principalIDs.removeAll()
        userAgentIDs.removeAll()
        contextNameIDs.removeAll()
        contextValueIDs.removeAll()
        stringIDs.removeAll()
        nextEventID = nil
        pendingEvents.discard()
        pendingContext.discard()
        pendingAliases = [:]
        summaries.discard()
    }

    /// Most ids one cache keeps between commits. Past it the cache is emptied after a commit
    /// and its ids are looked up again as they come: memory stays flat however many objects,
    /// principals and keys a year of history holds.
    @exclusivity(unchecked) var cacheLimit = 1 << 17

    /// Empties the caches that hold more than `cacheLimit` ids. Call it after a commit.
    func boundCaches() {
        let pairs: [(TextIDCache, DimensionTable)] = [
            (keyIDs, keys), (trailIDs, trails), (objectIDs, objects), (bucketIDs, buckets), (stringIDs, strings),
            (userAgentIDs, userAgents), (contextNameIDs, contextNames), (contextValueIDs, contextValues),
            (principalIDs, principals),
        ]
        for (cache, table) in pairs where cache.count > cacheLimit {
            cache.removeAll()
            table.onlyOwnRows = false  // rows it inserted are no longer all in the cache
        }
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

    /// A large file whose events arrive in parts, between its first part and its end.
    struct OpenFile {
        var fileID: Int64
        /// Events with a higher id were added by this reading of the file.
        var watermark: Int64
        var added = 0
    }

    /// Starts a file whose events come in parts. Its ledger row says "interrupted" until the
    /// end arrives, so a run killed in between reads it again next time.
    func open(_ file: InputFile) throws -> OpenFile {
        let fileID = try Int64.fetchOne(upsertFile, arguments: [
            file.path, file.size, file.mtimeNs, "failed", "interrupted while being read", 0, 0, 0, nil, nil,
        ])!
        return OpenFile(fileID: fileID, watermark: try newEventID() - 1)
    }

    /// Adds a part of an open file's events, emptying `events`.
    func insert(_ events: inout [KMSEvent], into file: inout OpenFile) throws {
        file.added += try insert(draining: &events, fileID: file.fileID)
    }

    /// Writes a file's final ledger row and its (remaining) events, emptying `file.events`;
    /// returns how many events of the file were new. A file opened in parts that did not end
    /// well loses the events it added.
    func write(_ file: inout FileResult, opened: OpenFile? = nil) throws -> Int {
        if let opened, file.outcome != .ingested {
            try flush()
            let arguments: StatementArguments = ["file": opened.fileID, "mark": opened.watermark]
            let added = "SELECT id FROM events WHERE source_file_id = :file AND id > :mark"
            // The file's events are in the daily summaries: their days are counted again.
            let times = try Row.fetchOne(db, sql: """
                SELECT min(event_time), max(event_time) FROM events WHERE source_file_id = :file AND id > :mark
                """, arguments: arguments)
            try db.execute(sql: "DELETE FROM event_context WHERE event_id IN (\(added))", arguments: arguments)
            try db.execute(sql: "DELETE FROM event_grantees WHERE event_id IN (\(added))", arguments: arguments)
            try db.execute(sql: """
                DELETE FROM event_uids WHERE event_id IN (\(added))
                    AND event_time IN (SELECT event_time FROM events WHERE source_file_id = :file AND id > :mark)
                """, arguments: arguments)
            try db.execute(sql: "DELETE FROM events WHERE source_file_id = :file AND id > :mark", arguments: arguments)
            nextEventID = nil
            if let first = times?[0] as Int64?, let last = times?[1] as Int64? {
                try DailySummaries.recount(db, days: DailySummaries.day(ofMilliseconds: first)...DailySummaries.day(ofMilliseconds: last))
            }
        }
        var reason = file.outcome.reason
        if file.outcome == .ingested, file.malformedCount > 0 {
            reason = "\(file.malformedCount) malformed \(file.s3MalformedCount > 0 ? "" : "KMS ")record(s): "
                + file.malformed.prefix(3).map { "record \($0.index): \($0.reason)" }.joined(separator: "; ")
        }
        let fileID = try Int64.fetchOne(upsertFile, arguments: [
            file.path, file.size, file.mtimeNs, file.outcome.name, reason, file.records,
            file.kmsRecords, file.malformedCount, file.uncompressedBytes, file.contentSHA256,
        ])!
        var added = file.outcome == .ingested ? opened?.added ?? 0 : 0
        added += try insert(draining: &file.events, fileID: fileID)
        if file.outcome == .ingested, !file.s3Reads.isEmpty || !file.s3NotedBuckets.isEmpty {
            try writeS3Reads(&file.s3Reads, noted: file.s3NotedBuckets, fileID: fileID, staging: s3Staging)
        }
        if added > 0 {
            try db.execute(sql: "UPDATE source_files SET events_added = ? WHERE id = ?", arguments: [added, fileID])
        }
        return added
    }

    private func newEventID() throws -> Int64 {
        if let id = nextEventID { return id }
        let id = try Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) + 1 FROM events") ?? 1
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
            let count = min(Self.uidsPerStatement, events.count)
            let first = try newEventID()
            let isNew = try insertUIDs(of: events, count: count, firstID: first)
            for k in 0..<count {
                let event = events.popLast()!
                if isNew & (1 << UInt64(k)) != 0 {
                    try insert(event, id: first + Int64(k), fileID: fileID)
                    added += 1
                }
            }
            nextEventID = first + Int64(count)
        }
        return added
    }

    /// Inserts the uids of the last `count` events of `events` (taken from the end), with ids
    /// from `firstID` on; bit k of the result is set when the k-th of them was new.
    private func insertUIDs(of events: [KMSEvent], count: Int, firstID: Int64) throws -> UInt64 {
        var isNew: UInt64 = 0
        try events.withUnsafeBufferPointer { buffer in
            /// Binds the k-th event's uid (its time and id), read in place.
            func bindUID(_ row: inout BoundStatement, _ k: Int) {
                let e = buffer.baseAddress! + (buffer.count - 1 - k)
                row.int(e.pointee.eventTimeMs)
                row.uid(e.pointee.eventID)
            }
            if count == Self.uidsPerStatement {
                var row = BoundStatement(insertUIDs)
                for k in 0..<count {
                    bindUID(&row, k)
                    row.int(firstID + Int64(k))
                }
                // Nearly always all new. Otherwise the stored ids tell which were: a duplicate
                // has another event's id, be it from before or from earlier in this batch.
                if try row.execute(db) == count { isNew = ~0 >> UInt64(64 - count); return }
                for k in 0..<count {
                    var query = BoundStatement(selectUID)
                    bindUID(&query, k)
                    if try query.fetchInt64(db) == firstID + Int64(k) { isNew |= 1 << UInt64(k) }
                }
            } else {
                for k in 0..<count {
                    var row = BoundStatement(insertUID)
                    bindUID(&row, k)
                    row.int(firstID + Int64(k))
                    if try row.execute(db) == 1 { isNew |= 1 << UInt64(k) }
                }
            }
        }
        return isNew
    }

    /// Writes a new event, whose uid is stored with `id`.
    private func insert(_ e: KMSEvent, id: Int64, fileID: Int64) throws {
        let time = e.eventTimeMs
        // Optional values go to the dimension lookups without `map`: its closures cost a retain
        // and a release of the writer and of the string for every value.
        var row = EventsRow(id: id, time: time, fileID: fileID)
        row.eventName = try string(e.eventName)
        row.region = try string(e.awsRegion)
        row.recipientAccount = try string(e.recipientAccountID)
        row.key = try key(e.keyARN)
        row.sourceKey = try key(e.sourceKeyARN)
        row.requestedKey = try string(e.requestedKey)
        row.principal = try principal(e.principal)
        row.object = try object(e.s3ARN)
        row.trail = try trail(e.trailARN)
        if let ip = e.sourceIPAddress, let packed = StoredAddress.ipv4(ip) { row.packedSourceIP = packed } else { row.sourceIP = e.sourceIPAddress }
        row.userAgent = try userAgent(e.userAgent)
        row.errorCode = try string(e.errorCode)
        row.errorMessage = e.errorMessage
        row.requestID = e.requestID
        row.sharedEventID = e.sharedEventID
        row.readOnly = e.readOnly
        row.eventType = try string(e.eventType)
        var delivery: String?
        if row.trail != nil, e.eventName == "GenerateDataKey", let arn = e.s3ARN {
            let location = S3Location(arn: arn)
            if location.kind == .object { delivery = S3ObjectSQL.split(arn: arn, location).key }
        }
        summaries.add(e, row, delivery: delivery)
        try pendingEvents.append(row, db)
        for pair in e.otherContext {
            try pendingContext.append(ContextRow(eventRowID: id, scope: Int64(pair.scope.rawValue),
                                                 name: try contextName(pair.name), value: try contextValue(pair.value)), db)
        }
        if let grantee = e.granteePrincipal {
            try insertGrantee.execute(arguments: [id, grantee])
        }
        for (alias, keyARN) in e.aliases {
            let pair = PendingAlias(keyID: try key(keyARN), alias: alias)
            let seen = e.eventTime
            Self.widen(&pendingAliases[pair, default: (seen, seen)], to: seen)
        }
    }

    /// Widens a first and last time to include `time`, comparing them as the upsert does: as
    /// text, byte by byte (SQLite's BINARY order).
    private static func widen(_ seen: inout (first: String, last: String), to time: String) {
        func precedes(_ a: String, _ b: String) -> Bool {
            a.withUTF8Bytes { x in
                b.withUTF8Bytes { y in
                    let common = min(x.count, y.count)
                    let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                    return order < 0 || (order == 0 && x.count < y.count)
                }
            }
        }
        if precedes(time, seen.first) { seen.first = time }
        if precedes(seen.last, time) { seen.last = time }
    }

    private func key(_ arn: String?) throws -> Int64? {
        guard let arn else { return nil }
        return try key(arn)
    }

    private func key(_ arn: String) throws -> Int64 {
        if let id = keyIDs.id(of: arn) { return id }
        let id = try keys.id(db, arn) { row in
            let parsed = ARN(arn)
            row.text(arn)
            row.text(parsed?.account)
            row.text(parsed?.region)
            row.text(parsed.map { String($0.resource.dropFirst("key/".count)) })
        }
        keyIDs.set(id, for: arn)
        return id
    }

    private func trail(_ arn: String?) throws -> Int64? {
        guard let arn else { return nil }
        return try trail(arn)
    }

    private func trail(_ arn: String) throws -> Int64 {
        if let id = trailIDs.id(of: arn) { return id }
        let id = try trails.id(db, arn) { row in
            let parsed = ARN(arn)
            row.text(arn)
            row.text(parsed?.account)
            row.text(parsed?.region)
            row.text(parsed.flatMap { $0.resource.hasPrefix("trail/") ? String($0.resource.dropFirst(6)) : nil })
        }
        trailIDs.set(id, for: arn)
        return id
    }

    private func object(_ arn: String?) throws -> Int64? {
        guard let arn else { return nil }
        return try object(arn)
    }

    /// An S3 location: its bucket (by bucket ARN) and its key; an unparsed ARN is kept whole.
    func object(_ arn: String) throws -> Int64 {
        if let id = objectIDs.id(of: arn) { return id }
        let location = S3Location(arn: arn)
        let (bucketARN, key) = S3ObjectSQL.split(arn: arn, location)
        let bucketID = try bucketARN.map { try bucket(arn: $0, name: location.bucket ?? "") }
        let hash = key.map(StoredKeyHash.of)
        let id = try objects.id(db, bind: { row in
            row.int(hash)
            row.text(key)
            row.int(bucketID)
        }, insert: { row in
            row.text(location.kind.rawValue)
            row.int(bucketID)
            row.text(key)
            row.int(hash)
        })
        objectIDs.set(id, for: arn)
        return id
    }

    private func bucket(arn: String, name: String) throws -> Int64 {
        if let id = bucketIDs.id(of: arn) { return id }
        let id = try buckets.id(db, arn) { row in
            row.text(arn)
            row.text(name)
        }
        bucketIDs.set(id, for: arn)
        return id
    }

    func string(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        return try string(text)
    }

    private func string(_ text: String) throws -> Int64 { try textID(text, in: strings, cache: stringIDs) }

    func userAgent(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        return try textID(text, in: userAgents, cache: userAgentIDs)
    }

    private func contextName(_ name: String) throws -> Int64 { try textID(name, in: contextNames, cache: contextNameIDs) }

    private func contextValue(_ value: String) throws -> Int64 { try textID(value, in: contextValues, cache: contextValueIDs) }

    /// The id of `text` in a table of distinct texts (one column), through its cache.
    private func textID(_ text: String, in table: DimensionTable, cache: TextIDCache) throws -> Int64 {
        if let id = cache.id(of: text) { return id }
        let id = try table.id(db, text) { $0.text(text) }
        cache.set(id, for: text)
        return id
    }

    /// A principal is cached by its identity text, built in a reused buffer (hashing and
    /// comparing eleven optional Strings per event cost more); its row is found by the text's
    /// hash and its fields.
    func principal(_ p: Principal) throws -> Int64 {
        identityBytes.removeAll(keepingCapacity: true)
        PrincipalIdentity.append(p, to: &identityBytes)
        if let id = identityBytes.withUnsafeBufferPointer({ principalIDs.id(ofUTF8: $0) }) { return id }
        let identity = String(decoding: identityBytes, as: UTF8.self)
        let id = try storedPrincipal(p, hash: identityBytes.withUnsafeBufferPointer(PrincipalIdentity.hash))
        principalIDs.set(id, for: identity)
        return id
    }

    /// Columns of `principals` besides the hash, in the order `storedPrincipal` binds them.
    static let principalFields = [
        "type", "arn", "account_id", "principal_id", "user_name", "role_arn", "session_name", "invoked_by",
        "access_key_id", "source_identity", "credential_from_console",
    ]

    /// The id of the principal's row, by the hash of its identity and then every field,
    /// compared in bytes by SQLite; an absent field matches an empty one, as in the identity.
    private func storedPrincipal(_ p: Principal, hash: Int64) throws -> Int64 {
        func bindFields(_ row: inout BoundStatement) {
            row.int(hash)
            for field in [p.type, p.arn, p.accountID, p.principalID, p.userName, p.roleARN, p.sessionName,
                          p.invokedBy, p.accessKeyID, p.sourceIdentity, p.credentialFromConsole] {
                row.text(field)
            }
        }
        return try principals.id(db, bind: bindFields, insert: bindFields)
    }
}

/// A table of distinct values (keys, principals, objects, strings…): the id of a value, its row
/// inserted the first time. Both statements are prepared once per writer.
private final class DimensionTable {
    let select: Statement
    let insert: Statement
    /// True while every row of the table is one this writer inserted, all of them in its cache
    /// (the table was empty when the writer started, as in a first ingest): a value the cache
    /// does not know is then inserted without being looked up. Ingest is the index's only writer
    /// while it runs (it holds the index lock).
    var onlyOwnRows: Bool

    /// `table` is the table's name; the writer's cache maps its rows one to one.
    init(_ db: Database, table: String, select: String, insert: String) throws {
        self.select = try db.makeStatement(sql: select)
        self.insert = try db.makeStatement(sql: insert)
        onlyOwnRows = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM \(table))") ?? false
    }

    /// The id of the row `bind` selects, else of the row `insert` binds, newly inserted.
    func id(_ db: Database, bind: (inout BoundStatement) -> Void, insert bindRow: (inout BoundStatement) -> Void) throws -> Int64 {
        if !onlyOwnRows {
            var query = BoundStatement(select)
            bind(&query)
            if let id = try query.fetchInt64(db) { return id }
        }
        var row = BoundStatement(insert)
        bindRow(&row)
        _ = try row.execute(db)
        return db.lastInsertedRowID
    }

    /// The same, for tables whose select takes one text value.
    func id(_ db: Database, _ key: String, insert bindRow: (inout BoundStatement) -> Void) throws -> Int64 {
        try id(db, bind: { $0.text(key) }, insert: bindRow)
    }
}

/// The canonical text that identifies a principal row.
enum PrincipalIdentity {
    /// Appends the identity's UTF-8 bytes: the fields with a unit separator between them;
    /// absent fields are empty. Derived fields are left out.
    /// 64-bit FNV-1a of an identity's bytes: `principals.identity_hash`, and the SQL function
    /// `principal_identity_hash(text)` that migration 007 computes it with.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int64(bitPattern: hash)
    }

    static let sqlFunction = DatabaseFunction("principal_identity_hash", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map { $0.withUTF8Bytes(hash) }
    }

    static func append(_ p: Principal, to bytes: inout [UInt8]) {
        // Field by field, not through an array of them: that array was allocated, filled
        // (a retain per field) and freed for every event.
        func add(_ field: String?, separator: Bool = true) {
            if separator { bytes.append(0x1F) }
            guard let field else { return }
            field.withUTF8Bytes { utf8 in
                if let base = utf8.baseAddress { bytes.append(contentsOf: UnsafeBufferPointer(start: base, count: utf8.count)) }
            }
        }
        add(p.type, separator: false)
        add(p.arn)
        add(p.accountID)
        add(p.principalID)
        add(p.userName)
        add(p.roleARN)
        add(p.invokedBy)
        add(p.accessKeyID)
        add(p.sourceIdentity)
        add(p.credentialFromConsole)
    }
}

/// One row of `events`, as the writer binds it.
struct EventsRow: BoundRow {
    // OR FAIL, not the default ABORT: a statement that may abort half-way through several
    // rows keeps a journal of the pages it changes, so that it can undo itself (written to a
    // temporary file, 4 KiB a page). The writer rolls the whole transaction back on any error.
    static let insertHead = """
        INSERT OR FAIL INTO events (id, event_time, event_name_sid, region_sid, recipient_account_sid, key_id,
            source_key_id, requested_key_sid, principal_id, object_id, trail_id, source_ip, user_agent_id,
            error_code_sid, error_message, request_uid, shared_event_uid, read_only, event_type_sid, source_file_id)
        """
    static let columnCount = 20

    var id, time: Int64
    var eventName, region, recipientAccount, key, sourceKey, requestedKey, principal, object, trail: Int64?
    /// An IPv4 address as an integer; else `sourceIP`, as text.
    var packedSourceIP: Int64?
    var sourceIP: String?
    var userAgent, errorCode: Int64?
    var errorMessage: String?
    var requestID, sharedEventID: CloudTrailID?
    var readOnly: Bool?
    var eventType: Int64?
    var fileID: Int64

    init(id: Int64, time: Int64, fileID: Int64) {
        self.id = id
        self.time = time
        self.fileID = fileID
    }

    func bind(_ row: inout BoundStatement) {
        row.int(id)
        row.int(time)
        row.int(eventName)
        row.int(region)
        row.int(recipientAccount)
        row.int(key)
        row.int(sourceKey)
        row.int(requestedKey)
        row.int(principal)
        row.int(object)
        row.int(trail)
        if let packedSourceIP { row.int(packedSourceIP) } else { row.text(sourceIP) }
        row.int(userAgent)
        row.int(errorCode)
        row.text(errorMessage)
        row.uid(requestID)
        row.uid(sharedEventID)
        row.bool(readOnly)
        row.int(eventType)
        row.int(fileID)
    }
}

/// One pair of an event's encryption contexts, other than the object and the trail.
private struct ContextRow: BoundRow {
    // OR FAIL: see EventsRow. The normalizer leaves one pair per scope and name.
    static let insertHead = "INSERT OR FAIL INTO event_context (event_id, scope, name_id, value_id)"
    static let columnCount = 4

    var eventRowID, scope, name, value: Int64

    func bind(_ row: inout BoundStatement) {
        row.int(eventRowID)
        row.int(scope)
        row.int(name)
        row.int(value)
    }
}

/// A key and one of its aliases, as `kms_key_aliases` keys its rows: the alias by its bytes,
/// as SQLite compares it ("é" and "e\u{301}" are two aliases there, one String here).
private struct PendingAlias: Hashable {
    var keyID: Int64
    var alias: String

    static func == (a: PendingAlias, b: PendingAlias) -> Bool { a.keyID == b.keyID && a.alias.hasSameUTF8(as: b.alias) }

    func hash(into hasher: inout Hasher) {
        hasher.combine(keyID)
        alias.withUTF8Bytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
