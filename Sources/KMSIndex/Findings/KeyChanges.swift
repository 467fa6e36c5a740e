import GRDB

/// `key-deletion-scheduled`, `key-disabled`, `key-policy-changed` and
/// `key-grant-created-for-other-account`: calls that can lose a key, or give it away. High on a
/// key that protects CloudTrail logs (seen with an `aws:cloudtrail:arn` context): losing it
/// loses every log file it encrypted; medium on any other key.
enum KeyChangeFindings {
    static let operations: [(name: String, kind: Finding.Kind, what: String)] = [
        ("ScheduleKeyDeletion", .keyDeletionScheduled, "scheduled the deletion of"),
        ("DisableKey", .keyDisabled, "disabled"),
        ("PutKeyPolicy", .keyPolicyChanged, "replaced the key policy of"),
        ("CreateGrant", .keyGrantCreatedForOtherAccount, "created a grant for account %@ on"),
    ]

    static func find(_ db: Database, _ scope: FindingsScope) throws -> [Finding] {
        let names = operations.map { "'\($0.name)'" }.joined(separator: ", ")
        // Key management is never read-only: the partial index events_key_changes holds it.
        let calls = try Row.fetchAll(
            db,
            sql: """
                SELECT e.event_time AS time, e.id AS event_row, \(FindingsScope.principalSQL) AS principal,
                       (SELECT text FROM strings WHERE id = e.event_name_sid) AS operation,
                       coalesce(k.arn, (SELECT text FROM strings WHERE id = e.requested_key_sid)) AS key,
                       k.account_id AS key_account, g.grantee,
                       e.key_id IN (SELECT key_id FROM activity_totals WHERE trail_id != 0) AS protects_logs,
                       p.type IS 'AWSAccount' AS owner_copy, e.shared_event_uid AS shared
                FROM events e LEFT JOIN kms_keys k ON k.id = e.key_id LEFT JOIN principals p ON p.id = e.principal_id
                     LEFT JOIN event_grantees g ON g.event_id = e.id
                WHERE \(scope.condition) AND e.read_only IS NOT 1 AND e.error_code_sid IS NULL
                  AND e.event_name_sid IN (SELECT id FROM strings WHERE text IN (\(names)))
                ORDER BY e.event_time, e.id
                """, arguments: StatementArguments(scope.arguments))
        // A call on another account's key is logged in both accounts: the key owner's copy (an
        // `AWSAccount` caller) is left out when the caller's copy, the same call on the same
        // key, is here to be reported.
        func call(_ row: Row) -> [DatabaseValue]? {
            let shared: DatabaseValue = row["shared"]
            return shared.isNull ? nil : [shared, row["operation"], row["key"]]
        }
        let callerCopies = Set(calls.filter { !$0["owner_copy"] }.compactMap(call))
        let rows = calls.filter { row in !(row["owner_copy"] && call(row).map(callerCopies.contains) == true) }
        // Each millisecond's eventIDs in one scan (`EventUIDLookup`).
        let uids = try EventUIDLookup(db).uids(of: rows.map { (time: $0["time"], id: $0["event_row"]) })
        return rows.compactMap { row -> Finding? in
            let operation: String = row["operation"]
            guard let op = operations.first(where: { $0.name == operation }) else { return nil }
            var what = op.what
            if op.kind == .keyGrantCreatedForOtherAccount {
                // Only a grant to a principal of another account than the key's.
                guard let grantee: String = row["grantee"], let owner: String = row["key_account"],
                    let account = granteeAccount(grantee), account != owner
                else { return nil }
                what = what.replacingOccurrences(of: "%@", with: "\(account) (\(grantee))")
            }
            let key: String = row["key"] ?? "unknown key"
            let protects: Bool = row["protects_logs"] ?? false
            let principal: String? = row["principal"]
            let uid = uids[row["event_row"]] ?? ""
            return Finding(
                op.kind, protects ? .high : .medium, time: isoTime(row["time"]), subject: key, principal: principal,
                detail: "\(principal ?? "an unknown caller") \(what) \(protects ? "a key that protects CloudTrail log files" : "the key")",
                eventIDs: [uid], identity: [uid])
        }
    }

    /// The account of a grantee: an ARN's, or a bare account id.
    static func granteeAccount(_ grantee: String) -> String? {
        if let account = ARN(grantee)?.account, !account.isEmpty { return account }
        return !grantee.isEmpty && grantee.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) ? grantee : nil
    }
}
