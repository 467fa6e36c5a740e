import XCTest

@testable import KMSIndex

/// The writer's id cache must answer exactly what was stored, whether a text is found in its
/// table or in the overflow that texts crafted to collide go to.
final class TextIDCacheTests: XCTestCase {
    func testEveryStoredTextIsFoundAndNoOtherIs() {
        let cache = TextIDCache()
        // Enough texts for the table to grow many times.
        let texts = (0..<20_000).map { "arn:aws:s3:::bucket/AWSLogs/\($0 % 7)/\($0).json.gz" }
        for (i, text) in texts.enumerated() { cache.set(Int64(i + 1), for: text) }
        for _ in 0..<2 {
            for (i, text) in texts.enumerated() {
                // A text built anew (another String instance) is found all the same.
                XCTAssertEqual(cache.id(of: String(decoding: Array(text.utf8), as: UTF8.self)), Int64(i + 1))
            }
        }
        XCTAssertNil(cache.id(of: "arn:aws:s3:::bucket/AWSLogs/0/20000.json.gz"))
        XCTAssertNil(cache.id(of: ""))
        XCTAssertNil(cache.id(of: "arn:aws:s3:::bucket/AWSLogs/0/0.json.g"))
    }

    func testShortEmptyAndNonASCIITextsAndRemoval() {
        let cache = TextIDCache()
        let texts = ["", "a", "ab", "Decrypt", "us-east-1", "12345678", "123456789", "\u{E9}", "e\u{301}", "ファイル"]
        for (i, text) in texts.enumerated() { cache.set(Int64(i), for: text) }
        for (i, text) in texts.enumerated() { XCTAssertEqual(cache.id(of: text), Int64(i), text) }
        // Equal as Strings (canonically equivalent) but not in bytes: two texts, as in SQLite.
        XCTAssertEqual(cache.id(of: "\u{E9}"), 7)
        XCTAssertEqual(cache.id(of: "e\u{301}"), 8)
        cache.removeAll()
        cache.set(8, for: "e\u{301}")
        XCTAssertNil(cache.id(of: "\u{E9}"))
        for (i, text) in texts.enumerated() { cache.set(Int64(i), for: text) }
        cache.set(42, for: "Decrypt")
        XCTAssertEqual(cache.id(of: "Decrypt"), 42)
        cache.removeAll()
        for text in texts { XCTAssertNil(cache.id(of: text), text) }
    }

    /// Looking a text up by its bytes finds exactly what looking it up as a String finds.
    func testLookupsByBytesAgreeWithLookupsByString() {
        let cache = TextIDCache()
        let stored = ["", "a", "Decrypt", "e\u{301}", "type\u{1F}arn:aws:iam::111122223333:user/alice\u{1F}\u{1F}"]
        for (i, text) in stored.enumerated() { cache.set(Int64(i + 1), for: text) }
        for probe in stored + ["\u{E9}", "b", "type", "Decrypt\u{1F}"] {
            let byBytes = Array(probe.utf8).withUnsafeBufferPointer { cache.id(ofUTF8: $0) }
            XCTAssertEqual(byBytes, cache.id(of: probe), probe.debugDescription)
            XCTAssertEqual(byBytes, stored.firstIndex { Array($0.utf8) == Array(probe.utf8) }.map { Int64($0 + 1) })
        }
    }

