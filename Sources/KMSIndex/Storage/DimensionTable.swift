import GRDB

/// A table of distinct values (keys, principals, objects, strings…) and the ids of its rows
/// the writer has met: the id of a value, its row inserted the first time. Both statements
/// are prepared once per writer; the cache and the table are kept in step here.
final class DimensionTable {
    let select: Statement
    /// The select over the recent range only, for tables with recent rows (`RecentRows`).
    let selectRecent: Statement?
    let insert: Statement
    /// Ids of rows already stored, by the text that identifies them: those met since the
    /// cache was last bounded, and those of the generation before (met again, a text moves to
    /// the current one). Bounding drops the older generation only: what the writer met
    /// recently stays, where emptying the whole cache had every lookup go to SQLite again.
    private var cache = TextIDCache()
    private var previous: TextIDCache?
    /// True while every row of the table is one this writer inserted, all of them in its cache
    /// (the table was empty when the writer started, as in a first ingest): a value the cache
    /// does not know is then inserted without being looked up. Ingest is the index's only writer
    /// while it runs (it holds the index lock).
    private var onlyOwnRows: Bool
    /// True when the table held no row as the writer began.
    let startedEmpty: Bool

    /// Where a value the cache does not know is looked up before its row is inserted.
    enum LookUp {
        /// Both ranges, or the whole table.
        case everywhere
        /// The recent range only: the main range's filter does not hold the value.
        case recentOnly
        /// Nowhere: the value cannot be stored yet.
        case nowhere
    }

    init(_ db: Database, table: String, select: String, selectRecent: String? = nil, insert: String) throws {
        self.select = try db.makeStatement(sql: select)
        self.selectRecent = try selectRecent.map { try db.makeStatement(sql: $0) }
        self.insert = try db.makeStatement(sql: insert)
        startedEmpty = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM \(table))") ?? false
        onlyOwnRows = startedEmpty
    }

    /// Forgets every cached id (after a rollback they may name rows that no longer exist).
    func reset() {
        cache.removeAll()
        previous = nil
        onlyOwnRows = false  // rows it inserted are no longer all in the cache
    }

    /// Starts a new generation of the cache, dropping the one before, when the current one
    /// holds more than `limit` ids or `bytes` bytes: memory stays flat however many rows the
    /// table holds, and however long their texts (principals' identities are hundreds of bytes).
    /// Returns whether it did.
    @discardableResult
    func bound(_ limit: Int, bytes: Int) -> Bool {
        guard cache.count > limit || cache.bytesHeld > bytes else { return false }
        previous = cache
        cache = TextIDCache()
        onlyOwnRows = false  // rows it inserted are no longer all in the cache
        return true
    }

    /// The cached id of `text`, if any.
    func cached(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { cached(utf8: $0) }
    }

    /// The cached id of the text whose UTF-8 is `bytes`, if any.
    func cached(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let id = cache.id(ofUTF8: bytes) { return id }
        guard let id = previous?.id(ofUTF8: bytes) else { return nil }
        cache.set(id, forUTF8: bytes)
        return id
    }

    /// Caches `id` as the row of `text`.
    func remember(_ id: Int64, for text: String) { cache.set(id, for: text) }

    /// Ids cached, in both generations (for tests).
    var cachedCount: Int { cache.count + (previous?.count ?? 0) }

    /// The id of the row `bind` selects where `lookUp` says, else of the row `insert` binds,
    /// newly inserted.
    func id(
        _ db: Database, lookUp: LookUp = .everywhere, bind: (inout BoundStatement) -> Void,
        insert bindRow: (inout BoundStatement) -> Void
    ) throws -> Int64 {
        try row(db, lookUp: lookUp, bind: bind, insert: bindRow).id
    }

    /// `id(...)`, and whether the row was inserted.
    func row(
        _ db: Database, lookUp: LookUp = .everywhere, bind: (inout BoundStatement) -> Void,
        insert bindRow: (inout BoundStatement) -> Void
    ) throws -> (id: Int64, inserted: Bool) {
        let statement: Statement? =
            switch lookUp {
            case .everywhere: select
            case .recentOnly: selectRecent ?? select
            case .nowhere: nil
            }
        if !onlyOwnRows, let statement {
            var query = BoundStatement(statement)
            bind(&query)
            if let id = try query.fetchInt64(db) { return (id, false) }
        }
        var row = BoundStatement(insert)
        bindRow(&row)
        _ = try row.execute(db)
        return (db.lastInsertedRowID, true)
    }

    /// The id of `text`, through the cache, for tables whose select takes it as its one value.
    func id(_ db: Database, _ text: String, insert bindRow: (inout BoundStatement) -> Void) throws -> Int64 {
        if let id = cached(text) { return id }
        let id = try id(db, bind: { $0.text(text) }, insert: bindRow)
        cache.set(id, for: text)
        return id
    }
}
