import GRDB

/// The writer's look-ups in the tables with recent rows (`RecentRows`), for one run: which range
/// a new row goes in, and where a value the caches do not know is looked up before its row is
/// added (`LookupFilters`).
final class RecentRangeLookups {
    private let db: Database

    /// The tables (of `RecentRows.tables`) whose new rows go in their recent range: those that
    /// held rows when the run began. Into an empty table (a first ingest) every row goes
    /// straight into the main range, which is the run's own. Once a table is folded in during a
    /// run, the run's later rows go straight into its main range too: that fold writes those
    /// pages anyway, and a long run would otherwise move most of its rows twice.
    private(set) var addingRecent: Set<String>

    /// The filters of the main ranges of the tables this run adds recent rows to, each read at
    /// the run's first look-up in its table (a run that meets no new value reads none); nil
    /// when the table has none. A table's is dropped when the run adds to its main range.
    private var filters: [String: LookupFilter?] = [:]
    /// The tables whose stored filter this run deleted, as it added to their main range.
    private var filtersDeleted: Set<String> = []
    /// The hashes of the recent range of each table this run adds recent rows to, read at the
    /// run's first look-up there and kept up with the rows the run adds: a value in neither
    /// range's hashes is added without a look-up (a big day's 27,000 new context values were
    /// as many statements). None is kept for a range of more than `recentHashLimit` rows.
    private var recentHashes: [String: RecentHashes?] = [:]
    var recentHashLimit = 1 << 17

    /// A set of hashes shared, not copied, when a row is added to it.
    private final class RecentHashes {
        var hashes: Set<Int64>
        init(_ hashes: Set<Int64>) { self.hashes = hashes }
    }

    init(db: Database, addingRecent: Set<String>) {
        self.db = db
        self.addingRecent = addingRecent
    }

    /// The `recent` of a new row of `table`.
    func recent(_ table: String) -> Int64 {
        addingRecent.contains(table) ? 1 : 0
    }

    /// The run folded `tables` in (`RecentRows.fold`, which deleted their filters): their next
    /// rows go in their main range.
    func foldedIn(_ tables: some Sequence<String>) {
        addingRecent.subtract(tables)
        for table in tables {
            filters[table] = .some(nil)
            recentHashes[table] = .some(nil)
        }
    }

    /// Forgets which filters the run deleted: a rollback may have restored them.
    func reset() {
        filtersDeleted.removeAll()
    }

    /// Where to look up a value of `table` whose hash is `hash`, before adding its row: the
    /// recent range only, when the main range's filter does not hold the hash; nowhere, when
    /// the recent range's hashes do not either. A table whose next row goes in its main range
    /// has its stored filter deleted first, in the transaction that adds the row (the end of the
    /// ingest builds it again).
    func lookUp(_ table: String, hash: Int64) throws -> DimensionTable.LookUp {
        if !addingRecent.contains(table), !filtersDeleted.contains(table) {
            try LookupFilters.invalidate(db, [table])
            filtersDeleted.insert(table)
        }
        guard addingRecent.contains(table) else { return .everywhere }
        if filters[table] == nil { filters[table] = .some(try LookupFilters.load(db, table)) }
        guard let filter = filters[table] ?? nil, !filter.mayContain(hash) else { return .everywhere }
        if recentHashes[table] == nil {
            recentHashes[table] = .some(
                try LookupFilters.recentHashes(db, table, limit: recentHashLimit).map(RecentHashes.init))
        }
        guard let recent = recentHashes[table] ?? nil, !recent.hashes.contains(hash) else { return .recentOnly }
        return .nowhere
    }

    /// Notes a row of `table` the run added, whose hash is `hash`: in the recent range's hashes
    /// when it went there. Past `recentHashLimit` they are dropped (the range is then looked up),
    /// so that a long run's memory does not grow with what it adds.
    func added(_ table: String, hash: Int64) {
        guard addingRecent.contains(table), let recent = recentHashes[table] ?? nil else { return }
        if recent.hashes.count < recentHashLimit {
            recent.hashes.insert(hash)
        } else {
            recentHashes[table] = .some(nil)
        }
    }
}