    /// A text of about `length` UTF-8 bytes: mostly ASCII, some accented, combining, CJK,
    /// emoji and control characters.
    private func randomText(_ length: Int, _ rng: inout SeededGenerator) -> String {
        var text = ""
        while text.utf8.count < length {
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: text += "\u{E9}"
            case 1: text += "e\u{301}"
            case 2: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x4E00...0x9FFF, using: &rng))!)
            case 3: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x1F600...0x1F64F, using: &rng))!)
            case 4: text.unicodeScalars.append(Unicode.Scalar(UInt8.random(in: 0...0x1F, using: &rng)))
            default: text.unicodeScalars.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &rng)))
            }
        }
        return text
    }

    /// Checks every text of `reference` and every probe against the cache, by String and by
    /// bytes.
    private func check(
        _ cache: TextIDCache, _ reference: [[UInt8]: Int64], probes: [[UInt8]] = [],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(cache.count, reference.count, "texts held", file: file, line: line)
        for bytes in Array(reference.keys) + probes {
            let byBytes = bytes.withUnsafeBufferPointer { cache.id(ofUTF8: $0) }
            XCTAssertEqual(byBytes, reference[bytes], "\(bytes.prefix(40))… (\(bytes.count) bytes)", file: file, line: line)
            // A probe that is not valid UTF-8 decodes to other bytes (with U+FFFD).
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertEqual(cache.id(of: text), reference[Array(text.utf8)], "\(bytes.count) bytes", file: file, line: line)
        }
    }

    /// `count` texts of 0 to 600 bytes and one longer than an arena chunk (256 KiB), with
    /// "", "\u{E9}" and "e\u{301}".
    private func randomTexts(_ count: Int, _ rng: inout SeededGenerator) -> [String] {
        var texts = ["", "\u{E9}", "e\u{301}"]
        for _ in 0..<count { texts.append(randomText(Int.random(in: 0...600, using: &rng), &rng)) }
        texts.insert(randomText(300_000, &rng), at: texts.count / 2)
        return texts
    }

    /// Texts the cache does not hold: unseen ones, and stored ones one byte shorter or with
    /// their last byte changed (same length, same prefix).
    private func misses(_ texts: [String], _ reference: [[UInt8]: Int64], _ rng: inout SeededGenerator) -> [[UInt8]] {
        var probes = randomTexts(200, &rng).map { Array($0.utf8) }
        for text in texts.prefix(500) where !text.isEmpty {
            var bytes = Array(text.utf8)
            probes.append(Array(bytes.dropLast()))
            bytes[bytes.count - 1] ^= 0x80
            probes.append(bytes)
        }
        return probes.filter { reference[$0] == nil }
    }

    /// Stores `texts` with ids from `firstID` on, half by String and half by bytes.
    private func store(_ texts: [String], from firstID: Int64, in cache: TextIDCache, _ reference: inout [[UInt8]: Int64]) {
        for (i, text) in texts.enumerated() {
            let id = firstID + Int64(i)
            if i % 2 == 0 {
                cache.set(id, for: text)
            } else {
                Array(text.utf8).withUnsafeBufferPointer { cache.set(id, forUTF8: $0) }
            }
            reference[Array(text.utf8)] = id
        }
    }

    func testRandomTextsAgreeWithAReferenceDictionary() {
        var rng = SeededGenerator(state: 1)
        let cache = TextIDCache()
        var reference: [[UInt8]: Int64] = [:]
        let texts = randomTexts(5_000, &rng)
        store(texts, from: 1, in: cache, &reference)
        XCTAssertGreaterThan(reference.count, 4_000)
        XCTAssertTrue(reference.keys.contains { $0.count > 256 << 10 })
        let probes = misses(texts, reference, &rng)
        XCTAssertGreaterThan(probes.count, 500)
        check(cache, reference, probes: probes)
        // New ids for every other text, among them the empty one.
        store(texts.enumerated().filter { $0.offset % 2 == 0 }.map(\.element), from: 1_000_000, in: cache, &reference)
        check(cache, reference, probes: probes)
    }

    /// Every text stays found as the table grows from its first capacity through many
    /// doublings, checked right after each.
    func testTextsStayFoundAcrossGrowth() {
        let cache = TextIDCache()
        var reference: [[UInt8]: Int64] = [:]
        for i in 0..<40_000 {
            let text = "arn:aws:kms:us-east-1:111122223333:key/\(i)"
            cache.set(Int64(i), for: text)
            reference[Array(text.utf8)] = Int64(i)
            if i.nonzeroBitCount == 1 || i == 39_999 {
                check(cache, reference, probes: [Array("arn:aws:kms:us-east-1:111122223333:key/\(i + 1)".utf8)])
            }
        }
        // Texts differing only in their last bytes spread over the table: a handful at most
        // reach the probe bound (most of them did when slots came from the hash's low bits).
        XCTAssertLessThan(cache.overflowCount, 400)
    }

    func testRemoveAllForgetsEverythingAndTheCacheWorksAfterwards() {
        var rng = SeededGenerator(state: 2)
        let cache = TextIDCache()
        var reference: [[UInt8]: Int64] = [:]
        let texts = randomTexts(3_000, &rng)
        store(texts, from: 1, in: cache, &reference)
        cache.removeAll()
        check(cache, [:], probes: Array(reference.keys))
        // Stored again with other ids, then others: the old ids must not come back.
        var again: [[UInt8]: Int64] = [:]
        store(Array(texts.prefix(1_000)), from: 50_000, in: cache, &again)
        store(randomTexts(2_000, &rng), from: 60_000, in: cache, &again)
        check(cache, again, probes: reference.keys.filter { again[$0] == nil } + misses(texts, again, &rng))
    }

    /// The bytes a cache holds grow with its texts' lengths, not only their number (what the
    /// writer bounds besides the count), and go back to a few slots when it is emptied.
    func testBytesHeldFollowTheTextsLengths() {
        let empty = TextIDCache().bytesHeld
        let short = TextIDCache(), long = TextIDCache()
        for i in 0..<2_000 {
            short.set(Int64(i), for: "k\(i)")
            long.set(Int64(i), for: String(repeating: "arn:aws:sts::111122223333:assumed-role/", count: 8) + "\(i)")
        }
        XCTAssertEqual(short.count, long.count)
        XCTAssertGreaterThan(long.bytesHeld, 2_000 * 300)
        XCTAssertLessThan(short.bytesHeld, long.bytesHeld / 2)
        long.removeAll()
        XCTAssertEqual(long.bytesHeld, empty)
        XCTAssertEqual(long.id(of: "k1"), nil)
    }

    /// All texts hash alike: 32 fill the probe window, the others go to the overflow, and
    /// every one of them is found, overwritten and forgotten exactly.
    func testTextsThatAllCollideGoToTheOverflow() {
        var rng = SeededGenerator(state: 3)
        let cache = TextIDCache(probeBound: 32, hashMask: 0)
        var reference: [[UInt8]: Int64] = [:]
        let texts = randomTexts(1_000, &rng)
        store(texts, from: 1, in: cache, &reference)
        XCTAssertEqual(cache.overflowCount, reference.count - 32)
        XCTAssertEqual(cache.id(of: "\u{E9}"), 2)
        XCTAssertEqual(cache.id(of: "e\u{301}"), 3)
        check(cache, reference, probes: misses(texts, reference, &rng))
        // Overwritten: texts in the window (the first ones) and in the overflow.
        store(texts, from: 10_000, in: cache, &reference)
        check(cache, reference)
        cache.removeAll()
        XCTAssertEqual(cache.overflowCount, 0)
        check(cache, [:], probes: Array(reference.keys))
        cache.set(7, for: "e\u{301}")
        XCTAssertNil(cache.id(of: "\u{E9}"))
        XCTAssertEqual(cache.id(of: "e\u{301}"), 7)
    }

    /// With a short probe window and few hash bits, texts go to the overflow as they are
    /// stored and as the table grows; the window of an overflowing text may have room after
    /// growth, and storing that text again must update it, not store it twice.
    func testShortWindowsAndFewHashBitsThroughGrowth() {
        var rng = SeededGenerator(state: 4)
        let cache = TextIDCache(probeBound: 2, hashMask: 0xFFFF)
        var reference: [[UInt8]: Int64] = [:]
        let texts = randomTexts(4_000, &rng)
        var movedBack = false
        for (i, text) in texts.enumerated() {
            let before = cache.overflowCount
            store([text], from: Int64(i + 1), in: cache, &reference)
            // Growth moves texts whose window has room again out of the overflow.
            if cache.overflowCount < before { movedBack = true }
            store([texts[Int.random(in: 0...i, using: &rng)]], from: Int64(10_000 + i), in: cache, &reference)
        }
        XCTAssertTrue(movedBack)
        XCTAssertGreaterThan(cache.overflowCount, 100)
        XCTAssertEqual(cache.count, reference.count)
        check(cache, reference, probes: misses(texts, reference, &rng))
        store(texts.reversed(), from: 100_000, in: cache, &reference)
        check(cache, reference)
    }

    /// An empty buffer with or without a base address is the empty text.
    func testEmptyBuffersWithAndWithoutABaseAddress() {
        let cache = TextIDCache()
        cache.set(5, forUTF8: UnsafeBufferPointer(start: nil, count: 0))
        let bytes: [UInt8] = [1, 2, 3]
        bytes.withUnsafeBufferPointer { all in
            XCTAssertEqual(cache.id(ofUTF8: UnsafeBufferPointer(rebasing: all[1..<1])), 5)
            XCTAssertNil(cache.id(ofUTF8: all))
        }
        XCTAssertEqual(cache.id(of: ""), 5)
        XCTAssertEqual(cache.count, 1)
    }
}
