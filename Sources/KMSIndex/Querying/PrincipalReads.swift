import GRDB

/// What a principal decrypted, when, with what result: `kmsindex reads --principal P`.
package struct PrincipalReads {
    let db: Database

    package init(_ db: Database) { self.db = db }

    /// Ids of the principal rows `query` names: a user, role, root or session ARN (a role
    /// ARN matches all its sessions), a role name (all its sessions), a session name, a user
    /// name, an access key id, the service that called (`invokedBy`), the resource its
    /// credentials were issued to (`inScopeOf.credentialsIssuedTo`), or an Identity Center
    /// user's id (`onBehalfOf.userId`).
    package func principalIDs(_ query: String) throws -> [Int64] {
        // A caller with no ARN as who-read and key phrase it (`principalSQL`: `AWSAccount:
        // 444455556666 (AROAEXAMPLE:s1)`, `AWSService: s3.amazonaws.com`), or every caller of
        // another account (`AWSAccount: 444455556666`): no ARN, name or key id holds ": ". A
        // scan of the principals, as such callers are not indexed by their phrase (0.08 s on the
        // year's).
        if let type = Self.phraseType(query) {
            // The type first: the phrase is then made for that type's callers only.
            return try Int64.fetchAll(
                db,
                sql: """
                    SELECT p.id FROM principals p
                    WHERE (p.arn IS NULL OR p.arn = '') AND coalesce(p.type, 'unknown') = :type
                      AND (\(principalSQL) = :q OR coalesce(p.type, 'unknown') || ': ' || p.account_id = :q
                           OR (p.type IS NOT 'AWSAccount' AND coalesce(p.type, 'unknown') || ': ' || p.invoked_by = :q))
                    ORDER BY p.id
                    """, arguments: ["type": type, "q": query])
        }
        // IAM's names, access key ids and services hold no ':': such a query is a principal's or
        // a role's ARN, both indexed. Names IAM does not make may (a web identity user
        // `us-east-1:…`, a SAML user `urn:…`): those are looked for as names when no ARN matches.
        if query.contains(":") {
            let byARN = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM (\(PrincipalRows.ids(withARN: ":p")) UNION \(PrincipalRows.ids(withRoleARN: ":p"))) ORDER BY id
                    """, arguments: ["p": query])
            if !byARN.isEmpty { return byARN }
            // The resource a service's credentials were issued to (a Lambda function): rare.
            if query.hasPrefix("arn:") {
                return try Int64.fetchAll(
                    db, sql: "SELECT id FROM principal_rows WHERE credentials_issued_to = ? ORDER BY id", arguments: [query])
            }
        }
        // Only a row that keeps its ARN can have one without ':' (a derived ARN starts with
        // "arn:"); roles are few, and read by their own table.
        return try Int64.fetchAll(
            db,
            sql: """
                SELECT id FROM principal_rows
                WHERE arn = :p OR session_name = :p OR user_name = :p OR access_key_id = :p OR invoked_by = :p
                   OR on_behalf_of_user_id = :p OR source_identity = :p
                   OR role_id IN (SELECT id FROM roles
                                  WHERE arn = :p OR (instr(arn, ':role/') > 0 AND substr(arn, -length(:p) - 1) = '/' || :p))
                ORDER BY id
                """, arguments: ["p": query])
    }

    /// The callers a plain name (not an ARN, not a phrase) matched, as findings name them (a
    /// role for all its sessions), when it matched more than one: `deploy` may be a user, a
    /// role and another role's session. The first `limit` names, sorted, and how many in all.
    package func callersNamed(_ query: String, ids: [Int64], limit: Int = 5) throws -> (names: [String], count: Int)? {
        guard ids.count > 1, !query.hasPrefix("arn:"), Self.phraseType(query) == nil else { return nil }
        let list = "[" + ids.map(String.init).joined(separator: ",") + "]"
        // A role's sessions, however many: one caller, told without naming each.
        let roles = try Int64?.fetchAll(
            db, sql: "SELECT DISTINCT role_id FROM principal_rows WHERE id IN (SELECT value FROM json_each(?)) LIMIT 2",
            arguments: [list])
        if roles.count == 1, roles[0] != nil { return nil }
        let names = try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT \(FindingsScope.principalSQL) AS caller FROM principals p
                WHERE p.id IN (SELECT value FROM json_each(?)) ORDER BY caller
                """, arguments: [list])
        return names.count > 1 ? (Array(names.prefix(limit)), names.count) : nil
    }

    /// TYPE, when `query` has the form `TYPE: VALUE`, the phrase of a caller with no ARN.
    static func phraseType(_ query: String) -> String? {
        guard let colon = query.range(of: ": ") else { return nil }
        let type = query[..<colon.lowerBound]
        guard !type.isEmpty, colon.upperBound < query.endIndex,
            type.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic && $0.isASCII })
        else { return nil }
        return String(type)
    }

    /// The `Decrypt` calls of the principals `query` names, and their reads of S3 objects from
    /// S3 data events, oldest first, with the other encryption-context pairs of each Decrypt
    /// (what was decrypted when it was not an S3 object).
    package func reads(principal query: String, filter: QueryFilter) throws -> [EventRow] {
        var rows: [EventRow] = []
        try forEachRead(principal: query, filter: filter) {
            rows.append($0)
            return true
        }
        return rows
    }

    /// `reads`, handed to `body` one by one as SQLite yields them: a year of a role's reads is
    /// never held (the S3 reads are, when S3 data events were ingested). `body` says whether it
    /// showed the row: `filter.limit` counts the reads shown, a read recorded twice (the records
    /// of one `readID`) once, and the other records of a read shown still come after the last.
    package func forEachRead(principal query: String, filter: QueryFilter, _ body: @escaping (EventRow) throws -> Bool) throws {
        try forEachRead(ofIDs: try principalIDs(query), filter: filter, body)
    }

    /// `forEachRead` of the principal rows `ids` (`principalIDs`, when the caller has them).
    package func forEachRead(ofIDs ids: [Int64], filter: QueryFilter, _ body: @escaping (EventRow) throws -> Bool) throws {
        if ids.isEmpty { return }
        let active = try activeIDs(ids, filter)
        let (sql, arguments) = try decryptsSQL(of: active, filter)
        // S3 reads name no key: a --key filter leaves them out.
        let s3 = filter.key == nil ? try S3Reads(db).reads(principals: ids, filter: filter) : []
        var left = filter.limit ?? Int.max
        // With a limit, the reads shown that were recorded twice: their other records come later.
        var shownReads = Set<String>()
        var merger = ReadMerger(s3: s3) { row in
            let shownBefore = row.readID.map { shownReads.contains($0) } ?? false
            guard left > 0 || shownBefore else { return }
            guard try body(row), !shownBefore else { return }
            if let id = row.readID, filter.limit != nil { shownReads.insert(id) }
            left -= 1
        }
        let texts = try StoredEventTexts(db)
        var order = MillisecondIDOrder(lookup: try EventUIDLookup(db))
        func feed(_ rows: RowCursor) throws {
            while left > 0, let row = try rows.next() {
                var read = try texts.row(row)
                read.context = row.text(12)
                try order.add(read) { try merger.add($0) }
            }
        }
        if filter.limit == nil {
            try feed(try Row.fetchCursor(db, sql: sql.all, arguments: arguments))
        } else {
            // The first N: a day at a time, in order, until N are out. Sorting every Decrypt
            // of the window first took seconds for a role's whole history (hundreds of
            // thousands of rows), for 20 of them.
            var days = try DaysOfCallers(db, ids: active, filter: filter)
            while left > 0, let (day, callers) = try days.next() {
                let ids = "[" + callers.map(String.init).joined(separator: ",") + "]"
                try feed(try Row.fetchCursor(db, sql: sql.dayOnly, arguments: arguments + [ids, day]))
            }
        }
        try order.finish { try merger.add($0) }
        try merger.finish()
    }

    /// The query of the `Decrypt` events of the principal rows `ids` in the filter's window,
    /// oldest first. Each caller's events of the window's days are a range of the callers'
    /// index (principal, day): a session of a year (an instance role's) has hundreds of
    /// thousands of events, and a month of it is read without the rest.
    func decryptsSQL(of ids: [Int64], _ filter: QueryFilter) throws -> (sql: DecryptsSQL, arguments: StatementArguments) {
        var c = try filter.eventConditions(db)
        c.add("e.event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt')")
        // The index's own expression (migration 025), with bounds divided as it divides:
        // integer division never orders two times the other way round.
        if let since = filter.since.flatMap(StoredTime.milliseconds) {
            c.add("e.event_time / \(Self.dayMs) >= ? / \(Self.dayMs)", since)
        }
        if let until = filter.until.flatMap(StoredTime.milliseconds) {
            c.add("e.event_time / \(Self.dayMs) <= (? - 1) / \(Self.dayMs)", until)
        }
        // The ids of the events, their texts looked up once each (`StoredEventTexts`): a month
        // of a role's reads is tens of thousands of rows naming a few callers, keys and agents.
        func select(_ condition: String) -> String {
            """
            SELECT \(StoredEventTexts.columns),
                   (SELECT group_concat(cn.name || '=' || cv.value, '; ') FROM event_context x
                    JOIN context_names cn ON cn.id = x.name_id JOIN context_values cv ON cv.id = x.value_id
                    WHERE x.event_id = e.id AND x.scope = 0) AS context
            FROM events e
            WHERE \(condition)
            ORDER BY e.event_time
            """
        }
        let all = "(\(c.sql)) AND e.principal_id IN (\(ids.map(String.init).joined(separator: ", ")))"
        let day = "(\(c.sql)) AND e.principal_id IN (SELECT value FROM json_each(?)) AND e.event_time / \(Self.dayMs) = ?"
        return (DecryptsSQL(all: select(all), dayOnly: select(day)), c.arguments)
    }

    /// The query of a window's Decrypts (`all`), and of one day of them (`dayOnly`): its last
    /// two arguments are the callers of that day, as a JSON array, and the day. Each day names
    /// only its own callers: all of a role's thousands of sessions, sought on each of their
    /// days, made the work sessions times days.
    struct DecryptsSQL {
        var all, dayOnly: String
    }

    /// The days (`event_time / dayMs`, as the callers' index has them) on which any of `ids`
    /// called KMS in the filter's window, in order, each with its callers. Each caller's next day is a seek of the
    /// index, made when the day before it is taken: a role of thousands of sessions, each on
    /// days of its own, costs a seek per session and day, not one per session for every day.
    struct DaysOfCallers {
        let last: Int64
        let nextDay: Statement
        /// Each caller's next day, as a binary min-heap of (day, caller).
        var heap: [(day: Int64, id: Int64)] = []

        init(_ db: Database, ids: [Int64], filter: QueryFilter) throws {
            let dayMs = PrincipalReads.dayMs
            // Bounds divided as the index and `decryptsSQL` divide (both truncate, as SQLite does).
            let before = filter.since.flatMap(StoredTime.milliseconds).map { $0 / dayMs - 1 } ?? Int64.min
            last = filter.until.flatMap(StoredTime.milliseconds).map { ($0 - 1) / dayMs } ?? Int64.max
            nextDay = try db.makeStatement(
                sql: """
                    SELECT e.event_time / \(dayMs) FROM events e
                    WHERE e.principal_id = ? AND e.event_time / \(dayMs) > ? AND e.event_time / \(dayMs) <= ?
                    ORDER BY e.event_time / \(dayMs) LIMIT 1
                    """)
            for id in ids { try push(id, after: before) }
        }

        /// The next day any caller has, and the callers that have it; nil after the last.
        mutating func next() throws -> (day: Int64, ids: [Int64])? {
            guard let day = heap.first?.day else { return nil }
            var ids: [Int64] = []
            while let top = heap.first, top.day == day {
                ids.append(top.id)
                pop()
                try push(top.id, after: day)
            }
            return (day, ids)
        }

        private mutating func push(_ id: Int64, after day: Int64) throws {
            guard let next = try Int64.fetchOne(nextDay, arguments: [id, day, last]) else { return }
            heap.append((next, id))
            var k = heap.count - 1
            while k > 0, heap[(k - 1) / 2].day > heap[k].day {
                heap.swapAt(k, (k - 1) / 2)
                k = (k - 1) / 2
            }
        }

        private mutating func pop() {
            heap.swapAt(0, heap.count - 1)
            heap.removeLast()
            var k = 0
            while true {
                var smallest = k
                for child in [2 * k + 1, 2 * k + 2] where child < heap.count && heap[child].day < heap[smallest].day {
                    smallest = child
                }
                if smallest == k { return }
                heap.swapAt(k, smallest)
                k = smallest
            }
        }
    }

    /// Those of `ids` that decrypted anything in the filter's window, from the summaries: a
    /// role's sessions that never decrypted, or not in the window, are not read event by event.
    /// The summaries' Decrypt rows are read once, whatever the number of ids (a service role
    /// can have hundreds of thousands of sessions); a few ids are looked up as they are, a
    /// window of each being a range of the callers' index (principal, day). With
    /// `fromEvents`, every id is read, the summaries not consulted.
    func activeIDs(_ ids: [Int64], _ filter: QueryFilter) throws -> [Int64] {
        guard ids.count > Self.idsReadDirectly, !filter.fromEvents else { return ids }
        let windowed = filter.since != nil || filter.until != nil
        let decrypt = "event_name_sid = (SELECT id FROM strings WHERE text = 'Decrypt')"
        let rows: RowCursor
        if windowed {
            let lower = filter.since.flatMap(StoredTime.milliseconds).map(DailySummaries.day(ofMilliseconds:)) ?? Int64.min
            let upper = filter.until.flatMap(StoredTime.milliseconds).map(DailySummaries.day(ofMilliseconds:)) ?? Int64.max
            rows = try Row.fetchCursor(
                db, sql: "SELECT DISTINCT principal_id FROM activity_daily WHERE day BETWEEN ? AND ? AND \(decrypt)",
                arguments: [lower, upper])
        } else {
            rows = try Row.fetchCursor(db, sql: "SELECT DISTINCT principal_id FROM callers WHERE \(decrypt)")
        }
        let wanted = Set(ids)
        var active = Set<Int64>()
        while let row = try rows.next() {
            let id: Int64 = row[0]
            if wanted.contains(id) { active.insert(id) }
        }
        return active.sorted()
    }

    /// Milliseconds in a day: the callers' index orders events by `event_time / dayMs`.
    static let dayMs: Int64 = 86_400_000

    /// Up to this many principals, with no window, are read through the events' index as they are.
    static let idsReadDirectly = 1_000

    /// `reads` as a table. On a terminal: time, caller, result, what was decrypted (the
    /// object, else the context pairs), key, region. Otherwise `EventRow.columnNames` and
    /// `context`.
    package static func table(_ reads: [EventRow], forTerminal: Bool) -> ResultTable {
        ResultTable(columns: columns(forTerminal: forTerminal), cells: reads.map { cells($0, forTerminal: forTerminal) })
    }

    /// The table's columns; with `s3` (the index holds S3 reads), also where each read was
    /// recorded, S3's operation and the bytes sent, as who-read's table has them.
    package static func columns(forTerminal: Bool, s3: Bool = false) -> [String] {
        guard forTerminal else { return EventRow.columnNames + ["context"] }
        return s3
            ? ["TIME", "PRINCIPAL", "RESULT", "SOURCE", "OPERATION", "OBJECT OR CONTEXT", "BYTES", "KEY", "REGION"]
            : ["TIME", "PRINCIPAL", "RESULT", "OBJECT OR CONTEXT", "KEY", "REGION"]
    }

    /// One read's row of `table` (`columns` with the same `s3`).
    package static func cells(_ read: EventRow, forTerminal: Bool, s3: Bool = false) -> [Cell] {
        guard forTerminal else { return read.cells + [Cell(read.context)] }
        guard s3 else {
            return [read.eventTime, read.principalDescription, read.result, read.objectARN ?? read.context, read.keyARN, read.region]
                .map(Cell.init)
        }
        // An S3 record with a key is a read both recorded, as `PairedReadRows` hands it on.
        let source = read.source == "s3" && read.keyARN != nil ? "s3+kms" : read.source
        return [
            read.eventTime, read.principalDescription, read.result, source, read.source == "s3" ? read.eventName : nil,
            read.objectARN ?? read.context, read.bytes.map(String.init), read.keyARN, read.region,
        ].map(Cell.init)
    }

    /// Whether the index holds any S3 read (S3 data events were ingested).
    package static func indexHoldsS3Reads(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM s3_reads)") == true
    }
}
