import GRDB
import GRDBSQLite

/// A prepared statement stepped by hand, for the paths that read millions of rows straight from
/// SQLite's columns (listings, the export): no `Row` or `String` is made per value.
extension Statement {
    /// Binds `arguments`, then calls `row` with the statement's handle on each of its rows.
    func forEachRow(_ arguments: StatementArguments, _ row: (OpaquePointer) throws -> Void) throws {
        try setArguments(arguments)
        let handle = sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                let message = sqlite3_db_handle(handle).flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
            }
            try row(handle)
        }
    }
}

/// Calls `body` with the UTF-8 bytes of text column `i` of the row `handle` is on, as SQLite
/// holds them (a NUL inside included).
func withColumnText<T>(_ handle: OpaquePointer, _ i: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
    // sqlite3_column_text before sqlite3_column_bytes, as SQLite documents.
    let text = sqlite3_column_text(handle, i)
    let count = Int(sqlite3_column_bytes(handle, i))
    return try body(UnsafeBufferPointer(start: text, count: text == nil ? 0 : count))
}
