import Foundation
import GRDB

/// Which events a `findings` run looks at.
package enum FindingsWindow: Sendable, Equatable {
    /// What was indexed since the last run of this kind (events above the watermark).
    case sinceLastRun
    /// Events at or after a time (milliseconds since 1970).
    case since(Int64)
    /// All of history.
    case all
}

/// The events of a window, as SQL on `events e`, and what the checks need to know of it, all
/// read from one snapshot.
struct FindingsScope {
    /// A condition on `events e` that keeps the window's events.
    var condition: String { condition(on: "e") }
    /// The same condition on `events` named `row`.
    func condition(on row: String) -> String { conditionTemplate.replacingOccurrences(of: "{row}", with: row) }
    private var conditionTemplate: String
    var arguments: [(any DatabaseValueConvertible)?]
    /// UTC days (since 1970) the window's events fall on, ascending.
    var days: [Int]
    /// In a nightly run, the day before the window's first: the window's events are the first
    /// after it, so they close it, and only now can it be judged a low day of deliveries (a
    /// run that brings whole UTC days never holds the day it closes).
    var dayClosed: Int?
    /// The window's first time (ms), when it starts at a time (`since`): what ends before it is
    /// not the window's, even on its first day.
    var windowStart: Int64?
    /// The newest event time in the index (ms): where "stopped for more than an hour" is judged
    /// at the end of the data, instead of the wall clock.
    var newestTime: Int64?
    /// The highest event id of the snapshot: the next watermark.
    var upperEventID: Int64
    /// The same for reads from S3 data events (`s3_reads r`), numbered apart from events.
    var s3Condition: String { s3Condition(on: "r") }
    /// The same condition on `s3_reads` named `row`.
    func s3Condition(on row: String) -> String { s3ConditionTemplate.replacingOccurrences(of: "{row}", with: row) }
    private var s3ConditionTemplate: String
    var s3Arguments: [(any DatabaseValueConvertible)?]
    var upperS3ReadID: Int64
    /// String ids the checks compare with.
    var decrypt: Int64

    static let dayMs: Int64 = 86_400_000

    init(_ db: Database, window: FindingsWindow) throws {
        upperEventID = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM events") ?? 0
        upperS3ReadID = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM s3_reads") ?? 0
        newestTime = try Int64.fetchOne(db, sql: "SELECT max(event_time) FROM event_uids")
        decrypt = try stringID(db, "Decrypt")
        let day = "event_time / 86400000 - (event_time % 86400000 < 0)"
        switch window {
        case .sinceLastRun:
            let marks = try Row.fetchOne(db, sql: "SELECT last_event_id, last_s3_read_id FROM findings_state WHERE id = 1")
            let watermark: Int64 = marks?[0] ?? 0, s3Watermark: Int64 = marks?[1] ?? 0
            conditionTemplate = "{row}.id > ? AND {row}.id <= ?"
            arguments = [watermark, upperEventID]
            s3ConditionTemplate = "{row}.id > ? AND {row}.id <= ?"
            s3Arguments = [s3Watermark, upperS3ReadID]
            // Events are numbered as they are indexed: the new ones are a range of row ids.
            days = try Int.fetchAll(
                db, sql: "SELECT DISTINCT \(day) FROM events WHERE id > ? AND id <= ? ORDER BY 1",
                arguments: [watermark, upperEventID])
            dayClosed = days.first.map { $0 - 1 }
        case let .since(ms):
            windowStart = ms
            conditionTemplate = "{row}.id IN (SELECT event_id FROM event_uids WHERE event_time >= ?)"
            arguments = [ms]
            s3ConditionTemplate = "{row}.event_time >= ?"
            s3Arguments = [ms]
            days = try Int.fetchAll(
                db, sql: "SELECT DISTINCT day FROM usage_daily WHERE day >= ? ORDER BY 1",
                arguments: [Self.day(ms)])
        case .all:
            conditionTemplate = "1"
            arguments = []
            s3ConditionTemplate = "1"
            s3Arguments = []
            days = try Int.fetchAll(db, sql: "SELECT DISTINCT day FROM usage_daily ORDER BY 1")
        }
    }

