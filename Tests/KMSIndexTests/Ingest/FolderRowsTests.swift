import XCTest

@testable import KMSIndex

/// The ledger's rows of a folder, found by the hash of a file's path and then its name, byte
/// for byte: a hash shared by two paths never answers for the wrong one.
final class FolderRowsTests: XCTestCase {
    private let dir = "/logs/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01"
    private let prefix = "111122223333_CloudTrail_us-east-1_"

    private func add(_ rows: inout FolderRows, _ name: String, cut: Bool, hashOf path: String, size: Int64) {
        var stored = Array(name.utf8)
        if cut { stored.removeFirst(prefix.utf8.count) }
        stored.withUnsafeBufferPointer {
            rows.add(hash: PrincipalIdentity.textHash(path), .init(size: size, mtimeNs: 1, failed: false), cut: cut, name: $0)
        }
    }

    private func find(_ rows: FolderRows, _ name: String) -> Int64? {
        (dir + "/" + name).withUTF8Bytes { rows.find(path: $0) }?.size
    }

    func testAFileIsFoundByItsWholeNameCutOrNot() {
        let a = prefix + "20240301T0000Z_a.json.gz", b = "notes.json"
        var rows = FolderRows(prefix: Array(prefix.utf8))
        add(&rows, a, cut: true, hashOf: dir + "/" + a, size: 10)
        add(&rows, b, cut: false, hashOf: dir + "/" + b, size: 20)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(find(rows, a), 10)
        XCTAssertEqual(find(rows, b), 20)
        XCTAssertNil(find(rows, prefix + "20240301T0005Z_c.json.gz"))
        XCTAssertNil(find(rows, "20240301T0000Z_a.json.gz"), "the name without its prefix is another file")
        // Another folder's path with the same name: another hash.
        XCTAssertNil(("/elsewhere/" + a).withUTF8Bytes { rows.find(path: $0) })
    }

    func testAHashSharedByTwoPathsIsSettledByTheName() {
        let a = prefix + "20240301T0000Z_a.json.gz", b = prefix + "20240301T0005Z_b.json.gz"
        // b's row under a's hash, as if the two paths' hashes were equal.
        var onlyB = FolderRows(prefix: Array(prefix.utf8))
        add(&onlyB, b, cut: true, hashOf: dir + "/" + a, size: 2)
        XCTAssertNil(find(onlyB, a), "same hash, another name: not this file")
        for order in [[a, b], [b, a]] {
            var rows = FolderRows(prefix: Array(prefix.utf8))
            for name in order { add(&rows, name, cut: true, hashOf: dir + "/" + a, size: name == a ? 1 : 2) }
            XCTAssertEqual(find(rows, a), 1, "\(order)")
        }
        // A cut name is never shorter than the prefix: a row of the prefix alone (nothing
        // stored) does not answer for a name that is only part of it.
        let part = String(prefix.dropLast(3))
        var prefixOnly = FolderRows(prefix: Array(prefix.utf8))
        add(&prefixOnly, prefix, cut: true, hashOf: dir + "/" + part, size: 4)
        XCTAssertNil(find(prefixOnly, part))
        // A stored name that is not cut is compared whole, the prefix not added.
        var uncut = FolderRows(prefix: Array(prefix.utf8))
        add(&uncut, a, cut: false, hashOf: dir + "/" + a, size: 3)
        XCTAssertEqual(find(uncut, a), 3)
    }
}
