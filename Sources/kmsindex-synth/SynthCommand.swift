import ArgumentParser
import Foundation
import KMSIndexSynth

/// Writes a deterministic, realistic CloudTrail tree and its ground truth.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmsindex-synth",
        abstract: "Generate a realistic CloudTrail S3 tree (AWSLogs/...) with a ground-truth.json.",
        discussion: """
            The same options and seed always give byte-identical files. The tree holds log files \
            (about 20% KMS records), hourly digest files, two Insights files and a few stray files.
            """)

    @Option(name: .long, help: "Folder to write into (must not already hold AWSLogs/).")
    var out: String

    @Option(name: .long, help: "Seed of the generator.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Number of AWS accounts.")
    var accounts: Int = 2

    @Option(name: .long, help: "Comma-separated regions; the first is the trails' home region.")
    var regions: String = "us-east-1,eu-west-1"

    @Option(name: .long, help: "Number of UTC days.")
    var days: Int = 2

    @Option(name: .customLong("files-per-day"), help: "Log files per day per account and region (CloudTrail: 288).")
    var filesPerDay: Int = 24

    @Option(name: .long, help: "First UTC day, YYYY-MM-DD.")
    var start: String = "2024-03-01"

    @Option(name: .long, help: "Total uncompressed size of the log files, e.g. 200MB, 1GB, 512MiB.")
    var size: String?

    @Option(name: .long, help: "Organization id (o-...): write an organization trail's paths.")
    var org: String?

    func validate() throws {
        if let size, SynthOptions.parseByteSize(size) == nil {
            throw ValidationError("--size must look like 200MB, 1GB or 512MiB, got \"\(size)\"")
        }
    }

    func run() throws {
        var options = SynthOptions(
            seed: seed, accounts: accounts,
            regions: regions.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) },
            days: days, filesPerDay: filesPerDay, startDate: start, organizationID: org)
        options.targetUncompressedBytes = size.flatMap(SynthOptions.parseByteSize)
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
        let summary = String(
            format: "kmsindex-synth: %d log files (%.1f MB uncompressed, %.1f MB on disk), %d digest, %d insight, %d other files; %d KMS events, %d objects read; %.1f s\n",
            truth.logFiles, Double(truth.uncompressedBytes) / 1e6, Double(stats.compressedBytes) / 1e6,
            truth.digestFiles, truth.insightFiles, truth.otherFiles, truth.kmsEvents, truth.objects.count, seconds)
        FileHandle.standardError.write(Data(summary.utf8))
    }
}
