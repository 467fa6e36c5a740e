import GRDB

/// The texts an event's ids stand for (operation, caller, key, user agent, region, error code,
/// S3 location), each id looked up once and then kept.
///
/// A month of one role's reads is tens of thousands of events naming a few callers, keys and
/// agents: joined row by row, SQLite looked each of them up again for every event, through the
/// views that put principals and S3 keys back together. At most `limit` ids of a kind are kept,
/// so that a year of a caller's reads holds no more.
final class StoredEventTexts {
    /// What `principals` says of a caller, and whether it is one of the indexer's own.
    struct Caller {
        var type, arn, roleARN, sessionName, invokedBy, onBehalfOfUserID, identityStoreARN, accountID, principalID, userName,
            credentialsIssuedTo: String?
        var own: Bool
    }

    /// The columns `row(_:)` reads, in its order, from `events e`. The eventID is left to
    /// `EventUIDLookup` (`EventRow.eventRow`).
    static let columns = """
        e.event_time, e.event_name_sid, e.id, e.principal_id, e.error_code_sid, e.error_message,
        e.source_sid, e.source_ip, e.user_agent_id, e.key_id, e.region_sid, e.object_id
        """

    /// Ids of one kind kept at most.
    let limit: Int

    private let stringText, callerFields, keyARN, agentText, objectARN: Statement
    private var strings: [Int64: String?] = [:]
    private var callers: [Int64: Caller?] = [:]
    private var keys: [Int64: String?] = [:]
    private var agents: [Int64: String?] = [:]
    private var objects: [Int64: String?] = [:]

    init(_ db: Database, limit: Int = 1 << 16) throws {
        self.limit = limit
        stringText = try db.makeStatement(sql: "SELECT text FROM strings WHERE id = ?")
        callerFields = try db.makeStatement(
            sql: """
                SELECT p.type, p.arn, p.role_arn, p.session_name, p.invoked_by, p.on_behalf_of_user_id, p.identity_store_arn,
                       \(OwnPrincipals.matches("p.id")), p.account_id, p.principal_id, p.user_name, p.credentials_issued_to
                FROM principals p WHERE p.id = ?
                """)
        keyARN = try db.makeStatement(sql: "SELECT arn FROM kms_keys WHERE id = ?")
        agentText = try db.makeStatement(sql: "SELECT text FROM user_agents WHERE id = ?")
        objectARN = try db.makeStatement(
            sql: """
                SELECT coalesce(b.arn || '/' || o.key, b.arn, o.key)
                FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id WHERE o.id = ?
                """)
    }

    /// The event of a row of `columns`, as `EventRow.stored` and the object's ARN give it.
    func row(_ row: Row) throws -> EventRow {
        var event = EventRow(
            eventTime: StoredTime.text(row[0]), eventName: try string(row[1]) ?? "", eventID: "")
        event.eventRow = row[2]
        if let caller = try caller(row[3]) {
            event.principalType = caller.type
            event.principalARN = caller.arn
            event.roleARN = caller.roleARN
            event.sessionName = caller.sessionName
            event.invokedBy = caller.invokedBy
            event.onBehalfOfUserID = caller.onBehalfOfUserID
            event.identityStoreARN = caller.identityStoreARN
            event.principalAccountID = caller.accountID
            event.principalID = caller.principalID
            event.userName = caller.userName
            event.credentialsIssuedTo = caller.credentialsIssuedTo
            event.ownRead = caller.own
        }
        event.errorCode = try string(row[4])
        event.errorMessage = row.text(5)
        event.sourceIP = try string(row[6]) ?? StoredAddress.text(row[7])
        event.userAgent = try text(row[8], &agents, agentText)
        event.keyARN = try text(row[9], &keys, keyARN)
        event.region = try string(row[10])
        event.objectARN = try text(row[11], &objects, objectARN)
        event.eventTimeMs = row[0]
        return event
    }

    private func string(_ id: Int64?) throws -> String? { try text(id, &strings, stringText) }

    private func text(_ id: Int64?, _ kept: inout [Int64: String?], _ statement: Statement) throws -> String? {
        try remembered(id, &kept) { try String.fetchWhole(statement, arguments: [$0]) }
    }

    private func caller(_ id: Int64?) throws -> Caller? {
        try remembered(id, &callers) { id in
            // A cursor's row, read while the cursor lives: its texts are read whole.
            let rows = try Row.fetchCursor(callerFields, arguments: [id])
            return try rows.next().map { row in
                Caller(
                    type: row.text(0), arn: row.text(1), roleARN: row.text(2), sessionName: row.text(3), invokedBy: row.text(4),
                    onBehalfOfUserID: row.text(5), identityStoreARN: row.text(6), accountID: row.text(8), principalID: row.text(9),
                    userName: row.text(10), credentialsIssuedTo: row.text(11),
                    own: row[7] ?? false)
            }
        }
    }

    /// What `id` stands for, from `kept` or else fetched and kept (nil too); `kept` is emptied
    /// when it holds `limit` ids.
    private func remembered<T>(_ id: Int64?, _ kept: inout [Int64: T?], _ fetch: (Int64) throws -> T?) throws -> T? {
        guard let id else { return nil }
        if let known = kept[id] { return known }
        let found = try fetch(id)
        if kept.count >= limit { kept.removeAll(keepingCapacity: true) }
        kept[id] = found
        return found
    }
}
