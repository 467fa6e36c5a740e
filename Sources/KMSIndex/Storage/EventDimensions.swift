import Foundation
import GRDB

/// The tables of distinct values an event's ids point into (keys, trails, S3 locations and
/// buckets, strings, user agents, context names and values, principals), each with its cache:
/// the writer's lookups of ids, the row inserted the first time.
final class EventDimensions {
    let db: Database
    let keys: DimensionTable
    let trails: DimensionTable
    let objects: DimensionTable
    let folders: DimensionTable
    let buckets: DimensionTable
    let strings: DimensionTable
    let userAgents: DimensionTable
    let contextNames: DimensionTable
    let contextValues: DimensionTable
    let principals: DimensionTable
    let roles: DimensionTable
    /// A principal's identity text, built here for each event (see `principal`); used from one
    /// thread at a time, without run-time exclusivity checks.
    @exclusivity(unchecked) private var identityBytes: [UInt8] = []

    init(db: Database) throws {
        self.db = db
        let ranges = try RecentRangeLookups(db: db)
        self.ranges = ranges
        keys = try DimensionTable(
            db, table: "kms_keys", select: "SELECT id FROM kms_keys WHERE arn = ?",
            insert: "INSERT INTO kms_keys (arn, account_id, region, key_id) VALUES (?, ?, ?, ?)")
        trails = try DimensionTable(
            db, table: "trails", select: "SELECT id FROM trails WHERE arn = ?",
            insert: "INSERT INTO trails (arn, account_id, region, name) VALUES (?, ?, ?, ?)")
        objects = try DimensionTable(
            db, table: "s3_object_rows",
            select: """
                SELECT v.id FROM s3_object_rows r CROSS JOIN s3_objects v ON v.id = r.id
                WHERE \(S3ObjectSQL.rows(folderID: "?4", hash: "?1")) AND v.key IS ?2 AND v.bucket_id IS ?3
                """,
            // The key cut as `S3ObjectRows.insert` cuts it, by `S3ObjectRows.cut` (the row's
            // folder and what it leaves of the key): an INSERT … SELECT that cut it was a sixth of
            // the writer's instructions where most locations are new.
            insert: "INSERT INTO s3_object_rows (kind, bucket_id, folder_id, name, key_hash) VALUES (?, ?, ?, ?, ?)")
        folders = try DimensionTable(
            db, table: "s3_folders", select: "SELECT id FROM s3_folders WHERE recent \(ranges.anyRange("s3_folders")) AND folder = ?",
            selectRecent: "SELECT id FROM s3_folders WHERE recent = \(ranges.recent("s3_folders")) AND folder = ?",
            insert: "INSERT INTO s3_folders (folder, name_prefix, recent) VALUES (?, ?, ?)")
        buckets = try DimensionTable(
            db, table: "s3_buckets", select: "SELECT id FROM s3_buckets WHERE arn = ?",
            insert: "INSERT INTO s3_buckets (arn, name) VALUES (?, ?)")
        strings = try DimensionTable(
            db, table: "strings", select: "SELECT id FROM strings WHERE text = ?",
            insert: "INSERT INTO strings (text) VALUES (?)")
        userAgents = try DimensionTable(
            db, table: "user_agents", select: "SELECT id FROM user_agents WHERE text = ?",
            insert: "INSERT INTO user_agents (text) VALUES (?)")
        contextNames = try DimensionTable(
            db, table: "context_names", select: "SELECT id FROM context_names WHERE name = ?",
            insert: "INSERT INTO context_names (name) VALUES (?)")
        contextValues = try DimensionTable(
            db, table: "context_values",
            select: "SELECT id FROM context_values WHERE recent \(ranges.anyRange("context_values")) AND value_hash = ? AND value = ?",
            selectRecent:
                "SELECT id FROM context_values WHERE recent = \(ranges.recent("context_values")) AND value_hash = ? AND value = ?",
            insert: "INSERT INTO context_values (value_hash, value, recent) VALUES (?, ?, ?)")
        func principalSelect(_ recent: String) -> String {
            """
            SELECT p.id FROM principal_rows x CROSS JOIN principals p ON p.id = x.id
            WHERE x.recent \(recent) AND x.identity_hash = ?
            \(Self.principalFields.map { "AND coalesce(p.\($0), '') = coalesce(?, '')" }.joined(separator: " "))
            """
        }
        principals = try DimensionTable(
            db, table: "principal_rows", select: principalSelect(ranges.anyRange("principal_rows")),
            selectRecent: principalSelect("= \(ranges.recent("principal_rows"))"),
            insert: PrincipalRows.insertValues)
        roles = try DimensionTable(db, table: "roles", select: "SELECT id FROM roles WHERE arn = ?", insert: PrincipalRows.insertRole)
    }

