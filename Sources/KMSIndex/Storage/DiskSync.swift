#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flushes to disk what a path names: a file's content, or a folder's entries (the renames and
/// links into it), so that a file given its name survives a crash under that name.
package enum DiskSync {
    /// fsync(2) of the file or folder at `path`. False when it cannot be opened or flushed,
    /// with `errno` saying why.
    package static func flush(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        let flushed = fsync(fd) == 0
        let code = errno
        close(fd)
        errno = code
        return flushed
    }
}
