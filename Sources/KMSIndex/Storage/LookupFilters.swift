import GRDB
import GRDBSQLite

/// A Bloom filter of 64-bit hashes: `mayContain` is true for every hash inserted, and for
/// about 0.4% of the others at `bitsPerHash` bits per hash.
struct LookupFilter: Equatable {
    /// The bits, as 64-bit words.
    private(set) var words: [UInt64]
    let hashCount: Int

    /// Bits per hash the filter is sized for, and the bits set per hash: 12 and 6 let about one
    /// hash in 270 through, in 1.5 MB per million rows (a year of an organization's history has
    /// 1.5 million rows in the three tables, read at the start of each run that needs them).
    /// With 8 and 4, one in 40 went through: a 300 MB day's 27,000 new context values looked up
    /// 650 of them in the main range for nothing, 25 ms of its 2 s.
    static let bitsPerHash = 12
    static let defaultHashCount = 6
    /// How a hash sets its bits (`forEachBit`), stored with each filter: a filter stored by
    /// another scheme is not read.
    static let scheme = 1
    /// At most 2^27 bits (16 MiB) a filter: past about 16 million hashes it lets more through
    /// instead of growing, so memory does not grow with history.
    static let maximumWords = (1 << 27) / 64

    /// An empty filter sized for `capacity` hashes.
    init(capacity: Int, hashCount: Int = defaultHashCount) {
        words = Array(repeating: 0, count: min(max(1, (capacity * Self.bitsPerHash + 63) / 64), Self.maximumWords))
        self.hashCount = hashCount
    }

    /// The filter stored as `bytes` (`bytes`), or nil when they cannot be one.
    init?(bytes: UnsafeRawBufferPointer, hashCount: Int) {
        let count = bytes.count / 8
        guard bytes.count % 8 == 0, (1...Self.maximumWords).contains(count), (1...16).contains(hashCount) else { return nil }
        words = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            for i in 0..<count { buffer[i] = UInt64(littleEndian: buffer[i]) }
            initialized = count
        }
        self.hashCount = hashCount
    }

    /// The words, little-endian.
    var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: words.count * 8)
        bytes.withUnsafeMutableBytes { raw in
            for (i, word) in words.enumerated() { raw.storeBytes(of: word.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
        }
        return bytes
    }

    /// The bits of `hash`: double hashing over a SplitMix64 mix of it (the stored hashes are
    /// FNV-1a, whose low bits alone are weak), each mapped onto the bits by a multiply-shift.
    @inline(__always)
    private static func forEachBit(of hash: Int64, bits: Int, hashCount: Int, _ body: (_ word: Int, _ mask: UInt64) -> Void) {
        var x = UInt64(bitPattern: hash) &+ 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let step = (x >> 32) | (x << 32) | 1
        var h = x
        for _ in 0..<hashCount {
            let b = Int(h.multipliedFullWidth(by: UInt64(bits)).high)
            body(b >> 6, 1 << UInt64(b & 63))
            h &+= step
        }
    }

    mutating func insert(_ hash: Int64) {
        let bits = words.count * 64, hashCount = hashCount
        words.withUnsafeMutableBufferPointer { words in
            Self.forEachBit(of: hash, bits: bits, hashCount: hashCount) { word, mask in words[word] |= mask }
        }
    }

    func mayContain(_ hash: Int64) -> Bool {
        var all = true
        Self.forEachBit(of: hash, bits: words.count * 64, hashCount: hashCount) { word, mask in
            all = all && words[word] & mask != 0
        }
        return all
    }
}

/// Filters of what the ranges of each table with ranges (`RecentRows`) hold, kept in
/// `lookup_filters` (migration 028): a value the writer has not met is looked up in the ranges
/// before the one it adds to only when the filter says it may be there.
///
/// A new day's values are mostly new, and each look-up that finds nothing read a page of an
/// index of the whole history (a day of a year's history: thousands of pages). A filter holds
/// the hashes of every row whose `recent` is below its `below_range` (migration 030), and is
/// read by a run that adds rows to range `below_range`, which that run looks up itself. A run
/// that adds to another range builds the filter again for its own (`build`); whatever adds
/// rows to a range the filter holds (a first ingest's rows in the main range, a merge) deletes
/// it in the same transaction (`invalidate`), and the end of an ingest builds the missing ones.
enum LookupFilters {
    /// A filter is kept for a table of at least this many rows (by its largest id): a smaller
    /// index is read in a few pages.
    static let defaultMinimumRows = 16_384

    /// The hash a table's rows are filtered by: SQL over its row, or nil for the hash of the
    /// text `folder` (`hash(folder:)`).
    private static let hashColumn: [String: String?] = [
        "context_values": "value_hash", "principal_rows": "identity_hash", "s3_folders": nil,
    ]

    /// The hash of an S3 folder's text, as its filter holds it.
    static func hash(folder: String) -> Int64 { PrincipalIdentity.textHash(folder) }

