import Foundation
import Glibc
import XCTest

@testable import KMSIndex

final class ReadAheadTests: XCTestCase {
    /// The paths a read-ahead advised, in order, answering each with `answer`.
    final class Advised: @unchecked Sendable {
        private let lock = NSLock()
        private var paths: [String] = []
        let answer: @Sendable (String) -> ReadAhead.Advice

        init(answer: @escaping @Sendable (String) -> ReadAhead.Advice = { _ in .notCached }) { self.answer = answer }

        func advise(_ path: String) -> ReadAhead.Advice {
            lock.withLock { paths.append(path) }
            return answer(path)
        }

        var all: [String] { lock.withLock { paths } }

        /// Waits (up to 10 s) until `count` paths were advised; the paths then.
        func waitFor(_ count: Int) -> [String] {
            let deadline = Date().addingTimeInterval(10)
            while all.count < count && Date() < deadline { usleep(1000) }
            return all
        }
    }

    func files(_ names: [String], size: Int64) -> [InputFile] {
        names.map { InputFile(path: $0, size: size, mtimeNs: 0) }
    }

    func testAdvisesNoFurtherAheadOfTheParsersThanItsLead() {
        let advised = Advised()
        let readAhead = ReadAhead(threads: 1, leadBytes: 100, advise: advised.advise)
        let queued = files(["a", "b", "c", "d"], size: 60)
        readAhead.add(queued)
        // a starts at 0 and b at 60, within 100 bytes of nothing taken; c starts at 120.
        XCTAssertEqual(advised.waitFor(2), ["a", "b"])
        usleep(50_000)
        XCTAssertEqual(advised.all, ["a", "b"], "c is more than the lead ahead of the parsers")
        readAhead.taken(queued[0])
        XCTAssertEqual(advised.waitFor(3), ["a", "b", "c"])
        usleep(50_000)
        XCTAssertEqual(advised.all.count, 3, "d starts 120 bytes past what was taken")
        readAhead.taken(queued[1])
        XCTAssertEqual(advised.waitFor(4), ["a", "b", "c", "d"])
        readAhead.finish()
    }

    func testCancelEndsAThreadWaitingForTheParsers() {
        let advised = Advised()
        let readAhead = ReadAhead(threads: 2, leadBytes: 10, advise: advised.advise)
        readAhead.add(files(["a", "b", "c"], size: 20))
        readAhead.add(files(["d", "e"], size: 20))
        _ = advised.waitFor(1)
        readAhead.cancel()
        usleep(50_000)
        let after = advised.all.count
        readAhead.taken(InputFile(path: "a", size: 1000, mtimeNs: 0))
        usleep(50_000)
        XCTAssertEqual(advised.all.count, after, "nothing is advised once cancelled")
        XCTAssertLessThan(after, 5)
    }

    func testThreadsEndWhenCancelledAfterTheLastFilesWereQueued() {
        let advised = Advised()
        let readAhead = ReadAhead(threads: 3, leadBytes: 10, advise: advised.advise)
        readAhead.add(files(["a", "b"], size: 20))
        readAhead.finish()
        // b waits for the parsers to take a, which they never do (they stopped).
        XCTAssertEqual(advised.waitFor(1), ["a"])
        usleep(50_000)
        XCTAssertEqual(readAhead.running, 1, "the threads with nothing queued ended; one waits")
        readAhead.cancel()
        let deadline = Date().addingTimeInterval(10)
        while readAhead.running > 0 && Date() < deadline { usleep(1000) }
        XCTAssertEqual(readAhead.running, 0)
        XCTAssertEqual(advised.all, ["a"])
    }

