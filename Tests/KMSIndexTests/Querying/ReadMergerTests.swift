import XCTest

@testable import KMSIndex

final class ReadMergerTests: XCTestCase {
    func row(_ source: String, _ id: String, ms: Int64, caller: String, object: String) -> EventRow {
        var row = EventRow(eventTime: String(ms), eventName: source == "kms" ? "Decrypt" : "GetObject", eventID: id)
        row.eventTimeMs = ms
        row.source = source
        row.principalARN = caller
        row.objectARN = object
        return row
    }

    /// The merge as it was written before rows were streamed: every pairing made over the
    /// whole lists, then one sort. Kept here as the reference the streamed merge must equal.
    func reference(_ kms: [EventRow], _ s3: [EventRow]) -> [EventRow] {
        var kms = kms, s3 = s3
        for k in kms.indices {
            guard let t = kms[k].eventTimeMs, let caller = kms[k].principalARN else { continue }
            var best: Int?
            for j in s3.indices {
                guard let u = s3[j].eventTimeMs, abs(u - t) <= S3Reads.pairingWindowMs else { continue }
                if s3[j].readID == nil, s3[j].principalARN == caller, s3[j].objectARN == kms[k].objectARN,
                    best.map({ abs(s3[$0].eventTimeMs! - t) > abs(u - t) }) ?? true
                {
                    best = j
                }
            }
            if let best {
                s3[best].readID = s3[best].eventID
                kms[k].readID = s3[best].eventID
            }
        }
        return (kms + s3).sorted {
            ($0.eventTimeMs ?? 0, $0.source, $0.eventID) < ($1.eventTimeMs ?? 0, $1.source, $1.eventID)
        }
    }

    /// Random reads of a few callers and objects, close in time, so that most Decrypts have
    /// several S3 reads to choose from: the streamed merge pairs and orders them exactly as the
    /// reference does, and hands rows on before the last Decrypt is added.
    func testStreamedMergeEqualsTheWholeListMerge() throws {
        var random = SeededGenerator(state: 19)
        for round in 0..<20 {
            var kms: [EventRow] = [], s3: [EventRow] = []
            var time: Int64 = 1_709_251_200_000
            for i in 0..<400 {
                time += Int64.random(in: 0...3_000, using: &random)
                let caller = "arn:aws:iam::1:role/r\(Int.random(in: 0..<3, using: &random))"
                let object = "arn:aws:s3:::b/k\(Int.random(in: 0..<4, using: &random))"
                if Bool.random(using: &random) {
                    kms.append(row("kms", String(format: "k%05d", i), ms: time, caller: caller, object: object))
                } else {
                    s3.append(row("s3", String(format: "s%05d", i), ms: time, caller: caller, object: object))
                }
            }
            var merged: [EventRow] = []
            var handedBeforeEnd = 0
            var merger = ReadMerger(s3: s3) { merged.append($0) }
            for decrypt in kms { try merger.add(decrypt) }
            handedBeforeEnd = merged.count
            try merger.finish()
            let expected = reference(kms, s3)
            XCTAssertEqual(merged, expected, "round \(round)")
            XCTAssertEqual(merged.map(\.eventTimeMs), expected.map(\.eventTimeMs), "round \(round)")
            XCTAssertGreaterThan(merged.filter { $0.readID != nil }.count, 0, "round \(round): some reads pair")
            XCTAssertGreaterThan(handedBeforeEnd, merged.count / 2, "round \(round): rows leave before the end")
        }
    }

    /// Reads that share their times and sit on the pairing window's edges: ties of distance
    /// go to the earlier read, as in the reference.
    func testTiesAndWindowEdgesPairAsTheReferenceDoes() throws {
        var random = SeededGenerator(state: 41)
        let steps: [Int64] = [0, 0, 0, 1, 2_500, 4_999, 5_000, 5_001]
        for round in 0..<20 {
            var kms: [EventRow] = [], s3: [EventRow] = []
            var time: Int64 = 1_709_251_200_000
            for i in 0..<400 {
                time += steps[Int.random(in: 0..<steps.count, using: &random)]
                let caller = "arn:aws:iam::1:role/r\(Int.random(in: 0..<2, using: &random))"
                let object = "arn:aws:s3:::b/k\(Int.random(in: 0..<2, using: &random))"
                if Int.random(in: 0..<3, using: &random) == 0 {
                    kms.append(row("kms", String(format: "k%05d", i), ms: time, caller: caller, object: object))
                } else {
                    s3.append(row("s3", String(format: "s%05d", i), ms: time, caller: caller, object: object))
                }
            }
            XCTAssertEqual(S3Reads.merge(kms, s3), reference(kms, s3), "round \(round)")
        }
    }

    /// Decrypts and GetObjects of one object by one caller in one millisecond, with another
    /// caller's reads among them: the k-th Decrypt pairs with the k-th read of its caller (each
    /// Decrypt looks at its own caller's reads only: `scripts/check-linear`, paired-who-read).
    func testOneMillisecondOfReadsPairsInOrder() throws {
        let time: Int64 = 1_709_251_200_000, object = "arn:aws:s3:::b/k"
        let alice = "arn:aws:iam::1:user/alice", bob = "arn:aws:iam::1:user/bob"
        let n = 600
        let kms = (0..<n).map { row("kms", String(format: "k%05d", $0), ms: time, caller: alice, object: object) }
        let s3 = (0..<2 * n).map { row("s3", String(format: "s%05d", $0), ms: time, caller: $0 % 2 == 0 ? bob : alice, object: object) }
        let merged = S3Reads.merge(kms, s3)
        XCTAssertEqual(merged, reference(kms, s3))
        let paired = merged.filter { $0.source == "kms" }.map(\.readID)
        XCTAssertEqual(paired, (0..<n).map { String(format: "s%05d", 2 * $0 + 1) })
        XCTAssertTrue(merged.filter { $0.source == "s3" && $0.principalARN == bob }.allSatisfy { $0.readID == nil })
    }
}
