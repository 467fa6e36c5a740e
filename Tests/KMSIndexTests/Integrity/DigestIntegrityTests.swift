import Foundation
import KMSCrypto
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// A small signed tree (one account, two regions: two chains of 25 digests) to tamper with.
final class SignedTree {
    let dir: TempDir
    let root: URL
    let truth: GroundTruth
    private var indexes = 0

    init() throws {
        dir = try TempDir()
        root = dir.url.appendingPathComponent("t")
        var options = SynthOptions(seed: 11, accounts: 1, regions: ["us-east-1", "eu-west-1"], days: 1, filesPerDay: 12)
        options.signDigests = true
        truth = try Synth.generate(options, into: root)
    }

    var keys: String { root.appendingPathComponent(GroundTruth.publicKeysFileName).path }
    var signatures: String { root.appendingPathComponent(GroundTruth.digestSignaturesFileName).path }

    /// The digests of a region, oldest first (paths relative to the root, as their object keys).
    func digests(_ region: String = "us-east-1") throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: root.path)
            .filter { $0.contains("/CloudTrail-Digest/\(region)/") && $0.hasSuffix(".json.gz") }.sorted()
    }

    func text(_ relative: String) throws -> String {
        String(decoding: gunzip(try Data(contentsOf: root.appendingPathComponent(relative))), as: UTF8.self)
    }

    func write(_ relative: String, _ text: String) throws {
        try gzip(text).write(to: root.appendingPathComponent(relative))
    }

    func replace(_ old: String, with new: String, in relative: String) throws {
        let text = try text(relative)
        XCTAssertTrue(text.contains(old), "\(old) in \(relative)")
        try write(relative, text.replacingOccurrences(of: old, with: new))
    }

    /// A string field of a digest, as its JSON text has it.
    func field(_ name: String, of relative: String) throws -> String {
        let json = try JSONSerialization.jsonObject(with: Data(try text(relative).utf8)) as? [String: Any]
        return try XCTUnwrap(json?[name] as? String, name)
    }

    /// Ingests the tree as it is now into a fresh index, then audits it.
    func audit(keys: [String] = [], signatures: String? = nil, only folders: [String]? = nil) throws -> Audit.Report {
        indexes += 1
        let index = try makeIndex(dir, name: "index\(indexes).sqlite")
        try ingest(index, [root.path])
        return try Audit(index: index).report(
            paths: folders?.map { root.appendingPathComponent($0).path } ?? [root.path],
            keys: keys.isEmpty ? nil : try PublicKeySet(paths: keys),
            signatures: try signatures.map { try DigestSignatureFile(path: $0) })
    }
}

/// `kind name` of each finding of these kinds, the subject shortened to its file name.
private func auditSummary(_ report: Audit.Report, _ kinds: Set<AuditFinding.Kind>) -> [String] {
    report.findings.filter { kinds.contains($0.kind) }.map { finding in
        finding.kind == .missingDigest
            ? finding.kind.rawValue
            : finding.kind.rawValue + " " + String(finding.subject.split(separator: "/").last ?? "")
    }.sorted()
}

private func fileName(_ path: String) -> String { String(path.split(separator: "/").last!) }

private let problemKinds: Set<AuditFinding.Kind> = [
    .notIngested, .failed, .hashMismatch, .missingDigest, .unreadableDigest, .digestChainBroken, .signatureInvalid,
    .unknownKey, .keyNotValidThen, .notInDigest, .noDigests,
]

