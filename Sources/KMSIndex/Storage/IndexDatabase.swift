import Foundation
import GRDB
import GRDBSQLite

/// Why an index could not be opened or used.
package enum DatabaseOpenError: Error, Equatable, CustomStringConvertible {
    /// No file at `path`.
    case noIndex(path: String)
    case emptyFile(path: String)
    /// The file at `path` could not be created; `errno` says why.
    case cannotCreate(path: String, errno: Int32)
    /// The file at `path` does not start with SQLite's header.
    case notSQLite(path: String)
    /// A SQLite database, neither empty nor marked as an index.
    case notAnIndex(path: String)
    /// An index with migrations this binary does not know (`unknown`); it knows up to `known`.
    case newerSchema(path: String, unknown: [String], known: Int)
    /// A backup's destination that already exists.
    case destinationExists(path: String)
    /// `path` is a folder.
    case isFolder(path: String)
    /// The folder `path` would be in does not exist.
    case noFolder(path: String)
    /// The index cannot be read where it is: SQLite needs its `-shm` file, and cannot create
    /// it in the index's folder `folder`.
    case folderNotWritable(path: String, folder: String)

    package var description: String {
        switch self {
        case let .noIndex(path):
            return "no index at \(path): run 'kmsindex ingest' first, or give --db"
        case let .emptyFile(path):
            return "\(path) is an empty file, not an index: run 'kmsindex ingest' into it first, or give --db"
        case let .cannotCreate(path, code):
            return "cannot create \(path): \(String(cString: strerror(code)))"
        case let .notSQLite(path):
            return "\(path) is not a SQLite database; refusing to touch it"
        case let .notAnIndex(path):
            return "\(path) is a SQLite database but not a kmsindex index; refusing to touch it"
        case let .newerSchema(path, unknown, known):
            return "\(path) was written by a newer kmsindex (schema \(unknown.joined(separator: ", ")));"
                + " this binary knows schema version \(known): upgrade kmsindex"
        case let .destinationExists(path):
            return "\(path) already exists; choose a new file for the backup"
        case let .isFolder(path):
            return "\(path) is a folder, not an index: give --db a file (such as \(path)/kmsindex.sqlite)"
        case let .noFolder(path):
            return "no folder for the index \(path): create the folder it is in first"
        case let .folderNotWritable(path, folder):
            return "cannot read \(path): SQLite reads an index in WAL mode through \(path)-shm, and cannot create it "
                + "in \(folder), which this user cannot write to: query a copy in a folder you can write to, made by "
                + "`kmsindex backup` run by the index's owner (`cp` of the file alone misses what is still in \(path)-wal)"
        }
    }
}

