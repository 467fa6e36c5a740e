/// A record written into a `RecordFactory`'s buffer: where its bytes are and what the
/// ground truth needs of it.
struct EmittedRecord {
    var time: Int64
    var start: Int
    var end: Int
    var isKMS: Bool
    var facts: KMSRecordFacts?
    /// A second delivery of a record already written: never duplicated again.
    var isDuplicate = false
    /// An S3 read the ground truth lists.
    var s3Read: S3ReadFacts? = nil
}

/// A record rendered ahead of time, waiting for the log file its time (or its delivery)
/// belongs to: CloudTrail's own delivery events, reads of log files, the partner copy of a
/// cross-account call, a duplicate delivery.
struct PendingRecord {
    var time: Int64
    var bytes: [UInt8]
    var isKMS: Bool
    var facts: KMSRecordFacts?
    /// A second delivery of a record already written: never duplicated again.
    var isDuplicate = false
    /// The first time slot whose log file may hold it (a duplicate goes to a later file).
    var minSlot = 0
    /// An S3 read the ground truth lists.
    var s3Read: S3ReadFacts? = nil
}

/// The account and region whose trail logs the records being made.
struct StreamPlace {
    let account: Account
    let region: RegionEstate
}

/// Writes records into one buffer, back to back with no separators, and remembers where each
/// starts and ends. The service-specific builders (KMS, S3, EC2, ...) are extensions of it.
final class RecordFactory {
    var rng: SynthRandom
    let estate: Estate
    let ids: IdentityFactory
    private(set) var out = JSONWriter(capacity: 1 << 20)
    private(set) var emitted: [EmittedRecord] = []
    /// Records emitted so far, and how many of them were KMS records (steers the KMS share).
    private(set) var totalRecords = 0
    private(set) var kmsRecords = 0

    /// The shape's knobs (the original generator's by default).
    let profile: ShapeProfile
    /// Short sessions and object pools, for the shapes that have them (nil for `default`).
    var churn: Churn?
    /// Bucket Keys buckets whose bucket-level Decrypt was written (`s3DataEventReads`).
    var bucketKeyDecrypts: Set<String> = []

    init(rng: SynthRandom, estate: Estate, profile: ShapeProfile = ShapeProfile(), seed: UInt64 = 0) {
        self.rng = rng
        self.estate = estate
        self.profile = profile
        ids = IdentityFactory(estate: estate)
        if profile.churnRolesPerAccount > 0 || profile.freshTailShare != nil {
            churn = Churn(estate: estate, rolesPerAccount: profile.churnRolesPerAccount, seed: seed)
        }
    }

    /// Empties the buffer for the next log file.
    func resetBuffer() {
        out.reset()
        emitted.removeAll(keepingCapacity: true)
    }

    /// Writes one record: envelope head, the service's middle, envelope tail. KMS records, and
    /// only they, pass `facts`.
    func emit(
        _ envelope: RecordEnvelope, facts: KMSRecordFacts? = nil,
        middle: (inout JSONWriter) -> Void
    ) {
        let start = out.bytes.count
        out.startRecord()
        envelope.writeHead(to: &out)
        middle(&out)
        envelope.writeTail(to: &out)
        let isKMS = facts != nil
        emitted.append(EmittedRecord(time: envelope.time, start: start, end: out.bytes.count, isKMS: isKMS, facts: facts))
        totalRecords += 1
        if isKMS { kmsRecords += 1 }
    }

    /// Marks the last record emitted as an S3 read the ground truth lists.
    func markLastAsS3Read(_ facts: S3ReadFacts) {
        emitted[emitted.count - 1].s3Read = facts
    }

    /// Appends a record rendered earlier, byte for byte.
    func append(_ pending: PendingRecord) {
        let start = out.bytes.count
        out.bytes.append(contentsOf: pending.bytes)
        emitted.append(
            EmittedRecord(
                time: pending.time, start: start, end: out.bytes.count, isKMS: pending.isKMS, facts: pending.facts,
                isDuplicate: pending.isDuplicate, s3Read: pending.s3Read))
        totalRecords += 1
        if pending.isKMS { kmsRecords += 1 }
    }

    /// Removes the records emitted since `mark` from the buffer and returns them as pending
    /// records (for a later log file, or another account's).
    func takeRecords(since mark: Int) -> [PendingRecord] {
        guard mark < emitted.count else { return [] }
        let taken = emitted[mark...].map { r in
            PendingRecord(time: r.time, bytes: Array(out.bytes[r.start..<r.end]), isKMS: r.isKMS, facts: r.facts, s3Read: r.s3Read)
        }
        out.bytes.removeSubrange(emitted[mark].start...)
        emitted.removeSubrange(mark...)
        totalRecords -= taken.count
        kmsRecords -= taken.filter(\.isKMS).count
        return taken
    }

    /// A copy of an emitted record's bytes.
    func bytes(of record: EmittedRecord) -> [UInt8] {
        Array(out.bytes[record.start..<record.end])
    }

    // MARK: Small helpers shared by the builders

    /// A public client IP address.
    func publicIP() -> String {
        let first = rng.pick([3, 18, 34, 52, 54, 81, 91, 198, 203])
        return "\(first).\(rng.int(in: 0...255)).\(rng.int(in: 0...255)).\(rng.int(in: 1...254))"
    }

    /// A user agent of an SDK, the CLI, the console or a tool.
    func userAgent() -> String {
        rng.pick(RecordFactory.userAgents)
    }

    static let userAgents = [
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/s3.cp",
        "aws-sdk-java/2.25.16 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
        "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
        "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/kms#1.30.0",
        "AWS Internal",
        "console.amazonaws.com",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
        "aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.12.0 api/s3#3.540.0",
        "Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0",
    ]

    /// User agents chosen by a hostile or careless caller: an ANSI escape, a newline, quotes.
    static let hostileUserAgents = [
        "curl/8.4.0 \u{1B}[2J\u{1B}[1;31mPWNED\u{1B}[0m",
        "python-requests/2.31.0\nX-Injected-Header: evil",
        "Mozilla/5.0 \"quoted\" agent\\with\\backslashes",
        "sqlmap/1.8 '; DROP TABLE events; --\t\u{7}",
    ]
}
