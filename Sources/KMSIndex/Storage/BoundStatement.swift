import GRDB
import GRDBSQLite

/// A prepared statement bound column by column, and run, through SQLite's C API: the writer's
/// inserts, and its look-ups of one value.
///
/// The one place the insert path leaves GRDB: building `StatementArguments` for every event
/// cost more than the insert itself (measured with perf on ingest). Everything else goes through
/// GRDB, and errors come back as GRDB's `DatabaseError`. Every C result is checked: a bind
/// that fails (a value over SQLite's length limit, no memory) leaves the parameter with the
/// last run's value, so the run that follows is refused, never made with that value.
struct BoundStatement {
    // The statement's handle only: holding the `Statement` itself cost a retain and a release
    // around every call the writer made while binding.
    private let handle: OpaquePointer
    private var index: Int32 = 0
    /// The first bind of this run that failed: its parameter and SQLite's result code.
    private var failedBind: (index: Int32, code: Int32)?

    /// `statement` must outlive this value, which keeps only its SQLite handle.
    init(_ statement: Statement) {
        handle = statement.sqliteStatement
    }

    /// SQLite copies bound text before returning, so Swift's buffers need not outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    /// Where an empty string's text points (SQLite binds NULL for a nil pointer).
    private nonisolated(unsafe) static let emptyText: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    private mutating func check(_ code: Int32) {
        if code != SQLITE_OK, failedBind == nil { failedBind = (index, code) }
    }

    mutating func text(_ value: String?) {
        index += 1
        guard let value else { check(sqlite3_bind_null(handle, index)); return }
        let i = index
        let h = handle
        check(
            value.withUTF8Bytes { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    sqlite3_bind_text(h, i, chars.baseAddress ?? UnsafePointer(Self.emptyText), Int32(chars.count), Self.transient)
                }
            })
    }

    mutating func int(_ value: Int64?) {
        index += 1
        check(value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index))
    }

    mutating func bool(_ value: Bool?) {
        int(value.map { $0 ? 1 : 0 })
    }

    mutating func blob(_ value: [UInt8]?) {
        index += 1
        guard let value else { check(sqlite3_bind_null(handle, index)); return }
        let i = index
        let h = handle
        check(value.withUnsafeBytes { raw in sqlite3_bind_blob(h, i, raw.baseAddress, Int32(raw.count), Self.transient) })
    }

    /// An eventID or requestID: 16 bytes for a lowercase UUID, else text (see `CloudTrailID`).
    mutating func uid(_ value: CloudTrailID?) {
        switch value {
        case .text(let text)?: self.text(text)
        case .uuid?:
            index += 1
            let i = index
            let h = handle
            check(value?.withUUIDBytes { raw in sqlite3_bind_blob(h, i, raw.baseAddress, Int32(raw.count), Self.transient) } ?? SQLITE_OK)
        case nil: text(nil)
        }
    }

    private var sql: String { sqlite3_sql(handle).map { String(cString: $0) } ?? "" }

    /// Every parameter must be bound, and bound without error, before a run: values are not
    /// cleared after one (that released every parameter of a 640-parameter statement each
    /// time), so a parameter left out, or whose bind failed, would silently keep the last run's
    /// value.
    private mutating func checkAllBound() throws {
        let count = sqlite3_bind_parameter_count(handle)
        if let failed = failedBind {
            failedBind = nil
            index = 0
            throw DatabaseError(
                resultCode: ResultCode(rawValue: failed.code),
                message: "binding parameter \(failed.index) of \(count) failed", sql: sql)
        }
        guard index == count else {
            let bound = index
            index = 0
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(bound) of \(count) parameters bound", sql: sql)
        }
    }

    /// Runs the statement with the values bound so far; returns the number of rows changed.
    mutating func execute(_ db: Database) throws -> Int {
        try checkAllBound()
        defer {
            sqlite3_reset(handle)
            index = 0
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
        }
        return Int(sqlite3_changes(db.sqliteConnection))
    }

    /// Runs a query with the values bound so far, and calls `row` with the statement's handle
    /// at each row, its columns to be read with `sqlite3_column_…` before `row` returns.
    mutating func forEachRow(_ db: Database, _ row: (OpaquePointer) throws -> Void) throws {
        try forEachRowWhile(db) { handle in
            try row(handle)
            return true
        }
    }

    /// `forEachRow`, stopped at the first row for which `row` returns false.
    mutating func forEachRowWhile(_ db: Database, _ row: (OpaquePointer) throws -> Bool) throws {
        try checkAllBound()
        defer {
            sqlite3_reset(handle)
            index = 0
        }
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: if try !row(handle) { return }
            case SQLITE_DONE: return
            case let code:
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
            }
        }
    }

    /// Runs a query with the values bound so far; returns the first column of its first row.
    mutating func fetchInt64(_ db: Database) throws -> Int64? {
        try checkAllBound()
        defer {
            sqlite3_reset(handle)
            index = 0
        }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        case let code:
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
        }
    }
}
