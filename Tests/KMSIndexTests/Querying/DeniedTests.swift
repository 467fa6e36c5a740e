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

    /// A refused ReEncrypt is filed under its destination key, but its source key refused it
    /// (`kms:ReEncryptFrom`): `denied --key SOURCE` and the source key's report find it too,
    /// under that key.
    func testARefusedReEncryptIsFoundUnderItsSourceKeyToo() throws {
        let dir = try TempDir()
        let source = "arn:aws:kms:us-west-2:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001"
        let destination = "arn:aws:kms:us-west-2:111122223333:key/bbbbbbbb-0000-0000-0000-000000000002"
        try dir.write(
            logPath(),
            gzip(
                logFile([
                    kmsRecord(
                        eventID: "00000000-0000-4000-8000-000000000001", eventName: "ReEncrypt", eventTime: "2024-03-01T10:00:00Z",
                        requestParameters: #"{"sourceKeyId":"\#(source)","destinationKeyId":"\#(destination)"}"#,
                        resources: #"[{"type":"AWS::KMS::Key","ARN":"\#(source)"},{"type":"AWS::KMS::Key","ARN":"\#(destination)"}]"#,
                        error: (code: "AccessDeniedException", message: "not authorized to perform: kms:ReEncryptFrom")),
                    kmsRecord(
                        eventName: "Decrypt", eventTime: "2024-03-01T11:00:00Z",
                        resources: #"[{"type":"AWS::KMS::Key","ARN":"\#(source)"}]"#),
                ])))
        let index = try makeIndex(dir)
        try ingest(index, [dir.path])
        func denied(_ key: String?) throws -> [[String?]] {
            try rows(index.queue.read { db in try Denied.table(db, filter: QueryFilter(key: key)) }).map { [$0[1], $0[3], $0[4]] }
        }
        XCTAssertEqual(try denied(nil), [[destination, "1", "ReEncrypt"]])
        XCTAssertEqual(try denied(destination), [[destination, "1", "ReEncrypt"]])
        XCTAssertEqual(try denied(source), [[source, "1", "ReEncrypt"]])
        let answer = try index.queue.read { db in try KeyReport(db).answer(source, filter: QueryFilter()) }
        guard case let .report(_, report) = answer else { return XCTFail("no report of the source key") }
        XCTAssertEqual(rows(report["failures"]).map { [$0[1], $0[3]] }, [["ReEncrypt", "AccessDeniedException"]])
    }

    func testNoFailuresGiveNoRows() throws {
        let dir = try TempDir()
        let index = try queryIndex(
            dir, [queryRecord("ok", "Decrypt", "2024-03-01T00:00:00Z", requestParameters: Q.context(object: Q.log1))])
        XCTAssertEqual(try index.queue.read { db in try Denied.table(db, filter: QueryFilter()) }.rows, [])
    }
}
