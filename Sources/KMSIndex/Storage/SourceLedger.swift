import Foundation
import GRDB

/// Where the ledger keeps a file's path: its folder once in `ledger_dirs`, its name in
/// `ledger_files`, and its folder's id and a hash of the whole path find the row (migration 013).
enum LedgerPath {
    /// The folder (without the last '/') and the name after it; no folder when the path holds
    /// no '/'. "/x.json.gz" is the name "x.json.gz" in the folder "".
    static func split(_ path: String) -> (dir: String?, name: String) {
        // Searched in the bytes: the generic search of the UTF-8 view was a tenth of a re-run.
        let slash: Int? = path.withUTF8Bytes(lastSlash)
        guard let slash else { return (nil, path) }
        let utf8 = path.utf8
        let at = utf8.index(utf8.startIndex, offsetBy: slash)
        return (String(path[..<at]), String(path[utf8.index(after: at)...]))
    }

    /// The offset of the last '/' in a path's bytes; nil when there is none.
    static func lastSlash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var k = bytes.count - 1
        while k >= 0, bytes[k] != UInt8(ascii: "/") { k -= 1 }
        return k >= 0 ? k : nil
    }

    /// A file's name as its row keeps it (migration 022): less the folder's `name_prefix`
    /// when it starts with it, and whether it was cut.
    static func stored(name: String, prefix: String?) -> (name: String, cut: Bool) {
        guard let prefix, name.utf8.count > prefix.utf8.count, name.utf8.starts(with: prefix.utf8) else { return (name, false) }
        return (String(decoding: name.utf8.dropFirst(prefix.utf8.count), as: UTF8.self), true)
    }

    /// SQL: the whole name of the `ledger_files` row `file`, its folder `ledger_dirs` row `dir`
    /// joined.
    static func wholeName(_ file: String = "f", dir: String = "d") -> String {
        "CASE WHEN \(file).name_cut THEN coalesce(\(dir).name_prefix, '') ELSE '' END || \(file).name"
    }

    /// 64-bit FNV-1a of the path's UTF-8 bytes: `ledger_files.path_hash`.
    static func hash(_ path: String) -> Int64 { PrincipalIdentity.textHash(path) }

    /// The folder of an S3 key, as `s3_folders` keeps it: up to its last '/', included; nil
    /// when it has none.
    static func s3Folder(of key: String) -> String? { split(key).dir.map { $0 + "/" } }

    /// The SQL functions migration 013 converts the old ledger with.
    static let sqlFunctions = [
        DatabaseFunction("ledger_dir", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).flatMap { split($0).dir }
        },
        DatabaseFunction("ledger_name", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).map { split($0).name }
        },
        DatabaseFunction("ledger_path_hash", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).map(hash)
        },
        // The 32 bytes of a SHA-256 written as hex; anything else is not one (NULL).
        DatabaseFunction("sha256_bytes", argumentCount: 1, pure: true) { values in
            String.fromDatabaseValue(values[0]).flatMap(LedgerPath.sha256Bytes)
        },
    ]

    /// The bytes of a SHA-256 as hex, as `ledger_files.content_sha256` stores them.
    static func sha256Bytes(_ hex: String) -> Data? { sha256ByteArray(hex).map { Data($0) } }

    static func sha256ByteArray(_ hex: String) -> [UInt8]? {
        guard hex.utf8.count == 64 else { return nil }
        return Hex.decode(hex)
    }
}

/// How a file's outcome is stored in `ledger_files.outcome`.
extension FileOutcome {
    static let ingestedCode: Int64 = 0
    static let skippedCode: Int64 = 1
    static let failedCode: Int64 = 2

    var code: Int64 {
        switch self {
        case .ingested: return Self.ingestedCode
        case .skipped: return Self.skippedCode
        case .failed: return Self.failedCode
        }
    }
}

/// Writes ledger rows in the writer's transaction: a file read again keeps its row (and id),
/// updated.
final class LedgerWriter {
    private let db: Database
    private let selectDir: Statement
    private let insertDir: Statement
    private let selectFile: Statement
    private let insertFile: Statement
    private let updateFile: Statement
    /// Ids of folders and the start of their log files' names, by path: a run writes
    /// thousands of files into each.
    private var dirIDs: [String: (id: Int64, prefix: String?)] = [:]
    /// The id the next new row gets (given here, so that a file's events can name it before
    /// its row is written, with their count).
    private var nextFileID: Int64?

