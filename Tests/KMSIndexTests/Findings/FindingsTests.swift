import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// `findings` on hand-written trees (`FindingsTree`): the exact findings of a history, of a
/// quiet day and of a day with each kind once, run after run as a nightly cron would.
final class FindingsTests: XCTestCase {
    typealias T = FindingsTree
    /// Folders kept for the whole test (a TempDir is removed when released).
    var folders: [TempDir] = []

    // XCTest keeps each test's instance to the end of the run: released here, the folders go
    // with their test.
    override func tearDown() {
        folders.removeAll()
        super.tearDown()
    }

    /// A finding as the tests compare it: kind, severity, time, subject, principal, eventIDs.
    func brief(_ f: Finding) -> String {
        [f.kind.rawValue, f.severity.rawValue, f.time, f.subject, f.principal ?? "-", f.eventIDs.joined(separator: " ")].joined(
            separator: " | ")
    }

    /// Runs as the command does without --since: collect, then mark what was printed.
    func nightly(_ index: IndexDatabase, digests: [String] = []) throws -> [Finding] {
        let run = try Findings.collect(index, window: .sinceLastRun, digestPaths: digests)
        try Findings.markReported(index, run)
        return run.findings
    }

    /// Ingests `tree`'s folder keeping reads of S3 objects as a default run does (`auto`).
    func ingestWithS3Reads(_ index: IndexDatabase, _ tree: FindingsTree) throws {
        var options = IngestOptions(paths: [tree.root])
        options.s3Reads = .auto
        _ = try Ingester(database: index, options: options).run()
    }

    /// The history ingested and reported once.
    func history(_ dir: TempDir) throws -> (FindingsTree, IndexDatabase) {
        folders.append(dir)
        var tree = T(dir)
        tree.history()
        try tree.write(days: [1, 2, 3, 4])
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        return (tree, index)
    }

    func testTheFirstRunReportsEachReaderOfTheLogsOnceForAllItsSessions() throws {
        let dir = try TempDir()
        let (_, index) = try history(dir)
        XCTAssertEqual(
            try nightly(index).map(brief),
            [
                "new-log-reader | high | 2024-03-01T09:00:05Z | \(T.logObject(1, 8, 30)) | \(T.auditors) | "
                    + [(1, 49), (1, 50), (2, 109), (2, 110), (3, 169), (3, 170), (4, 229), (4, 230)].map { T.eventID(day: $0, $1) }
                    .joined(separator: " "),
                "new-log-reader | high | 2024-03-01T12:00:05Z | \(T.logObject(1, 11, 30)) | \(T.archivist) | \(T.eventID(day: 1, 241))",
            ])
        // Nothing new: nothing.
        XCTAssertEqual(try nightly(index).map(brief), [])
    }

    /// The indexer's own principals (`own-principal add`) read every log file: never new readers.
    func testOwnPrincipalsAreNeverNewReaders() throws {
        let dir = try TempDir()
        let (_, index) = try history(dir)
        XCTAssertTrue(try index.queue.write { db in try OwnPrincipals.add(db, arn: T.archivist) })
        XCTAssertEqual(try nightly(index).map { $0.principal ?? "-" }, [T.auditors])
    }

    /// An own principal named by one session's ARN is that session only: the role's other
    /// sessions still make it a new reader, with the own session's reads left out (they were
    /// counted in its history, which hid the role).
    func testAnOwnSessionLeavesItsRolesOtherSessionsNewReaders() throws {
        let dir = try TempDir()
        let (_, index) = try history(dir)
        XCTAssertTrue(
            try index.queue.write { db in try OwnPrincipals.add(db, arn: "arn:aws:sts::111122223333:assumed-role/Auditors/audit-1a") })
        XCTAssertEqual(
            try nightly(index).map(brief),
            [
                "new-log-reader | high | 2024-03-01T12:00:05Z | \(T.logObject(1, 11, 30)) | \(T.archivist) | \(T.eventID(day: 1, 241))",
                "new-log-reader | high | 2024-03-01T15:00:05Z | \(T.logObject(1, 14, 30)) | \(T.auditors) | "
                    + [(1, 50), (2, 109), (2, 110), (3, 169), (3, 170), (4, 229), (4, 230)].map { T.eventID(day: $0, $1) }
                    .joined(separator: " "),
            ])
    }

