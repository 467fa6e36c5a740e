import Foundation
import GRDB

/// One KMS event as the query commands show it.
package struct EventRow: Sendable, Equatable {
    package var eventTime: String
    package var eventName: String
    package var eventID: String
    package var principalType: String?
    package var principalARN: String?
    package var roleARN: String?
    package var sessionName: String?
    package var invokedBy: String?
    /// Who an Identity Center user is (`onBehalfOf.userId`, `.identityStoreArn`).
    package var onBehalfOfUserID: String?
    package var identityStoreARN: String?
    /// The caller's account: what names a caller with no ARN (the key owner's copy of another
    /// account's call is an `AWSAccount`). Not an output column: `principal_type` and the
    /// phrase say it.
    package var principalAccountID: String?
    /// `userIdentity.userName`: what names a SAML or web identity user, or an `Unknown` caller.
    package var userName: String?
    /// `inScopeOf.credentialsIssuedTo`: the resource a service called for (a Lambda function).
    package var credentialsIssuedTo: String?
    /// `userIdentity.principalId`: what tells apart the callers of another account the key
    /// owner's copies name (`AROAEXAMPLE:session`). Not an output column either, and not
    /// compared: the phrase shows it.
    package var principalID: String? {
        get { principalIDValue.value }
        set { principalIDValue.value = newValue }
    }
    private var principalIDValue = NotCompared<String?>(value: nil)
    package var errorCode: String?
    package var errorMessage: String?
    package var sourceIP: String?
    package var userAgent: String?
    package var keyARN: String?
    package var region: String?
    package var objectARN: String?
    /// The request's other encryption-context pairs, `name=value; …`, when the query asks for them.
    package var context: String?
    /// Where the read was recorded: `kms` (a Decrypt) or `s3` (an S3 data event).
    package var source = "kms"
    /// Bytes S3 sent (`bytesTransferredOut`); nil for KMS events.
    package var bytes: Int64?
    /// Made by one of the indexer's own principals (`own_principals`).
    package var ownRead = false
    /// Shared by the rows of one read recorded more than once: an S3 read and the KMS Decrypt
    /// S3 made for it (the S3 event's id), and a cross-account Decrypt logged in both accounts
    /// (its `sharedEventID`, or the S3 event's id when S3 recorded the read too).
    package var readID: String?
    /// The call's `sharedEventID` (KMS logs a call on another account's key in both accounts
    /// under one): how `ReadMerger` finds the two copies. Not an output column.
    package var sharedEventID: String? {
        get { shared.value }
        set { shared.value = newValue }
    }
    private var shared = NotCompared<String?>(value: nil)
    /// An S3 read delivered to another account than the caller's (the bucket owner's): of the
    /// two records of a read logged in both accounts, the owner's when neither names the caller
    /// as an `AWSAccount`. Not an output column.
    var loggedOutsideCallersAccount: Bool {
        get { outside.value }
        set { outside.value = newValue }
    }
    private var outside = NotCompared<Bool>(value: false)
    /// The bucket owner's record of an S3 read whose caller's record is listed too (`ReadMerger`
    /// gives both one `readID`): a table shows the read once. Not an output column.
    var isOwnersS3Copy: Bool {
        get { ownersS3Copy.value }
        set { ownersS3Copy.value = newValue }
    }
    private var ownersS3Copy = NotCompared<Bool>(value: false)
    /// The time in milliseconds, where the query knows it: how rows of both sources are
    /// ordered and paired, not part of what a row says.
    var eventTimeMs: Int64? {
        get { sortTime.value }
        set { sortTime.value = newValue }
    }
    private var sortTime = NotCompared<Int64?>(value: nil)
    /// The event's id in `events` while its eventID is still to be looked up (`EventUIDLookup`).
    var eventRow: Int64? {
        get { storedRow.value }
        set { storedRow.value = newValue }
    }
    private var storedRow = NotCompared<Int64?>(value: nil)
    init(eventTime: String, eventName: String, eventID: String) {
        self.eventTime = eventTime
        self.eventName = eventName
        self.eventID = eventID
    }

    /// The caller in one phrase: the role and session for an assumed role, else the ARN,
    /// else the Identity Center user, else the account and principalId of an `AWSAccount`
    /// (`AWSAccount: 444455556666 (AROAEXAMPLE:s1)`, as a session follows its role), else the
    /// service that called, else the user name, the principalId or the account (as `key` and
    /// `denied` phrase a caller, `principalSQL`).
    package var principalDescription: String {
        // An empty ARN (seen in the wild) is no ARN, as in `principalSQL`.
        if let roleARN, !roleARN.isEmpty, let sessionName { return "\(roleARN) (session \(sessionName))" }
        if let principalARN, !principalARN.isEmpty { return principalARN }
        if let onBehalfOfUserID { return "\(principalType ?? "unknown"): \(onBehalfOfUserID)" }
        if principalType == "AWSAccount", let principalAccountID {
            return "AWSAccount: \(principalAccountID)" + (principalID.map { " (\($0))" } ?? "")
        }
        if let invokedBy { return "\(principalType ?? "unknown"): \(invokedBy)" + (credentialsIssuedTo.map { " (\($0))" } ?? "") }
        if let userName { return "\(principalType ?? "unknown"): \(userName)" }
        if let principalID { return "\(principalType ?? "unknown"): \(principalID)" }
        if let principalAccountID { return "\(principalType ?? "unknown"): \(principalAccountID)" }
        return principalType ?? "unknown"
    }

    /// "OK" or the error code.
    package var result: String { errorCode ?? "OK" }

    /// The key owner's copy of a cross-account call whose caller's copy is listed too (the
    /// owner's names the caller as an `AWSAccount`; `ReadMerger` gives both one `readID`), or the
    /// bucket owner's of an S3 read: a table shows the call once, as the caller's.
    package var isOwnerCopy: Bool { (source == "kms" && principalType == "AWSAccount" && readID != nil) || isOwnersS3Copy }

    /// A row of stored columns in this order: time (ms), operation, uid, principal type, ARN,
    /// role ARN, session name, invoked by, error code, error message, source address, user
    /// agent, key ARN, region, own read, Identity Center user id, identity store ARN, account
    /// and principalId, user name, the resource credentials were issued to (who-read's KMS
    /// query and the S3 reads' share it).
    static func stored(_ row: Row) -> EventRow {
        var event = EventRow(eventTime: StoredTime.text(row[0]), eventName: row.text(1) ?? "", eventID: EventUID.text(row[2]))
        event.principalType = row.text(3)
        event.principalARN = row.text(4)
        event.roleARN = row.text(5)
        event.sessionName = row.text(6)
        event.invokedBy = row.text(7)
        event.errorCode = row.text(8)
        event.errorMessage = row.text(9)
        event.sourceIP = StoredAddress.text(row[10])
        event.userAgent = row.text(11)
        event.keyARN = row.text(12)
        event.region = row.text(13)
        event.ownRead = row[14]
        event.onBehalfOfUserID = row.text(15)
        event.identityStoreARN = row.text(16)
        event.principalAccountID = row.text(17)
        event.principalID = row.text(18)
        event.userName = row.text(19)
        event.credentialsIssuedTo = row.text(20)
        event.eventTimeMs = row[0]
        return event
    }

    /// The columns `stored` reads, in its order, from the tables `storedTables` joins, then the
    /// event's id (21: its eventID is left to `EventUIDLookup`) and its sharedEventID (22).
    static let storedColumns = """
        e.event_time, n.text AS event_name, NULL, p.type, p.arn, p.role_arn, p.session_name,
        p.invoked_by, c.text AS error_code, e.error_message,
        coalesce((SELECT text FROM strings WHERE id = e.source_sid), e.source_ip) AS source_ip, a.text AS user_agent,
        k.arn AS key_arn, r.text AS region, \(OwnPrincipals.matches("e.principal_id")) AS own_read,
        p.on_behalf_of_user_id, p.identity_store_arn, p.account_id, p.principal_id, p.user_name, p.credentials_issued_to, e.id, e.shared_event_uid
        """

    /// `events e` and what `storedColumns` names.
    static let storedTables = """
        events e
        JOIN strings n ON n.id = e.event_name_sid
        LEFT JOIN principals p ON p.id = e.principal_id
        LEFT JOIN strings c ON c.id = e.error_code_sid
        LEFT JOIN user_agents a ON a.id = e.user_agent_id
        LEFT JOIN kms_keys k ON k.id = e.key_id
        LEFT JOIN strings r ON r.id = e.region_sid
        """

    static let selectColumns = """
        event_time, event_name, event_id, principal_type, principal_arn, role_arn, session_name,
        invoked_by, error_code, error_message, source_ip, user_agent, key_arn, aws_region, object_arn,
        on_behalf_of_user_id, identity_store_arn, principal_account_id, user_name
        """

    init(row: Row) {
        eventTime = row["event_time"]
        eventName = row["event_name"]
        eventID = row["event_id"]
        principalType = row["principal_type"]
        principalARN = row["principal_arn"]
        roleARN = row["role_arn"]
        sessionName = row["session_name"]
        invokedBy = row["invoked_by"]
        onBehalfOfUserID = row["on_behalf_of_user_id"]
        identityStoreARN = row["identity_store_arn"]
        principalAccountID = row["principal_account_id"]
        userName = row["user_name"]
        errorCode = row["error_code"]
        errorMessage = row["error_message"]
        sourceIP = row["source_ip"]
        userAgent = row["user_agent"]
        keyARN = row["key_arn"]
        region = row["aws_region"]
        objectARN = row["object_arn"]
        context = row["context"]
        ownRead = (row["own_read"] as Bool?) ?? false
        eventTimeMs = row["event_time_ms"]
    }

    /// The column names of an event list in CSV, TSV and JSON (who-read, reads).
    package static let columnNames = [
        "event_time", "event_name", "event_id", "principal_arn", "principal_type", "role_arn",
        "session_name", "invoked_by", "error_code", "error_message", "source_ip", "user_agent",
        "key_arn", "region", "object_arn", "source", "bytes", "own_read", "read_id", "on_behalf_of_user_id",
        "identity_store_arn", "principal", "user_name",
    ]

    /// The values of `columnNames`, in order.
    package var cells: [Cell] {
        [
            eventTime, eventName, eventID, principalARN, principalType, roleARN, sessionName, invokedBy,
            errorCode, errorMessage, sourceIP, userAgent, keyARN, region, objectARN, source,
        ].map(Cell.init)
            + [bytes.map(Cell.integer) ?? .null, .boolean(ownRead), Cell(readID), Cell(onBehalfOfUserID), Cell(identityStoreARN)]
            + [Cell(principalDescription), Cell(userName)]
    }
}

