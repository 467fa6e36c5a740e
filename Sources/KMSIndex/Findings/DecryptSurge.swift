import GRDB
import GRDBSQLite

/// `decrypt-surge`: a principal (a role once for all its sessions) whose Decrypts in a day
/// exceed ten times its median day of the 30 before (days without any count as 0; fewer days
/// when the index is younger), and at least 1,000. Bulk reads are what exfiltration looks like.
enum DecryptSurgeFindings {
    static let factor = 10
    static let minimum = 1_000
    static let historyDays = 30

    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        guard let firstDay = try Int.fetchOne(db, sql: "SELECT min(day) FROM usage_daily") else { return [] }
        var findings: [Finding] = []
        let principals = PrincipalIDLookup(db)
        let lookup = try EventUIDLookup(db)
        let callersCopies = CallersCopies(db, decrypt: scope.decrypt, daysKept: historyDays + 1)
        for day in scope.days {
            let from = max(day - historyDays, firstDay)
            guard from < day else { continue }
            // The day's Decrypts by caller, from the daily summary: a range of its primary key.
            let candidates = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(FindingsScope.principalSQL) AS principal, sum(a.events) AS n
                    FROM activity_daily a JOIN principals p ON p.id = a.principal_id
                    WHERE a.day = ? AND a.event_name_sid = ? GROUP BY 1 HAVING n >= ?
                    """, arguments: [day, scope.decrypt, minimum])
            var surges: [(principal: String, ids: String, n: Int, failed: Int, usual: Int, days: Int, key: String, paired: Set<Int64>)] = []
            for row in candidates {
                guard let principal: String = row["principal"] else { continue }
                var n: Int = row["n"]
                let ids = try principals.ids(principal).map(String.init).joined(separator: ",")
                var history = [Int](repeating: 0, count: day - from)
                var paired: Set<Int64> = []
                if principal.hasPrefix(FindingsScope.accountPrefix) {
                    // The key owner's copies: the calls whose caller's copy is in the index are
                    // counted under the caller.
                    let own = try callsLessCallersCopies(
                        db, ids: ids, days: from...day, decrypt: scope.decrypt, callersCopies: callersCopies)
                    n = own.perDay[day] ?? 0
                    guard n >= minimum else { continue }
                    for (past, count) in own.perDay where past < day { history[past - from] = count }
                    paired = own.pairedOnLastDay
                } else {
                    for past in try Row.fetchAll(
                        db,
                        sql: """
                            SELECT a.day, sum(a.events) AS n FROM activity_daily a
                            WHERE a.day >= ? AND a.day < ? AND a.event_name_sid = ? AND a.principal_id IN (\(ids)) GROUP BY a.day
                            """, arguments: [from, day, scope.decrypt])
                    {
                        history[(past["day"] as Int) - from] = past["n"]
                    }
                }
                let usual = DeliveryFindings.median(history)
                guard n > factor * usual else { continue }
                let key =
                    try String.fetchOne(
                        db,
                        sql: """
                            SELECT coalesce((SELECT arn FROM kms_keys WHERE id = a.key_id), (SELECT text FROM strings WHERE id = a.requested_key_sid), 'unknown key')
                            FROM activity_daily a WHERE a.day = ? AND a.event_name_sid = ? AND a.principal_id IN (\(ids))
                            GROUP BY a.key_id, a.requested_key_sid ORDER BY sum(a.events) DESC LIMIT 1
                            """, arguments: [day, scope.decrypt]) ?? "unknown key"
                // Refused calls count too (a surge of them is a probe), and the finding says so.
                let failed =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT coalesce(sum(a.events), 0) FROM activity_daily a
                            WHERE a.day = ? AND a.event_name_sid = ? AND a.principal_id IN (\(ids)) AND a.error_code_sid != 0
                            """, arguments: [day, scope.decrypt]) ?? 0
                surges.append((principal, ids, n, min(failed, n), usual, history.count, key, paired))
            }
            let start = Int64(day) * FindingsScope.dayMs
            let first = try firstDecrypts(
                db, of: surges.map { ($0.ids, $0.paired) }, day: day, decrypt: scope.decrypt, lookup: lookup)
            for (surge, (time, eventIDs)) in zip(surges, first) {
                findings.append(
                    Finding(
                        .decryptSurge, .medium, time: isoTime(time ?? start),
                        subject: surge.key, principal: surge.principal,
                        detail:
                            "\(surge.principal) made \(surge.n) Decrypt calls\(surge.failed > 0 ? " (\(surge.failed) of them failed)" : "") on \(dayText(day)), more than \(factor) times its median day (\(surge.usual)) of the \(surge.days) day(s) before",
                        eventIDs: eventIDs, events: surge.n, identity: [dayText(day)]))
            }
        }
        return findings
    }

    /// The Decrypts of `ids` (the key owner's copies of another account's calls, named as the
    /// account) per day of `days`, less the copies whose caller's copy is in the index: KMS logs
    /// a call on another account's key in both accounts, and with both in the index (an
    /// organization trail, merged account shards) the call is the caller's, counted once. Also
    /// the event rows of the copies left out on the last day.
    static func callsLessCallersCopies(
        _ db: Database, ids: String, days: ClosedRange<Int>, decrypt: Int64, callersCopies: CallersCopies
    ) throws -> (perDay: [Int: Int], pairedOnLastDay: Set<Int64>) {
        let dayMs = FindingsScope.dayMs
        let start = Int64(days.lowerBound) * dayMs, end = Int64(days.upperBound + 1) * dayMs
        // The index's own expression, bounds divided as it divides (see `firstDecrypts`).
        let statement = try db.makeStatement(
            sql: """
                SELECT e.event_time, e.id, r.type IS 'AWSAccount', e.shared_event_uid, coalesce(e.object_id, 0)
                FROM events e JOIN principal_rows r ON r.id = e.principal_id
                WHERE e.principal_id IN (SELECT value FROM json_each(?1))
                  AND e.event_time / \(dayMs) BETWEEN ?2 / \(dayMs) AND (?3 - 1) / \(dayMs)
                  AND e.event_time >= ?2 AND e.event_time < ?3 AND e.event_name_sid = ?4
                """)
        var perDay: [Int: Int] = [:]
        var paired: Set<Int64> = []
        try statement.forEachRow(["[\(ids)]", start, end, decrypt]) { row in
            let day = FindingsScope.day(sqlite3_column_int64(row, 0))
            let ownerCopy = sqlite3_column_int64(row, 2) != 0 && sqlite3_column_type(row, 3) != SQLITE_NULL
            if ownerCopy, try callersCopies.contains(CallersCopies.Call(row, shared: 3, object: 4), on: day) {
                if day == days.upperBound { paired.insert(sqlite3_column_int64(row, 1)) }
            } else {
                perDay[day, default: 0] += 1
            }
        }
        return (perDay, paired)
    }

    /// For each caller (its principal rows, `ids`), the time of its first Decrypt of the day and
    /// the eventIDs of its first `Finding.maxEventIDs`, by time and eventID. Each caller's own
    /// events of the day are read through the callers' index (principal, day), not the day's
    /// events of everyone; the eventIDs of all callers are looked up together, a millisecond
    /// at a time, so that callers sharing a second share its scan.
    static func firstDecrypts(
        _ db: Database, of callers: [(ids: String, leftOut: Set<Int64>)], day: Int, decrypt: Int64, lookup: EventUIDLookup
    ) throws -> [(first: Int64?, eventIDs: [String])] {
        let start = Int64(day) * FindingsScope.dayMs, dayMs = FindingsScope.dayMs
        // The index's own expression, its bounds divided as it divides (SQLite's division
        // truncates, so a day before 1970 spans two of its values).
        let statement = try db.makeStatement(
            sql: """
                SELECT e.event_time, e.id FROM events e
                WHERE e.principal_id IN (SELECT value FROM json_each(?1))
                  AND e.event_time / \(dayMs) BETWEEN ?2 / \(dayMs) AND (?3 - 1) / \(dayMs)
                  AND e.event_time >= ?2 AND e.event_time < ?3 AND e.event_name_sid = ?4
                """)
        var firstTimes: [Int64?] = []
        // Per millisecond needed: which caller each of its events is.
        var wanted: [Int64: [Int64: Int]] = [:]
        for (caller, (ids, leftOut)) in callers.enumerated() {
            var byTime: [Int64: [Int64]] = [:]
            try statement.forEachRow(["[\(ids)]", start, start + dayMs, decrypt]) { row in
                let id = sqlite3_column_int64(row, 1)
                if !leftOut.contains(id) { byTime[sqlite3_column_int64(row, 0), default: []].append(id) }
            }
            // The first milliseconds that hold the caller's first events, ties included.
            var taken = 0
            for time in byTime.keys.sorted() where taken < Finding.maxEventIDs {
                for id in byTime[time]! { wanted[time, default: [:]][id] = caller }
                taken += byTime[time]!.count
            }
            firstTimes.append(byTime.keys.min())
        }
        var eventIDs = [[String]](repeating: [], count: callers.count)
        for time in wanted.keys.sorted() {
            let owners = wanted[time]!
            for (id, text) in try lookup.ordered(at: time, of: Set(owners.keys), limit: owners.count) {
                let caller = owners[id]!
                if eventIDs[caller].count < Finding.maxEventIDs { eventIDs[caller].append(text) }
            }
        }
        return zip(firstTimes, eventIDs).map { ($0, $1) }
    }
}

