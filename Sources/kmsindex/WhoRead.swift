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

        var format: OutputFormat { output.format }

        mutating func run() throws {
            let answer: WhoReadAnswer
            do {
                let index = try IndexDatabase.openForReading(path: database.path)
                answer = try index.queue.read { db in try WhoRead(db).answer(object) }
            } catch {
                fail("\(error)")
            }
            switch answer {
            case let .ambiguous(candidates):
                Console.err("kmsindex: \(TerminalText.escape(object)) matches \(candidates.count) objects; give more of the key:")
                for candidate in candidates { Console.err("  " + TerminalText.escape(candidate)) }
                throw ExitCode(2)
            case let .unknown(bucketKeysOnly):
                if bucketKeysOnly {
                    Console.err("kmsindex: the bucket of \(TerminalText.escape(object)) is only seen with a bucket-level encryption context (S3 Bucket Keys): KMS does not record reads of single objects there; try who-read on the bucket")
                } else {
                    Console.err("kmsindex: no KMS event in the index names \(TerminalText.escape(object))")
                }
                throw ExitCode(1)
            case let .object(known, reads, writes, bucketKeysOnly):
                if format == .table {
                    var header = "object: \(TerminalText.escape(known.arn))\n"
                    for write in writes {
                        header += "written: \(write.eventTime) by \(TerminalText.escape(write.principalDescription)) (\(write.eventName), \(write.result))\n"
                    }
                    Console.out(header + "\n")
                }
                if reads.isEmpty {
                    if bucketKeysOnly {
                        Console.err("kmsindex: \(TerminalText.escape(known.arn)) is known, but its bucket is otherwise only seen with bucket-level encryption contexts (S3 Bucket Keys): reads of single objects are not recorded by KMS there")
                    } else {
                        Console.err("kmsindex: \(TerminalText.escape(known.arn)) is in the index, but no Decrypt of it is recorded")
                    }
                    if format != .table { Console.out(Self.table(reads, format).render(format)) }
                    throw ExitCode(1)
                }
                Console.out(Self.table(reads, format).render(format))
            }
        }

        static func table(_ reads: [EventRow], _ format: OutputFormat) -> ResultTable {
            if format == .table {
                return ResultTable(
                    columns: ["TIME", "PRINCIPAL", "RESULT", "SOURCE IP", "KEY", "REGION"],
                    rows: reads.map { [$0.eventTime, $0.principalDescription, $0.result, $0.sourceIP, $0.keyARN, $0.region] })
            }
            return ResultTable(columns: EventRow.columnNames, cells: reads.map(\.cells))
        }
    }
}
