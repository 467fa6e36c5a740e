import Foundation
import KMSIndex

/// Feeds one input through everything ingest does to a file: gzip detection and inflate,
/// streaming JSON, record scanning, normalizing. Any crash, hang or sanitizer report is a bug.
enum FuzzHarness {
    static let path =
        (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        + "/kmsindex-fuzz-\(getpid()).json.gz"
    /// 1 MiB of content at most: the paths the fuzzer explores do not need more, and an input's
    /// work then has a bound, so that a slow input (`-timeout`) means a path that is not linear,
    /// not a small gzip member that inflates a thousandfold.
    static let parser = FileParser(maxFileBytes: 1 << 20)

    /// With `KMSINDEX_FUZZ_WRITE=1`, an input that parses to events is also ingested, into an
    /// index kept for the whole run: the writer's own reading of what the parser lets through
    /// (ARNs into keys, principals and S3 locations, the summaries, the ledger) is fuzzed too.
    static let index: IndexDatabase? = {
        guard ProcessInfo.processInfo.environment["KMSINDEX_FUZZ_WRITE"] == "1" else { return nil }
        do {
            return try IndexDatabase.openForWriting(path: indexPath)
        } catch {
            fatalError("kmsindex-fuzz: cannot open \(indexPath): \(error)")
        }
    }()
    static let indexPath = path + ".index.sqlite"

    static func run(_ data: Data) {
        _ = FileManager.default.createFile(atPath: path, contents: data)
        let result = parser.parse(InputFile(path: path, size: Int64(data.count), mtimeNs: 0))
        // What a parse reports must add up, whatever the input.
        precondition(result.kmsRecords <= result.records)
        precondition(result.events.count + result.malformedCount <= result.kmsRecords + result.records)
        for event in result.events {
            precondition(EventTime.normalize(event.eventTime) == event.eventTime)
            precondition(!event.eventID.isEmpty)
        }
        if let index, !result.events.isEmpty {
            var options = IngestOptions(paths: [path])
            options.jobs = 1
            options.maxFileBytes = 1 << 20
            // One file just written: nothing to read ahead, and no threads to start per input.
            options.readAheadThreads = 0
            // Bad input is the summary's to report; only a database error is thrown, and that
            // is a bug like a crash.
            do {
                let summary = try Ingester(database: index, options: options).run()
                precondition(summary.filesSeen == 1 && summary.eventsAdded <= result.events.count)
            } catch {
                fatalError("kmsindex-fuzz: ingest threw \(error)")
            }
        }
    }

    /// Removes the input file and the index of the run.
    static func cleanUp() {
        for file in [path, indexPath, indexPath + "-wal", indexPath + "-shm", indexPath + ".lock"] {
            try? FileManager.default.removeItem(atPath: file)
        }
    }
}

#if FUZZING
/// libFuzzer's driver, from libclang_rt.fuzzer_no_main (linked by scripts/fuzz).
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Fuzzing: libFuzzer drives the harness (`scripts/fuzz` passes libFuzzer's flags through).
@main
struct Fuzz {
    static func main() {
        // libFuzzer ends the process itself, at the end of its time or at a finding.
        atexit { FuzzHarness.cleanUp() }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = CommandLine.unsafeArgv
        let status = llvmFuzzerRunDriver(&argc, &argv) { bytes, count in
            FuzzHarness.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
            return 0
        }
        exit(status)
    }
}
#else
/// Without the fuzzer: runs the files given as arguments through the harness, to replay a
/// crash or a corpus (`kmsindex-fuzz FILE...`). An input that takes longer than the fuzzer's
/// `-timeout` (scripts/fuzz) fails as the fuzzer would fail it, instead of replaying forever:
/// some of the regression inputs were timeouts.
@main
struct Replay {
    /// Seconds per input, as scripts/fuzz passes `-timeout`.
    static let timeout: UInt32 = 10

    static func main() {
        signal(SIGALRM) { _ in
            // Only async-signal-safe calls here: the bytes of a literal, write(2), _exit(2).
            let message: StaticString = "kmsindex-fuzz: an input did not parse within the fuzzer's timeout\n"
            _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            _exit(3)
        }
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("kmsindex-fuzz: cannot read \(path)\n".utf8))
                exit(2)
            }
            alarm(timeout)
            FuzzHarness.run(data)
            alarm(0)
        }
        FuzzHarness.cleanUp()
    }
}
#endif
