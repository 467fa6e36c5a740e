import GRDB

/// Looks files up in the ledger for the walk, on a thread and a read-only connection of its own.
///
/// A folder's rows are read once, into a map by name, as the walk goes through it (one query
/// per folder where one per file was half the time of a re-run); a folder of more than
/// `folderMapLimit` rows is looked up file by file, so that memory stays bounded.
final class LedgerReader: @unchecked Sendable {
    private let queue: DatabaseQueue
    /// The folder of the last files looked up, and its rows by name (nil: looked up one by one).
    private var folder: String?
    private var folderRows: [String: (size: Int64, mtimeNs: Int64, failed: Bool)]?

    init(path: String) throws {
        queue = try DatabaseQueue(path: path, configuration: IndexDatabase.configuration(readOnly: true))
    }

    /// Files looked up in one read transaction.
    static let batchSize = 256
    /// Most rows of one folder read into a map; past it, that folder's files are looked up one by one.
    var folderMapLimit = 65_536

    /// For each file, true when it was read before with the same size and modification time,
    /// and did not fail. A file that cannot be looked up counts as changed: it is read again.
    func areUnchanged(_ files: [InputFile]) -> [Bool] {
        guard !files.isEmpty else { return [] }
        let found = try? queue.read { db -> [Bool] in
            let statement = try db.cachedStatement(sql: LedgerLookup.sql)
            return try files.map { file in
                let (dir, name) = LedgerPath.split(file.path)
                let found: (size: Int64, mtimeNs: Int64, failed: Bool)?
                if let dir, let rows = try rows(of: dir, db) {
                    found = rows[name]
                } else {
                    found = try LedgerLookup.find(statement, path: file.path)
                }
                guard let found else { return false }
                return found.size == file.size && found.mtimeNs == file.mtimeNs && !found.failed
            }
        }
        if found == nil { folder = nil }
        return found ?? Array(repeating: false, count: files.count)
    }

    /// The rows of folder `dir` by name; nil when it holds too many to keep.
    private func rows(of dir: String, _ db: Database) throws -> [String: (size: Int64, mtimeNs: Int64, failed: Bool)]? {
        if dir == folder { return folderRows }
        folder = dir
        folderRows = nil
        // Statements prepared once per connection: a re-run reads hundreds of folders.
        let folderRow = try db.cachedStatement(sql: "SELECT id, coalesce(name_prefix, '') FROM ledger_dirs WHERE path = ?")
        guard let found = try Row.fetchOne(folderRow, arguments: [dir]) else {
            folderRows = [:]
            return folderRows
        }
        // The folder's name prefix is bound, not joined row by row; one row past the limit
        // says the folder is too large to keep.
        let files = try db.cachedStatement(
            sql: """
                SELECT CASE WHEN name_cut THEN ?2 ELSE '' END || name, size, mtime_ns, outcome
                FROM ledger_files WHERE dir_id = ?1 LIMIT ?3
                """)
        var rows: [String: (size: Int64, mtimeNs: Int64, failed: Bool)] = [:]
        let cursor = try Row.fetchCursor(files, arguments: [found[0] as Int64, found[1] as String, folderMapLimit + 1])
        while let row = try cursor.next() {
            rows[row[0]] = (row[1], row[2], row[3] as Int64 == FileOutcome.failedCode)
        }
        guard rows.count <= folderMapLimit else { return nil }
        folderRows = rows
        return rows
    }
}
