import CZlib
import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// A fresh folder under the system temp folder, removed when the last reference to it goes
/// (`deinit`), at the end of the test that made it.
final class TempDir {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kmsindex-tests-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `data` at `relative`, creating folders; returns the full path.
    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> String {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        return file.path
    }
}

/// gzip-compresses `data` as one member (with zlib, which the reader under test does not use).
func gzip(_ data: Data, level: Int32 = 6) -> Data {
    var stream = z_stream()
    precondition(kmsindex_deflateInit2(&stream, level, 15 + 16) == Z_OK)
    defer { deflateEnd(&stream) }
    var input = [UInt8](data)
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
    let produced = input.withUnsafeMutableBufferPointer { inBuf -> Int in
        output.withUnsafeMutableBufferPointer { outBuf -> Int in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            stream.next_out = outBuf.baseAddress
            stream.avail_out = UInt32(outBuf.count)
            precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
            return outBuf.count - Int(stream.avail_out)
        }
    }
    return Data(output[0..<produced])
}

func gzip(_ text: String) -> Data { gzip(Data(text.utf8)) }

/// The folder of committed test fixtures.
let fixturesURL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

/// The three example events of the KMS developer guide (the seed document), verbatim, in
/// order: the trail check, the log file delivery, the read of that log file.
let seedEvents: [String] = ["1-trail-check", "2-log-file-delivery", "3-log-file-read"].map { name in
    let url = fixturesURL.appendingPathComponent("seed-events/\(name).json")
    return try! String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .newlines)
}

/// The seed's log file, the object every seed event names.
let seedLogFileARN =
    "arn:aws:s3:::example-bucket-for-CT-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2015/11/11/111122223333_CloudTrail_us-west-2_20151111T2115Z_7JREEBimdK8d2nC9.json.gz"

func gunzip(_ data: Data) -> Data {
    let dir = try! TempDir()
    let path = try! dir.write("f.gz", data)
    let stream = try! DecompressedStream(path: path, limit: 1 << 30)
    let window = ByteWindow()
    while try! stream.read(into: window) > 0 {}
    return Data(window.unreadBytes)
}

/// `{"Records":[...]}` of the given record texts.
func logFile(_ records: [String]) -> String {
    "{\"Records\":[" + records.joined(separator: ",") + "]}"
}

/// A CloudTrail log file path under AWSLogs for an account, region and minute.
func logPath(
    account: String = "111122223333", region: String = "us-west-2", stamp: String = "20240301T0005Z", unique: String = "AbCdEfGh12345678"
) -> String {
    let y = stamp.prefix(4), m = stamp.dropFirst(4).prefix(2), d = stamp.dropFirst(6).prefix(2)
    return "AWSLogs/\(account)/CloudTrail/\(region)/\(y)/\(m)/\(d)/\(account)_CloudTrail_\(region)_\(stamp)_\(unique).json.gz"
}