/// The calls of each day logged as a caller's copy (a Decrypt with a sharedEventID by a caller
/// that is not an `AWSAccount`), by sharedEventID and object: the key owner's copy of one of them
/// has the same time, so the same day. Each day is read once, through the index that orders
/// events in time, when first asked for, and kept while it is among the last `daysKept` asked
/// for: a surge's days before it are asked for again by the next day's.
final class CallersCopies {
    struct Call: Hashable {
        var shared: [UInt8]
        var object: Int64

        init(_ row: OpaquePointer, shared: Int32, object: Int32) {
            let bytes = sqlite3_column_blob(row, shared)?.assumingMemoryBound(to: UInt8.self)
            self.shared = Array(UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(row, shared))))
            self.object = sqlite3_column_int64(row, object)
        }
    }

    private let db: Database
    private let decrypt: Int64
    private let daysKept: Int
    private var byDay: [Int: Set<Call>] = [:]

    init(_ db: Database, decrypt: Int64, daysKept: Int) {
        self.db = db
        self.decrypt = decrypt
        self.daysKept = daysKept
    }

    func contains(_ call: Call, on day: Int) throws -> Bool {
        if byDay[day] == nil {
            let dayMs = FindingsScope.dayMs
            let events = DailySummaries.eventsBetween("?1", "?2")
            let statement = try db.makeStatement(
                sql: """
                    SELECT e.shared_event_uid, coalesce(e.object_id, 0) FROM \(events.from)
                    WHERE \(events.where) AND e.event_name_sid = ?3 AND e.shared_event_uid IS NOT NULL
                      AND (SELECT type FROM principal_rows WHERE id = e.principal_id) IS NOT 'AWSAccount'
                    """)
            var calls = Set<Call>()
            try statement.forEachRow([Int64(day) * dayMs, Int64(day + 1) * dayMs, decrypt]) { row in
                calls.insert(Call(row, shared: 0, object: 1))
            }
            byDay[day] = calls
            byDay = byDay.filter { $0.key > day - daysKept && $0.key < day + daysKept }
        }
        return byDay[day]!.contains(call)
    }
}
