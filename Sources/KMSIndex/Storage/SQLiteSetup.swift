import CSQLiteConfig

/// Process-wide SQLite settings, applied once, before the first connection of the process opens
/// (`IndexDatabase.configuration` asks for them).
enum SQLiteSetup {
    /// True when the settings took effect. False when SQLite had already been initialized by a
    /// connection opened elsewhere in the process: SQLite then keeps its defaults, which is
    /// slower but changes nothing else.
    static let applied = apply()

    /// Applies the settings; false, changing nothing, once SQLite is initialized.
    static func apply() -> Bool {
        // Without memory statistics, sqlite3_malloc and sqlite3_free take no global mutex
        // (measured on ingest, where the writer's statements allocate for every event).
        let memstatus = kmsindex_sqlite3_disable_memstatus() == SQLITE_OK
        // URI filenames, so that merge can attach a shard with `?mode=ro`.
        let uri = kmsindex_sqlite3_enable_uri() == SQLITE_OK
        return memstatus && uri
    }

    /// `path` as SQLite must be given it to open that very file: with URI filenames on, a
    /// relative path that starts with `file:` would be read as a URI (`file:s.sqlite` opening
    /// `s.sqlite`), so it is given as `./file:…`.
    static func literal(_ path: String) -> String {
        path.hasPrefix("file:") ? "./" + path : path
    }

    /// True when SQLite reads `file:` URIs in ATTACH: set here, or built in (SQLITE_USE_URI).
    static var uriFilenames: Bool {
        applied || sqlite3_compileoption_used("USE_URI") != 0
    }
}
