#if canImport(Glibc)
import Glibc
#endif

/// Reads one input file into a `FileResult`: decompress, stream the records, normalize the
/// KMS ones. Never throws: every problem becomes the file's outcome.
package struct FileParser: Sendable {
    /// Largest decompressed size accepted per file (a bound on gzip bombs).
    package var maxFileBytes: Int

    package init(maxFileBytes: Int = 2 << 30, partSize: Int = 4096) {
        self.maxFileBytes = maxFileBytes
        self.partSize = max(1, partSize)
    }

    /// Events are handed over in parts of at most this many, so that a huge file never holds
    /// all its events in memory.
    package var partSize: Int

    /// Hash each file's decompressed content too (`ingest --content-sha256`), not only its
    /// bytes: a quarter of an ingest's CPU time, which `audit` otherwise spends when asked.
    package var hashContent = false

    /// Which S3 reads to keep (`--s3-reads`).
    package var s3Reads: S3ReadMode = .none
    /// For `auto`: the buckets known to count; reads of others are only noted.
    var knownS3Buckets: KnownS3Buckets?

    /// Reads `file`. Full parts of events go to `emitPart` as they are read (their file may
    /// still fail later); the rest, and the outcome, are in the result. A thread that parses
    /// many files passes the same `window` and `strings` to each.
    package func parse(_ file: InputFile) -> FileResult {
        parse(file, window: ByteWindow())
    }

    /// The window's memory stays inside the reader: its pointers are never handed out.
    func parse(
        _ file: InputFile, window: ByteWindow, strings: StringInterner = StringInterner(),
        emitPart: (consuming [KMSEvent]) -> Void = { _ in }
    ) -> FileResult {
        var result = FileResult(path: file.path, size: file.size, mtimeNs: file.mtimeNs, outcome: .ingested)
        var events: [KMSEvent] = []
        var reader: LogFileReader?
        do {
            let stream = try DecompressedStream(path: file.path, limit: maxFileBytes, hashContent: hashContent, hashFile: true)
            defer {
                result.uncompressedBytes = stream.producedBytes
                result.contentSHA256 = stream.contentSHA256
                result.fileSHA256 = stream.fileSHA256
            }
            let logReader = LogFileReader(stream: stream, window: window)
            reader = logReader
            if s3Reads != .none {
                let mode = s3Reads
                let known = knownS3Buckets
                var knownNames: Set<String>?
                // Unowned: the reader holds this closure, and a strong capture kept every file's
                // reader, with its buffers and open file, until the end of the run.
                logReader.onS3Record = { [unowned logReader] scanner, index, copy in
                    // A read of a bucket not known to count is noted, not built (auto).
                    if let known, let bucket = S3RecordBytes.bucketName(scanner.p, from: scanner.i, to: scanner.end),
                        !(copy ?? S3RecordBytes.mayBeCopy(scanner.p, from: scanner.i, to: scanner.end))
                    {
                        if knownNames == nil { knownNames = known.names() }
                        if !knownNames!.contains(bucket) {
                            result.s3NotedBuckets.insert(bucket)
                            return
                        }
                    }
                    do {
                        guard let read = try S3ReadNormalizer.normalize(try scanner.parseValue()),
                            mode.parserKeeps(bucket: read.bucket)
                        else { return }
                        result.s3Reads.append(read)
                    } catch let error as RecordError {
                        result.otherMalformedCount += 1
                        logReader.noteMalformed(index, error.description)
                    } catch {
                        result.otherMalformedCount += 1
                        logReader.noteMalformed(index, "S3 record that is not valid JSON")
                    }
                }
            }
            let kind = try logReader.read(
                building: { s in
                    s.strings = strings
                    return try KMSRecordFields.read(&s)
                },
                onKMSRecord: { record, index in
                    do {
                        events.append(try EventNormalizer.normalize(record))
                        if events.count >= partSize {
                            // Handed over, not shared: the writer empties the part in place, and a
                            // part still referenced here would be copied, event by event.
                            var part: [KMSEvent] = []
                            part.reserveCapacity(partSize)
                            swap(&part, &events)
                            emitPart(part)
                        }
                    } catch let error as RecordError {
                        logReader.noteMalformed(index, error.description)
                    }
                })
            if case .notLog(let reason) = kind {
                result.outcome =
                    Self.isLogFileName(file.path)
                    ? .failed(reason: "named like a CloudTrail log file, but: \(reason)")
                    : .skipped(reason: reason)
            }
        } catch ReadError.io(operation: .open, errno: ENOENT) {
            // Listed, then gone before it could be read (a sync deleting it): nothing to lose.
            result.outcome = .skipped(reason: "vanished before it could be read")
            result.vanished = true
        } catch let error as ReadError {
            result.outcome = .failed(reason: error.description)
        } catch let error as ContentError {
            if file.path.hasSuffix(".gz"), let stream = reader?.stream, !stream.isGzip {
                result.outcome = .failed(reason: "not gzip (no gzip header), and not JSON either: \(error.description)")
            } else {
                result.outcome = .failed(reason: error.description)
            }
        } catch {
            result.outcome = .failed(reason: "\(error)")
        }
        window.consume(upTo: window.end)
        if let reader {
            result.records = reader.recordCount
            result.kmsRecords = reader.kmsRecordCount
            result.malformedCount = reader.malformedCount
            result.otherMalformedCount += reader.notObjectCount
            result.malformed = reader.malformed
        }
        if result.outcome == .ingested {
            result.events = events
        } else {
            result.s3Reads = []
            result.s3NotedBuckets = []
        }
        return result
    }

    /// True for `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz` names.
    static func isLogFileName(_ path: String) -> Bool {
        let name = path.split(separator: "/").last ?? ""
        return name.contains("_CloudTrail_") && name.hasSuffix(".json.gz")
    }
}
