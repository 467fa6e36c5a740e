/// The rows of `reads` as its table shows them: a read recorded twice (an S3 read and the
/// Decrypt S3 made for it, which share a `readID`) is one row, as in who-read's table: the S3
/// record, with the Decrypt's key.
///
/// Rows come oldest first and are handed on in that order. A row whose partner can still come
/// is held until it does, or until the rows have gone `S3Reads.pairingWindowMs` past it: only
/// that window is held, however many reads there are.
package struct PairedReadRows {
    private var held: [EventRow] = []
    /// Rows handed on from the front of `held`.
    private var first = 0
    /// Held rows whose partner has not come, by `readID`: their position counting from the first
    /// row ever added.
    private var waiting: [String: Int] = [:]
    private var dropped = 0
    private let hand: (EventRow) throws -> Void

    package init(hand: @escaping (EventRow) throws -> Void) {
        self.hand = hand
    }

    package mutating func add(_ row: EventRow) throws {
        if let id = row.readID, let position = waiting.removeValue(forKey: id) {
            let partner = held[position - dropped]
            var merged = row.source == "s3" ? row : partner
            merged.keyARN = partner.keyARN ?? row.keyARN
            // Where the first of the two was: the order of the rows stays the order of times.
            merged.eventTimeMs = partner.eventTimeMs
            held[position - dropped] = merged
        } else {
            if let id = row.readID { waiting[id] = dropped + held.count }
            held.append(row)
        }
        try handOn(before: row.eventTimeMs.map { $0 - S3Reads.pairingWindowMs })
    }

    /// Hands on every row still held.
    package mutating func finish() throws {
        try handOn(before: nil)
    }

    /// Hands on the rows from the front that wait for nothing, or that came before `time`
    /// (nil: all).
    private mutating func handOn(before time: Int64?) throws {
        while first < held.count {
            let row = held[first]
            if let id = row.readID, waiting[id] == dropped + first, let time, let at = row.eventTimeMs, at >= time {
                break
            }
            if let id = row.readID, waiting[id] == dropped + first { waiting[id] = nil }
            try hand(row)
            first += 1
        }
        // The handed rows are dropped now and then, not one at a time.
        if first > 1024 && first * 2 > held.count {
            held.removeFirst(first)
            dropped += first
            first = 0
        }
    }
}
