import XCTest

@testable import KMSIndex

/// The word-at-a-time string skipper against a byte-by-byte reference, on strings made to
/// put quotes and backslash runs at every offset of an 8-byte word.
final class StringSkipTests: XCTestCase {
    /// The closing quote of the string opened at `open`, found one byte at a time: the first
    /// quote not preceded by an odd run of backslashes. Nil when the bytes end first.
    func referenceEnd(_ b: [UInt8], open: Int) -> (Int, Bool)? {
        var j = open + 1
        var escaped = false
        while j < b.count {
            if b[j] == 0x22 {
                var k = j - 1
                var run = 0
                while k > open && b[k] == 0x5c { run += 1; k -= 1 }
                if run % 2 == 0 { return (j, escaped) }
            }
            if b[j] == 0x5c { escaped = true }
            j += 1
        }
        return nil
    }

    func fastEnd(_ b: [UInt8], open: Int) throws -> (Int, Bool)? {
        try b.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(buffer, from: open)
            do {
                let (end, escaped) = try s.stringEnd()
                try s.skipString()
                XCTAssertEqual(s.i, end + 1)
                return (end, escaped)
            } catch ParseError.needMore {
                return nil
            }
        }
    }

    func check(_ b: [UInt8], open: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = referenceEnd(b, open: open)
        let actual = try fastEnd(b, open: open)
        XCTAssertEqual(actual?.0, expected?.0, "\(String(decoding: b, as: UTF8.self)) from \(open)", file: file, line: line)
        XCTAssertEqual(actual?.1, expected?.1, "\(String(decoding: b, as: UTF8.self)) from \(open)", file: file, line: line)
    }

    func testQuotesAfterBackslashRunsAtEveryOffset() throws {
        for prefix in 0..<9 {
            for position in 0..<25 {
                for run in 0..<6 {
                    var b = Array(repeating: UInt8(0x61), count: prefix) + [0x22]
                    b += Array(repeating: 0x62, count: position) + Array(repeating: 0x5c, count: run) + [0x22]
                    b += Array("tail\"x".utf8)
                    try check(b, open: prefix)
                    // The same bytes cut short anywhere: the skipper must ask for more, never overrun.
                    for cut in (prefix + 1)..<b.count { try check(Array(b[..<cut]), open: prefix) }
                }
            }
        }
    }

    func testRandomStringsOfTrickyBytes() throws {
        let pieces: [[UInt8]] = [
            [0x61], [0x22], [0x5c], [0x5c, 0x22], [0x5c, 0x5c], Array("é".utf8), Array("😀".utf8),
            [0x7b], [0x5d], Array("\\u0022".utf8), [0x00], [0xff], [0x80],
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        for _ in 0..<20_000 {
            let prefix = next(17)
            var b = Array(repeating: UInt8(0x20), count: prefix) + [0x22]
            for _ in 0..<next(30) { b += pieces[next(pieces.count)] }
            try check(b, open: prefix)
        }
    }

    func testSkipValueMatchesParseValueOnNestedJSON() throws {
        let texts = [
            #"{"a":"x\\","b":["\"]",{"c":"}"}],"d":"\\\"{"}"#,
            #"[{"k":"é\u00e9😀"},"\\\\\\\"",[[]],{}]"#,
            #"{"long":"\#(String(repeating: "abcdefg\\\"", count: 40))","n":[1,2,{"q":"\\"}]}"#,
        ]
        for text in texts {
            let b = Array((text + " ").utf8)
            let (skipped, parsed): (Int, Int) = try b.withUnsafeBufferPointer { buffer in
                var s = JSONScanner(buffer, from: 0)
                try s.skipValue()
                var t = JSONScanner(buffer, from: 0)
                _ = try t.parseValue()
                return (s.i, t.i)
            }
            XCTAssertEqual(skipped, parsed, text)
            XCTAssertEqual(skipped, b.count - 1, text)
        }
    }

    /// `skipIfExactly` against `readStringEquals`: when it matches, the string equals the
    /// literal and ends where that says; when not, it leaves the scanner where it was.
    func testSkipIfExactlyAgreesWithReadStringEquals() throws {
        let texts = [
            #""eventSource""#, #""eventSource":1"#, #""eventSourc""#, #""eventSourceX""#, #""EventSource""#,
            #""event\u0053ource""#, #""eventSource\"""#, #""eventSource"#, #""eventSour"#, #" "eventSource""#,
            #""kms.amazonaws.com""#, #""kms.amazonaws.co""#, #""kms.amazonaws.comm""#, #""kms\u002eamazonaws.com""#,
            #""kms.amazonaws.cox""#, #""xms.amazonaws.com""#, #""kms.amazonawz.com""#, #""eventTime""#, #""eventTimes""#,
        ]
        for text in texts {
            for literal: StaticString in ["eventSource", "kms.amazonaws.com", "eventTime"] {
                let b = Array(text.utf8)
                b.withUnsafeBufferPointer { buffer in
                    var fast = JSONScanner(buffer, from: 0)
                    var reference = fast
                    let equal = try? reference.readStringEquals(literal)
                    if fast.skipIfExactly(literal) {
                        XCTAssertEqual(equal, true, "\(text) \(literal)")
                        XCTAssertEqual(fast.i, reference.i, "\(text) \(literal)")
                    } else {
                        XCTAssertEqual(fast.i, 0, "\(text) \(literal)")
                        // Only escapes make a string equal that is not the literal's bytes.
                        if equal == true { XCTAssertTrue(text.contains("\\"), "\(text) \(literal)") }
                    }
                }
            }
        }
    }
}
