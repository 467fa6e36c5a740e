import Foundation
import GRDB
import GRDBSQLite

/// The columns of a table's rows query: each one's `"name":` rendered once, and where the
/// columns the row writer needs are.
struct EventColumns {
    /// `"name":` of each column, in the query's order (the order of the table's view).
    let prefixes: [[UInt8]]
    let id: Int32
    /// The columns the encryption context repeats; -1 in a table without one.
    let objectARN: Int32
    let trailARN: Int32

    init(_ handle: OpaquePointer, withContext: Bool = true) throws {
        let count = sqlite3_column_count(handle)
        var names: [String] = []
        for i in 0..<count { names.append(String(cString: sqlite3_column_name(handle, i))) }
        func index(_ name: String) throws -> Int32 {
            guard let i = names.firstIndex(of: name) else { throw ExportError("kms_events has no column \(name)") }
            return Int32(i)
        }
        id = try index("id")
        objectARN = withContext ? try index("object_arn") : -1
        trailARN = withContext ? try index("trail_arn") : -1
        prefixes = names.enumerated().map { i, name in
            var json = JSONBytes()
            if i > 0 { json.raw(",") }
            json.string(name)
            json.raw(":")
            return json.bytes
        }
    }
}

/// The rows of the context query, one at a time: event id, scope, name, value.
final class ContextCursor {
    private let statement: Statement
    private let handle: OpaquePointer
    private let db: Database
    /// True while a row is current.
    private(set) var hasRow = false
    /// `events.id` of the current row.
    private(set) var eventRow: Int64 = 0
    /// Scope of the current row: 0 the request's context, 1 source, 2 destination.
    private(set) var scope: Int64 = 0

    init(_ db: Database, _ statement: Statement) throws {
        self.db = db
        self.statement = statement
        handle = statement.sqliteStatement
        try advance()
    }

    /// Moves to the next row.
    func advance() throws {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW:
            hasRow = true
            eventRow = sqlite3_column_int64(handle, 0)
            scope = sqlite3_column_int64(handle, 1)
        case SQLITE_DONE:
            hasRow = false
        default:
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
        }
    }

    /// True when the current row is a pair of `event` in `scope`.
    func at(_ event: Int64, _ scope: Int64) -> Bool { hasRow && eventRow == event && self.scope == scope }

    /// True when the current row's name is `name` (bytes compared).
    func nameIs(_ name: StaticString) -> Bool {
        let count = Int(sqlite3_column_bytes(handle, 2))
        guard count == name.utf8CodeUnitCount, let text = sqlite3_column_text(handle, 2) else { return false }
        return memcmp(text, name.utf8Start, count) == 0
    }

    /// Appends `"name":"value"` of the current row.
    func appendPair(to json: inout JSONBytes) {
        EventJSON.appendText(handle, 2, to: &json)
        json.raw(":")
        EventJSON.appendText(handle, 3, to: &json)
    }
}

/// One event as one line of JSON: every column of `kms_events` (numbers as numbers, NULL as
/// null), then `encryption_context` (an object of the request's pairs: `aws:s3:arn` and
/// `aws:cloudtrail:arn` from the event's columns, every other pair from the context cursor; `{}`
/// when there are none), then `source_encryption_context` and `destination_encryption_context`
/// (ReEncrypt's pairs; null when the event has none).
enum EventJSON {
    static func append(
        _ handle: OpaquePointer, columns: EventColumns, id: Int64, context: ContextCursor,
        to json: inout JSONBytes
    ) throws {
        json.raw("{")
        appendColumns(handle, columns, to: &json)
        json.raw(",\"encryption_context\":{")
        var first = true
        let hasObject = sqlite3_column_type(handle, columns.objectARN) != SQLITE_NULL
        let hasTrail = sqlite3_column_type(handle, columns.trailARN) != SQLITE_NULL
        if hasObject {
            json.raw("\"aws:s3:arn\":")
            appendText(handle, columns.objectARN, to: &json)
            first = false
        }
        if hasTrail {
            if !first { json.raw(",") }
            json.raw("\"aws:cloudtrail:arn\":")
            appendText(handle, columns.trailARN, to: &json)
            first = false
        }
        while context.at(id, 0) {
            // A non-string aws:s3:arn (kept as a pair) beside a string one: the column wins, as
            // one JSON object cannot hold a name twice.
            if !(hasObject && context.nameIs("aws:s3:arn")) && !(hasTrail && context.nameIs("aws:cloudtrail:arn")) {
                if !first { json.raw(",") }
                context.appendPair(to: &json)
                first = false
            }
            try context.advance()
        }
        json.raw("}")
        for (scope, prefix) in [
            (Int64(1), ",\"source_encryption_context\":" as StaticString),
            (2, ",\"destination_encryption_context\":"),
        ] {
            json.raw(prefix)
            guard context.at(id, scope) else { json.null(); continue }
            json.raw("{")
            var firstPair = true
            while context.at(id, scope) {
                if !firstPair { json.raw(",") }
                context.appendPair(to: &json)
                firstPair = false
                try context.advance()
            }
            json.raw("}")
        }
        // Pairs of a scope this version does not know: skipped, so the cursor stays in step.
        while context.hasRow && context.eventRow == id { try context.advance() }
        json.raw("}\n")
    }

    /// A row of a table without encryption context (`s3_reads`) as one line: its columns.
    static func appendRow(_ handle: OpaquePointer, columns: EventColumns, to json: inout JSONBytes) {
        json.raw("{")
        appendColumns(handle, columns, to: &json)
        json.raw("}\n")
    }

    /// Appends `"name":value` of every column, comma-separated.
    static func appendColumns(_ handle: OpaquePointer, _ columns: EventColumns, to json: inout JSONBytes) {
        for (i, prefix) in columns.prefixes.enumerated() {
            json.raw(prefix)
            appendValue(handle, Int32(i), to: &json)
        }
    }

    /// Appends column `i` as JSON: integer and real as numbers, text as a string, NULL as null,
    /// a blob (which `kms_events` does not have) as a string of its hex digits.
    static func appendValue(_ handle: OpaquePointer, _ i: Int32, to json: inout JSONBytes) {
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: json.int(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: json.double(sqlite3_column_double(handle, i))
        case SQLITE_TEXT: appendText(handle, i, to: &json)
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, i))
            let bytes = sqlite3_column_blob(handle, i).map { UnsafeRawBufferPointer(start: $0, count: count) }
            json.string((bytes ?? UnsafeRawBufferPointer(start: nil, count: 0)).map { String(format: "%02X", $0) }.joined())
        default: json.null()
        }
    }

    /// Appends column `i` as a JSON string of its text.
    static func appendText(_ handle: OpaquePointer, _ i: Int32, to json: inout JSONBytes) {
        withColumnText(handle, i) { json.string($0) }
    }
}
