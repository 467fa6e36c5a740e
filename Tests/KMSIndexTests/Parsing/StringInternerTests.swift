import XCTest

@testable import KMSIndex

/// The interner gives back exactly what `String(decoding:as:)` would, shared when it can.
final class StringInternerTests: XCTestCase {
    func intern(_ interner: StringInterner, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { interner.string($0) }
    }

    /// Address of a string's UTF-8 storage: equal for two values sharing one instance.
    func storage(_ string: String) -> UnsafeRawPointer? {
        var string = string
        return string.withUTF8 { UnsafeRawPointer($0.baseAddress) }
    }

    func testRepeatedBytesGiveTheSameInstance() {
        let interner = StringInterner()
        let arn = Array("arn:aws:sts::111122223333:assumed-role/Auditors/jane".utf8)
        let first = intern(interner, arn)
        let second = intern(interner, arn)
        XCTAssertEqual(first, "arn:aws:sts::111122223333:assumed-role/Auditors/jane")
        XCTAssertEqual(second, first)
        XCTAssertEqual(storage(second), storage(first))
        let other = intern(interner, Array("arn:aws:sts::111122223333:assumed-role/Auditors/john".utf8))
        XCTAssertEqual(other, "arn:aws:sts::111122223333:assumed-role/Auditors/john")
        XCTAssertNotEqual(storage(other), storage(first))
    }

    /// Texts that differ only in their last bytes (key ARNs, numbered objects) are shared too:
    /// their hashes differ in the low bits the interner's slots come from.
    func testTextsDifferingOnlyAtTheirEndAreAllShared() {
        let interner = StringInterner()
        let texts = (0..<2000).map { Array("arn:aws:s3:::logs-bucket/AWSLogs/111122223333/part-\(100_000 + $0)".utf8) }
        let first = texts.map { intern(interner, $0) }
        for (text, made) in zip(texts, first) {
            XCTAssertEqual(storage(intern(interner, text)), storage(made), String(decoding: text, as: UTF8.self))
        }
        var lowBits = Set<UInt64>()
        for text in texts {
            lowBits.insert(text.withUnsafeBufferPointer { StringInterner.hash($0.baseAddress!, $0.count, seed: 7) } & 0x3FFF)
        }
        XCTAssertGreaterThan(lowBits.count, 1800)
    }

    func testEveryLengthDecodesAsStringDecodingDoes() {
        let interner = StringInterner()
        var generator = SeededGenerator(state: 20_241_204)
        for length in 0...300 {
            for _ in 0..<3 {
                // Mostly ASCII, with some multi-byte and some invalid sequences.
                let bytes = (0..<length).map { _ -> UInt8 in
                    let r = UInt8.random(in: 0...255, using: &generator)
                    return r < 200 ? 0x20 + r % 0x5f : r
                }
                let expected = String(decoding: bytes, as: UTF8.self)
                XCTAssertEqual(intern(interner, bytes), expected, "length \(length)")
                XCTAssertEqual(intern(interner, bytes), expected, "length \(length), again")
            }
        }
    }

    func testInvalidUTF8IsRepairedAndNeverConfusedWithItsRepair() {
        let interner = StringInterner()
        let invalid: [UInt8] = Array("user-agent/1.0 ".utf8) + [0xff, 0xfe] + Array(" tail".utf8)
        let repaired = String(decoding: invalid, as: UTF8.self)
        XCTAssertEqual(intern(interner, invalid), repaired)
        XCTAssertEqual(intern(interner, invalid), repaired)
        XCTAssertEqual(intern(interner, Array(repaired.utf8)), repaired)
        // The same invalid bytes again: the same (repaired) instance.
        XCTAssertEqual(storage(intern(interner, invalid)), storage(intern(interner, invalid)))
    }

    /// Long texts fill the bytes the interner compares before its slots: it starts over, exact.
    func testLongTextsThatFillItsBytesStayExact() {
        let interner = StringInterner()
        let texts = (0..<12_000).map { n in "arn:aws:s3:::bucket/" + String(repeating: "k", count: 200) + "-\(n)" }
        for round in 0..<2 {
            for text in texts {
                XCTAssertEqual(intern(interner, Array(text.utf8)), text, "round \(round)")
            }
        }
        let last = Array(texts[texts.count - 1].utf8)
        XCTAssertEqual(storage(intern(interner, last)), storage(intern(interner, last)))
    }

    func testManyMoreDistinctStringsThanItHoldsStayExact() {
        let interner = StringInterner()
        for round in 0..<2 {
            for n in 0..<40_000 {
                let text = "arn:aws:s3:::bucket/key-\(n)-of-many"
                XCTAssertEqual(intern(interner, Array(text.utf8)), text, "round \(round)")
            }
        }
    }
}
