import Foundation
import GRDB
import GRDBSQLite

/// One file of an exported day.
package struct ExportedFile: Codable, Equatable, Sendable {
    /// The file's name in its day folder (`part-00000.json.gz`).
    package var name: String
    /// Events in the file.
    package var events: Int
    /// The file's size, compressed.
    package var bytes: Int64

    /// A file named `name` holding `events` events in `bytes` bytes.
    package init(name: String, events: Int, bytes: Int64) {
        self.name = name
        self.events = events
        self.bytes = bytes
    }
}

/// What identifies a day's content in the index: its rows, the largest row id among them, and
/// a digest of every row's id and eventID. Ingest adds rows with new ids and prune removes
/// them, but an id freed at the top can be given again (`s3_reads` has no watermark: a read
/// pruned from the middle of a day, then another ingested into it, left count and largest id
/// as they were), and an index rebuilt from the same logs numbers its rows otherwise; the
/// digest tells both apart.
struct DayState: Equatable, Sendable {
    /// The day, as days since 1970-01-01 (UTC).
    var day: Int
    /// Rows of the day.
    var events: Int
    /// The largest row id among them.
    var maxEventRow: Int64
    /// The wrapping sum of `DayState.mix` of each row's id and eventID.
    var digest: UInt64 = 0

    /// `digest` as the manifest keeps it: 16 hex digits (a JSON number may not hold 64 bits).
    var digestText: String { String(format: "%016llx", digest) }

    /// A row's part of the digest: its eventID's bytes (FNV-1a) and its id, mixed (SplitMix64's
    /// finalizer), so that a sum over a day changes with any row.
    static func mix(id: Int64, uid: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in uid {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        var z = h ^ (UInt64(bitPattern: id) &* 0x9e37_79b9_7f4a_7c15)
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Reads and writes one day of events: the SQL and the merge of events with their context pairs.
///
/// Both queries walk `event_uids`, the index keyed by (`event_time`, `event_uid`), over the day's
/// time range, in that order: one ordered pass over the day's events (each column of
/// `kms_events` is a lookup by id) and one over their context pairs (`event_context` is keyed by
/// event id), merged by event id as they come. No query runs per event, nothing is sorted, and
/// no more than one row is held in memory beyond the compression buffer.
enum DayExport {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// The events of a time range, with every column of `kms_events` in its order, in time order.
    /// The eventID is the walk's own: the view's finds it by scanning the event's millisecond,
    /// quadratic work over a day whose events share one eventTime.
    static func eventsSQL(_ db: Database) throws -> String {
        let names = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('kms_events')")
        let columns = names.map { name in
            name == "event_id" ? "\(EventUID.textSQL("u.event_uid")) AS event_id" : "k.\"\(name)\""
        }
        return """
            SELECT \(columns.joined(separator: ", ")) FROM event_uids u CROSS JOIN kms_events k ON k.id = u.event_id
            WHERE u.event_time >= ? AND u.event_time < ?
            ORDER BY u.event_time, u.event_uid
            """
    }

    /// The other encryption-context pairs of the same events, in the same order, by scope.
    static let contextSQL = """
        SELECT c.event_id, c.scope, n.name, v.value
        FROM event_uids u CROSS JOIN event_context c ON c.event_id = u.event_id
        JOIN context_names n ON n.id = c.name_id JOIN context_values v ON v.id = c.value_id
        WHERE u.event_time >= ? AND u.event_time < ?
        ORDER BY u.event_time, u.event_uid, c.scope, c.name_id
        """

    /// The events' times, ids and eventIDs in a time range, in time order (the index alone
    /// answers it).
    static let daysSQL =
        "SELECT event_time, event_id, event_uid FROM event_uids WHERE event_time >= ? AND event_time < ? ORDER BY event_time"

    /// The days that hold rows of `table` in [`from`, `to`) milliseconds, with their counts and
    /// largest ids: one pass over the time index, grouped as it comes.
    static func days(_ db: Database, of table: ExportTable = .kmsEvents, from: Int64, to: Int64) throws -> [DayState] {
        var states: [DayState] = []
        try step(db, sql: table.daysSQL, arguments: [from, to]) { handle in
            let time = sqlite3_column_int64(handle, 0), id = sqlite3_column_int64(handle, 1)
            let day = Int(floorDiv(time, millisecondsPerDay))
            // The eventID as stored: 16 bytes, or its text (a blob's pointer first, then its size).
            let bytes = sqlite3_column_blob(handle, 2)
            let mixed = DayState.mix(id: id, uid: UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, 2))))
            if states.last?.day != day { states.append(DayState(day: day, events: 0, maxEventRow: id)) }
            states[states.count - 1].events += 1
            states[states.count - 1].maxEventRow = max(states[states.count - 1].maxEventRow, id)
            states[states.count - 1].digest &+= mixed
        }
        return states
    }

