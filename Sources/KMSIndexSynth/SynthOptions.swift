/// What tree `Synth.generate` writes. The same options (seed included) always give the same
/// bytes.
public struct SynthOptions: Sendable, Equatable {
    /// Seed of the generator's own pseudo-random sequence.
    public var seed: UInt64
    /// Number of AWS accounts whose logs land in the tree (at least 1).
    public var accounts: Int
    /// Regions of every trail; the first is the trails' home region (where the log bucket,
    /// the trail's KMS key and its delivery events live).
    public var regions: [String]
    /// Number of UTC days covered, starting at `startDate`.
    public var days: Int
    /// Log files per day for each account and region (real CloudTrail: 288, one per 5 minutes).
    public var filesPerDay: Int
    /// First UTC day, `YYYY-MM-DD`.
    public var startDate: String
    /// When set, record counts are scaled so the log files total about this many uncompressed
    /// bytes: most files stay small and a few heavy files (tens of MB) take the rest.
    public var targetUncompressedBytes: Int?
    /// When set (`o-xxxxxxxxxx`), logs come from one organization trail and paths are
    /// `AWSLogs/o-xxxx/ACCOUNT/...`.
    public var organizationID: String?
    /// The shape of the tree (`SynthShape`): file sizes, KMS share, callers, objects. `default`
    /// is the original tree. `SynthShape.options` also sets the shape's layout.
    public var shape: SynthShape
    /// When set, the estate (accounts, keys, principals, buckets, trails) is the one this seed
    /// makes, and everything else comes from `seed`: a later day of the same organization
    /// (`--estate-seed 1 --seed 2 --start` the day after a tree of seed 1) with new events.
    public var estateSeed: UInt64? = nil
    /// When set, digests are signed with a test key (`public-keys.json` and
    /// `digest-signatures.txt` are written next to the ground truth); otherwise their
    /// signatures and fingerprints are random hex, and nothing else differs.
    public var signDigests = false
    /// When set, the tree holds S3 data events that matter to who-read: every log file is read
    /// by the sync role (`logIngest`) with a GetObject beside its Decrypt, and the Bucket Keys
    /// bucket of the trail's home region is read (GetObject, some refused, HeadObject calls)
    /// where KMS sees only bucket-level Decrypts. The ground truth lists those reads
    /// (`s3_reads`) and the sync roles. Without it, trees are unchanged.
    public var s3DataEvents = false

    /// Options with the given values; every parameter has a small default.
    public init(
        seed: UInt64 = 1,
        accounts: Int = 2,
        regions: [String] = ["us-east-1", "eu-west-1"],
        days: Int = 2,
        filesPerDay: Int = 24,
        startDate: String = "2024-03-01",
        targetUncompressedBytes: Int? = nil,
        organizationID: String? = nil,
        shape: SynthShape = .default
    ) {
        self.seed = seed
        self.accounts = accounts
        self.regions = regions
        self.days = days
        self.filesPerDay = filesPerDay
        self.startDate = startDate
        self.targetUncompressedBytes = targetUncompressedBytes
        self.organizationID = organizationID
        self.shape = shape
    }

    /// Checks the options and returns the start of the first day in milliseconds since 1970.
    func validatedStart() throws -> Int64 {
        guard accounts >= 1 else { throw SynthError.invalidOptions("accounts must be at least 1") }
        guard accounts <= 1000 else { throw SynthError.invalidOptions("accounts must be at most 1000") }
        guard !regions.isEmpty else { throw SynthError.invalidOptions("at least one region is needed") }
        guard Set(regions).count == regions.count else {
            throw SynthError.invalidOptions("regions must be distinct")
        }
        for region in regions where region.isEmpty || region.contains("/") {
            throw SynthError.invalidOptions("bad region name \"\(region)\"")
        }
        guard days >= 1 else { throw SynthError.invalidOptions("days must be at least 1") }
        guard (1...1440).contains(filesPerDay) else {
            throw SynthError.invalidOptions("files per day must be between 1 and 1440")
        }
        if let target = targetUncompressedBytes, target < 1 {
            throw SynthError.invalidOptions("target size must be positive")
        }
        if let org = organizationID {
            guard org.hasPrefix("o-"), org.count >= 4, !org.contains("/") else {
                throw SynthError.invalidOptions("organization id must look like o-abc123")
            }
        }
        guard let start = UTCTime.parseDay(startDate) else {
            throw SynthError.invalidOptions("start date must be YYYY-MM-DD, got \"\(startDate)\"")
        }
        return start
    }

    /// Parses a size such as `1GB`, `200MB`, `512KiB`, `1.5G` or `1000000` into bytes.
    /// `K`/`KB`/`M`/`MB`/`G`/`GB` are powers of 1000; `KiB`/`MiB`/`GiB` powers of 1024.
    public static func parseByteSize(_ text: String) -> Int? {
        let trimmed = text.trimmingSpaces().uppercased()
        let units: [(String, Double)] = [
            ("KIB", 1024), ("MIB", 1_048_576), ("GIB", 1_073_741_824),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("B", 1),
        ]
        var number = Substring(trimmed)
        var multiplier = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            multiplier = factor
            break
        }
        guard let value = Double(String(number).trimmingSpaces()), value > 0, value.isFinite else {
            return nil
        }
        let bytes = value * multiplier
        guard bytes >= 1, bytes < 1e15 else { return nil }
        return Int(bytes.rounded())
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
