/// Why a KMS record was not indexed.
public struct RecordError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Turns a KMS CloudTrail record into a `KMSEvent`.
///
/// A record without a usable `eventID`, `eventTime` or `eventName` is rejected (the caller
/// counts and reports it); any other field of the wrong type is read as absent.
public enum EventNormalizer {
    public static let contextS3 = "aws:s3:arn"
    public static let contextTrail = "aws:cloudtrail:arn"

    /// The members of a record that `normalize` reads; the reader builds only these.
    public static var recordFields: Set<String> { RecordFields.names }

    public static func normalize(_ record: JSONValue) throws -> KMSEvent {
        guard case .object(let members) = record else { throw RecordError("KMS record that is not an object") }
        // One pass over the members (a repeated key: the last one counts, as everywhere else).
        var fields = RecordFields()
        for (key, value) in members { fields.take(key, value) }
        guard let eventID = fields.eventID?.string, !eventID.isEmpty else {
            throw RecordError("KMS record without a string eventID")
        }
        guard let rawTime = fields.eventTime?.string else {
            throw RecordError("KMS record \(eventID) without a string eventTime")
        }
        guard let eventTime = EventTime.normalize(rawTime) else {
            throw RecordError("KMS record \(eventID) has an eventTime that is not a time")
        }
        guard let eventName = fields.eventName?.string, !eventName.isEmpty else {
            throw RecordError("KMS record \(eventID) without a string eventName")
        }
        var event = KMSEvent(eventID: eventID, eventTime: eventTime, eventName: eventName)
        event.awsRegion = fields.awsRegion?.string
        event.recipientAccountID = fields.recipientAccountID?.scalarText
        event.sourceIPAddress = fields.sourceIPAddress?.string
        event.userAgent = fields.userAgent?.string
        event.errorCode = fields.errorCode?.string
        event.errorMessage = fields.errorMessage?.string
        event.requestID = fields.requestID?.string
        event.sharedEventID = fields.sharedEventID?.string
        event.eventType = fields.eventType?.string
        switch fields.readOnly {
        case .bool(let b)?: event.readOnly = b
        case .string(let s)? where s == "true" || s == "false": event.readOnly = s == "true"
        default: break
        }
        event.principal = principal(fields.userIdentity, credentialFromConsole: fields.credentialFromConsole?.scalarText)
        resolveKeys(&event, parameters: fields.requestParameters, resources: fields.resources)
        readContexts(&event, parameters: fields.requestParameters)
        return event
    }

    /// The members of a record that matter, picked out in one pass.
    struct RecordFields {
        /// Every key `take` keeps (the reader builds only these members).
        static let names: Set<String> = [
            "eventID", "eventTime", "eventName", "awsRegion", "recipientAccountId", "sourceIPAddress", "userAgent",
            "errorCode", "errorMessage", "requestID", "sharedEventID", "eventType", "readOnly", "userIdentity",
            "sessionCredentialFromConsole", "requestParameters", "resources",
        ]

        var eventID, eventTime, eventName, awsRegion, recipientAccountID, sourceIPAddress, userAgent: JSONValue?
        var errorCode, errorMessage, requestID, sharedEventID, eventType, readOnly: JSONValue?
        var userIdentity, credentialFromConsole, requestParameters, resources: JSONValue?

        mutating func take(_ key: String, _ value: JSONValue) {
            switch key {
            case "eventID": eventID = value
            case "eventTime": eventTime = value
            case "eventName": eventName = value
            case "awsRegion": awsRegion = value
            case "recipientAccountId": recipientAccountID = value
            case "sourceIPAddress": sourceIPAddress = value
            case "userAgent": userAgent = value
            case "errorCode": errorCode = value
            case "errorMessage": errorMessage = value
            case "requestID": requestID = value
            case "sharedEventID": sharedEventID = value
            case "eventType": eventType = value
            case "readOnly": readOnly = value
            case "userIdentity": userIdentity = value
            case "sessionCredentialFromConsole": credentialFromConsole = value
            case "requestParameters": requestParameters = value
            case "resources": resources = value
            default: break
            }
        }
    }

