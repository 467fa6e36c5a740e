import Foundation

/// One Decrypt event naming an object, as the ground truth lists it.
public struct GroundTruthRead: Codable, Equatable, Sendable {
    /// The record's `eventTime`, verbatim (whole seconds, or with milliseconds for a few).
    public var eventTime: String
    /// The record's `eventID`.
    public var eventID: String
    /// `userIdentity.arn` when present and non-empty; nil otherwise (AWSService, AWSAccount,
    /// and records without a userIdentity have none).
    public var principalArn: String?
    /// The record's `errorCode` when the call failed (for example "AccessDenied").
    public var errorCode: String?

    /// A read with the given fields.
    public init(eventTime: String, eventID: String, principalArn: String?, errorCode: String?) {
        self.eventTime = eventTime
        self.eventID = eventID
        self.principalArn = principalArn
        self.errorCode = errorCode
    }

    enum CodingKeys: String, CodingKey {
        case eventTime = "event_time"
        case eventID = "event_id"
        case principalArn = "principal_arn"
        case errorCode = "error_code"
    }
}

/// What a generated tree contains, computed while writing it: what an indexer should find.
///
/// Only real log files count (`CloudTrail/` folders, `Records` arrays): digest, Insights and
/// other files never add KMS events. A record delivered twice (same eventID) counts once.
public struct GroundTruth: Codable, Equatable, Sendable {
    /// Distinct eventIDs among KMS records (eventSource `kms.amazonaws.com`) in all log files.
    public var kmsEvents: Int
    /// Distinct KMS events per eventName.
    public var eventNames: [String: Int]
    /// Key: the exact `aws:s3:arn` value of a Decrypt's encryptionContext (an object ARN, a
    /// bucket ARN for S3 Bucket Key contexts, or a prefix ARN). Value: every distinct Decrypt
    /// event naming it, failed ones included, in time order (milliseconds taken into account),
    /// then by eventID.
    public var objects: [String: [GroundTruthRead]]
    /// Number of log files (`CloudTrail/.../*_CloudTrail_*.json.gz`).
    public var logFiles: Int
    /// Number of digest files (`CloudTrail-Digest/`).
    public var digestFiles: Int
    /// Number of Insights files (`CloudTrail-Insight/`).
    public var insightFiles: Int
    /// Number of other files under `AWSLogs/` (ConfigWritabilityCheckFile, a user's note).
    public var otherFiles: Int
    /// Total uncompressed bytes of the log files.
    public var uncompressedBytes: Int

    /// A ground truth with the given fields.
    public init(
        kmsEvents: Int, eventNames: [String: Int], objects: [String: [GroundTruthRead]],
        logFiles: Int, digestFiles: Int, insightFiles: Int, otherFiles: Int, uncompressedBytes: Int
    ) {
        self.kmsEvents = kmsEvents
        self.eventNames = eventNames
        self.objects = objects
        self.logFiles = logFiles
        self.digestFiles = digestFiles
        self.insightFiles = insightFiles
        self.otherFiles = otherFiles
        self.uncompressedBytes = uncompressedBytes
    }

    enum CodingKeys: String, CodingKey {
        case kmsEvents = "kms_events"
        case eventNames = "event_names"
        case objects
        case logFiles = "log_files"
        case digestFiles = "digest_files"
        case insightFiles = "insight_files"
        case otherFiles = "other_files"
        case uncompressedBytes = "uncompressed_bytes"
    }

    /// The file name `generate` writes at the root of the tree.
    public static let fileName = "ground-truth.json"

    /// Encodes as `ground-truth.json` is written: snake_case field names, sorted keys.
    /// (Field names are spelled out in CodingKeys rather than converted by the encoder, which
    /// would also rewrite the eventName and ARN keys of the dictionaries.)
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a `ground-truth.json` written by `generate`.
    public static func read(from url: URL) throws -> GroundTruth {
        try JSONDecoder().decode(GroundTruth.self, from: Data(contentsOf: url))
    }
}

/// What the ground truth needs to know of one KMS record.
struct KMSRecordFacts: Sendable {
    var eventID: String
    var eventName: String
    var timeMs: Int64
    var eventTime: String
    var principalArn: String?
    var errorCode: String?
    /// The `aws:s3:arn` of a Decrypt's encryption context, if any.
    var decryptedS3Arn: String?
}

/// Accumulates the ground truth as log files are written.
struct GroundTruthCollector {
    private var seen: Set<String> = []
    private var names: [String: Int] = [:]
    private var reads: [String: [(Int64, GroundTruthRead)]] = [:]
    var logFiles = 0
    var digestFiles = 0
    var insightFiles = 0
    var otherFiles = 0
    var uncompressedBytes = 0

    /// Counts a KMS record found in a written log file (a repeated eventID is ignored).
    mutating func add(_ facts: KMSRecordFacts) {
        guard seen.insert(facts.eventID).inserted else { return }
        names[facts.eventName, default: 0] += 1
        if facts.eventName == "Decrypt", let arn = facts.decryptedS3Arn {
            let read = GroundTruthRead(
                eventTime: facts.eventTime, eventID: facts.eventID,
                principalArn: facts.principalArn, errorCode: facts.errorCode)
            reads[arn, default: []].append((facts.timeMs, read))
        }
    }

    func finish() -> GroundTruth {
        var objects: [String: [GroundTruthRead]] = [:]
        for (arn, list) in reads {
            objects[arn] = list.sorted { a, b in
                a.0 != b.0 ? a.0 < b.0 : a.1.eventID < b.1.eventID
            }.map(\.1)
        }
        return GroundTruth(
            kmsEvents: seen.count, eventNames: names, objects: objects, logFiles: logFiles,
            digestFiles: digestFiles, insightFiles: insightFiles, otherFiles: otherFiles,
            uncompressedBytes: uncompressedBytes)
    }
}
