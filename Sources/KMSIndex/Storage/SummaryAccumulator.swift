import GRDB

/// The writer's share of the daily summaries: each new event is counted in memory as it is
/// written, with the ids the writer just resolved, and the counts are staged when the
/// transaction is flushed, one row per count, then added to `activity_daily`, `object_daily`
/// and their rollups in a few statements (`DailySummaries.addStaged`).
/// Grouping the transaction's events again in SQL read every event back, a large share of
/// the ingest's time (BENCHMARKS.md). What this counts must equal `DailySummaries.activitySelect` and
/// `objectSelect` over the same events (a test recounts and compares).
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
    }

    /// Events counted since the last flush.
    private(set) var eventsCounted = 0
    private var activity: [ActivityKey: Counts] = [:]
    private var objects: [ObjectKey: Counts] = [:]
    private let stageActivity: Statement
    private let stageObject: Statement

    init(_ db: Database) throws {
        try DailySummaries.createStaging(db)
        stageActivity = try db.makeStatement(
            sql: """
                INSERT INTO staged_activity (\(DailySummaries.activityKey), events, first_time, last_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        stageObject = try db.makeStatement(
            sql: """
                INSERT INTO staged_objects (\(DailySummaries.objectKey), events, writes, reads, first_time, last_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        // Again: a rolled-back transaction takes a temporary table created in it along.
        try DailySummaries.createStaging(db)
        for (k, c) in activity {
            var row = BoundStatement(stageActivity)
            for id in [k.day, k.account, k.region, k.key, k.requestedKey, k.eventName, k.errorCode, k.principal, k.trail] {
                row.int(id)
            }
            row.bool(k.delivered)
            row.text(k.logAccount)
            row.text(k.logRegion)
            row.int(Int64(c.events))
            row.int(c.first)
            row.int(c.last)
            _ = try row.execute(db)
        }
        for (k, c) in objects {
            var row = BoundStatement(stageObject)
            for id in [k.object, k.day, k.account, k.region, k.key, k.requestedKey, k.trail] { row.int(id) }
            row.bool(k.failed)
            row.int(Int64(c.events))
            row.int(Int64(c.writes))
            row.int(Int64(c.reads))
            row.int(c.first)
            row.int(c.last)
            _ = try row.execute(db)
        }
        try DailySummaries.addStaged(db)
        discard()
    }

    /// Forgets the counts (after a rollback).
    func discard() {
        eventsCounted = 0
        activity.removeAll(keepingCapacity: true)
        objects.removeAll(keepingCapacity: true)
    }
}
