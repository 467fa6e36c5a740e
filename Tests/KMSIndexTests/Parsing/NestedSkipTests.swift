import CByteScan
import Foundation
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// The vector skip of nested values (64 bytes at a time) against the byte-at-a-time skip,
/// which stays as the reference: the same end, the same error, the same position after an
/// error, on real records, every truncation of some, bytes placed at every offset of a
/// 64-byte block, the depth limit, and broken input.
final class NestedSkipTests: XCTestCase {
    /// What a skip did.
    enum Outcome: Equatable {
        case ended(at: Int)
        case needMore(at: Int)
        case tooDeep(offset: Int, at: Int)
        case other(String)
    }

    override func setUpWithError() throws {
        try XCTSkipUnless(kms_skip_available(), "no vector unit to compare with the scalar skip")
    }

    func outcome(_ b: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, depth: Int, vector: Bool) -> Outcome {
        var s = JSONScanner(UnsafeBufferPointer(rebasing: b[..<end]), from: start)
        do {
            if vector { try s.skipNested(depth: depth) } else { try s.skipNestedScalar(depth: depth) }
            return .ended(at: s.i)
        } catch ParseError.needMore {
            return .needMore(at: s.i)
        } catch let ParseError.tooDeep(limit, offset) {
            XCTAssertEqual(limit, JSONScanner.maxDepth)
            return .tooDeep(offset: offset, at: s.i)
        } catch {
            return .other("\(error)")
        }
    }

