import Foundation

/// Deterministic generator of realistic CloudTrail S3 trees for testing and benchmarking
/// the indexer.
public enum Synth {
    /// Writes `root/AWSLogs/...` (log, digest and Insights files, and a few stray files) and
    /// `root/ground-truth.json`, and returns the ground truth.
    ///
    /// The same options (seed included) always produce byte-identical files. `root` may
    /// exist, but must not already hold an `AWSLogs` folder.
    public static func generate(_ options: SynthOptions, into root: URL) throws -> GroundTruth {
        try generateWithStatistics(options, into: root).groundTruth
    }

    /// What `generateWithStatistics` reports besides the ground truth.
    public struct Statistics: Sendable {
        /// The ground truth also written to `ground-truth.json`.
        public var groundTruth: GroundTruth
        /// Total bytes written under `AWSLogs/` (compressed files as stored).
        public var compressedBytes: Int
    }

    /// `generate`, also reporting the compressed size of what was written.
    public static func generateWithStatistics(_ options: SynthOptions, into root: URL) throws -> Statistics {
        let generator = try TreeGenerator(options: options, root: root)
        let truth = try generator.run()
        return Statistics(groundTruth: truth, compressedBytes: generator.compressedBytes)
    }
}
