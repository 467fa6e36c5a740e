/// KMS Decrypts and S3 reads together, oldest first (by time, then source, then event id), as
/// the Decrypts come: a Decrypt and an S3 read of the same object by the same caller at most
/// `S3Reads.pairingWindowMs` apart share a `readID` (the S3 event's id); each pairs at most
/// once, with the nearest. The two copies of a cross-account Decrypt (KMS logs a call on another
/// account's key in both accounts, under one `sharedEventID`) share a `readID` too: the S3
/// read's when the caller's copy has one, else the sharedEventID.
///
/// Decrypts are added in time order, and each is paired as it comes. A row is handed on once
/// nothing later can change it or come before it: when the Decrypts have gone a pairing window
/// past it. Only that window of Decrypts is held; the S3 reads are given whole.
struct ReadMerger {
    private var s3: [EventRow]
    /// The first S3 read not yet handed on.
    private var nextS3 = 0
    /// The S3 reads a Decrypt can pair with, by caller and object: a Decrypt looks at its own
    /// caller's reads of its object only, two of them at most. Scanning every S3 read of the
    /// window was quadratic on reads sharing a second (20,000 Decrypts and GetObjects of one
    /// object: who-read took seconds).
    private var unpaired: [ReadKey: UnpairedReads] = [:]
    /// Decrypts paired but not yet handed on, from `nextKMS`.
    private var kms: [EventRow] = []
    private var nextKMS = 0
    /// Held Decrypts by sharedEventID: where a copy logged in the other account finds its
    /// partner. Positions count from the first Decrypt ever added (`dropped` are gone from `kms`).
    private var heldByShared: [String: Int] = [:]
    private var dropped = 0
    private let hand: (EventRow) throws -> Void

    /// `s3` in time order; `hand` receives the merged rows in order.
    init(s3: [EventRow], hand: @escaping (EventRow) throws -> Void) {
        self.s3 = s3
        self.hand = hand
        Self.pairCopies(&self.s3)
        for (i, read) in self.s3.enumerated() where !read.isOwnersS3Copy {
            // A read without a time or a caller (an ARN, not empty) pairs with nothing (a Decrypt
            // without a caller neither).
            guard let time = read.eventTimeMs, let caller = read.principalARN, !caller.isEmpty else { continue }
            unpaired[ReadKey(caller: caller, object: read.objectARN), default: UnpairedReads()].append(i, time: time)
        }
    }

    mutating func add(_ decrypt: EventRow) throws {
        var row = decrypt
        if let t = row.eventTimeMs, let caller = row.principalARN, !caller.isEmpty,
            let best = unpaired[ReadKey(caller: caller, object: row.objectARN)]?.take(nearest: t)
        {
            let readID = s3[best].readID ?? s3[best].eventID
            s3[best].readID = readID
            row.readID = readID
        }
        if let shared = row.sharedEventID {
            if let position = heldByShared[shared] {
                // Both copies are held: Decrypts are handed on a pairing window after their time,
                // and the two copies of a call are logged at one time. A pair is one owner's copy
                // and one caller's, of one object; each copy pairs once.
                let partner = position - dropped
                if (kms[partner].principalType == "AWSAccount") != (row.principalType == "AWSAccount"),
                    kms[partner].objectARN == row.objectARN
                {
                    let readID = kms[partner].readID ?? row.readID ?? shared
                    kms[partner].readID = readID
                    row.readID = readID
                    heldByShared[shared] = nil
                }
            } else {
                heldByShared[shared] = dropped + kms.count
            }
        }
        kms.append(row)
        if let t = row.eventTimeMs { try handOn(before: t - S3Reads.pairingWindowMs) }
    }

