import GRDB

/// What `kmsindex usage --by` splits the daily volume by.
package enum UsageGrouping: String, CaseIterable, Sendable {
    /// `recipientAccountId`.
    case account
    /// `awsRegion` of the call.
    case region
    /// The key ARN (else the key as the caller wrote it).
    case key
    /// The KMS operation (`eventName`).
    case operation

    /// The id columns of a summary row `a` the value is made of.
    var idColumns: String {
        switch self {
        case .account: return "a.recipient_account_sid"
        case .region: return "a.region_sid"
        case .key: return "a.key_id, a.requested_key_sid"
        case .operation: return "a.event_name_sid"
        }
    }

    /// The value of the column, from a summary row `a`.
    var summarySQL: String {
        switch self {
        case .account: return "(SELECT text FROM strings WHERE id = a.recipient_account_sid)"
        case .region: return "(SELECT text FROM strings WHERE id = a.region_sid)"
        case .key:
            return "coalesce((SELECT arn FROM kms_keys WHERE id = a.key_id), (SELECT text FROM strings WHERE id = a.requested_key_sid))"
        case .operation: return "(SELECT text FROM strings WHERE id = a.event_name_sid)"
        }
    }
}

/// The KMS list price the cost estimate uses.
package struct UsagePricing: Sendable, Equatable {
    /// Dollars per 10,000 requests (symmetric keys: $0.03).
    package var pricePer10k: Double
    /// Requests free each month, per account (AWS: 20,000).
    package var freePerMonth: Int

    package init(pricePer10k: Double = 0.03, freePerMonth: Int = 20_000) {
        self.pricePer10k = pricePer10k
        self.freePerMonth = freePerMonth
    }
}

