/// How a principal is stored (migration 020): a row of `principal_rows` naming its role in
/// `roles`, without the ARN, account or principalId where the role's prefixes and the session
/// name give them back byte for byte. The view `principals` puts them back.
///
/// Merge inserts with the SQL built here, as the migration does, and the writer with `derived`,
/// its twin (a test holds them to the same rows): a field is left out only when the role's
/// value, joined to the session name, compares equal to it in SQLite.
enum PrincipalRows {
    /// The columns of `principal_rows` given by an insert, in order (`derived` is computed).
    static let columns = [
        "identity_hash", "type", "arn", "account_id", "principal_id", "user_name", "role_id", "session_name",
        "invoked_by", "access_key_id", "source_identity", "credential_from_console", "on_behalf_of_user_id",
        "identity_store_arn", "identity_provider", "credentials_issued_to", "federated_provider",
        // The session's attributes: stored with the row, not compared (`PrincipalIdentity`).
        "mfa_authenticated", "session_created", "ec2_role_delivery",
    ]

    /// An INSERT of one row of `principal_rows` per row of `source` (a FROM clause) that
    /// `filter` keeps, with `values` (SQL over `source`, in the order of `columns`), in the
    /// order of `orderBy` (SQL over `source`) if given; `recent` (SQL) is the rows' `recent`
    /// (`RecentRows`), `id` (SQL over `source`) their ids if given.
    static func insert(
        values: [String], recent: String, id: String? = nil, source: String = "(SELECT 1)", filter: String? = nil,
        orderBy: String? = nil, schema: String = "main"
    ) -> String {
        precondition(values.count == columns.count)
        let value = Dictionary(uniqueKeysWithValues: zip(columns, values))
        let arn = value["arn"]!, account = value["account_id"]!, principalID = value["principal_id"]!
        let session = value["session_name"]!
        let named = zip(columns, values).map { "\($1) AS \($0)" }.joined(separator: ", ")
        let kept = columns.map { column in
            switch column {
            case "arn": "iif(v.derived & 1, NULL, v.arn)"
            case "account_id": "iif(v.derived & 2, NULL, v.account_id)"
            case "principal_id": "iif(v.derived & 4, NULL, v.principal_id)"
            default: "v.\(column)"
            }
        }
        return """
            INSERT INTO \(schema).principal_rows (\(id == nil ? "" : "id, ")\(columns.joined(separator: ", ")), derived, recent)
            SELECT \(id == nil ? "" : "v.new_id, ")\(kept.joined(separator: ", ")), v.derived, \(recent) FROM (
                SELECT \(named),\(orderBy.map { " \($0) AS sort_key," } ?? "")\(id.map { " \($0) AS new_id," } ?? "")
                       coalesce(\(arn) = r.session_arn_prefix || \(session), 0)
                       | (coalesce(\(account) = r.account_id, 0) << 1)
                       | (coalesce(\(principalID) = r.principal_id_prefix || \(session), 0) << 2) AS derived
                FROM \(source) LEFT JOIN \(schema).roles r ON r.id = \(value["role_id"]!)\(filter.map { " WHERE \($0)" } ?? "")
            ) v\(orderBy == nil ? "" : " ORDER BY v.sort_key")
            """
    }

    /// What a session's fields are compared with to leave them out (`insert`'s `derived`): its
    /// role's `session_arn_prefix`, `account_id` and `principal_id_prefix`, as stored, in bytes.
    struct RoleStems: Equatable {
        var sessionARNPrefix, accountID, principalIDPrefix: [UInt8]?
    }

    /// The writer's plain INSERT of one row: `columns`, then `derived` and `recent`.
    static let insertValues = """
        INSERT INTO principal_rows (\(columns.joined(separator: ", ")), derived, recent)
        VALUES (\(Array(repeating: "?", count: columns.count + 2).joined(separator: ", ")))
        """

    /// `insert`'s `derived`, computed as SQLite compares texts (byte for byte): bit 1 when the
    /// ARN is the role's session ARN prefix and the session name, bit 2 when the account is the
    /// role's, bit 4 when the principalId is the role's prefix and the session name; 0 without a
    /// role. The writer's twin of the SQL (a test holds them to the same bits): the INSERT …
    /// SELECT that joined the role for each new principal cost three times a plain one.
    static func derived(arn: String?, accountID: String?, principalID: String?, session: String?, role: RoleStems?) -> Int64 {
        guard let role else { return 0 }
        func isJoined(_ value: String?, _ prefix: [UInt8]?) -> Bool {
            guard let value, let prefix, let session else { return false }
            let utf8 = value.utf8
            return utf8.count == prefix.count + session.utf8.count && utf8.starts(with: prefix)
                && utf8.dropFirst(prefix.count).elementsEqual(session.utf8)
        }
        var bits: Int64 = 0
        if isJoined(arn, role.sessionARNPrefix) { bits |= 1 }
        if let accountID, let account = role.accountID, accountID.utf8.elementsEqual(account) { bits |= 2 }
        if isJoined(principalID, role.principalIDPrefix) { bits |= 4 }
        return bits
    }