/// The SQLite file that holds the index: opening, checking, migrating.
///
/// Opening refuses, before changing anything, a file that is not SQLite, a SQLite database
/// that is not a kmsindex index, and an index written by a newer kmsindex.
package final class IndexDatabase: Sendable {
    /// `PRAGMA application_id` of kmsindex databases ("kmsi").
    package static let applicationID: Int32 = 0x6B6D_7369
    /// Default file name, in the current directory, when neither --db nor KMSINDEX_DB is given.
    package static let defaultFileName = "kmsindex.sqlite"

    package let path: String
    package let queue: DatabaseQueue

    /// The database path: an explicit one, else `KMSINDEX_DB` (of `environment`, or of the
    /// process), else `kmsindex.sqlite` here.
    package static func resolvePath(_ explicit: String?, environment: [String: String]? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        // getenv, not ProcessInfo: copying the whole environment was a measurable part of a query.
        let env = environment.map { $0["KMSINDEX_DB"] } ?? getenv("KMSINDEX_DB").map { String(cString: $0) }
        if let env, !env.isEmpty { return env }
        return defaultFileName
    }

    /// Migrations compiled into the binary from `Migrations/*.sql`.
    package static var migrations: [(identifier: String, sql: String)] { embeddedMigrations }

    /// The schema version this binary writes: the number of its newest migration.
    package static var schemaVersion: Int {
        embeddedMigrations.last.flatMap { Int($0.identifier.prefix { $0.isNumber }) } ?? 0
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in embeddedMigrations {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    private init(path: String, queue: DatabaseQueue) {
        self.path = path
        self.queue = queue
    }

    /// Opens the index for writing, creating it (mode 0600) and migrating it as needed.
    /// The caller holds the index lock, or takes it for the migration (`lockTimeout`).
    package static func openForWriting(
        path: String, lockTimeout: Double? = 600, afterWaiting: String = "(see --wait)"
    ) throws -> IndexDatabase {
        // Creation and migration happen under the index lock, so two processes never race them.
        let lock = try lockTimeout.map { try IndexLock(indexPath: path, timeout: $0, afterWaiting: afterWaiting) }
        defer { withExtendedLifetime(lock) {} }
        let headerID = try checkFileHeader(path: path)
        if headerID != applicationID,
            let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue > 0
        {
            // Checked on a read-only connection first: opening for writing would switch the
            // file to WAL, and a file that is not ours must stay untouched. A header that says
            // ours (set once, never unset) needs no such connection: the writing one checks
            // the schema before it migrates.
            let reader = try readOnlyQueue(path: path)
            try reader.read { db in
                try checkIdentity(db, path: path)
                try checkNotNewer(db, path: path)
            }
            try reader.close()
        }
        if !FileManager.default.fileExists(atPath: path) {
            // Create it ourselves so that the index (and its WAL, which copies the mode) is private.
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 && errno != EEXIST {
                throw DatabaseOpenError.cannotCreate(path: path, errno: errno)
            }
            if fd >= 0 { close(fd) }
        }
        let queue = try DatabaseQueue(path: SQLiteSetup.literal(path), configuration: configuration(readOnly: false))
        try queue.writeWithoutTransaction { db in
            try checkIdentity(db, path: path)
            try checkNotNewer(db, path: path)
            // Marked as ours before the first table exists: a run killed during the migrations
            // leaves an index the next run finishes, not a foreign database it must refuse.
            // Once marked, not written again: a run with nothing new writes nothing.
            if headerID != applicationID {
                try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            }
        }
        try migrator.migrate(queue)
        try recountNotedDays(queue)
        return IndexDatabase(path: path, queue: queue)
    }

    /// Why the index at `path` cannot be read where it is, when `error` is SQLite's failing to
    /// make its `-shm` in a folder this user cannot write to (a share, another user's folder);
    /// nil for any other error.
    package static func unreadableHere(_ path: String, _ error: DatabaseError) -> DatabaseOpenError? {
        guard [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode) else { return nil }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        guard access(dir, W_OK) != 0 && access(path + "-shm", F_OK) != 0 else { return nil }
        return DatabaseOpenError.folderNotWritable(path: path, folder: dir)
    }

    /// Counts again from their events the days a migration noted in `summary_recounts` (it moved
    /// events from one key to another), then forgets them: in one transaction, after every
    /// migration, so that today's code counts them in today's schema. A run killed before leaves
    /// the days noted, and the next open counts them.
    static func recountNotedDays(_ queue: DatabaseQueue) throws {
        try queue.inDatabase { db in
            guard try recountsPending(db) else { return }
            try db.inTransaction {
                let days = try Int64.fetchAll(db, sql: "SELECT day FROM summary_recounts ORDER BY day")
                var ranges: [ClosedRange<Int64>] = []
                for day in days {
                    if let last = ranges.last, last.upperBound + 1 == day {
                        ranges[ranges.count - 1] = last.lowerBound...day
                    } else {
                        ranges.append(day...day)
                    }
                }
                try DailySummaries.recount(db, days: ranges)
                try db.execute(sql: "DELETE FROM summary_recounts")
                return .commit
            }
        }
    }

    /// True when days noted by a migration are still to be counted again.
    static func recountsPending(_ db: Database) throws -> Bool {
        try db.tableExists("summary_recounts") && Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM summary_recounts)") == true
    }

    /// Opens an existing index for queries only. Pending migrations are applied first.
    package static func openForReading(path: String) throws -> IndexDatabase {
        // stat(2) answers as FileManager.fileExists does (a dangling link is no file), without
        // setting up a FileManager.
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw DatabaseOpenError.noIndex(path: path)
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw DatabaseOpenError.isFolder(path: path) }
        // SQLite takes an empty file for an empty database: a query would make it an index
        // (a truncated or mistyped --db answered "nothing found").
        if status.st_size == 0 { throw DatabaseOpenError.emptyFile(path: path) }
        try checkFileHeader(path: path)
        let queue: DatabaseQueue
        let pending: Bool
        do {
            queue = try readOnlyQueue(path: path)
            pending = try queue.read { db -> Bool in
                try checkIdentity(db, path: path)
                // One read of the applied migrations serves both checks.
                let applied = try appliedMigrations(db)
                try checkNotNewer(applied: applied, path: path)
                return try !embeddedMigrations.allSatisfy { applied.contains($0.identifier) } || recountsPending(db)
            }
        } catch let error as DatabaseError {
            throw unreadableHere(path, error) ?? error
        }
        if pending {
            // A command that only reads has no --wait: it migrates the index first, under the lock.
            _ = try openForWriting(
                path: path,
                afterWaiting: "to migrate the index to this kmsindex's schema first: run the command again once the other is done")
        }
        return IndexDatabase(path: path, queue: queue)
    }

    /// A read-only connection. A process killed in the middle of a write can leave what only a
    /// writer may repair: a hot rollback journal (a new index is created in that mode before it
    /// turns to WAL), or a WAL index to rebuild. SQLite repairs either when a writable connection
    /// first reads, so on "readonly" one is opened and closed, and reading is tried once more.
    static func readOnlyQueue(path: String) throws -> DatabaseQueue {
        do {
            return try DatabaseQueue(path: SQLiteSetup.literal(path), configuration: configuration(readOnly: true))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
            var repair = Configuration()
            repair.busyMode = .timeout(60)
            repair.foreignKeysEnabled = false
            let writer = try DatabaseQueue(path: SQLiteSetup.literal(path), configuration: repair)
            try writer.inDatabase { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            try writer.close()
            return try DatabaseQueue(path: SQLiteSetup.literal(path), configuration: configuration(readOnly: true))
        }
    }

    static func configuration(readOnly: Bool) -> Configuration {
        _ = SQLiteSetup.applied  // before the process's first connection opens
        var config = Configuration()
        config.readonly = readOnly
        // WAL is set below rather than by GRDB, whose set-up also reads the WAL file's size
        // through Foundation (which looks up the file owner's user and group names) and, when the
        // WAL is empty, as after every clean close, creates and drops a table: a write and a
        // schema change at each ingest's start, there for DatabasePool's readers, which kmsindex
        // does not use.
        config.journalMode = .default
        // Another ingest may hold the write lock for a while; wait for it rather than fail.
        config.busyMode = .timeout(60)
        config.foreignKeysEnabled = false
        config.prepareDatabase { db in
            db.add(function: StoredKeyHash.sqlFunction)
            db.add(function: CloudTrailLogName.accountFunction)
            db.add(function: CloudTrailLogName.regionFunction)
            db.add(function: CloudTrailLogName.namePrefixFunction)
            db.add(function: PrincipalIdentity.sqlFunction)
            db.add(function: PrincipalIdentity.textHashFunction)
            for function in LedgerPath.sqlFunctions { db.add(function: function) }
            if let profile = getenv("KMSINDEX_PROFILE_SQL") {
                // `full` prints each statement whole, to replay it in sqlite3.
                let shown = String(cString: profile) == "full" ? Int.max : 300
                db.trace(options: .profile) { event in
                    if case let .profile(statement, duration) = event {
                        let line =
                            String(format: "%.4f s  ", duration)
                            + String(statement.sql.prefix(shown)).replacingOccurrences(of: "\n", with: " ") + "\n"
                        _ = line.withCString { write(2, $0, strlen($0)) }
                    }
                }
            }
            // GRDB's authorizer records what each statement reads, for observation, column by
            // column; a read-only connection has no observers, and the event views read dozens.
            if readOnly { sqlite3_set_authorizer(db.sqliteConnection, nil, nil) }
            if !readOnly {
                // An index in memory (tests) keeps its journal there.
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode == "wal" || mode == "memory" else { throw DatabaseError(message: "could not turn on WAL mode") }
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // A checkpoint each 64 MiB of WAL rather than SQLite's 4 MiB: a page an ingest
                // changes in many transactions (an index page, a day's summary) is then copied
                // into the database once per checkpoint, not once per transaction.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
            }
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        return config
    }

    /// Refuses a non-empty file that does not start with SQLite's header, without opening it.
    /// Returns the header's application id, when the file is long enough to have one (SQLite
    /// may still hold a newer one in the WAL: a 0 here proves nothing).
    @discardableResult
    static func checkFileHeader(path: String) throws -> Int32? {
        // Plain read(2): this runs before every query, and FileHandle and Data cost more to set up.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 72)
        var count = 0
        while count < header.count {
            let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
        if count > 0 && !header[..<min(count, 16)].elementsEqual("SQLite format 3\0".utf8) {
            throw DatabaseOpenError.notSQLite(path: path)
        }
        guard count == header.count else { return nil }
        return header[68..<72].reduce(Int32(0)) { $0 << 8 | Int32($1) }
    }

    /// Refuses a SQLite database that is neither empty nor marked as a kmsindex index.
    static func checkIdentity(_ db: Database, path: String) throws {
        let appID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        if appID == applicationID { return }
        let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0
        if appID != 0 || tables > 0 {
            throw DatabaseOpenError.notAnIndex(path: path)
        }
    }

    /// Refuses an index that has migrations this binary does not know.
    static func checkNotNewer(_ db: Database, path: String) throws {
        try checkNotNewer(applied: appliedMigrations(db), path: path)
    }

    /// The identifiers of the migrations applied to an index; none before the first.
    static func appliedMigrations(_ db: Database) throws -> [String] {
        // Asked of sqlite_master: GRDB's tableExists would load and cache the whole schema.
        let tables =
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'grdb_migrations' COLLATE NOCASE
                    """) ?? 0
        guard tables > 0 else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
    }

    /// Refuses an index whose `applied` migrations include some this binary does not know.
    static func checkNotNewer(applied: [String], path: String) throws {
        let known = Set(embeddedMigrations.map(\.identifier))
        let unknown = applied.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw DatabaseOpenError.newerSchema(path: path, unknown: unknown, known: schemaVersion)
        }
    }

    /// Applied schema version of an open index.
    package func appliedSchemaVersion() throws -> Int {
        try queue.read { db in
            let ids = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            return ids.compactMap { Int($0.prefix { $0.isNumber }) }.max() ?? 0
        }
    }
}
