import GRDB

/// Context values, principals (migration 026) and S3 folders (027) are kept in ranges of the
/// indexes that find them, by `recent` (migration 030): 0, the main range, holds what a first
/// ingest added; 1, 2, … each hold the rows of a stretch of later runs. A run adds its new rows
/// to the newest range until that holds more than a quarter of the table's rows; the next run
/// then starts a range after it. A new day's rows, whose hashes or names are random, so change
/// the pages of a range at one end of each index, not pages all over an index of the whole
/// history; and no row is ever moved from one range to another.
///
/// Look-ups read every range (`anyRange`): one probe each. The ranges are few: each holds more
/// than a quarter of the rows once closed, its own included, so more than a third of those before
/// it, and their number grows with the logarithm of the table's growth (about 9 for a table
/// grown twelvefold). Until schema 29, recent rows were
/// folded into the main range once a sixteenth of the table: each fold wrote about every page
/// of the main range, every other day at a 300 MB day's new values (BENCHMARKS.md).
///
/// S3 locations are not kept so: their index puts the keys of a folder side by side, and a new
/// folder after every other (migration 029), so a day's new locations change few pages of it.
package enum RecentRows {
    /// The tables with ranges.
    static let tables = ["context_values", "principal_rows", "s3_folders"]

    /// The newest range takes no more rows once it holds more than this share of its table's
    /// rows ...
    static let closedAtShare = 4

    /// ... and more than this many: a small index is cheap to change anywhere.
    static let closedAtLeast = 4_096

    /// SQL: `recent` is any range of `table`, through the view `index_ranges` (migration 030):
    /// `IN (0, 1, …, newest)`, which SQLite reads as one probe of the index per range.
    static func anyRange(_ table: String) -> String {
        "IN (SELECT recent FROM main.index_ranges WHERE table_name = '\(table)')"
    }

    /// The range the next new rows of `table` go in: none (nil) when the table is empty, whose
    /// rows then go in the main range, as the run's own; else the newest range, or the one after
    /// it once that holds more than `closedAtShare` and `closedAtLeast` allow (or is the main
    /// range).
    static func rangeForNewRows(_ db: Database, _ table: String) throws -> Int64? {
        let rows = try rowCount(db, table)
        guard rows > 0 else { return nil }
        let newest = try Int64.fetchOne(db, sql: "SELECT ifnull(max(recent), 0) FROM main.\(table)") ?? 0
        guard newest > 0 else { return 1 }
        // Counted through the index's range; max(id) stands for the table's rows.
        let held = try Int.fetchOne(db, sql: "SELECT count(*) FROM main.\(table) WHERE recent = ?", arguments: [newest]) ?? 0
        return held > closedAtLeast && held * closedAtShare > rows ? newest + 1 : newest
    }

    /// The rows of `table`, or about: its largest id.
    static func rowCount(_ db: Database, _ table: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT ifnull(max(id), 0) FROM main.\(table)") ?? 0
    }
}