    /// Where the writer looks values of the tables with ranges up, and which range their new
    /// rows go in.
    let ranges: RecentRangeLookups

    private var all: [DimensionTable] {
        [keys, trails, objects, folders, buckets, strings, userAgents, contextNames, contextValues, principals, roles]
    }

    /// Forgets every cached id (after a rollback they may name rows that no longer exist), and
    /// which filters the run deleted (a rollback may have restored them).
    func reset() {
        for table in all { table.reset() }
        ranges.reset()
        newFolders.removeAll()
        folderHeads.removeAll()
        roleStemsByID.removeAll()
    }

    /// Starts a new generation of the caches whose current one holds more than `limit` ids or
    /// `bytes` bytes.
    func bound(_ limit: Int, bytes: Int) {
        for table in all {
            // Locations this run stored may leave the cache with the generation it drops.
            guard table.bound(limit, bytes: bytes) else { continue }
            if table === objects { newFolders.removeAll() }
            if table === folders { folderHeads.removeAll() }
            if table === roles { roleStemsByID.removeAll() }
        }
    }

    func key(_ arn: String?) throws -> Int64? {
        guard let arn else { return nil }
        return try key(arn)
    }

    func key(_ arn: String) throws -> Int64 {
        try keys.id(db, arn) { row in
            let parsed = ARN(arn)
            row.text(arn)
            row.text(parsed?.account)
            row.text(parsed?.region)
            row.text(parsed.map { String($0.resource.dropFirst("key/".count)) })
        }
    }

    func trail(_ arn: String?) throws -> Int64? {
        guard let arn else { return nil }
        return try trail(arn)
    }

    func trail(_ arn: String) throws -> Int64 {
        try trails.id(db, arn) { row in
            let parsed = ARN(arn)
            row.text(arn)
            row.text(parsed?.account)
            row.text(parsed?.region)
            row.text(parsed.flatMap { $0.resource.hasPrefix("trail/") ? String($0.resource.dropFirst(6)) : nil })
        }
    }

    func object(_ arn: String?) throws -> Int64? {
        guard let arn else { return nil }
        return try object(arn)
    }

    /// An S3 location: its bucket (by bucket ARN) and its key; an unparsed ARN is kept whole.
    func object(_ arn: String) throws -> Int64 {
        if let id = objects.cached(arn) { return id }
        let location = S3Location(arn: arn)
        let (bucketARN, key) = S3ObjectSQL.split(arn: arn, location)
        let bucketID = try bucketARN.map { try bucket(arn: $0, name: location.bucket ?? "") }
        let hash = key.map(StoredKeyHash.of)
        // A location already stored has its folder stored: this finds it (usually in the cache).
        let folderText = key.flatMap(LedgerPath.s3Folder)
        let folderID = try folderText.map(folder)
        let head = try folderID.flatMap(folderHead)
        let id = try objects.id(
            db, lookUp: isNew(key: key, folderID: folderID, head: head) ? .nowhere : .everywhere,
            bind: { row in
                row.int(hash)
                row.text(key)
                row.int(bucketID)
                row.int(folderID)
            },
            insert: { row in
                let stored = S3ObjectRows.cut(key, folderID: folderID, head: head)
                row.text(location.kind.rawValue)
                row.int(bucketID)
                row.int(stored.folderID)
                row.text(stored.name)
                row.int(hash)
            })
        objects.remember(id, for: arn)
        return id
    }

    /// Folders this run added, since the cache of S3 locations last started a generation: a
    /// location in one of them was not stored before the run (see `isNew`), and those the run
    /// stored are all in that cache.
    private var newFolders: Set<Int64> = []

    /// The head of each folder row found or added since the cache of folders last started a
    /// generation: its `folder || coalesce(name_prefix, '')` as stored, as UTF-8 (a row an older
    /// kmsindex left may have no prefix). One that fell out is read from its row again. Made
    /// once per folder: making it for each new location was a tenth of the writer's
    /// instructions where most locations are new.
    private var folderHeads: [Int64: [UInt8]] = [:]

