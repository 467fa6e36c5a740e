import GRDB
import GRDBSQLite

/// The callers of a report (`key`'s `principals`), summed per principal row by SQLite, then
/// grouped by their phrase and ranked here: most calls first, ties by the phrase's bytes (as
/// SQLite orders text), the first `limit`.
///
/// A busy key under credential rotation has a hundred thousand callers, nearly all assumed-role
/// sessions. SQLite grouping them by their phrase built each phrase through the principals'
/// CASE chain and then sorted them all (0.66 s of the year's busiest key, 0.07 s of it summing
/// per principal row). A session's phrase is its role's session ARN prefix and its name
/// (`PrincipalRows`: `derived & 1`), so here it is joined from bytes, and only the other
/// callers' phrases are built in SQL; a hash table groups them and a bounded list keeps the
/// first `limit`, so nothing is sorted but what is shown.
struct CallersByPhrase {
    /// Sums of one phrase's principal rows.
    private struct Group {
        var type: Cell
        var calls: Int64
        var decrypts: Int64
        var failed: Int64
        var firstTime: Int64?
        var lastTime: Int64?
    }

    /// The per-principal rows: `source` (a FROM clause of rows with `principal_id`, `events`,
    /// `event_name_sid`, `error_code_sid`, `first_time`, `last_time`) kept by `condition` on
    /// alias `a`.
    let source: String
    let condition: String
    let arguments: [(any DatabaseValueConvertible)?]

    /// The table of the `limit` callers with most calls: `principal`, `principal_type`,
    /// `calls`, `decrypts`, `failed`, `first_seen`, `last_seen`.
    func top(_ db: Database, limit: Int) throws -> ResultTable {
        let decrypt = "(SELECT id FROM strings WHERE text = 'Decrypt')"
        let session = "p.derived & 1 AND (p_role.session_arn_prefix <> '' OR p.session_name <> '')"
        let sql = """
            SELECT p.type, g.calls, g.decrypts, g.failed, g.first_time, g.last_time,
                   CASE WHEN \(session) THEN p.role_id END AS session_role,
                   CASE WHEN \(session) THEN p.session_name
                        ELSE \(principalPhrase { PrincipalRows.column($0, of: "p") }) END AS phrase_or_session
            FROM (SELECT a.principal_id, sum(a.events) AS calls,
                         sum(CASE WHEN a.event_name_sid = \(decrypt) THEN a.events ELSE 0 END) AS decrypts,
                         sum(CASE WHEN a.error_code_sid != 0 THEN a.events ELSE 0 END) AS failed,
                         min(a.first_time) AS first_time, max(a.last_time) AS last_time
                  FROM \(source) a WHERE \(condition) GROUP BY a.principal_id) g
            \(PrincipalRows.join("p", on: "g.principal_id"))
            """
        var groups: [[UInt8]: Group] = [:]
        var prefixes: [Int64: [UInt8]] = [:]
        let prefixStatement = try db.makeStatement(sql: "SELECT session_arn_prefix FROM roles WHERE id = ?")
        func prefix(_ role: Int64) throws -> [UInt8] {
            if let known = prefixes[role] { return known }
            var bytes: [UInt8] = []
            try prefixStatement.forEachRow([role]) { handle in bytes = withColumnText(handle, 0) { Array($0) } }
            prefixes[role] = bytes
            return bytes
        }
        try db.makeStatement(sql: sql).forEachRow(StatementArguments(arguments)) { handle in
            var phrase: [UInt8]
            if sqlite3_column_type(handle, 6) == SQLITE_NULL {
                phrase = withColumnText(handle, 7) { Array($0) }
            } else {
                phrase = try prefix(sqlite3_column_int64(handle, 6))
                withColumnText(handle, 7) { phrase.append(contentsOf: $0) }
            }
            func optional(_ i: Int32) -> Int64? {
                sqlite3_column_type(handle, i) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, i)
            }
            let calls = sqlite3_column_int64(handle, 1), decrypts = sqlite3_column_int64(handle, 2)
            let failed = sqlite3_column_int64(handle, 3), first = optional(4), last = optional(5)
            if var group = groups[phrase] {
                group.calls += calls
                group.decrypts += decrypts
                group.failed += failed
                group.firstTime = [group.firstTime, first].compactMap { $0 }.min()
                group.lastTime = [group.lastTime, last].compactMap { $0 }.max()
                if group.type == .null { group.type = RowPrinter.cell(handle, 0) }
                groups[phrase] = group
            } else {
                groups[phrase] = Group(
                    type: RowPrinter.cell(handle, 0), calls: calls, decrypts: decrypts, failed: failed, firstTime: first,
                    lastTime: last)
            }
        }

        let ranked = Self.first(limit, of: groups.map { (phrase: $0.key, group: $0.value) }) { a, b in
            a.group.calls != b.group.calls ? a.group.calls > b.group.calls : a.phrase.lexicographicallyPrecedes(b.phrase)
        }
        let time = try db.makeStatement(sql: "SELECT \(isoTimeSQL("?1"))")
        func iso(_ ms: Int64?) throws -> Cell {
            guard let ms else { return .null }
            var cell = Cell.null
            try time.forEachRow([ms]) { handle in cell = RowPrinter.cell(handle, 0) }
            return cell
        }
        let cells = try ranked.map { item -> [Cell] in
            [
                .text(String(decoding: item.phrase, as: UTF8.self)), item.group.type, .integer(item.group.calls),
                .integer(item.group.decrypts), .integer(item.group.failed), try iso(item.group.firstTime),
                try iso(item.group.lastTime),
            ]
        }
        return ResultTable(
            columns: ["principal", "principal_type", "calls", "decrypts", "failed", "first_seen", "last_seen"], cells: cells)
    }

    /// The first `count` of `items` in the order `precedes` gives, in that order: a list of at
    /// most `count` kept sorted as the items pass, most of which it turns away with one compare.
    static func first<T>(_ count: Int, of items: [T], by precedes: (T, T) -> Bool) -> [T] {
        guard count > 0 else { return [] }
        if count >= items.count / 4 { return Array(items.sorted(by: precedes).prefix(count)) }
        var kept: [T] = []
        kept.reserveCapacity(count + 1)
        for item in items {
            if kept.count == count, !precedes(item, kept[count - 1]) { continue }
            var low = 0, high = kept.count
            while low < high {
                let mid = (low + high) / 2
                if precedes(item, kept[mid]) { high = mid } else { low = mid + 1 }
            }
            kept.insert(item, at: low)
            if kept.count > count { kept.removeLast() }
        }
        return kept
    }
}
