import Foundation
import GRDB

/// One finding of an audit.
package struct AuditFinding: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// A digest lists a log file that the index never ingested.
        case notIngested = "not-ingested"
        /// A log file the index read that no digest lists, though the digests of its folder
        /// cover its delivery: added to the bucket, not delivered by CloudTrail.
        case notInDigest = "not-in-digest"
        /// No digest file under the folders audited: nothing could be compared.
        case noDigests = "no-digests"
        /// Log files the index read in an account and region no digest covers, beside others
        /// that digests cover: they cannot be checked.
        case unvalidatedLogs = "unvalidated-logs"
        /// A digest lists a log file that was read but failed.
        case failed
        /// The content's SHA-256 differs from the digest's: altered or corrupted.
        case hashMismatch = "hash-mismatch"
        /// A log file's bytes differ from the ones ingested (their SHA-256 is not the one the
        /// ledger kept): what the index holds can no longer be checked against the digest.
        case changedSinceIngest = "changed-since-ingest"
        /// A log file whose content was not hashed at ingest could not be read to hash it now
        /// (removed since, or unreadable).
        case unverifiable
        /// Time no digest covers, between the first and last digest of a trail.
        case missingDigest = "missing-digest"
        /// Time no digest covers, followed by a digest that starts a new chain: log file
        /// validation or logging was stopped, then started again.
        case loggingRestarted = "logging-restarted"
        /// An account and region whose log files carry no KMS event at all.
        case noKMSEvents = "no-kms-events"
        /// A bucket seen only with bucket-level encryption context (S3 Bucket Keys).
        case bucketLevelOnly = "bucket-level-only"
        /// A digest file that could not be read.
        case unreadableDigest = "unreadable-digest"
        /// A break in a chain of digests: one removed, altered, replaced, added or moved.
        case digestChainBroken = "digest-chain-broken"
        /// A digest whose signature does not verify with CloudTrail's public key.
        case signatureInvalid = "signature-invalid"
        /// A digest signed with a key the public key files do not hold.
        case unknownKey = "unknown-key"
        /// A digest signed with a key outside the key's validity.
        case keyNotValidThen = "key-not-valid-then"
        /// A digest whose signature is not in the tree yet (the newest of its chain).
        case unsignedDigest = "unsigned-digest"
        /// The oldest digest of a chain names a previous digest not in the tree.
        case chainStart = "chain-start"

        /// How much a finding weighs: `high` for evidence of tampering (chain, signatures,
        /// content that differs from its digest).
        package var severity: Severity {
            switch self {
            case .hashMismatch, .changedSinceIngest, .notInDigest, .digestChainBroken, .signatureInvalid, .unknownKey,
                .keyNotValidThen:
                return .high
            case .notIngested, .failed, .missingDigest, .unreadableDigest, .unverifiable, .noDigests: return .medium
            case .noKMSEvents, .bucketLevelOnly, .unsignedDigest, .chainStart, .loggingRestarted, .unvalidatedLogs: return .info
            }
        }
    }

    package enum Severity: String, Sendable {
        case high, medium, info
    }

    package var kind: Kind
    package var subject: String
    package var detail: String

    /// True for findings that mean data is missing or altered (blind spots and notes on the
    /// chain of digests are informative).
    package var isProblem: Bool { kind.severity != .info }
}

