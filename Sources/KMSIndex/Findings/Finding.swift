import KMSCrypto

/// One thing the nightly run raises for a human: a new reader of the logs, a key about to be
/// lost, deliveries that stopped, logs unaccounted for, an unusual volume of Decrypts.
package struct Finding: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        /// A principal (a role once for all its sessions) read a CloudTrail log file for the
        /// first time in the index's history.
        case newLogReader = "new-log-reader"
        /// A failed Decrypt of a CloudTrail log file.
        case logReadDenied = "log-read-denied"
        case keyDeletionScheduled = "key-deletion-scheduled"
        case keyDisabled = "key-disabled"
        case keyPolicyChanged = "key-policy-changed"
        case keyGrantCreatedForOtherAccount = "key-grant-created-for-other-account"
        /// A trail, account and region stopped delivering log files, or delivered far fewer.
        case deliveriesStopped = "deliveries-stopped"
        /// A log file a digest lists that the index lacks or holds altered, or a digest missing.
        case logFilesUnaccounted = "log-files-unaccounted"
        /// A principal's Decrypts in a day far above its usual day.
        case decryptSurge = "decrypt-surge"
    }

    package enum Severity: String, Sendable, Comparable {
        case high, medium, low

        var rank: Int { self == .high ? 0 : self == .medium ? 1 : 2 }
        package static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    package var kind: Kind
    package var severity: Severity
    /// When it happened (ISO-8601 UTC): the first event, or the start of a gap.
    package var time: String
    /// What it is about: an object, a key, a trail, or `trail account/region`.
    package var subject: String
    /// Who, when a principal is behind it: a role ARN for all its sessions, else the caller's ARN.
    package var principal: String?
    /// One readable sentence.
    package var detail: String
    /// CloudTrail eventIDs of the events behind it, oldest first (at most `maxEventIDs`).
    package var eventIDs: [String]
    /// How many events are behind it (more than `eventIDs` lists when large).
    package var events: Int
    /// The same finding has the same id in every run and every index: a hash of what identifies
    /// it (kind, subject, principal and the first event's eventID, a day or a gap's start), never
    /// of row ids.
    package var id: String

    /// eventIDs listed per finding.
    package static let maxEventIDs = 20

    init(
        _ kind: Kind, _ severity: Severity, time: String, subject: String, principal: String?, detail: String,
        eventIDs: [String], events: Int? = nil, identity: [String]
    ) {
        self.kind = kind
        self.severity = severity
        self.time = time
        self.subject = subject
        self.principal = principal
        self.detail = detail
        self.eventIDs = Array(eventIDs.prefix(Self.maxEventIDs))
        self.events = events ?? eventIDs.count
        self.id = Self.stableID([kind.rawValue, subject, principal ?? ""] + identity)
    }

    /// 16 hex digits of the SHA-256 of the parts, separated by a byte no part holds.
    static func stableID(_ parts: [String]) -> String {
        let digest = SHA256.hash(Array(parts.joined(separator: "\u{1F}").utf8))
        return Hex.encode(digest.prefix(8))
    }
}

extension Finding {
    /// The order findings are printed in: most severe first, then by time.
    static func ordered(_ a: Finding, _ b: Finding) -> Bool {
        (a.severity.rank, a.time, a.kind.rawValue, a.subject, a.id) < (b.severity.rank, b.time, b.kind.rawValue, b.subject, b.id)
    }

    /// Findings as rows: `event_ids` a JSON array in JSON and NDJSON, the first few joined by
    /// spaces in table, CSV and TSV (the table says how many more; CSV and TSV hold only
    /// eventIDs there, `events` counts them all).
    package static func render(_ findings: [Finding], _ format: OutputFormat) -> String {
        let columns = ["kind", "severity", "time", "subject", "principal", "detail", "events", "event_ids", "id"]
        switch format {
        case .json, .ndjson:
            let objects = findings.map { f -> String in
                let ids = "[" + f.eventIDs.map(JSONText.quoted).joined(separator: ",") + "]"
                let values = [
                    JSONText.quoted(f.kind.rawValue), JSONText.quoted(f.severity.rawValue), JSONText.quoted(f.time),
                    JSONText.quoted(f.subject), f.principal.map(JSONText.quoted) ?? "null", JSONText.quoted(f.detail),
                    String(f.events), ids, JSONText.quoted(f.id),
                ]
                return "{" + zip(columns, values).map { JSONText.quoted($0) + ":" + $1 }.joined(separator: ",") + "}"
            }
            if format == .ndjson { return objects.map { $0 + "\n" }.joined() }
            return objects.isEmpty ? "[]\n" : "[\n" + objects.map { "  " + $0 }.joined(separator: ",\n") + "\n]\n"
        case .table, .csv, .tsv:
            let shown = format == .table ? 3 : Finding.maxEventIDs
            let cells = findings.map { f -> [Cell] in
                var ids = f.eventIDs.prefix(shown).joined(separator: " ")
                if format == .table, f.events > shown { ids += " (+\(f.events - min(shown, f.eventIDs.count)))" }
                return [
                    .text(f.kind.rawValue), .text(f.severity.rawValue), .text(f.time), .text(f.subject), Cell(f.principal),
                    .text(f.detail), .integer(Int64(f.events)), .text(ids), .text(f.id),
                ]
            }
            return ResultTable(columns: columns, cells: cells).render(format)
        }
    }
}
