/// The members of a KMS record that `EventNormalizer` reads, already typed.
///
/// The byte reader fills them straight from the file (`read(_:)`); a `JSONValue`
/// record converts to them (`init(_:)`), which keeps a generic parse as the reference.
/// A member of the wrong type is nil; when a key repeats, the last one counts.
package struct KMSRecordFields: Equatable, Sendable {
    package var eventName, awsRegion, sourceIPAddress, userAgent: String?
    package var errorCode, errorMessage, eventType: String?
    /// Ids and the time are read once, into the form the index stores, by the parsing thread.
    package var eventID, requestID, sharedEventID: CloudTrailID?
    package var eventTime: RecordTime?
    /// Scalars as text: strings as they are, numbers and booleans as written.
    package var recipientAccountID, credentialFromConsole: String?
    /// A boolean, or the string "true" or "false".
    package var readOnly: Bool?
    /// `userIdentity`, when it is an object.
    package var identity: IdentityFields?
    /// `requestParameters`, when it is an object.
    package var parameters: ParameterFields?
    /// `resources`, when it is an array.
    package var resources: [ResourceEntry]?
    /// `addendum`, when it is an object.
    package var addendum: Addendum?

    package init() {}

    /// What `userIdentity` holds that the index keeps.
    package struct IdentityFields: Equatable, Sendable {
        package var type, arn, principalID, userName, invokedBy, accessKeyID: String?
        /// Scalar text, like `recipientAccountId`.
        package var accountID: String?
        /// `sessionContext.sourceIdentity`.
        package var sourceIdentity: String?
        /// `sessionContext.sessionIssuer.arn` and `.userName`.
        package var issuerARN, issuerUserName: String?
        /// `onBehalfOf.userId` and `.identityStoreArn`: who an Identity Center user is.
        package var onBehalfOfUserID, identityStoreARN: String?
        /// `identityProvider` (a SAML or web identity user's) and `inScopeOf.credentialsIssuedTo`
        /// (the resource a service's credentials were issued to, such as a Lambda function).
        package var identityProvider, credentialsIssuedTo: String?
        /// `sessionContext.attributes.mfaAuthenticated` (scalar text) and `.creationDate`,
        /// `sessionContext.webIdFederationData.federatedProvider`, and
        /// `sessionContext.ec2RoleDelivery` (scalar text: the instance metadata service's version).
        package var mfaAuthenticated, sessionCreated, federatedProvider, ec2RoleDelivery: String?
        package init() {}
    }

    /// What `requestParameters` holds that the index keeps.
    package struct ParameterFields: Equatable, Sendable {
        package var keyID, destinationKeyID, sourceKeyID, targetKeyID, aliasName: String?
        /// CreateGrant's grantee.
        package var granteePrincipal: String?
        /// The members of each encryption context that is an object. Three fields rather than
        /// an array of three: no allocation per record.
        package var requestContext, sourceContext, destinationContext: [ContextMember]?
        package init() {}

        /// The context of a scope, by `ContextScope.rawValue`.
        package subscript(context scope: Int) -> [ContextMember]? {
            get { scope == 0 ? requestContext : scope == 1 ? sourceContext : destinationContext }
            set {
                switch scope {
                case 0: requestContext = newValue
                case 1: sourceContext = newValue
                default: destinationContext = newValue
                }
            }
        }
    }

    /// One member of an encryption context: a string, or the JSON text of another value.
    package struct ContextMember: Equatable, Sendable {
        package var name: String
        package var value: String
        package var isString: Bool
        package init(name: String, value: String, isString: Bool) {
            self.name = name
            self.value = value
            self.isString = isString
        }
    }

    /// One entry of `resources`: its `ARN` (else `arn`) and `type`, when they are strings.
    package struct ResourceEntry: Equatable, Sendable {
        package var arn: String?
        package var type: String?
        package init(arn: String?, type: String?) {
            self.arn = arn
            self.type = type
        }
    }

    /// Encryption-context member names, by `ContextScope.rawValue`.
    static let contextNames = ["encryptionContext", "sourceEncryptionContext", "destinationEncryptionContext"]
}

