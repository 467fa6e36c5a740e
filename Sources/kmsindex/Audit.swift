import ArgumentParser
import Foundation
import KMSIndex

extension KMSIndexCommand {
    struct AuditCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Check the index against CloudTrail digest files, and report blind spots.",
            discussion: """
                Reads the digest files (CloudTrail-Digest/) under the given folders and reports log \
                files a digest lists that were never ingested (or failed), log files the index read \
                that no digest lists in time the digests cover, log files whose SHA-256 differs from \
                the digest's, and time no digest covers. Checks the chain of digests \
                (each names the one before it and records its SHA-256) and, with --public-keys, each \
                digest's signature. Also reports accounts and regions whose log files hold no KMS \
                event, and buckets seen only with bucket-level encryption context. Exit status: 0 \
                nothing missing or altered, 1 problems found, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Argument(
            help: ArgumentHelp("Folders holding the digest files (the synced AWSLogs tree).", valueName: "path"), completion: .directory)
        var paths: [String]

        @Option(help: "Output format: table, csv, tsv, json, ndjson.")
        var format: OutputFormat = .table

        @Option(
            name: .customLong("public-keys"),
            help: ArgumentHelp(
                "CloudTrail's public keys, saved by `aws cloudtrail list-public-keys > keys.json` (repeatable: one file per region).",
                valueName: "file"))
        var publicKeys: [String] = []

        @Option(
            help: ArgumentHelp(
                "The newest digests' own signatures (x-amz-meta-signature): one line each, the digest's key and the hex signature.",
                valueName: "file"))
        var signatures: String?

        @Option(
            help: ArgumentHelp(
                "Seconds to wait for an ingest writing to the same index before keeping the contents hashed.", valueName: "seconds"))
        var wait: Double = 600

        mutating func validate() throws {
            if signatures != nil && publicKeys.isEmpty {
                throw ValidationError("--signatures needs --public-keys")
            }
            // A mistyped path (or a volume not mounted) would otherwise audit nothing and pass.
            for path in paths where access(path, F_OK) != 0 && errno == ENOENT {
                throw ValidationError("no such file or folder: \(path)")
            }
        }

        mutating func run() throws {
            let report: Audit.Report
            do {
                let keys = publicKeys.isEmpty ? nil : try PublicKeySet(paths: publicKeys)
                let signatureFile = try signatures.map { try DigestSignatureFile(path: $0) }
                let index = try IndexDatabase.openForReading(path: database.path)
                report = try Audit(index: index).report(paths: paths, keys: keys, signatures: signatureFile)
                // The contents hashed now are kept: the next audit compares without reading them.
                if !report.contentHashes.isEmpty {
                    let hashes = report.contentHashes
                    try underIndexLock(database.path, wait: wait) { index in try Audit.storeContentHashes(hashes, in: index) }
                }
            } catch {
                throw failure("\(error)")
            }
            let findings = report.findings
            let table = ResultTable(
                columns: ["finding", "subject", "detail"],
                rows: findings.map { [$0.kind.rawValue, $0.subject, $0.detail] })
            Console.out(table.render(format))
            let problems = findings.filter(\.isProblem).count
            let signed =
                report.signaturesVerified.map { "\($0) of \(report.digests) digest signature(s) verified" }
                ?? "digest signatures not checked (no --public-keys)"
            if let first = report.unmatchedSignatures.first {
                let more = report.unmatchedSignatures.count > 1 ? " and \(report.unmatchedSignatures.count - 1) more" : ""
                Console.err("kmsindex: audit: --signatures names digests not in the tree: \(TerminalText.escape(first))\(more)")
            }
            Console.err("kmsindex: audit: \(problems) problem(s), \(findings.count - problems) blind spot(s); \(signed)")
            if problems > 0 { throw ExitCode(1) }
        }
    }
}
