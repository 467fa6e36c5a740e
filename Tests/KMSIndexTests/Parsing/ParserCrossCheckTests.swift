import Foundation
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// The byte-level reader against Foundation's generic JSON parser, on a whole generated tree:
/// the same KMS records, normalized to the same events.
final class ParserCrossCheckTests: XCTestCase {
    /// Foundation's parse, turned into a JSONValue (number text is not kept by Foundation, so
    /// numbers are compared as Foundation prints them).
    func value(_ any: Any) -> JSONValue {
        switch any {
        case let d as [String: Any]: return .object(d.keys.sorted().map { ($0, value(d[$0]!)) })
        case let a as [Any]: return .array(a.map(value))
        case let s as String: return .string(s)
        case let n as NSNumber:
            if String(describing: type(of: n)).contains("Boolean") { return .bool(n.boolValue) }
            return .number(n.stringValue)
        default: return .null
        }
    }

    func describe(_ e: KMSEvent) -> String {
        let p = e.principal
        let fields: [String?] = [
            e.eventID.text, e.eventTime, e.eventName, e.awsRegion, e.recipientAccountID, e.sourceIPAddress, e.userAgent,
            e.errorCode, e.errorMessage, e.requestID?.text, e.sharedEventID?.text, e.eventType, e.readOnly.map { "\($0)" },
            p.type, p.arn, p.accountID, p.principalID, p.userName, p.roleARN, p.sessionName, p.invokedBy, p.accessKeyID,
            p.sourceIdentity, p.credentialFromConsole, p.onBehalfOfUserID, p.identityStoreARN, e.keyARN, e.sourceKeyARN, e.requestedKey,
            e.s3ARN, e.trailARN,
            e.aliases.map { "\($0.alias)=\($0.keyARN)" }.sorted().joined(separator: ","),
            e.otherContext.map { "\($0.scope.rawValue) \($0.name)=\($0.value)" }.sorted().joined(separator: ","),
        ]
        return fields.map { $0 ?? "-" }.joined(separator: " | ")
    }

    func testByteReaderAndFoundationAgreeOnEveryKMSRecordOfATree() throws {
        let dir = try TempDir()
        _ = try Synth.generate(SynthOptions(seed: 21, accounts: 2, regions: ["us-east-1"], days: 1, filesPerDay: 12), into: dir.url)
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir.path)
            .filter { $0.contains("/CloudTrail/") && $0.hasSuffix(".json.gz") }.sorted()
        XCTAssertGreaterThan(files.count, 10)
        var compared = 0, identityCenterUsers = 0
        let strings = StringInterner()  // shared by all files, as a parsing thread shares it
        for file in files {
            let path = dir.path + "/" + file
            var fast: [String] = []
            let stream = try DecompressedStream(path: path, limit: 1 << 30)
            let reader = LogFileReader(stream: stream, window: ByteWindow(capacity: 4096))
            _ = try reader.read(
                building: { s in
                    s.strings = strings
                    return try KMSRecordFields.read(&s)
                },
                onKMSRecord: { record, _ in
                    guard let event = try? EventNormalizer.normalize(record) else { return }
                    fast.append(describe(event))
                    if event.principal.onBehalfOfUserID != nil, event.principal.identityStoreARN != nil { identityCenterUsers += 1 }
                })
            let json = try JSONSerialization.jsonObject(with: gunzip(try Data(contentsOf: URL(fileURLWithPath: path)))) as? [String: Any]
            let records = (json?["Records"] as? [[String: Any]]) ?? []
            let slow = records.filter { $0["eventSource"] as? String == "kms.amazonaws.com" }
                .compactMap { try? EventNormalizer.normalize(value($0)) }.map(describe)
            XCTAssertEqual(fast.sorted(), slow.sorted(), file)
            compared += slow.count
        }
        XCTAssertGreaterThan(compared, 100)
        // The tree's Identity Center users were compared with their onBehalfOf.
        XCTAssertGreaterThan(identityCenterUsers, 0)
    }
}