/// Events read in time order, handed on with those of one millisecond in the order of their
/// ids as text, as kms_events orders them (SQL sorts an id stored as text before one stored as
/// 16 bytes). A run of Decrypts and a run of other events are kept apart: who-read reads an
/// object's writes first. Events that came without their eventID get it here, a millisecond at
/// a time (`EventUIDLookup`).
struct MillisecondIDOrder {
    private var held: [EventRow] = []
    private let lookup: EventUIDLookup?

    init(lookup: EventUIDLookup? = nil) { self.lookup = lookup }

    mutating func add(_ event: EventRow, _ hand: (EventRow) throws -> Void) throws {
        if let last = held.last,
            last.eventTimeMs != event.eventTimeMs || (last.eventName == "Decrypt") != (event.eventName == "Decrypt")
        {
            try finish(hand)
        }
        held.append(event)
    }

    mutating func finish(_ hand: (EventRow) throws -> Void) throws {
        try lookup?.fill(&held)
        // Most milliseconds hold one event: handed on without sorting a copy.
        if held.count > 1 { held.sort { $0.eventID < $1.eventID } }
        for event in held { try hand(event) }
        held.removeAll(keepingCapacity: true)
    }
}

/// A value that equality ignores.
struct NotCompared<Value: Sendable>: Sendable, Equatable {
    var value: Value
    static func == (a: Self, b: Self) -> Bool { true }
}

