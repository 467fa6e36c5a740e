import Foundation
import GRDB
import GRDBSQLite

/// The callers of a report (`key`'s `principals`), summed per principal row by SQLite, then
/// grouped by their phrase and ranked here: most calls first, ties by the phrase's bytes (as
/// SQLite orders text), the first `limit`.
///
/// A busy key under credential rotation has a hundred thousand callers, nearly all assumed-role
/// sessions. SQLite grouping them by their phrase built each phrase through the principals'
/// CASE chain and then sorted them all (0.5-0.7 s of the year's busiest key, of which 0.07 s
/// summing per principal row). A session's phrase is its role's session ARN prefix and its name
/// (`PrincipalRows`: `derived & 1`), so here it is joined from bytes, and only the other
/// callers' phrases are built in SQL; a hash table groups them and a bounded list keeps the
/// first `limit`, so nothing is sorted but what is shown.
struct CallersByPhrase {
    /// Sums of one phrase's principal rows.
    private struct Group {
        var type = Cell.null
        var calls: Int64 = 0
        var decrypts: Int64 = 0
        var failed: Int64 = 0
        var firstTime: Int64?
        var lastTime: Int64?

        /// Adds a principal row of the query (`top`'s columns 0 to 5).
        mutating func add(_ handle: OpaquePointer) {
            calls += sqlite3_column_int64(handle, 1)
            decrypts += sqlite3_column_int64(handle, 2)
            failed += sqlite3_column_int64(handle, 3)
            if sqlite3_column_type(handle, 4) != SQLITE_NULL {
                let first = sqlite3_column_int64(handle, 4)
                firstTime = min(firstTime ?? first, first)
            }
            if sqlite3_column_type(handle, 5) != SQLITE_NULL {
                let last = sqlite3_column_int64(handle, 5)
                lastTime = max(lastTime ?? last, last)
            }
            if type == .null { type = RowPrinter.cell(handle, 0) }
        }
    }

    /// A phrase's bytes, hashed and compared whole (an array's own hashing feeds its bytes to
    /// the hasher one by one: a fifth of the report's time).
    struct Phrase: Hashable {
        var bytes: [UInt8]

        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }

        static func == (a: Phrase, b: Phrase) -> Bool { a.bytes.count == b.bytes.count && compare(a, b) == 0 }

        /// As SQLite compares text: by bytes, then a prefix first.
        static func precedes(_ a: Phrase, _ b: Phrase) -> Bool {
            let order = compare(a, b)
            return order != 0 ? order < 0 : a.bytes.count < b.bytes.count
        }

        private static func compare(_ a: Phrase, _ b: Phrase) -> Int32 {
            let count = min(a.bytes.count, b.bytes.count)
            guard count > 0 else { return 0 }
            return a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, count) } }
        }
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
        var groups: [Phrase: Group] = [:]
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
            groups[Phrase(bytes: phrase), default: Group()].add(handle)
        }

        let ranked = Self.first(limit, of: groups.map { (phrase: $0.key, group: $0.value) }) { a, b in
            a.group.calls != b.group.calls ? a.group.calls > b.group.calls : Phrase.precedes(a.phrase, b.phrase)
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
                .text(String(decoding: item.phrase.bytes, as: UTF8.self)), item.group.type, .integer(item.group.calls),
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
