import Foundation
import XCTest

@testable import KMSIndex

final class EventNormalizerTests: XCTestCase {
    func normalize(_ text: String) throws -> KMSEvent { try normalizedEvent(text) }

    let keyARN = "arn:aws:kms:us-west-2:111122223333:key/11111111-2222-3333-4444-555555555555"

    func testSeedDecryptEvent() throws {
        let e = try normalize(seedEvents[2])
        XCTAssertEqual(e.eventID, "9525bee7-5145-42b0-bed5-ab7196a16daa")
        XCTAssertEqual(e.eventName, "Decrypt")
        XCTAssertEqual(e.eventTime, "2015-11-11T21:20:52Z")
        XCTAssertEqual(e.principal.type, "IAMUser")
        XCTAssertEqual(e.principal.arn, "arn:aws:iam::111122223333:user/cloudtrail-admin")
        XCTAssertEqual(e.principal.invokedBy, "signin.amazonaws.com")
        XCTAssertEqual(e.s3ARN, seedLogFileARN)
        XCTAssertEqual(e.trailARN, "arn:aws:cloudtrail:us-west-2:111122223333:trail/Default")
        XCTAssertEqual(e.keyARN, "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        XCTAssertNil(e.requestedKey)
        XCTAssertEqual(e.readOnly, true)
        XCTAssertTrue(e.otherContext.isEmpty)
    }

    func testEveryKeyIdForm() throws {
        let resources = #"[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"\#(keyARN)"}]"#
        func event(_ keyID: String?, resources: String?) throws -> KMSEvent {
            let parameters = keyID.map { #"{"keyId":"\#($0)"}"# } ?? "{}"
            return try normalize(kmsRecord(eventName: "GenerateDataKey", requestParameters: parameters, resources: resources))
        }
        // Key ARN, with or without resources.
        XCTAssertEqual(try event(keyARN, resources: nil).keyARN, keyARN)
        XCTAssertNil(try event(keyARN, resources: nil).requestedKey)
        // Bare key id: resolved through resources, kept as written.
        let bare = try event("11111111-2222-3333-4444-555555555555", resources: resources)
        XCTAssertEqual(bare.keyARN, keyARN)
        XCTAssertEqual(bare.requestedKey, "11111111-2222-3333-4444-555555555555")
        // Without resources (records before late 2022) a bare id names a key of the account
        // called, in the region called; the id is kept as written.
        let bareAlone = try event("11111111-2222-3333-4444-555555555555", resources: nil)
        XCTAssertEqual(bareAlone.keyARN, keyARN)
        XCTAssertEqual(bareAlone.requestedKey, "11111111-2222-3333-4444-555555555555")
        let multiRegion = try event("mrk-1234abcd12ab34cd56ef1234567890ab", resources: nil)
        XCTAssertEqual(multiRegion.keyARN, "arn:aws:kms:us-west-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab")
        // Anything else is not a key id: no key.
        for text in [
            "11111111-2222-3333-4444-55555555555", "11111111-2222-3333-4444-55555555555X", "payments",
            "MRK-1234abcd12ab34cd56ef1234567890ab",
        ] {
            XCTAssertNil(try event(text, resources: nil).keyARN, text)
        }
        // Alias name and alias ARN: the key from resources, the alias learned.
        for alias in ["alias/payments", "arn:aws:kms:us-west-2:111122223333:alias/payments"] {
            let e = try event(alias, resources: resources)
            XCTAssertEqual(e.keyARN, keyARN)
            XCTAssertEqual(e.requestedKey, alias)
            XCTAssertEqual(e.aliases.map(\.alias), ["alias/payments"])
            XCTAssertEqual(e.aliases.map(\.keyARN), [keyARN])
        }
        // A key ARN that resources does not list: the key CloudTrail lists, the ARN kept as the
        // requested key.
        let other = "arn:aws:kms:us-west-2:111122223333:key/99999999-2222-3333-4444-555555555555"
        let mismatched = try event(other, resources: resources)
        XCTAssertEqual(mismatched.keyARN, keyARN)
        XCTAssertEqual(mismatched.requestedKey, other)
        // Absent keyId (S3's Decrypt): the key from resources.
        XCTAssertEqual(try event(nil, resources: resources).keyARN, keyARN)
        // Untyped resources entries count when the ARN is a key ARN (the seed's form).
        XCTAssertEqual(try event(nil, resources: #"[{"ARN":"\#(keyARN)","accountId":"111122223333"}]"#).keyARN, keyARN)
        XCTAssertNil(try event(nil, resources: #"[{"ARN":"arn:aws:s3:::bucket","type":"AWS::S3::Bucket"}]"#).keyARN)
    }

    /// The partition of a bare id's key follows the region; an account or region not in its
    /// AWS form names no key.
    func testABareKeyIDsARNFromTheAccountAndRegionCalled() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab"
        XCTAssertEqual(
            EventNormalizer.keyARN(bareID: id, region: "cn-north-1", account: "111122223333"),
            "arn:aws-cn:kms:cn-north-1:111122223333:key/\(id)")
        XCTAssertEqual(
            EventNormalizer.keyARN(bareID: id, region: "us-gov-west-1", account: "111122223333"),
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/\(id)")
        XCTAssertEqual(
            EventNormalizer.keyARN(bareID: id, region: "eu-west-1", account: "111122223333"), "arn:aws:kms:eu-west-1:111122223333:key/\(id)"
        )
        XCTAssertNil(EventNormalizer.keyARN(bareID: id, region: "eu-west-1", account: "11112222333"))
        XCTAssertNil(EventNormalizer.keyARN(bareID: id, region: "eu-west-1:x", account: "111122223333"))
        XCTAssertNil(EventNormalizer.keyARN(bareID: id, region: nil, account: "111122223333"))
        XCTAssertNil(EventNormalizer.keyARN(bareID: id, region: "eu-west-1", account: nil))
    }

    func testReEncryptNamesBothKeysAndBothContexts() throws {
        let source = "arn:aws:kms:us-west-2:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001"
        let destination = "arn:aws:kms:us-west-2:111122223333:key/bbbbbbbb-0000-0000-0000-000000000002"
        let e = try normalize(
            kmsRecord(
                eventName: "ReEncrypt",
                requestParameters:
                    #"{"sourceKeyId":"aaaaaaaa-0000-0000-0000-000000000001","destinationKeyId":"alias/new","sourceEncryptionContext":{"app":"old"},"destinationEncryptionContext":{"app":"new"}}"#,
                resources: #"[{"type":"AWS::KMS::Key","ARN":"\#(source)"},{"type":"AWS::KMS::Key","ARN":"\#(destination)"}]"#))
        XCTAssertEqual(e.sourceKeyARN, source)
        XCTAssertEqual(e.keyARN, destination)
        XCTAssertEqual(e.aliases.map(\.alias), ["alias/new"])
        XCTAssertEqual(
            e.otherContext,
            [
                ContextPair(scope: .source, name: "app", value: "old"),
                ContextPair(scope: .destination, name: "app", value: "new"),
            ])
    }

    /// A ReEncrypt that keeps its key (a new encryption context): CloudTrail lists the key
    /// twice, as source and destination. Listed once, it is only the destination.
    func testReEncryptUnderTheSameKeyNamesItAsItsSourceToo() throws {
        let key = "arn:aws:kms:us-west-2:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001"
        let entry = #"{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"\#(key)"}"#
        let parameters = #"{"destinationKeyId":"\#(key)","sourceEncryptionContext":{"v":"1"},"destinationEncryptionContext":{"v":"2"}}"#
        let twice = try normalize(kmsRecord(eventName: "ReEncrypt", requestParameters: parameters, resources: "[\(entry),\(entry)]"))
        XCTAssertEqual(twice.keyARN, key)
        XCTAssertEqual(twice.sourceKeyARN, key)
        let once = try normalize(kmsRecord(eventName: "ReEncrypt", requestParameters: parameters, resources: "[\(entry)]"))
        XCTAssertEqual(once.keyARN, key)
        XCTAssertNil(once.sourceKeyARN)
    }

    func testAssumedRolePrincipal() throws {
        let identity =
            #"{"type":"AssumedRole","principalId":"AROAEXAMPLE:jane@example.com","arn":"arn:aws:sts::111122223333:assumed-role/Auditors/jane@example.com","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Auditors","accountId":"111122223333","userName":"Auditors"},"attributes":{"creationDate":"20131102T010628Z","mfaAuthenticated":"true"},"sourceIdentity":"jane"}}"#
        let p = try normalize(kmsRecord(identity: identity)).principal
        XCTAssertEqual(p.type, "AssumedRole")
        XCTAssertEqual(p.roleARN, "arn:aws:iam::111122223333:role/Auditors")
        XCTAssertEqual(p.sessionName, "jane@example.com")
        XCTAssertEqual(p.accessKeyID, "ASIAEXAMPLE")
        XCTAssertEqual(p.sourceIdentity, "jane")
        XCTAssertNil(p.userName)
    }

    func testAssumedRoleWithoutSessionIssuerTakesTheRoleFromTheARN() throws {
        let identity = #"{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Reader/session-1","accountId":"111122223333"}"#
        let p = try normalize(kmsRecord(identity: identity)).principal
        XCTAssertEqual(p.roleARN, "arn:aws:iam::111122223333:role/Reader")
        XCTAssertEqual(p.sessionName, "session-1")
    }

    func testSessionNamesOfSTSARNs() throws {
        func principal(_ arn: String) throws -> Principal {
            try normalize(kmsRecord(identity: #"{"type":"AssumedRole","arn":"\#(arn)","accountId":"111122223333"}"#)).principal
        }
        let slashed = try principal("arn:aws:sts::111122223333:assumed-role/Reader/a/b//c")
        XCTAssertEqual(slashed.sessionName, "a/b//c")
        XCTAssertEqual(slashed.roleARN, "arn:aws:iam::111122223333:role/Reader")
        let empty = try principal("arn:aws-cn:sts::111122223333:assumed-role/Reader/")
        XCTAssertEqual(empty.sessionName, "")
        XCTAssertEqual(empty.roleARN, "arn:aws-cn:iam::111122223333:role/Reader")
        XCTAssertEqual(try principal("arn:aws:sts::111122223333:federated-user/bob/x").sessionName, "bob/x")
        XCTAssertEqual(try principal("arn:aws:sts::111122223333:federated-user/").sessionName, "")
        // Beyond ASCII, slashes are characters: one followed by a combining mark is not a slash.
        let accented = try principal("arn:aws:sts::111122223333:assumed-role/Rôle/séssion/é")
        XCTAssertEqual(accented.sessionName, "séssion/é")
        XCTAssertEqual(accented.roleARN, "arn:aws:iam::111122223333:role/Rôle")
        XCTAssertNil(try principal("arn:aws:sts::111122223333:assumed-role/R/\u{301}x").sessionName)
        XCTAssertEqual(try principal("arn:aws:sts::111122223333:assumed-role/R\u{301}/x/\u{301}y").sessionName, "x/\u{301}y")
        for noSession in [
            "arn:aws:sts::111122223333:assumed-role/Reader", "arn:aws:sts::111122223333:federated-user",
            "arn:aws:sts::111122223333:assumed-role", "arn:aws:iam::111122223333:assumed-role/R/s",
            "arn:aws:sts::111122223333:other/R/s", "arn:aws:sts::111122223333",
        ] {
            let p = try principal(noSession)
            XCTAssertNil(p.sessionName, noSession)
            XCTAssertNil(p.roleARN, noSession)
        }
    }

    func testAWSServicePrincipalAndMissingIdentity() throws {
        let service = try normalize(kmsRecord(identity: #"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#)).principal
        XCTAssertEqual(service.type, "AWSService")
        XCTAssertNil(service.arn)
        XCTAssertEqual(service.invokedBy, "cloudtrail.amazonaws.com")
        XCTAssertEqual(try normalize(kmsRecord(identity: "null")).principal, Principal())
    }

    func testUnknownContextPairsAreKeptWithNonStringValuesAsJSON() throws {
        let e = try normalize(
            kmsRecord(
                requestParameters:
                    #"{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::b/k","department":"finance","aws:lambda:FunctionArn":"arn:aws:lambda:us-west-2:111122223333:function:f","n":7,"o":{"x":[1]}}}"#
            ))
        XCTAssertEqual(e.s3ARN, "arn:aws:s3:::b/k")
        XCTAssertEqual(e.otherContext.map(\.name), ["department", "aws:lambda:FunctionArn", "n", "o"])
        XCTAssertEqual(e.otherContext.map(\.value), ["finance", "arn:aws:lambda:us-west-2:111122223333:function:f", "7", #"{"x":[1]}"#])
    }

    /// A name repeated in one context: the last value counts. Names that differ only in
    /// Unicode normalization are two names, as they are two JSON keys.
    func testRepeatedContextNamesKeepTheLastValueAndNamesCompareInBytes() throws {
        let e = try normalize(
            kmsRecord(
                requestParameters:
                    #"{"encryptionContext":{"a":"1","caf\u00e9":"2","cafe\u0301":"3","a":"4"},"sourceEncryptionContext":{"a":"5"}}"#))
        XCTAssertEqual(
            e.otherContext.map { Array($0.name.utf8) },
            [Array("caf\u{E9}".utf8), Array("cafe\u{301}".utf8), Array("a".utf8), Array("a".utf8)])
        XCTAssertEqual(e.otherContext.map(\.value), ["2", "3", "4", "5"])
        XCTAssertEqual(e.otherContext.map(\.scope), [.request, .request, .request, .source])
    }

    func testWronglyTypedFieldsAreReadAsAbsent() throws {
        let e = try normalize(kmsRecord(requestParameters: #"{"encryptionContext":"not an object","keyId":5}"#, resources: "null"))
        XCTAssertNil(e.s3ARN)
        XCTAssertNil(e.keyARN)
        XCTAssertNil(e.requestedKey)
        XCTAssertTrue(e.otherContext.isEmpty)
    }

    func testRecordsWithoutIdentityFieldsAreRejected() throws {
        XCTAssertThrowsError(
            try normalize(#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2024-03-01T00:00:00Z"}"#)
        ) {
            XCTAssertEqual($0 as? RecordError, .kmsNoEventID)
            XCTAssertEqual("\($0)", "KMS record without a string eventID")
        }
        XCTAssertThrowsError(try normalize(#"{"eventID":"x","eventName":"Decrypt","eventTime":12}"#)) {
            XCTAssertEqual($0 as? RecordError, .kmsNoEventTime(eventID: "x"))
            XCTAssertEqual("\($0)", "KMS record x without a string eventTime")
        }
        XCTAssertThrowsError(try normalize(#"{"eventID":"x","eventName":"Decrypt","eventTime":"yesterday"}"#)) {
            XCTAssertEqual($0 as? RecordError, .kmsEventTimeNotATime(eventID: "x"))
        }
    }

    func testEventTimeForms() {
        XCTAssertEqual(EventTime.normalize("2015-11-11T21:20:52Z"), "2015-11-11T21:20:52Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19 00:56:05"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:56:05.120Z"), "2021-10-19T00:56:05.12Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:56:05.000Z"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:30:00+01:00"), "2021-10-18T23:30:00Z")
        XCTAssertEqual(EventTime.normalize("2020-02-28T23:00:00-02:00"), "2020-02-29T01:00:00Z")
        XCTAssertNil(EventTime.normalize("2021-13-19T00:56:05Z"))
        // No such day: rejected, not moved to the next month.
        for bad in ["2015-02-30T00:22:00Z", "2015-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-03-32T00:00:00Z"]
        {
            XCTAssertNil(EventTime.normalize(bad), bad)
            XCTAssertNil(StoredTime.milliseconds(bad), bad)
        }
        XCTAssertEqual(EventTime.normalize("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00Z")
        XCTAssertEqual(EventTime.normalize("2000-02-29T00:00:00Z"), "2000-02-29T00:00:00Z")
        XCTAssertEqual(EventTime.normalize("2024-12-31T23:59:59Z"), "2024-12-31T23:59:59Z")
        XCTAssertNil(EventTime.normalize("1637000000"))
    }

    func testEventTimesAlreadyInStoredFormKeepTheirTextAndNearMissesAreStillNormalized() {
        XCTAssertEqual(EventTime.normalize("0099-01-02T03:04:05Z"), "0099-01-02T03:04:05Z")
        XCTAssertEqual(EventTime.normalize("2024-02-29T23:59:60Z"), "2024-02-29T23:59:60Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19t00:56:05z"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:56:05z"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19 00:56:05Z"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:56:05+00:00"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:56:05.0Z"), "2021-10-19T00:56:05Z")
        XCTAssertEqual(EventTime.normalize("2021-10-19T00:56:0Z"), nil)
        XCTAssertNil(EventTime.normalize("2021-10-19T24:56:05Z"))
        XCTAssertNil(EventTime.normalize("2021-10-00T00:56:05Z"))
        XCTAssertNil(EventTime.normalize("2021-10-19T00:56:05Zx"))
        XCTAssertNil(EventTime.normalize("2021-10-19T00:56:05X"))
    }

    /// The parser reads times straight into milliseconds: it must give what storing the
    /// normalized text gave, for every form, edge and near miss.
    func testMillisecondsFromTheBytesAgreeWithTheNormalizedText() {
        var times = [
            "2015-11-11T21:20:52Z", "2021-10-19 00:56:05", "2021-10-19T00:56:05.120Z", "2021-10-19T00:56:05.000Z",
            "2021-10-19T00:30:00+01:00", "2020-02-28T23:00:00-02:00", "2021-10-19T00:56:05.1234567Z",
            "2024-02-29T23:59:60Z", "2021-10-19t00:56:05z", "2021-10-19T00:56:05+0530", "2021-10-19T00:56:05-08",
            "0000-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
            "1969-12-31T23:59:59.5Z", "2021-13-19T00:56:05Z", "1637000000", "2021-10-19T00:56:0Z", "", "2021-10-19T00:56:05.Z",
        ]
        // Random near misses: valid times with one byte changed, dropped or doubled.
        var rng = SeededGenerator(state: 20_241_204)
        let alphabet = Array("0123456789-:T Zz+.x".utf8)
        for _ in 0..<4000 {
            var b = Array(times[Int.random(in: 0..<10, using: &rng)].utf8)
            guard !b.isEmpty else { continue }
            let k = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: b[k] = alphabet.randomElement(using: &rng)!
            case 1: b.remove(at: k)
            default: b.insert(b[k], at: k)
            }
            times.append(String(decoding: b, as: UTF8.self))
        }
        var valid = 0
        for time in times {
            let expected = EventTime.normalize(time).flatMap { StoredTime.milliseconds($0) }
            XCTAssertEqual(EventTime.milliseconds(time), expected, time)
            XCTAssertEqual(RecordTime(time), expected.map { .milliseconds($0) } ?? .notATime, time)
            if expected != nil { valid += 1 }
        }
        XCTAssertGreaterThan(valid, 100)
        XCTAssertEqual(EventTime.milliseconds("1970-01-01T00:00:01.5Z"), 1500)
        XCTAssertEqual(EventTime.milliseconds("1970-01-01T01:00:00+01:00"), 0)
    }

    func testEventIDsAreKeptAsUUIDBytesOnlyInCanonicalForm() throws {
        let uuid = "9525bee7-5145-42b0-bed5-ab7196a16daa"
        XCTAssertEqual(CloudTrailID(uuid), .uuid(high: 0x9525_bee7_5145_42b0, low: 0xbed5_ab71_96a1_6daa))
        XCTAssertEqual(CloudTrailID(uuid).text, uuid)
        for text in [uuid.uppercased(), "9525bee7-5145-42b0-bed5-ab7196a16dag", "9525bee7_5145-42b0-bed5-ab7196a16daa", "x", ""] {
            XCTAssertEqual(CloudTrailID(text), .text(text), text)
            XCTAssertEqual(CloudTrailID(text).text, text)
        }
        XCTAssertTrue(CloudTrailID("").isEmpty)
        // Escaped in the record, the same id as written plainly.
        let plain = try normalize(#"{"eventID":"\#(uuid)","eventName":"Decrypt","eventTime":"2024-03-01T00:00:00Z","requestID":"r"}"#)
        let escaped = try normalize(
            #"{"eventID":"9525bee7-5145-42b0-bed5-ab7196a16daa","eventName":"Decrypt","eventTime":"2024-03-01T00:00:00Z","requestID":"r"}"#)
        XCTAssertEqual(plain.eventID, escaped.eventID)
        XCTAssertEqual(plain.eventTimeMs, escaped.eventTimeMs)
        XCTAssertEqual(escaped.requestID, "r")
        XCTAssertEqual(escaped.eventTime, "2024-03-01T00:00:00Z")
    }

    func testKMSKeyARNsNeedSomethingAfterKeySlash() {
        let prefix = "arn:aws:kms:us-east-1:111122223333:"
        XCTAssertEqual(ARN(prefix + "key/1234abcd-12ab-34cd-56ef-1234567890ab")?.isKMSKey, true)
        XCTAssertEqual(ARN(prefix + "key/é")?.isKMSKey, true)
        XCTAssertEqual(ARN(prefix + "key/")?.isKMSKey, false)
        XCTAssertEqual(ARN(prefix + "key/\u{301}x")?.isKMSKey, false)  // the slash is not a character of its own
        XCTAssertEqual(ARN(prefix + "alias/x")?.isKMSKey, false)
    }

    func testS3Locations() {
        XCTAssertEqual(S3Location(arn: "arn:aws:s3:::bucket").kind, .bucket)
        XCTAssertEqual(S3Location(arn: "arn:aws:s3:::bucket/AWSLogs/111122223333/").kind, .prefix)
        let object = S3Location(arn: "arn:aws-cn:s3:::bucket/a b/ファイル.txt")
        XCTAssertEqual(object.kind, .object)
        XCTAssertEqual(object.bucket, "bucket")
        XCTAssertEqual(object.key, "a b/ファイル.txt")
        XCTAssertEqual(object.name, "ファイル.txt")
        XCTAssertEqual(S3Location(arn: "s3://bucket/key").kind, .unparsed)
    }

    /// ASCII ARNs are split by bytes, others by characters: both give what the characters say.
    func testS3LocationsSplitAtTheFirstSlashCharacter() {
        func reference(_ resource: String) -> (S3Location.Kind, String, String?) {
            guard let slash = resource.firstIndex(of: "/") else { return (.bucket, resource, nil) }
            let key = String(resource[resource.index(after: slash)...])
            return (key.isEmpty || key.hasSuffix("/") ? .prefix : .object, String(resource[..<slash]), key)
        }
        let resources = [
            "b", "b/", "b/k", "b/a/b/", "b//", "/k", "b/k\r\n/", "b/k\r\n", "b/ k ",
            "b/\u{301}k", "b\u{600}/k", "b/k/\u{301}", "bé/k", "b/ファイル/", "b/k\u{1F600}",
            "b/x/\u{301}/y", "\u{600}/", "b/x\u{600}/",
        ]
        for resource in resources {
            let location = S3Location(arn: "arn:aws:s3:::" + resource)
            let (kind, bucket, key) = reference(resource)
            XCTAssertEqual(location.kind, kind, resource.debugDescription)
            XCTAssertEqual(location.bucket, bucket, resource.debugDescription)
            XCTAssertEqual(location.key, key, resource.debugDescription)
        }
        // Only an S3 ARN without region or account, with a resource, names a location.
        for arn in [
            "arn:aws:s3:::", "arn:aws:s3:us-east-1::b/k", "arn:aws:s3::111122223333:b/k", "arn:aws:s3x:::b/k",
            "arn:aws:kms:::b/k", "arn::s3:::b/k", "arn:aws:s3::b/k", "arn:aws:S3:::b/k", "s3://b/k", "",
            "arn:aws:s\u{301}3:::b/k",
        ] {
            XCTAssertEqual(S3Location(arn: arn).kind, .unparsed, arn.debugDescription)
        }
        XCTAssertEqual(S3Location(arn: "arn:aws-cn:s3:::b:c/k:d").bucket, "b:c")
        XCTAssertEqual(S3Location(arn: "arn:aws-cn:s3:::b:c/k:d").key, "k:d")
        XCTAssertEqual(S3Location(arn: "arn:aws:s3:::b/k:x").kind, .object)
    }
}
