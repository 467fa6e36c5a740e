import Foundation
import GRDB
import KMSCrypto
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// Ingest hashes each file's bytes (`file_sha256`); the content's SHA-256, which CloudTrail's
/// digests list, only with `--content-sha256`. `audit` hashes the content of the files it
/// checks when the ledger has no hash of it, only if the file is still the one ingested, and
/// keeps what it computed.
final class ContentHashTests: XCTestCase {
    private func tree(_ dir: TempDir, seed: UInt64) throws -> (root: String, logs: [String]) {
        let root = dir.url.appendingPathComponent("t")
        _ = try Synth.generate(SynthOptions(seed: seed, accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 12), into: root)
        let logs = try FileManager.default.subpathsOfDirectory(atPath: root.path)
            .filter { $0.contains("/CloudTrail/") && $0.hasSuffix(".json.gz") }.sorted()
            .map { root.path + "/" + $0 }
        return (root.path, logs)
    }

    private func ingest(_ index: IndexDatabase, _ root: String, hashContent: Bool) throws {
        var options = IngestOptions(paths: [root])
        options.hashContent = hashContent
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual(summary.filesFailed, 0)
    }

    private func hashes(_ index: IndexDatabase, _ path: String) throws -> (content: String?, file: String?) {
        try index.queue.read { db in
            let row = try XCTUnwrap(
                try Row.fetchOne(db, sql: "SELECT content_sha256, file_sha256 FROM source_files WHERE path = ?", arguments: [path]))
            return (row[0], row[1])
        }
    }

    private func contentSHA256(_ path: String) throws -> String {
        SHA256.hex(SHA256.hash(Array(gunzip(try Data(contentsOf: URL(fileURLWithPath: path))))))
    }

