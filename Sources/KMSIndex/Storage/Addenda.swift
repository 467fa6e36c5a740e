import GRDB

/// CloudTrail's `addendum` (migration 032): kept per event in `event_addenda`; and the events
/// an update supersedes, removed.
///
/// An UPDATED_DATA record names the event it updates by `originalEventID`: the event of that id
/// at the update's eventTime (the same call). Once both are in the index the original goes, its
/// rows and its counts in the summaries (its days counted again). The claim is remembered
/// (`superseding_claims`, migration 035) after the update goes in its turn, updated by another:
/// the index keeps the last of a chain whatever order its records came in. Checked at the end
/// of every ingest and merge, so an original that arrives after its update, or a run killed
/// before its check, is caught by the next. An S3 data event's update claims its original
/// read (`s3_reads`) the same way, as it is written.
enum Addenda {
    static let updatedData = "UPDATED_DATA"

    /// The insert of one event's addendum: `?1` the event's id, then reason, updated fields,
    /// original requestID and original eventID.
    static let insert = """
        INSERT OR REPLACE INTO event_addenda (event_id, reason, updated_fields, original_request_uid, original_event_uid)
        VALUES (?, ?, ?, ?, ?)
        """

    /// Whether the index holds an update or remembers one: only then is there anything to check.
    static func anyUpdate(_ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM event_addenda WHERE reason = ?) OR EXISTS (SELECT 1 FROM superseding_claims)
                """, arguments: [updatedData]) ?? false
    }

    /// Removes every event an update supersedes, whether the update is still in the index or
    /// was superseded in its turn; returns how many. Updates that name each other in a circle
    /// supersede none of their members. The summaries must hold every event (the writer
    /// flushed). What only the removed events named is noted, for `UnreferencedRows.remove`.
    static func removeSuperseded(_ db: Database) throws -> Int {
        guard try anyUpdate(db) else { return 0 }
        let s3Reads = try removeSupersededS3Reads(db)
        // The claims of the updates in the index, kept when an update goes (migration 035).
        // An update's eventID is found by reading the uids of its time once, not looked up by
        // event id per update: `event_uids` is keyed by time and eventID, and thousands of
        // updates of one time made that quadratic.
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO superseding_claims (event_time, original_uid, update_uid)
                SELECT u.event_time, a.original_event_uid, u.event_uid
                FROM (SELECT DISTINCT e.event_time FROM event_addenda a CROSS JOIN events e ON e.id = a.event_id WHERE a.reason = :updated) t
                CROSS JOIN event_uids u ON u.event_time = t.event_time
                CROSS JOIN event_addenda a ON a.event_id = u.event_id
                WHERE a.reason = :updated AND a.original_event_uid IS NOT NULL AND a.original_event_uid != u.event_uid
                """, arguments: ["updated": updatedData])
        // The events claimed that the index holds, and every claim of their times: an update and
        // its original share a time, so a circle of claims lies within one.
        let present = try Row.fetchAll(
            db,
            sql: """
                SELECT DISTINCT u.event_id AS id, u.event_time AS time, u.event_uid AS stored, quote(u.event_uid) AS uid
                FROM superseding_claims c CROSS JOIN event_uids u ON u.event_time = c.event_time AND u.event_uid = c.original_uid
                """)
        guard !present.isEmpty else { return s3Reads }
        let claims = try Row.fetchAll(
            db,
            sql: """
                SELECT event_time AS time, quote(original_uid) AS original, quote(update_uid) AS update_uid FROM superseding_claims
                WHERE event_time IN (SELECT c.event_time FROM superseding_claims c
                                     CROSS JOIN event_uids u ON u.event_time = c.event_time AND u.event_uid = c.original_uid)
                """)
        struct Node: Hashable {
            var time: Int64
            var uid: String
        }
        var number: [Node: Int] = [:]
        func node(_ n: Node) -> Int {
            if let known = number[n] { return known }
            number[n] = number.count
            return number.count - 1
        }
        var edges: [[Int]] = []
        var claimants: [Int: [Int]] = [:]
        for claim in claims {
            let from = node(Node(time: claim["time"], uid: claim["update_uid"]))
            let to = node(Node(time: claim["time"], uid: claim["original"]))
            while edges.count < number.count { edges.append([]) }
            edges[from].append(to)
            claimants[to, default: []].append(from)
        }
        let component = components(edges)
        try db.execute(
            sql: """
                CREATE TEMP TABLE IF NOT EXISTS superseded (id INTEGER PRIMARY KEY, event_time INTEGER NOT NULL, event_uid NOT NULL);
                DELETE FROM temp.superseded;
                """)
        let insert = try db.makeStatement(sql: "INSERT OR IGNORE INTO temp.superseded (id, event_time, event_uid) VALUES (?, ?, ?)")
        for row in present {
            guard let original = number[Node(time: row["time"], uid: row["uid"])] else { continue }
            // Superseded by a claim from outside its circle, if it is in one.
            if (claimants[original] ?? []).contains(where: { component[$0] != component[original] }) {
                try insert.execute(arguments: [row["id"], row["time"], row["stored"] as DatabaseValue])
            }
        }
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.superseded") ?? 0
        guard count > 0 else { return s3Reads }
        let days = try Int64.fetchAll(
            db, sql: "SELECT DISTINCT \(DailySummaries.day("event_time")) FROM temp.superseded ORDER BY 1")
        try UnreferencedRows.note(db, events: "SELECT id FROM temp.superseded")
        try db.execute(
            sql: """
                DELETE FROM event_context WHERE event_id IN (SELECT id FROM temp.superseded);
                DELETE FROM event_grantees WHERE event_id IN (SELECT id FROM temp.superseded);
                DELETE FROM event_addenda WHERE event_id IN (SELECT id FROM temp.superseded);
                DELETE FROM event_uids WHERE (event_time, event_uid) IN (SELECT event_time, event_uid FROM temp.superseded);
                DELETE FROM events WHERE id IN (SELECT id FROM temp.superseded);
                DELETE FROM temp.superseded;
                """)
        try DailySummaries.recount(db, days: days.map { $0...$0 })
        return count + s3Reads
    }

    /// Removes the S3 reads an update claims; returns how many. Two updates that claim each
    /// other both stay. No summary counts S3 reads; what only they named is noted.
    static func removeSupersededS3Reads(_ db: Database) throws -> Int {
        let superseded = """
            SELECT r.id FROM superseding_claims c
            CROSS JOIN s3_reads r ON r.event_time = c.event_time AND r.event_uid = c.original_uid
            WHERE NOT EXISTS (SELECT 1 FROM superseding_claims back
                              WHERE back.event_time = c.event_time AND back.original_uid = c.update_uid
                                AND back.update_uid = c.original_uid)
            """
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS (\(superseded))") == true else { return 0 }
        try UnreferencedRows.noteS3Reads(db, ids: superseded)
        try db.execute(sql: "DELETE FROM s3_reads WHERE id IN (\(superseded))")
        return db.changesCount
    }

    /// The strongly connected components of a graph (`edges[v]`: the nodes `v` leads to): each
    /// node's component. Iterative (Tarjan's), so that a chain of a million claims needs no
    /// deep stack.
    static func components(_ edges: [[Int]]) -> [Int] {
        let n = edges.count
        var index = [Int](repeating: -1, count: n), low = [Int](repeating: 0, count: n)
        var onStack = [Bool](repeating: false, count: n), component = [Int](repeating: -1, count: n)
        var stack: [Int] = [], work: [(node: Int, edge: Int)] = []
        var next = 0, found = 0
        func visit(_ v: Int) {
            index[v] = next
            low[v] = next
            next += 1
            stack.append(v)
            onStack[v] = true
            work.append((v, 0))
        }
        for root in 0..<n where index[root] < 0 {
            visit(root)
            while let (v, i) = work.last {
                if i < edges[v].count {
                    work[work.count - 1].edge += 1
                    let w = edges[v][i]
                    if index[w] < 0 {
                        visit(w)
                    } else if onStack[w] {
                        low[v] = min(low[v], index[w])
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { low[parent] = min(low[parent], low[v]) }
                if low[v] == index[v] {
                    while let w = stack.popLast() {
                        onStack[w] = false
                        component[w] = found
                        if w == v { break }
                    }
                    found += 1
                }
            }
        }
        return component
    }
}