    /// A surge of refused Decrypts is still a surge (a probe), and says the calls failed.
    func testASurgeOfRefusedCallsSaysTheyFailed() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        tree.history()
        tree.ordinaryDay(5)
        let denied = "arn:aws:iam::111122223333:role/Denied"
        for n in 0..<1_200 {
            tree.add(
                5, "Decrypt", at: T.time(5, 2, n / 60, n % 60), identity: T.role(denied, session: "d"),
                parameters: #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::app-data/x-\#(n).csv"}}"#, key: T.appKey,
                error: (code: "AccessDeniedException", message: "not allowed"))
        }
        try tree.write(days: [1, 2, 3, 4, 5])
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        let surge = try XCTUnwrap(try nightly(index).first { $0.kind == .decryptSurge })
        XCTAssertEqual(surge.principal, denied)
        XCTAssertEqual(
            surge.detail,
            "\(denied) made 1200 Decrypt calls (1200 of them failed) on 2024-03-05, more than 10 times its median day (0) of the 4 day(s) before"
        )
    }

    /// Reads of log files through S3 data events count as KMS Decrypts do: a role that only
    /// GETs the log files is a new reader; a role that read them through KMS before is not, nor
    /// an own principal.
    func testReadsThroughS3DataEventsFindNewReaders() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        tree.history()
        tree.quietDay()
        let lake = "arn:aws:iam::111122223333:role/DataLake", sync = "arn:aws:iam::111122223333:role/LogSync"
        let lakeRead = tree.s3LogRead(5, at: T.time(5, 13, 0, 1), identity: T.role(lake, session: "etl-1"), file: (11, 30))
        tree.s3LogRead(5, at: T.time(5, 13, 0, 2), identity: T.role(T.auditors, session: "audit-s3"), file: (11, 30))
        tree.s3LogRead(5, at: T.time(5, 13, 0, 3), identity: T.role(sync, session: "sync-5"), file: (11, 30))
        try tree.write(days: [1, 2, 3, 4])
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        _ = try nightly(index)
        XCTAssertTrue(try index.queue.write { db in try OwnPrincipals.add(db, arn: sync) })
        try tree.write(days: [5])
        try ingestWithS3Reads(index, tree)
        XCTAssertEqual(try index.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM s3_reads") }, 3)
        XCTAssertEqual(
            try nightly(index).map(brief),
            [
                "new-log-reader | high | 2024-03-05T13:00:01Z | \(T.logObject(5, 11, 30)) | \(lake) | \(lakeRead)"
            ])
        XCTAssertEqual(try nightly(index).map(brief), [])
    }

    /// prune removing the S3 reads of the largest ids (an older backlog ingested after the
    /// recent days) gives those ids again: the next night's new reader must not hide under the
    /// mark the last run left.
    func testANewReaderThroughS3AfterPruneIsStillFound() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        tree.history()
        tree.quietDay()
        tree.s3LogRead(5, at: T.time(5, 13, 0, 1), identity: T.role(T.auditors, session: "audit-s3"), file: (11, 30))
        tree.s3LogRead(2, at: T.time(2, 13, 0, 1), identity: T.role(T.auditors, session: "audit-s3b"), file: (11, 30))
        tree.s3LogRead(2, at: T.time(2, 13, 0, 2), identity: T.role(T.auditors, session: "audit-s3c"), file: (11, 30))
        let index = try makeIndex(dir)
        try tree.write(days: [5])
        try ingestWithS3Reads(index, tree)
        try tree.write(days: [1, 2, 3, 4])
        try ingestWithS3Reads(index, tree)
        _ = try nightly(index)
        _ = try Maintenance.prune(index, before: "2024-03-03T00:00:00Z")
        let exfil = "arn:aws:iam::111122223333:role/Exfil"
        tree.ordinaryDay(6)
        let read = tree.s3LogRead(6, at: T.time(6, 13, 0, 1), identity: T.role(exfil, session: "x"), file: (11, 30))
        try tree.write(days: [6])
        try ingestWithS3Reads(index, tree)
        XCTAssertEqual(
            try nightly(index).filter { $0.kind == .newLogReader }.map(brief),
            ["new-log-reader | high | 2024-03-06T13:00:01Z | \(T.logObject(6, 11, 30)) | \(exfil) | \(read)"])
    }

    func testAQuietDayReportsNothing() throws {
        let dir = try TempDir()
        var (tree, index) = try history(dir)
        _ = try nightly(index)
        tree.quietDay()
        try tree.write(days: [5])
        try ingest(index, [tree.root])
        let hash = try day5Hash(index)
        let digests = try tree.writeDigest(hashOfDay5: hash, missing: false)
        // Archivist read 4 days ago and again today, with another session: not new.
        XCTAssertEqual(try nightly(index, digests: [digests]).map(brief), [])
        XCTAssertEqual(try nightly(index, digests: [digests]).map(brief), [])
    }

    /// A reader whose reads a prune deleted is still a reader of before: Archivist read on day 1,
    /// the prune keeps days 3 on, and its read of day 5 is not a first one. A merged index keeps
    /// what the shard's prune noted.
    func testAReaderOfBeforeAPruneIsNotNewAfterIt() throws {
        let dir = try TempDir()
        var (tree, index) = try history(dir)
        _ = try nightly(index)
        _ = try Maintenance.prune(index, before: "2024-03-03T00:00:00Z")
        XCTAssertEqual(try count(index, "SELECT count(*) FROM log_readers_pruned WHERE principal = ?", [T.archivist]), 1)
        tree.quietDay()
        try tree.write(days: [5])
        try ingest(index, [tree.root])
        XCTAssertEqual(try nightly(index).map(brief), [])
        let destination = try makeIndex(dir, name: "merged.sqlite")
        _ = try IndexMerger(destination: destination).merge(shardPath: index.path)
        XCTAssertEqual(try count(destination, "SELECT count(*) FROM log_readers_pruned WHERE principal = ?", [T.archivist]), 1)
        XCTAssertFalse(try Findings.collect(destination, window: .all).findings.contains { $0.principal == T.archivist })
    }

    /// Day 5 with each kind once, then a run with nothing new.
    func busyIndex() throws -> (TempDir, FindingsTree, FindingsTree.Busy, IndexDatabase, String) {
        let dir = try TempDir()
        var (tree, index) = try history(dir)
        _ = try nightly(index)
        let busy = tree.busyDay()
        try tree.write(days: [5])
        try ingest(index, [tree.root])
        let hash = try day5Hash(index)
        return (dir, tree, busy, index, try tree.writeDigest(hashOfDay5: hash, missing: true))
    }

    func expectedBusyFindings(_ busy: FindingsTree.Busy) -> [String] {
        [
            "deliveries-stopped | high | 2024-03-05T10:00:00Z | \(T.deliverer) | - | \(busy.gapStart) \(busy.gapEnd)",
            "new-log-reader | high | 2024-03-05T13:00:00Z | \(T.logObject(5, 12, 30)) | \(T.intruder) | \(busy.intruderReads.joined(separator: " "))",
            "key-deletion-scheduled | high | 2024-03-05T16:00:00Z | \(T.logKey) | \(T.admin) | \(busy.deletion)",
            "key-policy-changed | high | 2024-03-05T16:20:00Z | \(T.logKey) | \(T.admin) | \(busy.policy)",
            "decrypt-surge | medium | 2024-03-05T01:00:30Z | \(T.appKey) | \(T.app) | \(busy.surgeFirst20.joined(separator: " "))",
            "log-read-denied | medium | 2024-03-05T14:00:00Z | \(T.trail) | \(T.mallory) | \(busy.denied)",
            "key-disabled | medium | 2024-03-05T16:10:00Z | \(T.appKey) | \(T.admin) | \(busy.disabled)",
            "key-grant-created-for-other-account | medium | 2024-03-05T16:30:00Z | \(T.appKey) | \(T.admin) | \(busy.grant)",
            "log-files-unaccounted | medium | 2024-03-06T00:05:00Z | s3://ct-logs/\(T.missingFile) | - | ",
        ]
    }

    func testABusyDayReportsEachKindOnceAndTheNextRunNothing() throws {
        let (_, _, busy, index, digests) = try busyIndex()
        let findings = try nightly(index, digests: [digests])
        XCTAssertEqual(findings.map(brief), expectedBusyFindings(busy))
        XCTAssertEqual(Set(findings.map(\.kind)), Set(Finding.Kind.allCases))
        let surge = try XCTUnwrap(findings.first { $0.kind == .decryptSurge })
        XCTAssertEqual(surge.events, 1_200)
        XCTAssertEqual(
            surge.detail, "\(T.app) made 1200 Decrypt calls on 2024-03-05, more than 10 times its median day (10) of the 4 day(s) before")
        XCTAssertEqual(
            findings.first { $0.kind == .keyGrantCreatedForOtherAccount }?.detail,
            "\(T.admin) created a grant for account 999988887777 (arn:aws:iam::999988887777:role/partner) on the key")
        // The digest still lists the missing file, the gap is still in day 5: reported once.
        XCTAssertEqual(try nightly(index, digests: [digests]).map(brief), [])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM findings_reported"), 2 + 9)
    }

    func testTheSameFindingHasTheSameIDInEveryRunAndEveryIndex() throws {
        let (_, _, _, index, digests) = try busyIndex()
        let first = try nightly(index, digests: [digests])
        // --since and --all report again, and move nothing.
        let mark = try count(index, "SELECT last_event_id FROM findings_state")
        let since = try Findings.collect(index, window: .since(StoredTime.milliseconds("2024-03-05T00:00:00Z")!), digestPaths: [digests])
        try Findings.markReported(index, since)
        XCTAssertEqual(since.findings.map(\.id), first.map(\.id))
        let all = try Findings.collect(index, window: .all, digestPaths: [digests]).findings
        XCTAssertEqual(Set(first.map(\.id)).subtracting(all.map(\.id)), [])
        XCTAssertEqual(try count(index, "SELECT last_event_id FROM findings_state"), mark)
        // Another index of the same logs (ids of rows differ): the same ids.
        let otherDir = try TempDir()
        folders.append(otherDir)
        let other = try makeIndex(otherDir)
        try ingest(other, [dirOf(index) + "/AWSLogs"])
        XCTAssertEqual(
            try Findings.collect(other, window: .all, digestPaths: [digests]).findings.map(\.id).sorted(), all.map(\.id).sorted())
    }

    /// `--since TIME` keeps a gap in deliveries that ends at or after that time, not one that
    /// ended before it on the same day.
    func testAGapThatEndedBeforeTheWindowIsNotTheWindows() throws {
        let (_, _, _, index, digests) = try busyIndex()
        func gaps(since time: String) throws -> [String] {
            try Findings.collect(index, window: .since(StoredTime.milliseconds(time)!), digestPaths: [digests]).findings
                .filter { $0.kind == .deliveriesStopped }.map(\.time)
        }
        XCTAssertEqual(try gaps(since: "2024-03-05T00:00:00Z"), ["2024-03-05T10:00:00Z"])
        XCTAssertEqual(try gaps(since: "2024-03-05T12:00:00Z"), ["2024-03-05T10:00:00Z"])  // still in the gap
        XCTAssertEqual(try gaps(since: "2024-03-05T13:00:00Z"), [])
    }

    func testASilencedReaderIsLeftOutAndTheOtherFindingsStay() throws {
        let (_, _, busy, index, digests) = try busyIndex()
        try Findings.silence(index, kind: .newLogReader, principal: T.intruder, subject: nil)
        let findings = try Findings.collect(index, window: .sinceLastRun, digestPaths: [digests]).findings
        XCTAssertEqual(findings.map(brief), expectedBusyFindings(busy).filter { !$0.hasPrefix("new-log-reader") })
        XCTAssertTrue(try Findings.unsilence(index, kind: .newLogReader, principal: T.intruder, subject: nil))
        XCTAssertFalse(try Findings.unsilence(index, kind: .newLogReader, principal: T.intruder, subject: nil))
        XCTAssertEqual(try Findings.collect(index, window: .sinceLastRun, digestPaths: [digests]).findings.count, 9)
    }

    /// Merge brings the events (and the grantees the grant finding needs), not the shard's
    /// watermark, reported findings or rules: those are the destination's own.
    func testMergeBringsGranteesButNotTheFindingsState() throws {
        let (dir, _, busy, shard, _) = try busyIndex()
        _ = try nightly(shard)
        try Findings.silence(shard, kind: .decryptSurge, principal: nil, subject: nil)
        let destination = try makeIndex(dir, name: "dest.sqlite")
        _ = try IndexMerger(destination: destination).merge(shardPath: shard.path)
        XCTAssertEqual(try count(destination, "SELECT count(*) FROM findings_reported"), 0)
        XCTAssertEqual(try count(destination, "SELECT count(*) FROM findings_silenced"), 0)
        XCTAssertEqual(try count(destination, "SELECT last_event_id FROM findings_state"), 0)
        XCTAssertEqual(try count(destination, "SELECT count(*) FROM event_grantees"), 2)
        let merged = try nightly(destination).map(brief)
        XCTAssertTrue(merged.contains(expectedBusyFindings(busy)[7]), merged.joined(separator: "\n"))
        XCTAssertTrue(merged.contains { $0.hasPrefix("decrypt-surge") })
    }

    /// Deliveries every 50 minutes after days of one every 5: no gap of an hour, but less
    /// than half the usual day, judged once the day is over in the data.
    func testADayFarBelowItsUsualDeliveriesWithoutAnHourGap() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        for day in 1...4 { for slot in 0..<288 { tree.delivery(day, slot / 12, slot % 12 * 5) } }
        for slot in 0..<29 { tree.delivery(5, slot * 50 / 60, slot * 50 % 60) }
        tree.delivery(6, 0, 5)
        try tree.write(days: [1, 2, 3, 4, 5, 6])
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        let findings = try Findings.collect(index, window: .since(StoredTime.milliseconds("2024-03-05T00:00:00Z")!)).findings
        XCTAssertEqual(findings.map(brief), ["deliveries-stopped | medium | 2024-03-05T00:00:00Z | \(T.deliverer) | - | "])
        XCTAssertEqual(
            findings.first?.detail,
            "29 log file(s) delivered on 2024-03-05, less than half of the usual 288 a day (median of the 4 day(s) before)")
    }

    /// A nightly run that brings whole UTC days: the low day is judged by the run that brings
    /// the first events after it, and a gap that ends exactly at midnight is the night's.
    func testNightlyRunsOfWholeDaysReportALowDayAndAGapEndingAtMidnight() throws {
        func nights(_ days: [[Int]], build: (inout T) -> Void) throws -> [[String]] {
            let dir = try TempDir()
            folders.append(dir)
            var tree = T(dir)
            build(&tree)
            let index = try makeIndex(dir)
            var out: [[String]] = []
            for night in days {
                try tree.write(days: night)
                try ingest(index, [tree.root])
                out.append(try nightly(index).filter { $0.kind == .deliveriesStopped }.map(\.detail))
            }
            return out
        }
        let low = try nights([[1, 2, 3, 4], [5], [6], [7]]) { tree in
            for day in [1, 2, 3, 4, 6, 7] { for slot in 0..<288 { tree.delivery(day, slot / 12, slot % 12 * 5) } }
            for slot in 0..<29 { tree.delivery(5, slot * 50 / 60, slot * 50 % 60) }
        }
        XCTAssertEqual(
            low,
            [[], [], ["29 log file(s) delivered on 2024-03-05, less than half of the usual 288 a day (median of the 4 day(s) before)"], []])
        let gap = try nights([[1, 2, 3, 4], [6], [7]]) { tree in
            for day in [1, 2, 3, 4, 6, 7] { for slot in 0..<288 { tree.delivery(day, slot / 12, slot % 12 * 5) } }
        }
        XCTAssertEqual(gap, [[], ["no log file delivered for 24.1 hours, from 2024-03-04T23:55:00Z to 2024-03-06T00:00:00Z"], []])
    }

    /// A quiet region delivers a file only when it has events: its usual hours of silence are
    /// not an outage, from its first day on, its first weekend included; a silence far longer
    /// than its own is.
    func testAQuietDelivererIsJudgedByItsOwnGaps() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        // Office hours only, every 20 minutes from 08:00 to 17:40, on weekdays (March 2024
        // starts on a Friday: days 2-3, 9-10 and 16-17 are a weekend) up to day 18; day 19
        // stops at 08:40 and day 20 resumes at 20:00.
        let weekend: Set<Int> = [2, 3, 9, 10, 16, 17]
        for day in 1...18 where !weekend.contains(day) { for slot in 0..<30 { tree.delivery(day, 8 + slot / 3, slot % 3 * 20) } }
        for slot in 0..<3 { tree.delivery(19, 8 + slot / 3, slot % 3 * 20) }
        for slot in 0..<6 { tree.delivery(20, 20 + slot / 2, slot % 2 * 30) }
        try tree.write(days: Array(1...20).filter { !weekend.contains($0) })
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        let findings = try Findings.collect(index, window: .all).findings
        XCTAssertEqual(
            findings.map(brief),
            [
                "deliveries-stopped | high | 2024-03-19T08:40:00Z | \(T.deliverer) | - | \(tree.deliveryIDs["19-17"] ?? "?") \(tree.deliveryIDs["20-40"] ?? "?")"
            ])
        XCTAssertEqual(findings.first?.detail, "no log file delivered for 35.3 hours, from 2024-03-19T08:40:00Z to 2024-03-20T20:00:00Z")
    }

    func testTheGapAllowedFollowsTheDaysBefore() {
        let hour: Int64 = 3_600_000
        func allowed(_ gaps: [Int64], endingOn day: Int = 100, usual: [Int] = []) -> Int64 {
            // The gaps of the days before `day`, the last one the day before.
            let longest = Dictionary(uniqueKeysWithValues: gaps.reversed().enumerated().map { (day - 1 - $0.offset, $0.element) })
            return DeliveryFindings.allowedGap(longestGaps: longest, endingOn: day, usualCounts: usual)
        }
        // Busy days: an hour at least.
        XCTAssertEqual(allowed([hour / 12, hour / 6]), hour)
        // Nights of 14 hours, less than a week: three days.
        XCTAssertEqual(allowed([14 * hour, 14 * hour]), 72 * hour)
        // Nine nights of 14 hours and an outage of 72: twice the 90th percentile.
        XCTAssertEqual(allowed(Array(repeating: 14 * hour, count: 9) + [72 * hour], endingOn: 110), 28 * hour)
        // Weeks of office hours: a gap ending on a Monday may be the weekend, not on a Tuesday.
        // Day 70 is a Monday; days 70-74, 77-81, 84-88, 91-95 are weekdays.
        var weekdays: [Int: Int64] = [:]
        for week in 0..<4 {
            for weekday in 0..<5 { weekdays[70 + 7 * week + weekday] = weekday == 0 ? 62 * hour : 14 * hour }
        }
        XCTAssertEqual(DeliveryFindings.allowedGap(longestGaps: weekdays, endingOn: 98, usualCounts: []), 93 * hour)
        XCTAssertEqual(DeliveryFindings.allowedGap(longestGaps: weekdays, endingOn: 99, usualCounts: []), 21 * hour)
        // No day before: three days, or 24 usual intervals (4 files a day: 144 hours).
        XCTAssertEqual(allowed([], usual: [30, 30, 3]), 72 * hour)
        XCTAssertEqual(allowed([], usual: [288]), 72 * hour)
        XCTAssertEqual(allowed([], usual: [4]), 144 * hour)
    }

    /// A delivery is CloudTrail's successful call: a trail whose key refuses it, or whose file
    /// names someone else calls for from an address, stopped delivering all the same.
    func testFailedAndForeignCallsAreNoDeliveries() throws {
        for foreign in [false, true] {
            let dir = try TempDir()
            folders.append(dir)
            var tree = T(dir)
            for day in 1...4 { for slot in 0..<48 { tree.delivery(day, slot / 2, slot % 2 * 30) } }
            for slot in 0..<20 { tree.delivery(5, slot / 2, slot % 2 * 30) }
            for slot in 20..<48 {
                if foreign {
                    tree.notADelivery(5, slot / 2, slot % 2 * 30, identity: T.role(T.app, session: "s"))
                } else {
                    tree.notADelivery(5, slot / 2, slot % 2 * 30, error: ("AccessDenied", "not allowed"))
                }
            }
            tree.delivery(6, 0, 0)
            try tree.write(days: [1, 2, 3, 4, 5, 6])
            let index = try makeIndex(dir)
            try ingest(index, [tree.root])
            let gaps = try Findings.collect(index, window: .all).findings.filter { $0.kind == .deliveriesStopped }
            XCTAssertEqual(
                gaps.map(\.detail), ["no log file delivered for 14.5 hours, from 2024-03-05T09:30:00Z to 2024-03-06T00:00:00Z"],
                "\(foreign)")
            // `trails` counts the deliveries only.
            let trails = try runKMSIndex(["trails", "--db", index.path, "--format", "csv"]).stdout
            XCTAssertTrue(trails.contains(",\(4 * 48 + 20 + 1),"), trails)
        }
    }

    /// A gap still open at the end of the data is measured to the newest event, and reported
    /// once: not again when deliveries resume.
    func testAGapAtTheEndOfTheDataIsReportedOnce() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        for day in 1...2 { for slot in 0..<48 { tree.delivery(day, slot / 2, slot % 2 * 30) } }
        tree.appDecrypt(2, at: T.time(2, 23, 55), 1)
        try tree.write(days: [1, 2])
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        _ = try nightly(index)
        for slot in 0..<40 { tree.delivery(3, slot / 2, slot % 2 * 30) }
        tree.appDecrypt(3, at: T.time(3, 21, 5), 2)
        try tree.write(days: [3])
        try ingest(index, [tree.root])
        XCTAssertEqual(
            try nightly(index).map(brief),
            [
                "deliveries-stopped | high | 2024-03-03T19:30:00Z | \(T.deliverer) | - | \(tree.deliveryIDs["3-39"] ?? "?")"
            ])
        XCTAssertEqual(
            try Findings.collect(index, window: .all).findings.first?.detail,
            "no log file delivered since 2024-03-03T19:30:00Z: 1.6 hours before the newest event in the index (2024-03-03T21:05:00Z)")
        for slot in 0..<48 { tree.delivery(4, slot / 2, slot % 2 * 30) }
        try tree.write(days: [4])
        try ingest(index, [tree.root])
        XCTAssertEqual(try nightly(index).map(brief), [])
    }

    /// Each delivery is recorded in a later log file, so at the end of the data the newest
    /// delivery known trails the newest event by about one of the deliverer's intervals: an
    /// hourly deliverer 2.5 hours behind is not late (2 hours allowed, 1.5 counted); 3.6 hours
    /// behind, it is.
    func testAGapStillOpenAllowsForTheDeliverersOwnInterval() throws {
        let dir = try TempDir()
        folders.append(dir)
        var tree = T(dir)
        for day in 1...4 { for hour in 0..<24 { tree.delivery(day, hour, 0) } }
        for hour in 0...20 { tree.delivery(5, hour, 0) }
        tree.appDecrypt(5, at: T.time(5, 22, 30), 1)
        try tree.write(days: [1, 2, 3, 4, 5])
        let index = try makeIndex(dir)
        try ingest(index, [tree.root])
        XCTAssertEqual(try nightly(index).map(brief), [])
        tree.appDecrypt(5, at: T.time(5, 23, 35), 2)
        try tree.write(days: [5])
        try ingest(index, [tree.root])
        XCTAssertEqual(
            try nightly(index).map(brief),
            ["deliveries-stopped | high | 2024-03-05T20:00:00Z | \(T.deliverer) | - | \(tree.deliveryIDs["5-40"] ?? "?")"])
    }

    /// Migration 009 puts the watermark at the events an index already holds: the first run
    /// after an upgrade reports what the next ingest adds; a new index starts at 0.
    func testAnUpgradedIndexStartsItsWatermarkAtItsEvents() throws {
        let dir = try TempDir()
        let path = dir.path + "/v8.sqlite"
        let queue = try indexBefore(migration: "009", at: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    PRAGMA application_id = \(IndexDatabase.applicationID);
                    INSERT INTO strings (id, text) VALUES (1, 'Decrypt');
                    INSERT INTO events (id, event_time, event_name_sid, source_file_id) VALUES (41, 0, 1, 1), (42, 1000, 1, 1);
                    """)
        }
        try queue.close()
        let upgraded = try IndexDatabase.openForWriting(path: path)
        XCTAssertEqual(try count(upgraded, "SELECT last_event_id FROM findings_state"), 42)
        XCTAssertEqual(try count(try makeIndex(dir), "SELECT last_event_id FROM findings_state"), 0)
    }

    /// The SHA-256 of the content of day 5's log file (what its digest lists).
    func day5Hash(_ index: IndexDatabase) throws -> String {
        let path = try XCTUnwrap(
            try index.queue.read { db in try String.fetchOne(db, sql: "SELECT path FROM source_files WHERE path LIKE '%Day5%'") })
        let stream = try DecompressedStream(path: path, limit: 1 << 30, hashContent: true)
        try stream.readToEnd()
        return try XCTUnwrap(stream.contentSHA256)
    }

    func dirOf(_ index: IndexDatabase) -> String { URL(fileURLWithPath: index.path).deletingLastPathComponent().path }
}

/// `kmsindex findings` as cron runs it: exit statuses, output, the mark.
final class FindingsCommandLineTests: XCTestCase {
    typealias T = FindingsTree

    func testExitStatusesOutputAndTheMark() throws {
        let dir = try TempDir()
        var tree = T(dir)
        tree.history()
        // A reader whose ARN carries a terminal escape (clear screen).
        let evil = "arn:aws:iam::111122223333:user/evil\u{1b}[2J"
        tree.logRead(
            4, at: T.time(4, 20, 0),
            identity:
                #"{"type":"IAMUser","principalId":"AIDAEVIL","arn":"arn:aws:iam::111122223333:user/evil\u001b[2J","accountId":"111122223333","userName":"evil"}"#,
            file: (19, 30))
        try tree.write(days: [1, 2, 3, 4])
        let db = dir.path + "/i.sqlite"
        XCTAssertEqual(try runKMSIndex(["ingest", "--quiet", "--db", db, tree.root]).status, 0)

        let first = try runKMSIndex(["findings", "--db", db])
        XCTAssertEqual(first.status, 3, first.stderr)
        let lines = first.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2 + 3, first.stdout)
        XCTAssertTrue(lines[0].hasPrefix("kind"), first.stdout)
        XCTAssertEqual(lines.filter { $0.hasPrefix("new-log-reader  high") }.count, 3, first.stdout)
        XCTAssertTrue(first.stdout.contains("user/evil\\x1b[2J"), first.stdout)
        XCTAssertFalse(first.stdout.contains("\u{1b}"))

        // Nothing new: nothing printed, status 0.
        let second = try runKMSIndex(["findings", "--db", db])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout + second.stderr, "")

        // --all reports again, as JSON, the caller's text intact; the mark stays.
        let all = try runKMSIndex(["findings", "--db", db, "--all", "--format", "json"])
        XCTAssertEqual(all.status, 3, all.stderr)
        let objects = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(objects.count, 3)
        XCTAssertEqual(
            Set(objects.flatMap(\.keys)), ["kind", "severity", "time", "subject", "principal", "detail", "events", "event_ids", "id"])
        XCTAssertEqual(Set(objects.compactMap { $0["principal"] as? String }), [T.auditors, T.archivist, evil])
        XCTAssertEqual((objects.first { $0["principal"] as? String == T.archivist }?["event_ids"] as? [String]), [T.eventID(day: 1, 241)])
        XCTAssertEqual(try runKMSIndex(["findings", "--db", db]).status, 0)

        // Silenced: that one no longer, the others still.
        XCTAssertEqual(try runKMSIndex(["findings", "--db", db, "--silence", "new-log-reader", "--principal", T.auditors]).status, 0)
        let silenced = try runKMSIndex(["findings", "--db", db, "--since", "2024-03-01", "--format", "ndjson"])
        XCTAssertEqual(silenced.status, 3, silenced.stderr)
        XCTAssertEqual(silenced.stdout.split(separator: "\n").count, 2)
        XCTAssertFalse(silenced.stdout.contains(T.auditors))

        // Errors: 2.
        XCTAssertEqual(try runKMSIndex(["findings", "--db", db, "--since", "yesterday-ish"]).status, 2)
        XCTAssertEqual(try runKMSIndex(["findings", "--db", db, "--since", "7d", "--all"]).status, 2)
        XCTAssertEqual(try runKMSIndex(["findings", "--db", db, "--silence", "no-such-kind"]).status, 2)
        XCTAssertEqual(try runKMSIndex(["findings", "--db", db, "--unsilence", "key-disabled"]).status, 2)
        // A rule with a run's options, which it would ignore, or naming a session findings never name.
        for extra in [["--all"], ["--since", "7d"], ["--digests", dir.path]] {
            let refused = try runKMSIndex(["findings", "--db", db, "--silence", "decrypt-surge"] + extra)
            XCTAssertEqual(refused.status, 2, "\(extra)")
            XCTAssertTrue(refused.stderr.contains("--silence and --unsilence take only --principal and --subject"), refused.stderr)
        }
        let session = "arn:aws:sts::111122223333:assumed-role/Auditors/audit-1a"
        let refused = try runKMSIndex(["findings", "--db", db, "--silence", "new-log-reader", "--principal", session])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("give the role's ARN"), refused.stderr)
        let rules = try runKMSIndex(["sql", "--db", db, "--format", "csv", "SELECT count(*) AS n FROM findings_silenced"])
        XCTAssertEqual(rules.stdout.split(whereSeparator: \.isNewline), ["n", "1"])
        // A --digests folder that does not exist would check nothing, every night.
        let typo = try runKMSIndex(["findings", "--db", db, "--digests", dir.path + "/no-such-folder"])
        XCTAssertEqual(typo.status, 2)
        XCTAssertTrue(typo.stderr.contains("no such file or folder"), typo.stderr)
        let missing = try runKMSIndex(["findings", "--db", dir.path + "/none.sqlite"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/none.sqlite"))
    }

    /// A run since the last one holds the index's lock from reading the findings to marking
    /// them (two runs at once print each finding once); a reader that closes the pipe early
    /// still gets status 3, and nothing is marked.
    func testANightlyRunIsOneAtATimeAndAClosedPipeIsStillFindings() throws {
        let dir = try TempDir()
        var tree = T(dir)
        tree.history()
        try tree.write(days: [1, 2, 3, 4])
        let db = dir.path + "/i.sqlite"
        XCTAssertEqual(try runKMSIndex(["ingest", "--quiet", "--db", db, tree.root]).status, 0)
        var lock: IndexLock? = try IndexLock(indexPath: db, timeout: 0)
        let blocked = try runKMSIndex(["findings", "--db", db, "--wait", "0"])
        XCTAssertEqual(blocked.status, 2, blocked.stderr)
        XCTAssertEqual(blocked.stdout, "", "nothing printed before the lock is taken")
        XCTAssertNotNil(lock)
        lock = nil

        // Standard output a pipe whose reader is gone.
        let process = Process()
        process.executableURL = kmsindexBinary
        process.arguments = ["findings", "--db", db]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        try pipe.fileHandleForReading.close()
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 3)
        let again = try runKMSIndex(["findings", "--db", db])
        XCTAssertEqual(again.status, 3, "nothing was marked: \(again.stderr)")
        XCTAssertEqual(again.stdout.split(separator: "\n").count, 2 + 2, again.stdout)
    }

    /// CSV and TSV hold only eventIDs in `event_ids` (`events` counts them all); the table
    /// says how many more there are.
    func testEventIDsOfDelimitedOutputAreEventIDs() {
        let ids = (1...25).map { String(format: "00000000-0000-4000-8000-%012d", $0) }
        let finding = Finding(
            .decryptSurge, .medium, time: "2024-03-01T00:00:00Z", subject: "key", principal: nil, detail: "surge",
            eventIDs: Array(ids.prefix(Finding.maxEventIDs)), events: 2050, identity: ["x"])
        for format in [OutputFormat.csv, .tsv] {
            let text = Finding.render([finding], format)
            XCTAssertFalse(text.contains("(+"), text)
            XCTAssertTrue(text.contains(ids.prefix(Finding.maxEventIDs).joined(separator: " ")), text)
        }
        XCTAssertTrue(Finding.render([finding], .table).contains("(+2047)"))
    }
}
