import GRDB

/// A KMS key known to the index.
package struct KnownKey: Sendable, Equatable {
    package var id: Int64
    package var arn: String
}

/// Finds the keys a user names: a key ARN, a key id, an alias name (`alias/NAME`, or `NAME`
/// when no key id matches) or an alias ARN. Aliases come from `kms_key_aliases`.
package enum KeyLookup {
    /// The keys `text` names, by ARN. An alias that pointed at several keys over time names
    /// them all.
    package static func resolve(_ db: Database, _ text: String) throws -> [KnownKey] {
        func fetch(_ sql: String, _ arguments: StatementArguments) throws -> [KnownKey] {
            try Row.fetchAll(db, sql: "SELECT DISTINCT k.id, k.arn FROM kms_keys k \(sql) ORDER BY k.arn", arguments: arguments)
                .map { KnownKey(id: $0["id"], arn: $0["arn"]) }
        }
        let byAlias = "JOIN kms_key_aliases a ON a.key_id = k.id WHERE a.alias = ?"
        if let arn = ARN(text) {
            if arn.isKMSKey { return try fetch("WHERE k.arn = ?", [text]) }
            if arn.isKMSAlias {
                return try fetch(byAlias + " AND k.account_id = ? AND k.region = ?", [String(arn.resource), arn.account, arn.region])
            }
            return []
        }
        if text.hasPrefix("alias/") { return try fetch(byAlias, [text]) }
        let byID = try fetch("WHERE k.key_id = ?", [text])
        return byID.isEmpty ? try fetch(byAlias, ["alias/" + text]) : byID
    }

    /// Summary rows `a` of the keys `text` names: by resolved key, or, for rows whose key ARN is
    /// not known (0), by the key as the caller wrote it.
    static func summaryCondition(_ db: Database, _ text: String, alias a: String) throws -> SQLConditions {
        try idCondition(db, text, keyColumn: "\(a).key_id", absent: "= 0", requestedColumn: "\(a).requested_key_sid")
    }

    /// The same condition on the `events` table `e`, where an absent key is NULL.
    static func eventCondition(_ db: Database, _ text: String, alias e: String) throws -> SQLConditions {
        try idCondition(db, text, keyColumn: "\(e).key_id", absent: "IS NULL", requestedColumn: "\(e).requested_key_sid")
    }

    private static func idCondition(
        _ db: Database, _ text: String, keyColumn: String, absent: String,
        requestedColumn: String
    ) throws -> SQLConditions {
        let ids = try resolve(db, text).map(\.id)
        var forms = [text]
        if let alias = EventNormalizer.aliasName(text), alias != text { forms.append(alias) }
        let requested = try forms.map { try stringID(db, $0) }
        var c = SQLConditions()
        let byRequest = "\(keyColumn) \(absent) AND \(requestedColumn) IN (\(requested.map(String.init).joined(separator: ", ")))"
        let byKey = ids.isEmpty ? "" : "\(keyColumn) IN (\(ids.map(String.init).joined(separator: ", "))) OR "
        c.add(byKey + "(\(byRequest))")
        return c
    }
}
