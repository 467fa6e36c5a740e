import Foundation
import GRDB

/// What one `findings` run found, before it is printed.
package struct FindingsRun: Sendable {
    /// Findings to print, most severe first; silenced ones and, since the last run, ones
    /// already reported are left out.
    package var findings: [Finding]
    package var window: FindingsWindow
    /// The highest event id the run looked at: the watermark once the findings are printed.
    package var upperEventID: Int64
    /// The highest S3 read id the run looked at: the watermark of reads from S3 data events.
    package var upperS3ReadID: Int64 = 0
    /// Contents of log files the audit of `--digests` hashed, to keep in the ledger.
    package var contentHashes: [(path: String, sha256: String)] = []
}

/// The nightly report: what changed that needs a human (see `Finding.Kind`).
package enum Findings {
    /// Finds what the window's events raise, and with `digestPaths` what the digest files under
    /// them say of the log files (and, with `publicKeys`, of the digests' signatures). Reads one
    /// snapshot; writes nothing (`markReported` does).
    package static func collect(
        _ index: IndexDatabase, window: FindingsWindow, digestPaths: [String] = [],
        publicKeys: PublicKeySet? = nil
    ) throws -> FindingsRun {
        var found: [Finding] = []
        var upper: Int64 = 0, upperS3: Int64 = 0
        try index.queue.read { db in
            let scope = try FindingsScope(db, window: window)
            upper = scope.upperEventID
            upperS3 = scope.upperS3ReadID
            found += try LogReadFindings.find(db, scope)
            found += try KeyChangeFindings.find(db, scope)
            found += try DeliveryFindings.find(db, scope)
            found += try DecryptSurgeFindings.find(db, scope)
        }
        let unaccounted = try UnaccountedFindings.find(index, digestPaths: digestPaths, keys: publicKeys)
        found += unaccounted.findings
        var seen = Set<String>()
        found = found.filter { seen.insert($0.id).inserted }
        try index.queue.read { db in
            let rules = try Row.fetchAll(db, sql: "SELECT kind, principal, subject FROM findings_silenced").map {
                (kind: $0["kind"] as String, principal: $0["principal"] as String, subject: $0["subject"] as String)
            }
            found.removeAll { f in
                rules.contains {
                    $0.kind == f.kind.rawValue && ($0.principal.isEmpty || $0.principal == f.principal)
                        && ($0.subject.isEmpty || $0.subject == f.subject)
                }
            }
            if window == .sinceLastRun && !found.isEmpty {
                let ids = found.map(\.id)
                let reported = Set(
                    try String.fetchAll(
                        db,
                        sql: """
                            SELECT finding_id FROM findings_reported WHERE finding_id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                            """, arguments: StatementArguments(ids)))
                found.removeAll { reported.contains($0.id) }
            }
        }
        return FindingsRun(
            findings: found.sorted(by: Finding.ordered), window: window, upperEventID: upper, upperS3ReadID: upperS3,
            contentHashes: unaccounted.contentHashes)
    }

    /// Once the findings of a run since the last one are printed: remembers them and moves the
    /// watermark to the events the run saw. Other windows change nothing.
    package static func markReported(_ index: IndexDatabase, _ run: FindingsRun) throws {
        guard run.window == .sinceLastRun else { return }
        let now = TimeFilter.iso(Date())
        try index.queue.write { db in
            for f in run.findings {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO findings_reported (finding_id, kind, reported_at) VALUES (?, ?, ?)",
                    arguments: [f.id, f.kind.rawValue, now])
            }
            // Never backwards: two runs at once leave the higher mark.
            try db.execute(
                sql: """
                    INSERT INTO findings_state (id, last_event_id, last_s3_read_id, reported_at) VALUES (1, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id),
                        last_s3_read_id = max(last_s3_read_id, excluded.last_s3_read_id), reported_at = excluded.reported_at
                    """, arguments: [run.upperEventID, run.upperS3ReadID, now])
        }
    }

    /// Stops reporting findings of `kind` (only those of `principal`, of `subject`, when given).
    package static func silence(_ index: IndexDatabase, kind: Finding.Kind, principal: String?, subject: String?) throws {
        try index.queue.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO findings_silenced (kind, principal, subject, added_at) VALUES (?, ?, ?, ?)",
                arguments: [kind.rawValue, principal ?? "", subject ?? "", TimeFilter.iso(Date())])
        }
    }

    /// Removes a rule `silence` added with the same values; false when there was none.
    package static func unsilence(_ index: IndexDatabase, kind: Finding.Kind, principal: String?, subject: String?) throws -> Bool {
        try index.queue.write { db in
            try db.execute(
                sql: "DELETE FROM findings_silenced WHERE kind = ? AND principal = ? AND subject = ?",
                arguments: [kind.rawValue, principal ?? "", subject ?? ""])
            return db.changesCount > 0
        }
    }
}
