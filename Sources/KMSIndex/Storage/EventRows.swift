import Foundation

/// One row of `events`, as the writer binds it.
struct EventsRow: BoundRow {
    // OR FAIL, not the default ABORT: a statement that may abort half-way through several
    // rows keeps a journal of the pages it changes, so that it can undo itself (written to a
    // temporary file, 4 KiB a page). The writer rolls the whole transaction back on any error.
    static let insertHead = """
        INSERT OR FAIL INTO events (id, event_time, event_name_sid, region_sid, recipient_account_sid, key_id,
            source_key_id, requested_key_sid, principal_id, object_id, trail_id, source_ip, user_agent_id,
            error_code_sid, error_message, request_uid, shared_event_uid, read_only, event_type_sid, source_file_id,
            source_sid)
        """
    static let columnCount = 21

    var id, time: Int64
    var eventName, region, recipientAccount, key, sourceKey, requestedKey, principal, object, trail: Int64?
    /// An IPv4 address as an integer; a name (an AWS service) as `sourceName`, an id in
    /// strings; else `sourceIP`, as text.
    var packedSourceIP: Int64?
    var sourceIP: String?
    var sourceName: Int64?
    var userAgent, errorCode: Int64?
    var errorMessage: String?
    var requestID, sharedEventID: CloudTrailID?
    var readOnly: Bool?
    var eventType: Int64?
    var fileID: Int64

    init(id: Int64, time: Int64, fileID: Int64) {
        self.id = id
        self.time = time
        self.fileID = fileID
    }

    func bind(_ row: inout BoundStatement) {
        row.int(id)
        row.int(time)
        row.int(eventName)
        row.int(region)
        row.int(recipientAccount)
        row.int(key)
        row.int(sourceKey)
        row.int(requestedKey)
        row.int(principal)
        row.int(object)
        row.int(trail)
        if let packedSourceIP { row.int(packedSourceIP) } else { row.text(sourceIP) }
        row.int(userAgent)
        row.int(errorCode)
        row.text(errorMessage)
        row.uid(requestID)
        row.uid(sharedEventID)
        row.bool(readOnly)
        row.int(eventType)
        row.int(fileID)
        row.int(sourceName)
    }
}

/// One pair of an event's encryption contexts, other than the object and the trail.
struct ContextRow: BoundRow {
    // OR FAIL: see EventsRow. The normalizer leaves one pair per scope and name.
    static let insertHead = "INSERT OR FAIL INTO event_context (event_id, scope, name_id, value_id)"
    static let columnCount = 4

    var eventRowID, scope, name, value: Int64

    func bind(_ row: inout BoundStatement) {
        row.int(eventRowID)
        row.int(scope)
        row.int(name)
        row.int(value)
    }
}

/// A key and one of its aliases, as `kms_key_aliases` keys its rows: the alias by its bytes,
/// as SQLite compares it ("é" and "e\u{301}" are two aliases there, one String here).
struct PendingAlias: Hashable {
    var keyID: Int64
    var alias: String

    static func == (a: PendingAlias, b: PendingAlias) -> Bool { a.keyID == b.keyID && a.alias.hasSameUTF8(as: b.alias) }

    func hash(into hasher: inout Hasher) {
        hasher.combine(keyID)
        alias.withUTF8Bytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