final class DigestIntegrityTests: XCTestCase {
    func testAnIntactTreeHasNoFindingAndItsNewestDigestsAreUnsigned() throws {
        let tree = try SignedTree()
        let chains = try XCTUnwrap(tree.truth.digestChains)
        XCTAssertEqual(chains.count, 2)
        XCTAssertEqual(chains.map(\.digests).reduce(0, +), tree.truth.digestFiles)

        let unkeyed = try tree.audit()
        XCTAssertEqual(unkeyed.findings.filter(\.isProblem), [])
        XCTAssertEqual(auditSummary(unkeyed, [.unsignedDigest, .chainStart]), [])
        XCTAssertNil(unkeyed.signaturesVerified)

        // The newest digest of each chain is reported as unsigned, not as a failure.
        let keyed = try tree.audit(keys: [tree.keys])
        XCTAssertEqual(keyed.findings.filter(\.isProblem), [])
        XCTAssertEqual(auditSummary(keyed, [.unsignedDigest]), chains.map { "unsigned-digest " + fileName($0.newest) }.sorted())
        XCTAssertEqual(keyed.signaturesVerified, tree.truth.digestFiles - chains.count)
        XCTAssertEqual(keyed.digests, tree.truth.digestFiles)

        // With their S3 metadata signatures, the newest are verified too.
        let complete = try tree.audit(keys: [tree.keys], signatures: tree.signatures)
        XCTAssertEqual(auditSummary(complete, Set(problemKinds).union([.unsignedDigest])), [])
        XCTAssertEqual(complete.signaturesVerified, tree.truth.digestFiles)
    }

    func testALogFileAlteredTogetherWithItsDigestsHashIsCaughtOnlyByTheChain() throws {
        let tree = try SignedTree()
        let digests = try tree.digests()
        let digest = try XCTUnwrap(digests.dropLast().first { try tree.text($0).contains("\"s3Object\"") })
        let json = try JSONSerialization.jsonObject(with: Data(try tree.text(digest).utf8)) as? [String: Any]
        let entry = try XCTUnwrap((json?["logFiles"] as? [[String: Any]])?.first)
        let log = try XCTUnwrap(entry["s3Object"] as? String), oldHash = try XCTUnwrap(entry["hashValue"] as? String)
        let altered = try tree.text(log).replacingOccurrences(of: "\"Records\":[", with: "\"Records\":[ ")
        try tree.write(log, altered)
        try tree.replace(oldHash, with: SHA256.hexDigest(Data(altered.utf8)), in: digest)

        XCTAssertEqual(auditSummary(try tree.audit(), problemKinds), ["digest-chain-broken " + fileName(digest)])
        XCTAssertEqual(
            auditSummary(try tree.audit(keys: [tree.keys]), problemKinds),
            ["digest-chain-broken " + fileName(digest), "signature-invalid " + fileName(digest)])
    }

