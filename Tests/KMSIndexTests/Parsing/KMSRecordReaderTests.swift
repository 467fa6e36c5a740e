import XCTest

@testable import KMSIndex

/// The byte reader of KMS records against a generic parse of the same bytes: the same
/// fields, or the same error.
final class KMSRecordReaderTests: XCTestCase {
    enum Outcome: Equatable {
        case fields(KMSRecordFields)
        case failed(ParseError)
    }

    /// Shared by every record the tests read, as a parsing thread shares it. (Static: XCTest
    /// keeps every test case object to the end of the run, which LeakSanitizer reports. The
    /// tests of a class run one after another, never at once.)
    nonisolated(unsafe) static let strings = StringInterner()

    func viaBytes(_ text: String) -> Outcome {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(buffer, from: 0)
            s.strings = Self.strings
            do {
                let fields = try KMSRecordFields.read(&s)
                XCTAssertEqual(s.i, buffer.count, text)
                return .fields(fields)
            } catch {
                return .failed(error as! ParseError)
            }
        }
    }

    /// The reference: the record's kept members built as `JSONValue`s, the others skipped.
    func viaValue(_ text: String) -> Outcome {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(buffer, from: 0)
            do {
                var members: [(String, JSONValue)] = []
                try s.forEachMember(depth: 0, key: { members.append((try $0.readString(), .null)) }) { s in
                    if KMSRecordFields.RecordKey(rawValue: members[members.count - 1].0) != nil {
                        members[members.count - 1].1 = try s.parseValue(depth: 1)
                    } else {
                        try s.skipValue()
                    }
                }
                return .fields(KMSRecordFields(.object(members)))
            } catch {
                return .failed(error as! ParseError)
            }
        }
    }

    func check(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(viaBytes(text), viaValue(text), text, file: file, line: line)
    }

    /// Every member the byte reader keeps is one the normalizer reads, and the other way round.
    func testEveryKeptMemberIsRead() {
        let values = [
            "readOnly": "true", "userIdentity": #"{"type":"x"}"#, "requestParameters": #"{"keyId":"x"}"#,
            "resources": #"[{"ARN":"x"}]"#, "addendum": #"{"reason":"x"}"#,
        ]
        let names = [
            "eventID", "eventTime", "eventName", "awsRegion", "recipientAccountId", "sourceIPAddress", "userAgent",
            "errorCode", "errorMessage", "requestID", "sharedEventID", "eventType", "readOnly", "userIdentity",
            "sessionCredentialFromConsole", "requestParameters", "resources", "addendum",
        ]
        XCTAssertEqual(KMSRecordFields.RecordKey.allCases.map(\.rawValue), names)
        for name in names {
            let text = #"{"\#(name)":\#(values[name] ?? #""x""#)}"#
            check(text)
            XCTAssertNotEqual(viaBytes(text), .fields(KMSRecordFields()), name)
        }
        XCTAssertEqual(viaBytes(#"{"eventSource":"kms.amazonaws.com","other":{"a":1}}"#), .fields(KMSRecordFields()))
    }

    func testTypicalRecordsAgree() {
        check(kmsRecord(eventID: "a"))
        check(
            kmsRecord(
                eventID: "b",
                identity:
                    #"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/s","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/R","userName":"R"},"attributes":{"mfaAuthenticated":"false"},"sourceIdentity":"me"}}"#
            ))
        check(
            kmsRecord(
                eventID: "c",
                requestParameters:
                    #"{"keyId":"alias/x","encryptionContext":{"a":"1","n":12,"b":true,"o":{"k":[1,null]}},"sourceEncryptionContext":{"s":"t"},"numberOfBytes":32}"#,
                resources: nil, error: ("AccessDenied", "no \"way\"")))
    }

    func testRepeatedKeysLastOneCounts() {
        check(#"{"eventID":"a","eventID":"b","eventTime":"t","eventTime":5,"readOnly":true,"readOnly":"false"}"#)
        check(#"{"userIdentity":{"type":"A","type":7,"sessionContext":{"sessionIssuer":{"arn":"x"}},"sessionContext":"s"}}"#)
        check(#"{"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":"x","userName":"u"},"sessionIssuer":null}}}"#)
        check(#"{"requestParameters":{"encryptionContext":{"a":"1","a":"2"},"encryptionContext":"no"},"requestParameters":{"keyId":"k"}}"#)
        check(#"{"resources":[{"ARN":"x","arn":"y","type":"t"},{"arn":"z"},5,{"ARN":1,"arn":"w"}],"resources":[{"ARN":"q"}]}"#)
        check(#"{"addendum":{"reason":"A","reason":"B","originalEventID":"x","originalEventID":7},"addendum":{"updatedFields":"f"}}"#)
    }

    func testAnAddendumIsRead() {
        let text =
            #"{"addendum":{"reason":"UPDATED_DATA","updatedFields":"userIdentity,errorCode","originalRequestID":"req-1","originalEventID":"11111111-2222-4333-8444-555555555555","other":[1]}}"#
        check(text)
        var expected = Addendum()
        expected.reason = "UPDATED_DATA"
        expected.updatedFields = "userIdentity,errorCode"
        expected.originalRequestID = "req-1"
        expected.originalEventID = "11111111-2222-4333-8444-555555555555"
        XCTAssertEqual(viaBytes(text), .fields(with { $0.addendum = expected }))
        check(#"{"addendum":{"reason":5,"updatedFields":null,"originalEventID":{"a":1}}}"#)
        check(#"{"addendum":"late"}"#)
        check(#"{"addendum":[]}"#)
    }

    /// An Identity Center user's `onBehalfOf`: read, replaced when repeated, absent when not
    /// an object or not strings.
    func testOnBehalfOfIsRead() {
        let user =
            #"{"userIdentity":{"type":"IdentityCenterUser","accountId":"1","onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::1:identitystore/d-1"},"credentialId":"c"}}"#
        check(user)
        guard case .fields(let fields) = viaBytes(user) else { return XCTFail(user) }
        XCTAssertEqual(fields.identity?.onBehalfOfUserID, "u-1")
        XCTAssertEqual(fields.identity?.identityStoreARN, "arn:aws:identitystore::1:identitystore/d-1")
        check(#"{"userIdentity":{"onBehalfOf":{"userId":"u-1","userId":"u-2","other":{"userId":"x"}}}}"#)
        check(#"{"userIdentity":{"onBehalfOf":{"userId":"u-1","identityStoreArn":"s"},"onBehalfOf":{"identityStoreArn":"t"}}}"#)
        check(#"{"userIdentity":{"onBehalfOf":{"userId":"u-1"},"onBehalfOf":null}}"#)
        check(#"{"userIdentity":{"onBehalfOf":{"userId":7,"identityStoreArn":["s"]}}}"#)
        check(#"{"userIdentity":{"onBehalfOf":"u-1"}}"#)
        check(#"{"userIdentity":{"onBehalfOf":{}}}"#)
    }

    /// The identity fields of schema 42: read, replaced when repeated (with their object),
    /// absent when not of their type.
    func testTheSessionsAttributesProvidersAndScopeAreRead() {
        let record =
            #"{"userIdentity":{"type":"AssumedRole","identityProvider":"idp","inScopeOf":{"issuerType":"AWS::Lambda::Function","credentialsIssuedTo":"arn:aws:lambda:us-east-1:1:function:f"},"sessionContext":{"attributes":{"creationDate":"2024-03-13T00:00:00Z","mfaAuthenticated":"true"},"webIdFederationData":{"federatedProvider":"arn:aws:iam::1:oidc-provider/x","attributes":{}},"ec2RoleDelivery":"2.0"}}}"#
        check(record)
        guard case .fields(let fields) = viaBytes(record), let identity = fields.identity else { return XCTFail(record) }
        XCTAssertEqual(identity.identityProvider, "idp")
        XCTAssertEqual(identity.credentialsIssuedTo, "arn:aws:lambda:us-east-1:1:function:f")
        XCTAssertEqual(identity.mfaAuthenticated, "true")
        XCTAssertEqual(identity.sessionCreated, "2024-03-13T00:00:00Z")
        XCTAssertEqual(identity.federatedProvider, "arn:aws:iam::1:oidc-provider/x")
        XCTAssertEqual(identity.ec2RoleDelivery, "2.0")
        check(#"{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":false,"creationDate":7},"ec2RoleDelivery":1.0}}}"#)
        check(#"{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"true"},"attributes":{"creationDate":"c"}}}}"#)
        check(#"{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"true"}},"sessionContext":{"ec2RoleDelivery":"1.0"}}}"#)
        check(#"{"userIdentity":{"sessionContext":{"webIdFederationData":{"federatedProvider":"a"},"webIdFederationData":[]}}}"#)
        check(#"{"userIdentity":{"inScopeOf":{"credentialsIssuedTo":"a","credentialsIssuedTo":"b"}}}"#)
        check(#"{"userIdentity":{"inScopeOf":{"credentialsIssuedTo":"a"},"inScopeOf":"x","identityProvider":["p"]}}"#)
        check(#"{"userIdentity":{"sessionContext":{"attributes":"x","webIdFederationData":null}}}"#)
    }

    func testWrongTypesReadAsAbsent() {
        check(#"{"eventID":1,"eventName":null,"recipientAccountId":111122223333,"sessionCredentialFromConsole":true,"readOnly":1}"#)
        check(#"{"userIdentity":"x","requestParameters":[1],"resources":{"a":1},"awsRegion":{"r":[]}}"#)
        check(#"{"userIdentity":{"accountId":12.5e3,"arn":["a"]},"requestParameters":null,"readOnly":"yes"}"#)
        check(#"{"recipientAccountId":null,"sessionCredentialFromConsole":false}"#)
    }

    /// A failed call is never read as a success: an errorCode that is not a string is kept as
    /// its JSON text; only null (or none) is a success.
    func testAnErrorCodeOfAnyTypeButNullIsKept() {
        for (json, code) in [
            (#"{"errorCode":"AccessDenied"}"#, "AccessDenied"), (#"{"errorCode":403}"#, "403"), (#"{"errorCode":true}"#, "true"),
            (#"{"errorCode":{"a":[1]}}"#, #"{"a":[1]}"#), (#"{"errorCode":[]}"#, "[]"),
        ] {
            check(json)
            XCTAssertEqual(viaBytes(json), .fields(with { $0.errorCode = code }), json)
        }
        check(#"{"errorCode":null}"#)
        XCTAssertEqual(viaBytes(#"{"errorCode":null}"#), .fields(KMSRecordFields()))
    }

    private func with(_ change: (inout KMSRecordFields) -> Void) -> KMSRecordFields {
        var fields = KMSRecordFields()
        change(&fields)
        return fields
    }

    func testEscapesWhitespaceAndNonASCII() {
        check(#"{ "event\u0049D" : "\u00e9\ud83d\ude00" , "eventName" :"D\"e\\c" ,"userAgent":"é😀" }"#)
        check(#"{"requestParameters":{"encryptionContext":{"k\n":"v\t","\u212Ay":"kelvin"},"accessKe\u212AId":"x"}}"#)
        check(#"{"userIdentity":{"accessKe\#u{212A}Id":"raw kelvin","userName":"\u0075"}}"#)
        // Ids and times are read into their stored forms: escaped, invalid UTF-8 and near misses.
        check(
            #"{"eventID":"\u0039525bee7-5145-42b0-bed5-ab7196a16daa","requestID":"9525bee7-5145-42b0-bed5-ab7196a16daa","sharedEventID":"9525BEE7-5145-42b0-bed5-ab7196a16daa"}"#
        )
        check(#"{"eventTime":"2024-03-01T00:00:00\u005a","eventID":"\u00e9","requestID":"","sharedEventID":5}"#)
        check(#"{"eventTime":"2024-03-01 00:00:00.1234+05:30","eventID":"9525bee7-5145-42b0-bed5-ab7196a16da"}"#)
        check(#"{"eventTime":"2024-03-01T00:00:00Zx"}"#)
        check("{\"eventID\":\"\u{FFFD}\(String(repeating: "a", count: 33))\",\"eventTime\":\"2024-03-01T00:00:00Z\"}")
        check("{}")
        check(" {\n\"eventID\"\t:\r\"x\"\n}".trimmingCharacters(in: .whitespaces))
    }

    func testSameErrorsAsAFullParse() {
        for text in [
            #"{"userIdentity":{"type":tru}}"#, #"{"requestParameters":{"x":01a}}"#, #"{"eventID":"\q"}"#,
            #"{"resources":[{"ARN":"a"} {"ARN":"b"}]}"#, #"{"userIdentity":{"a" 1}}"#, #"{"readOnly":nul}"#,
            #"{"requestParameters":{"encryptionContext":{"a":[1,}}}"#, #"{"userIdentity":{"x":"\u12"}}"#,
            #"{"eventTime":-}"#, #"{"resources":[1,]}"#,
        ] {
            check(text)
            XCTAssertNotEqual(viaBytes(text), viaValue("{}"), text)
        }
    }

    func testDeepNestingInsideAKeptMemberIsRefused() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        check(#"{"requestParameters":{"x":\#(deep)}}"#)
        check(#"{"userIdentity":{"sessionContext":{"sessionIssuer":{"x":\#(deep)}}}}"#)
        if case .failed(.tooDeep) = viaBytes(#"{"resources":\#(deep)}"#) {} else { XCTFail("deep resources accepted") }
    }
}
