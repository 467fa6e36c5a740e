/// Reads a KMS record's bytes straight into `KMSRecordFields`: only the members the index
/// keeps become Strings; no generic JSON tree is built.
///
/// It accepts and rejects what `parseValue` does over those members, and follows
/// `KMSRecordFields.init(_: JSONValue)`: wrong types read as nil, the last repeated key counts.
extension KMSRecordFields {
    /// The members of a record the index keeps, by their names in the record. A member is
    /// looked up by its case, never by its position among the names.
    enum RecordKey: String, CaseIterable {
        case eventID, eventTime, eventName, awsRegion
        case recipientAccountID = "recipientAccountId"
        case sourceIPAddress, userAgent, errorCode, errorMessage, requestID, sharedEventID, eventType, readOnly
        case userIdentity, sessionCredentialFromConsole, requestParameters, resources, addendum
    }

    enum AddendumKey: String, CaseIterable {
        case reason, updatedFields
        case originalRequestID, originalEventID
    }

    enum IdentityKey: String, CaseIterable {
        case type, arn, accountID = "accountId", principalID = "principalId", userName, invokedBy
        case accessKeyID = "accessKeyId", sessionContext, onBehalfOf, identityProvider, inScopeOf
    }

    enum SessionKey: String, CaseIterable {
        case sourceIdentity, sessionIssuer, attributes, webIdFederationData, ec2RoleDelivery
    }

    enum AttributeKey: String, CaseIterable {
        case mfaAuthenticated, creationDate
    }

    enum WebIdentityKey: String, CaseIterable {
        case federatedProvider
    }

    enum InScopeOfKey: String, CaseIterable {
        case credentialsIssuedTo
    }

    enum IssuerKey: String, CaseIterable {
        case arn, userName
    }

    enum OnBehalfOfKey: String, CaseIterable {
        case userID = "userId", identityStoreARN = "identityStoreArn"
    }

    enum ParameterKey: String, CaseIterable {
        case keyID = "keyId", destinationKeyID = "destinationKeyId", sourceKeyID = "sourceKeyId"
        case targetKeyID = "targetKeyId", aliasName
        case requestContext = "encryptionContext", sourceContext = "sourceEncryptionContext"
        case destinationContext = "destinationEncryptionContext"
        case granteePrincipal
    }

    enum ResourceKey: String, CaseIterable {
        case upperARN = "ARN", lowerARN = "arn", type
    }

    static let recordKeys = KeyTable<RecordKey>()
    static let identityKeys = KeyTable<IdentityKey>()
    static let sessionKeys = KeyTable<SessionKey>()
    static let issuerKeys = KeyTable<IssuerKey>()
    static let onBehalfOfKeys = KeyTable<OnBehalfOfKey>()
    static let attributeKeys = KeyTable<AttributeKey>()
    static let webIdentityKeys = KeyTable<WebIdentityKey>()
    static let inScopeOfKeys = KeyTable<InScopeOfKey>()
    static let parameterKeys = KeyTable<ParameterKey>()
    static let resourceKeys = KeyTable<ResourceKey>()
    static let addendumKeys = KeyTable<AddendumKey>()

    /// Reads the record object at `s.i`. Members it does not keep are skipped unchecked, as
    /// the reader skips non-KMS records; the values of kept members are checked in full.
    static func read(_ s: inout JSONScanner) throws -> KMSRecordFields {
        var f = KMSRecordFields()
        try read(&s, into: &f)
        return f
    }

    /// `errorCode`: a string as it is; any other value but null as its JSON text, so that a
    /// failed call written oddly (`"errorCode": 403`) is never taken for a success.
    static func readErrorCode(_ s: inout JSONScanner) throws -> String? {
        if try s.peek() == UInt8(ascii: "\"") { return try s.readSharedString() }
        let value = try s.parseValue(depth: 1)
        if case .null = value { return nil }
        return value.jsonText
    }

