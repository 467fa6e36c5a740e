import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct AuditCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Check the index against CloudTrail digest files, and report blind spots.",
            discussion: """
                Reads the digest files (CloudTrail-Digest/) under the given folders and reports log \
                files a digest lists that were never ingested (or failed), log files whose SHA-256 \
                differs from the digest's, and hours with no digest. Checks the chain of digests \
                (each names the one before it and records its SHA-256) and, with --public-keys, each \
                digest's signature. Also reports accounts and regions whose log files hold no KMS \
                event, and buckets seen only with bucket-level encryption context. Exit status: 0 \
                nothing missing or altered, 1 problems found, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("Folders holding the digest files (the synced AWSLogs tree).", valueName: "path"), completion: .directory)
        var paths: [String]

        @Option(help: "Output format: table, csv, tsv, json, ndjson.")
        var format: OutputFormat = .table

        @Option(name: .customLong("public-keys"), help: ArgumentHelp(
            "CloudTrail's public keys, saved by `aws cloudtrail list-public-keys > keys.json` (repeatable: one file per region).",
            valueName: "file"))
        var publicKeys: [String] = []

        @Option(help: ArgumentHelp(
            "The newest digests' own signatures (x-amz-meta-signature): one line each, the digest's key and the hex signature.",
            valueName: "file"))
        var signatures: String?

        mutating func validate() throws {
            if signatures != nil && publicKeys.isEmpty {
                throw ValidationError("--signatures needs --public-keys")
            }
        }

        mutating func run() throws {
            let report: Audit.Report
            do {
                let keys = publicKeys.isEmpty ? nil : try PublicKeySet(paths: publicKeys)
                let signatureFile = try signatures.map { try DigestSignatureFile(path: $0) }
                let index = try IndexDatabase.openForReading(path: database.path)
                report = try Audit(index: index).report(paths: paths, keys: keys, signatures: signatureFile)
            } catch {
                fail("\(error)")
            }
            let findings = report.findings
            let table = ResultTable(columns: ["finding", "subject", "detail"],
                                    rows: findings.map { [$0.kind.rawValue, $0.subject, $0.detail] })
            Console.out(table.render(format))
            let problems = findings.filter(\.isProblem).count
            let signed = report.signaturesVerified.map { "\($0) of \(report.digests) digest signature(s) verified" }
                ?? "digest signatures not checked (no --public-keys)"
            Console.err("kmsindex: audit: \(problems) problem(s), \(findings.count - problems) blind spot(s); \(signed)")
            if problems > 0 { throw ExitCode(1) }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete events older than a day, and reclaim the space.",
            discussion: """
                Keys, objects, trails, principals and user agents no remaining event refers to are \
                deleted too. The file ledger is kept, so the pruned files are not ingested again.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Delete events before this UTC day or time (YYYY-MM-DD, or an ISO-8601 time).", valueName: "day"))
        var before: String

        @Option(help: ArgumentHelp("Seconds to wait for an ingest writing to the same index.", valueName: "seconds"))
        var wait: Double = 600

        mutating func validate() throws {
            guard EventTime.normalize(before.count == 10 ? before + "T00:00:00Z" : before) != nil else {
                throw ValidationError("--before takes YYYY-MM-DD or an ISO-8601 time; not '\(before)'")
            }
        }

        mutating func run() throws {
            let cutoff = EventTime.normalize(before.count == 10 ? before + "T00:00:00Z" : before)!
            let report: PruneReport
            do {
                let lock = try IndexLock(indexPath: database.path, timeout: wait)
                let index = try IndexDatabase.openForWriting(path: database.path, lockTimeout: nil)
                report = try Maintenance.prune(index, before: cutoff)
                withExtendedLifetime(lock) {}
            } catch {
                fail("\(error)")
            }
            Console.err("kmsindex: pruned events before \(cutoff): \(report.events) events, \(report.contextPairs) context pairs, "
                + "\(report.keys) keys, \(report.objects) objects, \(report.trails) trails, \(report.principals) principals, "
                + "\(report.userAgents) user agents; \(report.bytesBefore) -> \(report.bytesAfter) bytes")
        }
    }

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Write a consistent copy of the index to a new file, even while an ingest runs.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The new file.", valueName: "path"), completion: .file())
        var destination: String

        mutating func run() throws {
            do {
                let index = try IndexDatabase.openForReading(path: database.path)
                try Maintenance.backup(index, to: destination)
            } catch {
                fail("\(error)")
            }
        }
    }
}