    /// The stored filter of `table` and the range below which it holds every row, if any and
    /// readable.
    static func load(_ db: Database, _ table: String) throws -> (filter: LookupFilter, belowRange: Int64)? {
        let statement = try db.cachedStatement(
            sql: "SELECT hash_count, bits, below_range FROM lookup_filters WHERE table_name = ? AND scheme = ?")
        var query = BoundStatement(statement)
        query.text(table)
        query.int(Int64(LookupFilter.scheme))
        var stored: (LookupFilter, Int64)?
        try query.forEachRow(db) { row in
            let count = Int(sqlite3_column_bytes(row, 1))
            guard let bits = sqlite3_column_blob(row, 1),
                let filter = LookupFilter(
                    bytes: UnsafeRawBufferPointer(start: bits, count: count), hashCount: Int(sqlite3_column_int64(row, 0)))
            else { return }
            stored = (filter, sqlite3_column_int64(row, 2))
        }
        return stored
    }

    /// Deletes the filters of `tables`: call it in the transaction that adds rows to a range
    /// they hold, before or after adding them.
    static func invalidate(_ db: Database, _ tables: some Sequence<String>) throws {
        for table in tables {
            try db.execute(sql: "DELETE FROM lookup_filters WHERE table_name = ?", arguments: [table])
        }
    }

    /// Deletes the filter of `table` when it holds range `range`, to which rows are being added.
    static func invalidate(_ db: Database, _ table: String, addingTo range: Int64) throws {
        try db.execute(sql: "DELETE FROM lookup_filters WHERE table_name = ? AND below_range > ?", arguments: [table, range])
    }

    /// The tables of at least `minimumRows` rows that have no filter.
    static func missing(_ db: Database, minimumRows: Int = defaultMinimumRows) throws -> [String] {
        let kept = Set(
            try String.fetchAll(db, sql: "SELECT table_name FROM lookup_filters WHERE scheme = ?", arguments: [LookupFilter.scheme]))
        return try RecentRows.tables.filter { table in
            guard !kept.contains(table) else { return false }
            return try RecentRows.rowCount(db, table) >= minimumRows
        }
    }

    /// Builds and stores the filter of each table `missing` names, for the range the table's
    /// next rows go in; returns those tables.
    @discardableResult
    static func refresh(_ db: Database, minimumRows: Int = defaultMinimumRows) throws -> [String] {
        let tables = try missing(db, minimumRows: minimumRows)
        for table in tables {
            guard let range = try RecentRows.rangeForNewRows(db, table) else { continue }
            try store(db, table, try build(db, table, below: range), below: range)
        }
        return tables
    }

    /// Stores `filter` as the filter of `table`, holding every row below range `range`.
    static func store(_ db: Database, _ table: String, _ filter: LookupFilter, below range: Int64) throws {
        var row = BoundStatement(
            try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO lookup_filters (table_name, scheme, hash_count, bits, below_range) VALUES (?, ?, ?, ?, ?)"))
        row.text(table)
        row.int(Int64(LookupFilter.scheme))
        row.int(Int64(filter.hashCount))
        row.blob(filter.bytes)
        row.int(range)
        _ = try row.execute(db)
    }

    /// The hashes of the rows of `table` below range `range`, each passed to `body`.
    static func forEachHash(_ db: Database, _ table: String, below range: Int64, _ body: (Int64) -> Void) throws {
        try forEachHash(db, table, where: "recent < \(range)", body)
    }

    /// The hashes of range `range` of `table`, or nil when it holds more than `limit` rows.
    static func hashes(_ db: Database, _ table: String, inRange range: Int64, limit: Int) throws -> Set<Int64>? {
        var hashes = Set<Int64>()
        try forEachHash(db, table, where: "recent = \(range)", limit: limit + 1) { hashes.insert($0) }
        return hashes.count > limit ? nil : hashes
    }

    /// The hashes of the rows of `table` that `condition` (SQL) keeps, each passed to `body`;
    /// at most `limit` of them.
    private static func forEachHash(
        _ db: Database, _ table: String, where condition: String, limit: Int? = nil, _ body: (Int64) -> Void
    ) throws {
        guard let column = hashColumn[table] else { preconditionFailure("no lookup filter for \(table)") }
        let statement = try db.makeStatement(
            sql: "SELECT \(column ?? "folder") FROM \(table) WHERE \(condition)\(limit.map { " LIMIT \($0)" } ?? "")")
        var query = BoundStatement(statement)
        try query.forEachRow(db) { row in
            if column != nil {
                body(sqlite3_column_int64(row, 0))
            } else {
                // The text's bytes as stored, hashed as the writer hashes a folder's UTF-8.
                let count = Int(sqlite3_column_bytes(row, 0))
                body(PrincipalIdentity.hash(UnsafeBufferPointer(start: sqlite3_column_text(row, 0), count: count)))
            }
        }
    }

    /// A filter of the rows of `table` below range `range`.
    static func build(_ db: Database, _ table: String, below range: Int64) throws -> LookupFilter {
        var filter = LookupFilter(capacity: try RecentRows.rowCount(db, table))
        try forEachHash(db, table, below: range) { filter.insert($0) }
        return filter
    }
}

extension LookupFilters {
    /// For each table with a stored filter, the rows of the ranges it holds that it does not:
    /// none, unless a statement added one without deleting the filter.
    static func uncoveredRows(_ db: Database) throws -> [String: Int] {
        var uncovered: [String: Int] = [:]
        for table in RecentRows.tables {
            guard let (filter, range) = try load(db, table) else { continue }
            var missing = 0
            try forEachHash(db, table, below: range) { if !filter.mayContain($0) { missing += 1 } }
            uncovered[table] = missing
        }
        return uncovered
    }
}
