import GRDB

/// The writer's look-ups in the tables with ranges (`RecentRows`), for one run: which range a
/// new row goes in, and where a value the caches do not know is looked up before its row is
/// added (`LookupFilters`).
final class RecentRangeLookups {
    private let db: Database

    /// The range each table's new rows go in, chosen when the run begins (`RecentRows`); none
    /// for a table that was empty then (a first ingest), whose rows all go in the main range,
    /// as the run's own.
    let rangeForNewRows: [String: Int64]

    /// The filter of the ranges below each table's `rangeForNewRows`: read at the run's first
    /// look-up in the table, or built then when the stored one holds other ranges (a run that
    /// starts a range); nil when the table has none.
    private var filters: [String: LookupFilter?] = [:]
    /// The tables whose stored filter this run deleted, as it added to their main range.
    private var filtersDeleted: Set<String> = []
    /// The hashes of the range each table's new rows go in, read at the run's first look-up
    /// there and kept up with the rows the run adds: a value in neither the filter nor these is
    /// added without a look-up (a big day's 27,000 new context values were as many statements).
    /// None is kept for a range of more than `recentHashLimit` rows.
    private var recentHashes: [String: RecentHashes?] = [:]
    var recentHashLimit = 1 << 18
    /// A table of fewer rows gets no filter (`LookupFilters.defaultMinimumRows`).
    var filterMinimumRows = LookupFilters.defaultMinimumRows

    /// A set of hashes shared, not copied, when a row is added to it.
    private final class RecentHashes {
        var hashes: Set<Int64>
        init(_ hashes: Set<Int64>) { self.hashes = hashes }
    }

    init(db: Database) throws {
        self.db = db
        var ranges: [String: Int64] = [:]
        for table in RecentRows.tables {
            ranges[table] = try RecentRows.rangeForNewRows(db, table)
        }
        rangeForNewRows = ranges
    }

    /// The `recent` of a new row of `table`.
    func recent(_ table: String) -> Int64 {
        rangeForNewRows[table] ?? 0
    }

    /// SQL: `recent` is any range a row of `table` can be in during this run.
    func anyRange(_ table: String) -> String {
        "IN (\((0...recent(table)).map(String.init).joined(separator: ", ")))"
    }

    /// Forgets which filters the run deleted or stored: a rollback may have restored or
    /// removed them.
    func reset() {
        filtersDeleted.removeAll()
        filters.removeAll()
    }

    /// Where to look up a value of `table` whose hash is `hash`, before adding its row: the
    /// range new rows go in only, when the filter of the ranges below it does not hold the
    /// hash; nowhere, when that range's hashes do not either. A table whose next row goes in
    /// its main range has its stored filter deleted first, in the transaction that adds the row
    /// (the end of the ingest builds it again).
    func lookUp(_ table: String, hash: Int64) throws -> DimensionTable.LookUp {
        guard let range = rangeForNewRows[table] else {
            if !filtersDeleted.contains(table) {
                try LookupFilters.invalidate(db, [table])
                filtersDeleted.insert(table)
            }
            return .everywhere
        }
        if filters[table] == nil { filters[table] = .some(try filter(table, below: range)) }
        guard let filter = filters[table] ?? nil, !filter.mayContain(hash) else { return .everywhere }
        if recentHashes[table] == nil {
            recentHashes[table] = .some(
                try LookupFilters.hashes(db, table, inRange: range, limit: recentHashLimit).map(RecentHashes.init))
        }
        guard let recent = recentHashes[table] ?? nil, !recent.hashes.contains(hash) else { return .recentOnly }
        return .nowhere
    }

    /// The stored filter of `table` when it holds the ranges below `range` and no other; else,
    /// for a table large enough to keep one, a filter of those ranges, built and stored in the
    /// run's transaction (the run starts a range, or the table has grown to need one).
    private func filter(_ table: String, below range: Int64) throws -> LookupFilter? {
        if let (filter, below) = try LookupFilters.load(db, table), below == range { return filter }
        guard try RecentRows.rowCount(db, table) >= filterMinimumRows else {
            try LookupFilters.invalidate(db, [table])
            return nil
        }
        let filter = try LookupFilters.build(db, table, below: range)
        try LookupFilters.store(db, table, filter, below: range)
        return filter
    }

    /// Notes a row of `table` the run added, whose hash is `hash`: in the hashes of the range
    /// it went in. Past `recentHashLimit` they are dropped (the range is then looked up), so
    /// that a long run's memory does not grow with what it adds.
    func added(_ table: String, hash: Int64) {
        guard let recent = recentHashes[table] ?? nil else { return }
        if recent.hashes.count < recentHashLimit {
            recent.hashes.insert(hash)
        } else {
            recentHashes[table] = .some(nil)
        }
    }
}
