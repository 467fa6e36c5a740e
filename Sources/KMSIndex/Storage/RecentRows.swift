import GRDB

/// Context values, principals (migration 026) and S3 folders (027) added since the last fold:
/// their rows say `recent = 1`, and the indexes that find them lead with `recent`, so that a new
/// day's rows, whose hashes or names are random, change the pages of a small range and not pages
/// all over an index of the whole history. Lookups read both ranges (`recent IN (0, 1)`).
///
/// It pays where a day's new rows land on many pages of the main range: a fold writes about
/// every page of it once per cycle, and in between a day's rows land on most pages of the recent
/// range. S3 locations are not kept so: their index puts the keys of a folder side by side, and
/// a new folder after every other (migration 029), so a day's new locations change few pages
/// of it, fewer than a fold every 25 days and a recent range of a sixteenth would.
package enum RecentRows {
    /// The tables with recent rows.
    static let tables = ["context_values", "principal_rows", "s3_folders"]

    /// A table's recent rows are folded in when they are more than this share of its rows. A
    /// fold writes every page of the main range once (the recent rows' hashes are random): with
    /// a sixteenth, one more day of a year's history changes a few hundred pages of each index
    /// instead of thousands, and a fold comes every few weeks.
    static let foldedAtShare = 16

    /// ... and more than this many: a small index is cheap to change anywhere.
    static let foldedAtLeast = 4_096

    /// Folds in the recent rows of each table where they are due (`foldedAtShare`,
    /// `foldedAtLeast`), or all of them if `always`; inside the caller's transaction, so that a
    /// fold is committed with the rows that made it due. A table folded in loses its filter
    /// (`LookupFilters`): its main range now holds rows the filter does not. Returns the rows
    /// folded in, by table.
    @discardableResult
    package static func fold(_ db: Database, always: Bool = false) throws -> [String: Int] {
        var folded: [String: Int] = [:]
        for table in tables {
            // Counted through the index's recent range; max(id) stands for the table's rows.
            let recent = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE recent = 1") ?? 0
            guard recent > 0 else { continue }
            if !always {
                let rows = try rowCount(db, table)
                guard recent > foldedAtLeast, recent * foldedAtShare > rows else { continue }
            }
            try db.execute(sql: "UPDATE \(table) SET recent = 0 WHERE recent = 1")
            folded[table] = db.changesCount
            try LookupFilters.invalidate(db, [table])
        }
        return folded
    }

    /// Whether `adding` new rows of a table of about `rows` rows should go in its recent range:
    /// not when they are many next to the table (a merge of a large shard), as a fold would
    /// soon move them again.
    static func addsRecent(adding: Int, to rows: Int64) -> Bool {
        Int64(adding) * Int64(foldedAtShare) <= rows
    }

    /// The rows of `table`, or about: its largest id.
    static func rowCount(_ db: Database, _ table: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.\(table)") ?? 0
    }
}