    /// `read(_:)` into `f`, a new `KMSRecordFields()`. (Filling a variable the caller owns:
    /// returning a local of this size made the optimizer copy it, a retain and a release per
    /// string.)
    static func read(_ s: inout JSONScanner, into f: inout KMSRecordFields) throws {
        guard try s.enterObject(depth: 0) else { return }
        repeat {
            switch try s.memberKey(Self.recordKeys) {
            case .eventID: f.eventID = try s.withStringValue(depth: 1) { CloudTrailID(utf8: $0) }
            case .eventTime: f.eventTime = try s.withStringValue(depth: 1) { RecordTime(utf8: $0) }
            case .eventName: f.eventName = try s.readStringValue(depth: 1)
            case .awsRegion: f.awsRegion = try s.readStringValue(depth: 1)
            case .recipientAccountID: f.recipientAccountID = try s.readScalarText(depth: 1)
            case .sourceIPAddress: f.sourceIPAddress = try s.readSharedStringValue(depth: 1)
            case .userAgent: f.userAgent = try s.readSharedStringValue(depth: 1)
            case .errorCode: f.errorCode = try Self.readErrorCode(&s)
            case .errorMessage: f.errorMessage = try s.readSharedStringValue(depth: 1)
            case .requestID: f.requestID = try s.withStringValue(depth: 1) { CloudTrailID(utf8: $0) }
            case .sharedEventID: f.sharedEventID = try s.withStringValue(depth: 1) { CloudTrailID(utf8: $0) }
            case .eventType: f.eventType = try s.readStringValue(depth: 1)
            case .readOnly: f.readOnly = try Self.readReadOnly(&s)
            case .userIdentity: try Self.readIdentity(&s, into: &f.identity)
            case .sessionCredentialFromConsole: f.credentialFromConsole = try s.readScalarText(depth: 1)
            case .requestParameters: try Self.readParameters(&s, into: &f.parameters)
            case .resources: f.resources = try Self.readResources(&s)
            case .addendum: f.addendum = try Self.readAddendum(&s)
            case nil: try s.skipValue()
            }
        } while try s.nextMember()
    }

    static func readReadOnly(_ s: inout JSONScanner) throws -> Bool? {
        let c = try s.peek()
        if c == UInt8(ascii: "\"") {
            let text = try s.readString()
            return text == "true" ? true : text == "false" ? false : nil
        }
        if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        if case .bool(let b) = try s.readLiteral() { return b }
        return nil
    }

    // The members below are read with loops of their own rather than `forEachMember`
    // closures, into the fields they belong to: these are the hottest members of a record.

    static func readIdentity(_ s: inout JSONScanner, into identity: inout IdentityFields?) throws {
        guard try s.peek() == UInt8(ascii: "{") else {
            try s.skipValueChecked(depth: 1)
            identity = nil
            return
        }
        // Filled where it is kept: filling a local and assigning it copied the whole struct
        // (a retain per string), then destroyed the local.
        identity = IdentityFields()
        try readIdentityMembers(&s, into: &identity!)
    }

    static func readIdentityMembers(_ s: inout JSONScanner, into f: inout IdentityFields) throws {
        if try s.enterObject(depth: 1) {
            repeat {
                switch try s.memberKey(identityKeys) {
                case .type: f.type = try s.readSharedStringValue(depth: 2)
                case .arn: f.arn = try s.readSharedStringValue(depth: 2)
                case .accountID: f.accountID = try s.readScalarText(depth: 2)
                case .principalID: f.principalID = try s.readSharedStringValue(depth: 2)
                case .userName: f.userName = try s.readSharedStringValue(depth: 2)
                case .invokedBy: f.invokedBy = try s.readSharedStringValue(depth: 2)
                case .accessKeyID: f.accessKeyID = try s.readSharedStringValue(depth: 2)
                case .sessionContext: try readSession(&s, into: &f)
                case .onBehalfOf: try readOnBehalfOf(&s, into: &f)
                case .identityProvider: f.identityProvider = try s.readSharedStringValue(depth: 2)
                case .inScopeOf: f.credentialsIssuedTo = try readMember(&s, inScopeOfKeys, .credentialsIssuedTo, depth: 2)
                case nil: try s.skipValueChecked(depth: 2)
                }
            } while try s.nextMember()
        }
    }

