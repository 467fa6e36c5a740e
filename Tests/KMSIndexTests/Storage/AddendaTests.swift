import Foundation
import GRDB
import XCTest

@testable import KMSIndex

/// CloudTrail's `addendum`: kept; and an UPDATED_DATA record supersedes the event it names,
/// whichever of the two the index gets first, by ingest or by merge.
final class AddendaTests: XCTestCase {
    let time = "2024-03-01T10:00:00Z"
    let originalID = "11111111-0000-4000-8000-000000000001"
    let updateID = "11111111-0000-4000-8000-000000000002"
    let object = "arn:aws:s3:::bucket/secret.txt"
    func identity(_ user: String) -> String {
        #"{"type":"IAMUser","principalId":"AIDA\#(user)","arn":"arn:aws:iam::111122223333:user/\#(user)","accountId":"111122223333","userName":"\#(user)"}"#
    }

    /// A Decrypt of the object by `user`, with an addendum when given.
    func record(_ id: String, _ user: String, at time: String? = nil, addendum: String? = nil) -> String {
        let text = kmsRecord(
            eventID: id, eventName: "Decrypt", eventTime: time ?? self.time, identity: identity(user),
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(object)"}}"#)
        guard let addendum else { return text }
        return String(text.dropLast()) + #","addendum":\#(addendum)}"#
    }

    func update(of original: String, reason: String = "UPDATED_DATA") -> String {
        #"{"reason":"\#(reason)","updatedFields":"userIdentity","originalRequestID":"r-1","originalEventID":"\#(original)"}"#
    }

    var n = 0
    func write(_ dir: TempDir, _ records: [String]) throws -> String {
        n += 1
        let path = try dir.write(
            "logs/" + logPath(stamp: "20240301T10\(String(format: "%02d", n))Z", unique: "Unique\(n)abcdefghi"), gzip(logFile(records)))
        return path
    }

    func readers(_ index: IndexDatabase) throws -> [String] {
        try index.queue.read { db in
            try String.fetchAll(
                db, sql: "SELECT event_id || ' ' || principal_arn FROM object_reads WHERE object_arn = ? ORDER BY event_id",
                arguments: [object])
        }
    }

    /// The summaries count what the events hold: each listing equals its count from the events.
    func assertSummariesTrue(_ index: IndexDatabase, file: StaticString = #filePath, line: UInt = #line) throws {
        for command in [["keys"], ["stats"], ["usage", "--by", "principal"]] {
            let summary = try runKMSIndex(command + ["--db", index.path, "--format", "json"]).stdout
            let counted = try runKMSIndex(command + ["--from-events", "--db", index.path, "--format", "json"]).stdout
            XCTAssertEqual(summary, counted, command.joined(separator: " "), file: file, line: line)
        }
    }

    func testAnUpdateAfterItsOriginalSupersedesIt() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let (first, _) = try ingest(index, [try write(dir, [record(originalID, "alice")])])
        XCTAssertEqual(first.eventsSuperseded, 0)
        let (second, _) = try ingest(index, [try write(dir, [record(updateID, "bob", addendum: update(of: originalID))])])
        XCTAssertEqual(second.eventsAdded, 1)
        XCTAssertEqual(second.eventsSuperseded, 1)
        XCTAssertEqual(try readers(index), ["\(updateID) arn:aws:iam::111122223333:user/bob"])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM events"), 1)
        XCTAssertEqual(
            try index.queue.read { db in
                try Row.fetchOne(db, sql: "SELECT reason, updated_fields, original_request_id, original_event_id FROM event_addenda_text")
            },
            ["reason": "UPDATED_DATA", "updated_fields": "userIdentity", "original_request_id": "r-1", "original_event_id": originalID])
        try assertSummariesTrue(index)
        // Delivered again, the original is removed again.
        let (again, _) = try ingest(index, [try write(dir, [record(originalID, "alice")])])
        XCTAssertEqual([again.eventsAdded, again.eventsSuperseded], [1, 1])
        XCTAssertEqual(try readers(index), ["\(updateID) arn:aws:iam::111122223333:user/bob"])
    }

