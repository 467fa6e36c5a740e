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
            switch audit.kind {
            case .hashMismatch:
                severity = .high
                detail = "hash-mismatch: the log file's content differs from its digest (altered or corrupted): \(audit.detail)"
                time = deliveryTime(audit.subject) ?? ""
            case .changedSinceIngest:
                severity = .high
                detail = "changed-since-ingest: the log file's bytes differ from those ingested: \(audit.detail)"
                time = deliveryTime(audit.subject) ?? ""
            case .unverifiable:
                severity = .medium
                detail = "unverifiable: the log file's content could not be compared with its digest: \(audit.detail)"
                time = deliveryTime(audit.subject) ?? ""
            case .notIngested:
                severity = .medium
                detail = "not-ingested: a digest lists this log file, which the index never read (\(audit.detail))"
                time = deliveryTime(audit.subject) ?? ""
            case .missingDigest:
                severity = .low
                if let to = audit.detail.range(of: " to ") {
                    detail = "missing-digest: no digest file for the hours from \(audit.detail)"
                    time = String(audit.detail[..<to.lowerBound])
                } else {
                    detail = "missing-digest: no digest file for the hour starting \(audit.detail)"
                    time = audit.detail
                }
            case .notInDigest:
                severity = .high
                detail = "not-in-digest: a log file the index read that no digest lists, in hours the digests cover: \(audit.detail)"
                time = deliveryTime(audit.subject) ?? ""
            case .noDigests:
                severity = .medium
                detail = "no-digests: \(audit.detail)"
            case .digestChainBroken, .signatureInvalid, .unknownKey, .keyNotValidThen:
                severity = .high
                detail = "\(audit.kind.rawValue): \(audit.detail)"
            default:
                return nil
            }
            return Finding(
                .logFilesUnaccounted, severity, time: time, subject: audit.subject, principal: nil,
                detail: detail, eventIDs: [], events: 0,
                identity: [audit.kind.rawValue, audit.kind == .missingDigest || audit.kind == .digestChainBroken ? audit.detail : ""])
        }
        return (findings, report.contentHashes)
    }

    /// The delivery time in a log file's name (`…_20240301T0005Z_…`), as ISO-8601.
    static func deliveryTime(_ path: String) -> String? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        for part in name.split(separator: "_") where part.count == 14 && part.last == "Z" {
            let c = Array(part)
            guard c[8] == "T", c.enumerated().allSatisfy({ $0.offset == 8 || $0.offset == 13 || $0.element.isNumber }) else { continue }
            let s = String(part)
            func at(_ i: Int, _ n: Int) -> Substring { s.dropFirst(i).prefix(n) }
            return "\(at(0, 4))-\(at(4, 2))-\(at(6, 2))T\(at(9, 2)):\(at(11, 2)):00Z"
        }
        return nil
    }
}
