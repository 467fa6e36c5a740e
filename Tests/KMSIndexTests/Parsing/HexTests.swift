import XCTest

@testable import KMSIndex

/// Hex text of bytes, as digests and the ledger's hashes write it, and back.
final class HexTests: XCTestCase {
    func testEncodesLowercaseTwoDigitsPerByteAndDecodesEitherCase() {
        XCTAssertEqual(Hex.encode([0x00, 0x0f, 0x10, 0xa5, 0xff]), "000f10a5ff")
        XCTAssertEqual(Hex.encode([]), "")
        let every = (0...255).map { UInt8($0) }
        XCTAssertEqual(Hex.decode(Hex.encode(every)), every)
        XCTAssertEqual(Hex.decode("000F10A5FF"), [0x00, 0x0f, 0x10, 0xa5, 0xff])
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }
}
