import GRDB
import GRDBSQLite

/// A text column read whole. GRDB makes a `String` of a column as C does, up to its first NUL;
/// what a caller wrote (a user agent, an error message, a context value) may hold one, and is
/// printed whole. Read from a statement (`fetchOne`, a cursor's rows), not from a copied row,
/// whose strings GRDB has already cut.
struct FullText: DatabaseValueConvertible, StatementColumnConvertible {
    var string: String

    init(_ string: String) { self.string = string }

    init?(sqliteStatement: SQLiteStatement, index: CInt) {
        guard sqlite3_column_type(sqliteStatement, index) != SQLITE_NULL else { return nil }
        string = withColumnText(sqliteStatement, index) { String(decoding: $0, as: UTF8.self) }
    }

    var databaseValue: DatabaseValue { string.databaseValue }

    static func fromDatabaseValue(_ value: DatabaseValue) -> FullText? { String.fromDatabaseValue(value).map(FullText.init) }
}

extension Row {
    /// Text column `index`, whole (see `FullText`) when the row is a cursor's.
    func text(_ index: Int) -> String? { (self[index] as FullText?)?.string }
}

extension String {
    /// The text of the first row's first column, whole (see `FullText`).
    static func fetchWhole(_ statement: Statement, arguments: StatementArguments = []) throws -> String? {
        try FullText.fetchOne(statement, arguments: arguments)?.string
    }

    static func fetchWhole(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> String? {
        try FullText.fetchOne(db, sql: sql, arguments: arguments)?.string
    }
}