    func testAnOriginalAfterItsUpdateIsRemovedByTheRunThatAddsIt() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try ingest(index, [try write(dir, [record(updateID, "bob", addendum: update(of: originalID))])])
        let before = try count(index, "SELECT max(id) FROM events")
        let (second, _) = try ingest(index, [try write(dir, [record(originalID, "alice")])])
        XCTAssertEqual(second.eventsSuperseded, 1)
        XCTAssertEqual(try readers(index), ["\(updateID) arn:aws:iam::111122223333:user/bob"])
        try assertSummariesTrue(index)
        // The removed event's id is not given again: a mark past it hides no later event.
        try ingest(index, [try write(dir, [record("11111111-0000-4000-8000-000000000003", "carol")])])
        XCTAssertEqual(try count(index, "SELECT max(id) FROM events"), before + 2)
        // Both in one file: the same.
        let other = try makeIndex(dir, name: "other.sqlite")
        let (both, _) = try ingest(
            other, [try write(dir, [record(originalID, "alice"), record(updateID, "bob", addendum: update(of: originalID))])])
        XCTAssertEqual([both.eventsAdded, both.eventsSuperseded], [2, 1])
        XCTAssertEqual(try readers(other), ["\(updateID) arn:aws:iam::111122223333:user/bob"])
    }

    /// A late delivery supersedes nothing; nor does an update at another time, or two updates
    /// that name each other.
    func testWhatSupersedesNothing() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let third = "11111111-0000-4000-8000-000000000003", fourth = "11111111-0000-4000-8000-000000000004"
        let (summary, _) = try ingest(
            index,
            [
                try write(
                    dir,
                    [
                        record(originalID, "alice"),
                        record(updateID, "bob", addendum: update(of: originalID, reason: "DELIVERY_DELAY")),
                        record(third, "carol", at: "2024-03-01T10:00:01Z", addendum: update(of: originalID)),
                        record(fourth, "dave", addendum: update(of: "11111111-0000-4000-8000-000000000005")),
                        record("11111111-0000-4000-8000-000000000005", "erin", addendum: update(of: fourth)),
                    ])
            ])
        XCTAssertEqual([summary.eventsAdded, summary.eventsSuperseded], [5, 0])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM event_addenda"), 4)
        XCTAssertEqual(try readers(index).count, 5)
    }

    /// B updates A, C updates B: the index keeps C alone, whatever order the three come in,
    /// by ingest or by merge.
    func testAChainKeepsItsLastWhateverTheOrder() throws {
        let a = originalID, b = updateID, c = "11111111-0000-4000-8000-000000000003"
        let records = [a: record(a, "alice"), b: record(b, "bob", addendum: update(of: a)), c: record(c, "carol", addendum: update(of: b))]
        let expected = ["\(c) arn:aws:iam::111122223333:user/carol"]
        for runs in [[[b, c], [a]], [[a], [c], [b]], [[c], [b, a]], [[a, b, c]]] {
            let dir = try TempDir()
            let index = try makeIndex(dir)
            for run in runs { try ingest(index, [try write(dir, run.map { records[$0]! })]) }
            XCTAssertEqual(try readers(index), expected, "\(runs)")
            try assertSummariesTrue(index)
            // A late second delivery of any of them changes nothing.
            try ingest(index, [try write(dir, [records[a]!, records[b]!])])
            XCTAssertEqual(try readers(index), expected, "\(runs), again")
        }
        // Shards: C in one, A and B in the other, merged either way.
        for order in [false, true] {
            let dir = try TempDir()
            let first = try makeIndex(dir, name: "first.sqlite"), second = try makeIndex(dir, name: "second.sqlite")
            try ingest(first, [try write(dir, [records[c]!])])
            try ingest(second, [try write(dir, [records[a]!, records[b]!])])
            let destination = try makeIndex(dir, name: "dest.sqlite")
            for shard in order ? [first, second] : [second, first] {
                _ = try IndexMerger(destination: destination).merge(shardPath: shard.path)
            }
            XCTAssertEqual(try readers(destination), expected, "merge \(order)")
            try assertSummariesTrue(destination)
        }
    }

    /// What only a superseded event named (its key and alias, caller and role, S3 location with
    /// its folder and bucket, trail) goes with it: the index is the one the update alone makes,
    /// whatever order the two come in, by ingest or by merge, and `stats` counts the same.
    let oldRole =
        #"{"type":"AssumedRole","principalId":"AROAOLDROLE:sess","arn":"arn:aws:sts::111122223333:assumed-role/OldRole/sess","accountId":"111122223333","accessKeyId":"ASIAOLDROLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAOLDROLE","arn":"arn:aws:iam::111122223333:role/OldRole","accountId":"111122223333","userName":"OldRole"}}}"#

    func testWhatOnlyASupersededEventNamedGoesWithIt() throws {
        let original = kmsRecord(
            eventID: originalID, eventTime: time, identity: oldRole,
            requestParameters:
                #"{"keyId":"alias/old-alias","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::old-bucket/old-folder/secret.txt","aws:cloudtrail:arn":"arn:aws:cloudtrail:us-west-2:111122223333:trail/OldTrail"}}"#,
            resources:
                #"[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-west-2:111122223333:key/99999999-2222-3333-4444-555555555555"}]"#
        )
        let updated = record(updateID, "bob", addendum: update(of: originalID))
        let tables = [
            "kms_keys", "kms_key_aliases", "trails", "s3_object_rows", "s3_folders", "s3_buckets", "principal_rows", "roles",
        ]
        func contents(_ index: IndexDatabase) throws -> [String] {
            var lines = try tables.map { "\($0) \(try count(index, "SELECT count(*) FROM \($0)"))" }
            // The files read differ by how the records came; what they hold must not.
            let stats = try runKMSIndex(["stats", "--db", index.path, "--format", "json"]).stdout
            lines += stats.split(separator: "\n").map(String.init).filter { !$0.contains("\"files_ingested\"") }
            lines.append(try runKMSIndex(["who-read", "--db", index.path, "arn:aws:s3:::old-bucket/old-folder/secret.txt"]).stdout)
            // Texts only the removed event held (context values, strings) stay until `prune`, as
            // strings always do: no command counts them.
            lines += try indexContents(index.path).filter {
                !$0.hasPrefix("context_values ") && !$0.hasPrefix("strings ") && !$0.hasPrefix("ingested ")
            }
            return lines
        }
        let dir = try TempDir()
        let alone = try makeIndex(dir, name: "alone.sqlite")
        try ingest(alone, [try write(dir, [updated])])
        let expected = try contents(alone)
        XCTAssertTrue(expected.contains("roles 0"), "\(expected)")
        for runs in [[[original], [updated]], [[updated], [original]], [[original, updated]]] {
            let index = try makeIndex(dir, name: "index-\(n).sqlite")
            for run in runs { try ingest(index, [try write(dir, run)]) }
            XCTAssertEqual(try contents(index), expected, "\(runs.map { $0.count })")
            try assertSummariesTrue(index)
        }
        // Merged: the original's shard into the update's, and the other way.
        for originalFirst in [false, true] {
            let withOriginal = try makeIndex(dir, name: "original-\(n).sqlite"), withUpdate = try makeIndex(dir, name: "update-\(n).sqlite")
            try ingest(withOriginal, [try write(dir, [original])])
            try ingest(withUpdate, [try write(dir, [updated])])
            let destination = try makeIndex(dir, name: "dest-\(n).sqlite")
            for shard in originalFirst ? [withOriginal, withUpdate] : [withUpdate, withOriginal] {
                _ = try IndexMerger(destination: destination).merge(shardPath: shard.path)
            }
            XCTAssertEqual(try contents(destination), expected, "merge, original first: \(originalFirst)")
        }
    }

    /// A caller and an S3 location that an S3 data event names too stay when the superseded
    /// event goes.
    func testWhatAnS3ReadNamesStays() throws {
        let object = "arn:aws:s3:::old-bucket/old-folder/secret.txt"
        let original = kmsRecord(
            eventID: originalID, eventTime: time, identity: oldRole,
            requestParameters: #"{"encryptionContext":{"aws:s3:arn":"\#(object)"}}"#)
        let read = S3ReadsTests.s3Event(
            "g-old", "GetObject", "2024-03-01T10:00:05Z", bucket: "old-bucket", key: "old-folder/secret.txt", identity: oldRole,
            bytes: 10)
        let dir = try TempDir()
        let index = try makeIndex(dir)
        var options = IngestOptions(paths: [
            try write(dir, [original, read]), try write(dir, [record(updateID, "bob", addendum: update(of: originalID))]),
        ])
        options.s3Reads = .all
        let summary = try Ingester(database: index, options: options).run()
        XCTAssertEqual([summary.eventsSuperseded, summary.s3ReadsAdded], [1, 1])
        XCTAssertEqual(try count(index, "SELECT count(*) FROM principals WHERE role_arn = 'arn:aws:iam::111122223333:role/OldRole'"), 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM s3_locations WHERE arn = ?", [object]), 1)
        XCTAssertEqual(try count(index, "SELECT count(*) FROM roles"), 1)
    }

    /// Each row left by removed events is looked up in an index that names it: no statement
    /// reads a whole table.
    func testWhatNamesARowIsLookedUpInAnIndex() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        try index.queue.write { db in
            _ = try UnreferencedRows.anyNoted(db)
            for (kind, namedBy) in UnreferencedRows.namedThroughIndexes {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + UnreferencedRows.keep(kind, namedBy: namedBy))
                    .map { $0["detail"] as String }
                XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN") }, "\(kind): \(plan)")
                XCTAssertTrue(plan.contains { $0.contains("USING COVERING INDEX") }, "\(kind): \(plan)")
            }
        }
    }

    /// Claims that lead in a circle supersede none of their members, however long the circle.
    func testACircleOfClaimsSupersedesNone() throws {
        let dir = try TempDir()
        let index = try makeIndex(dir)
        let ids = (1...3).map { String(format: "22222222-0000-4000-8000-%012d", $0) }
        try ingest(index, [try write(dir, [record(ids[0], "a", addendum: update(of: ids[2]))])])
        try ingest(
            index, [try write(dir, [record(ids[1], "b", addendum: update(of: ids[0])), record(ids[2], "c", addendum: update(of: ids[1]))])])
        XCTAssertEqual(try readers(index).count, 3)
        // Tarjan's components, iteratively: a circle of a hundred thousand is one component, a
        // chain of as many is as many.
        let n = 100_000
        XCTAssertEqual(Set(Addenda.components((0..<n).map { [($0 + 1) % n] })).count, 1)
        XCTAssertEqual(Set(Addenda.components((0..<n).map { $0 + 1 < n ? [$0 + 1] : [] })).count, n)
        XCTAssertEqual(Addenda.components([[1], [0], [1, 3], []]), [0, 0, 2, 1])
    }

    /// An S3 data event's update supersedes the read it corrects, whichever came first, by
    /// ingest or by merge: who read the object is the corrected caller only.
    func testAnS3ReadsUpdateSupersedesIt() throws {
        func read(_ id: String, _ user: String, addendum: String? = nil) -> String {
            let text = S3ReadsTests.s3Event(
                id, "GetObject", time, bucket: "bucket", key: "secret.txt", identity: identity(user), bytes: 10)
            guard let addendum else { return text }
            return String(text.dropLast()) + #","addendum":\#(addendum)}"#
        }
        let original = read(originalID, "alice"), corrected = read(updateID, "bob", addendum: update(of: originalID))
        func s3Readers(_ index: IndexDatabase) throws -> [String] {
            try index.queue.read { db in
                try String.fetchAll(db, sql: "SELECT event_id || ' ' || principal_arn FROM object_reads_all WHERE source = 's3' ORDER BY 1")
            }
        }
        let bob = ["\(updateID) arn:aws:iam::111122223333:user/bob"]
        for updateFirst in [false, true] {
            let dir = try TempDir()
            let index = try makeIndex(dir)
            var totals: [Int] = []
            for records in updateFirst ? [[corrected], [original]] : [[original], [corrected]] {
                var options = IngestOptions(paths: [try write(dir, records)])
                options.s3Reads = .all
                let summary = try Ingester(database: index, options: options).run()
                totals.append(summary.eventsSuperseded)
            }
            XCTAssertEqual(totals, [0, 1], "update first: \(updateFirst)")
            XCTAssertEqual(try s3Readers(index), bob, "update first: \(updateFirst)")
            XCTAssertEqual(
                try count(index, "SELECT count(*) FROM principals WHERE user_name = 'alice'"), 0, "alice's row goes with her read")
            let who = try runKMSIndex(["who-read", "--db", index.path, "--format", "json", "s3://bucket/secret.txt"])
            XCTAssertFalse(who.stdout.contains("alice"), who.stdout)
            XCTAssertTrue(who.stdout.contains("user/bob"), who.stdout)
        }
        // Merge: the shard's update supersedes the destination's read.
        let dir = try TempDir()
        let destination = try makeIndex(dir, name: "dest.sqlite"), shard = try makeIndex(dir, name: "shard.sqlite")
        for (index, record) in [(destination, original), (shard, corrected)] {
            var options = IngestOptions(paths: [try write(dir, [record])])
            options.s3Reads = .all
            _ = try Ingester(database: index, options: options).run()
        }
        let result = try IndexMerger(destination: destination).merge(shardPath: shard.path)
        XCTAssertEqual(result.eventsSuperseded, 1)
        XCTAssertEqual(try s3Readers(destination), bob)
    }

    /// Merge: the update in a shard supersedes the destination's original.
    func testMergeBringsAnUpdateThatSupersedesTheDestinationsOriginal() throws {
        let dir = try TempDir()
        let destination = try makeIndex(dir, name: "dest.sqlite")
        try ingest(destination, [try write(dir, [record(originalID, "alice"), record("11111111-0000-4000-8000-000000000009", "zoe")])])
        let shard = try makeIndex(dir, name: "shard.sqlite")
        try ingest(shard, [try write(dir, [record(updateID, "bob", addendum: update(of: originalID))])])
        let result = try IndexMerger(destination: destination).merge(shardPath: shard.path)
        XCTAssertEqual([result.eventsAdded, result.eventsSuperseded], [1, 1])
        XCTAssertEqual(
            try readers(destination),
            ["\(updateID) arn:aws:iam::111122223333:user/bob", "11111111-0000-4000-8000-000000000009 arn:aws:iam::111122223333:user/zoe"])
        XCTAssertEqual(try count(destination, "SELECT count(*) FROM event_addenda"), 1)
        try assertSummariesTrue(destination)
        // Merged again: nothing.
        let again = try IndexMerger(destination: destination).merge(shardPath: shard.path)
        XCTAssertEqual([again.eventsAdded, again.eventsSuperseded], [0, 0])
    }
}
