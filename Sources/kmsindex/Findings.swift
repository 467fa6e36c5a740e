import ArgumentParser
import Foundation
import KMSIndex

extension KMSIndexCommand {
    struct FindingsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "findings",
            abstract: "Report what the indexed logs raise for a human: new log readers, keys at risk, stopped deliveries.",
            discussion: """
                Kinds: new-log-reader, log-read-denied, key-deletion-scheduled, key-disabled, \
                key-policy-changed, key-grant-created-for-other-account, deliveries-stopped, \
                log-files-unaccounted (with --digests), decrypt-surge. Without --since or --all: what \
                was indexed since the last such run, each finding once; the mark moves only once the \
                findings are printed. --silence KIND (with --principal, --subject) stops reporting \
                some; --unsilence undoes it. Exit status: 0 no finding, 3 findings, 2 error.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(
            help: ArgumentHelp(
                "Look at the events at or after this day or time instead (2024-03-01, 7d); reports again, moves no mark.",
                valueName: "time"))
        var since: String?

        @Flag(help: "Look at all of history; reports again what was already reported, moves no mark.")
        var all = false

        @Option(help: "Output format: table, csv, tsv, json, ndjson.")
        var format: OutputFormat = .table

        @Option(
            help: ArgumentHelp(
                "A folder of CloudTrail digest files to check the log files against (repeatable).", valueName: "path"))
        var digests: [String] = []

        @Option(
            name: .customLong("public-keys"),
            help: ArgumentHelp(
                "With --digests: CloudTrail's public keys (`aws cloudtrail list-public-keys > keys.json`; repeatable), to check the digests' signatures too.",
                valueName: "path"))
        var publicKeys: [String] = []

        @Option(help: ArgumentHelp("Stop reporting findings of this kind (with --principal, --subject: only those).", valueName: "kind"))
        var silence: Finding.Kind?

        @Option(help: ArgumentHelp("Remove a rule --silence added (the same --principal and --subject).", valueName: "kind"))
        var unsilence: Finding.Kind?

        @Option(help: ArgumentHelp("With --silence: only this principal (a role ARN covers its sessions).", valueName: "arn"))
        var principal: String?

        @Option(help: ArgumentHelp("With --silence: only this subject (object, key, trail and account/region).", valueName: "text"))
        var subject: String?

        @Option(
            help: ArgumentHelp(
                "Seconds to wait for an ingest (or another findings run) writing to the same index; a run since the last one "
                    + "holds the index's lock from reading the findings to marking them reported.", valueName: "seconds"))
        var wait: Double = 600

        mutating func validate() throws {
            if since != nil && all { throw ValidationError("--since and --all exclude each other") }
            if silence != nil && unsilence != nil { throw ValidationError("--silence and --unsilence exclude each other") }
            if (principal != nil || subject != nil) && silence == nil && unsilence == nil {
                throw ValidationError("--principal and --subject go with --silence or --unsilence")
            }
            if let since { _ = try window(since) }
            // A rule is kept for every later run: options of a run's window or checks would be
            // ignored, and silently leave the whole kind silenced.
            if silence != nil || unsilence != nil, since != nil || all || !digests.isEmpty || !publicKeys.isEmpty {
                throw ValidationError("--silence and --unsilence take only --principal and --subject (a rule for every later run)")
            }
            // Findings name a role's sessions by the role: a session's ARN would match nothing.
            if let principal, principal.hasPrefix("arn:aws"), principal.contains(":assumed-role/") {
                throw ValidationError(
                    "findings name an assumed role's sessions by the role: give the role's ARN (arn:aws:iam::ACCOUNT:role/NAME), not \(principal)"
                )
            }
            // A mistyped --digests path would check nothing, and pass, every night.
            for path in digests where access(path, F_OK) != 0 && errno == ENOENT {
                throw ValidationError("no such file or folder: \(path)")
            }
        }

        func window(_ text: String) throws -> FindingsWindow {
            do {
                guard let ms = StoredTime.milliseconds(try TimeFilter.since(text)) else { throw QueryError.notATime(text) }
                return .since(ms)
            } catch let error as QueryError {
                throw ValidationError(error.description)
            }
        }

        mutating func run() throws {
            let path = database.path
            if let kind = silence ?? unsilence {
                do {
                    _ = try IndexDatabase.openForReading(path: path)
                    let (principal, subject, silencing) = (principal, subject, silence != nil)
                    let removed = try underIndexLock(path, wait: wait) { index in
                        if silencing {
                            try Findings.silence(index, kind: kind, principal: principal, subject: subject)
                            return true
                        }
                        return try Findings.unsilence(index, kind: kind, principal: principal, subject: subject)
                    }
                    if !removed { throw failure("no such rule: \(kind.rawValue) \(principal ?? "") \(subject ?? "")") }
                } catch let status as ExitCode {
                    throw status
                } catch {
                    throw failure("\(error)")
                }
                return
            }
            let window: FindingsWindow
            let keys: PublicKeySet?
            do {
                window = try since.map(self.window) ?? (all ? .all : .sinceLastRun)
                keys = publicKeys.isEmpty ? nil : try PublicKeySet(paths: publicKeys)
            } catch {
                throw failure("\(error)")
            }
            let (digests, format) = (digests, format)
            // Since the last run: collected, printed and marked under the index lock, so that two
            // runs at once print each finding once (the second finds it marked).
            guard window != .sinceLastRun else {
                var found = false
                do {
                    _ = try IndexDatabase.openForReading(path: path)  // migrated, or refused, as a query
                    try underIndexLock(path, wait: wait) { writable in
                        let run = try Findings.collect(writable, window: window, digestPaths: digests, publicKeys: keys)
                        found = !run.findings.isEmpty
                        Self.print(run, format)
                        try Findings.markReported(writable, run)
                        try Audit.storeContentHashes(run.contentHashes, in: writable)
                    }
                } catch {
                    throw failure(writing: path, error)
                }
                if found { throw ExitCode(3) }
                return
            }
            let run: FindingsRun
            do {
                run = try Findings.collect(
                    try IndexDatabase.openForReading(path: path), window: window, digestPaths: digests, publicKeys: keys)
            } catch {
                throw failure("\(error)")
            }
            Self.print(run, format)
            do {
                try underIndexLock(path, wait: wait) { writable in try Audit.storeContentHashes(run.contentHashes, in: writable) }
            } catch {
                throw failure(writing: path, error)
            }
            if !run.findings.isEmpty { throw ExitCode(3) }
        }

        /// Prints the run's findings; nothing found prints nothing (JSON: []), so that cron mails
        /// nothing. A reader that closes the pipe early (`| head -1`) still learns that there
        /// were findings (status 3); none is marked reported.
        static func print(_ run: FindingsRun, _ format: OutputFormat) {
            if !run.findings.isEmpty { Console.brokenPipeStatus = 3 }
            if !run.findings.isEmpty || format == .json { Console.out(Finding.render(run.findings, format)) }
        }
    }
}

extension Finding.Kind: ExpressibleByArgument {}
