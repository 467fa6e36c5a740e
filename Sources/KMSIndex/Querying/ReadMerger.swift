/// KMS Decrypts and S3 reads together, oldest first (by time, then source, then event id), as
/// the Decrypts come: a Decrypt and an S3 read of the same object by the same caller at most
/// `S3Reads.pairingWindowMs` apart share a `readID` (the S3 event's id); each pairs at most
/// once, with the nearest.
///
/// Decrypts are added in time order, and each is paired as it comes. A row is handed on once
/// nothing later can change it or come before it: when the Decrypts have gone a pairing window
/// past it. Only that window of Decrypts is held; the S3 reads are given whole.
struct ReadMerger {
    private var s3: [EventRow]
    /// The first S3 read a Decrypt could still pair with, and the first not yet handed on.
    private var windowStart = 0, nextS3 = 0
    /// Decrypts paired but not yet handed on, from `nextKMS`.
    private var kms: [EventRow] = []
    private var nextKMS = 0
    private let hand: (EventRow) throws -> Void

    /// `s3` in time order; `hand` receives the merged rows in order.
    init(s3: [EventRow], hand: @escaping (EventRow) throws -> Void) {
        self.s3 = s3
        self.hand = hand
    }

    mutating func add(_ decrypt: EventRow) throws {
        var row = decrypt
        if let t = row.eventTimeMs, let caller = row.principalARN {
            while windowStart < s3.count, let u = s3[windowStart].eventTimeMs, u < t - S3Reads.pairingWindowMs { windowStart += 1 }
            var best: Int?
            var j = windowStart
            while j < s3.count, let u = s3[j].eventTimeMs, u <= t + S3Reads.pairingWindowMs {
                if s3[j].readID == nil, s3[j].principalARN == caller, s3[j].objectARN == row.objectARN,
                    best.map({ abs(s3[$0].eventTimeMs! - t) > abs(u - t) }) ?? true
                {
                    best = j
                }
                j += 1
            }
            if let best {
                s3[best].readID = s3[best].eventID
                row.readID = s3[best].eventID
            }
        }
        kms.append(row)
        if let t = row.eventTimeMs { try handOn(before: t - S3Reads.pairingWindowMs) }
    }

    /// Hands on every row left.
    mutating func finish() throws { try handOn(before: nil) }

    /// Hands on, in order, the rows earlier than `limit` (all when nil).
    private mutating func handOn(before limit: Int64?) throws {
        while true {
            // Compared where they are held: a row is copied only to be handed on.
            let hasKMS = nextKMS < kms.count, hasS3 = nextS3 < s3.count
            guard hasKMS || hasS3 else { return }
            let takeKMS = hasKMS && (!hasS3 || Self.inOrder(kms[nextKMS], s3[nextS3]))
            let time = takeKMS ? kms[nextKMS].eventTimeMs : s3[nextS3].eventTimeMs
            if let limit, (time ?? 0) >= limit { return }
            try hand(takeKMS ? kms[nextKMS] : s3[nextS3])
            if takeKMS {
                nextKMS += 1
                // The handed-on prefix is dropped now and then: only the window stays held.
                if nextKMS >= 1024, nextKMS * 2 >= kms.count {
                    kms.removeFirst(nextKMS)
                    nextKMS = 0
                }
            } else {
                nextS3 += 1
            }
        }
    }

    /// True when `a` comes no later than `b`: by time, then source, then event id.
    private static func inOrder(_ a: EventRow, _ b: EventRow) -> Bool {
        (a.eventTimeMs ?? 0, a.source, a.eventID) <= (b.eventTimeMs ?? 0, b.source, b.eventID)
    }
}
