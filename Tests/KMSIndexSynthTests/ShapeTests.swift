import Foundation
import KMSCrypto
import XCTest

@testable import KMSIndexSynth

/// Each shape has the statistics it promises, on a small instance (2 accounts x 2 regions,
/// fewer files a day than CloudTrail's 288), read back without the generator's code.
final class ShapeTests: XCTestCase {
    /// The shapes the benchmarks measure: losing one must be a decision, not an accident.
    func testTheShapesAreAllThere() {
        XCTAssertEqual(SynthShape.allCases.map(\.rawValue), ["default", "cadence", "churn", "year", "organization"])
        XCTAssertEqual(SynthShape.organization.options().organizationID, SynthShape.organizationID)
        XCTAssertNil(SynthShape.cadence.options().organizationID)
        XCTAssertEqual(SynthShape.default.options(seed: 1), SynthOptions())
        XCTAssertEqual(SynthShape.cadence.options().filesPerDay, 288)
        XCTAssertEqual(SynthShape.cadence.options().accounts * SynthShape.cadence.options().regions.count, 16)
        XCTAssertEqual(SynthShape.year.options().days, 400)
        XCTAssertEqual(SynthShape.year.options().regions.count * SynthShape.year.options().accounts, 12)
        // A size chooses the days of a shape with a cadence (about 460 MB a day for cadence).
        XCTAssertEqual(SynthShape.cadence.options(targetUncompressedBytes: 1_000_000_000).days, 2)
        XCTAssertEqual(SynthShape.churn.options(targetUncompressedBytes: 1_000_000).days, 1)
        XCTAssertEqual(SynthShape.default.options(targetUncompressedBytes: 1_000_000_000).days, 2)
    }

    func testCadence() throws {
        let (truth, tree) = try TreeCache.shared.tree(Self.small(.cadence))
        let stats = try ShapeStatistics(tree)
        print("cadence statistics: \(stats)")
        XCTAssertEqual(truth.shape, "cadence")
        XCTAssertEqual(truth.logFiles, 2 * 2 * 24 * 2)
        XCTAssertEqual(Double(truth.uncompressedBytes), 30_000_000, accuracy: 3_000_000)
        XCTAssertLessThan(stats.medianSize, 1_000_000)
        // A lognormal tail: the largest files are many times the median.
        XCTAssertGreaterThan(stats.p99Size, 4 * stats.medianSize)
        XCTAssertGreaterThan(stats.maxSize, 7 * stats.medianSize)
        XCTAssertEqual(stats.kmsShare, 0.15, accuracy: 0.04)
        XCTAssertLessThan(stats.firstSeenCallerShare, 0.16)
        XCTAssertLessThan(stats.firstSeenObjectShare, 0.15)
        // The realism of every shape: digests, Insights, strays, duplicates, awkward keys.
        XCTAssertEqual(truth.digestFiles, tree.digests.count)
        XCTAssertGreaterThan(truth.digestFiles, 2 * 2 * 47)
        XCTAssertEqual(truth.insightFiles, 2)
        XCTAssertEqual(truth.otherFiles, 2)
        XCTAssertGreaterThan(stats.duplicateRecords, 0)
        XCTAssertTrue(truth.objects.keys.contains { $0.contains("line\nbreak") })
        try Self.checkTruth(truth, tree)
        try Self.checkDigests(tree)
    }

    func testChurn() throws {
        let (truth, tree) = try TreeCache.shared.tree(Self.small(.churn))
        let stats = try ShapeStatistics(tree)
        print("churn statistics: \(stats)")
        XCTAssertEqual(truth.shape, "churn")
        XCTAssertLessThan(stats.medianSize, 1_000_000)
        XCTAssertGreaterThan(stats.p99Size, 4 * stats.medianSize)
        XCTAssertEqual(stats.kmsShare, 0.15, accuracy: 0.04)
        // About a fifth of KMS events from a caller not seen before...
        XCTAssertEqual(stats.firstSeenCallerShare, 0.22, accuracy: 0.08)
        // ...with temporary keys of roles' short sessions...
        XCTAssertGreaterThan(stats.distinctCallers, 300)
        XCTAssertGreaterThan(stats.distinctRoles, 50)
        // ...and about a quarter of Decrypts naming an object not seen before.
        XCTAssertEqual(stats.firstSeenObjectShare, 0.25, accuracy: 0.08)
        try Self.checkTruth(truth, tree)
    }

