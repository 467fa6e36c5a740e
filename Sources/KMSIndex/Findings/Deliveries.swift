import GRDB

/// `deliveries-stopped`: a trail, account and region that delivered log files (each delivery
/// is one CloudTrail `GenerateDataKey` naming the file) went more than an hour without one, or
/// delivered on a day less than half of its usual.
///
/// Judged on the days the window's events fall on; a gap that ends before the window's first
/// time (`--since TIME`) is not the window's. A gap that reaches the end of the data is
/// measured to the newest event in the index, not to the clock: an index fed nightly sees a
/// trail that stopped today tomorrow, and an old index read later raises nothing it did not
/// hold. A deliverer silent for the 30 days before a day is not judged on it.
enum DeliveryFindings {
    static let maxGapMs: Int64 = 3_600_000
    static let historyDays = 30
    /// Days of history a usual day needs.
    static let minimumHistory = 3

    struct Deliverer: Hashable {
        var trail: Int64
        var account: String
        var region: String
    }

    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        guard let newest = scope.newestTime else { return [] }
        let trails = Dictionary(
            uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, arn FROM trails").map {
                ($0["id"] as Int64, $0["arn"] as String)
            })
        var findings: [Finding] = []
        var reported = Set<String>()
        for day in scope.days {
            let start = Int64(day) * FindingsScope.dayMs, end = start + FindingsScope.dayMs
            let daily = try dailyCounts(db, from: day - historyDays, to: day + historyDays)
            let times = try deliveries(db, scope, from: start, to: end)
            for (deliverer, counts) in daily {
                let subject = "\(trails[deliverer.trail] ?? "unknown trail") \(deliverer.account)/\(deliverer.region)"
                let previous = counts.filter { $0.key < day }.map(\.value.last).max()
                let inDay = times[deliverer] ?? []
                if previous == nil && inDay.isEmpty { continue }
                let next = counts.filter { $0.key > day }.map(\.value.first).min()
                var stopped = false
                let sequence = (previous.map { [$0] } ?? []) + inDay + [next ?? newest]
                let from = max(start, scope.windowStart ?? start)
                for (a, b) in zip(sequence, sequence.dropFirst()) where b - a > maxGapMs && a < end && b > from {
                    stopped = true
                    let finding = gap(db, scope, subject: subject, from: a, to: b, ongoing: next == nil && b == sequence.last)
                    if reported.insert(finding.id).inserted { findings.append(finding) }
                }
                // A day below half its usual, on a day that is over in the data.
                let history = counts.filter { $0.key >= day - historyDays && $0.key < day }.map(\.value.n)
                guard !stopped, newest >= end, history.count >= minimumHistory else { continue }
                let usual = median(history), n = counts[day]?.n ?? 0
                if Double(n) < Double(usual) / 2 {
                    findings.append(
                        Finding(
                            .deliveriesStopped, .medium, time: isoTime(start), subject: subject, principal: nil,
                            detail:
                                "\(n) log file(s) delivered on \(dayText(day)), less than half of the usual \(usual) a day (median of the \(history.count) day(s) before)",
                            eventIDs: [], events: n, identity: [dayText(day)]))
                }
            }
        }
        return findings
    }

    static func gap(_ db: Database, _ scope: FindingsScope, subject: String, from a: Int64, to b: Int64, ongoing: Bool) -> Finding {
        let hours = Double(b - a) / 3_600_000
        let length = hours >= 48 ? "\(Int(hours / 24)) days" : String(format: "%.1f hours", hours)
        let detail =
            ongoing
            ? "no log file delivered since \(isoTime(a)): \(length) before the newest event in the index (\(isoTime(b)))"
            : "no log file delivered for \(length), from \(isoTime(a)) to \(isoTime(b))"
        let ids = [a, b].compactMap { try? deliveryUID(db, scope, at: $0) }
        return Finding(
            .deliveriesStopped, .high, time: isoTime(a), subject: subject, principal: nil, detail: detail,
            eventIDs: ids, events: ids.count, identity: [isoTime(a)])
    }

    /// Deliveries per deliverer and day, from the summaries: count, first and last time.
    static func dailyCounts(_ db: Database, from: Int, to: Int) throws -> [Deliverer: [Int: (n: Int, first: Int64, last: Int64)]] {
        var out: [Deliverer: [Int: (n: Int, first: Int64, last: Int64)]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT day, trail_id, log_account, log_region, sum(events) AS n, min(first_time) AS first, max(last_time) AS last
                FROM usage_daily WHERE day BETWEEN ? AND ? AND delivered = 1 GROUP BY 1, 2, 3, 4
                """, arguments: [from, to])
        {
            let d = Deliverer(trail: row["trail_id"], account: row["log_account"], region: row["log_region"])
            out[d, default: [:]][row["day"]] = (row["n"], row["first"], row["last"])
        }
        return out
    }

    /// The delivery times of each deliverer in `[from, to)`, in order: the events of that time
    /// through `event_uids`, which orders them by time.
    static func deliveries(_ db: Database, _ scope: FindingsScope, from: Int64, to: Int64) throws -> [Deliverer: [Int64]] {
        var out: [Deliverer: [Int64]] = [:]
        // The account and region a delivered file logs, as the summaries take them.
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT u.event_time AS time, e.trail_id,
                       coalesce(cloudtrail_log_account(o.key), (SELECT text FROM strings WHERE id = e.recipient_account_sid), '') AS account,
                       coalesce(cloudtrail_log_region(o.key), (SELECT text FROM strings WHERE id = e.region_sid), '') AS region
                FROM event_uids u JOIN events e ON e.id = u.event_id JOIN s3_objects o ON o.id = e.object_id
                WHERE u.event_time >= ? AND u.event_time < ? AND e.event_name_sid = ? AND e.trail_id IS NOT NULL AND o.kind = 'object'
                ORDER BY u.event_time
                """, arguments: [from, to, scope.generateDataKey])
        {
            out[Deliverer(trail: row["trail_id"], account: row["account"], region: row["region"]), default: []].append(row["time"])
        }
        return out
    }

    /// The eventID of a delivery at `time`.
    static func deliveryUID(_ db: Database, _ scope: FindingsScope, at time: Int64) throws -> String? {
        try DatabaseValue.fetchOne(
            db,
            sql: """
                SELECT u.event_uid FROM event_uids u JOIN events e ON e.id = u.event_id
                WHERE u.event_time = ? AND e.event_name_sid = ? AND e.trail_id IS NOT NULL ORDER BY u.event_uid LIMIT 1
                """, arguments: [time, scope.generateDataKey]
        ).map(EventUID.text)
    }

    static func median(_ values: [Int]) -> Int {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