    /// `sessionContext`: each occurrence replaces what an earlier one said.
    static func readSession(_ s: inout JSONScanner, into f: inout IdentityFields) throws {
        f.sourceIdentity = nil
        f.issuerARN = nil
        f.issuerUserName = nil
        f.mfaAuthenticated = nil
        f.sessionCreated = nil
        f.federatedProvider = nil
        f.ec2RoleDelivery = nil
        guard try s.peek() == UInt8(ascii: "{") else { return try s.skipValueChecked(depth: 2) }
        guard try s.enterObject(depth: 2) else { return }
        repeat {
            switch try s.memberKey(sessionKeys) {
            case .sourceIdentity: f.sourceIdentity = try s.readSharedStringValue(depth: 3)
            case .sessionIssuer: try readIssuer(&s, into: &f)
            case .attributes: try readAttributes(&s, into: &f)
            case .webIdFederationData:
                f.federatedProvider = try readMember(&s, webIdentityKeys, .federatedProvider, depth: 3)
            case .ec2RoleDelivery: f.ec2RoleDelivery = try s.readScalarText(depth: 3)
            case nil: try s.skipValueChecked(depth: 3)
            }
        } while try s.nextMember()
    }

    /// `sessionContext.attributes`: each occurrence replaces what an earlier one said.
    static func readAttributes(_ s: inout JSONScanner, into f: inout IdentityFields) throws {
        f.mfaAuthenticated = nil
        f.sessionCreated = nil
        guard try s.peek() == UInt8(ascii: "{") else { return try s.skipValueChecked(depth: 3) }
        guard try s.enterObject(depth: 3) else { return }
        repeat {
            switch try s.memberKey(attributeKeys) {
            case .mfaAuthenticated: f.mfaAuthenticated = try s.readScalarText(depth: 4)
            case .creationDate: f.sessionCreated = try s.readSharedStringValue(depth: 4)
            case nil: try s.skipValueChecked(depth: 4)
            }
        } while try s.nextMember()
    }

    /// The string member `wanted` of an object whose other members are not kept (nil when the
    /// value is not an object, or has no such string): the last occurrence counts.
    static func readMember<Key: RawRepresentable & CaseIterable & Sendable & Equatable>(
        _ s: inout JSONScanner, _ keys: KeyTable<Key>, _ wanted: Key, depth: Int
    ) throws -> String? where Key.RawValue == String {
        guard try s.peek() == UInt8(ascii: "{") else {
            try s.skipValueChecked(depth: depth)
            return nil
        }
        var value: String?
        guard try s.enterObject(depth: depth) else { return nil }
        repeat {
            if try s.memberKey(keys) == wanted {
                value = try s.readSharedStringValue(depth: depth + 1)
            } else {
                try s.skipValueChecked(depth: depth + 1)
            }
        } while try s.nextMember()
        return value
    }

    /// `sessionContext.sessionIssuer`: each occurrence replaces what an earlier one said.
    static func readIssuer(_ s: inout JSONScanner, into f: inout IdentityFields) throws {
        f.issuerARN = nil
        f.issuerUserName = nil
        guard try s.peek() == UInt8(ascii: "{") else { return try s.skipValueChecked(depth: 3) }
        guard try s.enterObject(depth: 3) else { return }
        repeat {
            switch try s.memberKey(issuerKeys) {
            case .arn: f.issuerARN = try s.readSharedStringValue(depth: 4)
            case .userName: f.issuerUserName = try s.readSharedStringValue(depth: 4)
            case nil: try s.skipValueChecked(depth: 4)
            }
        } while try s.nextMember()
    }

    /// `onBehalfOf` (an Identity Center user): each occurrence replaces what an earlier one said.
    static func readOnBehalfOf(_ s: inout JSONScanner, into f: inout IdentityFields) throws {
        f.onBehalfOfUserID = nil
        f.identityStoreARN = nil
        guard try s.peek() == UInt8(ascii: "{") else { return try s.skipValueChecked(depth: 2) }
        guard try s.enterObject(depth: 2) else { return }
        repeat {
            switch try s.memberKey(onBehalfOfKeys) {
            case .userID: f.onBehalfOfUserID = try s.readSharedStringValue(depth: 3)
            case .identityStoreARN: f.identityStoreARN = try s.readSharedStringValue(depth: 3)
            case nil: try s.skipValueChecked(depth: 3)
            }
        } while try s.nextMember()
    }

    static func readParameters(_ s: inout JSONScanner, into parameters: inout ParameterFields?) throws {
        guard try s.peek() == UInt8(ascii: "{") else {
            try s.skipValueChecked(depth: 1)
            parameters = nil
            return
        }
        // Filled where it is kept, as `userIdentity` is.
        parameters = ParameterFields()
        try readParameterMembers(&s, into: &parameters!)
    }

