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

    /// Normalizes a record parsed into a `JSONValue`.
    public static func normalize(_ record: JSONValue) throws -> KMSEvent {
        guard case .object = record else { throw RecordError("KMS record that is not an object") }
        return try normalize(KMSRecordFields(record))
    }

    /// Normalizes the typed members of a record. The members move into the event (`take()`):
    /// copying them would cost a reference count operation per string, several times per event.
    public static func normalize(_ fields: consuming KMSRecordFields) throws -> KMSEvent {
        guard let eventID = fields.eventID.take(), !eventID.isEmpty else {
            throw RecordError("KMS record without a string eventID")
        }
        guard let rawTime = fields.eventTime.take() else {
            throw RecordError("KMS record \(eventID) without a string eventTime")
        }
        guard let eventTime = EventTime.normalize(rawTime) else {
            throw RecordError("KMS record \(eventID) has an eventTime that is not a time")
        }
        guard let eventName = fields.eventName.take(), !eventName.isEmpty else {
            throw RecordError("KMS record \(eventID) without a string eventName")
        }
        var event = KMSEvent(eventID: eventID, eventTime: eventTime, eventName: eventName)
        event.awsRegion = fields.awsRegion.take()
        event.recipientAccountID = fields.recipientAccountID.take()
        event.sourceIPAddress = fields.sourceIPAddress.take()
        event.userAgent = fields.userAgent.take()
        event.errorCode = fields.errorCode.take()
        event.errorMessage = fields.errorMessage.take()
        event.requestID = fields.requestID.take()
        event.sharedEventID = fields.sharedEventID.take()
        event.eventType = fields.eventType.take()
        event.readOnly = fields.readOnly
        event.principal = principal(fields.identity.take(), credentialFromConsole: fields.credentialFromConsole.take())
        resolveKeys(&event, parameters: fields.parameters, resources: fields.resources)
        readContexts(&event, parameters: fields.parameters)
        return event
    }

    static func principal(_ identity: consuming KMSRecordFields.IdentityFields?, credentialFromConsole: String?) -> Principal {
        var p = Principal()
        p.credentialFromConsole = credentialFromConsole
        guard var identity = identity.take() else { return p }
        p.type = identity.type.take()
        p.arn = identity.arn.take()
        p.accountID = identity.accountID.take()
        p.principalID = identity.principalID.take()
        p.userName = identity.userName.take()
        p.invokedBy = identity.invokedBy.take()
        p.accessKeyID = identity.accessKeyID.take()
        p.sourceIdentity = identity.sourceIdentity.take()
        p.roleARN = identity.issuerARN.take()
        if p.userName == nil, p.type != "AssumedRole" { p.userName = identity.issuerUserName.take() }
        if let arn = p.arn, let session = session(of: arn, roleWanted: p.roleARN == nil) {
            p.sessionName = session.name
            // Older records lack sessionIssuer: the role is in the session ARN.
            if p.roleARN == nil { p.roleARN = session.roleARN }
        }
        return p
    }

    /// The session of an STS ARN, `assumed-role/ROLE/SESSION` (the session may hold more
    /// slashes) or `federated-user/NAME`, and for an assumed role, when wanted, the role's ARN.
    static func session(of arn: String, roleWanted: Bool) -> (name: String, roleARN: String?)? {
        guard let parsed = ARN(arn), parsed.service == "sts" else { return nil }
        func role(_ name: some StringProtocol) -> String? {
            roleWanted ? "arn:\(parsed.partition):iam::\(parsed.account):role/\(name)" : nil
        }
        // ASCII, where bytes are characters: the slashes are found in the bytes.
        enum Found { case notASCII, nothing, session(name: String, role: String?) }
        var text = arn
        let resourceStart = arn.utf8.distance(from: arn.utf8.startIndex, to: parsed.resource.startIndex)
        let found = text.withUTF8 { bytes -> Found in
            let r = UnsafeBufferPointer(rebasing: bytes[resourceStart...])
            guard r.allSatisfy({ $0 < 0x80 }) else { return .notASCII }
            guard let slash = r.firstIndex(of: 0x2f) else { return .nothing }
            func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: r[range]), as: UTF8.self) }
            let kind = text(0..<slash)
            if kind == "assumed-role" {
                guard let second = r[(slash + 1)...].firstIndex(of: 0x2f) else { return .nothing }
                return .session(name: text((second + 1)..<r.count), role: role(text((slash + 1)..<second)))
            }
            return kind == "federated-user" ? .session(name: text((slash + 1)..<r.count), role: nil) : .nothing
        }
        switch found {
        case .session(let name, let role): return (name, role)
        case .nothing: return nil
        case .notASCII: break
        }
        // Other text is searched by characters: a slash followed by a combining mark is not a slash.
        let resource = parsed.resource
        guard let slash = resource.firstIndex(of: "/") else { return nil }
        let kind = resource[..<slash]
        let rest = resource[resource.index(after: slash)...]
        if kind == "assumed-role", let second = rest.firstIndex(of: "/") {
            return (String(rest[rest.index(after: second)...]), role(rest[..<second]))
        }
        return kind == "federated-user" ? (String(rest), nil) : nil
    }

    /// Key ARNs named in `resources`: entries typed `AWS::KMS::Key`, or untyped entries whose ARN is a key ARN.
    static func resourceKeys(_ resources: [KMSRecordFields.ResourceEntry]?) -> [String] {
        var keys: [String] = []
        for item in resources ?? [] {
            guard let arn = item.arn else { continue }
            if item.type == "AWS::KMS::Key" || (item.type == nil && ARN(arn)?.isKMSKey == true) {
                if !keys.contains(arn) { keys.append(arn) }
            }
        }
        return keys
    }

    /// The key ARN among `candidates` that a `keyId` (ARN, bare id or alias) names, if it can tell.
    static func match(_ keyID: String?, in candidates: [String]) -> String? {
        guard let keyID else { return nil }
        let arn = ARN(keyID)
        if arn?.isKMSKey == true { return keyID }
        if arn?.isKMSAlias == true || keyID.hasPrefix("alias/") { return nil }
        return candidates.first { $0.hasSuffix("/" + keyID) }
    }

    static func resolveKeys(_ event: inout KMSEvent, parameters: KMSRecordFields.ParameterFields?,
                            resources: [KMSRecordFields.ResourceEntry]?) {
        let keys = resourceKeys(resources)
        let keyID = parameters?.keyID
        let destinationKeyID = parameters?.destinationKeyID
        let sourceKeyID = parameters?.sourceKeyID
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
        if event.eventName == "CreateAlias" || event.eventName == "UpdateAlias", let target = parameters?.targetKeyID {
            let targetARN = match(target, in: keys) ?? keys.first
            learn(parameters?.aliasName, targetARN)
        }
    }

    /// `alias/NAME` from an alias name or alias ARN; nil for anything else.
    public static func aliasName(_ text: String) -> String? {
        if text.hasPrefix("alias/") { return text }
        if let arn = ARN(text), arn.isKMSAlias { return String(arn.resource) }
        return nil
    }

    static func readContexts(_ event: inout KMSEvent, parameters: KMSRecordFields.ParameterFields?) {
        guard let parameters else { return }
        for index in 0..<3 {
            guard let members = parameters[context: index], let scope = ContextScope(rawValue: index) else { continue }
            for member in members {
                if scope == .request && member.name == contextS3 && member.isString {
                    event.s3ARN = member.value
                } else if scope == .request && member.name == contextTrail && member.isString {
                    event.trailARN = member.value
                } else {
                    event.otherContext.removeAll { $0.scope == scope && $0.name == member.name }
                    event.otherContext.append(ContextPair(scope: scope, name: member.name, value: member.value))
                }
            }
        }
    }
}
