import ArgumentParser
import Foundation
import KMSIndexSynth

/// Writes a deterministic, realistic CloudTrail tree and its ground truth.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmsindex-synth",
        abstract: "Generate a realistic CloudTrail S3 tree (AWSLogs/...) with a ground-truth.json.",
        discussion: """
            The same options and seed always give byte-identical files. The tree holds log files, \
            hourly digest files, two Insights files and a few stray files.

            Shapes (--shape): default (2 accounts x 2 regions, 24 files a day, about 20% KMS \
            records; --size makes the files larger), cadence (4 accounts x 4 regions, 288 files a \
            day of lognormal sizes, median about 120 KB, about 15% KMS; --size chooses the days, about 460 MB a day), \
            churn (as cadence, with hundreds of roles whose sessions last about an hour, and \
            objects read once), year (4 accounts x 3 regions, 400 days of 288 small files a day, \
            about 90% KMS records, about 14 GB; its reads go to ground-truth-reads.ndjson). \
            --accounts, --regions, --days and --files-per-day override a shape's layout.
            """)

    @Option(name: .long, help: "Folder to write into (must not already hold AWSLogs/).")
    var out: String

    @Option(name: .long, help: "Seed of the generator.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Shape of the tree: default, cadence, churn or year.")
    var shape: String = "default"

    @Option(name: .long, help: "Number of AWS accounts (default: the shape's; 2 for default).")
    var accounts: Int?

    @Option(name: .long, help: "Comma-separated regions; the first is the trails' home region (default: the shape's).")
    var regions: String?

    @Option(name: .long, help: "Number of UTC days (default: the shape's, or chosen by --size).")
    var days: Int?

    @Option(name: .customLong("files-per-day"), help: "Log files per day per account and region (CloudTrail: 288; default: the shape's).")
    var filesPerDay: Int?

    @Option(name: .long, help: "First UTC day, YYYY-MM-DD.")
    var start: String = "2024-03-01"

    @Option(name: .long, help: "Total uncompressed size of the log files, e.g. 200MB, 1GB, 512MiB.")
    var size: String?

    @Option(name: .long, help: "Organization id (o-...): write an organization trail's paths.")
    var org: String?

    @Option(
        name: .customLong("estate-seed"),
        help:
            "Take the accounts, keys and principals of this seed's tree (with another --seed and a later --start: more days of the same organization)."
    )
    var estateSeed: UInt64?

    @Flag(
        name: .customLong("sign-digests"),
        help:
            "Sign the digest files with a test key, and write public-keys.json (for kmsindex audit --public-keys) and digest-signatures.txt next to the ground truth."
    )
    var signDigests = false

    @Flag(
        name: .customLong("s3-data-events"),
        help:
            "Add S3 data events that matter to who-read: the sync role reads every log file (GetObject beside each Decrypt), and the Bucket Keys bucket is read; the ground truth lists them."
    )
    var s3DataEvents = false

    func validate() throws {
        if SynthShape(rawValue: shape) == nil {
            throw ValidationError("--shape must be one of \(SynthShape.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(shape)\"")
        }
        if let size, SynthOptions.parseByteSize(size) == nil {
            throw ValidationError("--size must look like 200MB, 1GB or 512MiB, got \"\(size)\"")
        }
    }

    func run() throws {
        let shape = SynthShape(rawValue: shape) ?? .default
        var options = shape.options(
            seed: seed, targetUncompressedBytes: size.flatMap(SynthOptions.parseByteSize), days: days, startDate: start)
        if let accounts { options.accounts = accounts }
        if let regions {
            options.regions = regions.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        if let filesPerDay { options.filesPerDay = filesPerDay }
        if let org { options.organizationID = org }
        options.estateSeed = estateSeed
        options.signDigests = signDigests
        options.s3DataEvents = s3DataEvents
        let began = Date()
        let stats: Synth.Statistics
        do {
            stats = try Synth.generateWithStatistics(options, into: URL(fileURLWithPath: out))
        } catch let error as SynthError {
            FileHandle.standardError.write(Data("kmsindex-synth: \(error.description)\n".utf8))
            throw ExitCode.failure
        }
        let truth = stats.groundTruth
        let seconds = Date().timeIntervalSince(began)
        let reads = truth.readsFile.map { "\(truth.objectReads ?? 0) reads in \($0)" } ?? "\(truth.objects.count) objects read"
        let summary =
            String(
                format:
                    "kmsindex-synth: %d log files (%.1f MB uncompressed, %.1f MB on disk), %d digest, %d insight, %d other files; %d KMS events, ",
                truth.logFiles, Double(truth.uncompressedBytes) / 1e6, Double(stats.compressedBytes) / 1e6,
                truth.digestFiles, truth.insightFiles, truth.otherFiles, truth.kmsEvents)
            + reads + String(format: "; %.1f s\n", seconds)
        FileHandle.standardError.write(Data(summary.utf8))
    }
}
