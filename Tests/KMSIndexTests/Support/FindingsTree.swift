import Foundation

@testable import KMSIndex

/// Hand-written CloudTrail trees for `findings`: one account and region whose trail delivers a
/// log file every 30 minutes under a key that protects the logs, two roles that read the logs
/// (Auditors daily, Archivist on the first day and again on day 5) and an application that
/// decrypts ten times a day with another key. Days 1-4 (2024-03-01 to 04) are the history;
/// day 5 is quiet, or busy with each kind of finding once. One log file per day; eventIDs are
/// made from the day and a counter, so tests name them exactly.
struct FindingsTree {
    static let account = "111122223333"
    static let trail = "arn:aws:cloudtrail:us-west-2:111122223333:trail/main"
    static let logKey = "arn:aws:kms:us-west-2:111122223333:key/11111111-1111-1111-1111-111111111111"
    static let appKey = "arn:aws:kms:us-west-2:111122223333:key/22222222-2222-2222-2222-222222222222"
    static let auditors = "arn:aws:iam::111122223333:role/Auditors"
    static let archivist = "arn:aws:iam::111122223333:role/Archivist"
    static let intruder = "arn:aws:iam::444455556666:role/Intruder"
    static let app = "arn:aws:iam::111122223333:role/app"
    static let mallory = "arn:aws:iam::111122223333:user/mallory"
    static let admin = "arn:aws:iam::111122223333:user/admin"
    static let deliverer = "\(trail) 111122223333/us-west-2"

    let dir: TempDir
    var root: String { dir.path + "/AWSLogs" }
    private var counter = 0
    private var records: [Int: [String]] = [:]
    /// eventIDs of the deliveries, by "DAY-SLOT" (slot: the half hour of the day).
    private(set) var deliveryIDs: [String: String] = [:]
    /// Time and eventID of the application's Decrypts, by day.
    private(set) var appDecrypts: [Int: [(time: String, id: String)]] = [:]

    init(_ dir: TempDir) { self.dir = dir }

    /// The eventID of the `n`th record of day `day`.
    static func eventID(day: Int, _ n: Int) -> String { String(format: "%08x-0000-4000-8000-%012x", day, n) }

    static func time(_ day: Int, _ hour: Int, _ minute: Int, _ second: Int = 0) -> String {
        String(format: "2024-03-%02dT%02d:%02d:%02dZ", day, hour, minute, second)
    }

    /// The log file delivered at a time of day, as an object ARN.
    static func logObject(_ day: Int, _ hour: Int, _ minute: Int) -> String {
        let stamp = String(format: "202403%02dT%02d%02dZ", day, hour, minute)
        return
            "arn:aws:s3:::ct-logs/AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/\(String(format: "%02d", day))/111122223333_CloudTrail_us-west-2_\(stamp)_f.json.gz"
    }

    static func role(_ arn: String, session: String) -> String {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        let account = String(parts[4]), name = arn.split(separator: "/").last!
        return
            #"{"type":"AssumedRole","principalId":"AROA\#(name.uppercased()):\#(session)","arn":"arn:aws:sts::\#(account):assumed-role/\#(name)/\#(session)","accountId":"\#(account)","accessKeyId":"ASIA\#(session.uppercased())","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA\#(name.uppercased())","arn":"\#(arn)","accountId":"\#(account)","userName":"\#(name)"}}}"#
    }

    static func user(_ arn: String) -> String {
        let name = arn.split(separator: "/").last!
        return
            #"{"type":"IAMUser","principalId":"AIDA\#(name.uppercased())","arn":"\#(arn)","accountId":"111122223333","userName":"\#(name)"}"#
    }

    static func keyResource(_ key: String) -> String {
        #"[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"\#(key)"}]"#
    }

    /// Adds a record to day `day`; returns its eventID.
    @discardableResult
    mutating func add(
        _ day: Int, _ name: String, at time: String, identity: String, parameters: String, key: String,
        error: (code: String, message: String)? = nil, source: String = "203.0.113.7"
    ) -> String {
        counter += 1
        let id = Self.eventID(day: day, counter)
        records[day, default: []].append(
            kmsRecord(
                eventID: id, eventName: name, eventTime: time, identity: identity, requestParameters: parameters,
                resources: Self.keyResource(key), error: error, sourceIPAddress: source))
        return id
    }

    /// CloudTrail delivers the file of `hour:minute`: its GenerateDataKey with the trail and the file.
    @discardableResult
    mutating func delivery(_ day: Int, _ hour: Int, _ minute: Int) -> String {
        deliveryIDs["\(day)-\(hour * 2 + minute / 30)"] = Self.eventID(day: day, counter + 1)
        return add(
            day, "GenerateDataKey", at: Self.time(day, hour, minute),
            identity: #"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#,
            parameters:
                #"{"keySpec":"AES_256","encryptionContext":{"aws:cloudtrail:arn":"\#(Self.trail)","aws:s3:arn":"\#(Self.logObject(day, hour, minute))"}}"#,
            key: Self.logKey, source: "cloudtrail.amazonaws.com")
    }