    init(db: Database) throws {
        self.db = db
        selectDir = try db.makeStatement(sql: "SELECT id, name_prefix FROM ledger_dirs WHERE path = ?")
        insertDir = try db.makeStatement(sql: "INSERT INTO ledger_dirs (path, name_prefix) VALUES (?, ?)")
        // The name as this folder's rows keep it: the folder's prefix is the one read from its row.
        selectFile = try db.makeStatement(
            sql: "SELECT id FROM ledger_files WHERE dir_id IS ?3 AND path_hash = ?1 AND name = ?2 AND name_cut = ?4")
        let columns = """
            size, mtime_ns, outcome, reason, records, kms_events, events_added, malformed_records, uncompressed_bytes,
            content_sha256, file_sha256, read_at
            """
        insertFile = try db.makeStatement(
            sql: """
                INSERT INTO ledger_files (\(columns), id, path_hash, name, dir_id, name_cut)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        updateFile = try db.makeStatement(
            sql: """
                UPDATE ledger_files SET (\(columns)) = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                WHERE id = ?
                """)
    }

    /// What a ledger row says of a file, besides its path.
    struct Entry {
        var size: Int64
        var mtimeNs: Int64
        var outcome: FileOutcome
        var reason: String?
        var records = 0
        var kmsRecords = 0
        var malformedRecords = 0
        var uncompressedBytes: Int?
        var contentSHA256: String?
        var fileSHA256: String?
        var eventsAdded = 0
    }

    /// Where a file's row is, or will be: its id, and its folder and hash when it is new.
    struct Slot {
        var id: Int64
        var isNew: Bool
        fileprivate var hash: Int64
        fileprivate var name: String
        fileprivate var nameCut: Bool
        fileprivate var dirID: Int64?
    }

    /// The row of `path`, found, or the id a new one will get.
    func slot(_ path: String) throws -> Slot {
        let (dir, whole) = LedgerPath.split(path)
        let folder = try dir.map(self.dir)
        let (name, cut) = LedgerPath.stored(name: whole, prefix: folder?.prefix)
        let hash = LedgerPath.hash(path)
        var find = BoundStatement(selectFile)
        find.int(hash)
        find.text(name)
        find.int(folder?.id)
        find.int(cut ? 1 : 0)
        if let id = try find.fetchInt64(db) {
            return Slot(id: id, isNew: false, hash: hash, name: name, nameCut: cut, dirID: folder?.id)
        }
        let id = try nextFileID ?? (Int64.fetchOne(db, sql: "SELECT ifnull(max(id), 0) + 1 FROM ledger_files") ?? 1)
        nextFileID = id + 1
        return Slot(id: id, isNew: true, hash: hash, name: name, nameCut: cut, dirID: folder?.id)
    }

    /// Writes the row of `slot`: one insert or one update.
    func write(_ slot: Slot, _ entry: Entry) throws {
        var row = BoundStatement(slot.isNew ? insertFile : updateFile)
        row.int(entry.size)
        row.int(entry.mtimeNs)
        row.int(entry.outcome.code)
        row.text(entry.reason)
        row.int(Int64(entry.records))
        row.int(Int64(entry.kmsRecords))
        row.int(Int64(entry.eventsAdded))
        row.int(Int64(entry.malformedRecords))
        row.int(entry.uncompressedBytes.map(Int64.init))
        row.blob(entry.contentSHA256.flatMap(LedgerPath.sha256ByteArray))
        row.blob(entry.fileSHA256.flatMap(LedgerPath.sha256ByteArray))
        row.int(Int64(time(nil)))  // read_at
        row.int(slot.id)
        if slot.isNew {
            row.int(slot.hash)
            row.text(slot.name)
            row.int(slot.dirID)
            row.int(slot.nameCut ? 1 : 0)
        }
        _ = try row.execute(db)
    }

    /// Writes the row of `path`; returns its id.
    func record(_ path: String, _ entry: Entry) throws -> Int64 {
        let slot = try slot(path)
        try write(slot, entry)
        return slot.id
    }

    /// Forgets cached ids (after a rollback they may name rows that no longer exist).
    func resetCache() {
        dirIDs = [:]
        nextFileID = nil
    }

    /// The folder's row: its id and its log files' name prefix (`CloudTrailLogName`), the row
    /// made the first time.
    private func dir(_ path: String) throws -> (id: Int64, prefix: String?) {
        if let found = dirIDs[path] { return found }
        let folder: (id: Int64, prefix: String?)
        if let row = try Row.fetchOne(selectDir, arguments: [path]) {
            folder = (row[0], row[1])
        } else {
            let prefix = CloudTrailLogName.namePrefix(folder: path + "/")
            try insertDir.execute(arguments: [path, prefix])
            folder = (db.lastInsertedRowID, prefix)
        }
        // A tree's folders are a few per day: bounded anyway, for a tree of millions of them.
        if dirIDs.count >= 1 << 16 { dirIDs = [:] }
        dirIDs[path] = folder
        return folder
    }
}

/// What the ledger says of a file, looked up by path: used to skip files read before.
enum LedgerLookup {
    /// The row of one path, with `arguments(path)` bound as ?1, ?2 and ?3.
    static let row = """
        dir_id IS (SELECT id FROM ledger_dirs WHERE path = ?3) AND path_hash = ?1
          AND CASE WHEN name_cut THEN (SELECT coalesce(name_prefix, '') FROM ledger_dirs WHERE id = dir_id) ELSE '' END || name = ?2
          AND (?3 IS NULL) = (dir_id IS NULL)
        """
    static let sql = "SELECT size, mtime_ns, outcome FROM ledger_files WHERE " + row

    /// The hash, name and folder of `path`, as `row` binds them.
    static func arguments(_ path: String) -> [(any DatabaseValueConvertible)?] {
        let (dir, name) = LedgerPath.split(path)
        return [LedgerPath.hash(path), name, dir]
    }

    /// The size, modification time and outcome recorded for `path`, if any.
    static func find(_ statement: Statement, path: String) throws -> (size: Int64, mtimeNs: Int64, failed: Bool)? {
        guard let row = try Row.fetchOne(statement, arguments: StatementArguments(arguments(path))) else { return nil }
        return (row[0], row[1], row[2] as Int64 == FileOutcome.failedCode)
    }
}
