import Foundation
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// Ctrl-C at a terminal, or a service manager's stop, during a command that writes: one line
/// says what the interruption left, the process dies of the signal, and running the command
/// again ends with what a run left alone gives.
final class InterruptionTests: XCTestCase {
    func testAnInterruptedIngestSaysWhatHoldsDiesOfTheSignalAndTheNextRunFinishes() throws {
        let dir = try TempDir()
        let tree = dir.path + "/tree"
        _ = try Synth.generate(
            SynthOptions(seed: 5, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 2, filesPerDay: 96),
            into: URL(fileURLWithPath: tree))
        let clean = dir.path + "/clean.sqlite"
        XCTAssertEqual(try runBinary(["ingest", "--quiet", "--db", clean, tree]).status, 0)
        let expected = try indexContents(clean)

        for (signal, format) in [(SIGINT, "text"), (SIGTERM, "json")] {
            let db = dir.path + "/interrupted-\(signal).sqlite"
            let errPath = dir.path + "/stderr-\(signal)"
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            let process = Process()
            process.executableURL = kmsindexBinary
            process.arguments = [
                "ingest", "--progress", "--progress-interval", "0", "--files-per-transaction", "4", "--log-format", format,
                "--db", db, tree,
            ]
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            try process.run()
            // Interrupted once it has indexed something: its first progress line.
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning && Date() < deadline {
                if let text = try? String(contentsOfFile: errPath, encoding: .utf8), text.contains("progress: ") { break }
                usleep(2_000)
            }
            XCTAssertTrue(process.isRunning, "the ingest ended before it could be interrupted")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()

            XCTAssertEqual(process.terminationReason, .uncaughtSignal)
            XCTAssertEqual(process.terminationStatus, signal)
            let lines = try String(contentsOfFile: errPath, encoding: .utf8).split(separator: "\n").map(String.init)
            let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
            let said = "interrupted (\(name)): the files committed so far stay indexed"
            XCTAssertTrue(lines.last?.contains(said) == true, "last line: \(lines.last ?? "none")")
            if format == "json" {
                // Every line a log collector reads is an object, the interruption's with the time it came.
                for line in lines {
                    let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    XCTAssertNotNil(object?["message"], line)
                }
                let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
                XCTAssertEqual(last["level"] as? String, "error")
                let time = try XCTUnwrap(last["time"] as? String)
                let when = try XCTUnwrap(ISO8601DateFormatter().date(from: time))
                XCTAssertLessThan(abs(when.timeIntervalSinceNow), 300)
            } else {
                XCTAssertTrue(lines.last!.hasPrefix("kmsindex: \(said)"))
            }

            let again = try runBinary(["ingest", "--quiet", "--db", db, tree])
            XCTAssertEqual(again.status, 0, again.stderr)
            XCTAssertEqual(try indexContents(db), expected)
        }
    }

    /// The time a JSON interruption line carries is written by integer arithmetic in the
    /// handler: it must read as the calendar does, across leap days and centuries.
    func testTheHandlersTimeIsTheCalendars() throws {
        let formatter = ISO8601DateFormatter()
        for seconds in [0, 951_782_400, 951_868_799, 1_709_164_800, 4_107_542_399, 1_796_625_160, 253_402_300_799] {
            var line = Array("{\"time\":\"YYYY-MM-DDTHH:MM:SSZ\"}".utf8)
            line.withUnsafeMutableBufferPointer { SignalSafeTime.write(seconds, into: $0, at: 9) }
            let text = String(decoding: line, as: UTF8.self)
            XCTAssertEqual(text, "{\"time\":\"\(formatter.string(from: Date(timeIntervalSince1970: Double(seconds))))\"}")
        }
    }
}
