import GRDB

/// `deliveries-stopped`: a trail, account and region that delivered log files (each delivery is
/// one successful CloudTrail `GenerateDataKey` naming the file, `DailySummaries.deliveredSQL`)
/// went longer than its quiet hours allow without one, or, delivering all day as a rule,
/// delivered on a day less than half of its usual.
///
/// CloudTrail delivers a file only when there are events, so a quiet region's hours-long gaps
/// are its usual cadence, not an outage. A gap is judged against the deliverer's own: more
/// than an hour and longer than the longest gaps of its days (each day's longest gap, the one
/// from the day before included, over the 30 days before): half as much again as the median
/// of those of the same day of the week as the gap's end, with two weeks of them (a Monday's
/// gap is the weekend); before that, twice their 90th percentile. Until a week of such days shows its
/// weekend, a deliverer with gaps of hours may go three days, and so may one without any such
/// day yet (or `gapsPerUsualInterval` usual intervals).
///
/// Judged on the days the window's events fall on (and, for a low day, in a nightly run, on the
/// day they close: `FindingsScope.dayClosed`); a gap that ends before the window's first time
/// (`--since TIME`) is not the window's, one that ends at its first time or a day's start is. A gap that reaches the end of the data is
/// measured to the newest event in the index (less the deliverer's usual interval: a delivery
/// is recorded in a later log file), not to the clock: an index fed nightly sees a
/// trail that stopped today tomorrow, and an old index read later raises nothing it did not
/// hold. A deliverer silent for the 30 days before a day is not judged on it.
enum DeliveryFindings {
    /// The shortest gap ever reported.
    static let maxGapMs: Int64 = 3_600_000
    static let historyDays = 30
    /// Days of history a usual day needs.
    static let minimumHistory = 3
    /// A gap this many times the usual day's mean interval, for a deliverer with no history.
    static let gapsPerUsualInterval: Int64 = 24
    /// Days of history that show a week's quiet days, and what is allowed until then to a
    /// deliverer with gaps of hours.
    static let weekOfHistory = 7
    static let gapBeforeAWeek: Int64 = 3 * FindingsScope.dayMs
    /// The usual day a low day is judged against: at least a delivery an hour, so that chance
    /// alone rarely halves it.
    static let minimumUsualForLowDay = 24

    struct Deliverer: Hashable {
        var trail: Int64
        var account: String
        var region: String
    }

