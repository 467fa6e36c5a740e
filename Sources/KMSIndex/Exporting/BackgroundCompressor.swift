import Foundation

/// Compresses and writes export files on a thread of its own, while the caller reads the next
/// events: deflate is about half of an export's time, SQLite and the JSON the other half, and
/// they run on two cores instead of one.
///
/// The caller opens files, hands over their bytes and closes them, in order; the thread does
/// the same to `GzipFileWriter`s. What waits between them is bounded (`capacity` bytes), so a
/// slow disk holds the reader back rather than filling memory. The first error stops the
/// thread's work; the caller sees it at the next call or at `finish`.
final class BackgroundCompressor: @unchecked Sendable {
    private enum Work {
        case open(path: String)
        case bytes([UInt8])
        case close
    }

    private let queue: BoundedQueue<Work>
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var failure: Error?
    private var compressed: [Int64] = []
    private var stopped = false

    /// Starts the thread; `capacity` bytes at most wait for it.
    init(capacity: Int = 1 << 20) {
        queue = BoundedQueue<Work>(
            capacity: capacity,
            cost: { work in
                if case let .bytes(bytes) = work { return bytes.count }
                return 1
            })
        let thread = Thread { [self] in run() }
        thread.name = "export-compressor"
        thread.start()
    }

    /// Starts the file `path` (which must not exist) after the one before it is closed.
    func open(_ path: String) throws { try hand(.open(path: path)) }

    /// Appends `bytes` to the open file.
    func write(_ bytes: [UInt8]) throws { try hand(.bytes(bytes)) }

    /// Ends the open file: its gzip member finished, flushed to disk, closed.
    func close() throws { try hand(.close) }

    /// Waits until every file handed over is written; returns their compressed sizes, in the
    /// order they were opened, or throws the first error.
    func finish() throws -> [Int64] {
        stop()
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        return compressed
    }

    /// Stops without finishing (the caller failed): waits for the thread. Once stopped, does nothing.
    func stop() {
        guard !stopped else { return }
        stopped = true
        queue.close()
        done.wait()
    }

    private func hand(_ work: Work) throws {
        lock.lock()
        let failed = failure
        lock.unlock()
        if let failed { throw failed }
        queue.push(work)
    }

    private func run() {
        var file: GzipFileWriter?
        var failed = false
        while let work = queue.pop() {
            // After an error, what is left is taken and dropped, so that the caller never waits.
            if failed { continue }
            do {
                switch work {
                case let .open(path): file = try GzipFileWriter(path: path)
                case let .bytes(bytes): try file?.write(bytes)
                case .close:
                    try file?.finish()
                    let size = file?.compressedBytes ?? 0
                    file = nil
                    lock.lock()
                    compressed.append(size)
                    lock.unlock()
                }
            } catch {
                failed = true
                lock.lock()
                failure = error
                lock.unlock()
            }
        }
        done.signal()
    }
}
