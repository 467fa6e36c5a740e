import GRDB
import GRDBSQLite

/// The eventIDs of stored events, found a millisecond at a time.
///
/// `event_uids` is keyed by (time, eventID), so one event's eventID is a scan of every event of
/// its millisecond. A query that joined it row by row did quadratic work when many events share
/// one eventTime (CloudTrail writes whole seconds; a forged tree can put any number in one):
/// 20,000 reads of one second took `who-read` 28 s. Here the events of one millisecond are
/// looked up together, in one scan of it, which is linear whatever the tree.
final class EventUIDLookup {
    private let db: Database
    private let statement: Statement

    init(_ db: Database) throws {
        self.db = db
        statement = try db.makeStatement(sql: "SELECT event_id, event_uid FROM event_uids WHERE event_time = ?")
    }

    /// Calls `found` with the id and the eventID text of events of the millisecond `time`, in
    /// the index's order, while it returns true.
    private func scan(_ time: Int64, _ found: (Int64, OpaquePointer) -> Bool) throws {
        var bound = BoundStatement(statement)
        bound.int(time)
        try bound.forEachRowWhile(db) { row in found(sqlite3_column_int64(row, 0), row) }
    }

    /// The eventIDs of the events `ids`, all of the millisecond `time`, by event id.
    func uids(at time: Int64, of ids: Set<Int64>) throws -> [Int64: String] {
        Dictionary(try ordered(at: time, of: ids, limit: ids.count), uniquingKeysWith: { first, _ in first })
    }

    /// The events `ids`, all of the millisecond `time`, with their eventIDs, in the index's
    /// order (by time, then eventID as SQLite orders it), `limit` at most.
    func ordered(at time: Int64, of ids: Set<Int64>, limit: Int) throws -> [(id: Int64, eventID: String)] {
        var found: [(id: Int64, eventID: String)] = []
        try scan(time) { id, row in
            if ids.contains(id) { found.append((id, EventUID.text(row, 1))) }
            return found.count < min(limit, ids.count)
        }
        return found
    }

    /// The eventIDs of `events` (time and id) of any times, by event id: each millisecond
    /// scanned once.
    func uids(of events: [(time: Int64, id: Int64)]) throws -> [Int64: String] {
        var byTime: [Int64: Set<Int64>] = [:]
        for event in events { byTime[event.time, default: []].insert(event.id) }
        var found: [Int64: String] = [:]
        for (time, ids) in byTime {
            for (id, uid) in try uids(at: time, of: ids) { found[id] = uid }
        }
        return found
    }

    /// Gives the events of `held` that came without their eventID (`EventRow.eventRow` set) the
    /// text of it. Every event of `held` is of one millisecond.
    func fill(_ held: inout [EventRow]) throws {
        guard let time = held.first?.eventTimeMs else { return }
        if held.count == 1 {
            // Most milliseconds hold one event: no set to build.
            guard let wanted = held[0].eventRow else { return }
            var text = ""
            try scan(time) { id, row in
                guard id == wanted else { return true }
                text = EventUID.text(row, 1)
                return false
            }
            held[0].eventID = text
            held[0].eventRow = nil
            return
        }
        let ids = Set(held.compactMap(\.eventRow))
        guard !ids.isEmpty else { return }
        let found = try uids(at: time, of: ids)
        for i in held.indices {
            guard let id = held[i].eventRow else { continue }
            held[i].eventID = found[id] ?? ""
            held[i].eventRow = nil
        }
    }
}