    /// The head of the folder row `id` (see `folderHeads`).
    private func folderHead(_ id: Int64) throws -> [UInt8]? {
        if let head = folderHeads[id] { return head }
        let head = try Data.fetchOne(
            db, sql: "SELECT CAST(folder || coalesce(name_prefix, '') AS BLOB) FROM s3_folders WHERE id = ?", arguments: [id])
        folderHeads[id] = head.map(Array.init)
        return folderHeads[id]
    }

    /// Whether the S3 location `key` cannot be stored yet, so that looking it up would read a
    /// page of an index of the whole history for nothing: when its folder is new to the index
    /// (added by this run) and its key starts with the folder's text and name prefix. A stored
    /// location whose key does is stored cut against its folder's row (`S3ObjectRows`: the
    /// writer, merge and migration 021 cut so), and `prune` deletes only folders no location
    /// names: that row, and so the folder, would have been found. A key holding a NUL is looked
    /// up anyway (SQLite's text functions stop at one).
    private func isNew(key: String?, folderID: Int64?, head: [UInt8]?) -> Bool {
        guard let key, let folderID, let head, newFolders.contains(folderID), S3ObjectRows.key(key, startsWith: head) else {
            return false
        }
        var bytes = key
        return bytes.withUTF8 { $0.isEmpty || memchr($0.baseAddress!, 0, $0.count) == nil }
    }

    /// The id of a key's folder, its row made the first time.
    func folder(_ folder: String) throws -> Int64 {
        if let id = folders.cached(folder) { return id }
        let hash = LookupFilters.hash(folder: folder)
        let namePrefix = CloudTrailLogName.namePrefix(folder: folder)
        let (id, inserted) = try folders.row(
            db, lookUp: ranges.lookUp("s3_folders", hash: hash),
            bind: { $0.text(folder) },
            insert: { row in
                row.text(folder)
                row.text(namePrefix)
                row.int(ranges.recent("s3_folders"))
            })
        folders.remember(id, for: folder)
        if inserted {
            newFolders.insert(id)
            folderHeads[id] = Array((folder + (namePrefix ?? "")).utf8)
            ranges.added("s3_folders", hash: hash)
        }
        return id
    }

    func bucket(arn: String, name: String) throws -> Int64 {
        try buckets.id(db, arn) { row in
            row.text(arn)
            row.text(name)
        }
    }

    func string(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        return try string(text)
    }

    func string(_ text: String) throws -> Int64 { try textID(text, in: strings) }

    func userAgent(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        return try textID(text, in: userAgents)
    }

    func contextName(_ name: String) throws -> Int64 { try textID(name, in: contextNames) }

    /// A context value, found by the hash of its text and then its text (migration 024).
    func contextValue(_ value: String) throws -> Int64 {
        if let id = contextValues.cached(value) { return id }
        let hash = PrincipalIdentity.textHash(value)
        func bind(_ row: inout BoundStatement) {
            row.int(hash)
            row.text(value)
        }
        let (id, inserted) = try contextValues.row(
            db, lookUp: ranges.lookUp("context_values", hash: hash), bind: bind,
            insert: { row in
                bind(&row)
                row.int(ranges.recent("context_values"))
            })
        contextValues.remember(id, for: value)
        if inserted { ranges.added("context_values", hash: hash) }
        return id
    }

    /// The id of `text` in a table of distinct texts (one column), through its cache.
    func textID(_ text: String, in table: DimensionTable) throws -> Int64 {
        try table.id(db, text) { $0.text(text) }
    }

    /// A principal is cached by its identity text, built in a reused buffer (hashing and
    /// comparing nineteen optional Strings per event cost more); its row is found by the text's
    /// hash and its fields.
    func principal(_ p: Principal) throws -> Int64 {
        identityBytes.removeAll(keepingCapacity: true)
        PrincipalIdentity.append(p, to: &identityBytes)
        if let id = identityBytes.withUnsafeBufferPointer({ principals.cached(utf8: $0) }) { return id }
        let identity = String(decoding: identityBytes, as: UTF8.self)
        let id = try storedPrincipal(p, hash: identityBytes.withUnsafeBufferPointer(PrincipalIdentity.hash))
        principals.remember(id, for: identity)
        return id
    }