    /// Writes the rows of `table` of `day` into `folder` (which exists and is empty) as
    /// gzip-compressed NDJSON files of at most `partEvents` rows each; returns the files and the
    /// largest id.
    static func write(
        _ db: Database, _ table: ExportTable = .kmsEvents, day: Int, into folder: String, partEvents: Int
    ) throws -> (files: [ExportedFile], maxEventRow: Int64) {
        let from = Int64(day) * millisecondsPerDay, to = from + millisecondsPerDay
        let events = try db.makeStatement(sql: table.rowsSQL(db))
        var context: ContextCursor? = nil
        if table.withContext {
            let pairs = try db.makeStatement(sql: contextSQL)
            try pairs.setArguments([from, to])
            context = try ContextCursor(db, pairs)
        }
        let columns = try EventColumns(events.sqliteStatement, withContext: table.withContext)

        // Files are compressed and written on another thread while the next events are read.
        let compressor = BackgroundCompressor()
        defer { compressor.stop() }
        var names: [(name: String, events: Int)] = []
        var open = false
        var inFile = 0
        var maxEventRow: Int64 = 0
        var json = JSONBytes(capacity: 256 * 1024)
        func close() throws {
            guard open else { return }
            try compressor.write(json.bytes)
            json.bytes.removeAll(keepingCapacity: true)
            try compressor.close()
            names[names.count - 1].events = inFile
            open = false
        }
        try events.forEachRow([from, to]) { handle in
            if !open || inFile == partEvents {
                try close()
                let name = String(format: "part-%05d.json.gz", names.count)
                try compressor.open(folder + "/" + name)
                names.append((name, 0))
                open = true
                inFile = 0
            }
            let id = sqlite3_column_int64(handle, columns.id)
            maxEventRow = max(maxEventRow, id)
            if let context {
                try EventJSON.append(handle, columns: columns, id: id, context: context, to: &json)
            } else {
                EventJSON.appendRow(handle, columns: columns, to: &json)
            }
            inFile += 1
            if json.bytes.count >= 128 * 1024 {
                try compressor.write(json.bytes)
                json.bytes.removeAll(keepingCapacity: true)
            }
        }
        try close()
        if let context, context.hasRow {
            throw ExportError("context pairs of event row \(context.eventRow) came out of step with the events of \(dayName(day))")
        }
        let sizes = try compressor.finish()
        let files = zip(names, sizes).map { file, size in ExportedFile(name: file.name, events: file.events, bytes: size) }
        return (files, maxEventRow)
    }

    /// Runs `sql` and calls `row` with the statement's handle for each row.
    static func step(_ db: Database, sql: String, arguments: StatementArguments, row: (OpaquePointer) throws -> Void) throws {
        try db.makeStatement(sql: sql).forEachRow(arguments, row)
    }

    /// `YYYY-MM-DD` of a day number.
    static func dayName(_ day: Int) -> String {
        let (y, m, d) = EventTime.civilFromDays(day)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }
}
