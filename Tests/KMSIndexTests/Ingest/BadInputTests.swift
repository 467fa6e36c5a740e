import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Every kind of bad input, ingested beside good files: each is reported with its path and a
/// reason, recorded, and costs nothing else. The corpus is made by scripts/make-bad-input-corpus.
final class BadInputTests: XCTestCase {
    struct Expectation {
        var outcome: String
        var reason: String
        var events: Int
    }

    func expectations() throws -> [String: Expectation] {
        let text = try String(contentsOf: fixturesURL.appendingPathComponent("bad-input/EXPECTED.tsv"), encoding: .utf8)
        var result: [String: Expectation] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            result[f[0]] = Expectation(outcome: f[1], reason: f[2], events: Int(f[3])!)
        }
        return result
    }

    func testEveryBadFileIsReportedRecordedAndTheGoodFilesAreIndexedWhole() throws {
        let dir = try TempDir()
        let corpus = dir.url.appendingPathComponent("bucket")
        try FileManager.default.copyItem(at: fixturesURL.appendingPathComponent("bad-input"), to: corpus)
        try FileManager.default.removeItem(at: corpus.appendingPathComponent("EXPECTED.tsv"))
        let good = (0..<5).map { i in (0..<20).map { j in kmsRecord(eventID: "good-\(i)-\(j)") } + [s3Record(i)] }
        for (i, records) in good.enumerated() {
            try dir.write("bucket/" + logPath(unique: "good\(i)00000000000"), gzip(logFile(records)))
        }
        let expected = try expectations()
        XCTAssertEqual(expected.count, 28)

        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [corpus.path])
        options.maxFileBytes = 60_000_000
        var reported: [String] = []
        let summary = try Ingester(database: index, options: options).run { diagnostic in
            if case let .fileFailed(path, _) = diagnostic { reported.append(path) }
            if case let .malformedRecords(path, _, _) = diagnostic { reported.append(path) }
        }

        let rows = try index.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT path, outcome, reason, events_added FROM source_files")
        }
        var byName: [String: Row] = [:]
        for row in rows { byName[String((row["path"] as String).split(separator: "/").last!)] = row }
        for (name, expectation) in expected {
            guard let row = byName[name] else { XCTFail("\(name) not in the ledger"); continue }
            XCTAssertEqual(row["outcome"], expectation.outcome, name)
            let reason: String = row["reason"] ?? ""
            if expectation.reason.isEmpty {
                XCTAssertEqual(reason, "", name)
            } else {
                XCTAssertTrue(reason.contains(expectation.reason), "\(name): \(reason)")
            }
            XCTAssertEqual(row["events_added"], expectation.events, name)
            if expectation.outcome == "failed" {
                XCTAssertTrue(reported.contains(corpus.path + "/" + name), "\(name) was not reported")
            }
        }
        // Good files: every event, whatever failed around them.
        XCTAssertEqual(try count(index, "SELECT count(*) FROM kms_events WHERE event_id LIKE 'good-%'"), 100)
        XCTAssertEqual(summary.filesFailed, expected.values.filter { $0.outcome == "failed" }.count)
        XCTAssertEqual(summary.eventsAdded, 100 + expected.values.map(\.events).reduce(0, +))
    }

    /// Records that are not JSON objects are malformed, not KMS records: they count in neither
    /// the events added nor the duplicates.
    func testRecordsThatAreNotObjectsAreNotCountedAsDuplicates() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let first = kmsRecord(eventID: "11111111-1111-4111-8111-111111111111")
        let records = [first, kmsRecord(), "1", #""x""#, "null", kmsRecord(eventTime: "not a time")]
        let (summary, diagnostics) = try ingest(index, [try dir.write("a/" + logPath(), gzip(logFile(records)))])
        XCTAssertEqual([summary.kmsRecords, summary.eventsAdded, summary.malformedRecords, summary.duplicates], [3, 2, 4, 0])
        guard case .malformedRecords(_, let count, let examples) = diagnostics.first, diagnostics.count == 1 else {
            return XCTFail("\(diagnostics)")
        }
        XCTAssertEqual(count, 4)
        XCTAssertEqual(examples.map(\.reason).filter { $0 == "record is not a JSON object" }.count, 3)
        // The same event again, beside one more record that is not an object: one duplicate.
        let again = [first, "[]"]
        let (second, _) = try ingest(index, [try dir.write("b/" + logPath(unique: "Again"), gzip(logFile(again)))])
        XCTAssertEqual([second.kmsRecords, second.eventsAdded, second.malformedRecords, second.duplicates], [1, 0, 1, 1])
    }

    func testInvalidUTF8IsReplacedAndDuplicateKeysKeepTheLast() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(
            index,
            [
                fixturesURL.appendingPathComponent("bad-input/invalid-utf8.json.gz").path,
                fixturesURL.appendingPathComponent("bad-input/duplicate-keys.json.gz").path,
            ])
        let agent = try index.queue.read { db in
            try String.fetchOne(db, sql: "SELECT user_agent FROM kms_events WHERE event_id = 'b0000000-0000-4000-8000-000000000003'")
        }
        XCTAssertEqual(agent, "bad \u{FFFD}\u{FFFD} bytes")
        let name = try index.queue.read { db in
            try String.fetchOne(db, sql: "SELECT event_name FROM kms_events WHERE event_id = 'b0000000-0000-4000-8000-000000000013'")
        }
        XCTAssertEqual(name, "GenerateDataKey")
    }

    /// A FIFO is never read: in a folder it is skipped as not a regular file, and given by
    /// name it fails with that reason, where reading it would have waited for a writer forever.
    func testAFIFOIsSkippedOrFailsWithoutBlocking() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try dir.write("tree/" + logPath(), gzip(logFile([kmsRecord()])))
        let fifo = dir.path + "/tree/" + logPath(unique: "Fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let (summary, diagnostics) = try ingest(index, [dir.path + "/tree"])
        XCTAssertEqual(summary.eventsAdded, 1)
        XCTAssertEqual(summary.skippedByReason, ["not a regular file": 1])
        XCTAssertEqual(summary.filesFailed, 0, "\(diagnostics)")
        let (named, failures) = try ingest(index, [fifo])
        XCTAssertEqual(named.filesFailed, 1)
        guard case .fileFailed(let path, let reason) = failures.first else { return XCTFail("\(failures)") }
        XCTAssertEqual(path, fifo)
        XCTAssertEqual(reason, "not a regular file: a FIFO")
    }

    func testSymlinkLoopUnreadableAndVanishingFiles() throws {
        let dir = try TempDir()
        try dir.write("tree/a/" + logPath(unique: "loop000000000000"), gzip(logFile([kmsRecord(eventID: "in-loop")])))
        // a/back -> tree: a loop, entered once.
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/tree/a/back", withDestinationPath: dir.path + "/tree")
        // A "file" that cannot be read as one (root reads anything chmod forbids).
        try FileManager.default.createDirectory(atPath: dir.path + "/tree/folder.json.gz", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/tree/dangling.json.gz", withDestinationPath: dir.path + "/nowhere")
        let index = try makeIndex(dir)
        let (summary, _) = try ingest(index, [dir.path + "/tree"])
        XCTAssertEqual(summary.eventsAdded, 1)
        XCTAssertEqual(summary.filesIngested, 1)
        XCTAssertEqual(summary.failed[dir.path + "/tree/dangling.json.gz"], "broken symbolic link")
        // Two links naming each other: a loop, said so; a dangling link whose name is not a log
        // file's is skipped as such a file would be, not failed.
        try FileManager.default.createSymbolicLink(
            atPath: dir.path + "/tree/loopA.json.gz", withDestinationPath: dir.path + "/tree/loopB.json.gz")
        try FileManager.default.createSymbolicLink(
            atPath: dir.path + "/tree/loopB.json.gz", withDestinationPath: dir.path + "/tree/loopA.json.gz")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/tree/README.txt", withDestinationPath: dir.path + "/nowhere")
        let (again, _) = try ingest(index, [dir.path + "/tree"])
        XCTAssertEqual(again.failed[dir.path + "/tree/loopA.json.gz"], "symbolic link loop")
        XCTAssertNil(again.failed[dir.path + "/tree/README.txt"])
        XCTAssertEqual(again.skippedByReason["not a .json or .json.gz file"], 1)

        // Given explicitly, a folder named like a file, and a file gone by the time it is read.
        let parser = FileParser()
        let folder = parser.parse(InputFile(path: dir.path + "/tree/folder.json.gz", size: 0, mtimeNs: 0))
        XCTAssertEqual(folder.outcome, .failed(reason: "not a regular file: a directory"))
        let gone = parser.parse(InputFile(path: dir.path + "/gone.json.gz", size: 10, mtimeNs: 1))
        XCTAssertEqual(gone.outcome, .skipped(reason: "vanished before it could be read"))
    }

    /// A file listed, then gone when its turn came, and back as it was (a folder moved away and
    /// back, a sync that fetches it again with the same time) is read by the next run.
    func testAFileThatVanishedAndCameBackIsReadNextRun() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let path = dir.path + "/logs/" + logPath()
        let content = gzip(logFile([kmsRecord(eventID: "back")]))
        // Listed with the size and time it has when it comes back, gone when read.
        try dir.write("elsewhere.json.gz", content)
        var status = stat()
        XCTAssertEqual(stat(dir.path + "/elsewhere.json.gz", &status), 0)
        let listed = InputFile(
            path: path, size: Int64(status.st_size), mtimeNs: Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec))
        try index.queue.writeWithoutTransaction { db in
            var parsed = FileParser().parse(listed)
            XCTAssertEqual(parsed.outcome, .skipped(reason: "vanished before it could be read"))
            let writer = try EventWriter(db: db)
            XCTAssertEqual(try writer.write(&parsed), 0)
            try writer.flush()
        }
        XCTAssertEqual(try count(index, "SELECT count(*) FROM ledger_files"), 0)
        // Back, with the size and time it was listed with.
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: dir.path + "/elsewhere.json.gz", toPath: path)
        XCTAssertEqual(try LedgerReader(path: index.path).areUnchanged([listed]), [false])
        let (summary, _) = try ingest(index, [dir.path + "/logs"])
        XCTAssertEqual(summary.filesIngested, 1)
        XCTAssertEqual(summary.eventsAdded, 1)
    }

    func testAFileThatGrowsIsReadAgainNextRun() throws {
        let dir = try TempDir()
        let path = try dir.write("x.json", Data(logFile([kmsRecord(eventID: "g1")]).utf8))
        let index = try makeIndex(dir)
        // The ledger keeps the size seen when listing; the file then grows before it is read.
        let listed = InputFile(path: path, size: 5, mtimeNs: 5)
        try index.queue.writeWithoutTransaction { db in
            var parsed = FileParser().parse(listed)
            let writer = try EventWriter(db: db)
            _ = try writer.write(&parsed)
            try writer.flush()
        }
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 1)
        let next = try ingest(index, [path]).0
        XCTAssertEqual(next.filesUnchanged, 0)
        XCTAssertEqual(next.filesIngested, 1)
        XCTAssertEqual(next.eventsAdded, 0)
    }
}

/// Inputs the fuzzer flagged, replayed through everything ingest does to a file.
final class FuzzRegressionTests: XCTestCase {
    func testEveryFuzzFindingParsesToAnOutcome() throws {
        let folder = fixturesURL.appendingPathComponent("fuzz-regressions")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertFalse(names.isEmpty)
        for name in names {
            let path = folder.appendingPathComponent(name).path
            // Some of these were timeouts: a parse that does not end within a generous bound is
            // a failure here, not a test that never ends.
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var parsed: FileResult?
            Thread.detachNewThread {
                parsed = FileParser(maxFileBytes: 64 << 20).parse(InputFile(path: path, size: 0, mtimeNs: 0))
                done.signal()
            }
            guard done.wait(timeout: .now() + 60) == .success, let result = parsed else {
                return XCTFail("\(name) did not parse within 60 s")
            }
            // Whatever the outcome, it is one with a reason when it is not a clean read.
            if result.outcome != .ingested { XCTAssertFalse(result.outcome.reason?.isEmpty ?? true, name) }
            XCTAssertLessThanOrEqual(result.kmsRecords, result.records, name)
        }
    }
}