    static func readParameterMembers(_ s: inout JSONScanner, into f: inout ParameterFields) throws {
        if try s.enterObject(depth: 1) {
            repeat {
                switch try s.memberKey(parameterKeys) {
                case .keyID: f.keyID = try s.readSharedStringValue(depth: 2)
                case .destinationKeyID: f.destinationKeyID = try s.readSharedStringValue(depth: 2)
                case .sourceKeyID: f.sourceKeyID = try s.readSharedStringValue(depth: 2)
                case .targetKeyID: f.targetKeyID = try s.readStringValue(depth: 2)
                case .aliasName: f.aliasName = try s.readStringValue(depth: 2)
                case .requestContext: f.requestContext = try readContext(&s)
                case .sourceContext: f.sourceContext = try readContext(&s)
                case .destinationContext: f.destinationContext = try readContext(&s)
                case .granteePrincipal: f.granteePrincipal = try s.readStringValue(depth: 2)
                case nil: try s.skipValueChecked(depth: 2)
                }
            } while try s.nextMember()
        }
    }

    /// An encryption context: string members as they are, others as their JSON text.
    static func readContext(_ s: inout JSONScanner) throws -> [ContextMember]? {
        guard try s.peek() == UInt8(ascii: "{") else {
            try s.skipValueChecked(depth: 2)
            return nil
        }
        var members: [ContextMember] = []
        guard try s.enterObject(depth: 2) else { return members }
        repeat {
            try s.skipWhitespace()
            let name = try s.readSharedString()
            try s.skipColon()
            if try s.peek() == UInt8(ascii: "\"") {
                members.append(ContextMember(name: name, value: try s.readSharedString(), isString: true))
            } else {
                members.append(ContextMember(name: name, value: try s.parseValue(depth: 3).jsonText, isString: false))
            }
        } while try s.nextMember()
        return members
    }

    /// `addendum`, when it is an object (rare: a late or an updated record).
    static func readAddendum(_ s: inout JSONScanner) throws -> Addendum? {
        guard try s.peek() == UInt8(ascii: "{") else {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        var a = Addendum()
        guard try s.enterObject(depth: 1) else { return a }
        repeat {
            switch try s.memberKey(addendumKeys) {
            case .reason: a.reason = try s.readStringValue(depth: 2)
            case .updatedFields: a.updatedFields = try s.readStringValue(depth: 2)
            case .originalRequestID: a.originalRequestID = try s.withStringValue(depth: 2) { CloudTrailID(utf8: $0) }
            case .originalEventID: a.originalEventID = try s.withStringValue(depth: 2) { CloudTrailID(utf8: $0) }
            case nil: try s.skipValueChecked(depth: 2)
            }
        } while try s.nextMember()
        return a
    }

    static func readResources(_ s: inout JSONScanner) throws -> [ResourceEntry]? {
        guard try s.peek() == UInt8(ascii: "[") else {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        s.i += 1
        var entries: [ResourceEntry] = []
        try s.skipWhitespace()
        if s.p[s.i] == UInt8(ascii: "]") { s.i += 1; return entries }
        while true {
            try s.skipWhitespace()
            if try s.peek() == UInt8(ascii: "{") {
                var upper, lower, type: String?
                if try s.enterObject(depth: 2) {
                    repeat {
                        switch try s.memberKey(resourceKeys) {
                        case .upperARN: upper = try s.readSharedStringValue(depth: 3)
                        case .lowerARN: lower = try s.readSharedStringValue(depth: 3)
                        case .type: type = try s.readSharedStringValue(depth: 3)
                        case nil: try s.skipValueChecked(depth: 3)
                        }
                    } while try s.nextMember()
                }
                entries.append(ResourceEntry(arn: upper ?? lower, type: type))
            } else {
                try s.skipValueChecked(depth: 2)
                entries.append(ResourceEntry(arn: nil, type: nil))
            }
            try s.skipWhitespace()
            if s.p[s.i] == UInt8(ascii: "]") { s.i += 1; return entries }
            try s.expect(UInt8(ascii: ","), "',' or ']'")
        }
    }
}
