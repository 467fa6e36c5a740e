/// Reads a KMS record's bytes straight into `KMSRecordFields`: only the members the index
/// keeps become Strings; no generic JSON tree is built.
///
/// It accepts and rejects what `parseValue` does over those members, and follows
/// `KMSRecordFields.init(_: JSONValue)`: wrong types read as nil, the last repeated key counts.
extension KMSRecordFields {
    static let recordKeys = KeyNames([
        "eventID", "eventTime", "eventName", "awsRegion", "recipientAccountId", "sourceIPAddress", "userAgent",
        "errorCode", "errorMessage", "requestID", "sharedEventID", "eventType", "readOnly", "userIdentity",
        "sessionCredentialFromConsole", "requestParameters", "resources",
    ])
    static let identityKeys = KeyNames([
        "type", "arn", "accountId", "principalId", "userName", "invokedBy", "accessKeyId", "sessionContext",
    ])
    static let sessionKeys = KeyNames(["sourceIdentity", "sessionIssuer"])
    static let issuerKeys = KeyNames(["arn", "userName"])
    static let parameterKeys = KeyNames(
        ["keyId", "destinationKeyId", "sourceKeyId", "targetKeyId", "aliasName"] + contextNames)
    static let resourceKeys = KeyNames(["ARN", "arn", "type"])

    /// Reads the record object at `s.i`. Members it does not keep are skipped unchecked, as
    /// the reader skips non-KMS records; the values of kept members are checked in full.
    /// (A static function returning a local, not an initializer: a throwing initializer's
    /// `self` was copied once more per record.)
    public static func read(_ s: inout JSONScanner) throws -> KMSRecordFields {
        var f = KMSRecordFields()
        var key: Int?
        try s.expect(0x7b, "'{'")
        try s.skipWhitespace()
        if s.p[s.i] == 0x7d {
            s.i += 1
            return f
        }
        while true {
            try s.skipWhitespace()
            key = try s.readKey(Self.recordKeys)
            try s.skipWhitespace()
            try s.expect(0x3a, "':'")
            try s.skipWhitespace()
            switch key {
            case 0: f.eventID = try s.readStringValue(depth: 1)
            case 1: f.eventTime = try s.readStringValue(depth: 1)
            case 2: f.eventName = try s.readStringValue(depth: 1)
            case 3: f.awsRegion = try s.readStringValue(depth: 1)
            case 4: f.recipientAccountID = try s.readScalarText(depth: 1)
            case 5: f.sourceIPAddress = try s.readSharedStringValue(depth: 1)
            case 6: f.userAgent = try s.readSharedStringValue(depth: 1)
            case 7: f.errorCode = try s.readSharedStringValue(depth: 1)
            case 8: f.errorMessage = try s.readSharedStringValue(depth: 1)
            case 9: f.requestID = try s.readStringValue(depth: 1)
            case 10: f.sharedEventID = try s.readStringValue(depth: 1)
            case 11: f.eventType = try s.readStringValue(depth: 1)
            case 12: f.readOnly = try Self.readReadOnly(&s)
            case 13: f.identity = try Self.readIdentity(&s)
            case 14: f.credentialFromConsole = try s.readScalarText(depth: 1)
            case 15: f.parameters = try Self.readParameters(&s)
            case 16: f.resources = try Self.readResources(&s)
            default: try s.skipValue()
            }
            try s.skipWhitespace()
            if s.p[s.i] == 0x7d { s.i += 1; break }
            try s.expect(0x2c, "',' or '}'")
        }
        return f
    }