    /// An organization trail whose log files are read from another account than the key's: each
    /// such Decrypt is in the reader's account's log and in the key owner's, as AWS logs a
    /// cross-account call (one requestID and sharedEventID, the caller an `AWSAccount` there).
    func testOrganization() throws {
        let (truth, tree) = try TreeCache.shared.tree(Self.small(.organization))
        let stats = try ShapeStatistics(tree)
        XCTAssertEqual(truth.shape, "organization")
        XCTAssertTrue(tree.logFiles.allSatisfy { $0.path.hasPrefix("AWSLogs/\(SynthShape.organizationID)/") })
        XCTAssertEqual(stats.kmsShare, 0.15, accuracy: 0.04)
        var logReads: [String: [[String: Any]]] = [:]
        var seen = Set<String>()
        for (_, record) in tree.kmsRecords where record["eventName"] as? String == "Decrypt" {
            guard record.string(at: "requestParameters", "encryptionContext", "aws:cloudtrail:arn") != nil,
                let shared = record["sharedEventID"] as? String,
                seen.insert(record["eventID"] as? String ?? "").inserted  // a record delivered twice counts once
            else { continue }
            logReads[shared, default: []].append(record)
        }
        XCTAssertGreaterThan(logReads.count, 100)
        for (shared, copies) in logReads {
            XCTAssertEqual(copies.count, 2, shared)
            guard let caller = copies.first(where: { $0.string(at: "userIdentity", "type") != "AWSAccount" }),
                let owner = copies.first(where: { $0.string(at: "userIdentity", "type") == "AWSAccount" })
            else {
                XCTFail("\(shared): no caller's and owner's copies")
                continue
            }
            XCTAssertEqual(caller["requestID"] as? String, owner["requestID"] as? String)
            XCTAssertEqual(caller["eventTime"] as? String, owner["eventTime"] as? String)
            XCTAssertNotEqual(caller["eventID"] as? String, owner["eventID"] as? String)
            XCTAssertEqual(owner.string(at: "userIdentity", "type"), "AWSAccount")
            XCTAssertEqual(owner.string(at: "userIdentity", "accountId"), caller["recipientAccountId"] as? String)
            XCTAssertNotEqual(caller["recipientAccountId"] as? String, owner["recipientAccountId"] as? String)
            XCTAssertEqual(caller.string(at: "userIdentity", "type"), "AssumedRole")
        }
        try Self.checkTruth(truth, tree)
        // The ground truth keeps the sharedEventID of both records.
        let shared = truth.objects.values.joined().compactMap(\.sharedEventID)
        XCTAssertTrue(Set(logReads.keys).isSubset(of: Set(shared)))
    }

    func testYear() throws {
        var options = SynthShape.year.options(seed: 5, days: 2)
        options.accounts = 2
        options.regions = Array(options.regions.prefix(2))
        options.filesPerDay = 48
        let (truth, tree) = try TreeCache.shared.tree(options)
        let stats = try ShapeStatistics(tree)
        XCTAssertEqual(truth.shape, "year")
        XCTAssertEqual(truth.logFiles, 2 * 2 * 48 * 2)
        XCTAssertEqual(stats.kmsShare, 0.9, accuracy: 0.04)
        XCTAssertLessThan(stats.medianSize, 100_000)
        XCTAssertGreaterThan(stats.p99Size, 3 * stats.medianSize)
        // Streamed: the reads are in their own file, and `objects` is empty.
        XCTAssertEqual(truth.readsFile, GroundTruth.readsFileName)
        XCTAssertTrue(truth.objects.isEmpty)
        try Self.checkTruth(truth, tree)
        try Self.checkDigests(tree)
    }

    /// Same options, same bytes, for a shape with its own random sequences (churn and the
    /// streamed digests).
    func testShapesAreDeterministic() throws {
        var options = Self.small(.churn)
        options.days = 1
        options.targetUncompressedBytes = 600_000
        let a = try makeTemporaryDirectory()
        let b = try makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        XCTAssertEqual(try Synth.generate(options, into: a), try Synth.generate(options, into: b))
        let treeA = try ReadTree(root: a)
        let treeB = try ReadTree(root: b)
        XCTAssertEqual(treeA.logFiles.map(\.path), treeB.logFiles.map(\.path))
        XCTAssertEqual(treeA.logFiles.map(\.content), treeB.logFiles.map(\.content))
        XCTAssertEqual(treeA.digests.map(\.path), treeB.digests.map(\.path))
    }

    // MARK: Helpers

    /// A small instance of a shape: 2 accounts x 2 regions, 2 days of 24 files a day (files of
    /// about the size they have at 288 a day in a 1 GB tree), 30 MB.
    static func small(_ shape: SynthShape) -> SynthOptions {
        var options = shape.options(seed: 11, targetUncompressedBytes: 30_000_000, days: 2)
        options.accounts = 2
        options.regions = Array(options.regions.prefix(2))
        options.filesPerDay = 24
        return options
    }

