import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// The names the query fixture uses.
enum Q {
    static let account = "111122223333"
    static let key1 = "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"
    static let key2 = "arn:aws:kms:us-west-2:111122223333:key/99999999-8888-7777-6666-555555555555"
    static let trail = "arn:aws:cloudtrail:us-west-2:111122223333:trail/main"
    static let alice = "arn:aws:iam::111122223333:user/alice"
    static let readerRole = "arn:aws:iam::111122223333:role/Reader"
    static let lambda = "arn:aws:lambda:us-west-2:111122223333:function:f"

    /// A log file of the trail, delivered at `stamp` (`20240301T0005Z`).
    static func logFile(_ stamp: String) -> String {
        let day = stamp.prefix(8)
        let path = "\(day.prefix(4))/\(day.dropFirst(4).prefix(2))/\(day.suffix(2))"
        return
            "arn:aws:s3:::logs-bucket/AWSLogs/111122223333/CloudTrail/us-west-2/\(path)/111122223333_CloudTrail_us-west-2_\(stamp)_abc.json.gz"
    }

    static let log1 = logFile("20240301T0005Z")
    static let log2 = logFile("20240301T0010Z")
    static let log3 = logFile("20240302T0005Z")

    static let aliceIdentity =
        #"{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}"#
    static let cloudTrail = #"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#

    static func reader(_ session: String) -> String {
        #"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Reader/\#(session)","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/Reader"}}}"#
    }

    static func resources(_ key: String) -> String {
        #"[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"\#(key)"}]"#
    }

    static func context(object: String, trail: String? = Q.trail) -> String {
        let trailPair = trail.map { #""aws:cloudtrail:arn":"\#($0)","# } ?? ""
        return #"{"encryptionContext":{\#(trailPair)"aws:s3:arn":"\#(object)"}}"#
    }
}

/// A KMS record as `kmsRecord` writes it, in another region or account when asked.
func queryRecord(
    _ eventID: String, _ eventName: String, _ eventTime: String, identity: String = Q.aliceIdentity,
    requestParameters: String, key: String? = Q.key1, error: (code: String, message: String)? = nil,
    region: String = "us-west-2", account: String = Q.account, userAgent: String = "aws-cli/2.15.0"
) -> String {
    // CloudTrail's calls come from the service, which CloudTrail names as their source.
    var record = kmsRecord(
        eventID: eventID, eventName: eventName, eventTime: eventTime, identity: identity,
        requestParameters: requestParameters, resources: key.map(Q.resources), error: error,
        userAgent: userAgent, sourceIPAddress: identity == Q.cloudTrail ? "cloudtrail.amazonaws.com" : "203.0.113.7")
    record = record.replacingOccurrences(of: #""awsRegion":"us-west-2""#, with: #""awsRegion":"\#(region)""#)
    return record.replacingOccurrences(of: #""recipientAccountId":"111122223333""#, with: #""recipientAccountId":"\#(account)""#)
}

/// The records of the query fixture: three log-file deliveries, reads by a user and two role
/// sessions (one denied), a Decrypt for a Lambda function under an alias, key management
/// (one denied), and a call logged for another account and region.
let queryFixtureRecords: [String] = [
    queryRecord(
        "d1", "GenerateDataKey", "2024-03-01T00:05:00Z", identity: Q.cloudTrail,
        requestParameters: #"{"keyId":"alias/logs","encryptionContext":{"aws:cloudtrail:arn":"\#(Q.trail)","aws:s3:arn":"\#(Q.log1)"}}"#),
    queryRecord("d2", "GenerateDataKey", "2024-03-01T00:10:00Z", identity: Q.cloudTrail, requestParameters: Q.context(object: Q.log2)),
    queryRecord("d3", "GenerateDataKey", "2024-03-02T00:05:00Z", identity: Q.cloudTrail, requestParameters: Q.context(object: Q.log3)),
    queryRecord("r1", "Decrypt", "2024-03-01T10:00:00Z", requestParameters: Q.context(object: Q.log1)),
    queryRecord("r2", "Decrypt", "2024-03-01T11:00:00Z", identity: Q.reader("s1"), requestParameters: Q.context(object: Q.log1)),
    queryRecord(
        "r3", "Decrypt", "2024-03-02T09:00:00Z", identity: Q.reader("s2"), requestParameters: Q.context(object: Q.log2),
        error: ("AccessDenied", "User: arn:aws:sts::111122223333:assumed-role/Reader/s2 is not authorized")),
    queryRecord(
        "r4", "Decrypt", "2024-03-02T12:00:00Z", identity: Q.reader("s1"),
        requestParameters: #"{"keyId":"alias/app","encryptionContext":{"aws:lambda:FunctionArn":"\#(Q.lambda)"}}"#, key: Q.key2),
    queryRecord("m1", "CreateKey", "2024-02-29T08:00:00Z", requestParameters: #"{"description":"app key"}"#, key: Q.key2),
    queryRecord(
        "m2", "ScheduleKeyDeletion", "2024-03-03T00:00:00Z", requestParameters: #"{"keyId":"\#(Q.key2)","pendingWindowInDays":7}"#,
        key: Q.key2),
    queryRecord(
        "m3", "DisableKey", "2024-03-03T01:00:00Z", identity: Q.reader("s2"),
        requestParameters: #"{"keyId":"\#(Q.key2)"}"#, key: Q.key2, error: ("AccessDenied", "not allowed")),
    queryRecord(
        "x1", "Encrypt", "2024-03-02T13:00:00Z", requestParameters: #"{"keyId":"alias/app"}"#, key: Q.key2,
        region: "eu-west-1", account: "444455556666"),
]

/// A fresh index holding `records` in one log file.
func queryIndex(_ dir: TempDir, _ records: [String] = queryFixtureRecords) throws -> IndexDatabase {
    try dir.write("logs/" + logPath(), gzip(logFile(records)))
    let index = try makeIndex(dir)
    let (summary, diagnostics) = try ingest(index, [dir.path + "/logs"])
    XCTAssertEqual(summary.eventsAdded, records.count, "\(diagnostics)")
    return index
}

/// Text rows of a table, for exact comparisons.
func rows(_ table: ResultTable?) -> [[String?]] { table?.rows ?? [] }

/// Runs the built `kmsindex` with `arguments`, feeding `stdin` when given (see Support/BinaryRunner.swift).
@discardableResult
func runKMSIndex(_ arguments: [String], stdin: String? = nil) throws -> BinaryRun {
    try runBinary(arguments, stdin: stdin.map { Data($0.utf8) })
}

/// The bytes of a file, or nil when it does not exist.
func fileBytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

/// A generated tree of 2 accounts, 2 regions and 3 days from 2024-03-01 (8 files a day each:
/// failures, deliveries, reads of log files), written under `dir`; returns its path.
func generatedTree(_ dir: TempDir, seed: UInt64) throws -> String {
    let options = SynthOptions(seed: seed, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 3, filesPerDay: 8)
    _ = try Synth.generate(options, into: dir.url.appendingPathComponent("tree"))
    return dir.path + "/tree"
}

/// The key with most events and the role with most reads of objects in an index: what the
/// command-line tests ask `key` and `reads` about.
func busiestKeyAndRole(_ path: String) throws -> (key: String, role: String) {
    try DatabaseQueue(path: path).read { db in
        (
            try String.fetchOne(db, sql: "SELECT key_arn FROM kms_events GROUP BY key_arn ORDER BY count(*) DESC, key_arn LIMIT 1")!,
            try String.fetchOne(
                db, sql: "SELECT role_arn FROM object_reads WHERE role_arn IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")!
        )
    }
}