    /// An INSERT of a role from the first session seen with it: `?1` the role's ARN, `?2` the
    /// session's account, `?3` its ARN, `?4` its principalId, `?5` its session name.
    static let insertRole = """
        INSERT INTO roles (arn, account_id, session_arn_prefix, principal_id_prefix)
        VALUES (?1, ?2, CASE WHEN substr(?3, 1, 4) = 'arn:' THEN \(prefix(of: "?3", before: "?5")) END, \(prefix(of: "?4", before: "?5")))
        """

    /// SQL: the text `whole` less `suffix` at its end, when it ends with that non-empty text;
    /// else NULL. In bytes (as blobs): SQLite counts a text's characters up to a NUL only.
    static func prefix(of whole: String, before suffix: String) -> String {
        let w = "CAST(\(whole) AS BLOB)", s = "CAST(\(suffix) AS BLOB)"
        return """
            CASE WHEN length(\(s)) > 0 AND length(\(w)) > length(\(s)) AND substr(\(w), -length(\(s))) = \(s)
                 THEN CAST(substr(\(w), 1, length(\(w)) - length(\(s))) AS TEXT) END
            """
    }

    /// Ids of the principals whose ARN (as `principals` shows it) is the text `arn` (SQL: a
    /// parameter or a column of `source`): those whose row keeps its ARN, through its index,
    /// and the sessions whose role's prefix starts it, through the role and session index (in
    /// bytes, as `prefix(of:before:)`). Derived ARNs all start with `arn:`.
    static func ids(withARN arn: String, source: String? = nil) -> String {
        let from = source.map { "\($0) CROSS JOIN " } ?? ""
        let a = "CAST(\(arn) AS BLOB)", p = "CAST(r.session_arn_prefix AS BLOB)"
        return """
            SELECT x.id FROM \(from)principal_rows x WHERE x.arn = \(arn)
            UNION ALL
            SELECT x.id FROM \(from)roles r CROSS JOIN principal_rows x
                ON x.role_id = r.id AND x.recent \(RecentRows.anyRange("principal_rows")) AND x.session_name = CAST(substr(\(a), length(\(p)) + 1) AS TEXT)
            WHERE r.session_arn_prefix IS NOT NULL AND substr(\(a), 1, length(\(p))) = \(p) AND x.derived & 1
            """
    }

    /// Ids of the principals whose role's ARN is the text `arn` (SQL, as in `ids(withARN:)`).
    static func ids(withRoleARN arn: String, source: String? = nil) -> String {
        let from = source.map { "\($0) CROSS JOIN " } ?? ""
        return "SELECT x.id FROM \(from)roles r CROSS JOIN principal_rows x ON x.role_id = r.id WHERE r.arn = \(arn)"
    }

    /// `principal_rows` as `alias` and its role, joined on `id` (SQL): for queries over many
    /// principals. Through the view, a row's role fields are a subquery each, about a
    /// microsecond a row; a view with a join, right of a LEFT JOIN, would be copied whole.
    static func join(_ alias: String, on id: String) -> String {
        "LEFT JOIN principal_rows \(alias) ON \(alias).id = \(id) LEFT JOIN roles \(alias)_role ON \(alias)_role.id = \(alias).role_id"
    }

    /// A column of `principals`, as the view makes it, from `join(alias, on:)`.
    static func column(_ name: String, of alias: String) -> String {
        let role = "\(alias)_role"
        switch name {
        case "arn": return "CASE WHEN \(alias).derived & 1 THEN \(role).session_arn_prefix || \(alias).session_name ELSE \(alias).arn END"
        case "account_id": return "CASE WHEN \(alias).derived & 2 THEN \(role).account_id ELSE \(alias).account_id END"
        case "principal_id":
            return "CASE WHEN \(alias).derived & 4 THEN \(role).principal_id_prefix || \(alias).session_name ELSE \(alias).principal_id END"
        case "role_arn": return "\(role).arn"
        default: return "\(alias).\(name)"
        }
    }
}