    /// The ground truth agrees with the files: distinct KMS events, and every Decrypt naming an
    /// object (through `allReads`, which also reads a streamed reads file).
    static func checkTruth(_ truth: GroundTruth, _ tree: ReadTree) throws {
        var seen = Set<String>()
        var names: [String: Int] = [:]
        var expected: [String: Set<String>] = [:]
        for (_, record) in tree.kmsRecords {
            let id = try XCTUnwrap(record["eventID"] as? String)
            guard seen.insert(id).inserted else { continue }
            let name = try XCTUnwrap(record["eventName"] as? String)
            names[name, default: 0] += 1
            if name == "Decrypt", let arn = record.string(at: "requestParameters", "encryptionContext", "aws:s3:arn") {
                expected[arn, default: []].insert(id)
            }
        }
        XCTAssertEqual(truth.kmsEvents, seen.count)
        XCTAssertEqual(truth.eventNames, names)
        XCTAssertEqual(truth.logFiles, tree.logFiles.count)
        XCTAssertEqual(truth.uncompressedBytes, tree.logFiles.map(\.content.count).reduce(0, +))
        let reads = try truth.allReads(root: tree.root)
        XCTAssertEqual(Set(reads.keys), Set(expected.keys))
        for (arn, list) in reads {
            XCTAssertEqual(list.count, expected[arn]?.count, arn)
            XCTAssertEqual(Set(list.map(\.eventID)), expected[arn], arn)
        }
    }

    /// Every log file is listed by exactly one digest, with the SHA-256 of its content, and
    /// each account and region's digests are chained hour after hour.
    static func checkDigests(_ tree: ReadTree) throws {
        var listed: [String: String] = [:]
        for (_, digest) in tree.digests {
            for file in try XCTUnwrap(digest["logFiles"] as? [[String: Any]]) {
                let key = try XCTUnwrap(file["s3Object"] as? String)
                XCTAssertNil(listed[key], "\(key) listed twice")
                listed[key] = file["hashValue"] as? String
            }
        }
        XCTAssertEqual(listed.count, tree.logFiles.count)
        for file in tree.logFiles {
            var hasher = SHA256()
            hasher.update([UInt8](file.content))
            XCTAssertEqual(listed[file.path], SHA256.hex(hasher.finalize()), file.path)
        }
        var firsts = 0
        for (_, digest) in tree.digests where digest["previousDigestS3Object"] is NSNull {
            firsts += 1
        }
        let streams = Set(tree.logFiles.map { $0.path.split(separator: "/").prefix(4).joined(separator: "/") })
        XCTAssertEqual(firsts, streams.count)
    }
}

/// What `scripts/shape-stats` reports, computed the same way: log files in delivery order (the
/// time in their names), a record delivered twice counted once.
struct ShapeStatistics {
    var medianSize = 0
    var p99Size = 0
    var maxSize = 0
    var kmsShare = 0.0
    var firstSeenCallerShare = 0.0
    var firstSeenObjectShare = 0.0
    var distinctCallers = 0
    var distinctRoles = 0
    var duplicateRecords = 0

    init(_ tree: ReadTree) throws {
        let sizes = tree.logFiles.map(\.content.count).sorted()
        medianSize = sizes[sizes.count / 2]
        p99Size = sizes[min(sizes.count - 1, sizes.count * 99 / 100)]
        maxSize = sizes.last ?? 0
        func stamp(_ path: String) -> String {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let parts = name.split(separator: "_")
            return parts.count > 3 ? String(parts[3]) : name
        }
        var ids = Set<String>()
        var callers = Set<String>()
        var roles = Set<String>()
        var objects = Set<String>()
        var records = 0
        var kms = 0
        var newCallers = 0
        var decrypts = 0
        var newObjects = 0
        for file in tree.logFiles.sorted(by: { stamp($0.path) < stamp($1.path) }) {
            for record in file.records {
                guard let id = record["eventID"] as? String, ids.insert(id).inserted else {
                    duplicateRecords += 1
                    continue
                }
                records += 1
                guard record["eventSource"] as? String == "kms.amazonaws.com" else { continue }
                kms += 1
                let caller = ["type", "arn", "principalId", "accessKeyId", "invokedBy"]
                    .map { record.string(at: "userIdentity", $0) ?? "-" }.joined(separator: "|")
                if callers.insert(caller).inserted { newCallers += 1 }
                if let role = record.string(at: "userIdentity", "sessionContext", "sessionIssuer", "arn") {
                    roles.insert(role)
                }
                let arn = record.string(at: "requestParameters", "encryptionContext", "aws:s3:arn")
                if record["eventName"] as? String == "Decrypt" {
                    decrypts += 1
                    if let arn, !objects.contains(arn) { newObjects += 1 }
                }
                if let arn { objects.insert(arn) }
            }
        }
        kmsShare = Double(kms) / Double(max(1, records))
        firstSeenCallerShare = Double(newCallers) / Double(max(1, kms))
        firstSeenObjectShare = Double(newObjects) / Double(max(1, decrypts))
        distinctCallers = callers.count
        distinctRoles = roles.count
    }
}
