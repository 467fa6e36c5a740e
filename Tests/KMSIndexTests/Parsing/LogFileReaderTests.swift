import Foundation
import XCTest

@testable import KMSIndex

final class LogFileReaderTests: XCTestCase {
    struct Read {
        var kind: LogFileKind?
        var error: String?
        var kms: [JSONValue] = []
        var records = 0
        var malformed: [MalformedRecord] = []
    }

    /// Reads `text` through a tiny window and tiny chunks, so that every value straddles refills.
    func read(_ data: Data, chunkedSmall: Bool = true) throws -> Read {
        let dir = try TempDir()
        let path = try dir.write("file.json", data)
        let stream = try DecompressedStream(path: path, limit: 1 << 30)
        let reader = LogFileReader(stream: stream, window: ByteWindow(capacity: chunkedSmall ? 16 : 1 << 20))
        var result = Read()
        do {
            result.kind = try reader.read { value, _ in result.kms.append(value) }
        } catch let error as ContentError {
            result.error = error.description
        }
        result.records = reader.recordCount
        result.malformed = reader.malformed
        return result
    }

    func read(_ text: String) throws -> Read { try read(Data(text.utf8)) }

    func testOnlyKMSRecordsAreBuilt() throws {
        let records = [s3Record(1), kmsRecord(eventID: "a"), s3Record(2), kmsRecord(eventID: "b"), s3Record(3)]
        let r = try read(logFile(records))
        XCTAssertEqual(r.kind, .log)
        XCTAssertEqual(r.records, 5)
        XCTAssertEqual(r.kms.map { $0["eventID"]?.string }, ["a", "b"])
    }

    func testSmallAndLargeWindowsAgree() throws {
        let text = logFile((0..<50).map { $0 % 3 == 0 ? kmsRecord(eventID: "e\($0)") : s3Record($0) })
        let small = try read(Data(text.utf8), chunkedSmall: true)
        let large = try read(Data(text.utf8), chunkedSmall: false)
        XCTAssertEqual(small.kms, large.kms)
        XCTAssertEqual(small.kms.count, 17)
    }

    func testWhitespaceAndKeyOrderDoNotMatter() throws {
        let text =
            " \n{ \"other\" : [1, {\"x\": \"]\"}] ,\n \"Records\" : [ { \"eventID\" : \"z\" , \"eventSource\" : \"kms.amazonaws.com\" } ] } \n"
        let r = try read(text)
        XCTAssertEqual(r.kind, .log)
        XCTAssertEqual(r.kms.first?["eventID"], .string("z"))
    }