    typealias DailyCounts = [Deliverer: [Int: (n: Int, first: Int64, last: Int64)]]

    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        guard let newest = scope.newestTime else { return [] }
        let trails = Dictionary(
            uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, arn FROM trails").map {
                ($0["id"] as Int64, $0["arn"] as String)
            })
        var findings: [Finding] = []
        var reported = Set<String>()
        var gaps = LongestGaps()
        var uids = DeliveryUIDs()
        let closed = scope.dayClosed.map { scope.days.contains($0) ? [] : [$0] } ?? []
        for day in closed + scope.days {
            // The day the window closes is judged for a low day only: its gaps are the days' they
            // end on (this run's, or the last run's).
            let lowDayOnly = closed.contains(day)
            let start = Int64(day) * FindingsScope.dayMs, end = start + FindingsScope.dayMs
            let daily = try dailyCounts(db, from: day - 2 * historyDays, to: day + historyDays)
            let times = try gaps.deliveries(db, scope, day: day)
            gaps.forget(before: day - historyDays)
            // The days before, read only for a deliverer with a gap of more than an hour: a busy
            // one has none, and a day's deliveries take a pass over its events.
            var history: [[Deliverer: Int64]]?
            for (deliverer, counts) in daily {
                let subject = "\(trails[deliverer.trail] ?? "unknown trail") \(deliverer.account)/\(deliverer.region)"
                let previous = counts.filter { $0.key < day }.map(\.value.last).max()
                let inDay = times[deliverer] ?? []
                if previous == nil && inDay.isEmpty { continue }
                let next = counts.filter { $0.key > day }.map(\.value.first).min()
                var stopped = false
                let sequence = (previous.map { [$0] } ?? []) + inDay + [next ?? newest]
                let from = max(start, scope.windowStart ?? start)
                // A delivery is recorded (its GenerateDataKey) in a log file delivered after it,
                // so the newest one known trails the newest event by about one of the
                // deliverer's usual intervals: not counted against a gap still open.
                let lag = next == nil ? recordingLag(counts, before: day) : 0
                func length(_ a: Int64, _ b: Int64) -> Int64 { next == nil && b == sequence.last ? b - a - lag : b - a }
                let longGaps = zip(sequence, sequence.dropFirst()).filter { a, b in length(a, b) > maxGapMs && a < end && b >= from }
                // The gap allowed to end on `endDay`.
                func allowed(endingOn endDay: Int) throws -> Int64 {
                    if history == nil {
                        history = try (day - historyDays..<day).map { try gaps.longest(db, scope, day: $0, counts: daily) }
                    }
                    var longest: [Int: Int64] = [:]
                    for (offset, gaps) in (history ?? []).enumerated() {
                        if let gap = gaps[deliverer] { longest[day - historyDays + offset] = gap }
                    }
                    return allowedGap(
                        longestGaps: longest, endingOn: endDay,
                        usualCounts: counts.filter { abs($0.key - day) <= historyDays }.map(\.value.n))
                }
                for (a, b) in longGaps where length(a, b) > (try allowed(endingOn: Int(DailySummaries.day(ofMilliseconds: b)))) {
                    // A gap is not also a low day; the closed day's gaps are its own day's findings.
                    stopped = true
                    if lowDayOnly { continue }
                    let finding = gap(
                        db, scope, subject: subject, from: a, to: b, ongoing: next == nil && b == sequence.last, uids: &uids)
                    if reported.insert(finding.id).inserted { findings.append(finding) }
                }
                // A day below half its usual, on a day that is over in the data.
                let usualDays = counts.filter { $0.key >= day - historyDays && $0.key < day }.map(\.value.n)
                guard !stopped, newest >= end, usualDays.count >= minimumHistory else { continue }
                let usual = median(usualDays), n = counts[day]?.n ?? 0
                // Only a deliverer that delivers all day as a rule: one quiet at night or at
                // weekends has days of few files, or none, that are its usual.
                if usual >= minimumUsualForLowDay && Double(n) < Double(usual) / 2, try allowed(endingOn: day) < FindingsScope.dayMs {
                    findings.append(
                        Finding(
                            .deliveriesStopped, .medium, time: isoTime(start), subject: subject, principal: nil,
                            detail:
                                "\(n) log file(s) delivered on \(dayText(day)), less than half of the usual \(usual) a day (median of the \(usualDays.count) day(s) before)",
                            eventIDs: [], events: n, identity: [dayText(day)]))
                }
            }
        }
        return findings
    }

    /// The deliverer's usual interval between deliveries (a day over the median of its daily
    /// counts of the days before `day`, else of `day`'s), at most an hour; 0 with no delivery.
    static func recordingLag(_ counts: [Int: (n: Int, first: Int64, last: Int64)], before day: Int) -> Int64 {
        var days = counts.filter { $0.key >= day - historyDays && $0.key < day && $0.value.n > 0 }.map(\.value.n)
        if days.isEmpty, let n = counts[day]?.n, n > 0 { days = [n] }
        guard !days.isEmpty else { return 0 }
        return min(maxGapMs, FindingsScope.dayMs / Int64(max(1, median(days))))
    }

    /// The longest gap a deliverer may go without a delivery, for a gap that ends on `endDay`:
    /// from the longest gap of each of its days before (by day), or, with none, from its usual
    /// number of deliveries a day.
    static func allowedGap(longestGaps: [Int: Int64], endingOn endDay: Int, usualCounts: [Int]) -> Int64 {
        guard !longestGaps.isEmpty else {
            // A new deliverer: its nights and weekends are not known yet.
            let usual = Int64(max(1, median(usualCounts.isEmpty ? [1] : usualCounts)))
            return max(gapBeforeAWeek, gapsPerUsualInterval * FindingsScope.dayMs / usual)
        }
        // Two weeks or more: the gaps that ended on the same day of the week (a Monday's is
        // the weekend), their median, and half as much again: an office-hours region silent
        // for a working day and its nights (30 hours against 16) is an outage.
        let sameWeekday = longestGaps.filter { (endDay - $0.key) % 7 == 0 }.map(\.value).sorted()
        if sameWeekday.count >= 2 { return max(maxGapMs, sameWeekday[sameWeekday.count / 2] * 3 / 2) }
        let sorted = longestGaps.values.sorted()
        // Nearest rank: the gap that 90% of the days stay within.
        let p90 = sorted[(sorted.count * 9 + 9) / 10 - 1]
        let allowed = max(maxGapMs, 2 * p90)
        // Quiet hours, and not yet a week of days: its weekend may be still to come.
        if longestGaps.count < weekOfHistory && p90 > maxGapMs { return max(allowed, gapBeforeAWeek) }
        return allowed
    }

    /// Each day's delivery times and, per deliverer, the longest gap that ends in it (from the
    /// delivery before, on an earlier day), read once per day and kept for the days a later
    /// day's history needs.
    struct LongestGaps {
        private var times: [Int: [Deliverer: [Int64]]] = [:]
        private var longest: [Int: [Deliverer: Int64]] = [:]

        mutating func deliveries(_ db: Database, _ scope: FindingsScope, day: Int) throws -> [Deliverer: [Int64]] {
            if let known = times[day] { return known }
            let start = Int64(day) * FindingsScope.dayMs
            let read = try DeliveryFindings.deliveries(db, scope, from: start, to: start + FindingsScope.dayMs)
            times[day] = read
            return read
        }

        mutating func longest(_ db: Database, _ scope: FindingsScope, day: Int, counts: DailyCounts) throws -> [Deliverer: Int64] {
            if let known = longest[day] { return known }
            var out: [Deliverer: Int64] = [:]
            for (deliverer, inDay) in try deliveries(db, scope, day: day) {
                // A day without the gap from the one before would hide a deliverer's nights.
                guard let previous = counts[deliverer]?.filter({ $0.key < day }).map(\.value.last).max() else { continue }
                let sequence = [previous] + inDay
                out[deliverer] = zip(sequence, sequence.dropFirst()).map { $1 - $0 }.max()
            }
            longest[day] = out
            return out
        }

        mutating func forget(before day: Int) {
            times = times.filter { $0.key >= day }
            longest = longest.filter { $0.key >= day }
        }
    }

    static func gap(
        _ db: Database, _ scope: FindingsScope, subject: String, from a: Int64, to b: Int64, ongoing: Bool, uids: inout DeliveryUIDs
    ) -> Finding {
        let hours = Double(b - a) / 3_600_000
        let length = hours >= 48 ? String(format: "%.1f days", hours / 24) : String(format: "%.1f hours", hours)
        let detail =
            ongoing
            ? "no log file delivered since \(isoTime(a)): \(length) before the newest event in the index (\(isoTime(b)))"
            : "no log file delivered for \(length), from \(isoTime(a)) to \(isoTime(b))"
        let ids = [a, b].compactMap { uids.uid(db, at: $0) }
        return Finding(
            .deliveriesStopped, .high, time: isoTime(a), subject: subject, principal: nil, detail: detail,
            eventIDs: ids, events: ids.count, identity: [isoTime(a)])
    }

    /// Deliveries per deliverer and day, from the summaries: count, first and last time.
    static func dailyCounts(_ db: Database, from: Int, to: Int) throws -> DailyCounts {
        var out: DailyCounts = [:]
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
                WHERE u.event_time >= ? AND u.event_time < ? AND \(DailySummaries.deliveredSQL("e", object: "o"))
                ORDER BY u.event_time
                """, arguments: [from, to])
        {
            out[Deliverer(trail: row["trail_id"], account: row["account"], region: row["region"]), default: []].append(row["time"])
        }
        return out
    }

    /// The eventID of a delivery at `time`.
    static func deliveryUID(_ db: Database, at time: Int64) throws -> String? {
        try DatabaseValue.fetchOne(
            db,
            sql: """
                SELECT u.event_uid FROM event_uids u JOIN events e ON e.id = u.event_id JOIN s3_objects o ON o.id = e.object_id
                WHERE u.event_time = ? AND \(DailySummaries.deliveredSQL("e", object: "o")) ORDER BY u.event_uid LIMIT 1
                """, arguments: [time]
        ).map(EventUID.text)
    }

    /// `deliveryUID` of each time asked for, looked up once: deliverers that delivered in one
    /// second share the gap's ends, and each look-up is a scan of its millisecond (4,000
    /// deliverers of one second, each with a gap: 8 s).
    struct DeliveryUIDs {
        private var known: [Int64: String?] = [:]

        mutating func uid(_ db: Database, at time: Int64) -> String? {
            if let uid = known[time] { return uid }
            let uid = (try? deliveryUID(db, at: time)) ?? nil
            known[time] = uid
            return uid
        }
    }

    static func median(_ values: [Int]) -> Int {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
