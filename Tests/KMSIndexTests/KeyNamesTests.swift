import XCTest

@testable import KMSIndex

/// Key lookup by bytes finds exactly the names a String comparison finds.
final class KeyNamesTests: XCTestCase {
    let names = ["arn", "ARN", "type", "eventID", "eventTime", "eventName", "awsRegion", "accessKeyId",
                 "recipientAccountId", "sessionCredentialFromConsole", "destinationEncryptionContext"]

    func index(_ keys: KeyNames, _ key: String) -> Int? {
        Array(key.utf8).withUnsafeBufferPointer { keys.index(of: $0) }
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
    }
}
