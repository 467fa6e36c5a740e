import Foundation
import XCTest

@testable import KMSIndex

/// Findings over many callers and deliverers of one second: each reader without an ARN (an
/// AWS service, an Identity Center user) and each reader of its own region is judged on its own
/// reads, and each deliverer's gap names the deliveries at its ends. `scripts/check-linear`
/// (service-readers, identity-center-readers, region-readers, deliverers-stopped) shows the
/// work linear.
final class ManyCallersFindingsTests: XCTestCase {
    static let second = "2024-03-01T00:07:00Z"

    static func identityCenterUser(_ i: Int) -> String {
        #"{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"user-\#(i)","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1"}}"#
    }

    static func service(_ i: Int) -> String { #"{"type":"AWSService","invokedBy":"svc\#(i).amazonaws.com"}"# }

    static func user(_ i: Int) -> String {
        #"{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u\#(i)","accountId":"111122223333"}"#
    }

    func testEachReaderWithoutAnARNOrOfItsOwnRegionIsNewOnce() throws {
        let dir = try TempDir()
        let n = 40
        var records: [String] = []
        for i in 0..<n {
            for (kind, identity) in [("idc", Self.identityCenterUser(i)), ("svc", Self.service(i)), ("usr", Self.user(i))] {
                records.append(
                    queryRecord(
                        "\(kind)-\(i)", "Decrypt", Self.second, identity: identity, requestParameters: Q.context(object: Q.log1),
                        region: kind == "usr" ? "region-\(i)" : "us-west-2"))
                // Every fifth of each kind read a log file the day before: not new on the 1st.
                if i % 5 == 0 {
                    records.append(
                        queryRecord(
                            "\(kind)-\(i)-before", "Decrypt", "2024-02-29T10:00:00Z", identity: identity,
                            requestParameters: Q.context(object: Q.log2)))
                }
            }
        }
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        let since = try XCTUnwrap(StoredTime.milliseconds("2024-03-01T00:00:00Z"))
        let readers = try Findings.collect(index, window: .since(since)).findings.filter { $0.kind == .newLogReader }
        var expected: [String: String] = [:]
        for i in 0..<n where i % 5 != 0 {
            expected["IdentityCenterUser: user-\(i)"] = "idc-\(i)"
            expected["AWSService: svc\(i).amazonaws.com"] = "svc-\(i)"
            expected["arn:aws:iam::111122223333:user/u\(i)"] = "usr-\(i)"
        }
        XCTAssertEqual(readers.count, expected.count)
        XCTAssertEqual(
            Dictionary(uniqueKeysWithValues: readers.map { ($0.principal ?? "", $0.eventIDs.joined(separator: ",")) }), expected)
        // Over all of history, every one of them is new.
        let all = try Findings.collect(index, window: .all).findings.filter { $0.kind == .newLogReader }
        XCTAssertEqual(all.count, 3 * n)
    }

    func testEachDeliverersGapNamesTheDeliveriesAtItsEnds() throws {
        let dir = try TempDir()
        let n = 30
        let ends = ["2024-03-01T00:00:00Z", "2024-03-27T00:00:00Z"]
        var records: [String] = []
        for i in 0..<n {
            for (k, time) in ends.enumerated() {
                // Other calls of the second come first in eventID order.
                records.append(queryRecord("a-\(k)-\(i)", "Encrypt", time, requestParameters: #"{"keyId":"\#(Q.key1)"}"#))
                let file = Q.log1.replacingOccurrences(of: "_abc.json.gz", with: "_\(k)x\(i).json.gz")
                records.append(
                    queryRecord(
                        String(format: "d-%d-%02d", k, i), "GenerateDataKey", time, identity: Q.cloudTrail,
                        requestParameters: Q.context(
                            object: file, trail: "arn:aws:cloudtrail:us-west-2:111122223333:trail/t\(i)")))
            }
        }
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        let gaps = try Findings.collect(index, window: .all).findings.filter { $0.kind == .deliveriesStopped }
        XCTAssertEqual(gaps.count, n)
        XCTAssertEqual(Set(gaps.map(\.subject)).count, n)
        // The delivery of each end with the smallest eventID.
        XCTAssertTrue(gaps.allSatisfy { $0.eventIDs == ["d-0-00", "d-1-00"] }, "\(gaps.map(\.eventIDs))")
        let detail = "no log file delivered for 26.0 days, from 2024-03-01T00:00:00Z to 2024-03-27T00:00:00Z"
        XCTAssertTrue(gaps.allSatisfy { $0.detail == detail }, "\(gaps.map(\.detail))")
    }

    /// Three callers surge in one second, their calls interleaved, their eventIDs random: each
    /// finding names its own caller's first 20 calls, by eventID, and its first time.
    func testEachSurgeNamesItsOwnCallersFirstCalls() throws {
        let dir = try TempDir()
        var random = SeededGenerator(state: 11)
        func uuid() -> String {
            let hex = (0..<32).map { _ in String(random.next() % 16, radix: 16) }
            return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { hex[$0].joined() }.joined(separator: "-")
        }
        var records = [queryRecord("quiet", "Decrypt", "2024-02-29T10:00:00Z", identity: Self.user(9), requestParameters: "{}")]
        var calls: [String: [String]] = [:]
        for i in 0..<3_300 {
            let id = uuid()
            calls["arn:aws:iam::111122223333:user/u\(i % 3)", default: []].append(id)
            // One call of each caller a second later: not among its first.
            let time = i >= 3_297 ? "2024-03-01T00:07:01Z" : Self.second
            records.append(queryRecord(id, "Decrypt", time, identity: Self.user(i % 3), requestParameters: "{}"))
        }
        let index = try makeIndex(dir)
        try ingest(index, [try dir.write(logPath(), gzip(logFile(records)))])
        let surges = try Findings.collect(index, window: .all).findings.filter { $0.kind == .decryptSurge }
        XCTAssertEqual(surges.count, 3)
        for surge in surges {
            let own = try XCTUnwrap(calls[surge.principal ?? ""])
            XCTAssertEqual(surge.events, 1_100)
            XCTAssertEqual(surge.time, Self.second)
            XCTAssertEqual(surge.eventIDs, Array(own.dropLast().sorted().prefix(Finding.maxEventIDs)))
        }
    }
}
