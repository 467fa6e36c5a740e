import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// Every query command's output on a fixed generated tree, kept in `Fixtures/answers/`: a change
/// that alters an answer (a count, an order, a column) fails here until the file is made again
/// on purpose (`KMSINDEX_RECORD_ANSWERS=1 swift test --filter AnswerSnapshotTests`) and the
/// difference reviewed in the commit.
final class AnswerSnapshotTests: XCTestCase {
    static let snapshotName = "answers/synth-seed-21.txt"

    /// The output of every query command, each after a `== command ==` line; `stats`' lines of
    /// the build's version and the schema's left out (they are not answers about the logs).
    private func answers(_ db: String) throws -> String {
        let (key, role) = try busiestKeyAndRole(db)
        let object = try DatabaseQueue(path: db).read { db in
            try String.fetchOne(db, sql: "SELECT object_arn FROM object_reads GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")!
        }
        let window = ["--since", "2024-03-01T07:30:00Z", "--until", "2024-03-03T02:00:00Z"]
        let commands: [[String]] = [
            ["stats"], ["keys"], ["keys"] + window, ["trails"], ["objects", "--limit", "40"],
            ["objects", "--limit", "10"] + window, ["usage"], ["usage", "--by", "key"] + window,
            ["usage", "--by", "operation", "--errors-only"], ["denied"], ["key", key], ["key", key] + window,
            ["reads", "--principal", role], ["who-read", object], ["findings", "--all"],
        ]
        var text = ""
        for command in commands {
            for format in ["json", "table"] {
                let run = try runKMSIndex(command + ["--db", db, "--format", format])
                let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.contains("version\":") && !$0.hasPrefix("version ") && !$0.hasPrefix("schema_version ") }
                text += "== \(command.joined(separator: " ")) --format \(format) (status \(run.status)) ==\n"
                text += lines.joined(separator: "\n") + run.stderr
            }
        }
        return text
    }

    func testEveryCommandAnswersAsRecorded() throws {
        let dir = try TempDir()
        let logs = try generatedTree(dir, seed: 21)  // deterministic for its seed
        // One parser and two, reading ahead or not: the order in which files reach the writer
        // changes no answer.
        var outputs: [String] = []
        for (jobs, readAhead) in [("1", "4"), ("2", "0"), ("2", "4")] {
            let db = dir.path + "/i-\(jobs)-\(readAhead).sqlite"
            let ingest = try runKMSIndex(["ingest", "-q", "--jobs", jobs, "--read-ahead", readAhead, "--db", db, logs])
            XCTAssertEqual(ingest.status, 0, ingest.stderr)
            outputs.append(try answers(db))
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[1], outputs[2])
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/" + Self.snapshotName)
        if ProcessInfo.processInfo.environment["KMSINDEX_RECORD_ANSWERS"] == "1" {
            try FileManager.default.createDirectory(at: source.deletingLastPathComponent(), withIntermediateDirectories: true)
            try outputs[2].write(to: source, atomically: true, encoding: .utf8)
            return
        }
        let recorded = try String(contentsOf: fixturesURL.appendingPathComponent(Self.snapshotName), encoding: .utf8)
        if recorded != outputs[1] {
            let got = outputs[1].split(separator: "\n", omittingEmptySubsequences: false)
            let want = recorded.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, want.count)
            XCTFail(
                "answers differ from \(Self.snapshotName) at line \(first + 1):\n  now:      "
                    + (first < got.count ? String(got[first]) : "(end)") + "\n  recorded: "
                    + (first < want.count ? String(want[first]) : "(end)"))
        }
    }
}