/// Checks the index against CloudTrail digest files: did we index every log file CloudTrail
/// delivered, unaltered? Also reports blind spots of the index.
package struct Audit {
    package let index: IndexDatabase

    package init(index: IndexDatabase) { self.index = index }

    struct LedgerEntry: Sendable {
        var path: String
        var outcome: String
        var sha256: String?
        var fileSHA256: String?
        /// The file's size and modification time when it was ingested.
        var size: Int64 = 0
        var mtimeNs: Int64 = 0
        /// Where else the file may be: the same key under the tree the digest was read from
        /// (an index merged from shards keeps the paths of the machines that read them).
        var elsewhere: String?
    }

    struct DigestListing {
        var trailKey: String  // account/region/trail name: one hourly series of digests
        var startHour: Int
    }

    /// What `report` found.
    package struct Report: Sendable {
        package var findings: [AuditFinding]
        /// Digest files read whole (the ones the chain and signature checks could use).
        package var digests: Int
        /// Digests whose signature verified; nil when no public keys were given.
        package var signaturesVerified: Int?
        /// Contents hashed by this audit (the ledger had no `content_sha256` for them): path
        /// and SHA-256, for `storeContentHashes`.
        package var contentHashes: [(path: String, sha256: String)] = []
        /// Keys of the `--signatures` file that name no digest read (a typo leaves the newest
        /// digest unverified), sorted.
        package var unmatchedSignatures: [String] = []
    }

    /// Reads every digest file under `paths` and compares it with the ledger.
    package func run(paths: [String]) throws -> [AuditFinding] {
        try report(paths: paths).findings
    }

    /// Reads every digest file under `paths`, compares it with the ledger and checks the
    /// chain of digests; with `keys`, also their signatures (the newest digest of a chain
    /// only with its signature in `signatures`).
    package func report(paths: [String], keys: PublicKeySet? = nil, signatures: DigestSignatureFile? = nil) throws -> Report {
        // Every file of a name is checked against the digest that lists that name: a copy
        // elsewhere in the tree (altered, or cut short) is as much the log file as the one at
        // the digest's own key, and its events are in the index all the same.
        var ledger: [String: [LedgerEntry]] = [:]
        var checkedCopies = Set<String>()
        try index.queue.read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT path, outcome, content_sha256, file_sha256, size, mtime_ns FROM source_files")
            while let row = try rows.next() {
                let path: String = row["path"]
                let name = String(path.split(separator: "/").last ?? "")
                ledger[name, default: []].append(
                    LedgerEntry(
                        path: path, outcome: row["outcome"], sha256: row["content_sha256"], fileSHA256: row["file_sha256"],
                        size: row["size"], mtimeNs: row["mtime_ns"]))
            }
        }

        var findings: [AuditFinding] = []
        // Log files whose content the ledger has no hash of: hashed once the digests are read,
        // on two threads; their findings go where the file's check was.
        var unhashed: [(at: Int, entry: LedgerEntry, expected: String, subject: String)] = []
        var windowsBySeries: [String: [DigestWindow]] = [:]
        var folderBySeries: [String: String] = [:]
        var records: [DigestRecord] = []
        var digestFiles = 0
        // Names of the log files some digest lists, and the delivery windows the digests of each
        // log folder cover (`logFolder`).
        var listed = Set<String>()
        var covered: [String: [ClosedRange<Int64>]] = [:]
        try InputWalker().walk(
            paths, visit: { _ in },
            note: { note in
                guard case let .skipped(path, reason) = note, reason == "CloudTrail digest file" else { return }
                digestFiles += 1
                do {
                    let (digest, sha256) = try JSONFile.read(path)
                    if let start = digest["digestStartTime"]?.string.flatMap(EventTime.milliseconds),
                        let end = digest["digestEndTime"]?.string.flatMap(EventTime.milliseconds), start <= end
                    {
                        if let folder = Self.logFolder(ofDigest: InputWalker.absolute(path)) {
                            covered[folder, default: []].append(start...end)
                            folderBySeries[Self.series(path)] = folder
                        }
                        // Late `_backfill` digests cover time again; they are checked by their links only.
                        if !(path.split(separator: "/").last ?? "").contains("_backfill") {
                            windowsBySeries[Self.series(path), default: []].append(
                                DigestWindow(start: start, end: end, startsChain: digest["previousDigestS3Object"]?.string == nil))
                        }
                    }
                    do {
                        records.append(try DigestRecord(path: path, json: digest, contentSHA256: sha256))
                    } catch {
                        findings.append(AuditFinding(kind: .unreadableDigest, subject: path, detail: "\(error)"))
                    }
                    guard case .array(let files)? = digest["logFiles"] else { return }
                    for file in files {
                        guard let object = file["s3Object"]?.string else { continue }
                        let name = String(object.split(separator: "/").last ?? "")
                        listed.insert(name)
                        let bucket = file["s3Bucket"]?.string ?? ""
                        let subject = "s3://\(bucket)/\(object)"
                        guard let entries = ledger[name] else {
                            findings.append(AuditFinding(kind: .notIngested, subject: subject, detail: "listed by \(path)"))
                            continue
                        }
                        // The copies are checked at the first listing of the name and hash; later
                        // listings check the last row, as one copy each: linear in the listings.
                        let copies = checkedCopies.insert(name + "\u{0}" + (file["hashValue"]?.string ?? "")).inserted
                        for entry in copies ? entries[...] : entries.suffix(1) {
                            if entry.outcome == "failed" {
                                findings.append(AuditFinding(kind: .failed, subject: subject, detail: entry.path))
                                continue
                            }
                            guard let expected = file["hashValue"]?.string else { continue }
                            if let actual = entry.sha256, !Self.touchedSinceIngest(entry) {
                                findings += Self.compare(actual, expected, entry: entry, subject: subject)
                            } else {
                                var entry = entry
                                entry.elsewhere = Self.sameKey(object, besideDigest: path)
                                unhashed.append((findings.count, entry, expected, subject))
                            }
                        }
                    }
                } catch {
                    findings.append(AuditFinding(kind: .unreadableDigest, subject: path, detail: "\(error)"))
                }
            })
        let hashed = Self.hashContents(unhashed.map(\.entry))
        var contentHashes: [(path: String, sha256: String)] = []
        // The findings of the files hashed go where their checks were: merged in order, not
        // inserted one by one (each insertion moved every finding after it).
        var merged: [AuditFinding] = []
        merged.reserveCapacity(findings.count)
        var copied = 0
        for (item, result) in zip(unhashed, hashed) {
            merged += findings[copied..<item.at]
            copied = item.at
            var found: [AuditFinding] = []
            switch result {
            case .hashed(let sha256):
                contentHashes.append((item.entry.path, sha256))
                found = Self.compare(sha256, item.expected, entry: item.entry, subject: item.subject)
            case .changed(let detail):
                found = [AuditFinding(kind: .changedSinceIngest, subject: item.subject, detail: detail)]
            case .unreadable(let detail):
                found = [AuditFinding(kind: .unverifiable, subject: item.subject, detail: detail)]
            }
            merged += found
        }
        merged += findings[copied...]
        findings = merged
        for (series, windows) in windowsBySeries.sorted(by: { $0.key < $1.key }) {
            for gap in Self.uncovered(windows) {
                let hours = String(format: "%.1f hours", Double(gap.to - gap.from) / 3_600_000)
                let span = "\(isoTime(gap.from)) to \(isoTime(gap.to)) (\(hours))"
                findings.append(
                    gap.restarted
                        ? AuditFinding(
                            kind: .loggingRestarted, subject: series,
                            detail: span + ": no digest, and the next one starts a new chain: log file validation or logging "
                                + "was stopped, then started again")
                        : AuditFinding(kind: .missingDigest, subject: series, detail: span))
            }
        }
        for cut in Self.chainsCutShort(windowsBySeries) {
            let hours = String(format: "%.1f hours", Double(cut.trailEnd - cut.end) / 3_600_000)
            findings.append(
                AuditFinding(
                    kind: .missingDigest, subject: cut.series,
                    detail: "\(isoTime(cut.end)) to \(isoTime(cut.trailEnd)) (\(hours)): no digest after this chain's last, while the "
                        + "same trail's digests of \(cut.other) go on (a trail writes one every hour in each region, log files "
                        + "or not): removed, or the trail stopped logging in this region (made single-region, the region disabled)"))
            // Those hours count as covered: log files delivered in them are judged too.
            if let folder = folderBySeries[cut.series] { covered[folder, default: []].append(cut.end...cut.trailEnd) }
        }
        findings += Self.notInDigests(ledger: ledger, listed: listed, covered: covered)
        if !covered.isEmpty {
            findings += Self.unvalidated(ledger: ledger, covered: covered, under: paths.map(InputWalker.absolute))
        }
        if digestFiles == 0 {
            findings.append(
                AuditFinding(
                    kind: .noDigests, subject: paths.joined(separator: " "),
                    detail: "no CloudTrail digest file under it: nothing could be compared (is log file validation on for "
                        + "the trail, and does the sync copy CloudTrail-Digest/?)"))
        }
        let unreadable = Set(
            findings.filter { $0.kind == .unreadableDigest }.map { String($0.subject.split(separator: "/").last ?? "") })
        let chain = DigestChain(records, unreadable: unreadable)
        findings += chain.findings
        var verified: Int?
        if let keys {
            let checked = DigestSignatures(keys: keys, signatureFile: signatures)
                .check(records, indices: chain.checked, vouched: chain.vouchedSignatures, newest: chain.newest)
            findings += checked.findings
            verified = checked.verified
        }
        findings += try blindSpots()
        let objects = Set(records.map(\.object))
        let unmatched = (signatures?.signatures.keys).map { $0.filter { !objects.contains($0) }.sorted() } ?? []
        return Report(
            findings: findings, digests: records.count, signaturesVerified: verified, contentHashes: contentHashes,
            unmatchedSignatures: unmatched)
    }

    /// True when the file is still where it was ingested, with another size or modification
    /// time: its content hash, kept since, no longer says what the file holds, so the file is
    /// read again (and its bytes compared with those ingested). A file gone since is not: its
    /// content was compared when it was hashed.
    static func touchedSinceIngest(_ entry: LedgerEntry) -> Bool {
        var st = stat()
        guard stat(entry.path, &st) == 0 else { return false }
        return Int64(st.st_size) != entry.size || mtime(st) != entry.mtimeNs
    }

    /// A content's SHA-256 against the digest's.
    static func compare(_ actual: String, _ expected: String, entry: LedgerEntry, subject: String) -> [AuditFinding] {
        guard expected.lowercased() != actual else { return [] }
        return [AuditFinding(kind: .hashMismatch, subject: subject, detail: "\(entry.path): sha256 \(actual), digest says \(expected)")]
    }

    enum ContentHash: Sendable {
        case hashed(String)
        case changed(String)
        case unreadable(String)
    }

    /// `hashContent` of each entry, in order, on two threads: reading and hashing the content
    /// of every log file is most of a first audit.
    /// A file listed many times (digests can list one file any number of times) is read once.
    static func hashContents(_ entries: [LedgerEntry]) -> [ContentHash] {
        struct Source: Hashable {
            var path: String
            var elsewhere: String?
        }
        var slots: [Source: Int] = [:]
        var distinct: [LedgerEntry] = []
        let slot = entries.map { entry in
            let source = Source(path: entry.path, elsewhere: entry.elsewhere)
            if let known = slots[source] { return known }
            slots[source] = distinct.count
            distinct.append(entry)
            return distinct.count - 1
        }
        let sources = distinct
        let results = ResultSlots<ContentHash>(count: sources.count)
        DispatchQueue.concurrentPerform(iterations: min(2, sources.count)) { part in
            for k in stride(from: part, to: sources.count, by: 2) { results[k] = hashContent(of: sources[k]) }
        }
        let values = results.values
        return slot.map { values[$0] }
    }

    /// The SHA-256 of a log file's content, read now: only if the file's bytes are still the
    /// ones ingested (the ledger's `file_sha256`; rows older than schema 17 have none).
    static func hashContent(of entry: LedgerEntry) -> ContentHash {
        do {
            var path = entry.path
            if let elsewhere = entry.elsewhere, access(path, F_OK) != 0, access(elsewhere, F_OK) == 0 { path = elsewhere }
            let stream = try DecompressedStream(path: path, limit: 2 << 30, hashContent: true, hashFile: true)
            try stream.readToEnd()
            guard let content = stream.contentSHA256, let file = stream.fileSHA256 else {
                return .unreadable("\(entry.path): could not be read to its end")
            }
            if let recorded = entry.fileSHA256, recorded != file {
                return .changed("\(entry.path): its bytes' SHA-256 is \(file), the ledger recorded \(recorded) when it was ingested")
            }
            return .hashed(content)
        } catch ReadError.io(.open, ENOENT) {
            return .unreadable(
                "\(entry.path): no longer there, and its content was not hashed when it was ingested (ingest --content-sha256 does)")
        } catch {
            return .unreadable("\(entry.path): \(error)")
        }
    }

    /// The local path of S3 key `object` in the tree a digest file at `digestPath` was read
    /// from: both below the same `AWSLogs/` folder. Nil when either path has none.
    static func sameKey(_ object: String, besideDigest digestPath: String) -> String? {
        guard let root = digestPath.range(of: "/AWSLogs/", options: .backwards),
            let key = object.range(of: "AWSLogs/", options: .backwards)
        else { return nil }
        return String(digestPath[..<root.lowerBound]) + "/" + String(object[key.lowerBound...])
    }

    /// Keeps the contents an audit hashed in the ledger, so that the next audit compares them
    /// without reading the files again; rows that got a hash meanwhile keep theirs.
    package static func storeContentHashes(_ hashes: [(path: String, sha256: String)], in index: IndexDatabase) throws {
        guard !hashes.isEmpty else { return }
        try index.queue.write { db in
            // The row found as ingest finds it: by folder, hash and name.
            let statement = try db.makeStatement(
                sql: "UPDATE ledger_files SET content_sha256 = ?4 WHERE \(LedgerLookup.row) AND content_sha256 IS NULL")
            for (path, sha256) in hashes {
                try statement.execute(
                    arguments: StatementArguments(LedgerLookup.arguments(path) + [LedgerPath.sha256Bytes(sha256)]))
            }
        }
    }

    /// Accounts and regions without KMS events; buckets seen only at bucket level.
    func blindSpots() throws -> [AuditFinding] {
        var findings: [AuditFinding] = []
        var kmsByArea: [String: Int] = [:]
        try index.queue.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT path, kms_events FROM source_files WHERE outcome = 'ingested'")
            while let row = try rows.next() {
                guard let area = Self.accountRegion(row["path"]) else { continue }
                kmsByArea[area, default: 0] += row["kms_events"] as Int
            }
            for (area, n) in kmsByArea.sorted(by: { $0.key < $1.key }) where n == 0 {
                findings.append(
                    AuditFinding(
                        kind: .noKMSEvents, subject: area,
                        detail: "log files hold no KMS event: does the trail exclude kms.amazonaws.com?"))
            }
            let buckets = try String.fetchAll(
                db,
                sql: """
                    SELECT bucket FROM s3_locations WHERE bucket IS NOT NULL GROUP BY bucket
                    HAVING min(kind) = 'bucket' AND max(kind) = 'bucket' ORDER BY bucket
                    """)
            for bucket in buckets {
                findings.append(
                    AuditFinding(
                        kind: .bucketLevelOnly, subject: "s3://\(bucket)",
                        detail: "S3 Bucket Keys: reads of single objects are not recorded by KMS"))
            }
        }
        return findings
    }

    /// How long after the start of the digests' windows, and before their end, a log file's
    /// delivery must fall to be one a digest must list: CloudTrail names a file by the minute it
    /// delivers it, and a file delivered near a digest's end may be listed by the next one.
    static let coverageMargin: Int64 = 15 * 60_000

    /// The log files of `ledger` (read or failed) that no digest lists, in an account whose
    /// log folders the digests cover: one whose delivery (the time in its name) falls inside the
    /// windows the digests of its folder cover, away from the windows' ends by
    /// `coverageMargin`; and, in such an account, any file CloudTrail would not have written: not
    /// at `…/CloudTrail/REGION/YYYY/MM/DD/NAME`, a name not of CloudTrail's form, or a name whose
    /// time is not on its folder's day. Files of accounts (and regions) no digest covers are not
    /// judged: a trail without log file validation, or digests audited from another copy.
    static func notInDigests(ledger: [String: [LedgerEntry]], listed: Set<String>, covered: [String: [ClosedRange<Int64>]])
        -> [AuditFinding]
    {
        let windows = covered.mapValues(mergedWindows)
        let accounts = Set(windows.keys.map { String($0[..<($0.lastIndex(of: "/") ?? $0.endIndex)]) })
        let addedOrOther = "a file CloudTrail did not deliver (added to the bucket)"
        var found: [(path: String, finding: AuditFinding)] = []
        for (name, entries) in ledger where !listed.contains(name) {
            let delivered = deliveryTime(ofLogFile: name)
            for entry in entries where entry.outcome != "skipped" {
                let parts = entry.path.split(separator: "/", omittingEmptySubsequences: false)
                guard let i = parts.lastIndex(of: "CloudTrail"), accounts.contains(parts[...i].joined(separator: "/")) else { continue }
                var detail: String?
                let layout = Array(parts[(i + 1)...])
                if layout.count != 5 {
                    detail =
                        "the index read it, but it is not where CloudTrail writes log files (…/CloudTrail/REGION/YYYY/MM/DD/): \(addedOrOther)"
                } else if let folderWindows = windows[parts[...(i + 1)].joined(separator: "/")] {
                    if let delivered {
                        let day = String(layout[1] + layout[2] + layout[3])
                        if !name.contains("_\(day)T") {
                            detail =
                                "its name's time (\(minuteText(delivered))) is not on the day of its folder (\(layout[1...3].joined(separator: "/"))), as CloudTrail's always is: \(addedOrOther)"
                        } else if let window = lastWindow(startingBy: delivered, in: folderWindows),
                            window.lowerBound + coverageMargin <= delivered, delivered + 60_000 + coverageMargin <= window.upperBound
                        {
                            detail =
                                "no digest lists it, though the digests of its folder cover its delivery (\(minuteText(delivered)), "
                                + "within \(minuteText(window.lowerBound)) to \(minuteText(window.upperBound))): \(addedOrOther), or one "
                                + "another trail without log file validation wrote to the same folder"
                        }
                    } else {
                        detail =
                            "the index read it, but its name is not of the form CloudTrail gives its log files "
                            + "(ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz): \(addedOrOther)"
                    }
                }
                if let detail { found.append((entry.path, AuditFinding(kind: .notInDigest, subject: entry.path, detail: detail))) }
            }
        }
        return found.sorted { $0.path < $1.path }.map(\.finding)
    }

    /// The last of `windows` (sorted, as `mergedWindows` leaves them) that starts at or before
    /// `time`: a binary search, so that a folder of many gaps costs each file a logarithm.
    static func lastWindow(startingBy time: Int64, in windows: [ClosedRange<Int64>]) -> ClosedRange<Int64>? {
        var low = 0, high = windows.count
        while low < high {
            let middle = (low + high) / 2
            if windows[middle].lowerBound <= time { low = middle + 1 } else { high = middle }
        }
        return low > 0 ? windows[low - 1] : nil
    }

    /// The log folders (`…/ACCOUNT/CloudTrail/REGION`) under `roots` whose files the index read
    /// and no digest covers, while digests cover others: one finding each, with its count.
    static func unvalidated(ledger: [String: [LedgerEntry]], covered: [String: [ClosedRange<Int64>]], under roots: [String])
        -> [AuditFinding]
    {
        var files: [String: Int] = [:]
        for entries in ledger.values {
            for entry in entries where entry.outcome != "skipped" {
                guard let folder = logFolder(ofLog: entry.path), covered[folder] == nil,
                    roots.contains(where: { entry.path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") })
                else { continue }
                files[folder, default: 0] += 1
            }
        }
        return files.sorted { $0.key < $1.key }.map { folder, n in
            AuditFinding(
                kind: .unvalidatedLogs, subject: folder,
                detail: "\(n) log file(s) the index read, but no digest under the folders audited covers this account and "
                    + "region: they cannot be checked (log file validation off for the trail that writes them, or its "
                    + "digests not synced)")
        }
    }

    /// Windows sorted and joined where they meet or overlap (a minute apart at most).
    static func mergedWindows(_ windows: [ClosedRange<Int64>]) -> [ClosedRange<Int64>] {
        var merged: [ClosedRange<Int64>] = []
        for window in windows.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, window.lowerBound <= last.upperBound + 60_000 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, window.upperBound)
            } else {
                merged.append(window)
            }
        }
        return merged
    }

    /// `…/ACCOUNT/CloudTrail/REGION` of a log file's path, or of the log files a digest at
    /// `…/ACCOUNT/CloudTrail-Digest/REGION/…` covers (same bucket and prefix).
    static func logFolder(ofLog path: String) -> String? { folder(path, "CloudTrail") }
    static func logFolder(ofDigest path: String) -> String? { folder(path, "CloudTrail-Digest") }
    private static func folder(_ path: String, _ component: Substring) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let i = parts.lastIndex(of: component), i + 1 < parts.count - 1 else { return nil }
        return (parts[..<i] + ["CloudTrail", parts[i + 1]]).joined(separator: "/")
    }

    /// The delivery time (ms) in a log file's name, `ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
    static func deliveryTime(ofLogFile name: String) -> Int64? {
        let parts = name.split(separator: "_")
        guard parts.count >= 5, parts[1] == "CloudTrail" else { return nil }
        let t = Array(parts[3].utf8)
        guard t.count == 14, t[8] == UInt8(ascii: "T"), t[13] == UInt8(ascii: "Z"),
            t.enumerated().allSatisfy({ $0.offset == 8 || $0.offset == 13 || (48...57).contains($0.element) })
        else { return nil }
        func n(_ from: Int, _ count: Int) -> Int { t[from..<from + count].reduce(0) { $0 * 10 + Int($1 - 48) } }
        let (month, day, hour, minute) = (n(4, 2), n(6, 2), n(9, 2), n(11, 2))
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60 else { return nil }
        let days = Int64(EventTime.daysFromCivil(n(0, 4), month, day))
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000
    }

    /// `YYYY-MM-DDTHH:MMZ` of a time (floored to its minute).
    static func minuteText(_ ms: Int64) -> String {
        var minute = ms / 60_000
        if minute * 60_000 > ms { minute -= 1 }
        return String(isoTime(minute * 60_000).prefix(16)) + "Z"
    }

    /// `ACCOUNT/REGION/TRAIL` of a digest file path
    /// (`…/ACCOUNT_CloudTrail-Digest_REGION_TRAIL_REGION_YYYYMMDDTHHmmssZ.json.gz`).
    static func series(_ path: String) -> String {
        let name = String(path.split(separator: "/").last ?? "")
        let parts = name.components(separatedBy: "_")
        guard parts.count >= 6, parts[1] == "CloudTrail-Digest" else { return name }
        let trail = parts[3..<(parts.count - 2)].joined(separator: "_")
        return "\(parts[0])/\(parts[2])/\(trail)"
    }

    /// `ACCOUNT/REGION` of a log file path under `…/ACCOUNT/CloudTrail/REGION/…`.
    static func accountRegion(_ path: String) -> String? {
        let parts = path.split(separator: "/")
        guard let i = parts.lastIndex(of: "CloudTrail"), i > 0, i + 1 < parts.count else { return nil }
        return "\(parts[i - 1])/\(parts[i + 1])"
    }

    /// The window of time a digest covers (`digestStartTime` to `digestEndTime`), and whether
    /// it starts a chain (its previous fields null).
    struct DigestWindow {
        var start: Int64
        var end: Int64
        var startsChain: Bool
    }

    /// Chains (`ACCOUNT/REGION/TRAIL`) whose last digest ended more than two hours before the
    /// newest of the same trail and account in another region: CloudTrail writes a digest every
    /// hour in each region of a trail, so such a chain lost its newest digests (or the trail
    /// stopped logging there). With the end of the chain, the trail's newest end, and the chain
    /// that reaches it.
    static func chainsCutShort(_ windowsBySeries: [String: [DigestWindow]]) -> [(
        series: String, end: Int64, trailEnd: Int64, other: String
    )] {
        func trail(_ series: String) -> String {
            let parts = series.split(separator: "/", maxSplits: 2)
            return parts.count == 3 ? parts[0] + "/" + parts[2] : series
        }
        var ends: [String: Int64] = [:]
        var newest: [String: (end: Int64, series: String)] = [:]
        for (series, windows) in windowsBySeries {
            guard let end = windows.map(\.end).max() else { continue }
            ends[series] = end
            let key = trail(series)
            if let known = newest[key], known.end > end || (known.end == end && known.series < series) { continue }
            newest[key] = (end, series)
        }
        return ends.sorted { $0.key < $1.key }.compactMap { series, end in
            guard let last = newest[trail(series)], last.end - end > 2 * 3_600_000 else { return nil }
            return (series, end, last.end, last.series)
        }
    }

    /// Digests of one chain follow each other with no time between (a digest starts where the
    /// one before ended); a little is allowed.
    static let windowTolerance: Int64 = 5 * 60_000

    /// The time between the first and last of `windows` that none covers, one range per gap,
    /// however long (two digests a century apart are one gap, not 876,000 hours), with whether
    /// the digest after it starts a new chain. Judged by the windows, not by clock hours: a
    /// digest whose times drift across an hour's boundary leaves no gap.
    static func uncovered(_ windows: [DigestWindow]) -> [(from: Int64, to: Int64, restarted: Bool)] {
        let sorted = windows.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
        guard var reach = sorted.first?.end else { return [] }
        var gaps: [(from: Int64, to: Int64, restarted: Bool)] = []
        for window in sorted.dropFirst() {
            if window.start > reach + windowTolerance { gaps.append((reach, window.start, window.startsChain)) }
            reach = max(reach, window.end)
        }
        return gaps
    }

}

/// Results written by several threads, each to its own slots.
private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private var slots: [Value?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(k: Int) -> Value {
        get { lock.withLock { slots[k]! } }
        set { lock.withLock { slots[k] = newValue } }
    }

    var values: [Value] { lock.withLock { slots.map { $0! } } }
}
