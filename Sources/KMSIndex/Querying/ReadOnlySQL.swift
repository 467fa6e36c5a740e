import Foundation
import GRDB

#if canImport(GRDBSQLite)
import GRDBSQLite
#endif

/// Runs a user's SQL on the index without letting it change anything: `kmsindex sql`.
///
/// Checks in layers: the connection is opened read-only (`open(path:)`); a statement SQLite does not call read-only
/// (`sqlite3_stmt_readonly`: INSERT, UPDATE, DELETE, DROP, CREATE, writing PRAGMAs) is
/// refused before it runs; and ATTACH, DETACH, VACUUM (`VACUUM INTO` writes a new file even
/// from a read-only connection) and transaction control are refused by name. One statement
/// per call: a second one is refused, so nothing runs half-way.
package enum ReadOnlySQL {
    /// Leading keywords refused even though SQLite counts them as read-only.
    static let refusedKeywords: Set<String> = [
        "ATTACH", "DETACH", "VACUUM", "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE",
    ]

    /// Opens the index at `path` read-only (`Configuration.readonly`), refusing what
    /// `IndexDatabase.openForReading` refuses (no file, not SQLite, not an index, a newer
    /// schema) but, unlike it, never applying pending migrations: `sql` writes nothing.
    package static func open(path: String) throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DatabaseOpenError.noIndex(path: path)
        }
        try IndexDatabase.checkFileHeader(path: path)
        let queue = try DatabaseQueue(path: SQLiteSetup.literal(path), configuration: IndexDatabase.configuration(readOnly: true))
        try queue.read { db in
            try IndexDatabase.checkIdentity(db, path: path)
            try IndexDatabase.checkNotNewer(db, path: path)
        }
        return queue
    }

    /// Runs `sql` with `parameters` bound as named parameters (`:name`, `@name`, `$name`),
    /// all as text. Throws `QueryError` for a statement that could write, for several
    /// statements, for none, and for a parameter missing or not used.
    package static func run(_ db: Database, sql: String, parameters: [String: String] = [:]) throws -> ResultTable {
        let (statement, arguments) = try prepare(db, sql: sql, parameters: parameters)
        return try fetchTable(statement, arguments: arguments)
    }

    /// The query `run` runs, prepared and checked: its rows can then be handed on as they come.
    package static func query(_ db: Database, sql: String, parameters: [String: String] = [:]) throws -> ListingQuery {
        let (statement, arguments) = try prepare(db, sql: sql, parameters: parameters)
        return ListingQuery(statement: statement, arguments: arguments)
    }

    /// The one statement of `sql`, checked, and its arguments.
    static func prepare(_ db: Database, sql: String, parameters: [String: String]) throws -> (Statement, StatementArguments) {
        let statements = try db.allStatements(sql: sql)
        guard let statement = try statements.next() else { throw QueryError.noStatement }
        if try statements.next() != nil {
            throw QueryError.severalStatements(sql: sql)
        }
        try check(statement)
        let names = Set(statement.parameterNames)
        if names.contains("") {
            throw QueryError.positionalParameter(sql: statement.sql)
        }
        if let unused = parameters.keys.sorted().first(where: { !names.contains($0) }) {
            throw QueryError.unusedParameter(unused, sql: statement.sql)
        }
        if let missing = statement.parameterNames.first(where: { parameters[$0] == nil }) {
            throw QueryError.missingParameter(missing, sql: statement.sql)
        }
        return (statement, StatementArguments(parameters.mapValues { $0 as (any DatabaseValueConvertible)? }))
    }

    /// Throws unless `statement` is read-only and not one of the refused kinds.
    static func check(_ statement: Statement) throws {
        let keyword = leadingKeyword(statement.sql)
        if refusedKeywords.contains(keyword) {
            throw QueryError.refusedKeyword(keyword, sql: statement.sql)
        }
        if !statement.isReadonly {
            throw QueryError.notReadOnly(keyword: keyword, sql: statement.sql)
        }
    }

    /// The first word of `sql`, uppercased, after white space and comments.
    static func leadingKeyword(_ sql: String) -> String {
        var rest = Substring(sql)
        while true {
            rest = rest.drop { $0.isWhitespace || $0 == ";" }
            if rest.hasPrefix("--") {
                rest = rest.drop { $0 != "\n" }
            } else if rest.hasPrefix("/*") {
                guard let end = rest.range(of: "*/") else { return "" }
                rest = rest[end.upperBound...]
            } else {
                break
            }
        }
        return rest.prefix { $0.isLetter || $0 == "_" }.uppercased()
    }
}

extension Statement {
    /// Names of the statement's parameters without their `:`, `@` or `$`; "" for `?`.
    var parameterNames: [String] {
        (0..<sqlite3_bind_parameter_count(sqliteStatement)).map { index in
            guard let name = sqlite3_bind_parameter_name(sqliteStatement, index + 1) else { return "" }
            return String(String(cString: name).dropFirst())
        }
    }
}
