import ArgumentParser
import GRDB
import KMSIndex

extension KMSIndexCommand {
    struct WhoReadCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "who-read",
            // Parsed as the root of its own tree (`KMSIndexCommand.main`), it is still shown as
            // `kmsindex who-read`.
            _superCommandName: "kmsindex",
            abstract: "List who decrypted an S3 object (a CloudTrail log file or any SSE-KMS object).",
            discussion: """
                OBJECT is an object ARN, s3://bucket/key, bucket/key, a bucket (s3://bucket or its \
                ARN, for S3 Bucket Keys), or the end of a key from a '/' on (a file name) that \
                matches one object. \
                Exit status: 0 reads listed, 1 none (stderr says why), 2 error.
                """,
            version: KMSIndexCommand.versionLine
        )

        // The options of `DatabaseOptions` and `OutputOptions`, declared here rather than as
        // option groups: each group is one more type ArgumentParser reflects at every start,
        // and scripts run who-read many times over (BENCHMARKS.md).
        @Option(name: .long, help: DatabaseOptions.help, completion: .file())
        var db: String?

        @Argument(help: ArgumentHelp("The S3 object or log file (see above).", valueName: "object"))
        var object: String

        mutating func validate() throws {
            try DatabaseOptions.validate(db)
            if object.allSatisfy(\.isWhitespace) { throw ValidationError("give the object: an ARN, s3://bucket/key or a file name") }
        }

        @Option(help: "Output format.")
        var format: OutputFormat = .table

        @Flag(help: "Show the reads of the indexer's own principals in the table too (JSON, CSV and TSV always have them).")
        var all = false

        mutating func run() throws {
            try Self.listReads(of: object, databasePath: IndexDatabase.resolvePath(db), format: format, all: all)
        }

        /// Prints who read `object`; a status other than 0 (1 none, 2 error) is thrown as an
        /// `ExitCode`.
        static func listReads(of object: String, databasePath: String, format: OutputFormat, all: Bool = false) throws {
            let index: IndexDatabase
            let status: Int32
            do {
                index = try IndexDatabase.openForReading(path: databasePath)
                status = try index.queue.read { db in
                    let whoRead = WhoRead(db)
                    switch try whoRead.lookUp(object) {
                    case let .answered(answer):
                        var s3Indexed = false
                        if case let .unknown(bucketLevel) = answer, bucketLevel != .none {
                            s3Indexed = try whoRead.s3ReadsRecorded(bucket: WhoRead.bucketName(object))
                        }
                        return report(answer, object: object, format: format, all: all, s3Indexed: s3Indexed)
                    case let .found(known): return try streamReads(of: known, whoRead, format: format, all: all)
                    }
                }
            } catch {
                throw failure("\(error)")
            }
            // The process ends with the index still open (never released): closing a read-only
            // connection changes nothing on disk, and GRDB's teardown is a measurable part of a
            // who-read.
            _ = Unmanaged.passRetained(index)
            if status != 0 { throw ExitCode(status) }
        }

        /// Prints the reads of `known` as `report` would, as SQLite yields them (`RowPrinter`):
        /// a year of a hot object's reads is never held. An object S3 data events name too is
        /// printed by `report`, whose table folds each read recorded twice into one row.
        static func streamReads(of known: KnownObject, _ whoRead: WhoRead, format: OutputFormat, all: Bool) throws -> Int32 {
            let s3 = try whoRead.s3Reads(of: known)
            guard s3.isEmpty else {
                var reads: [EventRow] = [], writes: [EventRow] = []
                try whoRead.forEachEvent(of: known, s3: s3, writes: { writes = $0 }, read: { reads.append($0) })
                return report(
                    .object(known, reads: reads, writes: writes, bucketLevel: try whoRead.bucketLevel(of: known, read: !reads.isEmpty)),
                    object: known.arn, format: format, all: all)
            }
            let printer = RowPrinter(columns: table([], format).columns, format: format, writeBytes: Console.out(bytes:))
            var hiddenAlone = 0
            var hiddenPairs = Set<String>()
            try whoRead.forEachEvent(
                of: known, s3: [],
                writes: { writes in
                    if format == .table { printHeader(known, writes: writes) }
                },
                read: { read in
                    // A cross-account call logged in both accounts is one row: the caller's copy.
                    if format == .table, read.isOwnerCopy { return }
                    if format == .table, !all, read.ownRead {
                        if let pair = read.readID { hiddenPairs.insert(pair) } else { hiddenAlone += 1 }
                        return
                    }
                    printer.add(table([read], format).cells[0])
                })
            let hidden = hiddenAlone + hiddenPairs.count
            if printer.rowCount == 0 && hidden == 0 {
                let bucketLevel = try whoRead.bucketLevel(of: known, read: false)
                let s3Indexed = bucketLevel != .none ? try whoRead.s3ReadsRecorded(bucket: known.bucket) : false
                reportNoReads(known, bucketLevel: bucketLevel, s3Indexed: s3Indexed)
                if format != .table { printer.finish() }
                return 1
            }
            printer.finish()
            if hidden > 0 { Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden)) }
            reportPartial(known, bucketLevel: try whoRead.bucketLevel(of: known, read: true))
            return 0
        }

        /// The table's lines above the reads: the object, and who wrote it.
        static func printHeader(_ known: KnownObject, writes: [EventRow]) {
            var header = "object: \(TerminalText.escape(known.arn))\n"
            for write in writes {
                header +=
                    "written: \(write.eventTime) by \(TerminalText.escape(write.principalDescription)) (\(write.eventName), \(write.result))\n"
            }
            Console.out(header + "\n")
        }

        /// Why an object known to the index has no reads to list.
        static func reportNoReads(_ known: KnownObject, bucketLevel: BucketLevelContexts, s3Indexed: Bool = false) {
            switch bucketLevel {
            case .only:
                Console.err(
                    "kmsindex: \(TerminalText.escape(known.arn)) is known, but its bucket is otherwise only seen with bucket-level encryption contexts (S3 Bucket Keys): reads of single objects are not recorded by KMS there. "
                        + Self.dataEventsAdvice(known.bucket, indexed: s3Indexed))
            case .also:
                Console.err(
                    "kmsindex: \(TerminalText.escape(known.arn)) is in the index, but no Decrypt of it is recorded; its bucket is also seen with bucket-level encryption contexts (S3 Bucket Keys), whose reads KMS does not record per object: who-read on the bucket lists them. "
                        + Self.dataEventsAdvice(known.bucket, indexed: s3Indexed))
            case .none:
                Console.err("kmsindex: \(TerminalText.escape(known.arn)) is in the index, but no Decrypt or S3 read of it is recorded")
            }
        }

        /// What the reads listed leave out: those KMS recorded on the bucket, under a bucket key.
        static func reportPartial(_ known: KnownObject, bucketLevel: BucketLevelContexts) {
            guard bucketLevel != .none else { return }
            let bucket = TerminalText.escape(known.bucket ?? "BUCKET")
            Console.err(
                "kmsindex: note: the bucket of \(TerminalText.escape(known.arn)) is also seen with bucket-level encryption contexts "
                    + "(S3 Bucket Keys): the Decrypts made under a bucket key name the bucket, not this object, and are not listed here "
                    + "(who-read s3://\(bucket) lists them)")
        }

        /// Prints `answer`; returns the exit status.
        /// `s3Indexed`: S3 data events of the object's bucket are in the index.
        static func report(_ answer: WhoReadAnswer, object: String, format: OutputFormat, all: Bool = false, s3Indexed: Bool = false)
            -> Int32
        {
            switch answer {
            case let .ambiguous(candidates):
                Console.err("kmsindex: \(TerminalText.escape(object)) matches \(candidates.count) objects; give more of the key:")
                for candidate in candidates { Console.err("  " + TerminalText.escape(candidate)) }
                return 2
            case let .unknown(bucketLevel):
                switch bucketLevel {
                case .only:
                    Console.err(
                        "kmsindex: the bucket of \(TerminalText.escape(object)) is only seen with a bucket-level encryption context (S3 Bucket Keys): KMS does not record reads of single objects there; try who-read on the bucket. "
                            + Self.dataEventsAdvice(WhoRead.bucketName(object), indexed: s3Indexed))
                case .also:
                    Console.err(
                        "kmsindex: no KMS event or S3 read in the index names \(TerminalText.escape(object)); its bucket is also seen with bucket-level encryption contexts (S3 Bucket Keys), whose reads KMS does not record per object: who-read on the bucket lists them. "
                            + Self.dataEventsAdvice(WhoRead.bucketName(object), indexed: s3Indexed))
                case .none:
                    Console.err("kmsindex: no KMS event or S3 read in the index names \(TerminalText.escape(object))")
                }
                // As for a known object with no reads: a script reads an empty result, not nothing.
                if format != .table { Console.out(Self.table([], format).render(format)) }
                return 1
            case let .object(known, reads, writes, bucketLevel):
                if format == .table { printHeader(known, writes: writes) }
                if reads.isEmpty {
                    reportNoReads(known, bucketLevel: bucketLevel, s3Indexed: s3Indexed)
                    if format != .table { Console.out(Self.table(reads, format).render(format)) }
                    return 1
                }
                if format == .table {
                    let (shown, hidden) = OwnPrincipals.visible(reads, all: all)
                    Console.out(Self.table(shown, format).render(format))
                    if hidden > 0 { Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden)) }
                } else {
                    Console.out(Self.table(reads, format).render(format))
                }
                reportPartial(known, bucketLevel: bucketLevel)
                return 0
            }
        }

        /// Which trail setting records the reads KMS cannot attribute; when the index holds S3
        /// data events of the bucket (`indexed`), that they record no read of it.
        static func dataEventsAdvice(_ bucket: String?, indexed: Bool = false) -> String {
            if indexed {
                return "S3 data events of the bucket are in the index, and record no read of it either"
            }
            let arn = "arn:aws:s3:::\(bucket.map(TerminalText.escape) ?? "BUCKET")/"
            return "S3 data events record every GetObject: log them with a trail's event selector for S3 objects "
                + "(data resource AWS::S3::Object, value \(arn); usually a second trail, so that the log bucket's own deliveries "
                + "are not logged in a loop), then ingest with --s3-reads auto"
        }

        static func table(_ reads: [EventRow], _ format: OutputFormat) -> ResultTable {
            if format == .table, reads.contains(where: { $0.source == "s3" }) {
                // A read recorded twice (S3 and the Decrypt S3 made for it) is one row, and so is
                // a Decrypt logged in both accounts (the caller's copy).
                let decrypts = Dictionary(
                    reads.filter { $0.source == "kms" && !$0.isOwnerCopy && $0.readID != nil }.map { ($0.readID!, $0) },
                    uniquingKeysWith: { a, _ in a })
                let readByS3 = Set(reads.filter { $0.source == "s3" }.compactMap(\.readID))
                let rows = reads.filter { r in
                    !r.isOwnerCopy && (r.source == "s3" || r.readID.map { !readByS3.contains($0) } ?? true)
                }.map { r -> [String?] in
                    let pair = r.readID.flatMap { decrypts[$0] }
                    return [
                        r.eventTime, r.principalDescription, r.result, pair == nil ? r.source : "s3+kms",
                        r.source == "s3" ? r.eventName : nil, r.sourceIP, r.bytes.map(String.init), r.keyARN ?? pair?.keyARN, r.region,
                    ]
                }
                return ResultTable(
                    columns: ["TIME", "PRINCIPAL", "RESULT", "SOURCE", "OPERATION", "SOURCE IP", "BYTES", "KEY", "REGION"], rows: rows)
            }
            if format == .table {
                return ResultTable(
                    columns: ["TIME", "PRINCIPAL", "RESULT", "SOURCE IP", "KEY", "REGION"],
                    rows: reads.filter { !$0.isOwnerCopy }.map {
                        [$0.eventTime, $0.principalDescription, $0.result, $0.sourceIP, $0.keyARN, $0.region]
                    })
            }
            return ResultTable(columns: EventRow.columnNames, cells: reads.map(\.cells))
        }
    }
}
