import GRDB

/// A row the writer binds column by column.
protocol BoundRow {
    /// The statement's head: `INSERT INTO table (columns)`, with its conflict clause if any.
    static var insertHead: String { get }
    static var columnCount: Int { get }
    func bind(_ row: inout BoundStatement)
}

/// Rows waiting to be inserted, many to a statement: each run of a one-row insert opens and
/// closes a cursor on the table and on each of its indexes, and resets its bindings.
///
/// Call `flush` before committing, and before reading the table on the same connection.
struct PendingRows<Row: BoundRow> {
    static var rowsPerStatement: Int { 32 }
    /// Rows held before they are written anyway, so that memory stays flat.
    static var rowsHeld: Int { 4 * rowsPerStatement }

    private let one: Statement
    private let many: Statement
    private var rows: [Row] = []

    init(_ db: Database) throws {
        let values = "(" + Array(repeating: "?", count: Row.columnCount).joined(separator: ", ") + ")"
        one = try db.makeStatement(sql: Row.insertHead + " VALUES " + values)
        many = try db.makeStatement(
            sql: Row.insertHead + " VALUES " + Array(repeating: values, count: Self.rowsPerStatement).joined(separator: ", "))
        rows.reserveCapacity(Self.rowsHeld)
    }

    mutating func append(_ row: Row, _ db: Database) throws {
        rows.append(row)
        if rows.count >= Self.rowsHeld { try flush(db) }
    }

    /// Writes every pending row, in the order they came.
    mutating func flush(_ db: Database) throws {
        var next = 0
        while rows.count - next >= Self.rowsPerStatement {
            var statement = BoundStatement(many)
            for k in next..<next + Self.rowsPerStatement { rows[k].bind(&statement) }
            _ = try statement.execute(db)
            next += Self.rowsPerStatement
        }
        for k in next..<rows.count {
            var statement = BoundStatement(one)
            rows[k].bind(&statement)
            _ = try statement.execute(db)
        }
        rows.removeAll(keepingCapacity: true)
    }

    /// Forgets the pending rows (after a rollback).
    mutating func discard() {
        rows.removeAll(keepingCapacity: true)
    }
}
