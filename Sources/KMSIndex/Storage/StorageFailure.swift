import Foundation
import GRDB

/// Database errors that come from where the index lives (a full disk, a failing disk, a file
/// that cannot be written, a damaged file) rather than from what was read, told in words that
/// name the file and what to do: a nightly run that stops on one at 3 a.m. must say so plainly.
package enum StorageFailure {
    /// A sentence for such an error of the index at `path`; nil for any other error. With
    /// `onlyWrites`, where other files are read too (merge's shards), only errors that writing
    /// alone causes (a full disk, a read-only file) are told as the index's.
    package static func explain(_ error: any Error, index path: String, onlyWrites: Bool = false) -> String? {
        guard let error = error as? DatabaseError else { return nil }
        if onlyWrites && error.resultCode != .SQLITE_FULL && error.resultCode != .SQLITE_READONLY { return nil }
        let code = "SQLite error \(error.extendedResultCode.rawValue)\(error.sql.map { " while executing `\(Self.short($0))`" } ?? "")"
        switch error.resultCode {
        case .SQLITE_FULL:
            return "the disk is full: no room to write \(path) (or SQLite's temporary files) [\(code)]"
        case .SQLITE_IOERR:
            return "the disk failed to read or write \(path): \(error.message ?? "I/O error") [\(code)]"
        case .SQLITE_READONLY:
            return "\(path) cannot be written: its file, folder or file system is read-only [\(code)]"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return "\(path) is damaged (\(error.message ?? "malformed")): restore a copy (`kmsindex backup` makes one) "
                + "or ingest the logs again into a new index [\(code)]"
        case .SQLITE_CANTOPEN:
            return "cannot open \(path) or its journal: \(error.message ?? "unable to open") [\(code)]"
        default:
            return nil
        }
    }

    /// The start of a statement, on one line: enough to tell which one failed.
    private static func short(_ sql: String) -> String {
        let line = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return line.count > 60 ? String(line.prefix(60)) + "…" : line
    }
}