    /// Checks the vector skip of `bytes[start..<end]` against the scalar one, and that it
    /// decided by itself (handed nothing to the scalar one) unless the bytes end inside a
    /// string, or are `broken`: may hold a backslash outside strings. Returns whether it decided.
    @discardableResult
    func check(
        _ bytes: [UInt8], from start: Int, to end: Int? = nil, depth: Int, broken: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            let end = end ?? b.count
            let expected = outcome(b, from: start, to: end, depth: depth, vector: false)
            func what() -> String { "depth \(depth), bytes \(start)..<\(end) of \(String(decoding: bytes, as: UTF8.self))" }
            XCTAssertEqual(outcome(b, from: start, to: end, depth: depth, vector: true), expected, what(), file: file, line: line)
            var position = 0
            let decided = Int(kms_skip_nested(b.baseAddress, start, end, depth, JSONScanner.maxDepth, &position)) != KMS_SKIP_UNDECIDED
            let endsInString = if case .needMore(let at) = expected { at != end } else { false }
            if !broken { XCTAssertEqual(decided, !endsInString, what(), file: file, line: line) }
            return decided
        }
    }

    /// Where a skip starts in a log file: every bracket outside strings (skipped as a value,
    /// from depth 0) and every member of every record (the rest of the record, from depth 1,
    /// as the reader skips a non-KMS record after its `eventSource`).
    struct Starts {
        var values: [Int] = []
        var members: [Int] = []
        var records: [Range<Int>] = []
    }

    func starts(_ b: [UInt8]) -> Starts {
        var starts = Starts()
        var depth = 0, inString = false, escaped = false, recordStart = 0
        for (k, c) in b.enumerated() {
            if inString {
                if escaped { escaped = false } else if c == 0x5c { escaped = true } else if c == 0x22 { inString = false }
                continue
            }
            switch c {
            case 0x22: inString = true
            case 0x7b, 0x5b:
                starts.values.append(k)
                if depth == 2 { recordStart = k }
                depth += 1
                if depth == 3 { starts.members.append(k + 1) }
            case 0x7d, 0x5d:
                depth -= 1
                if depth == 2 { starts.records.append(recordStart..<(k + 1)) }
            case 0x2c where depth == 3: starts.members.append(k + 1)
            default: break
            }
        }
        return starts
    }

    /// Every value and every record rest of a file; every truncation of its first records.
    func checkLogFile(_ b: [UInt8], truncatedRecords: Int, file: StaticString = #filePath, line: UInt = #line) {
        let s = starts(b)
        XCTAssertFalse(s.records.isEmpty, file: file, line: line)
        for k in s.values { check(b, from: k, depth: 0, file: file, line: line) }
        for k in s.members { check(b, from: k, depth: 1, file: file, line: line) }
        for record in s.records.prefix(truncatedRecords) {
            let member = s.members.first { $0 > record.lowerBound }!
            for end in record.lowerBound...record.upperBound {
                check(b, from: record.lowerBound, to: end, depth: 0, file: file, line: line)
                if end >= member { check(b, from: member, to: end, depth: 1, file: file, line: line) }
            }
        }
    }

    func testSeedFixtures() throws {
        let root = fixturesURL.appendingPathComponent("seed")
        let files = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".json.gz") }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let content = gunzip(try Data(contentsOf: root.appendingPathComponent(file)))
            checkLogFile(Array(content), truncatedRecords: 3)
        }
    }

    func testEveryRecordOfAGeneratedTree() throws {
        let dir = try TempDir()
        _ = try Synth.generate(SynthOptions(seed: 5, accounts: 1, regions: ["us-east-1"], days: 1, filesPerDay: 4), into: dir.url)
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir.path)
            .filter { $0.contains("/CloudTrail/") && $0.hasSuffix(".json.gz") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 4)
        for (n, file) in files.enumerated() {
            let content = gunzip(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + file)))
            checkLogFile(Array(content), truncatedRecords: n == 0 ? 4 : 0)
        }
    }

    /// A quote after every length of backslash run, with the run, the quote and the brackets
    /// around them at every offset of a block, cut short at every byte.
    func testEscapesAndBracketsAtEveryBlockOffset() {
        for filler in 0..<140 {
            for run in 0..<10 {
                for tail in ["]\"]", "[\"]]\"]]", "\"{[\"}]"] {
                    var b = Array("[".utf8) + Array(repeating: UInt8(ascii: filler % 3 == 0 ? " " : "x"), count: filler)
                    b += [0x22] + Array(repeating: 0x5c, count: run) + [0x22] + Array(tail.utf8) + Array("  ".utf8)
                    check(b, from: 0, depth: 0)
                    check(b, from: 1, depth: 1)
                    if (60..<70).contains(filler) || filler < 4 {
                        for end in 0..<b.count { check(b, from: 0, to: end, depth: 0) }
                    }
                }
            }
        }
    }

    /// Runs of backslashes that end exactly at a block's last byte, or cross into the next
    /// block, before a quote or another byte.
    func testBackslashRunsAcrossBlocks() {
        for start in 0..<3 {
            for runEnd in 56..<136 {
                for run in 1..<(runEnd - 2) where run <= 70 {
                    for after in ["\"", "x"] {
                        let open = runEnd - run - 1
                        var b = Array(repeating: UInt8(ascii: "["), count: start) + Array(repeating: UInt8(ascii: " "), count: open - start)
                        b += [0x22] + Array(repeating: 0x5c, count: run) + Array(after.utf8) + Array("]\"]]".utf8)
                        check(b, from: start, depth: 1)
                    }
                }
            }
        }
    }

    func testDepthLimit() {
        let limit = JSONScanner.maxDepth
        for filler in [0, 1, 31, 63, 64, 100] {
            let pad = Array(repeating: UInt8(ascii: " "), count: filler)
            let nested = pad + Array(repeating: UInt8(ascii: "["), count: limit) + Array(repeating: UInt8(ascii: "]"), count: limit)
            check(nested, from: filler, depth: 0)
            check(nested, from: filler, depth: 1)  // one level more: too deep at the last '['
            let tooDeep = pad + Array(repeating: UInt8(ascii: "{"), count: limit + 1)
            check(tooDeep, from: filler, depth: 0)
            check(tooDeep, from: filler, to: tooDeep.count - 1, depth: 0)  // short of the limit: needs more
            // Brackets in strings do not count, nor do those after the value ends.
            let inStrings = pad + Array("[\"\(String(repeating: "[", count: 600))\",[]]\(String(repeating: "[", count: 600))".utf8)
            check(inStrings, from: filler, depth: 0)
        }
    }

    /// Bytes the byte-at-a-time skip reads its own way: a backslash outside strings escapes
    /// nothing there. The vector skip hands such blocks over, and the ends still agree.
    func testBackslashOutsideStrings() {
        let b = Array(#"{\"a":"}"} "#.utf8)
        XCTAssertFalse(check(b, from: 0, depth: 0, broken: true))
        XCTAssertFalse(check(Array(#"[\\\\\\\\]"#.utf8), from: 0, depth: 0, broken: true))
    }

    /// Random JSON-like text: strings with backslash runs of every length, escaped quotes,
    /// brackets in strings, multi-byte and odd bytes; half of it broken anywhere.
    func testRandomText() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ n: Int) -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % UInt64(n))
        }
        let outside: [[UInt8]] = [[0x7b], [0x7d], [0x5b], [0x5d], Array(":".utf8), Array(",".utf8), Array(" 12 ".utf8), Array("true".utf8)]
        let inside: [[UInt8]] = [Array("abc".utf8), Array("{".utf8), Array("]".utf8), Array("é😀".utf8), [0x00], [0xff], [0x0a]]
        let anything: [UInt8] = Array("\"\"\\\\\\{}[]ab ".utf8)
        for round in 0..<20_000 {
            var b: [UInt8] = [0x5b]
            let size = next(300)
            if round % 2 == 0 {
                var inString = false
                while b.count < size {
                    if inString {
                        switch next(8) {
                        case 0, 1:
                            let run = next(10)
                            b += Array(repeating: 0x5c, count: run)
                            if run % 2 == 1 { b.append(next(2) == 0 ? 0x22 : 0x6e) }
                        case 2: b.append(0x22); inString = false
                        default: b += inside[next(inside.count)]
                        }
                    } else if next(4) == 0 {
                        b.append(0x22); inString = true
                    } else {
                        b += outside[next(outside.count)]
                    }
                }
            } else {
                while b.count < size { b.append(anything[next(anything.count)]) }
            }
            let start = next(3) == 0 ? next(b.count) : 0
            let end = next(3) == 0 ? start + next(b.count - start + 1) : b.count
            // Text cut from inside a string may hold backslashes outside strings too.
            check(b, from: start, to: end, depth: next(3), broken: round % 2 == 1 || start > 0)
        }
    }
}
