import GRDB

/// The writer's share of the daily summaries: each new event is counted in memory as it is
/// written, with the ids the writer just resolved, and every few thousand events the counts
/// are added to `activity_daily`, `object_daily` and their rollups (`usage_daily`,
/// `activity_totals`, `callers`, `trail_files`, `log_buckets`), one upsert per row.
/// The rollups are summed here too: staging the daily rows in a table and grouping them again
/// in SQL sorted them three times over (a fifth of the writer's time on a churning tree).
/// What this counts must equal `DailySummaries.activitySelect` and `objectSelect` over the same
/// events, and the rollups `DailySummaries.rollup` over those (a test recounts and compares).
final class SummaryAccumulator {
    struct ActivityKey: Hashable {
        var day, account, region, key, requestedKey, eventName, errorCode, principal, trail: Int64
        var delivered: Bool
        var logAccount, logRegion: String
    }

    struct ObjectKey: Hashable {
        var object, day, account, region, key, requestedKey, trail: Int64
        var failed: Bool
    }

    /// `activity_totals`' key: the activity's without the day and the caller.
    struct TotalsKey: Hashable {
        var account, region, key, requestedKey, eventName, errorCode, trail: Int64
        var delivered: Bool
        var logAccount, logRegion: String

        init(_ k: ActivityKey) {
            (account, region, key, requestedKey, eventName, errorCode, trail) =
                (k.account, k.region, k.key, k.requestedKey, k.eventName, k.errorCode, k.trail)
            (delivered, logAccount, logRegion) = (k.delivered, k.logAccount, k.logRegion)
        }
    }

    /// `usage_daily`'s key: the activity's without the caller.
    struct UsageKey: Hashable {
        var day: Int64
        var totals: TotalsKey
    }

    /// `callers`' key.
    struct CallerKey: Hashable {
        var key, principal, requestedKey, trail, eventName, errorCode, account, region: Int64

        init(_ k: ActivityKey) {
            (key, principal, requestedKey, trail) = (k.key, k.principal, k.requestedKey, k.trail)
            (eventName, errorCode, account, region) = (k.eventName, k.errorCode, k.account, k.region)
        }
    }

    struct Counts {
        var events = 0, writes = 0, reads = 0
        var first = Int64.max, last = Int64.min

        mutating func add(_ time: Int64, write: Bool = false, read: Bool = false) {
            events += 1
            if write { writes += 1 }
            if read { reads += 1 }
            first = min(first, time)
            last = max(last, time)
        }

        mutating func add(_ other: Counts) {
            events += other.events
            writes += other.writes
            reads += other.reads
            first = min(first, other.first)
            last = max(last, other.last)
        }
    }

    /// Events counted since the last flush.
    private(set) var eventsCounted = 0
    private var activity: [ActivityKey: Counts] = [:]
    private var objects: [ObjectKey: Counts] = [:]
    private let upsertActivity: Statement
    private let upsertUsage: Statement
    private let upsertTotals: Statement
    private let upsertCaller: Statement
    private let upsertObject: Statement
    private let insertTrailFile: Statement
    private let insertLogBucket: Statement

    init(_ db: Database) throws {
        func upsert(_ table: String, _ key: String, counts: String = "events, first_time, last_time", set: String) throws -> Statement {
            let columns = key.split(separator: ",").count + counts.split(separator: ",").count
            return try db.makeStatement(
                sql: """
                    INSERT INTO \(table) (\(key), \(counts)) VALUES (\(Array(repeating: "?", count: columns).joined(separator: ", ")))
                    ON CONFLICT (\(key)) DO UPDATE SET \(set)
                    """)
        }
        upsertActivity = try upsert("activity_daily", DailySummaries.activityKey, set: DailySummaries.addCounts)
        upsertUsage = try upsert("usage_daily", DailySummaries.usageKey, set: DailySummaries.addCounts)
        upsertTotals = try upsert("activity_totals", DailySummaries.totalsKey, set: DailySummaries.addCounts)
        upsertCaller = try upsert("callers", DailySummaries.callerKey, set: DailySummaries.addCounts)
        upsertObject = try upsert(
            "object_daily", DailySummaries.objectKey, counts: "events, writes, reads, first_time, last_time",
            set: "writes = writes + excluded.writes, reads = reads + excluded.reads, " + DailySummaries.addCounts)
        // As `DailySummaries.logFiles` and `logBuckets`: log files are objects named with a trail.
        insertTrailFile = try db.makeStatement(
            sql: "INSERT OR IGNORE INTO trail_files SELECT ?1, id FROM s3_objects WHERE id = ?2 AND kind = 'object'")
        insertLogBucket = try db.makeStatement(
            sql: """
                INSERT OR IGNORE INTO log_buckets
                SELECT bucket_id FROM s3_objects WHERE id = ? AND kind = 'object' AND bucket_id IS NOT NULL
                """)
    }

