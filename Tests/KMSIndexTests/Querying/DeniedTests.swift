import Foundation
import GRDB
import XCTest

@testable import KMSIndex

final class DeniedTests: XCTestCase {
    let s2 = "arn:aws:sts::111122223333:assumed-role/Reader/s2"

    func testFailedCallsAreGroupedByPrincipalKeyAndError() throws {
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            queryFixtureRecords + [
                queryRecord(
                    "r5", "Decrypt", "2024-03-02T10:00:00Z", identity: Q.reader("s2"), requestParameters: Q.context(object: Q.log3),
                    error: ("AccessDenied", "second refusal")),
                queryRecord(
                    "r6", "GenerateDataKey", "2024-03-02T08:00:00Z", identity: Q.reader("s2"), requestParameters: Q.context(object: Q.log3),
                    error: ("AccessDenied", "older refusal")),
                queryRecord(
                    "svc", "Decrypt", "2024-03-04T00:00:00Z",
                    identity: #"{"type":"AWSAccount","accountId":"999988887777","principalId":"AROAX:x"}"#,
                    requestParameters: Q.context(object: Q.log1), error: ("AccessDenied", "cross-account")),
            ])
        let denied = try index.queue.read { db in try Denied.table(db, filter: QueryFilter()) }
        XCTAssertEqual(
            denied.columns, ["principal", "key", "error_code", "calls", "operations", "objects", "first_seen", "last_seen", "last_message"])
        XCTAssertEqual(
            rows(denied),
            [
                [
                    s2, Q.key1, "AccessDenied", "3", "Decrypt, GenerateDataKey", "2", "2024-03-02T08:00:00Z", "2024-03-02T10:00:00Z",
                    "second refusal",
                ],
                [
                    "AWSAccount: 999988887777 (AROAX:x)", Q.key1, "AccessDenied", "1", "Decrypt", "1", "2024-03-04T00:00:00Z",
                    "2024-03-04T00:00:00Z",
                    "cross-account",
                ],
                [s2, Q.key2, "AccessDenied", "1", "DisableKey", "0", "2024-03-03T01:00:00Z", "2024-03-03T01:00:00Z", "not allowed"],
            ])
        let recent = try index.queue.read { db in try Denied.table(db, filter: QueryFilter(since: "2024-03-02T09:30:00Z", key: Q.key1)) }
        XCTAssertEqual(
            rows(recent).map { [$0[0], $0[3], $0[8]] },
            [["AWSAccount: 999988887777 (AROAX:x)", "1", "cross-account"], [s2, "1", "second refusal"]])
    }

    func testNoFailuresGiveNoRows() throws {
        let dir = try TempDir()
        let index = try queryIndex(
            dir, [queryRecord("ok", "Decrypt", "2024-03-01T00:00:00Z", requestParameters: Q.context(object: Q.log1))])
        XCTAssertEqual(try index.queue.read { db in try Denied.table(db, filter: QueryFilter()) }.rows, [])
    }
}
