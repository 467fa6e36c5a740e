import Foundation

/// `kms_events/_manifest.json` (and `s3_reads/_manifest.json`): which days the table's folder
/// holds, how many rows (events, or S3 reads) each, and its files. Written last, through a temporary file and a rename, after every day it lists is
/// in place; the next export compares it with the index to find the days that changed.
package struct ExportManifest: Codable, Equatable, Sendable {
    /// The layout of the files this manifest describes; a newer one is refused.
    package static let currentFormat = 1
    /// The manifest's name in the table folder (`_` hides it from Athena, Trino, Hive and Spark).
    package static let fileName = "_manifest.json"

    /// One exported day.
    package struct Day: Codable, Equatable, Sendable {
        /// Events of the day.
        package var events: Int
        /// The largest `events.id` of the day's events when it was written.
        package var maxEventRow: Int64
        /// The day's files, in order.
        package var files: [ExportedFile]
        /// The index's schema version when the day was written (absent before schema 33).
        package var schema: Int?
        /// The digest of the day's rows' ids and eventIDs (`DayState.digestText`; absent before
        /// schema 43, and such a day is written again).
        package var digest: String?

        enum CodingKeys: String, CodingKey {
            case events
            case maxEventRow = "max_event_row"
            case files
            case schema
            case digest
        }

        /// Whether the day, as written, shows what the index's schema shows: written at or
        /// after the last migration that changed exported values of events already held.
        package var currentSchema: Bool { (schema ?? 0) >= ExportManifest.lastExportedValuesChange }
    }

    /// The newest migration that changed what the export shows of events an index already held
    /// (031: events naming their key by a bare key id got their key; 033: two columns of
    /// principals; 038: calls filed under an alias's ARN moved to its key; 044: times before 1970
    /// with a fraction of a second). A day written before it is written again, though its events
    /// and largest row are the same.
    package static let lastExportedValuesChange = 44

    /// The layout version (`currentFormat` when written by this kmsindex).
    package var format: Int = currentFormat
    /// The table the days are partitions of.
    package var table: String = "kms_events"
    /// When the export last changed (UTC).
    package var exportedAt: String = ""
    /// Events of every day listed.
    package var events: Int = 0
    /// Days by `YYYY-MM-DD`.
    package var days: [String: Day] = [:]

    enum CodingKeys: String, CodingKey {
        case format, table
        case exportedAt = "exported_at"
        case events, days
    }

    /// An empty manifest: no day exported yet.
    package init() {}

    /// The manifest at `path`; an empty one when there is none (a first export).
    package static func read(path: String) throws -> ExportManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw ExportError("cannot read \(path)") }
            return ExportManifest()
        }
        let manifest: ExportManifest
        do {
            manifest = try JSONDecoder().decode(ExportManifest.self, from: data)
        } catch {
            throw ExportError("\(path) is not an export manifest (\(error)); remove it and its folder to export everything again")
        }
        guard manifest.format <= currentFormat else {
            throw ExportError("\(path) was written by a newer kmsindex (format \(manifest.format))")
        }
        return manifest
    }

    /// The manifest as JSON: days in date order, one key per line.
    package func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