    /// S3 reads logged in both accounts (the caller's and the bucket owner's, under one
    /// `sharedEventID`) are one read: both get the caller's record's eventID as `readID`, and the
    /// owner's is marked, to be left out of a table and of the pairing with Decrypts. The owner's
    /// is the one naming the caller as an `AWSAccount`, else the one delivered outside the
    /// caller's account; a pair is two records of one object, each pairing once, and two that
    /// cannot be told apart are both kept as they are.
    static func pairCopies(_ s3: inout [EventRow]) {
        var held: [String: Int] = [:]
        for i in s3.indices {
            guard let shared = s3[i].sharedEventID else { continue }
            guard let j = held[shared] else {
                held[shared] = i
                continue
            }
            guard s3[j].objectARN == s3[i].objectARN, let owner = ownersCopy(of: j, i, in: s3) else { continue }
            let caller = owner == i ? j : i
            s3[caller].readID = s3[caller].eventID
            s3[owner].readID = s3[caller].eventID
            s3[owner].isOwnersS3Copy = true
            held[shared] = nil
        }
    }

    /// Which of two records of one S3 read is the bucket owner's, when they tell.
    private static func ownersCopy(of a: Int, _ b: Int, in s3: [EventRow]) -> Int? {
        func byAccount(_ i: Int) -> Bool { s3[i].principalType == "AWSAccount" }
        if byAccount(a) != byAccount(b) { return byAccount(a) ? a : b }
        let outside = (s3[a].loggedOutsideCallersAccount, s3[b].loggedOutsideCallersAccount)
        if outside.0 != outside.1 { return outside.0 ? a : b }
        return nil
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
                if let shared = kms[nextKMS].sharedEventID, heldByShared[shared] == dropped + nextKMS {
                    heldByShared[shared] = nil
                }
                nextKMS += 1
                // The handed-on prefix is dropped now and then: only the window stays held.
                if nextKMS >= 1024, nextKMS * 2 >= kms.count {
                    kms.removeFirst(nextKMS)
                    dropped += nextKMS
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

/// A caller and an object: reads pair only within one.
private struct ReadKey: Hashable {
    var caller: String
    var object: String?
}

/// The S3 reads of one caller and object, in time order, as runs of one time each, and which
/// are still free to pair. Decrypts come in time order, so the reads left behind a Decrypt's
/// time are a stack (the nearest on top) and those ahead a queue; a run is used from its
/// first read on (the earliest of its time), and a read too old for one Decrypt is too old for
/// every later one. Each read is looked at a constant number of times.
private struct UnpairedReads {
    /// Per run: its time, and its reads (indices into the S3 reads) from `firstFree` on.
    private var times: [Int64] = []
    private var reads: [[Int]] = []
    private var firstFree: [Int] = []
    /// Runs at or before the last Decrypt's time that still have free reads, the latest last.
    private var behind: [Int] = []
    /// The first run after the last Decrypt's time.
    private var ahead = 0

    mutating func append(_ index: Int, time: Int64) {
        if times.last == time {
            reads[reads.count - 1].append(index)
        } else {
            times.append(time)
            reads.append([index])
            firstFree.append(0)
        }
    }

    private func isFree(_ run: Int) -> Bool { firstFree[run] < reads[run].count }

    /// The free read nearest to `t` within the pairing window (of two as near, the earlier),
    /// taken; nil when there is none. `t` never decreases from one call to the next.
    mutating func take(nearest t: Int64) -> Int? {
        let window = S3Reads.pairingWindowMs
        while ahead < times.count, times[ahead] <= t {
            if isFree(ahead) { behind.append(ahead) }
            ahead += 1
        }
        // Runs ahead are used from the first free one: those before it are used up.
        while ahead < times.count, !isFree(ahead) { ahead += 1 }
        while let last = behind.last, !isFree(last) { behind.removeLast() }
        // The runs below the top are older still.
        if let last = behind.last, times[last] < t - window { behind.removeAll() }
        let before = behind.last
        let after = ahead < times.count && times[ahead] <= t + window ? ahead : nil
        let run: Int
        switch (before, after) {
        case (nil, nil): return nil
        case let (b?, nil): run = b
        case let (nil, a?): run = a
        case let (b?, a?): run = t - times[b] <= times[a] - t ? b : a
        }
        firstFree[run] += 1
        return reads[run][firstFree[run] - 1]
    }
}