/// An S3 location known to the index.
package struct KnownObject: Sendable, Equatable {
    package var id: Int64
    package var arn: String
    package var kind: String
    package var bucket: String?
}

/// How an object's bucket appears as a bucket-level encryption context (S3 Bucket Keys, where
/// KMS never sees single objects): what an answer must say, with reads or without.
package enum BucketLevelContexts: Sendable, Equatable {
    /// Never: no read means no Decrypt.
    case none
    /// Beside contexts of single objects (Bucket Keys turned on for a bucket already in use):
    /// reads made under a bucket key are not recorded per object.
    case also
    /// Only: no read of a single object is recorded by KMS there.
    case only
}

/// The answer to "who read this object?".
package enum WhoReadAnswer: Sendable, Equatable {
    /// The object is known: its Decrypt events (maybe none), and the events that wrote it.
    /// `bucketLevel`: with reads, `.also` when its bucket is seen as a bucket too (the reads
    /// made under a bucket key are not among them).
    case object(KnownObject, reads: [EventRow], writes: [EventRow], bucketLevel: BucketLevelContexts)
    /// Nothing in the index names it.
    case unknown(bucketLevel: BucketLevelContexts)
    /// A suffix that matches several objects.
    case ambiguous(candidates: [String])
}

/// Finds who decrypted an S3 object (a CloudTrail log file, or any SSE-KMS object).
package struct WhoRead {
    let db: Database

    package init(_ db: Database) { self.db = db }

    /// Answers for `query`: an object ARN, `s3://bucket/key`, `bucket/key`, a bucket
    /// (`s3://bucket`, bucket ARN), or a file name or key suffix matching one object.
    package func answer(_ query: String) throws -> WhoReadAnswer {
        let object: KnownObject
        switch try lookUp(query) {
        case let .answered(answer): return answer
        case let .found(found): object = found
        }
        var reads: [EventRow] = [], writes: [EventRow] = []
        try forEachEvent(of: object, s3: try s3Reads(of: object), writes: { writes = $0 }, read: { reads.append($0) })
        return .object(object, reads: reads, writes: writes, bucketLevel: try bucketLevel(of: object, read: !reads.isEmpty))
    }

    /// The one object `query` names, or the answer when it names none or several.
    package enum LookUp {
        case found(KnownObject)
        case answered(WhoReadAnswer)
    }

    package func lookUp(_ query: String) throws -> LookUp {
        let candidates = try resolve(query)
        if candidates.count > 1 { return .answered(.ambiguous(candidates: candidates.map(\.arn).sorted())) }
        guard let object = candidates.first else {
            return .answered(.unknown(bucketLevel: try bucketLevelContexts(bucket: Self.bucketName(query))))
        }
        return .found(object)
    }

    /// The object's reads from S3 data events (`S3Reads`), oldest first.
    package func s3Reads(of object: KnownObject) throws -> [EventRow] { try S3Reads(db).reads(of: object) }

    /// The object's writes (GenerateDataKey*, Encrypt), oldest first, handed whole to `writes`;
    /// then its reads, oldest first, handed to `read` as SQLite yields them: its Decrypts, with
    /// `s3` (its reads from S3 data events, `s3Reads(of:)`) merged in and paired
    /// (`ReadMerger`). A year of a hot object's reads is never held.
    ///
    /// One query on the tables, writes first, rather than on kms_events: who-read is a whole
    /// process per lookup, and preparing a statement (the view's every column a subquery)
    /// costs more than running it. Times, ids and addresses are turned into text here, as the
    /// view would.
    package func forEachEvent(
        of object: KnownObject, s3: [EventRow], writes: ([EventRow]) throws -> Void, read: @escaping (EventRow) throws -> Void
    ) throws {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT \(EventRow.storedColumns) FROM \(EventRow.storedTables)
                WHERE e.object_id = ? AND n.text IN ('Decrypt', \(DailySummaries.writeOperationsSQL))
                ORDER BY n.text = 'Decrypt', e.event_time
                """, arguments: [object.id])
        var merger = ReadMerger(s3: s3, hand: read)
        var written: [EventRow] = []
        var readsStarted = false
        func hand(_ event: EventRow) throws {
            if event.eventName != "Decrypt" {
                written.append(event)
                return
            }
            if !readsStarted {
                readsStarted = true
                try writes(written)
            }
            try merger.add(event)
        }
        var order = MillisecondIDOrder(lookup: try EventUIDLookup(db))
        while let row = try rows.next() {
            var event = EventRow.stored(row)
            event.eventRow = row[21]
            let shared: DatabaseValue = row[22]
            if !shared.isNull { event.sharedEventID = EventUID.text(shared) }
            event.objectARN = object.arn
            try order.add(event, hand)
        }
        try order.finish(hand)
        if !readsStarted { try writes(written) }
        try merger.finish()
    }

    /// Objects the query names, most specific form first.
    func resolve(_ query: String) throws -> [KnownObject] {
        func fetch(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> [KnownObject] {
            try Array(
                Row.fetchCursor(
                    db,
                    sql: """
                        SELECT o.id, \(S3ObjectSQL.arn) AS arn, o.kind, b.name AS bucket
                        FROM s3_objects o LEFT JOIN s3_buckets b ON b.id = o.bucket_id
                        WHERE \(sql) LIMIT 50
                        """, arguments: StatementArguments(arguments)
                )
                .map { KnownObject(id: $0[0], arn: $0.text(1) ?? "", kind: $0[2], bucket: $0.text(3)) })
        }
        if query.hasPrefix("arn:") {
            let (bucketARN, key) = S3ObjectSQL.split(arn: query)
            guard let bucketARN else { return try fetch("o.bucket_id IS NULL AND \(S3ObjectSQL.keyIs)", S3ObjectSQL.key(query)) }
            let bucket = "o.bucket_id = (SELECT id FROM s3_buckets WHERE arn = ?)"
            guard let key else { return try fetch("\(bucket) AND o.kind = 'bucket'", [bucketARN]) }
            return try fetch("\(bucket) AND \(S3ObjectSQL.keyIs)", [bucketARN] + S3ObjectSQL.key(key))
        }
        var path = query
        if path.hasPrefix("s3://") { path.removeFirst(5) }
        let inBucket = "o.bucket_id IN (SELECT id FROM s3_buckets WHERE name = ?)"
        if let slash = path.firstIndex(of: "/") {
            let bucket = String(path[..<slash])
            let key = String(path[path.index(after: slash)...])
            let exact =
                key.isEmpty
                ? try fetch("\(inBucket) AND o.kind = 'bucket'", [bucket])
                : try fetch("\(inBucket) AND \(S3ObjectSQL.keyIs)", [bucket] + S3ObjectSQL.key(key))
            if !exact.isEmpty || query.hasPrefix("s3://") { return exact }
        } else if query.hasPrefix("s3://") {
            return try fetch("\(inBucket) AND o.kind = 'bucket'", [path])
        }
        // A file name or the end of a key after a slash: the whole key (indexed), or the end of
        // one (a scan; compared exactly, as LIKE would ignore case).
        let whole = try fetch("\(S3ObjectSQL.keyIs) AND o.kind != 'bucket'", S3ObjectSQL.key(query))
        let ending = try fetch("substr(o.key, -(length(?) + 1)) = '/' || ? AND o.kind != 'bucket'", [query, query])
        return Array((whole + ending).prefix(50))
    }

    /// How the bucket of `object` (not a bucket) appears as a bucket-level context; when it was
    /// `read`, `.also` or `.none` (looked up through an index: who-read runs it every time).
    package func bucketLevel(of object: KnownObject, read: Bool) throws -> BucketLevelContexts {
        guard object.kind != "bucket" else { return .none }
        guard read else { return try bucketLevelContexts(bucket: object.bucket) }
        return try bucketIsSeenWhole(object.bucket) ? .also : .none
    }

    /// True when the index holds the bucket's own row: an event's encryption context named the
    /// bucket, not an object in it.
    func bucketIsSeenWhole(_ bucket: String?) throws -> Bool {
        guard let bucket else { return false }
        return try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM s3_object_rows o
                               WHERE \(S3ObjectSQL.isBucketRow) AND o.bucket_id IN (SELECT id FROM s3_buckets WHERE name = ?))
                """, arguments: [bucket]) == true
    }

    /// Whether the index holds S3 reads (data events) of objects of `bucket`. A scan of the S3
    /// reads, stopped at the first: only an answer of no reads asks.
    package func s3ReadsRecorded(bucket: String?) throws -> Bool {
        guard let bucket else { return false }
        return try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM s3_reads r JOIN s3_object_rows o ON o.id = r.object_id
                               WHERE o.bucket_id IN (SELECT id FROM s3_buckets WHERE name = ?))
                """, arguments: [bucket]) == true
    }

    /// How the bucket appears as a bucket-level context in the index.
    package func bucketLevelContexts(bucket: String?) throws -> BucketLevelContexts {
        guard let bucket, try bucketIsSeenWhole(bucket) else { return .none }
        // A scan, stopped at the first object of the bucket: only an answer of no reads asks.
        let objects = try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM s3_object_rows
                               WHERE kind != 'bucket' AND bucket_id IN (SELECT id FROM s3_buckets WHERE name = ?))
                """, arguments: [bucket])
        return objects == true ? .also : .only
    }

    /// The bucket `query` names, when it names one.
    package static func bucketName(_ query: String) -> String? {
        if query.hasPrefix("arn:") { return S3Location(arn: query).bucket }
        var path = query
        if path.hasPrefix("s3://") { path.removeFirst(5) } else if !path.contains("/") { return nil }
        return path.split(separator: "/", maxSplits: 1).first.map(String.init)
    }
}