    func testIngestHashesTheFileAndTheContentOnlyWhenAsked() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 21)
        let plain = try makeIndex(dir, name: "plain.sqlite")
        try ingest(plain, root, hashContent: false)
        let full = try makeIndex(dir, name: "full.sqlite")
        try ingest(full, root, hashContent: true)
        for path in logs {
            let bytes = SHA256.hex(SHA256.hash(Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
            XCTAssertEqual(try hashes(plain, path).file, bytes, path)
            XCTAssertNil(try hashes(plain, path).content, path)
            XCTAssertEqual(try hashes(full, path).file, bytes, path)
            XCTAssertEqual(try hashes(full, path).content, try contentSHA256(path), path)
        }
    }

    /// audit keeps the contents it hashed under the index lock: it waits for an ingest
    /// (`--wait`), and says so plainly when that is too long, keeping nothing.
    func testAuditKeepsItsHashesUnderTheIndexLock() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 23)
        let index = try makeIndex(dir)
        try ingest(index, root, hashContent: false)
        var held: IndexLock? = try IndexLock(indexPath: index.path, timeout: 0)
        let refused = try runBinary(["audit", "--wait", "0.3", "--db", index.path, root])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("another kmsindex (pid \(getpid())) is writing to \(index.path)"), refused.stderr)
        XCTAssertNil(try hashes(index, logs[0]).content)
        XCTAssertNotNil(held)
        held = nil
        XCTAssertEqual(try runBinary(["audit", "--wait", "0.3", "--db", index.path, root]).status, 0)
        XCTAssertEqual(try hashes(index, logs[0]).content, try contentSHA256(logs[0]))
    }

    func testAuditHashesTheContentOnceAndKeepsIt() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 22)
        let index = try makeIndex(dir)
        try ingest(index, root, hashContent: false)
        let first = try Audit(index: index).report(paths: [root])
        XCTAssertEqual(first.findings.filter(\.isProblem).map(\.kind), [])
        XCTAssertEqual(Set(first.contentHashes.map(\.path)), Set(logs))
        for (path, sha256) in first.contentHashes { XCTAssertEqual(sha256, try contentSHA256(path), path) }
        try Audit.storeContentHashes(first.contentHashes, in: index)
        for path in logs { XCTAssertEqual(try hashes(index, path).content, try contentSHA256(path), path) }
        // Kept: the next audit reads no log file, and needs none of them there.
        for path in logs { try FileManager.default.removeItem(atPath: path) }
        let second = try Audit(index: index).report(paths: [root])
        XCTAssertEqual(second.contentHashes.count, 0)
        XCTAssertEqual(second.findings.filter(\.isProblem).map(\.kind), [])
    }

    func testAFileChangedAfterIngestIsReportedAndOneRemovedUnlessItsContentWasHashed() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 23)
        let lazy = try makeIndex(dir, name: "lazy.sqlite")
        try ingest(lazy, root, hashContent: false)
        let eager = try makeIndex(dir, name: "eager.sqlite")
        try ingest(eager, root, hashContent: true)
        let changed = logs[2], removed = logs[7]
        // Valid gzip, another content: what the index holds is no longer what is on disk.
        let text = String(decoding: gunzip(try Data(contentsOf: URL(fileURLWithPath: changed))), as: UTF8.self)
        try gzip(text.replacingOccurrences(of: "\"Records\":[", with: "\"Records\":[ ")).write(to: URL(fileURLWithPath: changed))
        try FileManager.default.removeItem(atPath: removed)

        func problems(_ index: IndexDatabase) throws -> [String] {
            try Audit(index: index).report(paths: [root]).findings.filter(\.isProblem)
                .map { $0.kind.rawValue + " " + String($0.subject.split(separator: "/").last!) }.sorted()
        }
        let name = { (path: String) in String(path.split(separator: "/").last!) }
        XCTAssertEqual(try problems(lazy), ["changed-since-ingest " + name(changed), "unverifiable " + name(removed)].sorted())
        // Hashed at ingest: the index's content is compared with the digests, as it was read;
        // the file changed since (another size or time on disk) is read again and reported, a
        // file removed since is not.
        XCTAssertEqual(try problems(eager), ["changed-since-ingest " + name(changed)])

        let detail = try Audit(index: lazy).report(paths: [root]).findings.first { $0.kind == .unverifiable }?.detail
        XCTAssertTrue(detail?.contains("--content-sha256") == true, detail ?? "")
    }

    /// A file altered after an audit kept its content's hash is still seen by the next audit:
    /// its size or time on disk is not the one ingested, so it is read again.
    func testAFileChangedAfterAnAuditKeptItsHashIsReportedByTheNext() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 24)
        let index = try makeIndex(dir, name: "index.sqlite")
        try ingest(index, root, hashContent: false)
        let first = try Audit(index: index).report(paths: [root])
        XCTAssertEqual(first.findings.filter(\.isProblem).map(\.kind), [])
        try Audit.storeContentHashes(first.contentHashes, in: index)
        XCTAssertEqual(try Audit(index: index).report(paths: [root]).contentHashes.count, 0)
        let changed = logs[3]
        let text = String(decoding: gunzip(try Data(contentsOf: URL(fileURLWithPath: changed))), as: UTF8.self)
        try gzip(text.replacingOccurrences(of: "\"Records\":[", with: "\"Records\":[ ")).write(to: URL(fileURLWithPath: changed))
        let problems = try Audit(index: index).report(paths: [root]).findings.filter(\.isProblem)
        XCTAssertEqual(problems.map(\.kind), [.changedSinceIngest])
        XCTAssertEqual(problems.first?.subject.split(separator: "/").last, changed.split(separator: "/").last)
    }

    /// Contents hashed by audit (on two threads) give the findings, in the same order, that
    /// contents hashed at ingest give.
    func testAuditFindsTheSameWhereverTheContentWasHashed() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 24)
        // Altered before ingest: the index holds content that differs from the digests.
        for path in [logs[1], logs[4], logs[9]] {
            let text = String(decoding: gunzip(try Data(contentsOf: URL(fileURLWithPath: path))), as: UTF8.self)
            try gzip(text.replacingOccurrences(of: "\"Records\":[", with: "\"Records\":[ ")).write(to: URL(fileURLWithPath: path))
        }
        let (fromAudit, fromIngest) = try auditsHashingAtAuditAndAtIngest(dir, root)
        XCTAssertEqual(fromAudit.findings, fromIngest.findings)
        XCTAssertEqual(fromAudit.findings.filter { $0.kind == .hashMismatch }.count, 3)
        XCTAssertEqual(fromAudit.contentHashes.map(\.path), logs.filter { p in fromAudit.contentHashes.contains { $0.path == p } })
        XCTAssertEqual(fromAudit.contentHashes.count, logs.count)
    }

    /// An index whose ledger names paths no longer there (merged from shards read on other
    /// machines, or a tree moved since): the file is looked for under the digests' tree.
    func testAuditFindsTheLogFilesBesideTheDigestsWhenTheirPathMoved() throws {
        let dir = try TempDir()
        let (root, logs) = try tree(dir, seed: 25)
        let index = try makeIndex(dir)
        try ingest(index, root, hashContent: false)
        let moved = dir.path + "/moved"
        try FileManager.default.moveItem(atPath: root, toPath: moved)
        let report = try Audit(index: index).report(paths: [moved])
        XCTAssertEqual(report.findings.filter(\.isProblem).map(\.kind), [])
        XCTAssertEqual(report.contentHashes.count, logs.count)
        // Another file at the new place is not taken for the one ingested.
        let other = logs[5].replacingOccurrences(of: root, with: moved)
        let text = String(decoding: gunzip(try Data(contentsOf: URL(fileURLWithPath: other))), as: UTF8.self)
        try gzip(text.replacingOccurrences(of: "\"Records\":[", with: "\"Records\":[ ")).write(to: URL(fileURLWithPath: other))
        let changed = try Audit(index: index).report(paths: [moved]).findings.filter(\.isProblem)
        XCTAssertEqual(changed.map(\.kind), [.changedSinceIngest])
        XCTAssertEqual(
            Audit.sameKey("AWSLogs/1/CloudTrail/r/f.json.gz", besideDigest: "/x/AWSLogs/1/CloudTrail-Digest/r/d.json.gz"),
            "/x/AWSLogs/1/CloudTrail/r/f.json.gz")
        XCTAssertNil(Audit.sameKey("f.json.gz", besideDigest: "/x/AWSLogs/d.json.gz"))
    }

    /// A digest may list one log file any number of times (a forged one, thousands): audit
    /// hashes it once, and gives each listing its finding, in the digest's order, as contents
    /// hashed at ingest do.
    /// A copy of a delivered log file elsewhere in the tree, under its name but altered, is
    /// checked too, whichever of the two was ingested first: its events are in the index.
    func testACopyOfALogFileUnderItsNameIsCheckedWhicheverCameFirst() throws {
        for strayFirst in [true, false] {
            let dir = try TempDir()
            let (root, logs) = try tree(dir, seed: 23)
            let text = String(decoding: gunzip(try Data(contentsOf: URL(fileURLWithPath: logs[3]))), as: UTF8.self)
            let altered = String(text.dropLast(2)) + "," + kmsRecord(eventID: "forged", eventName: "ScheduleKeyDeletion") + "]}"
            let name = String(logs[3].split(separator: "/").last!)
            let stray = try dir.write("stray/" + name, gzip(altered))
            let index = try makeIndex(dir)
            for path in strayFirst ? [dir.path + "/stray", root] : [root, dir.path + "/stray"] {
                try ingest(index, path, hashContent: false)
            }
            let problems = try Audit(index: index).report(paths: [root]).findings.filter(\.isProblem)
            XCTAssertEqual(problems.map(\.kind), [.hashMismatch], "stray first: \(strayFirst)")
            XCTAssertTrue(problems.first?.detail.hasPrefix(stray + ":") == true, problems.first?.detail ?? "")
        }
    }

    func testAFileListedManyTimesGivesEachListingItsFindingInOrder() throws {
        let dir = try TempDir()
        let (root, _) = try tree(dir, seed: 25)
        let digests = try FileManager.default.subpathsOfDirectory(atPath: root)
            .filter { $0.contains("/CloudTrail-Digest/") && $0.hasSuffix(".json.gz") }.sorted().map { root + "/" + $0 }
        var rewritten = false
        for path in digests where !rewritten {
            var digest = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: gunzip(try Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any])
            guard let files = digest["logFiles"] as? [[String: Any]], let listed = files.first else { continue }
            var listings: [[String: Any]] = []
            for k in 0..<40 {
                var entry = listed
                if k % 2 == 0 { entry["hashValue"] = String(repeating: "0", count: 64) }
                listings.append(entry)
                if k % 3 == 0 {
                    var missing = listed
                    missing["s3Object"] = "AWSLogs/missing-\(k).json.gz"
                    listings.append(missing)
                }
            }
            digest["logFiles"] = listings
            try gzip(String(decoding: try JSONSerialization.data(withJSONObject: digest), as: UTF8.self))
                .write(to: URL(fileURLWithPath: path))
            rewritten = true
        }
        XCTAssertTrue(rewritten)
        let (found, expected) = try auditsHashingAtAuditAndAtIngest(dir, root)
        XCTAssertEqual(found.findings, expected.findings)
        XCTAssertEqual(found.findings.filter { $0.kind == .hashMismatch }.count, 20)
        XCTAssertEqual(found.findings.filter { $0.kind == .notIngested }.count, 14)
        // Each listing's hash is reported, the same hash each time.
        XCTAssertEqual(Set(found.contentHashes.map(\.sha256)).count, Set(found.contentHashes.map(\.path)).count)
    }

    /// The audit of `root` by an index that hashed no content at ingest (audit hashes it), and
    /// by one that hashed it at ingest.
    private func auditsHashingAtAuditAndAtIngest(_ dir: TempDir, _ root: String) throws -> (atAudit: Audit.Report, atIngest: Audit.Report) {
        let lazy = try makeIndex(dir, name: "lazy.sqlite")
        try ingest(lazy, root, hashContent: false)
        let eager = try makeIndex(dir, name: "eager.sqlite")
        try ingest(eager, root, hashContent: true)
        return (try Audit(index: lazy).report(paths: [root]), try Audit(index: eager).report(paths: [root]))
    }
}
