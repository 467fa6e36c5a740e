import Foundation
import GRDB

/// The filters every query command shares: a time window, an account, a region, a key,
/// failed calls only, and a row limit.
package struct QueryFilter: Sendable, Equatable {
    /// Inclusive lower bound on `event_time`, `YYYY-MM-DDTHH:MM:SSZ`.
    package var since: String?
    /// Exclusive upper bound on `event_time`.
    package var until: String?
    /// `recipientAccountId`: the account whose trail logged the event.
    package var account: String?
    /// `awsRegion` of the event.
    package var region: String?
    /// A key ARN, key id, alias name or alias ARN (see `KeyLookup`).
    package var key: String?
    /// Only failed calls (an `errorCode`).
    package var errorsOnly = false
    /// At most this many rows (of each list, for reports made of several).
    package var limit: Int?
    /// Count from the events themselves, not from the daily summaries and their rollups: the
    /// same answers, read from every event in the window (minutes over a year of history). It
    /// checks the summaries against the events they summarize.
    package var fromEvents = false

    package init(
        since: String? = nil, until: String? = nil, account: String? = nil, region: String? = nil,
        key: String? = nil, errorsOnly: Bool = false, limit: Int? = nil
    ) {
        self.since = since
        self.until = until
        self.account = account
        self.region = region
        self.key = key
        self.errorsOnly = errorsOnly
        self.limit = limit
    }

    /// A filter from command-line text; times as `TimeFilter` reads them, relative to `now`.
    package static func parse(
        since: String?, until: String?, account: String? = nil, region: String? = nil,
        key: String? = nil, errorsOnly: Bool = false, limit: Int? = nil,
        now: Date = Date()
    ) throws -> QueryFilter {
        let filter = QueryFilter(
            since: try since.map { try TimeFilter.since($0, now: now) },
            until: try until.map { try TimeFilter.until($0, now: now) },
            account: account, region: region, key: key, errorsOnly: errorsOnly, limit: limit)
        if let limit, limit < 1 { throw QueryError.limitBelowOne }
        if let s = filter.since, let u = filter.until, (StoredTime.milliseconds(s) ?? 0) >= (StoredTime.milliseconds(u) ?? 0) {
            throw QueryError.emptyRange(since: since ?? s, until: until ?? u, from: s, before: u)
        }
        return filter
    }

    /// The conditions of this filter on the `events` table (aliased `alias`): ids instead of
    /// texts, so that no column is looked up per event.
    func eventConditions(_ db: Database, alias e: String = "e") throws -> SQLConditions {
        var c = SQLConditions()
        if let since { c.add("\(e).event_time >= ?", StoredTime.milliseconds(since)) }
        if let until { c.add("\(e).event_time < ?", StoredTime.milliseconds(until)) }
        if let account { c.add("\(e).recipient_account_sid = ?", try stringID(db, account)) }
        if let region { c.add("\(e).region_sid = ?", try stringID(db, region)) }
        if let key { c.merge(try KeyLookup.eventCondition(db, key, alias: e)) }
        if errorsOnly { c.add("\(e).error_code_sid IS NOT NULL") }
        return c
    }

    /// ` LIMIT n`, or nothing.
    var limitClause: String { limit.map { " LIMIT \($0)" } ?? "" }
}

/// SQL conditions joined by AND, with their positional arguments in order.
struct SQLConditions {
    private(set) var clauses: [String] = []
    private(set) var values: [(any DatabaseValueConvertible)?] = []

    mutating func add(_ clause: String, _ arguments: (any DatabaseValueConvertible)?...) {
        add(clause, arguments: arguments)
    }

    mutating func add(_ clause: String, arguments: [(any DatabaseValueConvertible)?]) {
        clauses.append(clause)
        values += arguments
    }

    mutating func merge(_ other: SQLConditions) {
        clauses += other.clauses
        values += other.values
    }

    /// The conditions for a WHERE clause; `1` when there are none.
    var sql: String { clauses.isEmpty ? "1" : clauses.map { "(\($0))" }.joined(separator: " AND ") }

    var arguments: StatementArguments { StatementArguments(values) }
}

/// The caller of an event in one phrase, from `principals p`: its ARN, else the Identity Center
/// user (`IdentityCenterUser: USER-ID`, who has no ARN and shares the account with the other
/// users), else the account (`AWSAccount: 111122223333`), else the service that called, with
/// the resource its credentials were issued to if any (`AWSService: s3.amazonaws.com`,
/// `AWSService: lambda.amazonaws.com (arn:aws:lambda:…:function:f)`). An `AWSAccount` (the key
/// owner's copy of another account's call) is named by its account and principalId,
/// `AWSAccount: 444455556666 (AROAEXAMPLE:s1)`, even when a service made the call for it: the
/// principalId is all that tells its callers apart.
/// Other callers with no ARN (SAML and web identity users, `Unknown`, `Directory`) by their
/// user name, else their principalId, else their account: `SAMLUser: jdoe`. An empty ARN
/// (`"arn":""`, seen in the wild) is no ARN; an event with no caller is `unknown`.
let principalSQL = principalPhrase { "p.\($0)" }

/// `principalSQL` over the columns `column` names (see `PrincipalRows.column(_:of:)`).
/// `withPrincipalID` false names an `AWSAccount` by its account alone (findings: every
/// caller of another account as one).
func principalPhrase(withPrincipalID: Bool = true, _ column: (String) -> String) -> String {
    let type = column("type")
    let principalID = withPrincipalID ? " || coalesce(' (' || \(column("principal_id")) || ')', '')" : ""
    return """
        coalesce(nullif(\(column("arn")), ''), coalesce(\(type), 'unknown') || ': ' || \(column("on_behalf_of_user_id")),
                 CASE WHEN \(type) = 'AWSAccount' THEN 'AWSAccount: ' || \(column("account_id"))\(principalID) END,
                 coalesce(\(type), 'unknown') || ': ' || \(column("invoked_by"))
                     || coalesce(' (' || \(column("credentials_issued_to")) || ')', ''),
                 coalesce(\(type), 'unknown') || ': ' || \(column("user_name")),
                 coalesce(\(type), 'unknown') || ': ' || \(column("principal_id")),
                 coalesce(\(type), 'unknown') || ': ' || \(column("account_id")), \(type), 'unknown')
        """
}