    static func readReadOnly(_ s: inout JSONScanner) throws -> Bool? {
        let c = try s.peek()
        if c == 0x22 {
            let text = try s.readString()
            return text == "true" ? true : text == "false" ? false : nil
        }
        if c == 0x7b || c == 0x5b {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        if case .bool(let b) = try s.readLiteral() { return b }
        return nil
    }

    static func readIdentity(_ s: inout JSONScanner) throws -> IdentityFields? {
        guard try s.peek() == 0x7b else {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        var f = IdentityFields()
        var key: Int?
        try s.forEachMember(depth: 1, key: { key = try $0.readKey(identityKeys) }) { s in
            switch key {
            case 0: f.type = try s.readSharedStringValue(depth: 2)
            case 1: f.arn = try s.readSharedStringValue(depth: 2)
            case 2: f.accountID = try s.readScalarText(depth: 2)
            case 3: f.principalID = try s.readSharedStringValue(depth: 2)
            case 4: f.userName = try s.readSharedStringValue(depth: 2)
            case 5: f.invokedBy = try s.readSharedStringValue(depth: 2)
            case 6: f.accessKeyID = try s.readSharedStringValue(depth: 2)
            case 7: try readSession(&s, into: &f)
            default: try s.skipValueChecked(depth: 2)
            }
        }
        return f
    }

    /// `sessionContext`: each occurrence replaces what an earlier one said.
    static func readSession(_ s: inout JSONScanner, into f: inout IdentityFields) throws {
        f.sourceIdentity = nil
        f.issuerARN = nil
        f.issuerUserName = nil
        guard try s.peek() == 0x7b else { return try s.skipValueChecked(depth: 2) }
        var key: Int?
        try s.forEachMember(depth: 2, key: { key = try $0.readKey(sessionKeys) }) { s in
            switch key {
            case 0: f.sourceIdentity = try s.readSharedStringValue(depth: 3)
            case 1:
                f.issuerARN = nil
                f.issuerUserName = nil
                guard try s.peek() == 0x7b else { return try s.skipValueChecked(depth: 3) }
                var issuerKey: Int?
                try s.forEachMember(depth: 3, key: { issuerKey = try $0.readKey(issuerKeys) }) { s in
                    switch issuerKey {
                    case 0: f.issuerARN = try s.readSharedStringValue(depth: 4)
                    case 1: f.issuerUserName = try s.readSharedStringValue(depth: 4)
                    default: try s.skipValueChecked(depth: 4)
                    }
                }
            default: try s.skipValueChecked(depth: 3)
            }
        }
    }

    static func readParameters(_ s: inout JSONScanner) throws -> ParameterFields? {
        guard try s.peek() == 0x7b else {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        var f = ParameterFields()
        var key: Int?
        try s.forEachMember(depth: 1, key: { key = try $0.readKey(parameterKeys) }) { s in
            switch key {
            case 0: f.keyID = try s.readSharedStringValue(depth: 2)
            case 1: f.destinationKeyID = try s.readSharedStringValue(depth: 2)
            case 2: f.sourceKeyID = try s.readSharedStringValue(depth: 2)
            case 3: f.targetKeyID = try s.readStringValue(depth: 2)
            case 4: f.aliasName = try s.readStringValue(depth: 2)
            case 5, 6, 7: f.contexts[key! - 5] = try readContext(&s)
            default: try s.skipValueChecked(depth: 2)
            }
        }
        return f
    }

    /// An encryption context: string members as they are, others as their JSON text.
    static func readContext(_ s: inout JSONScanner) throws -> [ContextMember]? {
        guard try s.peek() == 0x7b else {
            try s.skipValueChecked(depth: 2)
            return nil
        }
        var members: [ContextMember] = []
        var name = ""
        try s.forEachMember(depth: 2, key: { name = try $0.readSharedString() }) { s in
            if try s.peek() == 0x22 {
                members.append(ContextMember(name: name, value: try s.readSharedString(), isString: true))
            } else {
                members.append(ContextMember(name: name, value: try s.parseValue(depth: 3).jsonText, isString: false))
            }
        }
        return members
    }

    static func readResources(_ s: inout JSONScanner) throws -> [ResourceEntry]? {
        guard try s.peek() == 0x5b else {
            try s.skipValueChecked(depth: 1)
            return nil
        }
        s.i += 1
        var entries: [ResourceEntry] = []
        try s.skipWhitespace()
        if s.p[s.i] == 0x5d { s.i += 1; return entries }
        while true {
            try s.skipWhitespace()
            if try s.peek() == 0x7b {
                var upper, lower, type: String?
                var key: Int?
                try s.forEachMember(depth: 2, key: { key = try $0.readKey(resourceKeys) }) { s in
                    switch key {
                    case 0: upper = try s.readSharedStringValue(depth: 3)
                    case 1: lower = try s.readSharedStringValue(depth: 3)
                    case 2: type = try s.readSharedStringValue(depth: 3)
                    default: try s.skipValueChecked(depth: 3)
                    }
                }
                entries.append(ResourceEntry(arn: upper ?? lower, type: type))
            } else {
                try s.skipValueChecked(depth: 2)
                entries.append(ResourceEntry(arn: nil, type: nil))
            }
            try s.skipWhitespace()
            if s.p[s.i] == 0x5d { s.i += 1; return entries }
            try s.expect(0x2c, "',' or ']'")
        }
    }
}
