import Foundation
import XCTest

@testable import KMSIndexSynth

/// What the records hold: the mix of services, the KMS oddities an indexer must handle.
final class ContentTests: XCTestCase {
    func testAboutOneRecordInFiveIsKMS() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let share = Double(tree.kmsRecords.count) / Double(tree.records.count)
        XCTAssertGreaterThan(tree.records.count, 1000)
        XCTAssertEqual(share, 0.2, accuracy: 0.04)
    }

    func testEveryUserIdentityTypeCallsKMS() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let kmsTypes = Set(tree.kmsRecords.compactMap { $0.record.string(at: "userIdentity", "type") })
        let expected: Set<String> = [
            "Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSAccount", "AWSService", "IdentityCenterUser",
            "SAMLUser", "WebIdentityUser", "Directory", "Unknown",
        ]
        XCTAssertEqual(kmsTypes, expected)
        XCTAssertTrue(tree.kmsRecords.contains { $0.record["userIdentity"] == nil }, "a KMS record without userIdentity")
        XCTAssertTrue(
            tree.records.contains { $0.record["userIdentity"] == nil && $0.record["eventSource"] as? String != "kms.amazonaws.com" })
        // AWSService: invokedBy, no ARN.
        for (_, record) in tree.kmsRecords where record.string(at: "userIdentity", "type") == "AWSService" {
            XCTAssertNotNil(record.string(at: "userIdentity", "invokedBy"))
            XCTAssertNil(record.string(at: "userIdentity", "arn"))
        }
    }

    func testAssumedRoleSessions() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let roles = tree.records.map(\.record).filter { $0.string(at: "userIdentity", "type") == "AssumedRole" }
        XCTAssertFalse(roles.isEmpty)
        for record in roles {
            let arn = try XCTUnwrap(record.string(at: "userIdentity", "arn"))
            let issuer = try XCTUnwrap(record.string(at: "userIdentity", "sessionContext", "sessionIssuer", "arn"))
            XCTAssertEqual(record.string(at: "userIdentity", "sessionContext", "sessionIssuer", "type"), "Role")
            let parts = arn.split(separator: "/")
            XCTAssertTrue(arn.hasPrefix("arn:aws:sts::") && arn.contains(":assumed-role/") && parts.count == 3, arn)
            XCTAssertTrue(issuer.hasPrefix("arn:aws:iam::") && issuer.hasSuffix("/" + parts[1]), issuer)
        }
        XCTAssertTrue(roles.contains { $0.string(at: "userIdentity", "sessionContext", "sourceIdentity") != nil })
        XCTAssertTrue(roles.contains { $0["sessionCredentialFromConsole"] as? String == "true" })
        // Both spellings of creationDate.
        let dates = roles.compactMap { $0.string(at: "userIdentity", "sessionContext", "attributes", "creationDate") }
        XCTAssertTrue(dates.contains { $0.count == 20 && $0.contains("-") })
        XCTAssertTrue(dates.contains { $0.count == 16 && !$0.contains("-") })
    }

    func testEveryKeyIdForm() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let kms = tree.kmsRecords.map(\.record)
        let keyIDs = kms.compactMap { $0.string(at: "requestParameters", "keyId") }
        XCTAssertTrue(keyIDs.contains { $0.hasPrefix("arn:aws:kms:") && $0.contains(":key/") })
        XCTAssertTrue(keyIDs.contains { $0.hasPrefix("arn:aws:kms:") && $0.contains(":alias/") })
        XCTAssertTrue(keyIDs.contains { $0.hasPrefix("alias/") })
        XCTAssertTrue(
            keyIDs.contains {
                $0.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"#, options: .regularExpression) != nil
            })
        XCTAssertTrue(kms.contains { $0["eventName"] as? String == "Decrypt" && $0.string(at: "requestParameters", "keyId") == nil })

        // Typed resources; and old records with none, whose keyId is then a key ARN.
        let typed = kms.compactMap { $0["resources"] as? [[String: Any]] }.joined()
        XCTAssertTrue(typed.contains { $0["type"] as? String == "AWS::KMS::Key" && ($0["ARN"] as? String)?.contains(":key/") == true })
        let bare = kms.filter { $0["resources"] == nil && $0["requestParameters"] is [String: Any] }
        XCTAssertFalse(bare.isEmpty)
        for record in bare where record["eventName"] as? String != "ReEncrypt" {
            XCTAssertTrue(record.string(at: "requestParameters", "keyId")?.contains(":key/") ?? false)
        }
    }

    func testReEncryptNamesBothKeys() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let records = tree.kmsRecords.map(\.record).filter { $0["eventName"] as? String == "ReEncrypt" }
        XCTAssertFalse(records.isEmpty)
        for record in records {
            XCTAssertNotNil(record.string(at: "requestParameters", "destinationKeyId"))
            XCTAssertNotNil(record.value(at: ["requestParameters", "sourceEncryptionContext"]))
            XCTAssertNotNil(record.value(at: ["requestParameters", "destinationEncryptionContext"]))
            XCTAssertEqual((record["resources"] as? [Any])?.count, 2)
        }
    }

    func testFailuresAndHostileText() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let kms = tree.kmsRecords.map(\.record)
        let codes = Set(kms.compactMap { $0["errorCode"] as? String })
        XCTAssertTrue(codes.isSuperset(of: ["AccessDenied", "IncorrectKeyException", "KMSInvalidStateException", "DisabledException"]))
        for record in kms where record["errorCode"] != nil {
            XCTAssertNotNil(record["errorMessage"] as? String)
        }
        let agents = tree.records.compactMap { $0.record["userAgent"] as? String }
        XCTAssertTrue(agents.contains { $0.contains("\u{1B}[2J") })
        XCTAssertTrue(agents.contains { $0.contains("\n") })
        XCTAssertTrue(agents.contains { $0.contains("\"") })
        let times = tree.records.compactMap { $0.record["eventTime"] as? String }
        XCTAssertTrue(
            times.contains { $0.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil })
        XCTAssertGreaterThan(times.filter { $0.count == 20 }.count, times.count * 9 / 10)
    }

    /// The same call in two accounts' trees: same sharedEventID, different eventID and
    /// recipientAccountId.
    func testCrossAccountPairs() throws {
        let (_, tree) = try TreeCache.shared.tree()
        var byShared: [String: [[String: Any]]] = [:]
        for (_, record) in tree.kmsRecords {
            if let shared = record["sharedEventID"] as? String { byShared[shared, default: []].append(record) }
        }
        let pairs = byShared.values.filter { Set($0.compactMap { $0["eventID"] as? String }).count == 2 }
        XCTAssertFalse(pairs.isEmpty)
        for pair in pairs {
            let recipients = Set(pair.compactMap { $0["recipientAccountId"] as? String })
            XCTAssertEqual(recipients.count, 2)
            XCTAssertTrue(pair.contains { $0.string(at: "userIdentity", "type") == "AWSAccount" })
        }
    }

    /// Some records are delivered twice, byte for byte, in two different files.
    func testDuplicateDeliveries() throws {
        let (_, tree) = try TreeCache.shared.tree()
        var firstSeen: [String: (path: String, bytes: Data)] = [:]
        var duplicates = 0
        var kmsDuplicates = 0
        for file in tree.logFiles {
            for slice in try topLevelRecords(file.content) {
                let record = try XCTUnwrap(JSONSerialization.jsonObject(with: slice) as? [String: Any])
                let id = try XCTUnwrap(record["eventID"] as? String)
                if let earlier = firstSeen[id] {
                    duplicates += 1
                    if record["eventSource"] as? String == "kms.amazonaws.com" { kmsDuplicates += 1 }
                    XCTAssertNotEqual(earlier.path, file.path)
                    XCTAssertEqual(earlier.bytes, slice, "duplicate \(id) is not byte-identical")
                } else {
                    firstSeen[id] = (file.path, slice)
                }
            }
        }
        XCTAssertGreaterThan(kmsDuplicates, 0)
        XCTAssertLessThan(Double(duplicates), Double(tree.records.count) * 0.02)
    }

    /// CloudTrail's flows: the key check on the bucket prefix, a GenerateDataKey naming each log
    /// file logged in a later file, and Decrypts of log files by their readers.
    func testCloudTrailDeliveryAndReads() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let kms = tree.kmsRecords
        let logArn = { (record: [String: Any]) in record.string(at: "requestParameters", "encryptionContext", "aws:s3:arn") }
        let trailContext = kms.filter { $0.record.string(at: "requestParameters", "encryptionContext", "aws:cloudtrail:arn") != nil }
        XCTAssertTrue(
            trailContext.contains { logArn($0.record)?.hasSuffix("/") == true && $0.record["eventName"] as? String == "GenerateDataKey" })

        var writerFile: [String: String] = [:]
        for (path, record) in trailContext where record["eventName"] as? String == "GenerateDataKey" {
            if let arn = logArn(record), arn.hasSuffix(".json.gz") {
                writerFile[String(arn.split(separator: "/", maxSplits: 1)[1])] = path
            }
        }
        // All but the files delivered last have their writer event, in another, later file.
        var found = 0
        for file in tree.logFiles {
            guard let holder = writerFile[file.path] else { continue }
            found += 1
            XCTAssertNotEqual(holder, file.path)
            XCTAssertGreaterThan(Self.stamp(holder), Self.stamp(file.path))
        }
        XCTAssertGreaterThan(found, tree.logFiles.count * 3 / 4)

        let reads = trailContext.filter { $0.record["eventName"] as? String == "Decrypt" }
        XCTAssertFalse(reads.isEmpty)
        for (_, record) in reads {
            let arn = try XCTUnwrap(logArn(record))
            XCTAssertNotNil(tree.logFiles.first { arn.hasSuffix("/" + $0.path) }, "read of an unknown file \(arn)")
        }
        XCTAssertTrue(reads.contains { $0.record.string(at: "userIdentity", "type") == "AssumedRole" })
        XCTAssertTrue(
            reads.contains {
                ["internal.amazonaws.com", "AWS Internal", "s3.amazonaws.com"].contains($0.record["sourceIPAddress"] as? String ?? "")
            })
    }

    func testOtherServicesAndTheirContexts() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let records = tree.records.map(\.record)
        let names = Set(records.map { "\($0["eventSource"] as? String ?? "?") \($0["eventName"] as? String ?? "?")" })
        for expected in [
            "s3.amazonaws.com GetObject", "s3.amazonaws.com PutObject", "ec2.amazonaws.com DescribeInstances",
            "sts.amazonaws.com AssumeRole", "signin.amazonaws.com ConsoleLogin", "lambda.amazonaws.com Invoke",
        ] {
            XCTAssertTrue(names.contains(expected), expected)
        }
        XCTAssertTrue(names.contains { $0.hasPrefix("iam.amazonaws.com ") })
        let describe = try XCTUnwrap(records.first { $0["eventName"] as? String == "DescribeInstances" })
        XCTAssertNotNil(describe.value(at: ["responseElements", "reservationSet", "items"]))
        let policy = try XCTUnwrap(records.compactMap { $0.string(at: "requestParameters", "policyDocument") }.first)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(policy.utf8)) as? [String: Any])

        let contexts = tree.kmsRecords.compactMap { $0.record.value(at: ["requestParameters", "encryptionContext"]) as? [String: String] }
        XCTAssertTrue(contexts.contains { $0["aws:lambda:FunctionArn"] != nil })
        XCTAssertTrue(contexts.contains { $0["aws:ebs:id"] != nil })
        XCTAssertTrue(contexts.contains { $0["department"] == "finance" })

        let all = tree.logFiles.map { String(decoding: $0.content, as: UTF8.self) }.joined()
        XCTAssertTrue(all.contains("本番") || all.contains("サーバー"))
        XCTAssertTrue(all.contains("🚀") || all.contains("🎉") || all.contains("🔥"))
    }

    /// The three 2015 examples' shape, field order included, for CloudTrail's own events.
    func testSeedShapedRecordsKeepTheirFieldOrder() throws {
        let (_, tree) = try TreeCache.shared.tree()
        let text = tree.logFiles.map { String(decoding: $0.content, as: UTF8.self) }.joined()
        XCTAssertTrue(text.contains(#"{"eventVersion":"1.02","userIdentity":{"type":"IAMUser","principalId":"#))
        XCTAssertTrue(text.contains(#""sessionContext":{"attributes":{"mfaAuthenticated":"false","creationDate":""#))
        XCTAssertTrue(
            text.contains(#""userName":"AWSCloudTrail"}},"invokedBy":"internal.amazonaws.com"},"eventTime":""#)
                || text.contains(#""userName":"AWSCloudTrail","sessionContext":{"attributes":{"mfaAuthenticated":"false""#))
        XCTAssertTrue(text.contains(#""resources":[{"ARN":"arn:aws:kms:"#))
        XCTAssertTrue(text.contains(#""eventType":"AwsServiceEvent","recipientAccountId":""#))
    }

    /// The log file name's minute stamp, as a sortable string.
    static func stamp(_ path: String) -> String {
        String(path.split(separator: "_").dropLast().last ?? "")
    }

    /// Splits `{"Records":[r1,r2,...]}` into the exact bytes of each record.
    private func topLevelRecords(_ content: Data) throws -> [Data] {
        let bytes = [UInt8](content)
        let prefix = Array(#"{"Records":["#.utf8)
        XCTAssertTrue(bytes.starts(with: prefix))
        var slices: [Data] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = prefix.count
        for i in prefix.count..<bytes.count {
            let b = bytes[i]
            if inString {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 0 { start = i }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { slices.append(Data(bytes[start...i])) }
            default: break
            }
            if depth < 0 { break }
        }
        return slices
    }
}