/// KMS request volume per day against the baseline CloudTrail alone causes, and its cost.
///
/// Every log file CloudTrail delivers to an SSE-KMS bucket costs one `GenerateDataKey`; a
/// trail writes a file every 5 minutes for each account and region it logs, so about 288
/// requests a day each. The baseline counts the deliverers actually seen — (trail, account,
/// region) from the delivered file's name, where the account and region are those the file
/// logs — from each one's first delivery to its last, the first and last day in proportion.
package enum Usage {
    /// Log files a trail delivers a day for one account and region: one each 5 minutes.
    package static let deliveriesPerDay = 288
    /// A day's flags, comma-separated: `deliveries-missing` (deliveries below the baseline by
    /// more than `tolerance`), `above-baseline` (requests above it by more): both when both
    /// apply, so that a surge of KMS use does not hide behind missing deliveries.
    static func flag(requests: Int, deliveries: Int, baseline: Int, tolerance: Double) -> String? {
        guard baseline > 0 else { return nil }
        var flags: [String] = []
        if Double(deliveries) < Double(baseline) * (1 - tolerance) { flags.append("deliveries-missing") }
        if Double(requests) > Double(baseline) * (1 + tolerance) { flags.append("above-baseline") }
        return flags.isEmpty ? nil : flags.joined(separator: ",")
    }

    /// A day is flagged when deliveries fall below, or requests rise above, the baseline by
    /// more than this fraction of it.
    package static let tolerance = 0.1

    /// Sections `daily` (day, the `by` column, requests, deliveries, baseline, gap =
    /// requests − baseline, flag, list_cost_usd before the free tier) and `monthly` (month,
    /// account with `by: .account`, requests, free_requests, billable_requests, cost_usd,
    /// the free tier applied per account and month). Flags: `deliveries-missing` (log files
    /// missing from the index, a trail that stopped, KMS events excluded), `above-baseline`
    /// (KMS use beyond CloudTrail's own).
    package static func report(
        _ db: Database, filter: QueryFilter, by grouping: UsageGrouping? = nil,
        pricing: UsagePricing = UsagePricing()
    ) throws -> SectionedResult {
        let source = SummarySource(.usage, filter: filter)
        let c = try filter.summaryConditions(db, failed: "a.error_code_sid != 0")
        let arguments = StatementArguments(source.arguments + c.values)
        let group = grouping?.summarySQL ?? "NULL"

        var requests: [DayGroup: Int] = [:]
        var deliveries: [DayGroup: Int] = [:]
        // Grouped by ids first, so that dates and texts are made once a group, not once a row.
        let ids = grouping.map { ", " + $0.idColumns } ?? ""
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT date(a.day * 86400, 'unixepoch') AS day, \(group) AS grp, sum(a.n) AS n, sum(a.delivered) AS delivered
                FROM (SELECT a.day\(ids), sum(a.events) AS n, sum(CASE WHEN a.delivered THEN a.events ELSE 0 END) AS delivered
                      FROM \(source.sql) a WHERE \(c.sql) GROUP BY a.day\(ids)) a
                GROUP BY 1, 2
                """, arguments: arguments)
        {
            let key = DayGroup(day: row["day"], group: row["grp"])
            requests[key, default: 0] += row["n"] as Int
            let delivered: Int = row["delivered"]
            if delivered > 0 { deliveries[key, default: 0] += delivered }
        }
        var baseline: [DayGroup: Int] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT \(group) AS grp, min(a.first_time) AS first, max(a.last_time) AS last
                FROM \(source.sql) a WHERE \(c.sql) AND a.delivered
                GROUP BY grp, a.trail_id, a.log_account, a.log_region
                """, arguments: arguments)
        {
            let first = Int(floorDiv(row["first"] as Int64, 1000)), last = Int(floorDiv(row["last"] as Int64, 1000))
            for (day, slots) in expectedDeliveries(first: first, last: last) {
                baseline[DayGroup(day: day, group: row["grp"]), default: 0] += slots
            }
        }

        var keys = Array(Set(requests.keys).union(baseline.keys)).sorted()
        if let limit = filter.limit { keys = Array(keys.prefix(limit)) }
        let price = pricing.pricePer10k / 10_000
        let daily = keys.map { key -> [Cell] in
            let n = requests[key] ?? 0, delivered = deliveries[key] ?? 0, expected = baseline[key] ?? 0
            let flag = Self.flag(requests: n, deliveries: delivered, baseline: expected, tolerance: tolerance)
            var row: [Cell] = [.text(key.day)]
            if grouping != nil { row.append(Cell(key.group)) }
            return row + [
                .integer(Int64(n)), .integer(Int64(delivered)), .integer(Int64(expected)),
                .integer(Int64(n - expected)), Cell(flag), .real(dollars(Double(n) * price)),
            ]
        }
        let byColumn = grouping.map { [$0.rawValue] } ?? []
        return SectionedResult([
            .init(
                "daily",
                ResultTable(
                    columns: ["day"] + byColumn + ["requests", "deliveries", "baseline", "gap", "flag", "list_cost_usd"],
                    cells: daily)),
            .init("monthly", try monthly(db, filter: filter, perAccount: grouping == .account, pricing: pricing)),
        ])
    }

    /// Requests per month (and account), with the free tier taken per account and month.
    static func monthly(_ db: Database, filter: QueryFilter, perAccount: Bool, pricing: UsagePricing) throws -> ResultTable {
        let source = SummarySource(.usage, filter: filter)
        let c = try filter.summaryConditions(db, failed: "a.error_code_sid != 0")
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT strftime('%Y-%m', a.day * 86400, 'unixepoch') AS month,
                       (SELECT text FROM strings WHERE id = a.recipient_account_sid) AS account, sum(a.n) AS n
                FROM (SELECT a.day, a.recipient_account_sid, sum(a.events) AS n FROM \(source.sql) a WHERE \(c.sql)
                      GROUP BY a.day, a.recipient_account_sid) a
                GROUP BY month, account ORDER BY month, account
                """, arguments: StatementArguments(source.arguments + c.values))
        var totals: [DayGroup: (requests: Int, free: Int)] = [:]
        for row in rows {
            let n: Int = row["n"]
            let key = DayGroup(day: row["month"], group: perAccount ? row["account"] : nil)
            let sum = totals[key] ?? (0, 0)
            totals[key] = (sum.requests + n, sum.free + min(n, pricing.freePerMonth))
        }
        let cells = totals.keys.sorted().map { key -> [Cell] in
            let (n, free) = totals[key]!
            var row: [Cell] = [.text(key.day)]
            if perAccount { row.append(Cell(key.group)) }
            return row + [
                .integer(Int64(n)), .integer(Int64(free)), .integer(Int64(n - free)),
                .real(dollars(Double(n - free) * pricing.pricePer10k / 10_000)),
            ]
        }
        return ResultTable(
            columns: ["month"] + (perAccount ? ["account"] : []) + ["requests", "free_requests", "billable_requests", "cost_usd"],
            cells: cells)
    }

    /// Deliveries to expect on each day from a deliverer seen first at `first` and last at
    /// `last` (seconds since 1970): a file each 5 minutes, the first and last day in part.
    static func expectedDeliveries(first: Int, last: Int) -> [(day: String, slots: Int)] {
        var out: [(String, Int)] = []
        var dayStart = first - ((first % 86_400) + 86_400) % 86_400
        while dayStart <= last {
            let start = max(dayStart, first), end = min(dayStart + 86_399, last)
            out.append((String(TimeFilter.iso(secondsSinceEpoch: dayStart).prefix(10)), (end - start) / 300 + 1))
            dayStart += 86_400
        }
        return out
    }

    /// `a / b` rounded down (times before 1970 are negative).
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Dollars rounded to a millionth, so sums print without binary noise.
    static func dollars(_ x: Double) -> Double { (x * 1_000_000).rounded() / 1_000_000 }
}

/// A day (or month) and the value of the `--by` column.
struct DayGroup: Hashable, Comparable {
    var day: String
    var group: String?

    static func < (a: DayGroup, b: DayGroup) -> Bool {
        (a.day, a.group ?? "") < (b.day, b.group ?? "")
    }
}
