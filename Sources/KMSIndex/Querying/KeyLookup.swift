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
        try idCondition(db, text, rows: a, absent: "= 0")
    }

    /// The same condition on the `events` table `e`, where an absent key is NULL.
    static func eventCondition(_ db: Database, _ text: String, alias e: String) throws -> SQLConditions {
        try idCondition(db, text, rows: e, absent: "IS NULL")
    }

    /// Rows `r` (events or summary rows) whose key as the caller wrote it is one `text` names:
    /// the text itself; for an alias ARN, also `alias/NAME` written in its account and region;
    /// for an alias name (`alias/NAME`, or `NAME` as `resolve` reads it), also the alias ARNs
    /// of that name, of any account and region, as `resolve` finds an alias name's keys in any
    /// (`--account` and `--region` narrow both).
    static func requestedCondition(_ db: Database, _ text: String, alias r: String) throws -> String {
        func among(_ ids: [Int64]) -> String { "\(r).requested_key_sid IN (\(ids.map(String.init).joined(separator: ", ")))" }
        var written = [try stringID(db, text)]
        if let arn = ARN(text), arn.isKMSAlias, let name = EventNormalizer.aliasName(text) {
            let account = try stringID(db, arn.account)
            let place = "\(r).recipient_account_sid = \(account) AND \(r).region_sid = \(try stringID(db, arn.region))"
            return "\(among(written)) OR (\(among([try stringID(db, name)])) AND \(place))"
        }
        let name = text.hasPrefix("alias/") ? text : text.contains("/") || text.contains(":") ? nil : "alias/" + text
        if let name {
            if name != text { written.append(try stringID(db, name)) }
            // `strings` holds short texts that repeat (operations, regions, keys as written): a
            // few hundred rows on a year's index.
            let arns = try Row.fetchAll(
                db, sql: "SELECT id, text FROM strings WHERE text LIKE 'arn:%' AND substr(text, -length(?1)) = ?1",
                arguments: [name])
            for row in arns where EventNormalizer.aliasName(row["text"]) == name { written.append(row["id"]) }
        }
        return among(written)
    }

    private static func idCondition(_ db: Database, _ text: String, rows r: String, absent: String) throws -> SQLConditions {
        let ids = try resolve(db, text).map(\.id)
        var c = SQLConditions()
        let byRequest = "\(r).key_id \(absent) AND (\(try requestedCondition(db, text, alias: r)))"
        let byKey = ids.isEmpty ? "" : "\(r).key_id IN (\(ids.map(String.init).joined(separator: ", "))) OR "
        c.add(byKey + "(\(byRequest))")
        return c
    }
}
