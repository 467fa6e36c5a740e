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
    /// `userIdentity.onBehalfOf.userId`: who an Identity Center user is (such a caller has no
    /// ARN, and shares its account with the other users). Absent from the file when nil.
    public var onBehalfOfUserID: String?
    /// The record's `errorCode` when the call failed (for example "AccessDenied").
    public var errorCode: String?
    /// The record's `sharedEventID`: a call logged in two accounts has two records naming one
    /// object with the same one (who-read gives them one `read_id`). Absent from the file when nil.
    public var sharedEventID: String?

    /// A read with the given fields.
    public init(
        eventTime: String, eventID: String, principalArn: String?, onBehalfOfUserID: String? = nil, errorCode: String?,
        sharedEventID: String? = nil
    ) {
        self.eventTime = eventTime
        self.eventID = eventID
        self.principalArn = principalArn
        self.onBehalfOfUserID = onBehalfOfUserID
        self.errorCode = errorCode
        self.sharedEventID = sharedEventID
    }

    enum CodingKeys: String, CodingKey {
        case eventTime = "event_time"
        case eventID = "event_id"
        case principalArn = "principal_arn"
        case onBehalfOfUserID = "on_behalf_of_user_id"
        case errorCode = "error_code"
        case sharedEventID = "shared_event_id"
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
    /// The shape the tree was generated in (`SynthShape`); absent for `default`.
    public var shape: String?
    /// When set (the `year` shape), `objects` is empty and the reads are in this file next to
    /// `ground-truth.json`: one JSON object per line, `object` (the `aws:s3:arn`) and the keys
    /// of a `GroundTruthRead`, in the order the log files were written (not sorted), each
    /// distinct Decrypt once.
    public var readsFile: String?
    /// The number of lines of `readsFile`.
    public var objectReads: Int?
    /// Signed trees (`SynthOptions.signDigests`): each account and region's chain of digests.
    public var digestChains: [GroundTruthDigestChain]?
    /// Signed trees: the test key as `aws cloudtrail list-public-keys` prints it, next to
    /// `ground-truth.json`.
    public var publicKeysFile: String?
    /// Signed trees: every digest's own signature (`KEY SIGNATURE` lines, what S3 keeps as its
    /// `x-amz-meta-signature`), next to `ground-truth.json`.
    public var digestSignaturesFile: String?
    /// Trees with S3 data events (`SynthOptions.s3DataEvents`): the reads of objects that
    /// `ingest --s3-reads auto` keeps (the log bucket's, the Bucket Keys bucket's), by object
    /// ARN, oldest first; HeadObject calls and reads of unrelated buckets are not in it.
    public var s3Reads: [String: [GroundTruthS3Read]]?
    /// Trees with S3 data events: the roles that read every log file (the indexer's own sync).
    public var syncPrincipals: [String]?

    /// A ground truth with the given fields.
    public init(
        kmsEvents: Int, eventNames: [String: Int], objects: [String: [GroundTruthRead]],
        logFiles: Int, digestFiles: Int, insightFiles: Int, otherFiles: Int, uncompressedBytes: Int,
        shape: String? = nil, readsFile: String? = nil, objectReads: Int? = nil
    ) {
        self.kmsEvents = kmsEvents
        self.eventNames = eventNames
        self.objects = objects
        self.logFiles = logFiles
        self.digestFiles = digestFiles
        self.insightFiles = insightFiles
        self.otherFiles = otherFiles
        self.uncompressedBytes = uncompressedBytes
        self.shape = shape
        self.readsFile = readsFile
        self.objectReads = objectReads
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
        case shape
        case readsFile = "reads_file"
        case objectReads = "object_reads"
        case digestChains = "digest_chains"
        case publicKeysFile = "public_keys_file"
        case digestSignaturesFile = "digest_signatures_file"
        case s3Reads = "s3_reads"
        case syncPrincipals = "sync_principals"
    }

    /// The file name `generate` writes at the root of the tree.
    public static let fileName = "ground-truth.json"
    /// The file the `year` shape lists its reads in (`readsFile`).
    public static let readsFileName = "ground-truth-reads.ndjson"
    /// The files a signed tree writes next to `ground-truth.json`.
    public static let publicKeysFileName = "public-keys.json"
    public static let digestSignaturesFileName = "digest-signatures.txt"

    /// Every read, by object: `objects`, or `readsFile` read back and sorted as `objects` is.
    public func allReads(root: URL) throws -> [String: [GroundTruthRead]] {
        guard let readsFile else { return objects }
        var result: [String: [(Int64, GroundTruthRead)]] = [:]
        let text = try String(contentsOf: root.appendingPathComponent(readsFile), encoding: .utf8)
        for line in text.split(separator: "\n") where !line.isEmpty {
            let row = try JSONDecoder().decode(StreamedRead.self, from: Data(line.utf8))
            result[row.object, default: []].append((row.timeMs ?? 0, row.read))
        }
        return result.mapValues { list in
            list.sorted { a, b in a.0 != b.0 ? a.0 < b.0 : a.1.eventID < b.1.eventID }.map(\.1)
        }
    }

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

/// One read of an S3 object recorded by an S3 data event, as the ground truth lists it.
public struct GroundTruthS3Read: Codable, Equatable, Sendable {
    public var eventTime: String
    public var eventID: String
    public var eventName: String
    public var principalArn: String?
    /// As in `GroundTruthRead`.
    public var onBehalfOfUserID: String?
    public var errorCode: String?
    public var bytes: Int?
    /// The eventID of the Decrypt S3 made for this read (same caller, same moment), if any.
    public var pairedDecrypt: String?

    enum CodingKeys: String, CodingKey {
        case eventTime = "event_time"
        case eventID = "event_id"
        case eventName = "event_name"
        case principalArn = "principal_arn"
        case onBehalfOfUserID = "on_behalf_of_user_id"
        case errorCode = "error_code"
        case bytes
        case pairedDecrypt = "paired_decrypt"
    }
}

/// What the ground truth needs to know of one S3 read record.
struct S3ReadFacts: Sendable {
    var objectArn: String
    var timeMs: Int64
    var read: GroundTruthS3Read
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
    /// `userIdentity.onBehalfOf.userId`, if any.
    var onBehalfOfUserID: String?
    /// `sharedEventID`, if any.
    var sharedEventID: String?
}

/// One line of `ground-truth-reads.ndjson`.
struct StreamedRead: Decodable {
    var object: String
    var timeMs: Int64?
    var read: GroundTruthRead

    enum CodingKeys: String, CodingKey {
        case object
        case timeMs = "event_time_ms"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        object = try c.decode(String.self, forKey: .object)
        timeMs = try c.decodeIfPresent(Int64.self, forKey: .timeMs)
        read = try GroundTruthRead(from: decoder)
    }
}

/// Writes reads to `ground-truth-reads.ndjson` as they come, through a buffer.
final class ReadsFileWriter {
    private let handle: FileHandle
    private let path: String
    private var line = JSONWriter(capacity: 1024)
    private var buffer: [UInt8] = []
    private(set) var count = 0

    init(url: URL) throws {
        path = url.path
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw SynthError.io(path: url.path, reason: "cannot create")
        }
        do {
            handle = try FileHandle(forWritingTo: url)
        } catch {
            throw SynthError.io(path: url.path, reason: "cannot open: \(error.localizedDescription)")
        }
        buffer.reserveCapacity(1 << 20)
    }

    func add(object: String, timeMs: Int64, _ read: GroundTruthRead) throws {
        line.reset()
        line.beginObject()
        line.field("object", object)
        line.field("event_time", read.eventTime)
        line.field("event_time_ms", Int(timeMs))
        line.field("event_id", read.eventID)
        line.optionalField("principal_arn", read.principalArn)
        line.optionalField("on_behalf_of_user_id", read.onBehalfOfUserID)
        line.optionalField("error_code", read.errorCode)
        line.endObject()
        buffer.append(contentsOf: line.bytes)
        buffer.append(UInt8(ascii: "\n"))
        count += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw SynthError.io(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        try? handle.close()
    }
}

/// Accumulates the ground truth as log files are written.
struct GroundTruthCollector {
    /// When set, reads go to this file as they come and duplicates are known by construction
    /// (`isDuplicate`): nothing grows with the number of events.
    var readsWriter: ReadsFileWriter?
    var shape: String?
    private var streamedEvents = 0
    private var seen: Set<String> = []
    private var names: [String: Int] = [:]
    private var reads: [String: [(Int64, GroundTruthRead)]] = [:]
    /// Set for trees with S3 data events.
    var s3Reads: [String: [(Int64, GroundTruthS3Read)]]?
    var syncPrincipals: [String]?
    private var seenS3: Set<String> = []
    var logFiles = 0
    var digestFiles = 0
    var insightFiles = 0
    var otherFiles = 0
    var uncompressedBytes = 0

    /// Counts a KMS record found in a written log file (a repeated eventID is ignored; when
    /// streaming, a record the generator delivered a second time).
    mutating func add(_ facts: KMSRecordFacts, isDuplicate: Bool) throws {
        if let readsWriter {
            guard !isDuplicate else { return }
            streamedEvents += 1
            names[facts.eventName, default: 0] += 1
            if facts.eventName == "Decrypt", let arn = facts.decryptedS3Arn {
                try readsWriter.add(
                    object: arn, timeMs: facts.timeMs,
                    GroundTruthRead(
                        eventTime: facts.eventTime, eventID: facts.eventID, principalArn: facts.principalArn,
                        onBehalfOfUserID: facts.onBehalfOfUserID, errorCode: facts.errorCode,
                        sharedEventID: facts.sharedEventID))
            }
            return
        }
        guard seen.insert(facts.eventID).inserted else { return }
        names[facts.eventName, default: 0] += 1
        if facts.eventName == "Decrypt", let arn = facts.decryptedS3Arn {
            let read = GroundTruthRead(
                eventTime: facts.eventTime, eventID: facts.eventID,
                principalArn: facts.principalArn, onBehalfOfUserID: facts.onBehalfOfUserID, errorCode: facts.errorCode,
                sharedEventID: facts.sharedEventID)
            reads[arn, default: []].append((facts.timeMs, read))
        }
    }

    /// Counts an S3 read found in a written log file (a repeated eventID is ignored).
    mutating func add(_ facts: S3ReadFacts, isDuplicate: Bool) {
        guard s3Reads != nil, !isDuplicate, seenS3.insert(facts.read.eventID).inserted else { return }
        s3Reads![facts.objectArn, default: []].append((facts.timeMs, facts.read))
    }

    func finish() -> GroundTruth {
        var objects: [String: [GroundTruthRead]] = [:]
        for (arn, list) in reads {
            objects[arn] = list.sorted { a, b in
                a.0 != b.0 ? a.0 < b.0 : a.1.eventID < b.1.eventID
            }.map(\.1)
        }
        var truth = GroundTruth(
            kmsEvents: readsWriter == nil ? seen.count : streamedEvents, eventNames: names, objects: objects,
            logFiles: logFiles, digestFiles: digestFiles, insightFiles: insightFiles, otherFiles: otherFiles,
            uncompressedBytes: uncompressedBytes, shape: shape,
            readsFile: readsWriter == nil ? nil : GroundTruth.readsFileName, objectReads: readsWriter?.count)
        truth.s3Reads = s3Reads?.mapValues { list in
            list.sorted { a, b in a.0 != b.0 ? a.0 < b.0 : a.1.eventID < b.1.eventID }.map(\.1)
        }
        truth.syncPrincipals = syncPrincipals
        return truth
    }
}