    /// A GenerateDataKey naming the file of `hour:minute` that is no delivery: CloudTrail's,
    /// failed (`error`), or made by `identity` from an address.
    mutating func notADelivery(
        _ day: Int, _ hour: Int, _ minute: Int, identity: String? = nil, error: (code: String, message: String)? = nil
    ) {
        add(
            day, "GenerateDataKey", at: Self.time(day, hour, minute),
            identity: identity ?? #"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#,
            parameters:
                #"{"keySpec":"AES_256","encryptionContext":{"aws:cloudtrail:arn":"\#(Self.trail)","aws:s3:arn":"\#(Self.logObject(day, hour, minute))"}}"#,
            key: Self.logKey, error: error, source: identity == nil ? "cloudtrail.amazonaws.com" : "198.51.100.9")
    }

    /// `identity` reads the log file delivered at `file` (hour, minute of the same day).
    @discardableResult
    mutating func logRead(
        _ day: Int, at time: String, identity: String, file: (Int, Int),
        error: (code: String, message: String)? = nil
    ) -> String {
        add(
            day, "Decrypt", at: time, identity: identity,
            parameters:
                #"{"encryptionContext":{"aws:cloudtrail:arn":"\#(Self.trail)","aws:s3:arn":"\#(Self.logObject(day, file.0, file.1))"}}"#,
            key: Self.logKey, error: error)
    }

    /// `identity` gets the log file delivered at `file` from S3: an S3 data event (`GetObject`)
    /// of the log bucket. Returns its eventID.
    @discardableResult
    mutating func s3LogRead(_ day: Int, at time: String, identity: String, file: (Int, Int)) -> String {
        counter += 1
        let id = Self.eventID(day: day, counter)
        let key = String(Self.logObject(day, file.0, file.1).dropFirst("arn:aws:s3:::ct-logs/".count))
        records[day, default: []].append(
            S3ReadsTests.s3Event(
                id, "GetObject", time, bucket: "ct-logs", key: key,
                identity: identity, bytes: 2048))
        return id
    }