    /// Columns of `principals` besides the hash that tell principals apart, in the order
    /// `storedPrincipal` binds them (`PrincipalRows.columns` then has the session's attributes).
    static let principalFields = [
        "type", "arn", "account_id", "principal_id", "user_name", "role_arn", "session_name", "invoked_by",
        "access_key_id", "source_identity", "credential_from_console", "on_behalf_of_user_id", "identity_store_arn",
        "identity_provider", "credentials_issued_to", "federated_provider",
    ]

    /// The position of `role_arn` in `principalFields`, where `PrincipalRows.columns` has `role_id`.
    static let roleField = principalFields.firstIndex(of: "role_arn")!
    /// The positions of the fields a role may give back.
    static let arnField = principalFields.firstIndex(of: "arn")!
    static let accountField = principalFields.firstIndex(of: "account_id")!
    static let principalIDField = principalFields.firstIndex(of: "principal_id")!

    /// The id of the principal's row, by the hash of its identity and then every field,
    /// compared in bytes by SQLite; an absent field matches an empty one, as in the identity.
    /// A new row names its role (`roles`, the first session of a role gives its prefixes) and
    /// leaves out what the role gives back (`PrincipalRows`).
    func storedPrincipal(_ p: Principal, hash: Int64) throws -> Int64 {
        let fields = [
            p.type, p.arn, p.accountID, p.principalID, p.userName, p.roleARN, p.sessionName,
            p.invokedBy, p.accessKeyID, p.sourceIdentity, p.credentialFromConsole, p.onBehalfOfUserID, p.identityStoreARN,
            p.identityProvider, p.credentialsIssuedTo, p.federatedProvider,
        ]
        // A principal already stored has its role stored: this finds it (usually in the cache).
        let roleID = try p.roleARN.map { try role($0, of: p) }
        let stems = try roleID.flatMap(roleStems)
        let (id, inserted) = try principals.row(
            db, lookUp: ranges.lookUp("principal_rows", hash: hash),
            bind: { row in
                row.int(hash)
                for field in fields { row.text(field) }
            },
            insert: { row in
                // The columns of `PrincipalRows`: the same fields, the role's id for its ARN, less
                // those the role and the session name give back.
                let derived = PrincipalRows.derived(
                    arn: p.arn, accountID: p.accountID, principalID: p.principalID, session: p.sessionName, role: stems)
                row.int(hash)
                for (index, field) in fields.enumerated() {
                    switch index {
                    case Self.roleField: row.int(roleID)
                    case Self.arnField where derived & 1 != 0, Self.accountField where derived & 2 != 0,
                        Self.principalIDField where derived & 4 != 0:
                        row.text(nil)
                    default: row.text(field)
                    }
                }
                row.text(p.mfaAuthenticated)
                row.text(p.sessionCreated)
                row.text(p.ec2RoleDelivery)
                row.int(derived)
                row.int(ranges.recent("principal_rows"))
            })
        if inserted { ranges.added("principal_rows", hash: hash) }
        return id
    }

    /// The stems of each role found or added since the cache of roles last started a
    /// generation (`PrincipalRows.RoleStems`), read from its row.
    private var roleStemsByID: [Int64: PrincipalRows.RoleStems] = [:]

    private func roleStems(_ id: Int64) throws -> PrincipalRows.RoleStems? {
        if let stems = roleStemsByID[id] { return stems }
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT CAST(session_arn_prefix AS BLOB), CAST(account_id AS BLOB), CAST(principal_id_prefix AS BLOB)
                    FROM roles WHERE id = ?
                    """, arguments: [id])
        else { return nil }
        func bytes(_ index: Int) -> [UInt8]? { (row[index] as Data?).map(Array.init) }
        let stems = PrincipalRows.RoleStems(sessionARNPrefix: bytes(0), accountID: bytes(1), principalIDPrefix: bytes(2))
        roleStemsByID[id] = stems
        return stems
    }

    /// The id of the role `arn`, its row made from `session` (the principal that names it)
    /// the first time.
    func role(_ arn: String, of session: Principal) throws -> Int64 {
        try roles.id(db, arn) { row in
            row.text(arn)
            row.text(session.accountID)
            row.text(session.arn)
            row.text(session.principalID)
            row.text(session.sessionName)
        }
    }
}
