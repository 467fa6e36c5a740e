import Foundation
import GRDB

/// What `export` is asked to do.
package struct ExportOptions: Sendable {
    /// The export folder; the table goes to `kms_events/` under it.
    package var outputPath: String
    /// First day to export, as days since 1970-01-01 (UTC); nil for the first event's.
    package var firstDay: Int?
    /// Last day to export (inclusive); nil for the last event's.
    package var lastDay: Int?
    /// Most events in one file; a larger day is split into several.
    package var partEvents = 1_000_000

    /// An export of the days from `firstDay` to `lastDay` (all when nil) to `outputPath`.
    package init(outputPath: String, firstDay: Int? = nil, lastDay: Int? = nil) {
        self.outputPath = outputPath
        self.firstDay = firstDay
        self.lastDay = lastDay
    }
}

/// What an export did.
package struct ExportSummary: Sendable, Equatable {
    /// Days written anew (new, or changed since the last export).
    package var daysWritten = 0
    /// Days in the range whose files were kept as they were.
    package var daysUnchanged = 0
    /// Days removed: in the range, exported before, no longer in the index.
    package var daysRemoved = 0
    /// Events in the days written.
    package var eventsWritten = 0
    /// Events of every day in the range.
    package var events = 0
    /// Files written.
    package var filesWritten = 0
    /// Their compressed size, in bytes.
    package var bytesWritten: Int64 = 0

    /// A summary of nothing done yet.
    package init() {}
}

/// Writes the index's events as Hive-partitioned, gzip-compressed NDJSON:
/// `OUT/kms_events/event_date=YYYY-MM-DD/part-NNNNN.json.gz`, one object per event.
///
/// Incremental: the manifest records each day's event count, largest event id and the schema it
/// was written at; a day whose numbers still match the index (and written since the last
/// migration that changed exported values) is left alone, a changed or new day is written
/// again, and a day
/// the index no longer holds (after `prune`) is removed. Each day is written in a temporary
/// folder and then renamed into place (swapped with the old one, atomically where the kernel
/// can), so a reader sees the old day or the new one, never part of one; the manifest comes last.
/// All days are read from one snapshot of the index, so an ingest running meanwhile is not seen
/// half-way. One export writes to a folder at a time (`OUT/.kmsindex-export.lock`).
package struct Exporter {
    /// The index read.
    package let index: IndexDatabase
    /// What to export, and where.
    package let options: ExportOptions

    /// The folder of the table, under the output folder.
    package static let tableFolder = "kms_events"
    /// Temporary folders, beside the table folder (same file system, so renames work).
    package static let workFolder = ".kmsindex-export-tmp"
    /// The lock file, beside the table folder: one export writes to a folder at a time.
    package static let lockFile = ".kmsindex-export.lock"

    /// An export of `index` as `options` say.
    package init(index: IndexDatabase, options: ExportOptions) {
        self.index = index
        self.options = options
    }

    /// Runs the export; `progress` is told of each day written or removed.
    package func run(progress: (String) -> Void = { _ in }) throws -> ExportSummary {
        let out = options.outputPath
        let table = out + "/" + Self.tableFolder
        let work = out + "/" + Self.workFolder
        try ExportFiles.makeFolderAndParents(out)
        let lock = try ExportFiles.lock(out + "/" + Self.lockFile)
        defer { close(lock) }
        try ExportFiles.makeFolder(table)
        // What an interrupted export left there is nobody's now (we hold the lock).
        try? FileManager.default.removeItem(atPath: work)
        try ExportFiles.makeFolder(work)

        let manifestPath = table + "/" + ExportManifest.fileName
        var manifest = try ExportManifest.read(path: manifestPath)
        let from = options.firstDay.map { Int64($0) * DayExport.millisecondsPerDay } ?? Int64.min
        let to = options.lastDay.map { Int64($0 + 1) * DayExport.millisecondsPerDay } ?? Int64.max
        func inRange(_ name: String) -> Bool {
            guard let day = DeliveryDays.day(name, today: 0) else { return false }
            return (options.firstDay.map { day >= $0 } ?? true) && (options.lastDay.map { day <= $0 } ?? true)
        }

        var summary = ExportSummary()
        var changed = false
        try index.queue.read { db in
            let states = try DayExport.days(db, from: from, to: to)
            let present = Set(states.map { DayExport.dayName($0.day) })
            for state in states {
                let name = DayExport.dayName(state.day)
                let folder = table + "/event_date=" + name
                summary.events += state.events
                if let old = manifest.days[name], old.events == state.events, old.maxEventRow == state.maxEventRow,
                    old.currentSchema, Self.holdsExactly(old.files, folder)
                {
                    summary.daysUnchanged += 1
                    continue
                }
                let fresh = work + "/event_date=" + name
                try ExportFiles.makeFolder(fresh)
                let (files, maxRow) = try DayExport.write(db, day: state.day, into: fresh, partEvents: max(1, options.partEvents))
                let written = files.reduce(0) { $0 + $1.events }
                guard written == state.events, maxRow == state.maxEventRow else {
                    throw ExportError(
                        "\(name): wrote \(written) events up to row \(maxRow), the index counts \(state.events) up to \(state.maxEventRow)")
                }
                try ExportFiles.replace(folder, with: fresh, work: work)
                manifest.days[name] = ExportManifest.Day(
                    events: state.events, maxEventRow: state.maxEventRow, files: files, schema: IndexDatabase.schemaVersion)
                summary.daysWritten += 1
                summary.eventsWritten += state.events
                summary.filesWritten += files.count
                summary.bytesWritten += files.reduce(0) { $0 + $1.bytes }
                changed = true
                progress("\(name): \(state.events) events, \(files.count) file(s)")
            }
            // Days exported before (or left by an interrupted run) that the index no longer holds.
            let onDisk = (try? FileManager.default.contentsOfDirectory(atPath: table)) ?? []
            let stale = Set(manifest.days.keys.filter { inRange($0) && !present.contains($0) })
                .union(
                    onDisk.filter { $0.hasPrefix("event_date=") }.map { String($0.dropFirst("event_date=".count)) }
                        .filter { inRange($0) && !present.contains($0) })
            for name in stale.sorted() {
                try ExportFiles.remove(table + "/event_date=" + name, work: work)
                manifest.days.removeValue(forKey: name)
                summary.daysRemoved += 1
                changed = true
                progress("\(name): removed")
            }
        }
        if changed || !FileManager.default.fileExists(atPath: manifestPath) {
            manifest.format = ExportManifest.currentFormat
            manifest.events = manifest.days.values.reduce(0) { $0 + $1.events }
            manifest.exportedAt = Self.now()
            try ExportFiles.syncFolder(table)
            try ExportFiles.writeAtomically(
                try manifest.jsonData() + Data("\n".utf8), to: manifestPath, via: work + "/" + ExportManifest.fileName)
            try ExportFiles.syncFolder(table)
        }
        try? FileManager.default.removeItem(atPath: work)
        return summary
    }

    /// Whether `folder` holds the files `files` lists, at their sizes, and nothing else: a part
    /// deleted, cut short or left beside them (a copy DuckDB's glob would read twice) has the
    /// day written again.
    static func holdsExactly(_ files: [ExportedFile], _ folder: String) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder),
            Set(names) == Set(files.map(\.name)), names.count == files.count
        else { return false }
        return files.allSatisfy { file in
            var info = stat()
            return stat(folder + "/" + file.name, &info) == 0 && Int64(info.st_size) == file.bytes
        }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
