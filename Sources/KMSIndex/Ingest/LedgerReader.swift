import GRDB
import GRDBSQLite

/// Looks files up in the ledger for the walk, on a thread and a read-only connection of its own.
///
/// A folder's rows are read once, into a map by the hash of their path, as the walk goes
/// through it (one query per folder where one per file was half the time of a re-run); a
/// folder of more than `folderMapLimit` rows is looked up file by file, so that memory stays
/// bounded. A re-run of an unchanged tree is this and the walk's stat of each file: the map
/// compares bytes, and makes no string per row or per file.
final class LedgerReader: @unchecked Sendable {
    private let queue: DatabaseQueue
    /// The folder of the last files looked up (its path's bytes), and its rows (nil: looked up
    /// one by one).
    private var folder: [UInt8]?
    private var folderRows: FolderRows?

    init(path: String) throws {
        queue = try DatabaseQueue(path: SQLiteSetup.literal(path), configuration: IndexDatabase.configuration(readOnly: true))
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
                let found: FolderRows.Entry?
                if try readFolder(of: file.path, db), let rows = folderRows {
                    found = file.path.withUTF8Bytes { rows.find(path: $0) }
                } else {
                    found = try LedgerLookup.find(statement, path: file.path).map {
                        FolderRows.Entry(size: $0.size, mtimeNs: $0.mtimeNs, failed: $0.failed)
                    }
                }
                guard let found else { return false }
                return found.size == file.size && found.mtimeNs == file.mtimeNs && !found.failed
            }
        }
        if found == nil { folder = nil }
        return found ?? Array(repeating: false, count: files.count)
    }

    /// Reads the rows of the folder of `path` into `folderRows`, unless they are there; false
    /// when it holds too many to keep, or `path` has no folder.
    private func readFolder(of path: String, _ db: Database) throws -> Bool {
        // The folder's bytes are copied only when it is not the last one's.
        let (dir, same): ([UInt8]?, Bool) = path.withUTF8Bytes { bytes in
            guard let slash = LedgerPath.lastSlash(bytes) else { return (nil, false) }
            let folderBytes = UnsafeBufferPointer(rebasing: bytes[..<slash])
            if let folder, folder.withUnsafeBufferPointer(folderBytes.hasSameBytes) {
                return (nil, true)
            }
            return (Array(folderBytes), false)
        }
        if same { return folderRows != nil }
        guard let dir else { return false }
        folder = dir
        folderRows = nil
        // Statements prepared once per connection: a re-run reads hundreds of folders.
        let folderRow = try db.cachedStatement(sql: "SELECT id, coalesce(name_prefix, '') FROM ledger_dirs WHERE path = ?")
        guard let found = try Row.fetchOne(folderRow, arguments: [String(decoding: dir, as: UTF8.self)]) else {
            folderRows = FolderRows()
            return true
        }
        var rows = FolderRows(prefix: Array((found[1] as String).utf8))
        // One row past the limit says the folder is too large to keep.
        var query = BoundStatement(
            try db.cachedStatement(
                sql: "SELECT path_hash, size, mtime_ns, outcome, name_cut, name FROM ledger_files WHERE dir_id = ? LIMIT ?"))
        query.int(found[0] as Int64)
        query.int(Int64(folderMapLimit + 1))
        try query.forEachRow(db) { row in
            rows.add(
                hash: sqlite3_column_int64(row, 0),
                FolderRows.Entry(
                    size: sqlite3_column_int64(row, 1), mtimeNs: sqlite3_column_int64(row, 2),
                    failed: sqlite3_column_int64(row, 3) == FileOutcome.failedCode),
                cut: sqlite3_column_int64(row, 4) != 0,
                name: UnsafeBufferPointer(start: sqlite3_column_text(row, 5), count: Int(sqlite3_column_bytes(row, 5))))
        }
        guard rows.count <= folderMapLimit else { return false }
        folderRows = rows
        return true
    }
}

/// A folder's ledger rows, by the hash the ledger keeps of each path (`path_hash`, FNV-1a of
/// the whole path), each with its name as stored, compared byte for byte on a match: a hash
/// alone could name two paths.
struct FolderRows {
    struct Entry {
        var size: Int64
        var mtimeNs: Int64
        var failed: Bool
    }

    /// What a cut name lacks (`ledger_dirs.name_prefix`, migration 022).
    private var prefix: [UInt8] = []
    /// Every row's stored name, one after another.
    private var names: [UInt8] = []
    private var rows: [(entry: Entry, cut: Bool, nameStart: Int, nameCount: Int, next: Int)] = []
    /// The first row of each hash; rows of the same hash are chained by `next` (-1: none).
    private var firstByHash: [Int64: Int] = [:]

    init(prefix: [UInt8] = []) {
        self.prefix = prefix
    }

    var count: Int { rows.count }

    mutating func add(hash: Int64, _ entry: Entry, cut: Bool, name: UnsafeBufferPointer<UInt8>) {
        rows.append((entry, cut, names.count, name.count, firstByHash[hash] ?? -1))
        names.append(contentsOf: name)
        firstByHash[hash] = rows.count - 1
    }

    /// The row of the file at `path` (its whole path's bytes), if any.
    func find(path: UnsafeBufferPointer<UInt8>) -> Entry? {
        guard var k = firstByHash[PrincipalIdentity.hash(path)] else { return nil }
        let name = UnsafeBufferPointer(rebasing: path[((LedgerPath.lastSlash(path) ?? -1) + 1)...])
        return names.withUnsafeBufferPointer { names in
            prefix.withUnsafeBufferPointer { prefix in
                while k >= 0 {
                    let row = rows[k]
                    let stored = UnsafeBufferPointer(rebasing: names[row.nameStart..<row.nameStart + row.nameCount])
                    // A cut name is the folder's prefix, then what is stored.
                    let cut = row.cut ? prefix.count : 0
                    if name.count >= cut, !row.cut || UnsafeBufferPointer(rebasing: name[..<cut]).hasSameBytes(as: prefix),
                        UnsafeBufferPointer(rebasing: name[cut...]).hasSameBytes(as: stored)
                    {
                        return row.entry
                    }
                    k = row.next
                }
                return nil
            }
        }
    }
}