    /// The application decrypts one of its objects.
    mutating func appDecrypt(_ day: Int, at time: String, _ n: Int) {
        appDecrypts[day, default: []].append((time, Self.eventID(day: day, counter + 1)))
        add(
            day, "Decrypt", at: time, identity: Self.role(Self.app, session: "app-\(day)"),
            parameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::app-data/report-\#(n).csv"}}"#, key: Self.appKey)
    }

    /// An ordinary day: 48 deliveries (but those at `skipping`), Auditors twice, the
    /// application ten times.
    mutating func ordinaryDay(_ day: Int, skipping: Set<Int> = []) {
        for slot in 0..<48 where !skipping.contains(slot) { delivery(day, slot / 2, slot % 2 * 30) }
        logRead(day, at: Self.time(day, 9, 0, 5), identity: Self.role(Self.auditors, session: "audit-\(day)a"), file: (8, 30))
        logRead(day, at: Self.time(day, 15, 0, 5), identity: Self.role(Self.auditors, session: "audit-\(day)b"), file: (14, 30))
        for n in 1...10 { appDecrypt(day, at: Self.time(day, n, 15), n) }
    }

    /// Days 1-4.
    mutating func history() {
        for day in 1...4 { ordinaryDay(day) }
        logRead(1, at: Self.time(1, 12, 0, 5), identity: Self.role(Self.archivist, session: "archive-1"), file: (11, 30))
    }

    /// Day 5 with nothing to report: Archivist reads again, with a new session.
    mutating func quietDay() {
        ordinaryDay(5)
        logRead(5, at: Self.time(5, 12, 0, 5), identity: Self.role(Self.archivist, session: "archive-5"), file: (11, 30))
    }

    /// The eventIDs of what `busyDay` adds, by kind.
    struct Busy {
        var intruderReads: [String] = []
        var denied = ""
        var deletion = "", disabled = "", policy = "", grant = ""
        var gapStart = "", gapEnd = ""
        /// The first 20 of the day's 1,200 Decrypts by the application, by time and eventID.
        var surgeFirst20: [String] = []
    }

    /// Day 5 with each kind once: deliveries stop from 10:00 to 12:30, a role of another
    /// account reads two log files, mallory is refused one, the log key's deletion is scheduled
    /// and its policy replaced, the application key is disabled and granted to another account
    /// (and to the application's own account, which is no finding), and the application
    /// decrypts 1,200 times.
    mutating func busyDay() -> Busy {
        var busy = Busy()
        ordinaryDay(5, skipping: [21, 22, 23, 24])
        busy.gapStart = deliveryIDs["5-20"]!
        busy.gapEnd = deliveryIDs["5-25"]!
        logRead(5, at: Self.time(5, 12, 0, 5), identity: Self.role(Self.archivist, session: "archive-5"), file: (11, 30))
        busy.intruderReads.append(logRead(5, at: Self.time(5, 13, 0), identity: Self.role(Self.intruder, session: "x"), file: (12, 30)))
        busy.intruderReads.append(logRead(5, at: Self.time(5, 13, 5), identity: Self.role(Self.intruder, session: "x"), file: (12, 30)))
        busy.denied = logRead(
            5, at: Self.time(5, 14, 0), identity: Self.user(Self.mallory), file: (13, 30),
            error: ("AccessDenied", "User: \(Self.mallory) is not authorized to perform: kms:Decrypt"))
        busy.deletion = add(
            5, "ScheduleKeyDeletion", at: Self.time(5, 16, 0), identity: Self.user(Self.admin),
            parameters: #"{"keyId":"\#(Self.logKey)","pendingWindowInDays":7}"#, key: Self.logKey)
        busy.disabled = add(
            5, "DisableKey", at: Self.time(5, 16, 10), identity: Self.user(Self.admin),
            parameters: #"{"keyId":"\#(Self.appKey)"}"#, key: Self.appKey)
        busy.policy = add(
            5, "PutKeyPolicy", at: Self.time(5, 16, 20), identity: Self.user(Self.admin),
            parameters: #"{"keyId":"\#(Self.logKey)","policyName":"default","policy":"{}"}"#, key: Self.logKey)
        busy.grant = add(
            5, "CreateGrant", at: Self.time(5, 16, 30), identity: Self.user(Self.admin),
            parameters:
                #"{"keyId":"\#(Self.appKey)","granteePrincipal":"arn:aws:iam::999988887777:role/partner","operations":["Decrypt"]}"#,
            key: Self.appKey)
        add(
            5, "CreateGrant", at: Self.time(5, 16, 35), identity: Self.user(Self.admin),
            parameters: #"{"keyId":"\#(Self.appKey)","granteePrincipal":"\#(Self.app)","operations":["Decrypt"]}"#, key: Self.appKey)
        // A failed deletion changes nothing: no finding.
        add(
            5, "ScheduleKeyDeletion", at: Self.time(5, 16, 40), identity: Self.user(Self.mallory),
            parameters: #"{"keyId":"\#(Self.appKey)"}"#, key: Self.appKey, error: ("AccessDeniedException", "denied"))
        for n in 0..<1_190 { appDecrypt(5, at: Self.time(5, 1 + n / 60 % 20, n % 60, 30), 100 + n) }
        busy.surgeFirst20 = appDecrypts[5, default: []].sorted { ($0.time, $0.id) < ($1.time, $1.id) }.prefix(20).map(\.id)
        return busy
    }

    /// Writes the log file of each of `days`; returns their paths.
    @discardableResult
    func write(days: [Int]) throws -> [String] {
        try days.map { day in
            try dir.write(
                logPath(stamp: String(format: "202403%02dT2359Z", day), unique: "Day\(day)00000000000"),
                gzip(logFile(records[day] ?? [])))
        }
    }

    /// Writes a digest of day 5 and returns the folder to check; the digest lists the day's log
    /// file with its hash and, with `missing`, a log file the index never read.
    func writeDigest(hashOfDay5 hash: String, missing: Bool) throws -> String {
        let listed = logPath(stamp: "20240305T2359Z", unique: "Day500000000000")
        var files = [
            #"{"s3Bucket":"ct-logs","s3Object":"\#(listed)","hashValue":"\#(hash)","hashAlgorithm":"SHA-256","newestEventTime":"2024-03-05T23:30:00Z","oldestEventTime":"2024-03-05T00:00:00Z"}"#
        ]
        if missing {
            files.append(
                #"{"s3Bucket":"ct-logs","s3Object":"\#(Self.missingFile)","hashValue":"00","hashAlgorithm":"SHA-256","newestEventTime":"2024-03-05T23:59:00Z","oldestEventTime":"2024-03-05T23:00:00Z"}"#
            )
        }
        let object =
            "AWSLogs/111122223333/CloudTrail-Digest/us-west-2/2024/03/06/111122223333_CloudTrail-Digest_us-west-2_main_us-west-2_20240306T000000Z.json.gz"
        let digest =
            #"{"awsAccountId":"111122223333","digestStartTime":"2024-03-05T23:00:00Z","digestEndTime":"2024-03-06T00:00:00Z","digestS3Bucket":"ct-logs","digestS3Object":"\#(object)","digestPublicKeyFingerprint":"00","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"2024-03-05T23:30:00Z","oldestEventTime":"2024-03-05T00:00:00Z","previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[\#(files.joined(separator: ","))]}"#
        try dir.write(object, gzip(digest))
        return root
    }

    static let missingFile =
        "AWSLogs/111122223333/CloudTrail/us-west-2/2024/03/06/111122223333_CloudTrail_us-west-2_20240306T0005Z_Gone0000000000.json.gz"
}