    func testFilesFoundCachedAreOnlySampledUntilOneIsNot() {
        let cold = Advised(answer: { $0.hasPrefix("cold") ? .notCached : .cached })
        let readAhead = ReadAhead(threads: 1, leadBytes: 1 << 40, advise: cold.advise)
        // While every file is cached, one group in `probeEvery` is advised.
        let groups = 2 * ReadAhead.probeEvery
        for g in 0..<groups { readAhead.add(files(["warm\(g)"], size: 1)) }
        XCTAssertEqual(cold.waitFor(2), ["warm0", "warm\(ReadAhead.probeEvery)"])
        // The next probe finds a file not cached: then every group is advised.
        readAhead.add(files(["cold"], size: 1))
        _ = cold.waitFor(3)
        for g in 0..<4 { readAhead.add(files(["after\(g)"], size: 1)) }
        XCTAssertEqual(cold.waitFor(7).suffix(5), ["cold", "after0", "after1", "after2", "after3"])
        readAhead.finish()
    }

    func testAdviceOnRealFiles() throws {
        let dir = try TempDir()
        let file = try dir.write("log.json.gz", Data(repeating: 7, count: 64 * 1024))
        _ = try Data(contentsOf: URL(fileURLWithPath: file))
        XCTAssertEqual(ReadAhead.advise(file), .cached, "just written and read")
        // Written back and dropped from the page cache, it is not cached any more (as mincore
        // says: a file in memory, on tmpfs, is never dropped). The probe of a page not cached
        // may itself start its read, which a fast disk finishes before the probe looks again:
        // so "cached" is only wrong if the page is still not in memory after the probe.
        evict(file)
        let cachedBefore = try firstPageCached(file)
        let advice = ReadAhead.advise(file)
        if cachedBefore {
            XCTAssertEqual(advice, .cached)
        } else if advice == .cached {
            XCTAssertTrue(try firstPageCached(file), "said cached, and the page is not in memory")
        }
        // Either way the file's start is in memory soon after: it was, or the advice read it.
        let deadline = Date().addingTimeInterval(10)
        while try !firstPageCached(file) && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(try firstPageCached(file), "advised to read, and never read")

        XCTAssertEqual(ReadAhead.advise(try dir.write("empty.json.gz", Data())), .notRead)
        XCTAssertEqual(ReadAhead.advise(dir.path + "/missing.json.gz"), .notRead)
        XCTAssertEqual(ReadAhead.advise(dir.path), .notRead, "a folder")
        // A FIFO nobody writes to: neither opened to wait nor read.
        let fifo = dir.path + "/fifo.json.gz"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(ReadAhead.advise(fifo), .notRead)
    }

    /// Drops a file's pages from the page cache, as if the tree had been synced long ago.
    func evict(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return XCTFail("cannot open \(path)") }
        fsync(fd)
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    /// Whether the file's first page is in the page cache, by mincore.
    func firstPageCached(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let map = mmap(nil, page, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else {
            throw XCTSkip("cannot map \(path)")
        }
        defer { munmap(map, page) }
        var resident: UInt8 = 0
        XCTAssertEqual(mincore(map, page, &resident), 0)
        return resident & 1 == 1
    }

    /// A tree on disk, ingested with and without reading ahead, gives the same index.
    func testIngestWithReadAheadIndexesTheSameEvents() throws {
        let tree = try TempDir()
        for n in 0..<60 {
            let stamp = String(format: "202403%02dT%02d%02dZ", 1 + n / 24, n % 24, n % 60)
            let records =
                (0..<5).map { k in
                    kmsRecord(
                        eventID: "ra-\(n)-\(k)", eventTime: "2024-03-01T00:00:0\(k)Z",
                        requestParameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::bucket/f\#(n)"}}"#)
                } + [s3Record(n)]
            let path = try tree.write(logPath(stamp: stamp, unique: String(format: "ReadAhead%07d", n)), gzip(logFile(records)))
            if n % 2 == 0 { evict(path) }
        }
        var contents: [[String]] = []
        for threads in [0, 4] {
            let dir = try TempDir()
            let index = try makeIndex(dir)
            var options = IngestOptions(paths: [tree.path])
            options.readAheadThreads = threads
            let summary = try Ingester(database: index, options: options).run()
            XCTAssertEqual(summary.filesFailed, 0)
            XCTAssertEqual(summary.eventsAdded, 300)
            contents.append(try indexContents(dir.path + "/index.sqlite"))
        }
        XCTAssertEqual(contents[0], contents[1])
    }
}
