import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The file-system steps of an export: private folders, the lock, swapping a day folder into
/// place, writing a file through a temporary name.
enum ExportFiles {
    /// Creates `path` (mode 0700: the export says who read what, as the index does) unless it
    /// is a folder already.
    /// Creates `path` and the folders above it that are missing, as `mkdir -p`.
    static func makeFolderAndParents(_ path: String) throws {
        // Split by hand: Foundation's deletingLastPathComponent traps on a one-character path.
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if let slash = trimmed.lastIndex(of: "/"), slash > trimmed.startIndex {
            let parent = String(trimmed[..<slash])
            if access(parent, F_OK) != 0 { try makeFolderAndParents(parent) }
        }
        try makeFolder(path)
    }

    static func makeFolder(_ path: String) throws {
        if mkdir(path, 0o700) == 0 { return }
        let error = errno
        var status = stat()
        if error == EEXIST, stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { return }
        errno = error
        throw ExportError.system("create the folder", path)
    }

    /// Takes the export lock of a folder, or says that another export holds it. The kernel
    /// drops the lock when the process ends, however it ends.
    static func lock(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ExportError.system("open", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw ExportError("another kmsindex export is writing to \((path as NSString).deletingLastPathComponent)")
        }
        return fd
    }

    /// Puts the folder `fresh` at `path`. When `path` exists, the two are exchanged in one step
    /// (`renameat2` with `RENAME_EXCHANGE`) where the kernel and file system allow it, else the
    /// old one is moved aside first; the old one is then deleted.
    static func replace(_ path: String, with fresh: String, work: String) throws {
        if rename(fresh, path) == 0 { return }
        guard errno == EEXIST || errno == ENOTEMPTY else { throw ExportError.system("rename \(fresh) to", path) }
        if let exchange = renameat2, exchange(AT_FDCWD, fresh, AT_FDCWD, path, renameExchange) == 0 {
            try FileManager.default.removeItem(atPath: fresh)  // the old day, now at the fresh name
            return
        }
        let aside = work + "/old-" + (path as NSString).lastPathComponent
        guard rename(path, aside) == 0 else { throw ExportError.system("move aside", path) }
        guard rename(fresh, path) == 0 else { throw ExportError.system("rename \(fresh) to", path) }
        try FileManager.default.removeItem(atPath: aside)
    }

    /// Removes the folder at `path`: renamed out of the table first, so that no reader lists a
    /// day whose files are being deleted.
    static func remove(_ path: String, work: String) throws {
        let aside = work + "/gone-" + (path as NSString).lastPathComponent
        if rename(path, aside) != 0 {
            if errno == ENOENT { return }
            throw ExportError.system("move aside", path)
        }
        try FileManager.default.removeItem(atPath: aside)
    }

    /// Flushes a folder's entries (the renames into it) to disk.
    static func syncFolder(_ path: String) throws {
        guard DiskSync.flush(path) else { throw ExportError.system("sync", path) }
    }

    /// Writes `data` to `temporary`, flushes it to disk, and renames it to `path`.
    static func writeAtomically(_ data: Data, to path: String, via temporary: String) throws {
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ExportError.system("create", temporary) }
        defer { close(fd) }
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ExportError.system("write", temporary)
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw ExportError.system("sync", temporary) }
        guard rename(temporary, path) == 0 else { throw ExportError.system("rename \(temporary) to", path) }
    }

    /// glibc's `renameat2` (2.28 and later), looked up at run time: Swift does not see its
    /// declaration, which glibc makes only under `_GNU_SOURCE`.
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// `RENAME_EXCHANGE` of `<linux/fs.h>`: swap the two paths.
    private static let renameExchange: UInt32 = 2
    private static let renameat2: RenameAt2? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()
}
