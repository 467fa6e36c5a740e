import Foundation

/// Named shapes of a generated tree. A speed measured only on one shape of tree is not a speed:
/// each shape stresses the indexer differently.
///
/// - `default`: the original tree: 2 accounts, 2 regions, 24 files a day; `--size` makes the
///   files larger (the 1 GB tree is 192 files of about 5 MB) and its callers are few.
/// - `cadence`: CloudTrail's real cadence: 288 files a day for each account and region (one
///   every 5 minutes), 4 accounts x 4 regions, file sizes lognormal (median about 120 KB,
///   a tail of files of several MB), about 15% KMS records. `--size` chooses the number of days
///   (about 460 MB a day).
/// - `churn`: as `cadence`, with hundreds of roles whose sessions last about an hour, each with
///   its own temporary access key (`ASIA...`): about a fifth of KMS events come from a caller
///   not seen before, and about a quarter of Decrypts name an object not seen before (data-lake
///   part files read once).
/// - `year`: an organization's year: 4 accounts x 3 regions, 400 days of 288 files a day, small
///   files of about 90% KMS records: about 9 million KMS events and a million objects read,
///   about 14 GB. Written streaming (memory stays flat); its reads are listed in
///   `ground-truth-reads.ndjson` rather than in `ground-truth.json`.
/// - `organization`: as `cadence`, from one organization trail (`AWSLogs/o-…/ACCOUNT/…`) whose
///   log bucket and key are the first account's, as an organization's log archive account keeps
///   them, while the roles that read the log files live in another account (a security
///   account's log pipeline and auditors): each such read is a cross-account Decrypt, logged in
///   both accounts with one `sharedEventID`.
public enum SynthShape: String, CaseIterable, Sendable, Equatable {
    case `default`
    case cadence
    case churn
    case year
    case organization

    /// How the shape's files are sized and filled.
    var profile: ShapeProfile {
        switch self {
        case .default:
            return ShapeProfile()
        case .cadence:
            return ShapeProfile(
                sizing: .lognormal(median: 120_000, sigma: 1.1, cap: 48_000_000), kmsShare: 0.15,
                freshTailShare: 0.35, streaming: true)
        case .organization:
            return ShapeProfile(
                sizing: .lognormal(median: 120_000, sigma: 1.1, cap: 48_000_000), kmsShare: 0.15,
                freshTailShare: 0.35, streaming: true, logReadersElsewhere: true)
        case .churn:
            return ShapeProfile(
                sizing: .lognormal(median: 120_000, sigma: 1.1, cap: 48_000_000), kmsShare: 0.15,
                hotObjectShare: 0.15, freshTailShare: 0.66, churnRolesPerAccount: 120, newSessionShare: 0.05,
                streaming: true)
        case .year:
            return ShapeProfile(
                sizing: .lognormal(median: 11_400, sigma: 0.85, cap: 4_000_000), kmsShare: 0.9, maxKMSChance: 0.98,
                freshTailShare: 0.05, streaming: true, streamingTruth: true)
        }
    }

    /// The layout a shape starts from: accounts, regions, files a day, days.
    public var defaultLayout: (accounts: Int, regions: [String], filesPerDay: Int, days: Int) {
        switch self {
        case .default:
            return (2, ["us-east-1", "eu-west-1"], 24, 2)
        case .cadence, .churn, .organization:
            return (4, ["us-east-1", "eu-west-1", "us-west-2", "ap-northeast-1"], 288, 1)
        case .year:
            return (4, ["us-east-1", "eu-west-1", "ap-southeast-2"], 288, 400)
        }
    }

    /// The organization of the `organization` shape's trail.
    public static let organizationID = "o-a1b2c3d4e5"

    /// Options for this shape. With `targetUncompressedBytes` and no `days`, a shape other than
    /// `default` chooses the number of days that comes nearest the target at its own file sizes
    /// (at least one), then scales the files to meet it; `default` keeps its two days and makes
    /// its files larger, as it always has.
    public func options(
        seed: UInt64 = 1, targetUncompressedBytes: Int? = nil, days: Int? = nil, startDate: String = "2024-03-01"
    ) -> SynthOptions {
        let layout = defaultLayout
        var chosenDays = days ?? layout.days
        if self != .default, days == nil, let target = targetUncompressedBytes {
            let perDay = profile.expectedBytesPerDay(
                streams: layout.accounts * layout.regions.count, regionsPerAccount: layout.regions.count,
                filesPerDay: layout.filesPerDay)
            chosenDays = max(1, Int((Double(target) / perDay).rounded()))
        }
        return SynthOptions(
            seed: seed, accounts: layout.accounts, regions: layout.regions, days: chosenDays,
            filesPerDay: layout.filesPerDay, startDate: startDate, targetUncompressedBytes: targetUncompressedBytes,
            organizationID: self == .organization ? Self.organizationID : nil, shape: self)
    }
}

/// The knobs a shape turns. The default values are the original generator's, and with them it
/// draws exactly the random numbers it always drew.
struct ShapeProfile {
    enum Sizing {
        /// The original plan: small files, and heavy files of tens of MB to meet a target.
        case original
        /// Lognormal file sizes (before the region and account factors), capped.
        case lognormal(median: Double, sigma: Double, cap: Int)
    }

    var sizing: Sizing = .original
    /// The share of KMS records the background traffic steers toward.
    var kmsShare = 0.2
    /// The largest chance of a KMS record the steering may take.
    var maxKMSChance = 0.4
    /// The chance that a data-lake read names one of the few hot objects.
    var hotObjectShare = 0.45
    /// nil: every read of a long-tail data-lake object names a fresh object (the original).
    /// Otherwise the chance that it does; the others re-read an object written or read before.
    var freshTailShare: Double? = nil
    /// Roles per account whose short sessions make the application calls (0: none).
    var churnRolesPerAccount = 0
    /// The chance that a call of those roles starts a new session.
    var newSessionShare = 0.0
    /// Digests are written as the hours complete and finished files are forgotten.
    var streaming = false
    /// Reads go to `ground-truth-reads.ndjson` as they are written, and duplicates are known by
    /// construction instead of by remembering every eventID: memory stays flat.
    var streamingTruth = false
    /// The roles that read log files (the log pipeline, auditors) live in another account than
    /// the trail's key: each read is logged in both accounts (`RecordFactory.logFileRead`).
    var logReadersElsewhere = false

    /// The average uncompressed bytes of one day's log files, for choosing days from a size.
    func expectedBytesPerDay(streams: Int, regionsPerAccount: Int, filesPerDay: Int) -> Double {
        guard case let .lognormal(median, sigma, _) = sizing else { return 1 }
        var factors = 0.0
        for stream in 0..<streams {
            factors += SizePlan.regionFactor(stream, regionsPerAccount) * SizePlan.accountFactor(stream, regionsPerAccount)
        }
        return median * exp(sigma * sigma / 2) * factors * Double(filesPerDay)
    }
}
