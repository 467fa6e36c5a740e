import ArgumentParser
import GRDB
import KMSIndex

extension KMSIndexCommand {
    struct WhoReadCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "who-read",
            abstract: "List who decrypted an S3 object (a CloudTrail log file or any SSE-KMS object).",
            discussion: """
                OBJECT is an object ARN, s3://bucket/key, bucket/key, a bucket (s3://bucket or its \
                ARN, for S3 Bucket Keys), or a file name or key suffix that matches one object. \
                Exit status: 0 reads listed, 1 none (stderr says why), 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The object.", valueName: "object"))
        var object: String

        @OptionGroup var output: OutputOptions

        @Flag(help: "Show the reads of the indexer's own principals in the table too (JSON, CSV and TSV always have them).")
        var all = false

        var format: OutputFormat { output.format }

        mutating func run() throws {
            try Self.listReads(of: object, databasePath: database.path, format: format, all: all)
        }

        /// Prints who read `object`; a status other than 0 (1 none, 2 error) is thrown as an
        /// `ExitCode`.
        static func listReads(of object: String, databasePath: String, format: OutputFormat, all: Bool = false) throws {
            let index: IndexDatabase
            let answer: WhoReadAnswer
            do {
                index = try IndexDatabase.openForReading(path: databasePath)
                answer = try index.queue.read { db in try WhoRead(db).answer(object) }
            } catch {
                throw failure("\(error)")
            }
            let status = report(answer, object: object, format: format, all: all)
            // The process ends with the index still open (never released): closing a read-only
            // connection changes nothing on disk, and GRDB's teardown is a measurable part of a
            // who-read.
            _ = Unmanaged.passRetained(index)
            if status != 0 { throw ExitCode(status) }
        }

        /// Prints `answer`; returns the exit status.
        static func report(_ answer: WhoReadAnswer, object: String, format: OutputFormat, all: Bool = false) -> Int32 {
            switch answer {
            case let .ambiguous(candidates):
                Console.err("kmsindex: \(TerminalText.escape(object)) matches \(candidates.count) objects; give more of the key:")
                for candidate in candidates { Console.err("  " + TerminalText.escape(candidate)) }
                return 2
            case let .unknown(bucketKeysOnly):
                if bucketKeysOnly {
                    Console.err(
                        "kmsindex: the bucket of \(TerminalText.escape(object)) is only seen with a bucket-level encryption context (S3 Bucket Keys): KMS does not record reads of single objects there; try who-read on the bucket. "
                            + Self.dataEventsAdvice(WhoRead.bucketName(object)))
                } else {
                    Console.err("kmsindex: no KMS event or S3 read in the index names \(TerminalText.escape(object))")
                }
                return 1
            case let .object(known, reads, writes, bucketKeysOnly):
                if format == .table {
                    var header = "object: \(TerminalText.escape(known.arn))\n"
                    for write in writes {
                        header +=
                            "written: \(write.eventTime) by \(TerminalText.escape(write.principalDescription)) (\(write.eventName), \(write.result))\n"
                    }
                    Console.out(header + "\n")
                }
                if reads.isEmpty {
                    if bucketKeysOnly {
                        Console.err(
                            "kmsindex: \(TerminalText.escape(known.arn)) is known, but its bucket is otherwise only seen with bucket-level encryption contexts (S3 Bucket Keys): reads of single objects are not recorded by KMS there. "
                                + Self.dataEventsAdvice(known.bucket))
                    } else {
                        Console.err(
                            "kmsindex: \(TerminalText.escape(known.arn)) is in the index, but no Decrypt or S3 read of it is recorded")
                    }
                    if format != .table { Console.out(Self.table(reads, format).render(format)) }
                    return 1
                }
                if format == .table {
                    let (shown, hidden) = OwnPrincipals.visible(reads, all: all)
                    Console.out(Self.table(shown, format).render(format))
                    if hidden > 0 { Console.err("kmsindex: " + OwnPrincipals.hiddenNote(hidden)) }
                    return 0
                }
                Console.out(Self.table(reads, format).render(format))
                return 0
            }
        }

        /// Which trail setting records the reads KMS cannot attribute.
        static func dataEventsAdvice(_ bucket: String?) -> String {
            let arn = "arn:aws:s3:::\(bucket.map(TerminalText.escape) ?? "BUCKET")/"
            return "S3 data events record every GetObject: log them with a trail's event selector for S3 objects "
                + "(data resource AWS::S3::Object, value \(arn); usually a second trail, so that the log bucket's own deliveries "
                + "are not logged in a loop), then ingest with --s3-reads auto"
        }

        static func table(_ reads: [EventRow], _ format: OutputFormat) -> ResultTable {
            if format == .table, reads.contains(where: { $0.source == "s3" }) {
                // A read recorded twice (S3 and the Decrypt S3 made for it) is one row.
                let decrypts = Dictionary(
                    reads.filter { $0.source == "kms" && $0.readID != nil }.map { ($0.readID!, $0) },
                    uniquingKeysWith: { a, _ in a })
                let rows = reads.filter { $0.source == "s3" || $0.readID == nil }.map { r -> [String?] in
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
                    rows: reads.map { [$0.eventTime, $0.principalDescription, $0.result, $0.sourceIP, $0.keyARN, $0.region] })
            }
            return ResultTable(columns: EventRow.columnNames, cells: reads.map(\.cells))
        }
    }
}

/// The plain forms of `kmsindex who-read`, read without building the command tree: scripts run
/// who-read many times over, and ArgumentParser's set-up costs more than the query itself.
///
/// Understood: `--db path` and `--format name` (or `--db=path`, `--format=name`), each at most
/// once, and one object, in any order. Anything else (help, `--`, a repeated option, a value that
/// is empty or starts with a dash, a format that is not one) is left to ArgumentParser, so it is
/// read and reported exactly as before.
struct PlainWhoReadArguments {
    var db: String?
    var object: String
    var format: OutputFormat

    /// `arguments` without the program name; nil when they are not a plain who-read.
    init?(_ arguments: ArraySlice<String>) {
        var rest = arguments
        guard rest.popFirst() == "who-read" else { return nil }
        var db: String?, format: OutputFormat?, object: String?
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else {
                guard object == nil, !argument.isEmpty, !argument.hasPrefix("-") else { return nil }
                object = argument
                continue
            }
            let name: Substring, value: String
            if let equals = argument.firstIndex(of: "=") {
                name = argument[..<equals]
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument[...]
                guard let next = rest.popFirst() else { return nil }
                value = next
            }
            guard !value.isEmpty, !value.hasPrefix("-") else { return nil }
            switch name {
            case "--db" where db == nil: db = value
            case "--format" where format == nil:
                guard let known = OutputFormat(rawValue: value) else { return nil }
                format = known
            default: return nil
            }
        }
        guard let object else { return nil }
        self.db = db
        self.object = object
        self.format = format ?? .table
    }
}
