import Foundation

/// Why the index lock could not be taken.
package struct LockError: Error, CustomStringConvertible {
    package var description: String
}

/// One writer at a time per index: an advisory lock on `INDEX.lock`, holding the owner's pid.
///
/// SQLite would serialize two writers anyway, but two ingests interleaving batches would each
/// do the other's work again; the lock makes the second one wait for the first and then find
/// everything already indexed. The lock is released by the kernel when the process dies, so a
/// killed ingest never leaves a stale lock.
package final class IndexLock {
    package let path: String
    private let fd: Int32

    /// Takes the lock, waiting up to `timeout` seconds; `onWait` is called once if it must wait,
    /// with the holder's pid when known.
    /// `afterWaiting` ends the message of a lock not taken in time: what the user can do.
    package init(
        indexPath: String, timeout: Double, afterWaiting: String = "(see --wait)", onWait: (Int32?) -> Void = { _ in }
    ) throws {
        path = indexPath + ".lock"
        var status = stat()
        if stat(indexPath, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { throw DatabaseOpenError.isFolder(path: indexPath) }
        // A file that is no SQLite database (a log file given as --db by mistake) is refused
        // before its lock file is made beside it.
        _ = try IndexDatabase.checkFileHeader(path: indexPath)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            // Said as what the user gave: the index's folder, not the lock file beside it.
            if code == ENOENT { throw DatabaseOpenError.noFolder(path: indexPath) }
            throw LockError(description: "cannot open lock file \(path): \(String(cString: strerror(code)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw LockError(description: "cannot lock \(path): \(message)")
            }
            let holder = Self.holder(fd)
            if Date() >= deadline {
                close(fd)
                let who = holder.map { "another kmsindex (pid \($0))" } ?? "another kmsindex"
                throw LockError(
                    description:
                        "\(who) is writing to \(indexPath); gave up after waiting \(timeout == timeout.rounded() ? String(Int(timeout)) : String(timeout))s \(afterWaiting)"
                )
            }
            if !told {
                onWait(holder)
                told = true
            }
            usleep(100_000)
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }

    static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, 31, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
