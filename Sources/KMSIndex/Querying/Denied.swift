import GRDB

/// Failed KMS calls (AccessDenied, KMSInvalidStateException, …) grouped by caller, key and
/// error: `kmsindex denied`, the security view.
package enum Denied {
    /// One row per caller, key and error code, most calls first: the caller (ARN, else
    /// the calling service), the key (ARN, else as the caller wrote it), calls, the
    /// operations tried, distinct S3 objects named, first and last seen, and the latest
    /// error message.
    ///
    /// Failed calls are read as ids and grouped here: grouping them in SQL by caller and key
    /// text carried every message through three sorts, seconds on a year of history.
    package static func table(_ db: Database, filter: QueryFilter) throws -> ResultTable {
        var c = try filter.eventConditions(db)
        c.add("e.error_code_sid IS NOT NULL")  // through the partial index of failed calls
        var groups: [GroupKey: Group] = [:]
        var callers: [Int64: String] = [:], keys: [KeyRef: String?] = [:], texts: [Int64: String] = [:]
        let columns = "e.id, e.principal_id, e.key_id, e.requested_key_sid, e.error_code_sid, e.event_name_sid, e.object_id, e.event_time"
        var queries = [(sql: "SELECT \(columns) FROM events e WHERE \(c.sql)", arguments: c.arguments)]
        // A refused ReEncrypt is filed under its destination key; the key a filter names may be
        // its source, the key that refused it (`kms:ReEncryptFrom`): found too, under that key.
        if let key = filter.key, case let ids = try KeyLookup.resolve(db, key).map(\.id), !ids.isEmpty {
            var unkeyed = filter
            unkeyed.key = nil
            var s = try unkeyed.eventConditions(db)
            s.add("e.error_code_sid IS NOT NULL")
            let list = ids.map(String.init).joined(separator: ", ")
            s.add("e.source_key_id IN (\(list)) AND (e.key_id IS NULL OR e.key_id NOT IN (\(list)))")
            let sourceColumns = columns.replacingOccurrences(of: "e.key_id, e.requested_key_sid", with: "e.source_key_id, NULL")
            queries.append((sql: "SELECT \(sourceColumns) FROM events e WHERE \(s.sql)", arguments: s.arguments))
        }
        for query in queries {
            let rows = try Row.fetchCursor(db, sql: query.sql, arguments: query.arguments)
            while let row = try rows.next() {
                let principal: Int64? = row[1], keyRef = KeyRef(key: row[2], requested: row[3])
                let error: Int64 = row[4], name: Int64 = row[5], object: Int64? = row[6], time: Int64 = row[7]
                if callers[principal ?? 0] == nil { callers[principal ?? 0] = try callerText(db, principal) }
                if keys[keyRef] == nil { keys[keyRef] = .some(try keyText(db, keyRef)) }
                for sid in [error, name] where texts[sid] == nil {
                    texts[sid] = try String.fetchWhole(db, sql: "SELECT text FROM strings WHERE id = ?", arguments: [sid]) ?? ""
                }
                let key = GroupKey(principal: callers[principal ?? 0]!, key: keys[keyRef]!, error: texts[error]!)
                groups[key, default: Group()].add(id: row[0], name: texts[name]!, object: object, time: time)
            }
        }
        var ordered = groups.sorted { a, b in
            if a.value.calls != b.value.calls { return a.value.calls > b.value.calls }
            if a.value.last != b.value.last { return a.value.last > b.value.last }
            if a.key.principal != b.key.principal { return bytesBefore(a.key.principal, b.key.principal) }
            guard let x = a.key.key else { return b.key.key != nil }  // NULL first, as SQLite sorts
            guard let y = b.key.key else { return false }
            return bytesBefore(x, y)
        }
        if let limit = filter.limit { ordered = Array(ordered.prefix(limit)) }
        let messages = try latestMessages(db, ids: ordered.map(\.value.latestID))
        return ResultTable(
            columns: ["principal", "key", "error_code", "calls", "operations", "objects", "first_seen", "last_seen", "last_message"],
            cells: ordered.map { key, group in
                [
                    .text(key.principal), Cell(key.key), .text(key.error), .integer(Int64(group.calls)),
                    .text(group.names.sorted(by: bytesBefore).joined(separator: ", ")), .integer(Int64(group.objects.count)),
                    .text(StoredTime.text(group.first)), .text(StoredTime.text(group.last)), Cell(messages[group.latestID] ?? nil),
                ]
            })
    }

    struct GroupKey: Hashable {
        var principal: String
        var key: String?
        var error: String
    }

    struct KeyRef: Hashable {
        var key: Int64?
        var requested: Int64?
    }

    struct Group {
        var calls = 0
        var names = Set<String>()
        var objects = Set<Int64>()
        var first = Int64.max, last = Int64.min
        /// The latest call (by time, then id): its message is the group's last.
        var latestID: Int64 = .min

        mutating func add(id: Int64, name: String, object: Int64?, time: Int64) {
            calls += 1
            names.insert(name)
            if let object { objects.insert(object) }
            first = min(first, time)
            if time > last || (time == last && id > latestID) { latestID = id }
            last = max(last, time)
        }
    }

    /// The caller as one phrase (`principalSQL`); `unknown` when the event has none.
    static func callerText(_ db: Database, _ id: Int64?) throws -> String {
        guard let id else { return "unknown" }
        // Prepared once: `principals` is a view, long to compile.
        let statement = try db.cachedStatement(sql: "SELECT \(principalSQL) FROM principals p WHERE p.id = ?")
        return try String.fetchWhole(statement, arguments: [id]) ?? "unknown"
    }

    /// The key's ARN, else the key as the caller wrote it, else nil.
    static func keyText(_ db: Database, _ ref: KeyRef) throws -> String? {
        if let key = ref.key, let arn = try String.fetchWhole(db, sql: "SELECT arn FROM kms_keys WHERE id = ?", arguments: [key]) {
            return arn
        }
        guard let requested = ref.requested else { return nil }
        return try String.fetchWhole(db, sql: "SELECT text FROM strings WHERE id = ?", arguments: [requested])
    }

    static func latestMessages(_ db: Database, ids: [Int64]) throws -> [Int64: String?] {
        var messages: [Int64: String?] = [:]
        for batch in stride(from: 0, to: ids.count, by: 500).map({ ids[$0..<min($0 + 500, ids.count)] }) {
            let rows = try Row.fetchCursor(
                db, sql: "SELECT id, error_message FROM events WHERE id IN (\(batch.map(String.init).joined(separator: ",")))")
            while let row = try rows.next() { messages[row[0]] = .some(row.text(1)) }
        }
        return messages
    }

    /// SQLite's BINARY order: by UTF-8 bytes.
    static func bytesBefore(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
