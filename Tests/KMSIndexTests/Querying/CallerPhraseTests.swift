import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// The caller as one phrase, the same in every command: who-read and reads name a caller with no
/// ARN by its type and account, as `key`, `denied` and the findings do.
final class CallerPhraseTests: XCTestCase {
    /// KMS logs a call on another account's key in both accounts; the key owner's copy names the
    /// caller as an `AWSAccount`, with no ARN: its account is all that says who called.
    func testTheKeyOwnersCopyOfACrossAccountReadNamesTheAccount() throws {
        let owner = #"{"type":"AWSAccount","principalId":"AROAEXAMPLE:s1","accountId":"444455556666"}"#
        let caller =
            #"{"type":"AssumedRole","arn":"arn:aws:sts::444455556666:assumed-role/Auditor/s1","accountId":"444455556666","#
            + #""sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::444455556666:role/Auditor"}}}"#
        let unknown = #"{"type":"AWSAccount"}"#
        // A service made the call for the other account: the account still names it.
        let viaService = #"{"type":"AWSAccount","principalId":"AROAEXAMPLE:s2","accountId":"777788889999","invokedBy":"s3.amazonaws.com"}"#
        let dir = try TempDir()
        let index = try queryIndex(
            dir,
            [
                queryRecord("x1", "Decrypt", "2024-03-01T10:00:00Z", identity: owner, requestParameters: Q.context(object: Q.log1)),
                queryRecord(
                    "x2", "Decrypt", "2024-03-01T10:00:00Z", identity: caller, requestParameters: Q.context(object: Q.log1),
                    account: "444455556666"),
                queryRecord("x3", "Decrypt", "2024-03-01T11:00:00Z", identity: unknown, requestParameters: Q.context(object: Q.log1)),
                queryRecord("x4", "Decrypt", "2024-03-01T12:00:00Z", identity: viaService, requestParameters: Q.context(object: Q.log1)),
            ])
        let phrases = try whoRead(index, Q.log1).reads.map(\.principalDescription)
        XCTAssertEqual(
            phrases.sorted(),
            [
                "AWSAccount", "AWSAccount: 444455556666 (AROAEXAMPLE:s1)", "AWSAccount: 777788889999 (AROAEXAMPLE:s2)",
                "arn:aws:iam::444455556666:role/Auditor (session s1)",
            ])
        // key and denied phrase it so too.
        let keyPhrases = try index.queue.read { db in
            try String.fetchAll(db, sql: "SELECT \(principalSQL) FROM principals p WHERE p.type = 'AWSAccount' ORDER BY 1")
        }
        XCTAssertEqual(
            keyPhrases, ["AWSAccount", "AWSAccount: 444455556666 (AROAEXAMPLE:s1)", "AWSAccount: 777788889999 (AROAEXAMPLE:s2)"])
        // reads and the findings build their rows another way (StoredEventTexts): the same phrases.
        let texts = try index.queue.read { db in
            let texts = try StoredEventTexts(db)
            return try Row.fetchAll(db, sql: "SELECT \(StoredEventTexts.columns) FROM events e ORDER BY e.id").map {
                try texts.row($0).principalDescription
            }
        }
        XCTAssertEqual(texts.sorted(), phrases.sorted())
        // The phrase names the caller to reads, as who-read shows it.
        func reads(_ principal: String) throws -> [String] {
            try index.queue.read { db in try PrincipalReads(db).reads(principal: principal, filter: QueryFilter()).map(\.eventID) }
        }
        XCTAssertEqual(try reads("AWSAccount: 444455556666 (AROAEXAMPLE:s1)"), ["x1"])
        // The account alone names every caller of it.
        XCTAssertEqual(try reads("AWSAccount: 444455556666"), ["x1"])
        XCTAssertEqual(try reads("AWSAccount: 444455556666 (AROAEXAMPLE:s9)"), [])
        XCTAssertEqual(try reads("AWSAccount: 777788889999"), ["x4"])
        XCTAssertEqual(try reads("AWSAccount: s3.amazonaws.com"), [])
        XCTAssertEqual(try reads("arn:aws:iam::444455556666:role/Auditor"), ["x2"])
        XCTAssertEqual(try reads("AWSAccount: 111122223333"), [])
        XCTAssertEqual(try reads("AWSService: 444455556666"), [])
        XCTAssertEqual(try reads("AWSAccount"), [])
        // The account is not an output column: JSON and CSV keep their columns.
        XCTAssertFalse(EventRow.columnNames.contains("principal_account_id"))
    }
}
