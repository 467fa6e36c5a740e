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
        /// The first principal type seen, an index into `top`'s types (-1: none).
        var type: Int32 = -1
        var calls: Int64 = 0
        var decrypts: Int64 = 0
        var failed: Int64 = 0
        var firstTime: Int64?
        var lastTime: Int64?

        /// Adds a principal row of the query (`top`'s columns 1 to 5).
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
        }
    }

    /// Phrases kept once, end to end in one buffer, found by their hash in an open-addressing
    /// table: a row costs no allocation (a dictionary of byte arrays, one per row, spent more
    /// in allocating, hashing and growing than SQLite in the query).
    struct PhraseTable {
        private(set) var bytes: [UInt8] = []
        private var starts: [Int] = [0]
        private var hashes: [UInt64] = []
        /// Entry index + 1 of each slot; 0 when empty. Its size is a power of two.
        private var slots = [Int32](repeating: 0, count: 1024)

        var count: Int { hashes.count }

        /// The bytes of entry `i`.
        func phrase(_ i: Int) -> ArraySlice<UInt8> { bytes[starts[i]..<starts[i + 1]] }

        /// The entry of the phrase `head` followed by `tail`, added if it is new.
        mutating func index(_ head: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>) -> Int {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in head { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            for byte in tail { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            h = (h ^ (h >> 29)) &* 0xbf58_476d_1ce4_e5b9
            h ^= h >> 32
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] != 0 {
                let entry = Int(slots[slot] - 1)
                if hashes[entry] == h, equals(entry, head, tail) { return entry }
                slot = (slot + 1) & mask
            }
            let entry = hashes.count
            bytes.append(contentsOf: head)
            bytes.append(contentsOf: tail)
            starts.append(bytes.count)
            hashes.append(h)
            slots[slot] = Int32(entry + 1)
            if hashes.count * 2 > slots.count { grow() }
            return entry
        }

        private func equals(_ entry: Int, _ head: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>) -> Bool {
            let start = starts[entry]
            guard starts[entry + 1] - start == head.count + tail.count else { return false }
            return bytes.withUnsafeBufferPointer { all in
                (head.isEmpty || memcmp(all.baseAddress! + start, head.baseAddress!, head.count) == 0)
                    && (tail.isEmpty || memcmp(all.baseAddress! + start + head.count, tail.baseAddress!, tail.count) == 0)
            }
        }

        private mutating func grow() {
            slots = [Int32](repeating: 0, count: slots.count * 2)
            let mask = slots.count - 1
            for (entry, h) in hashes.enumerated() {
                var slot = Int(truncatingIfNeeded: h) & mask
                while slots[slot] != 0 { slot = (slot + 1) & mask }
                slots[slot] = Int32(entry + 1)
            }
        }

        /// Whether entry `a` comes before entry `b` as SQLite orders text: by bytes, then the
        /// shorter first.
        func precedes(_ a: Int, _ b: Int) -> Bool {
            let (x, y) = (phrase(a), phrase(b))
            let n = min(x.count, y.count)
            let order =
                n == 0
                ? 0 : bytes.withUnsafeBufferPointer { all in memcmp(all.baseAddress! + x.startIndex, all.baseAddress! + y.startIndex, n) }
            return order != 0 ? order < 0 : x.count < y.count
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
        var table = PhraseTable()
        var groups: [Group] = []
        var types: [(bytes: [UInt8], cell: Cell)] = []
        var prefixes: [Int64: [UInt8]] = [:]
        let prefixStatement = try db.makeStatement(sql: "SELECT session_arn_prefix FROM roles WHERE id = ?")
        func prefix(_ role: Int64) throws -> [UInt8] {
            if let known = prefixes[role] { return known }
            var bytes: [UInt8] = []
            try prefixStatement.forEachRow([role]) { handle in bytes = withColumnText(handle, 0) { Array($0) } }
            prefixes[role] = bytes
            return bytes
        }
        func type(_ handle: OpaquePointer) -> Int32 {
            guard sqlite3_column_type(handle, 0) != SQLITE_NULL else { return -1 }
            return withColumnText(handle, 0) { text in
                if let known = types.firstIndex(where: { $0.bytes.elementsEqual(text) }) { return Int32(known) }
                types.append((Array(text), RowPrinter.cell(handle, 0)))
                return Int32(types.count - 1)
            }
        }
        let empty: [UInt8] = []
        try db.makeStatement(sql: sql).forEachRow(StatementArguments(arguments)) { handle in
            let head = sqlite3_column_type(handle, 6) == SQLITE_NULL ? empty : try prefix(sqlite3_column_int64(handle, 6))
            let entry = head.withUnsafeBufferPointer { head in withColumnText(handle, 7) { tail in table.index(head, tail) } }
            if entry == groups.count { groups.append(Group()) }
            groups[entry].add(handle)
            if groups[entry].type < 0 { groups[entry].type = type(handle) }
        }

        let ranked = Self.first(limit, of: Array(groups.indices)) { a, b in
            groups[a].calls != groups[b].calls ? groups[a].calls > groups[b].calls : table.precedes(a, b)
        }
        let time = try db.makeStatement(sql: "SELECT \(isoTimeSQL("?1"))")
        func iso(_ ms: Int64?) throws -> Cell {
            guard let ms else { return .null }
            var cell = Cell.null
            try time.forEachRow([ms]) { handle in cell = RowPrinter.cell(handle, 0) }
            return cell
        }
        let cells = try ranked.map { entry -> [Cell] in
            let group = groups[entry]
            return [
                .text(String(decoding: table.phrase(entry), as: UTF8.self)), group.type < 0 ? .null : types[Int(group.type)].cell,
                .integer(group.calls), .integer(group.decrypts), .integer(group.failed), try iso(group.firstTime),
                try iso(group.lastTime),
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