    /// The UTC day of a time in milliseconds.
    static func day(_ ms: Int64) -> Int { Int(ms >= 0 ? ms / dayMs : -((-ms + dayMs - 1) / dayMs)) }

    /// Who a finding names: the role for every session of an assumed role, else the caller as
    /// who-read, `key` and `denied` phrase it (`principalPhrase`: what `reads --principal`
    /// takes), but the key owner's copy of a cross-account call, named by its account alone
    /// (`AWSAccount: 444455556666`, once for all its sessions, as a role is: who-read adds the
    /// principalId, which changes with every session). Never NULL: an event with no caller is
    /// `unknown`, a reader like any other.
    static let principalSQL = "coalesce(nullif(p.role_arn, ''), \(principalPhrase(withPrincipalID: false) { "p.\($0)" }))"

    /// A name to bind as `CAST(? AS TEXT)`: its bytes, a NUL included (GRDB binds a String's
    /// text up to its first NUL).
    static func wholeText(_ text: String) -> Data { Data(text.utf8) }

    /// The phrase of events with no caller, which `PrincipalIDLookup` gives the id 0 (the
    /// summaries' id for none).
    static let noCaller = "unknown"

    /// How `principalSQL` begins the name of the key or bucket owner's copies of another
    /// account's calls.
    static let accountPrefix = "AWSAccount: "

}

/// The principal rows a principal (as `FindingsScope.principalSQL` makes it) stands for, for
/// one principal after another: a role's sessions and an ARN are found through their indexes;
/// the principals with neither (AWS services, Identity Center users) are found by one scan of
/// them all, the first time one is asked for. A scan per principal was quadratic on a window
/// of many such readers (4,000 Identity Center users each reading a log file: 12 s).
final class PrincipalIDLookup {
    private let db: Database
    /// The rows without a role or an ARN, by the bytes of their phrase: SQLite compares text
    /// byte for byte, where Swift's `String` equates canonically equivalent ones.
    private var unnamed: [[UInt8]: [Int64]]?

    init(_ db: Database) { self.db = db }

    func ids(_ principal: String) throws -> [Int64] {
        // Bound as bytes: a String is bound up to a NUL, which a caller's name may hold.
        let bytes = FindingsScope.wholeText(principal)
        let ids = try Int64.fetchAll(db, sql: PrincipalRows.ids(withRoleARN: "CAST(?1 AS TEXT)"), arguments: [bytes])
        if !ids.isEmpty { return ids }
        // A principal without a role keeps its ARN in its row (an empty one is none).
        let byARN =
            principal.isEmpty
            ? []
            : try Int64.fetchAll(
                db, sql: "SELECT id FROM principal_rows WHERE arn = CAST(? AS TEXT) AND role_id IS NULL", arguments: [bytes])
        if !byARN.isEmpty { return byARN }
        // No ARN (an AWS service, an odd identity): rare among callers, found by a scan, once.
        if unnamed == nil {
            var all: [[UInt8]: [Int64]] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT CAST(\(FindingsScope.principalSQL) AS BLOB), p.id FROM principal_rows x CROSS JOIN principals p ON p.id = x.id
                    WHERE x.role_id IS NULL AND (x.arn IS NULL OR x.arn = '')
                    """)
            while let row = try rows.next() {
                guard let phrase: Data = row[0] else { continue }
                all[Array(phrase), default: []].append(row[1])
            }
            unnamed = all
        }
        // An event with no caller is `unknown` too: 0 stands for it, as in the summaries.
        return (unnamed?[Array(principal.utf8)] ?? []) + (principal == FindingsScope.noCaller ? [0] : [])
    }
}

/// ISO-8601 UTC text of a time in milliseconds, as the views show it.
func isoTime(_ ms: Int64) -> String { StoredTime.text(ms) }

/// `YYYY-MM-DD` of a UTC day since 1970.
func dayText(_ day: Int) -> String { String(StoredTime.text(Int64(day) * FindingsScope.dayMs).prefix(10)) }
