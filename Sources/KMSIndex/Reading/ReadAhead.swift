import CPageCache
import Foundation
import Glibc

/// Has the kernel read files into the page cache before the parsers open them, when they are
/// not there yet.
///
/// A tree synced from S3 and not read since is on disk, and CloudTrail's files are small: a
/// parser that opens and reads them one after the other waits for the disk at each file, one
/// request at a time (a cold month of a log folder: 8,928 files read by one `cat` in 1.5 s, by
/// 32 in 0.6 s). A few threads here open the files queued for parsing and advise the kernel
/// that they will be needed, so that their reads are under way, several at a time, when a
/// parser gets to them.
///
/// A tree already in the page cache (a nightly run reads what the sync just wrote) gains
/// nothing, and each file advised costs system calls and wake-ups: so only one group of files
/// in `probeEvery` is advised until one of them is found not cached; then every group is, for
/// the next `activeGroups`.
///
/// Bounded by bytes: a file is advised only once the parsers have taken the files queued more
/// than `leadBytes` before it, so that a tree of large files is not read far ahead of its use.
final class ReadAhead: @unchecked Sendable {
    private struct Group {
        var files: [InputFile]
        /// Bytes of the files offered before this group's first.
        var start: Int64
    }

    private let queue: BoundedQueue<Group>
    private let condition = NSCondition()
    private let leadBytes: Int64
    /// Guarded by `condition`.
    private var offeredBytes: Int64 = 0
    private var takenBytes: Int64 = 0
    private var groupsOffered = 0
    private var activeGroupsLeft = 0
    private var cancelled = false
    private var threadsRunning: Int

    /// Threads not ended yet.
    var running: Int { condition.withLock { threadsRunning } }

    /// Groups advised after a file found not cached.
    static let activeGroups = 256
    /// While files are found cached, one group in this many is advised, to notice a change.
    static let probeEvery = 16
    /// Files per group `add` is best given: enough that a thread wakes for several, few
    /// enough that the threads share the next files to be parsed.
    static let groupSize = 8

    /// Starts `threads` threads; `finish()` or `cancel()` ends them. `advise` is `ReadAhead.advise`
    /// but in tests.
    init(
        threads: Int, leadBytes: Int64 = 64 << 20, queuedGroups: Int = 128,
        advise: @escaping @Sendable (String) -> Advice = ReadAhead.advise
    ) {
        queue = BoundedQueue(capacity: queuedGroups)
        self.leadBytes = leadBytes
        threadsRunning = max(1, threads)
        for _ in 0..<max(1, threads) {
            Thread { [self] in
                advising: while let group = queue.pop() {
                    var position = group.start
                    for file in group.files {
                        guard waitUntilNear(position) else { break advising }
                        if advise(file.path) == .notCached { becomeActive() }
                        position += file.size
                    }
                }
                condition.withLock { threadsRunning -= 1 }
            }.start()
        }
    }

    /// Offers the next files queued for parsing, in the order the parsers are given them.
    func add(_ files: [InputFile]) {
        guard !files.isEmpty else { return }
        condition.lock()
        let start = offeredBytes
        offeredBytes += files.reduce(0) { $0 + $1.size }
        let wanted = activeGroupsLeft > 0 || groupsOffered % Self.probeEvery == 0
        groupsOffered += 1
        activeGroupsLeft = max(0, activeGroupsLeft - 1)
        condition.unlock()
        if wanted { queue.push(Group(files: files, start: start)) }
    }

    /// A parser took the file.
    func taken(_ file: InputFile) {
        condition.lock()
        takenBytes += file.size
        condition.broadcast()
        condition.unlock()
    }

    /// No more files: the threads end once those queued are advised.
    func finish() { queue.close() }

    /// The parsers stopped early: the threads end without advising the rest.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
        queue.close()
        while queue.pop() != nil {}
    }

    private func becomeActive() {
        condition.lock()
        activeGroupsLeft = Self.activeGroups
        condition.unlock()
    }

    /// Waits until the parsers are within `leadBytes` of `position`; false once cancelled.
    private func waitUntilNear(_ position: Int64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && position - takenBytes > leadBytes { condition.wait() }
        return !cancelled
    }

    enum Advice: Equatable { case cached, notCached, notRead }

    /// Advises the kernel to read the file unless its first page is cached already; only a
    /// regular file, opened as the parser opens it.
    @discardableResult
    static func advise(_ path: String) -> Advice {
        guard let (fd, size) = try? DecompressedStream.openRegularFile(path) else { return .notRead }
        defer { close(fd) }
        guard size > 0 else { return .notRead }
        if kms_first_byte_cached(fd) == 1 { return .cached }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED)
        return .notCached
    }
}
