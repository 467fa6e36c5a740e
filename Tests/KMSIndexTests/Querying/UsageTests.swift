import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class UsageTests: XCTestCase {
    func usage(
        _ index: IndexDatabase, _ filter: QueryFilter = QueryFilter(), by: UsageGrouping? = nil,
        pricing: UsagePricing = UsagePricing()
    ) throws -> SectionedResult {
        try index.queue.read { db in try Usage.report(db, filter: filter, by: by, pricing: pricing) }
    }

    func testDailyVolumeAgainstTheDeliveryBaseline() throws {
        let dir = try TempDir()
        let report = try usage(try queryIndex(dir))
        let daily = try XCTUnwrap(report["daily"])
        XCTAssertEqual(daily.columns, ["day", "requests", "deliveries", "baseline", "gap", "flag", "list_cost_usd"])
        // One deliverer (trail main, account 111122223333, us-west-2) seen from 03-01 00:05 to 03-02 00:05:
        // 287 five-minute slots on the first day, 2 on the second.
        XCTAssertEqual(
            daily.cells,
            [
                [.text("2024-02-29"), .integer(1), .integer(0), .integer(0), .integer(1), .null, .real(0.000003)],
                [
                    .text("2024-03-01"), .integer(4), .integer(2), .integer(287), .integer(-283), .text("deliveries-missing"),
                    .real(0.000012),
                ],
                // Fewer deliveries than the baseline, and more requests: both flags.
                [
                    .text("2024-03-02"), .integer(4), .integer(1), .integer(2), .integer(2),
                    .text("deliveries-missing,above-baseline"), .real(0.000012),
                ],
                [.text("2024-03-03"), .integer(2), .integer(0), .integer(0), .integer(2), .null, .real(0.000006)],
            ])
        XCTAssertEqual(report["monthly"]?.columns, ["month", "requests", "free_requests", "billable_requests", "cost_usd"])
        XCTAssertEqual(
            report["monthly"]?.cells,
            [
                [.text("2024-02"), .integer(1), .integer(1), .integer(0), .real(0)],
                [.text("2024-03"), .integer(10), .integer(10), .integer(0), .real(0)],
            ])
    }

    func testFreeTierIsTakenPerAccountAndMonth() throws {
        let dir = try TempDir()
        let index = try queryIndex(dir)
        let pricing = UsagePricing(pricePer10k: 10_000, freePerMonth: 5)
        XCTAssertEqual(
            try usage(index, pricing: pricing)["monthly"]?.cells,
            [
                [.text("2024-02"), .integer(1), .integer(1), .integer(0), .real(0)],
                [.text("2024-03"), .integer(10), .integer(6), .integer(4), .real(4)],
            ])
        let byAccount = try usage(index, by: .account, pricing: pricing)
        XCTAssertEqual(byAccount["monthly"]?.columns, ["month", "account", "requests", "free_requests", "billable_requests", "cost_usd"])
        XCTAssertEqual(
            rows(byAccount["monthly"]),
            [
                ["2024-02", Q.account, "1", "1", "0", "0.0"],
                ["2024-03", Q.account, "9", "5", "4", "4.0"],
                ["2024-03", "444455556666", "1", "1", "0", "0.0"],
            ])
        XCTAssertEqual(
            rows(byAccount["daily"]).map { [$0[0], $0[1], $0[2], $0[4], $0[7]] },
            [
                ["2024-02-29", Q.account, "1", "0", "1.0"],
                ["2024-03-01", Q.account, "4", "287", "4.0"],
                ["2024-03-02", Q.account, "3", "2", "3.0"],
                ["2024-03-02", "444455556666", "1", "0", "1.0"],
                ["2024-03-03", Q.account, "2", "0", "2.0"],
            ])
    }

    func testByOperationPutsTheBaselineOnDeliveries() throws {
        let dir = try TempDir()
        let report = try usage(try queryIndex(dir), by: .operation)
        XCTAssertEqual(
            rows(report["daily"]).map { Array($0.prefix(7)) },
            [
                ["2024-02-29", "CreateKey", "1", "0", "0", "1", nil],
                ["2024-03-01", "Decrypt", "2", "0", "0", "2", nil],
                ["2024-03-01", "GenerateDataKey", "2", "2", "287", "-285", "deliveries-missing"],
                ["2024-03-02", "Decrypt", "2", "0", "0", "2", nil],
                ["2024-03-02", "Encrypt", "1", "0", "0", "1", nil],
                ["2024-03-02", "GenerateDataKey", "1", "1", "2", "-1", "deliveries-missing"],
                ["2024-03-03", "DisableKey", "1", "0", "0", "1", nil],
                ["2024-03-03", "ScheduleKeyDeletion", "1", "0", "0", "1", nil],
            ])
        let byKey = try usage(try queryIndex(try TempDir()), QueryFilter(since: "2024-03-02T00:00:00Z", limit: 2), by: .key)
        XCTAssertEqual(
            rows(byKey["daily"]).map { Array($0.prefix(5)) },
            [
                ["2024-03-02", Q.key1, "2", "1", "1"],
                ["2024-03-02", Q.key2, "2", "0", "0"],
            ])
    }

    func testAFullDayOfDeliveriesMeetsTheBaseline() throws {
        var records: [String] = []
        // 2 days of deliveries every 5 minutes from 00:02, two regions, and one read a day.
        for day in 1...2 {
            for slot in 0..<288 {
                for region in ["us-west-2", "eu-west-1"] {
                    let minute = slot * 5 + 2
                    let time = String(format: "2024-03-%02dT%02d:%02d:00Z", day, minute / 60, minute % 60)
                    let object =
                        "arn:aws:s3:::b/AWSLogs/\(Q.account)/CloudTrail/\(region)/2024/03/0\(day)/\(Q.account)_CloudTrail_\(region)_20240301T0000Z_\(day)\(slot).json.gz"
                    records.append(
                        queryRecord(
                            "\(region)-\(day)-\(slot)", "GenerateDataKey", time, identity: Q.cloudTrail,
                            requestParameters: Q.context(object: object)))
                }
            }
            records.append(queryRecord("read-\(day)", "Decrypt", "2024-03-0\(day)T12:00:00Z", requestParameters: Q.context(object: Q.log1)))
        }
        let report = try usage(try queryIndex(try TempDir(), records))
        XCTAssertEqual(
            rows(report["daily"]).map { Array($0.prefix(6)) },
            [
                ["2024-03-01", "577", "576", "576", "1", nil],
                ["2024-03-02", "577", "576", "576", "1", nil],
            ])
        XCTAssertEqual(
            rows(try usage(try queryIndex(try TempDir(), records), by: .region)["daily"]).map { Array($0.prefix(5)) },
            [
                ["2024-03-01", "us-west-2", "577", "576", "576"],
                ["2024-03-02", "us-west-2", "577", "576", "576"],
            ])
    }

    /// Both flags when both apply: a surge of KMS use does not hide behind missing deliveries.
    func testADayTakesBothFlagsWhenBothApply() {
        let t = Usage.tolerance
        XCTAssertEqual(Usage.flag(requests: 2_273, deliveries: 800, baseline: 1_152, tolerance: t), "deliveries-missing,above-baseline")
        XCTAssertEqual(Usage.flag(requests: 1_100, deliveries: 800, baseline: 1_152, tolerance: t), "deliveries-missing")
        XCTAssertEqual(Usage.flag(requests: 2_273, deliveries: 1_152, baseline: 1_152, tolerance: t), "above-baseline")
        XCTAssertNil(Usage.flag(requests: 1_200, deliveries: 1_100, baseline: 1_152, tolerance: t))
        XCTAssertNil(Usage.flag(requests: 5, deliveries: 0, baseline: 0, tolerance: t))
    }

    func testExpectedDeliveriesCountFiveMinuteSlots() {
        let start = TimeFilter.secondsSinceEpoch("2024-03-01T00:02:00Z")!
        let end = TimeFilter.secondsSinceEpoch("2024-03-03T23:57:00Z")!
        XCTAssertEqual(
            Usage.expectedDeliveries(first: start, last: end).map { "\($0.day) \($0.slots)" },
            ["2024-03-01 288", "2024-03-02 288", "2024-03-03 288"])
        let afternoon = TimeFilter.secondsSinceEpoch("2024-03-01T13:02:00Z")!
        XCTAssertEqual(
            Usage.expectedDeliveries(first: afternoon, last: afternoon + 655 * 60).map { "\($0.day) \($0.slots)" },
            ["2024-03-01 132"])
        XCTAssertEqual(Usage.expectedDeliveries(first: start, last: start).map(\.slots), [1])
    }
}