/// A KMS record with the fields tests vary; everything else as CloudTrail writes it.
func kmsRecord(
    eventID: String = UUID().uuidString.lowercased(),
    eventName: String = "Decrypt",
    eventTime: String = "2024-03-01T00:00:00Z",
    identity: String =
        #"{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}"#,
    requestParameters: String = #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/key.txt"}}"#,
    resources: String? =
        #"[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"}]"#,
    error: (code: String, message: String)? = nil,
    userAgent: String = "aws-cli/2.15.0",
    sourceIPAddress: String = "203.0.113.7"
) -> String {
    var fields = [
        #""eventVersion":"1.08""#, #""userIdentity":"# + identity, #""eventTime":"\#(eventTime)""#,
        #""eventSource":"kms.amazonaws.com""#, #""eventName":"\#(eventName)""#, #""awsRegion":"us-west-2""#,
        #""sourceIPAddress":"\#(sourceIPAddress)""#, #""userAgent":"# + JSONText.quoted(userAgent),
    ]
    if let error { fields += [#""errorCode":"\#(error.code)""#, #""errorMessage":"# + JSONText.quoted(error.message)] }
    fields += [
        #""requestParameters":"# + requestParameters, #""responseElements":null"#,
        #""requestID":"\#(UUID().uuidString.lowercased())""#, #""eventID":"\#(eventID)""#,
        // As CloudTrail marks them: key management changes something, reads and data-key calls do not.
        #""readOnly":\#(KeyReport.lifecycleOperations.contains(eventName) ? "false" : "true")"#,
    ]
    if let resources { fields.append(#""resources":"# + resources) }
    fields += [#""eventType":"AwsApiCall""#, #""managementEvent":true"#, #""recipientAccountId":"111122223333""#]
    return "{" + fields.joined(separator: ",") + "}"
}

/// A non-KMS record (S3 GetObject), to surround KMS records with.
func s3Record(_ n: Int) -> String {
    #"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob"},"eventTime":"2024-03-01T00:00:0\#(n % 10)Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{"bucketName":"b","key":"k\#(n)","nested":{"a":[1,2,{"b":"}]\"{"}]}},"eventID":"s3-\#(n)"}"#
}

/// Opens a fresh index in `dir`.
func makeIndex(_ dir: TempDir, name: String = "index.sqlite") throws -> IndexDatabase {
    try IndexDatabase.openForWriting(path: dir.url.appendingPathComponent(name).path)
}

/// An index at `path` migrated up to the last migration before `migration` (its number, such
/// as "024"): an index as that earlier schema's writer left it, for a migration test.
func indexBefore(migration: String, at path: String) throws -> DatabaseQueue {
    let queue = try DatabaseQueue(path: path, configuration: IndexDatabase.configuration(readOnly: false))
    try IndexDatabase.migrator.migrate(queue, upTo: IndexDatabase.migrations.map(\.identifier).filter { $0 < migration }.last!)
    return queue
}

/// Ingests `paths` with test-friendly options; returns the summary and the diagnostics.
@discardableResult
func ingest(_ index: IndexDatabase, _ paths: [String], jobs: Int = 2) throws -> (IngestSummary, [IngestDiagnostic]) {
    var options = IngestOptions(paths: paths)
    options.jobs = jobs
    var diagnostics: [IngestDiagnostic] = []
    let summary = try Ingester(database: index, options: options).run { diagnostics.append($0) }
    return (summary, diagnostics)
}

/// Everything that must be equal between two indexes of the same tree, as text.
func indexContents(_ path: String) throws -> [String] {
    let index = try IndexDatabase.openForReading(path: path)
    return try index.queue.read { db in
        var lines: [String] = []
        for table in [
            "events", "event_uids", "strings", "kms_keys", "kms_key_aliases", "trails", "s3_objects",
            "s3_buckets", "principals", "user_agents", "context_names", "context_values", "event_context",
        ] {
            lines.append("\(table) \(try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)")!)")
        }
        lines += try String.fetchAll(db, sql: "SELECT outcome || ' ' || count(*) FROM source_files GROUP BY outcome ORDER BY outcome")
        // Every object's who-read answer, and every event with what it names.
        lines += try String.fetchAll(
            db,
            sql: """
                SELECT object_arn || ' ' || group_concat(event_id, ',') FROM
                  (SELECT object_arn, event_id FROM object_reads ORDER BY object_arn, event_time, event_id)
                GROUP BY object_arn ORDER BY object_arn
                """)
        lines += try String.fetchAll(
            db,
            sql: """
                SELECT event_id || ' ' || event_name || ' ' || ifnull(key_arn, '-') || ' ' || ifnull(principal_arn, '-')
                       || ' ' || ifnull(object_arn, '-') || ' ' || ifnull(trail_arn, '-') || ' ' || ifnull(user_agent, '-')
                FROM kms_events ORDER BY event_id
                """)
        lines.append("integrity " + (try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "?"))
        lines.append(
            "duplicates \(try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT event_uid FROM event_uids GROUP BY event_uid HAVING count(*) > 1)")!)"
        )
        return lines
    }
}

/// Who-read of `object`, on the index.
func whoRead(_ index: IndexDatabase, _ object: String) throws -> WhoReadAnswer {
    try index.queue.read { db in try WhoRead(db).answer(object) }
}

extension WhoReadAnswer {
    /// The reads, when the object is known.
    var reads: [EventRow] {
        if case let .object(_, reads, _, _) = self { return reads }
        return []
    }
}

func count(_ index: IndexDatabase, _ sql: String, _ arguments: StatementArguments = []) throws -> Int {
    try index.queue.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? -1 }
}

/// Deterministic random numbers (SplitMix64), so that a failing test is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// A record's text read as ingest reads it, and normalized to the event it stores.
func normalizedEvent(_ text: String) throws -> KMSEvent {
    let bytes = Array(text.utf8)
    let value = try bytes.withUnsafeBufferPointer { buffer in
        var s = JSONScanner(buffer, from: 0)
        return try s.parseValue()
    }
    return try EventNormalizer.normalize(value)
}