    static func principal(_ identity: JSONValue?, credentialFromConsole: String?) -> Principal {
        var p = Principal()
        p.credentialFromConsole = credentialFromConsole
        guard let identity, case .object = identity else { return p }
        p.type = identity["type"]?.string
        p.arn = identity["arn"]?.string
        p.accountID = identity["accountId"]?.scalarText
        p.principalID = identity["principalId"]?.string
        p.userName = identity["userName"]?.string
        p.invokedBy = identity["invokedBy"]?.string
        p.accessKeyID = identity["accessKeyId"]?.string
        let session = identity["sessionContext"]
        p.sourceIdentity = session?["sourceIdentity"]?.string
        if let issuer = session?["sessionIssuer"] {
            p.roleARN = issuer["arn"]?.string
            if p.userName == nil, p.type != "AssumedRole" { p.userName = issuer["userName"]?.string }
        }
        if let arn = p.arn, let parsed = ARN(arn), parsed.service == "sts" {
            let parts = parsed.resource.split(separator: "/", omittingEmptySubsequences: false)
            if parts.first == "assumed-role", parts.count >= 3 {
                p.sessionName = parts[2...].joined(separator: "/")
                if p.roleARN == nil {
                    // Older records lack sessionIssuer: the role is in the session ARN.
                    p.roleARN = "arn:\(parsed.partition):iam::\(parsed.account):role/\(parts[1])"
                }
            } else if parts.first == "federated-user", parts.count >= 2 {
                p.sessionName = parts[1...].joined(separator: "/")
            }
        }
        return p
    }

    /// Key ARNs named in `resources`: entries typed `AWS::KMS::Key`, or untyped entries whose ARN is a key ARN.
    static func resourceKeys(_ resources: JSONValue?) -> [String] {
        guard case .array(let items)? = resources else { return [] }
        var keys: [String] = []
        for item in items {
            guard let arn = item["ARN"]?.string ?? item["arn"]?.string else { continue }
            let type = item["type"]?.string
            if type == "AWS::KMS::Key" || (type == nil && ARN(arn)?.isKMSKey == true) {
                if !keys.contains(arn) { keys.append(arn) }
            }
        }
        return keys
    }

    /// The key ARN among `candidates` that a `keyId` (ARN, bare id or alias) names, if it can tell.
    static func match(_ keyID: String?, in candidates: [String]) -> String? {
        guard let keyID else { return nil }
        if let arn = ARN(keyID), arn.isKMSKey { return keyID }
        if keyID.hasPrefix("alias/") || ARN(keyID)?.isKMSAlias == true { return nil }
        return candidates.first { $0.hasSuffix("/" + keyID) }
    }

    static func resolveKeys(_ event: inout KMSEvent, parameters: JSONValue?, resources: JSONValue?) {
        let keys = resourceKeys(resources)
        let keyID = parameters?["keyId"]?.string
        let destinationKeyID = parameters?["destinationKeyId"]?.string
        let sourceKeyID = parameters?["sourceKeyId"]?.string
        let requested = keyID ?? destinationKeyID

        var primary = match(requested, in: keys)
        if event.eventName == "ReEncrypt" {
            let source = match(sourceKeyID, in: keys)
                ?? keys.first { $0 != primary && $0 != match(destinationKeyID, in: keys) }
            event.sourceKeyARN = source
            if primary == nil { primary = keys.first { $0 != source } ?? keys.first }
        } else if primary == nil {
            primary = keys.first
        }
        event.keyARN = primary
        if let requested, requested != primary { event.requestedKey = requested }

        // An alias used beside a known key teaches alias -> key.
        func learn(_ alias: String?, _ key: String?) {
            guard let alias, let key else { return }
            if let name = aliasName(alias) { event.aliases.append((name, key)) }
        }
        learn(requested, primary)
        learn(sourceKeyID, event.sourceKeyARN)
        if ["CreateAlias", "UpdateAlias"].contains(event.eventName), let target = parameters?["targetKeyId"]?.string {
            let targetARN = match(target, in: keys) ?? keys.first
            learn(parameters?["aliasName"]?.string, targetARN)
        }
    }

    /// `alias/NAME` from an alias name or alias ARN; nil for anything else.
    public static func aliasName(_ text: String) -> String? {
        if text.hasPrefix("alias/") { return text }
        if let arn = ARN(text), arn.isKMSAlias { return arn.resource }
        return nil
    }

    static func readContexts(_ event: inout KMSEvent, parameters: JSONValue?) {
        let scopes: [(String, ContextScope)] = [
            ("encryptionContext", .request), ("sourceEncryptionContext", .source),
            ("destinationEncryptionContext", .destination),
        ]
        for (field, scope) in scopes {
            guard case .object(let members)? = parameters?[field] else { continue }
            for (name, value) in members {
                let text = value.string ?? value.jsonText
                if scope == .request && name == contextS3 && value.string != nil {
                    event.s3ARN = text
                } else if scope == .request && name == contextTrail && value.string != nil {
                    event.trailARN = text
                } else {
                    event.otherContext.removeAll { $0.scope == scope && $0.name == name }
                    event.otherContext.append(ContextPair(scope: scope, name: name, value: text))
                }
            }
        }
    }
}
