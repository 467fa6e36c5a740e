import Foundation
import GRDB

/// What `export` is asked to do.
package struct ExportOptions: Sendable {
    /// The export folder; the tables go to `kms_events/` and `s3_reads/` under it.
    package var outputPath: String
    /// First day to export, as days since 1970-01-01 (UTC); nil for the first event's.
    package var firstDay: Int?
    /// Last day to export (inclusive); nil for the last event's.
    package var lastDay: Int?
    /// Most rows in one file; a larger day is split into several.
    package var partEvents = 1_000_000

    /// An export of the days from `firstDay` to `lastDay` (all when nil) to `outputPath`.
    package init(outputPath: String, firstDay: Int? = nil, lastDay: Int? = nil) {
        self.outputPath = outputPath
        self.firstDay = firstDay
        self.lastDay = lastDay
    }
}

/// What an export did to one table.
package struct ExportTableSummary: Sendable, Equatable {
    /// Days written anew (new, or changed since the last export).
    package var daysWritten = 0
    /// Days in the range whose files were kept as they were.
    package var daysUnchanged = 0
    /// Days removed: in the range, exported before, no longer in the index.
    package var daysRemoved = 0
    /// Rows in the days written.
    package var rowsWritten = 0
    /// Rows of every day in the range.
    package var rows = 0
    /// Files written.
    package var filesWritten = 0
    /// Their compressed size, in bytes.
    package var bytesWritten: Int64 = 0

    /// A summary of nothing done yet.
    package init() {}
}

/// What an export did: to the KMS events, and to the S3 reads.
package struct ExportSummary: Sendable, Equatable {
    package var events = ExportTableSummary()
    package var s3Reads = ExportTableSummary()

    /// A summary of nothing done yet.
    package init() {}
}

