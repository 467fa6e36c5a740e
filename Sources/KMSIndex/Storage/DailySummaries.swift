import Foundation
import GRDB

/// The daily summaries of events (`activity_daily`, `object_daily`; migration 006) that let
/// listings and totals read thousands of rows instead of every event.
///
/// Each summary is defined once, as a grouping of events (`activitySelect`, `objectSelect`).
/// The writer adds the events it inserted, in their transaction (`addNewEvents`); prune and
/// merge recount the days they change (`recount`); queries count the days a time window only
/// partly covers from the events themselves, with the same groupings, so an answer is exact at
/// any bound.
package enum DailySummaries {
    /// Operations that encrypt an object (S3 calls them when it writes one): an object's writes.
    static let writeOperations = ["GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "Encrypt"]
    /// The same, as an SQL list.
    static let writeOperationsSQL = writeOperations.map { "'\($0)'" }.joined(separator: ", ")

    /// Milliseconds in a UTC day.
    package static let dayMilliseconds: Int64 = 86_400_000

    /// The UTC day (days since 1970-01-01, rounded down) of a time column in milliseconds.
    static func day(_ column: String) -> String {
        "(\(column) / 86400000 - (\(column) % 86400000 < 0))"
    }

    /// The day of a time in milliseconds, rounded down.
    static func day(ofMilliseconds ms: Int64) -> Int64 {
        ms >= 0 ? ms / dayMilliseconds : -((-ms + dayMilliseconds - 1) / dayMilliseconds)
    }

    /// Events `e` of one time range, through the index that orders them in time.
    static func eventsBetween(_ lower: String, _ upper: String) -> (from: String, where: String) {
        (
            "event_uids u CROSS JOIN events e ON e.id = u.event_id",
            "u.event_time >= \(lower) AND u.event_time < \(upper)"
        )
    }

    /// SQL: whether the event `e` (its object `o`) is a delivery of a log file: CloudTrail's
    /// `GenerateDataKey` naming a trail and an object. CloudTrail calls as a service, so the
    /// call's source is a name (`source_sid`), never an address: a caller allowed to use the
    /// key cannot fake a delivery from where it stands. A failed call wrote no file.
    static func deliveredSQL(_ e: String, object o: String) -> String {
        """
        \(e).trail_id IS NOT NULL AND \(o).kind = 'object' AND \(e).error_code_sid IS NULL AND \(e).source_sid IS NOT NULL
        AND \(e).event_name_sid = (SELECT id FROM strings WHERE text = 'GenerateDataKey')
        """
    }

    /// Rows of `activity_daily` grouped from the events `e` of `from` that `where` keeps.
    static func activitySelect(from: String, where condition: String) -> String {
        """
        SELECT day, account AS recipient_account_sid, region AS region_sid, key AS key_id,
               requested AS requested_key_sid, name AS event_name_sid, error AS error_code_sid,
               principal AS principal_id, trail AS trail_id, delivered,
               CASE WHEN delivered THEN coalesce(cloudtrail_log_account(file), (SELECT text FROM strings WHERE id = account), '')
                    ELSE '' END AS log_account,
               CASE WHEN delivered THEN coalesce(cloudtrail_log_region(file), (SELECT text FROM strings WHERE id = region), '')
                    ELSE '' END AS log_region,
               count(*) AS events, min(event_time) AS first_time, max(event_time) AS last_time
        FROM (
            SELECT \(day("e.event_time")) AS day,
                   coalesce(e.recipient_account_sid, 0) AS account, coalesce(e.region_sid, 0) AS region,
                   coalesce(e.key_id, 0) AS key, coalesce(e.requested_key_sid, 0) AS requested,
                   e.event_name_sid AS name, coalesce(e.error_code_sid, 0) AS error,
                   coalesce(e.principal_id, 0) AS principal, coalesce(e.trail_id, 0) AS trail,
                   e.event_time,
                   coalesce(\(deliveredSQL("e", object: "o")), 0) AS delivered,
                   o.key AS file
            FROM \(from) LEFT JOIN s3_objects o ON o.id = e.object_id
            WHERE \(condition)
        )
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
        """
    }

    /// Rows of `object_daily` grouped from the events `e` of `from` that `where` keeps.
    static func objectSelect(from: String, where condition: String) -> String {
        """
        SELECT e.object_id, \(day("e.event_time")) AS day,
               coalesce(e.recipient_account_sid, 0) AS recipient_account_sid, coalesce(e.region_sid, 0) AS region_sid,
               coalesce(e.key_id, 0) AS key_id, coalesce(e.requested_key_sid, 0) AS requested_key_sid,
               coalesce(e.trail_id, 0) AS trail_id, e.error_code_sid IS NOT NULL AS failed,
               count(*) AS events,
               count(CASE WHEN e.event_name_sid IN (SELECT id FROM strings WHERE text IN
                     (\(writeOperationsSQL))) THEN 1 END) AS writes,
               count(CASE WHEN e.event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt') THEN 1 END) AS reads,
               min(e.event_time) AS first_time, max(e.event_time) AS last_time
        FROM \(from)
        WHERE e.object_id IS NOT NULL AND \(condition)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        """
    }

    static let activityKey = """
        day, recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
        principal_id, trail_id, delivered, log_account, log_region
        """
    static let objectKey = "object_id, day, recipient_account_sid, region_sid, key_id, requested_key_sid, trail_id, failed"
    /// The rollups' keys (migration 008): activity_daily's without the caller, then without the day.
    static let totalsKey = """
        recipient_account_sid, region_sid, key_id, requested_key_sid, event_name_sid, error_code_sid,
        trail_id, delivered, log_account, log_region
        """
    static let usageKey = "day, " + totalsKey
    static let callerKey = """
        key_id, principal_id, requested_key_sid, trail_id, event_name_sid, error_code_sid,
        recipient_account_sid, region_sid
        """

    /// Empty tables of the session, with the columns of activity_daily and object_daily, where
    /// new counts are staged before `addStaged` adds them to the summaries and their rollups.
    static func createStaging(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TEMP TABLE IF NOT EXISTS staged_activity AS SELECT * FROM main.activity_daily WHERE 0;
                CREATE TEMP TABLE IF NOT EXISTS staged_objects AS SELECT * FROM main.object_daily WHERE 0;
                """)
    }

    /// Adds the staged counts to the daily summaries and to every rollup, and empties the
    /// staging tables: the one path by which the writer and merge add counts.
    static func addStaged(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO activity_daily SELECT * FROM staged_activity WHERE true
                ON CONFLICT (\(activityKey)) DO UPDATE SET \(addCounts);
                INSERT INTO usage_daily \(rollup(usageKey, from: "staged_activity"))
                ON CONFLICT (\(usageKey)) DO UPDATE SET \(addCounts);
                INSERT INTO activity_totals \(rollup(totalsKey, from: "staged_activity"))
                ON CONFLICT (\(totalsKey)) DO UPDATE SET \(addCounts);
                INSERT INTO callers \(rollup(callerKey, from: "staged_activity"))
                ON CONFLICT (\(callerKey)) DO UPDATE SET \(addCounts);
                INSERT INTO object_daily SELECT * FROM staged_objects WHERE true
                ON CONFLICT (\(objectKey)) DO UPDATE SET writes = writes + excluded.writes, reads = reads + excluded.reads, \(addCounts);
                INSERT OR IGNORE INTO trail_files \(logFiles(from: "staged_objects"));
                INSERT OR IGNORE INTO log_buckets \(logBuckets(from: "staged_objects"));
                DELETE FROM staged_activity;
                DELETE FROM staged_objects;
                """)
    }

    /// Rows of counts (`events`, `first_time`, `last_time`) of `rows` grouped by `key`.
    static func rollup(_ key: String, from rows: String, where condition: String = "true") -> String {
        """
        SELECT \(key), sum(events) AS events, min(first_time) AS first_time, max(last_time) AS last_time
        FROM \(rows) WHERE \(condition) GROUP BY \(key)
        """
    }

    /// What an upsert of counts does to the row already there.
    static let addCounts = """
        events = events + excluded.events,
        first_time = min(first_time, excluded.first_time), last_time = max(last_time, excluded.last_time)
        """

    /// The (trail, log file) pairs of `object_daily` rows `x`.
    static func logFiles(from rows: String) -> String {
        """
        SELECT DISTINCT x.trail_id, x.object_id FROM \(rows) x JOIN s3_objects o ON o.id = x.object_id
        WHERE x.trail_id != 0 AND o.kind = 'object'
        """
    }

    /// The buckets of the log files of `object_daily` rows `x` (`log_buckets`).
    static func logBuckets(from rows: String) -> String {
        """
        SELECT DISTINCT o.bucket_id FROM \(rows) x JOIN s3_objects o ON o.id = x.object_id
        WHERE x.trail_id != 0 AND o.kind = 'object' AND o.bucket_id IS NOT NULL
        """
    }

    /// Adds the events above the watermark to the summaries and moves the watermark to the
    /// newest event. Runs in the caller's transaction, the one that inserted the events.
    package static func addNewEvents(_ db: Database) throws {
        let watermark = try Int64.fetchOne(db, sql: "SELECT last_event_id FROM summary_state WHERE id = 1") ?? 0
        guard let newest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM events"), newest > watermark else {
            return
        }
        let range = "e.id > \(watermark) AND e.id <= \(newest)"
        try createStaging(db)
        try db.execute(sql: "INSERT INTO staged_activity \(activitySelect(from: "events e", where: range))")
        try db.execute(sql: "INSERT INTO staged_objects \(objectSelect(from: "events e", where: range))")
        try addStaged(db)
        try setWatermark(db, newest)
    }

    /// Counts the days `first...last` again from the events (after events of those days were
    /// deleted or added by other means than the writer), rebuilds the all-time rollups, and
    /// moves the watermark to the newest event.
    package static func recount(_ db: Database, days: ClosedRange<Int64>) throws {
        try recount(db, days: [days])
    }

    /// `recount` of several ranges of days, with the all-time rollups rebuilt once.
    package static func recount(_ db: Database, days ranges: [ClosedRange<Int64>]) throws {
        // Events not counted yet, of any day, are counted first: the watermark then moves past them.
        try addNewEvents(db)
        for days in ranges {
            let lower = days.lowerBound * dayMilliseconds
            let upper = (days.upperBound + 1) * dayMilliseconds
            let source = eventsBetween("\(lower)", "\(upper)")
            let between: StatementArguments = [days.lowerBound, days.upperBound]
            try db.execute(sql: "DELETE FROM activity_daily WHERE day BETWEEN ? AND ?", arguments: between)
            try db.execute(sql: "INSERT INTO activity_daily \(activitySelect(from: source.from, where: source.where))")
            try db.execute(sql: "DELETE FROM object_daily WHERE day BETWEEN ? AND ?", arguments: between)
            try db.execute(sql: "INSERT INTO object_daily \(objectSelect(from: source.from, where: source.where))")
            try db.execute(sql: "DELETE FROM usage_daily WHERE day BETWEEN ? AND ?", arguments: between)
            try db.execute(
                sql: "INSERT INTO usage_daily \(rollup(usageKey, from: "activity_daily", where: "day BETWEEN ? AND ?"))",
                arguments: between)
        }
        // A total, a caller or a log file may have lost its last event: the all-time rollups are
        // made again whole (seconds on a year of history; prune, a failed file and a superseded
        // event only).
        try db.execute(
            sql: """
                DELETE FROM activity_totals;
                INSERT INTO activity_totals \(rollup(totalsKey, from: "usage_daily"));
                DELETE FROM callers;
                INSERT INTO callers \(rollup(callerKey, from: "activity_daily"));
                DELETE FROM trail_files;
                INSERT INTO trail_files \(logFiles(from: "object_daily"));
                DELETE FROM log_buckets;
                INSERT INTO log_buckets \(logBuckets(from: "object_daily"));
                """)
        try setWatermark(db, try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0)
    }

    /// Moves the watermark up to `id`, never down: it is also the last event id given out
    /// (`EventWriter.lastEventIDSQL`), which a removed event must not give back.
    static func setWatermark(_ db: Database, _ id: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO summary_state (id, last_event_id) VALUES (1, ?)
                ON CONFLICT (id) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id)
                """, arguments: [id])
    }
}

/// The account and the region a CloudTrail log file logs, read from its name
/// (`ACCOUNT_CloudTrail_REGION_…`, after the key's last `/`), as the SQL functions
/// `cloudtrail_log_account(key)` and `cloudtrail_log_region(key)`: NULL when the name does not
/// say. A log file's name can differ from the account and region of the delivery event (an
/// organization trail delivers every member's files).
enum CloudTrailLogName {
    static func parts(_ key: String) -> (account: String, region: String?)? {
        key.withUTF8Bytes { bytes -> (String, String?)? in
            var start = bytes.startIndex
            if let slash = bytes.lastIndex(of: UInt8(ascii: "/")) { start = slash + 1 }
            let name = UnsafeBufferPointer(rebasing: bytes[start...])
            let marker = Array("_CloudTrail_".utf8)
            guard name.count > marker.count else { return nil }
            var at: Int?
            for i in 0...(name.count - marker.count) where name[i] == marker[0] {
                if (0..<marker.count).allSatisfy({ name[i + $0] == marker[$0] }) { at = i; break }
            }
            guard let at, at > 0 else { return nil }
            let account = String(decoding: UnsafeBufferPointer(rebasing: name[..<at]), as: UTF8.self)
            let rest = UnsafeBufferPointer(rebasing: name[(at + marker.count)...])
            guard let underscore = rest.firstIndex(of: UInt8(ascii: "_")), underscore > 0 else { return (account, nil) }
            return (account, String(decoding: UnsafeBufferPointer(rebasing: rest[..<underscore]), as: UTF8.self))
        }
    }

    static let accountFunction = DatabaseFunction("cloudtrail_log_account", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).flatMap { parts($0)?.account }
    }

    static let regionFunction = DatabaseFunction("cloudtrail_log_region", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).flatMap { parts($0)?.region }
    }

    /// What the name of every log file in `folder` starts with, when the folder is where
    /// CloudTrail writes a day's log files (`.../ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`):
    /// `ACCOUNT_CloudTrail_REGION_YYYYMMDDT`; else nil.
    static func namePrefix(folder: String) -> String? {
        // The last six parts, found from the end: a key of a million parts was split whole
        // before, 60 bytes of memory for each '/'.
        let utf8 = folder.utf8, slash = UInt8(ascii: "/")
        guard utf8.last == slash else { return nil }
        var ends = [utf8.index(before: utf8.endIndex)]
        var i = ends[0]
        while i > utf8.startIndex, ends.count < 7 {
            utf8.formIndex(before: &i)
            if utf8[i] == slash { ends.append(i) }
        }
        guard ends.count >= 6 else { return nil }
        let first = ends.count == 7 ? utf8.index(after: ends[6]) : utf8.startIndex
        let p = (0..<6).map { k -> String in
            let j = 5 - k
            let start = j == 5 ? first : utf8.index(after: ends[j + 1])
            return String(folder[start..<ends[j]])
        }
        func digits(_ text: String, _ count: Int) -> Bool { text.utf8.count == count && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard !p[0].isEmpty, p[1] == "CloudTrail", !p[2].isEmpty, digits(p[3], 4), digits(p[4], 2), digits(p[5], 2) else { return nil }
        return "\(p[0])_CloudTrail_\(p[2])_\(p[3])\(p[4])\(p[5])T"
    }

    /// `namePrefix(folder:)` in SQL, of a text or of its bytes as a blob (a text is read up
    /// to a NUL).
    static let namePrefixFunction = DatabaseFunction("cloudtrail_name_prefix", argumentCount: 1, pure: true) { values in
        Data.fromDatabaseValue(values[0]).flatMap { namePrefix(folder: String(decoding: $0, as: UTF8.self)) }
    }
}
