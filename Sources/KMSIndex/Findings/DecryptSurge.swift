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
            var surges: [(principal: String, ids: String, n: Int, usual: Int, days: Int, key: String)] = []
            for row in candidates {
                guard let principal: String = row["principal"] else { continue }
                let n: Int = row["n"]
                let ids = try principals.ids(principal).map(String.init).joined(separator: ",")
                var history = [Int](repeating: 0, count: day - from)
                for past in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT a.day, sum(a.events) AS n FROM activity_daily a
                        WHERE a.day >= ? AND a.day < ? AND a.event_name_sid = ? AND a.principal_id IN (\(ids)) GROUP BY a.day
                        """, arguments: [from, day, scope.decrypt])
                {
                    history[(past["day"] as Int) - from] = past["n"]
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
                surges.append((principal, ids, n, usual, history.count, key))
            }
            let start = Int64(day) * FindingsScope.dayMs
            let first = try firstDecrypts(db, of: surges.map(\.ids), day: day, decrypt: scope.decrypt, lookup: lookup)
            for (surge, (time, eventIDs)) in zip(surges, first) {
                findings.append(
                    Finding(
                        .decryptSurge, .medium, time: isoTime(time ?? start),
                        subject: surge.key, principal: surge.principal,
                        detail:
                            "\(surge.principal) made \(surge.n) Decrypt calls on \(dayText(day)), more than \(factor) times its median day (\(surge.usual)) of the \(surge.days) day(s) before",
                        eventIDs: eventIDs, events: surge.n, identity: [dayText(day)]))
            }
        }
        return findings
    }

    /// For each caller (its principal rows, `ids`), the time of its first Decrypt of the day and
    /// the eventIDs of its first `Finding.maxEventIDs`, by time and eventID. Each caller's own
    /// events of the day are read through the callers' index (principal, day), not the day's
    /// events of everyone; the eventIDs of all callers are looked up together, a millisecond
    /// at a time, so that callers sharing a second share its scan.
    static func firstDecrypts(
        _ db: Database, of callers: [String], day: Int, decrypt: Int64, lookup: EventUIDLookup
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
        for (caller, ids) in callers.enumerated() {
            var byTime: [Int64: [Int64]] = [:]
            try statement.forEachRow(["[\(ids)]", start, start + dayMs, decrypt]) { row in
                byTime[sqlite3_column_int64(row, 0), default: []].append(sqlite3_column_int64(row, 1))
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
