import XCTest

@testable import KMSIndex

/// Key lookup by bytes finds exactly the names a String comparison finds.
final class KeyNamesTests: XCTestCase {
    let names = [
        "arn", "ARN", "type", "eventID", "eventTime", "eventName", "awsRegion", "accessKeyId",
        "recipientAccountId", "sessionCredentialFromConsole", "destinationEncryptionContext",
    ]

    /// The key's index, looked up with no byte readable past the key and with more bytes
    /// readable (where short keys are loaded in one word): both must agree.
    func index(_ keys: KeyNames, _ key: String) -> Int? {
        let bytes = Array(key.utf8)
        let exact = bytes.withUnsafeBufferPointer { keys.index(of: $0, readable: $0.count) }
        let padded = (bytes + Array("\"xyzw\u{80}\u{FF}ab".utf8)).withUnsafeBufferPointer {
            keys.index(of: UnsafeBufferPointer(rebasing: $0[..<bytes.count]), readable: $0.count)
        }
        XCTAssertEqual(exact, padded, key)
        return exact
    }

    func testEveryNameAndNothingElse() {
        let keys = KeyNames(names)
        for (k, name) in names.enumerated() {
            XCTAssertEqual(index(keys, name), k, name)
            // Every single-byte change, at every position, is another key.
            var bytes = Array(name.utf8)
            for position in bytes.indices {
                let original = bytes[position]
                bytes[position] = original ^ 0x01
                let changed = String(decoding: bytes, as: UTF8.self)
                XCTAssertEqual(index(keys, changed), names.firstIndex(of: changed), changed)
                bytes[position] = original
            }
            XCTAssertNil(index(keys, name + "x"), name)
            XCTAssertNil(index(keys, String(name.dropLast())), name)
            XCTAssertNil(index(keys, "x" + name), name)
        }
        XCTAssertNil(index(keys, ""))
        XCTAssertNil(index(keys, "Arn"))
    }

    func testCanonicalEquivalentsAreTheSameKey() {
        // U+212A KELVIN SIGN is canonically "K", as a String comparison (and the generic parse) says.
        let keys = KeyNames(["KeyId"])
        XCTAssertEqual(index(keys, "\u{212A}eyId"), 0)
        XCTAssertNil(index(keys, "keyId"))
        // Past 16 bytes too, where the bytes are checked beyond the signature.
        let long = KeyNames(["destinationKeyIdLonger"])
        XCTAssertEqual(index(long, "destination\u{212A}eyIdLonger"), 0)
        XCTAssertEqual(index(long, "destinationKeyIdLonge\u{0072}"), 0)
        XCTAssertNil(index(long, "destinationKeyIdLonger\u{0301}"))
    }
}
