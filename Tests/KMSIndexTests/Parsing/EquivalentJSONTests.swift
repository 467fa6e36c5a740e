import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// Log files rewritten by another tool (an archiver, a script that re-serializes JSON) hold the
/// same records in other bytes: keys in another order, characters escaped (`\/`, `\u0041`),
/// spaces and CRLF between tokens, a byte-order mark. The index of such a tree is the index of
/// the original, event for event.
final class EquivalentJSONTests: XCTestCase {
    /// `value` as JSON text: every character of every string and key escaped as `\uXXXX`
    /// (upper-case hex; `/` as `\/`), object keys in reverse order, ` : ` and ` ,\r\n` between
    /// tokens. Numbers and booleans as Foundation read them.
    func oddJSON(_ value: Any) -> String {
        switch value {
        case let object as [String: Any]:
            let members = object.keys.sorted(by: >).map { oddString($0) + " : " + oddJSON(object[$0]!) }
            return "{ " + members.joined(separator: " ,\r\n") + " }"
        case let array as [Any]:
            return "[\r\n" + array.map(oddJSON).joined(separator: " ,\r\n") + " ]"
        case let string as String:
            return oddString(string)
        case let number as NSNumber:
            if String(describing: type(of: number)).contains("Boolean") { return number.boolValue ? "true" : "false" }
            return number.stringValue
        default:
            return "null"
        }
    }

    func oddString(_ string: String) -> String {
        var text = "\""
        for unit in string.utf16 {
            text += unit == 0x2F ? "\\/" : String(format: "\\u%04X", unit)
        }
        return text + "\""
    }

    func testATreeRewrittenAsEquivalentJSONGivesTheSameIndex() throws {
        let dir = try TempDir()
        let original = dir.path + "/original"
        _ = try Synth.generate(
            SynthOptions(seed: 41, accounts: 2, regions: ["us-east-1"], days: 1, filesPerDay: 12),
            into: URL(fileURLWithPath: original))
        let rewritten = dir.path + "/rewritten"
        var files = 0
        for file in try FileManager.default.subpathsOfDirectory(atPath: original).sorted() {
            let source = original + "/" + file
            let target = rewritten + "/" + file
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isFolder), !isFolder.boolValue else {
                continue
            }
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            guard file.contains("/CloudTrail/"), file.hasSuffix(".json.gz"),
                let json = try? JSONSerialization.jsonObject(with: gunzip(bytes))
            else {
                try bytes.write(to: URL(fileURLWithPath: target))
                continue
            }
            try gzip(Data(("\u{FEFF}" + oddJSON(json)).utf8)).write(to: URL(fileURLWithPath: target))
            files += 1
        }
        XCTAssertGreaterThan(files, 20)

        let (originalSummary, _) = try ingest(try IndexDatabase.openForWriting(path: dir.path + "/original.sqlite"), [original])
        let (rewrittenSummary, _) = try ingest(
            try IndexDatabase.openForWriting(path: dir.path + "/rewritten.sqlite"), [rewritten])
        XCTAssertGreaterThan(originalSummary.eventsAdded, 100)
        XCTAssertEqual(rewrittenSummary.eventsAdded, originalSummary.eventsAdded)
        XCTAssertEqual(rewrittenSummary.malformedRecords, originalSummary.malformedRecords)
        XCTAssertEqual(try indexContents(dir.path + "/rewritten.sqlite"), try indexContents(dir.path + "/original.sqlite"))
        // Every context pair too, each with its event.
        func pairs(_ path: String) throws -> [String] {
            let index = try IndexDatabase.openForReading(path: path)
            return try index.queue.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT e.event_id || ' ' || c.context || ' ' || c.name || '=' || c.value
                        FROM encryption_context c JOIN kms_events e ON e.id = c.event_row ORDER BY 1
                        """)
            }
        }
        let originalPairs = try pairs(dir.path + "/original.sqlite")
        XCTAssertGreaterThan(originalPairs.count, 100)
        XCTAssertEqual(try pairs(dir.path + "/rewritten.sqlite"), originalPairs)
    }
}