    /// Counts an event written with these ids (nil when absent). `delivery` is the stored key
    /// of the log file a delivery names (a `GenerateDataKey` with a trail and an S3 object).
    func add(_ e: KMSEvent, _ row: EventsRow, delivery: String?) {
        let day = DailySummaries.day(ofMilliseconds: e.eventTimeMs)
        var logAccount = "", logRegion = ""
        if let delivery {
            let parts = CloudTrailLogName.parts(delivery)
            logAccount = parts?.account ?? e.recipientAccountID ?? ""
            logRegion = parts?.region ?? e.awsRegion ?? ""
        }
        let key = ActivityKey(
            day: day, account: row.recipientAccount ?? 0, region: row.region ?? 0, key: row.key ?? 0,
            requestedKey: row.requestedKey ?? 0, eventName: row.eventName ?? 0, errorCode: row.errorCode ?? 0,
            principal: row.principal ?? 0, trail: row.trail ?? 0, delivered: delivery != nil,
            logAccount: logAccount, logRegion: logRegion)
        eventsCounted += 1
        activity[key, default: Counts()].add(e.eventTimeMs)
        guard let object = row.object else { return }
        let objectKey = ObjectKey(
            object: object, day: day, account: row.recipientAccount ?? 0, region: row.region ?? 0, key: row.key ?? 0,
            requestedKey: row.requestedKey ?? 0, trail: row.trail ?? 0, failed: row.errorCode != nil)
        let name = e.eventName
        objects[objectKey, default: Counts()].add(
            e.eventTimeMs, write: DailySummaries.writeOperations.contains(name),
            read: name == "Decrypt")
    }

    /// Adds the counts to the summary tables and forgets them.
    func flush(_ db: Database) throws {
        if activity.isEmpty { return }
        var usage: [UsageKey: Counts] = [:]
        var totals: [TotalsKey: Counts] = [:]
        var callers: [CallerKey: Counts] = [:]
        for (k, c) in activity {
            var row = BoundStatement(upsertActivity)
            for id in [k.day, k.account, k.region, k.key, k.requestedKey, k.eventName, k.errorCode, k.principal, k.trail] {
                row.int(id)
            }
            bindDelivery(&row, k.delivered, k.logAccount, k.logRegion)
            bind(&row, c)
            _ = try row.execute(db)
            let total = TotalsKey(k)
            usage[UsageKey(day: k.day, totals: total), default: Counts()].add(c)
            totals[total, default: Counts()].add(c)
            callers[CallerKey(k), default: Counts()].add(c)
        }
        for (k, c) in usage {
            var row = BoundStatement(upsertUsage)
            row.int(k.day)
            bindTotals(&row, k.totals)
            bind(&row, c)
            _ = try row.execute(db)
        }
        for (k, c) in totals {
            var row = BoundStatement(upsertTotals)
            bindTotals(&row, k)
            bind(&row, c)
            _ = try row.execute(db)
        }
        for (k, c) in callers {
            var row = BoundStatement(upsertCaller)
            for id in [k.key, k.principal, k.requestedKey, k.trail, k.eventName, k.errorCode, k.account, k.region] { row.int(id) }
            bind(&row, c)
            _ = try row.execute(db)
        }
        var logFiles = Set<[Int64]>()
        for (k, c) in objects {
            var row = BoundStatement(upsertObject)
            for id in [k.object, k.day, k.account, k.region, k.key, k.requestedKey, k.trail] { row.int(id) }
            row.bool(k.failed)
            row.int(Int64(c.events))
            row.int(Int64(c.writes))
            row.int(Int64(c.reads))
            row.int(c.first)
            row.int(c.last)
            _ = try row.execute(db)
            if k.trail != 0 { logFiles.insert([k.trail, k.object]) }
        }
        for pair in logFiles {
            var file = BoundStatement(insertTrailFile)
            file.int(pair[0])
            file.int(pair[1])
            // A log file already in `trail_files` has its bucket in `log_buckets`.
            guard try file.execute(db) > 0 else { continue }
            var bucket = BoundStatement(insertLogBucket)
            bucket.int(pair[1])
            _ = try bucket.execute(db)
        }
        discard()
    }

    private func bindTotals(_ row: inout BoundStatement, _ k: TotalsKey) {
        for id in [k.account, k.region, k.key, k.requestedKey, k.eventName, k.errorCode, k.trail] { row.int(id) }
        bindDelivery(&row, k.delivered, k.logAccount, k.logRegion)
    }

    private func bindDelivery(_ row: inout BoundStatement, _ delivered: Bool, _ logAccount: String, _ logRegion: String) {
        row.bool(delivered)
        row.text(logAccount)
        row.text(logRegion)
    }

    private func bind(_ row: inout BoundStatement, _ c: Counts) {
        row.int(Int64(c.events))
        row.int(c.first)
        row.int(c.last)
    }

    /// Forgets the counts (after a rollback).
    func discard() {
        eventsCounted = 0
        activity.removeAll(keepingCapacity: true)
        objects.removeAll(keepingCapacity: true)
    }
}
