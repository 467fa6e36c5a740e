import Foundation
import KMSCrypto

/// Writes files under the tree's root. Log files are compressed, hashed and written on a
/// concurrent background queue while the next files are generated, so generation, hashing and
/// compression share the cores; at most `maxBytesInFlight` uncompressed bytes wait, so
/// memory stays bounded. Results are kept by file id, so the order jobs finish in does not
/// matter.
final class TreeOutput: @unchecked Sendable {
    /// What a background job learned about a log file.
    struct Written: Sendable {
        var sha256: String
        var compressedBytes: Int
    }

    let root: URL
    private let queue = DispatchQueue(label: "kmsindex-synth.output", attributes: .concurrent)
    private let inFlight = NSCondition()
    private var bytesInFlight = 0
    /// Uncompressed bytes that may wait for the background queue before `submitLog` blocks.
    static let maxBytesInFlight = 384 << 20
    private let lock = NSLock()
    private var createdDirectories: Set<String> = []
    private var firstError: Error?
    private var results: [Int: Written] = [:]
    private var compressedTotal = 0

    init(root: URL) {
        self.root = root
    }

    /// Compresses (gzip, optionally split into members), hashes the uncompressed bytes and
    /// writes one file, in the background. `id` names the result for `result(for:)`.
    func submitLog(id: Int, content: [UInt8], key: String, mtime: Int64, memberSize: Int?) {
        let size = content.count
        inFlight.lock()
        while bytesInFlight > 0 && bytesInFlight + size > Self.maxBytesInFlight {
            inFlight.wait()
        }
        bytesInFlight += size
        inFlight.unlock()
        queue.async { [self] in
            defer {
                inFlight.lock()
                bytesInFlight -= size
                inFlight.broadcast()
                inFlight.unlock()
            }
            do {
                var hasher = SHA256()
                hasher.update(content)
                let digest = SHA256.hex(hasher.finalize())
                let compressed = try content.withUnsafeBytes { try Gzip.compress($0, memberSize: memberSize) }
                try write(compressed, to: key, mtime: mtime)
                lock.withLock {
                    results[id] = Written(sha256: digest, compressedBytes: compressed.count)
                    compressedTotal += compressed.count
                }
            } catch {
                lock.withLock { if firstError == nil { firstError = error } }
            }
        }
    }

    /// Waits for every background job and rethrows the first failure.
    func drain() throws {
        queue.sync(flags: .barrier) {}
        try lock.withLock {
            if let firstError { throw firstError }
        }
    }

    /// The result of a finished `submitLog` (call `drain` first).
    func result(for id: Int) -> Written? {
        lock.withLock { results[id] }
    }

    /// The result of a finished `submitLog`, forgotten once taken (a long tree's streaming).
    func takeResult(for id: Int) -> Written? {
        lock.withLock { results.removeValue(forKey: id) }
    }

    /// Compressed bytes of all files written so far.
    var compressedBytes: Int {
        lock.withLock { compressedTotal }
    }

    /// gzip-compresses and writes a small file now.
    func writeCompressed(_ content: [UInt8], to key: String, mtime: Int64) throws {
        let compressed = try content.withUnsafeBytes { try Gzip.compress($0) }
        try write(compressed, to: key, mtime: mtime)
        lock.withLock { compressedTotal += compressed.count }
    }

    /// Writes bytes at `root/key`, creating folders, and sets the modification time.
    func write(_ bytes: [UInt8], to key: String, mtime: Int64) throws {
        let url = root.appendingPathComponent(key)
        let folder = url.deletingLastPathComponent().path
        // Folders are made under the lock: concurrent jobs may need the same one.
        try lock.withLock {
            guard !createdDirectories.contains(folder) else { return }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw SynthError.io(path: folder, reason: "cannot create folder: \(error.localizedDescription)")
            }
            createdDirectories.insert(folder)
        }
        // Plain POSIX calls: Foundation's Data.write syncs every file to disk, which made a
        // tree of a million small files take most of an hour.
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SynthError.io(path: url.path, reason: "cannot create: \(Self.errnoText())") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { all in Glibc.write(fd, all.baseAddress! + done, all.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SynthError.io(path: url.path, reason: "cannot write: \(Self.errnoText())") }
            done += n
        }
        // The time as Foundation's setAttributes set it (seconds as a Double, then split).
        let seconds = Double(mtime) / 1000
        let whole = seconds.rounded(.down)
        let stamp = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var times = [stamp, stamp]
        guard futimens(fd, &times) == 0 else {
            throw SynthError.io(path: url.path, reason: "cannot set its time: \(Self.errnoText())")
        }
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
