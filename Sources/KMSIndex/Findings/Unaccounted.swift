/// `log-files-unaccounted`: what `audit` finds against the digest files under the given folders
/// that means log files are missing or altered: a file a digest lists that the index never read
/// (`not-ingested`), content whose SHA-256 differs from the digest's (`hash-mismatch`), a file
/// changed since it was ingested (`changed-since-ingest`) or that can no longer be checked
/// (`unverifiable`), a file the index read that no digest lists where the digests cover its
/// delivery (`not-in-digest`), no digest at all under the folders (`no-digests`), an
/// hour without a digest (`missing-digest`), a break in the chain of digests
/// (`digest-chain-broken`) and, with CloudTrail's public keys, a digest whose signature fails
/// (`signature-invalid`, `unknown-key`, `key-not-valid-then`): the evidence of tampering is high.
enum UnaccountedFindings {
    /// The findings, and the contents the audit hashed (see `Audit.Report.contentHashes`).
    static func find(_ index: IndexDatabase, digestPaths: [String], keys: PublicKeySet? = nil) throws -> (
        findings: [Finding], contentHashes: [(path: String, sha256: String)]
    ) {
        guard !digestPaths.isEmpty else { return ([], []) }
        let report = try Audit(index: index).report(paths: digestPaths, keys: keys)
        let findings = report.findings.compactMap { audit -> Finding? in
            let severity: Finding.Severity
            let detail: String
            var time = ""
            if let (kindSeverity, explain) = fileKinds[audit.kind] {
                severity = kindSeverity
                detail = "\(audit.kind.rawValue): \(explain(audit.detail))"
                time = Audit.deliveryTime(ofLogFile: String(audit.subject.split(separator: "/").last ?? "")).map(isoTime) ?? ""
            } else {
                switch audit.kind {
                case .missingDigest:
                    // `FROM to TO (N hours)`: the finding's time is the gap's start.
                    severity = .low
                    detail = "missing-digest: no digest file for the hours from \(audit.detail)"
                    time = audit.detail.range(of: " to ").map { String(audit.detail[..<$0.lowerBound]) } ?? ""
                case .noDigests:
                    severity = .medium
                    detail = "no-digests: \(audit.detail)"
                case .digestChainBroken, .signatureInvalid, .unknownKey, .keyNotValidThen:
                    severity = .high
                    detail = "\(audit.kind.rawValue): \(audit.detail)"
                default:
                    return nil
                }
            }
            return Finding(
                .logFilesUnaccounted, severity, time: time, subject: audit.subject, principal: nil,
                detail: detail, eventIDs: [], events: 0,
                identity: [audit.kind.rawValue, audit.kind == .missingDigest || audit.kind == .digestChainBroken ? audit.detail : ""])
        }
        return (findings, report.contentHashes)
    }

    /// The audit's findings about one log file: their severity, and what the kind means before
    /// the audit's detail. The finding's time is the file's delivery, from its name.
    static let fileKinds: [AuditFinding.Kind: (Finding.Severity, @Sendable (String) -> String)] = [
        .hashMismatch: (.high, { "the log file's content differs from its digest (altered or corrupted): \($0)" }),
        .changedSinceIngest: (.high, { "the log file's bytes differ from those ingested: \($0)" }),
        .notInDigest: (.high, { "a log file the index read that no digest lists, in hours the digests cover: \($0)" }),
        .unverifiable: (.medium, { "the log file's content could not be compared with its digest: \($0)" }),
        .notIngested: (.medium, { "a digest lists this log file, which the index never read (\($0))" }),
    ]
}