    /// A file with `Records` twice: the records of both are the file's, numbered on.
    func testASecondRecordsArrayIsReadToo() throws {
        let text = #"{"Records":[\#(kmsRecord(eventID: "a"))],"x":1,"Records":[\#(s3Record(1)),\#(kmsRecord(eventID: "b"))]}"#
        let r = try read(text)
        XCTAssertEqual(r.kind, .log)
        XCTAssertEqual(r.records, 3)
        XCTAssertEqual(r.kms.map { $0["eventID"]?.string }, ["a", "b"])
        XCTAssertEqual(try read(#"{"Records":[],"Records":5}"#).error, try read(#"{"Records":5}"#).error)
    }

    func testEscapedEventSourceStillMatches() throws {
        let r = try read(#"{"Records":[{"eventSource":"kms\u002eamazonaws.com","eventID":"x"}]}"#)
        XCTAssertEqual(r.kms.count, 1)
    }

    /// What scanning and building one record gives: the record's kind, its end and fields, or the error.
    func scanned(_ text: String, shortcut: Bool) -> String {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(buffer, from: 0)
            var scan = LogFileReader.RecordScan.other
            do {
                let fields = try LogFileReader.scanAndBuild(&s, scan: &scan, shortcut: shortcut) { try KMSRecordFields.read(&$0) }
                let kind: String
                switch scan {
                case .kms(let range, _): kind = "kms \(range)"
                case .other: kind = "other"
                case .notObject: kind = "not an object"
                case .s3(let range, _): kind = "s3 \(range)"
                }
                return "\(kind) at \(s.i): \(String(describing: fields))"
            } catch {
                return "\(error)"
            }
        }
    }

    /// A KMS record skipped past its eventSource in one pass reads as when scanned member by
    /// member: the same kind, end and fields, or the same error.
    func testKMSRecordsSkippedToTheirEndReadAsWhenScanned() {
        let kms = #""eventSource":"kms.amazonaws.com""#
        for text in [
            kmsRecord(eventID: "a"),
            #"{\#(kms),"eventID":"b","eventSource":"s3.amazonaws.com","x":{"y":1}}"#,
            #"{\#(kms),"eventID":"c","event\u0053ource":"s3.amazonaws.com"}"#,
            #"{\#(kms),"eventID":"d","eventSource":5}"#,
            #"{\#(kms),"eventID":"e","eventSource":"kms.amazonaws.com"}"#,
            #"{\#(kms),"errorMessage":"no eventSource here","eventID":"f"}"#,
            #"{\#(kms),"errorMessage":"a \"quote\"","eventID":"g"}"#,
            #"{\#(kms),"userIdentity":{"type":tru},"x" 1}"#,
            #"{\#(kms),"userIdentity":{"type":tru},"x":1}"#,
            #"{\#(kms),"userIdentity":{"type":"a"},"x":[}]}"#,
            #"{\#(kms),"requestParameters":{"k":[1}]},"eventID":"h"}"#,
            #"{\#(kms),"a":1,}"#, #"{\#(kms),"a":1 "b":2}"#, #"{\#(kms),"a":}"#, #"{\#(kms)}"#,
            #"{"eventID":"i",\#(kms),"resources":[{"ARN":"k"}],"readOnly":true}"#,
            #"{\#(kms),"x":\#(String(repeating: "[", count: 600) + String(repeating: "]", count: 600))}"#,
            #"{\#(kms),"eventID":"j","#, #"{\#(kms),"eventID":"k""#, #"{\#(kms),"userIdentity":{"#,
        ] {
            XCTAssertEqual(scanned(text, shortcut: true), scanned(text, shortcut: false), text)
        }
    }

    func testDigestFileIsRecognized() throws {
        let digest = #"{"awsAccountId":"111122223333","digestStartTime":"2024-03-01T00:00:00Z","logFiles":[{"s3Object":"a"}]}"#
        XCTAssertEqual(try read(digest).kind, .notLog(reason: "CloudTrail digest file"))
    }

    func testOtherJSONIsNotALogFile() throws {
        XCTAssertEqual(try read(#"{"hello":"world"}"#).kind, .notLog(reason: "JSON object without Records, not a CloudTrail log file"))
        XCTAssertEqual(try read("[1,2]").kind, .notLog(reason: "top-level JSON value is an array, not an object with Records"))
        XCTAssertEqual(try read("\"s\"").kind, .notLog(reason: "top-level JSON value is a string, not an object with Records"))
    }

    func testBrokenJSONIsAnErrorWithItsPlace() throws {
        XCTAssertEqual(try read("{\"Records\":[{\"a\":1}").error, "JSON ends unexpectedly (file truncated?)")
        XCTAssertEqual(try read("not json").error, "invalid JSON at byte 0: invalid literal not")
        XCTAssertEqual(try read(#"{"Records":{}}"#).error, "Records is not an array")
        XCTAssertEqual(try read(#"{"Records":[]} x"#).error, "unexpected data after the top-level JSON value")
    }

    func testUTF8ByteOrderMarkIsTolerated() throws {
        let r = try read(Data([0xEF, 0xBB, 0xBF]) + Data(logFile([kmsRecord(eventID: "bom")]).utf8))
        XCTAssertEqual(r.kms.count, 1)
    }

    func testRecordThatIsNotAnObjectIsCountedAsMalformed() throws {
        let r = try read(logFile([kmsRecord(eventID: "ok"), "42", "\"text\""]))
        XCTAssertEqual(r.kind, .log)
        XCTAssertEqual(r.kms.count, 1)
        XCTAssertEqual(r.malformed.map(\.index), [1, 2])
    }

    func testDeepNestingStopsWithAClearError() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertEqual(
            try read(#"{"Records":[{"eventSource":"s3.amazonaws.com","x":\#(deep)}]}"#).error?.hasPrefix(
                "JSON nested deeper than 512 levels"), true)
        XCTAssertEqual(
            try read(#"{"Records":[{"eventSource":"kms.amazonaws.com","x":\#(deep)}]}"#).error?.hasPrefix(
                "JSON nested deeper than 512 levels"), true)
    }
}

final class JSONScannerTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(buffer, from: 0)
            return try s.parseValue()
        }
    }

    func testValues() throws {
        XCTAssertEqual(
            try parse(#"{"a":[1,-2.5e3,true,false,null],"b":{}}"#),
            .object([("a", .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null])), ("b", .object([]))]))
    }

    func testEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#), .string("a\"b\\c/d\né😀"))
    }

    func testNumbersOutOfRangeKeepTheirText() throws {
        XCTAssertEqual(
            try parse("[1e99999,123456789012345678901234567890]"), .array([.number("1e99999"), .number("123456789012345678901234567890")]))
    }

    func testDuplicateKeysLastOneWins() throws {
        XCTAssertEqual(try parse(#"{"k":"first","k":"second"}"#)["k"], .string("second"))
    }

    func testIncompleteInputAsksForMore() throws {
        for text in [#"{"a":"#, #""abc"#, "[1,", "tru"] {
            XCTAssertThrowsError(try parse(text)) { XCTAssertEqual($0 as? ParseError, .needMore, text) }
        }
    }

    func testJSONTextRoundTrips() throws {
        let value = try parse(#"{"s":"\u001b[2J\n\"q\"","n":[1,2]}"#)
        XCTAssertEqual(try parse(value.jsonText), value)
        XCTAssertFalse(value.jsonText.contains("\u{1b}"))
    }
}