/// Writes the index's KMS events and S3 reads as Hive-partitioned, gzip-compressed NDJSON:
/// `OUT/kms_events/event_date=YYYY-MM-DD/part-NNNNN.json.gz`, one object per event, and
/// `OUT/s3_reads/event_date=…` the same way, one object per read (`ExportTable`).
///
/// Incremental: each table's manifest records each day's row count, largest row id and the
/// schema it was written at; a day whose numbers still match the index (and written since the
/// last migration that changed exported values) is left alone, a changed or new day is written
/// again, and a day the index no longer holds (after `prune`) is removed. Each day is written in
/// a temporary folder and then renamed into place (swapped with the old one, atomically where
/// the kernel can), so a reader sees the old day or the new one, never part of one; the
/// manifest comes last. All days are read from one snapshot of the index, so an ingest running
/// meanwhile is not seen half-way. One export writes to a folder at a time
/// (`OUT/.kmsindex-export.lock`).
package struct Exporter {
    /// The index read.
    package let index: IndexDatabase
    /// What to export, and where.
    package let options: ExportOptions

    /// Temporary folders, beside the table folders (same file system, so renames work).
    package static let workFolder = ".kmsindex-export-tmp"
    /// The lock file, beside the table folders: one export writes to a folder at a time.
    package static let lockFile = ".kmsindex-export.lock"
    /// The day of the one empty file a table with no rows at all holds: DuckDB refuses a glob
    /// that matches no file, and every engine reads an empty file as no rows.
    package static let emptyTableDay = "1970-01-01"
    /// A gzip member of no bytes (RFC 1952: header, an empty final deflate block, CRC and size 0).
    static let emptyGzip: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    /// An export of `index` as `options` say.
    package init(index: IndexDatabase, options: ExportOptions) {
        self.index = index
        self.options = options
    }

    /// Runs the export; `progress` is told of each day written or removed.
    package func run(progress: (String) -> Void = { _ in }) throws -> ExportSummary {
        let out = options.outputPath
        let work = out + "/" + Self.workFolder
        try ExportFiles.makeFolderAndParents(out)
        let lock = try ExportFiles.lock(out + "/" + Self.lockFile)
        defer { close(lock) }
        // What an interrupted export left there is nobody's now (we hold the lock).
        try? FileManager.default.removeItem(atPath: work)
        try ExportFiles.makeFolder(work)

        var summary = ExportSummary()
        var written: [(ExportTable, ExportManifest, changed: Bool)] = []
        try index.queue.read { db in
            for table in ExportTable.all {
                let folder = out + "/" + table.name
                try ExportFiles.makeFolder(folder)
                var manifest = try ExportManifest.read(path: folder + "/" + ExportManifest.fileName)
                manifest.table = table.name
                var counts = ExportTableSummary()
                let changed = try exportDays(
                    of: table, db, into: folder, work: work, manifest: &manifest, summary: &counts, progress: progress)
                if table == .s3Reads { summary.s3Reads = counts } else { summary.events = counts }
                written.append((table, manifest, changed))
            }
        }
        for (table, var manifest, changed) in written {
            let folder = out + "/" + table.name
            let manifestPath = folder + "/" + ExportManifest.fileName
            guard changed || !FileManager.default.fileExists(atPath: manifestPath) else { continue }
            manifest.format = ExportManifest.currentFormat
            manifest.events = manifest.days.values.reduce(0) { $0 + $1.events }
            manifest.exportedAt = Self.now()
            try ExportFiles.syncFolder(folder)
            try ExportFiles.writeAtomically(
                try manifest.jsonData() + Data("\n".utf8), to: manifestPath, via: work + "/" + ExportManifest.fileName)
            try ExportFiles.syncFolder(folder)
        }
        try? FileManager.default.removeItem(atPath: work)
        return summary
    }

    /// Writes the days of `table` in the range that changed into `folder`, removes those the
    /// index no longer holds, and keeps one empty file in a table with no day; returns whether
    /// the folder changed.
    private func exportDays(
        of table: ExportTable, _ db: Database, into folder: String, work: String, manifest: inout ExportManifest,
        summary: inout ExportTableSummary, progress: (String) -> Void
    ) throws -> Bool {
        let from = options.firstDay.map { Int64($0) * DayExport.millisecondsPerDay } ?? Int64.min
        let to = options.lastDay.map { Int64($0 + 1) * DayExport.millisecondsPerDay } ?? Int64.max
        func inRange(_ name: String) -> Bool {
            guard let day = DeliveryDays.day(name, today: 0) else { return false }
            return (options.firstDay.map { day >= $0 } ?? true) && (options.lastDay.map { day <= $0 } ?? true)
        }
        let label = table == .kmsEvents ? "events" : "S3 reads"
        var changed = false
        let states = try DayExport.days(db, of: table, from: from, to: to)
        let present = Set(states.map { DayExport.dayName($0.day) })
        for state in states {
            let name = DayExport.dayName(state.day)
            let dayFolder = folder + "/event_date=" + name
            summary.rows += state.events
            if let old = manifest.days[name], old.events == state.events, old.maxEventRow == state.maxEventRow,
                old.digest == state.digestText, old.currentSchema, Self.holdsExactly(old.files, dayFolder)
            {
                summary.daysUnchanged += 1
                continue
            }
            let fresh = work + "/event_date=" + name
            try ExportFiles.makeFolder(fresh)
            let (files, maxRow) = try DayExport.write(db, table, day: state.day, into: fresh, partEvents: max(1, options.partEvents))
            let count = files.reduce(0) { $0 + $1.events }
            guard count == state.events, maxRow == state.maxEventRow else {
                throw ExportError(
                    "\(table.name) \(name): wrote \(count) rows up to row \(maxRow), the index counts \(state.events) up to \(state.maxEventRow)"
                )
            }
            try ExportFiles.replace(dayFolder, with: fresh, work: work)
            manifest.days[name] = ExportManifest.Day(
                events: state.events, maxEventRow: state.maxEventRow, files: files, schema: IndexDatabase.schemaVersion,
                digest: state.digestText)
            summary.daysWritten += 1
            summary.rowsWritten += state.events
            summary.filesWritten += files.count
            summary.bytesWritten += files.reduce(0) { $0 + $1.bytes }
            changed = true
            progress("\(table.name) \(name): \(state.events) \(label), \(files.count) file(s)")
        }
        // Days exported before (or left by an interrupted run) that the index no longer holds;
        // the empty table's file is not one of them unless the manifest lists its day.
        let emptyFolder = "event_date=" + Self.emptyTableDay
        let onDisk = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix("event_date=") && ($0 != emptyFolder || manifest.days[Self.emptyTableDay] != nil) }
        let stale = Set(manifest.days.keys.filter { inRange($0) && !present.contains($0) })
            .union(onDisk.map { String($0.dropFirst("event_date=".count)) }.filter { inRange($0) && !present.contains($0) })
        for name in stale.sorted() {
            try ExportFiles.remove(folder + "/event_date=" + name, work: work)
            manifest.days.removeValue(forKey: name)
            summary.daysRemoved += 1
            changed = true
            progress("\(table.name) \(name): removed")
        }
        if manifest.days.isEmpty {
            changed = try writeEmptyFile(folder, work: work) || changed
        } else if manifest.days[Self.emptyTableDay] == nil, access(folder + "/" + emptyFolder, F_OK) == 0 {
            try ExportFiles.remove(folder + "/" + emptyFolder, work: work)
            changed = true
        }
        return changed
    }

    /// Puts one empty file at `emptyTableDay` in a table with no day, unless it is there.
    private func writeEmptyFile(_ folder: String, work: String) throws -> Bool {
        let dayFolder = folder + "/event_date=" + Self.emptyTableDay
        let file = ExportedFile(name: "part-00000.json.gz", events: 0, bytes: Int64(Self.emptyGzip.count))
        if Self.holdsExactly([file], dayFolder) { return false }
        let fresh = work + "/event_date=" + Self.emptyTableDay
        try ExportFiles.makeFolder(fresh)
        try ExportFiles.writeAtomically(Data(Self.emptyGzip), to: fresh + "/" + file.name, via: work + "/empty.part")
        try ExportFiles.replace(dayFolder, with: fresh, work: work)
        return true
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