extension KMSRecordFields {
    /// The fields of a record already parsed into a `JSONValue` (nil members for a non-object).
    package init(_ record: JSONValue) {
        self.init()
        guard case .object(let members) = record else { return }
        for (key, value) in members {
            switch key {
            case "eventID": eventID = value.string.map { CloudTrailID($0) }
            case "eventTime": eventTime = value.string.map(RecordTime.init)
            case "eventName": eventName = value.string
            case "awsRegion": awsRegion = value.string
            case "recipientAccountId": recipientAccountID = value.scalarText
            case "sourceIPAddress": sourceIPAddress = value.string
            case "userAgent": userAgent = value.string
            case "errorCode": errorCode = Self.errorCode(value)
            case "errorMessage": errorMessage = value.string
            case "requestID": requestID = value.string.map { CloudTrailID($0) }
            case "sharedEventID": sharedEventID = value.string.map { CloudTrailID($0) }
            case "eventType": eventType = value.string
            case "readOnly": readOnly = Self.readOnly(value)
            case "userIdentity": identity = Self.identity(value)
            case "sessionCredentialFromConsole": credentialFromConsole = value.scalarText
            case "requestParameters": parameters = Self.parameters(value)
            case "resources": resources = Self.resources(value)
            case "addendum": addendum = Self.addendum(value)
            default: break
            }
        }
    }

    /// A string as it is; any other value but null as its JSON text (`KMSRecordReader`).
    static func errorCode(_ value: JSONValue) -> String? {
        if case .null = value { return nil }
        return value.string ?? value.jsonText
    }

    static func readOnly(_ value: JSONValue) -> Bool? {
        switch value {
        case .bool(let b): return b
        case .string(let s) where s == "true" || s == "false": return s == "true"
        default: return nil
        }
    }

    static func identity(_ value: JSONValue) -> IdentityFields? {
        guard case .object = value else { return nil }
        var f = IdentityFields()
        f.type = value["type"]?.string
        f.arn = value["arn"]?.string
        f.accountID = value["accountId"]?.scalarText
        f.principalID = value["principalId"]?.string
        f.userName = value["userName"]?.string
        f.invokedBy = value["invokedBy"]?.string
        f.accessKeyID = value["accessKeyId"]?.string
        let session = value["sessionContext"]
        f.sourceIdentity = session?["sourceIdentity"]?.string
        f.issuerARN = session?["sessionIssuer"]?["arn"]?.string
        f.issuerUserName = session?["sessionIssuer"]?["userName"]?.string
        let onBehalfOf = value["onBehalfOf"]
        f.onBehalfOfUserID = onBehalfOf?["userId"]?.string
        f.identityStoreARN = onBehalfOf?["identityStoreArn"]?.string
        f.identityProvider = value["identityProvider"]?.string
        if case .object? = value["inScopeOf"] { f.credentialsIssuedTo = value["inScopeOf"]?["credentialsIssuedTo"]?.string }
        if case .object? = session {
            if case .object? = session?["attributes"] {
                f.mfaAuthenticated = session?["attributes"]?["mfaAuthenticated"]?.scalarText
                f.sessionCreated = session?["attributes"]?["creationDate"]?.string
            }
            if case .object? = session?["webIdFederationData"] {
                f.federatedProvider = session?["webIdFederationData"]?["federatedProvider"]?.string
            }
            f.ec2RoleDelivery = session?["ec2RoleDelivery"]?.scalarText
        }
        return f
    }

    static func parameters(_ value: JSONValue) -> ParameterFields? {
        guard case .object = value else { return nil }
        var f = ParameterFields()
        f.keyID = value["keyId"]?.string
        f.destinationKeyID = value["destinationKeyId"]?.string
        f.sourceKeyID = value["sourceKeyId"]?.string
        f.targetKeyID = value["targetKeyId"]?.string
        f.aliasName = value["aliasName"]?.string
        f.granteePrincipal = value["granteePrincipal"]?.string
        for (scope, name) in contextNames.enumerated() {
            guard case .object(let members)? = value[name] else { continue }
            f[context: scope] = members.map { key, member in
                ContextMember(name: key, value: member.string ?? member.jsonText, isString: member.string != nil)
            }
        }
        return f
    }

    static func addendum(_ value: JSONValue) -> Addendum? {
        guard case .object = value else { return nil }
        var a = Addendum()
        a.reason = value["reason"]?.string
        a.updatedFields = value["updatedFields"]?.string
        a.originalRequestID = value["originalRequestID"]?.string.map { CloudTrailID($0) }
        a.originalEventID = value["originalEventID"]?.string.map { CloudTrailID($0) }
        return a
    }

    static func resources(_ value: JSONValue) -> [ResourceEntry]? {
        guard case .array(let items) = value else { return nil }
        return items.map { ResourceEntry(arn: $0["ARN"]?.string ?? $0["arn"]?.string, type: $0["type"]?.string) }
    }
}