    /// A log file no digest lists, delivered (by its name) inside the hours the digests of its
    /// folder cover, was not delivered by CloudTrail: reported, as high, even though every
    /// digest and signature checks out. One delivered after the newest digest is not judged.
    func testALogFileNoDigestListsIsReportedWhereTheDigestsCoverItsDelivery() throws {
        let tree = try SignedTree()
        let logs = try FileManager.default.subpathsOfDirectory(atPath: tree.root.path)
            .filter { $0.contains("/CloudTrail/us-east-1/") && $0.hasSuffix(".json.gz") }.sorted()
        let original = try XCTUnwrap(logs.first)
        let folder = (original as NSString).deletingLastPathComponent
        let account = String(fileName(original).prefix { $0 != "_" })
        let added = "\(account)_CloudTrail_us-east-1_20240301T1130Z_FORGEDforged0001.json.gz"
        let nextDay = folder.replacingOccurrences(of: "/2024/03/01", with: "/2024/03/02")
        let late = "\(account)_CloudTrail_us-east-1_20240302T2330Z_LATElate00000001.json.gz"
        // Files CloudTrail would not have written, in an account the digests cover: a name not of
        // its form, a name whose time is not its folder's day, a file outside a day's folder.
        let regionFolder = (((folder as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString)
            .deletingLastPathComponent
        let accountFolder = (regionFolder as NSString).deletingLastPathComponent
        let oddName = folder + "/evil.json.gz"
        let otherDay = folder + "/\(account)_CloudTrail_us-east-1_20250101T0000Z_FUTUREfutureFUTU.json.gz"
        let outside = accountFolder + "/evil2.json.gz"
        try FileManager.default.createDirectory(at: tree.root.appendingPathComponent(nextDay), withIntermediateDirectories: true)
        for copy in [folder + "/" + added, nextDay + "/" + late, oddName, otherDay, outside] {
            try FileManager.default.copyItem(at: tree.root.appendingPathComponent(original), to: tree.root.appendingPathComponent(copy))
        }
        // An account no digest covers, beside the one they do: told, not judged.
        let unvalidated = "AWSLogs/999999999999/CloudTrail/us-east-1/2024/03/01"
        try FileManager.default.createDirectory(at: tree.root.appendingPathComponent(unvalidated), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: tree.root.appendingPathComponent(original),
            to: tree.root.appendingPathComponent(unvalidated + "/999999999999_CloudTrail_us-east-1_20240301T1130Z_OTHERother000001.json.gz")
        )
        let report = try tree.audit(keys: [tree.keys], signatures: tree.signatures)
        XCTAssertEqual(
            auditSummary(report, Set(problemKinds).union([.notInDigest])),
            [added, "evil.json.gz", "evil2.json.gz", fileName(otherDay)].map { "not-in-digest " + $0 }.sorted())
        let told = report.findings.filter { $0.kind == .unvalidatedLogs }
        XCTAssertEqual(told.map(\.subject), [tree.root.path + "/AWSLogs/999999999999/CloudTrail/us-east-1"])
        XCTAssertTrue(told.first?.detail.hasPrefix("1 log file(s) the index read") == true, told.first?.detail ?? "")
        XCTAssertEqual(told.first?.kind.severity, .info)
        let finding = try XCTUnwrap(report.findings.first { $0.kind == .notInDigest && $0.subject.hasSuffix(added) })
        XCTAssertEqual(finding.kind.severity, .high)
        XCTAssertTrue(finding.detail.contains("(2024-03-01T11:30Z, within 2024-03-01T00:00Z to"), finding.detail)
        XCTAssertEqual(report.signaturesVerified, tree.truth.digestFiles)
    }

    /// Folders with no digest file audit nothing: a problem, not a pass.
    func testNoDigestFileIsAProblem() throws {
        let tree = try SignedTree()
        for folder in try FileManager.default.subpathsOfDirectory(atPath: tree.root.path)
        where folder.hasSuffix("/CloudTrail-Digest") {
            try FileManager.default.removeItem(at: tree.root.appendingPathComponent(folder))
        }
        let report = try tree.audit()
        XCTAssertEqual(report.findings.filter(\.isProblem).map(\.kind), [.noDigests])
        XCTAssertEqual(report.digests, 0)
    }

    /// Windows that meet or overlap are one; a delivery time is read from a log file's name.
    func testDigestWindowsAndDeliveryTimes() {
        let minute: Int64 = 60_000
        XCTAssertEqual(
            Audit.mergedWindows([5 * minute...9 * minute, 0...4 * minute, 20 * minute...30 * minute, 9 * minute...12 * minute]),
            [0...12 * minute, 20 * minute...30 * minute])
        XCTAssertEqual(Audit.mergedWindows([0...60_000, 120_000...180_000]), [0...180_000])
        let windows: [ClosedRange<Int64>] = [0...10, 20...30, 40...50]
        XCTAssertEqual(
            [-1, 0, 15, 20, 45, 99].map { Audit.lastWindow(startingBy: $0, in: windows) }, [nil, 0...10, 0...10, 20...30, 40...50, 40...50])
        XCTAssertEqual(Audit.mergedWindows([0...60_000, 120_001...180_000]), [0...60_000, 120_001...180_000])
        XCTAssertEqual(
            Audit.deliveryTime(ofLogFile: "111122223333_CloudTrail_us-east-1_20240301T1130Z_abc.json.gz"),
            EventTime.milliseconds("2024-03-01T11:30:00Z"))
        XCTAssertNil(Audit.deliveryTime(ofLogFile: "111122223333_CloudTrail_us-east-1_20241301T1130Z_abc.json.gz"))
        XCTAssertNil(Audit.deliveryTime(ofLogFile: "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240301T113000Z.json.gz"))
        XCTAssertEqual(Audit.minuteText(EventTime.milliseconds("1969-12-31T23:59:30Z")!), "1969-12-31T23:59Z")
        XCTAssertEqual(
            Audit.logFolder(ofDigest: "/d/AWSLogs/1/CloudTrail-Digest/eu-west-1/2024/03/01/x.json.gz"), "/d/AWSLogs/1/CloudTrail/eu-west-1")
        XCTAssertEqual(
            Audit.logFolder(ofLog: "/d/AWSLogs/1/CloudTrail/eu-west-1/2024/03/01/x.json.gz"), "/d/AWSLogs/1/CloudTrail/eu-west-1")
    }

    /// Time no digest covers between the first and the last: one range per gap however long
    /// (two digests a century apart are one finding), judged by the digests' own windows, not
    /// by clock hours (a digest ending a second before the hour and the next starting there
    /// leave none); a gap followed by a starting digest is a restart.
    func testUncoveredTimeIsReportedAsRanges() {
        let hour: Int64 = 3_600_000, century = 100 * 365 * 24 * hour
        func window(_ start: Int64, _ end: Int64, starts: Bool = false) -> Audit.DigestWindow {
            Audit.DigestWindow(start: start, end: end, startsChain: starts)
        }
        let gaps = Audit.uncovered([
            window(0, hour), window(hour, 2 * hour), window(5 * hour, 6 * hour), window(7 * hour, 8 * hour, starts: true),
            window(century, century + hour),
        ])
        XCTAssertEqual(gaps.map(\.from), [2 * hour, 6 * hour, 8 * hour])
        XCTAssertEqual(gaps.map(\.to), [5 * hour, 7 * hour, century])
        XCTAssertEqual(gaps.map(\.restarted), [false, true, false])
        // Drifting times: 08:59:59 to 09:59:59, then 09:59:59 to 11:00:47.
        let drift = Audit.uncovered([window(9 * hour - 1_000, 10 * hour - 1_000), window(10 * hour - 1_000, 11 * hour + 47_000)])
        XCTAssertTrue(drift.isEmpty)
        XCTAssertTrue(Audit.uncovered([]).isEmpty)
        XCTAssertTrue(Audit.uncovered([window(0, hour)]).isEmpty)
    }

    /// Logging (or validation) stopped, then started again: no digest for the hours between,
    /// and the first one after starts a new chain. A gap, told as such, not a problem.
    func testLoggingStoppedThenStartedIsNotAProblem() throws {
        let tree = try SignedTree()
        // StopLogging stops a trail in every region: both chains have the gap.
        for region in ["us-east-1", "eu-west-1"] {
            let digests = try tree.digests(region)
            for removed in Array(digests[3...7]) + Array(digests[9...]) {
                try FileManager.default.removeItem(at: tree.root.appendingPathComponent(removed))
            }
            var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try tree.text(digests[8]).utf8)) as? [String: Any])
            for field in ["previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue", "previousDigestSignature"] {
                json[field] = NSNull()
            }
            try tree.write(digests[8], String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self))
        }
        let digests = try tree.digests()  // us-east-1's left: the three before the stop, then the start
        XCTAssertEqual(digests.count, 4)
        let report = try tree.audit()
        XCTAssertEqual(report.findings.filter(\.isProblem), [])
        let restarted = report.findings.filter { $0.kind == .loggingRestarted && $0.subject.contains("/us-east-1/") }
        XCTAssertEqual(report.findings.filter { $0.kind == .loggingRestarted }.count, 2)
        XCTAssertEqual(restarted.count, 1)
        // The last digest before the stop: no later digest will vouch for it, and it is said so.
        let keyed = try tree.audit(keys: [tree.keys])
        let before = keyed.findings.first { $0.kind == .unsignedDigest && fileName($0.subject) == fileName(digests[2]) }
        XCTAssertTrue(
            before?.detail.contains("the last of a chain that ended hours before the newest digest") == true, before?.detail ?? "")
        let stopped = try tree.field("digestEndTime", of: digests[2]), started = try tree.field("digestStartTime", of: digests[3])
        func iso(_ text: String) -> String { StoredTime.text(EventTime.milliseconds(text)!) }
        XCTAssertTrue(restarted[0].detail.hasPrefix("\(iso(stopped)) to \(iso(started)) ("), restarted[0].detail)
        XCTAssertEqual(restarted[0].kind.severity, .info)
    }

    func testARemovedDigestBreaksTheChain() throws {
        let tree = try SignedTree()
        let digests = try tree.digests()
        let k = digests.count / 2
        try FileManager.default.removeItem(at: tree.root.appendingPathComponent(digests[k]))
        let report = try tree.audit(keys: [tree.keys])
        XCTAssertEqual(auditSummary(report, problemKinds), ["digest-chain-broken " + fileName(digests[k + 1]), "missing-digest"])
        let broken = try XCTUnwrap(report.findings.first { $0.kind == .digestChainBroken })
        XCTAssertTrue(broken.detail.contains(digests[k]), broken.detail)
        // The digest before the removed one lost the digest that carried its signature.
        XCTAssertTrue(auditSummary(report, [.unsignedDigest]).contains("unsigned-digest " + fileName(digests[k - 1])))
    }

    /// findings reports what the chain and the signatures reveal as high, under
    /// log-files-unaccounted; an intact tree gives nothing of the kind.
    func testFindingsReportChainAndSignatureBreaksAsHigh() throws {
        let tree = try SignedTree()
        let index = try makeIndex(tree.dir, name: "findings.sqlite")
        try ingest(index, [tree.root.path])
        let keys = try PublicKeySet(paths: [tree.keys])
        func unaccounted() throws -> [Finding] {
            try Findings.collect(index, window: .all, digestPaths: [tree.root.path], publicKeys: keys).findings
                .filter { $0.kind == .logFilesUnaccounted }
        }
        XCTAssertEqual(try unaccounted(), [])
        let digest = try tree.digests()[5]
        try tree.replace("\"logFiles\":[", with: "\"logFiles\":[ ", in: digest)
        let found = try unaccounted()
        XCTAssertEqual(found.map(\.severity), [.high, .high], "\(found)")
        XCTAssertEqual(Set(found.map { String($0.detail.prefix { $0 != ":" }) }), ["digest-chain-broken", "signature-invalid"])
        XCTAssertTrue(found.allSatisfy { $0.subject.contains(fileName(digest)) }, "\(found.map(\.subject))")
    }

    func testAnAlteredDigestBreaksTheChainAndItsSignature() throws {
        let tree = try SignedTree()
        let digest = try tree.digests()[5]
        try tree.replace("\"logFiles\":[", with: "\"logFiles\":[ ", in: digest)
        XCTAssertEqual(auditSummary(try tree.audit(), problemKinds), ["digest-chain-broken " + fileName(digest)])
        XCTAssertEqual(
            auditSummary(try tree.audit(keys: [tree.keys]), problemKinds),
            ["digest-chain-broken " + fileName(digest), "signature-invalid " + fileName(digest)])
    }

    func testAWrongSignatureIsInvalid() throws {
        let tree = try SignedTree()
        let digests = try tree.digests()
        let newest = digests[digests.count - 1], previous = digests[digests.count - 2]
        // The newest digest vouches for the one before it with another digest's real signature:
        // the chain holds (nothing later records the newest digest's hash), the signature does not.
        let real = try tree.field("previousDigestSignature", of: newest)
        let other = try tree.field("previousDigestSignature", of: previous)
        try tree.replace(real, with: other, in: newest)
        XCTAssertEqual(auditSummary(try tree.audit(), problemKinds), [])
        XCTAssertEqual(auditSummary(try tree.audit(keys: [tree.keys]), problemKinds), ["signature-invalid " + fileName(previous)])

        // A wrong signature for the newest, from the signature file.
        let file = tree.dir.url.appendingPathComponent("wrong-signatures.txt")
        try "# x-amz-meta-signature\ns3://bucket/\(newest) \(other)\n".write(to: file, atomically: true, encoding: .utf8)
        let report = try tree.audit(keys: [tree.keys], signatures: file.path)
        XCTAssertEqual(
            auditSummary(report, problemKinds), ["signature-invalid " + fileName(previous), "signature-invalid " + fileName(newest)])
    }

    func testAnUnknownKeyIsReported() throws {
        let tree = try SignedTree()
        // A real CloudTrail key (the AWS documentation's example), not the one that signed the tree.
        let keys = tree.dir.url.appendingPathComponent("other-keys.json")
        try Data(awsExampleKeys.utf8).write(to: keys)
        let report = try tree.audit(keys: [keys.path])
        let chains = tree.truth.digestChains?.count ?? 0
        XCTAssertEqual(report.findings.filter(\.isProblem).count, tree.truth.digestFiles - chains)
        XCTAssertEqual(Set(report.findings.filter(\.isProblem).map(\.kind)), [.unknownKey])
        XCTAssertEqual(report.signaturesVerified, 0)
    }

    func testAKeyOutsideItsValidityIsReported() throws {
        let tree = try SignedTree()
        let text = try String(contentsOfFile: tree.keys, encoding: .utf8)
        let expired = try XCTUnwrap(text.range(of: #""ValidityEndTime": [0-9.]+"#, options: .regularExpression))
        try text.replacingCharacters(in: expired, with: #""ValidityEndTime": "2020-01-01T00:00:00+00:00""#)
            .write(toFile: tree.keys, atomically: true, encoding: .utf8)
        let report = try tree.audit(keys: [tree.keys])
        let chains = tree.truth.digestChains?.count ?? 0
        XCTAssertEqual(Set(report.findings.filter(\.isProblem).map(\.kind)), [.keyNotValidThen])
        XCTAssertEqual(report.findings.filter(\.isProblem).count, tree.truth.digestFiles - chains)
        // The signatures themselves still verify.
        XCTAssertEqual(report.signaturesVerified, tree.truth.digestFiles - chains)
    }

    func testAuditingPartOfATreeStartsEachChainThere() throws {
        let tree = try SignedTree()
        // The last day's digest folders only, as after older days expired from the bucket.
        let folders = try ["us-east-1", "eu-west-1"].map { region in
            try XCTUnwrap(tree.digests(region).last.map { String($0[..<$0.lastIndex(of: "/")!]) })
        }
        let report = try tree.audit(keys: [tree.keys], only: folders)
        XCTAssertEqual(auditSummary(report, problemKinds), [])
        let oldest = try ["us-east-1", "eu-west-1"].map { region in
            try XCTUnwrap(tree.digests(region).first { $0.contains("/2024/03/02/") })
        }
        XCTAssertEqual(auditSummary(report, [.chainStart]), oldest.map { "chain-start " + fileName($0) }.sorted())
    }

    func testADigestThatIsNotJSONIsUnreadable() throws {
        let tree = try SignedTree()
        let digests = try tree.digests()
        try tree.write(digests[3], "not json")
        let report = try tree.audit()
        let unreadable = report.findings.filter { $0.kind == .unreadableDigest }
        XCTAssertEqual(unreadable.map { fileName($0.subject) }, [fileName(digests[3])])
        XCTAssertTrue(unreadable.first?.detail.contains("invalid JSON") ?? false)
        // The digest after it names a digest the audit could not read, and says so.
        XCTAssertTrue(auditSummary(report, problemKinds).contains("digest-chain-broken " + fileName(digests[4])))
        let broken = report.findings.first { $0.kind == .digestChainBroken && fileName($0.subject) == fileName(digests[4]) }
        XCTAssertTrue(broken?.detail.contains("is in the tree but could not be read") == true, broken?.detail ?? "")
        // The one before it is vouched for by no later digest: not the newest of its chain.
        let keyed = try tree.audit(keys: [tree.keys])
        let unsigned = keyed.findings.filter { $0.kind == .unsignedDigest && fileName($0.subject) == fileName(digests[2]) }
        XCTAssertEqual(unsigned.count, 1)
        XCTAssertTrue(unsigned.first?.detail.contains("the one after it in its chain is missing or unreadable") == true)
    }

    /// The last digest of a chain that ended hours before the newest digest here will never
    /// be vouched for by a next one: said so, rather than promised a check to come.
    func testTheLastDigestOfAChainThatEndedLongAgoIsNotPromisedACheck() throws {
        let tree = try SignedTree()
        let digests = try tree.digests()
        for removed in digests.suffix(4) { try FileManager.default.removeItem(at: tree.root.appendingPathComponent(removed)) }
        let report = try tree.audit(keys: [tree.keys])
        let stale = report.findings.filter { $0.kind == .unsignedDigest && fileName($0.subject) == fileName(digests[digests.count - 5]) }
        XCTAssertEqual(stale.count, 1)
        XCTAssertTrue(stale.first?.detail.contains("the last of a chain that ended hours before the newest digest") == true)
        XCTAssertEqual(stale.first?.kind.severity, .info)
        // The same trail's digests of the other region go on: these hours lost theirs.
        let cut = report.findings.filter { $0.kind == .missingDigest }
        XCTAssertEqual(cut.map { $0.subject.split(separator: "/")[1] }, ["us-east-1"])
        XCTAssertTrue(cut.first?.detail.contains("same trail's digests of") == true, cut.first?.detail ?? "")
        XCTAssertTrue(cut.first?.detail.contains("(4.0 hours)") == true, cut.first?.detail ?? "")
    }

    func testKeyFilesAsTheCLIPrintsThem() throws {
        let dir = try TempDir()
        // The AWS documentation's list-public-keys output: PKCS#1 and SubjectPublicKeyInfo
        // values, whose fingerprints are the MD5 of the DER bytes.
        let v1 = try dir.write("v1.json", Data(awsExampleKeys.utf8))
        let keys = try PublicKeySet(paths: [v1])
        XCTAssertEqual(Set(keys.keys.keys), ["8eba5db5bea9b640d1c96a77256fe7f2", "31e8b5433410dfb61a9dc45cc65b22ff"])
        XCTAssertEqual(keys.keys["8eba5db5bea9b640d1c96a77256fe7f2"]?.validFrom, 1_436_317_441_000)
        // CLI v2 prints ISO-8601 times.
        let v2 = try dir.write(
            "v2.json", Data(awsExampleKeys.replacingOccurrences(of: "\"1436317441.0\"", with: "\"2015-07-08T01:04:01+00:00\"").utf8))
        XCTAssertEqual(try PublicKeySet(paths: [v2]).keys["8eba5db5bea9b640d1c96a77256fe7f2"]?.validFrom, 1_436_317_441_000)
    }

    func testMalformedKeyAndSignatureFilesNameTheFileAndTheReason() throws {
        let dir = try TempDir()
        let cases: [(String, String)] = [
            ("not json", "invalid JSON"),
            (#"{"Keys": []}"#, "no PublicKeyList array"),
            (#"{"PublicKeyList": [{"Value": "%%%"}]}"#, "PublicKeyList[0].Value is not base64"),
            (#"{"PublicKeyList": [{"Value": "AAAA"}]}"#, "PublicKeyList[0].Value is not an RSA public key"),
            (awsExampleKeys.replacingOccurrences(of: "8eba5db5", with: "00000000"), "is not the MD5 of its Value"),
            (awsExampleKeys.replacingOccurrences(of: "\"1436317441.0\"", with: "\"soon\""), "ValidityStartTime is not a time"),
        ]
        for (n, (content, reason)) in cases.enumerated() {
            let path = try dir.write("keys\(n).json", Data(content.utf8))
            XCTAssertThrowsError(try PublicKeySet(paths: [path])) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
                XCTAssertTrue("\(error)".contains(reason), "\(error)")
            }
        }
        let signatures = try dir.write("signatures.txt", Data("AWSLogs/a.json.gz 0a0b\nAWSLogs/b.json.gz\n".utf8))
        XCTAssertThrowsError(try DigestSignatureFile(path: signatures)) { error in
            XCTAssertEqual("\(error)", signatures + ": line 2: expected a digest's key and its hex signature")
        }
    }

    func testTheCommandLine() throws {
        let tree = try SignedTree()
        let db = tree.dir.url.appendingPathComponent("cli.sqlite").path
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", db, tree.root.path]).status, 0)
        let run = try runBinary(["audit", "--db", db, "--public-keys", tree.keys, tree.root.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let signed = tree.truth.digestFiles - (tree.truth.digestChains?.count ?? 0)
        XCTAssertTrue(run.stderr.contains("\(signed) of \(tree.truth.digestFiles) digest signature(s) verified"), run.stderr)
        XCTAssertTrue(run.stdout.contains("unsigned-digest"), run.stdout)

        let bad = try tree.dir.write("bad\u{1b}[31m.json", Data("{".utf8))
        let failed = try runBinary(["audit", "--db", db, "--public-keys", bad, tree.root.path])
        XCTAssertEqual(failed.status, 2)
        XCTAssertTrue(failed.stderr.contains("bad\\x1b[31m.json: JSON ends unexpectedly"), failed.stderr)

        let usage = try runBinary(["audit", "--db", db, "--signatures", tree.signatures, tree.root.path])
        XCTAssertEqual(usage.status, 2)
        // A signature file with CRLF line ends reads as one with LF; a key that names no digest
        // of the tree is told (a typo leaves the newest digest unverified).
        let crlf = try tree.dir.write(
            "crlf.txt",
            Data(
                (try String(contentsOfFile: tree.signatures, encoding: .utf8).replacingOccurrences(of: "\n", with: "\r\n")
                    + "AWSLogs/typo.json.gz 00ff\r\n").utf8))
        let complete = try runBinary(["audit", "--db", db, "--public-keys", tree.keys, "--signatures", crlf, tree.root.path])
        XCTAssertEqual(complete.status, 0, complete.stderr)
        XCTAssertTrue(complete.stderr.contains("--signatures names digests not in the tree: AWSLogs/typo.json.gz"), complete.stderr)
        XCTAssertTrue(
            complete.stderr.contains("\(tree.truth.digestFiles) of \(tree.truth.digestFiles) digest signature(s) verified"), complete.stderr
        )
        // A path that does not exist is a usage error, not an audit of nothing that passes.
        let missing = try runBinary(["audit", "--db", db, tree.root.path + "-typo"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no such file or folder: \(tree.root.path)-typo"), missing.stderr)

        // A broken chain is a problem: exit status 1.
        let digests = try tree.digests()
        try FileManager.default.removeItem(at: tree.root.appendingPathComponent(digests[3]))
        XCTAssertEqual(try runBinary(["audit", "--db", db, tree.root.path]).status, 1)
    }
}

/// `aws cloudtrail list-public-keys` output from the AWS documentation (custom validation of
/// log files), its first and third keys.
private let awsExampleKeys = """
    {
        "publicKeyList": [
            {
                "ValidityStartTime": "1436317441.0",
                "ValidityEndTime": "1438909441.0",
                "Value": "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB",
                "Fingerprint": "8eba5db5bea9b640d1c96a77256fe7f2"
            },
            {
                "ValidityStartTime": "1434589370.0",
                "ValidityEndTime": "1437181370.0",
                "Value": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqlzPJbvZJ42UdcmLfPUqXYNfOs6I8lCfao/tOs8CmzPOEdtLWugB9xoIUz78qVHdKIqxbaG4jWHfJBiOSSFBM0lt8cdVo4TnRa7oG9io5pysS6DJhBBAeXsicufsiFJR+wrUNh8RSLxL4k6G1+BhLX20tJkZ/erT97tDGBujAelqseGg3vPZbTx9SMfOLN65PdLFudLP7Gat0Z9p5jw/rjpclKfo9Bfc3heeBxWGKwBBOKnFAaN9V57pOaosCvPKmHd9bg7jsQkI9Xp22IzGLsTFJZYVA3KiTAElDMu80iFXPHEq9hKNbt9e4URFam+1utKVEiLkR2disdCmPTK0VQIDAQAB",
                "Fingerprint": "31e8b5433410dfb61a9dc45cc65b22ff"
            }
        ]
    }
    """
