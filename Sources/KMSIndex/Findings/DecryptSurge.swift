import GRDB

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
                let start = Int64(day) * FindingsScope.dayMs
                let key =
                    try String.fetchOne(
                        db,
                        sql: """
                            SELECT coalesce((SELECT arn FROM kms_keys WHERE id = a.key_id), (SELECT text FROM strings WHERE id = a.requested_key_sid), 'unknown key')
                            FROM activity_daily a WHERE a.day = ? AND a.event_name_sid = ? AND a.principal_id IN (\(ids))
                            GROUP BY a.key_id, a.requested_key_sid ORDER BY sum(a.events) DESC LIMIT 1
                            """, arguments: [day, scope.decrypt]) ?? "unknown key"
                let events = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT u.event_time, u.event_uid FROM event_uids u JOIN events e ON e.id = u.event_id
                        WHERE u.event_time >= ? AND u.event_time < ? AND e.event_name_sid = ? AND e.principal_id IN (\(ids))
                        ORDER BY u.event_time, u.event_uid LIMIT \(Finding.maxEventIDs)
                        """, arguments: [start, start + FindingsScope.dayMs, scope.decrypt])
                findings.append(
                    Finding(
                        .decryptSurge, .medium, time: events.first.map { isoTime($0["event_time"]) } ?? isoTime(start),
                        subject: key, principal: principal,
                        detail:
                            "\(principal) made \(n) Decrypt calls on \(dayText(day)), more than \(factor) times its median day (\(usual)) of the \(history.count) day(s) before",
                        eventIDs: events.map { EventUID.text($0["event_uid"]) }, events: n, identity: [dayText(day)]))
            }
        }
        return findings
    }
}
