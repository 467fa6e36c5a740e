/// Why a KMS record was not indexed.
package enum RecordError: Error, Equatable, CustomStringConvertible {
    /// A KMS record that is not a JSON object.
    case kmsNotObject
    /// A KMS record without a non-empty string `eventID`.
    case kmsNoEventID
    /// A KMS record whose `eventTime` is missing or not a string.
    case kmsNoEventTime(eventID: String)
    /// A KMS record whose `eventTime` is a string but not a time.
    case kmsEventTimeNotATime(eventID: String)
    /// A KMS record without a string `eventName`.
    case kmsNoEventName(eventID: String)
    /// An S3 read without a non-empty string `eventID`.
    case s3NoEventID
    /// An S3 read without an `eventTime` that reads as a time.
    case s3NoEventTime(eventID: String)
    /// A copy (`eventName`) whose `x-amz-copy-source` is missing or unreadable.
    case s3NoCopySource(eventID: String, eventName: String)
    /// An S3 read that names no bucket and key, neither in its parameters nor its resources.
    case s3NoObject(eventID: String, eventName: String)

    package var description: String {
        switch self {
        case .kmsNotObject: return "KMS record that is not an object"
        case .kmsNoEventID: return "KMS record without a string eventID"
        case let .kmsNoEventTime(id): return "KMS record \(id) without a string eventTime"
        case let .kmsEventTimeNotATime(id): return "KMS record \(id) has an eventTime that is not a time"
        case let .kmsNoEventName(id): return "KMS record \(id) without a string eventName"
        case .s3NoEventID: return "S3 record without a string eventID"
        case let .s3NoEventTime(id): return "S3 record \(id) without a readable eventTime"
        case let .s3NoCopySource(id, name): return "S3 record \(id) (\(name)) without a readable x-amz-copy-source"
        case let .s3NoObject(id, name): return "S3 record \(id) (\(name)) names no bucket and key"
        }
    }
}

/// Turns a KMS CloudTrail record into a `KMSEvent`.
///
/// A record without a usable `eventID`, `eventTime` or `eventName` is rejected (the caller
/// counts and reports it); any other field of the wrong type is read as absent.
package enum EventNormalizer {
    package static let contextS3 = "aws:s3:arn"
    package static let contextTrail = "aws:cloudtrail:arn"

    /// Normalizes a record parsed into a `JSONValue`.
    package static func normalize(_ record: JSONValue) throws -> KMSEvent {
        guard case .object = record else { throw RecordError.kmsNotObject }
        return try normalize(KMSRecordFields(record))
    }

    /// Normalizes the typed members of a record. The members move into the event (`take()`):
    /// copying them would cost a reference count operation per string, several times per event.
    package static func normalize(_ fields: consuming KMSRecordFields) throws -> KMSEvent {
        guard let eventID = fields.eventID.take(), !eventID.isEmpty else {
            throw RecordError.kmsNoEventID
        }
        guard let recordTime = fields.eventTime.take() else {
            throw RecordError.kmsNoEventTime(eventID: eventID.description)
        }
        guard case .milliseconds(let eventTimeMs) = recordTime else {
            throw RecordError.kmsEventTimeNotATime(eventID: eventID.description)
        }
        guard let eventName = fields.eventName.take(), !eventName.isEmpty else {
            throw RecordError.kmsNoEventName(eventID: eventID.description)
        }
        let parameters = fields.parameters.take()
        let awsRegion = fields.awsRegion.take(), recipientAccountID = fields.recipientAccountID.take()
        let (keyARN, sourceKeyARN, requestedKey, aliases) = resolveKeys(
            eventName: eventName, parameters: parameters, resources: fields.resources.take(),
            region: awsRegion, account: recipientAccountID)
        let (s3ARN, trailARN, otherContext) = readContexts(parameters)
        var event = KMSEvent(
            eventID: eventID, eventTimeMs: eventTimeMs, eventName: eventName, awsRegion: awsRegion,
            recipientAccountID: recipientAccountID, sourceIPAddress: fields.sourceIPAddress.take(),
            userAgent: fields.userAgent.take(), errorCode: fields.errorCode.take(), errorMessage: fields.errorMessage.take(),
            requestID: fields.requestID.take(), sharedEventID: fields.sharedEventID.take(), readOnly: fields.readOnly,
            eventType: fields.eventType.take(), principal: Principal(),
            keyARN: keyARN, sourceKeyARN: sourceKeyARN, requestedKey: requestedKey, aliases: aliases,
            s3ARN: s3ARN, trailARN: trailARN, otherContext: otherContext,
            granteePrincipal: parameters?.granteePrincipal, addendum: fields.addendum.take())
        // Filled in place: a Principal passed to the initializer was copied (a retain per string).
        fillPrincipal(&event.principal, fields.identity.take(), credentialFromConsole: fields.credentialFromConsole.take())
        return event
    }

    @inline(__always)
    static func fillPrincipal(
        _ p: inout Principal, _ identity: consuming KMSRecordFields.IdentityFields?,
        credentialFromConsole: String?
    ) {
        p.credentialFromConsole = credentialFromConsole
        guard var identity = identity.take() else { return }
        p.type = identity.type.take()
        p.arn = identity.arn.take()
        p.userName = identity.userName.take()
        if p.userName == nil, p.type != "AssumedRole" { p.userName = identity.issuerUserName.take() }
        p.roleARN = identity.issuerARN.take()
        if let arn = p.arn, let session = session(of: arn, roleWanted: p.roleARN == nil) {
            p.sessionName = session.name
            // Older records lack sessionIssuer: the role is in the session ARN.
            if p.roleARN == nil { p.roleARN = session.roleARN }
        }
        p.accountID = identity.accountID.take()
        p.principalID = identity.principalID.take()
        p.invokedBy = identity.invokedBy.take()
        p.accessKeyID = identity.accessKeyID.take()
        p.sourceIdentity = identity.sourceIdentity.take()
        p.onBehalfOfUserID = identity.onBehalfOfUserID.take()
        p.identityStoreARN = identity.identityStoreARN.take()
        p.identityProvider = identity.identityProvider.take()
        p.credentialsIssuedTo = identity.credentialsIssuedTo.take()
        p.mfaAuthenticated = identity.mfaAuthenticated.take()
        p.sessionCreated = identity.sessionCreated.take()
        p.federatedProvider = identity.federatedProvider.take()
        p.ec2RoleDelivery = identity.ec2RoleDelivery.take()
    }

    /// The session of an STS ARN, `assumed-role/ROLE/SESSION` (the session may hold more
    /// slashes) or `federated-user/NAME`, and for an assumed role, when wanted, the role's ARN.
    static func session(of arn: String, roleWanted: Bool) -> (name: String, roleARN: String?)? {
        enum Found { case notARN, notASCII, nothing, session(name: String, role: String?) }
        // ASCII, where bytes are characters: the slashes are found in the bytes.
        let found = arn.withARNBytes { parsed -> Found in
            guard let parsed, parsed.serviceIs("sts") else { return .notARN }
            let r = parsed.resource
            guard ByteSearch.isASCII(r) else { return .notASCII }
            guard let slash = r.firstIndex(of: UInt8(ascii: "/")) else { return .nothing }
            func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: r[range]), as: UTF8.self) }
            if ARNBytes.equal(r, 0..<slash, "assumed-role") {
                guard let second = r[(slash + 1)...].firstIndex(of: UInt8(ascii: "/")) else { return .nothing }
                let role =
                    roleWanted
                    ? "arn:\(parsed.string(parsed.partition)):iam::\(parsed.string(parsed.account)):role/\(text((slash + 1)..<second))"
                    : nil
                return .session(name: text((second + 1)..<r.count), role: role)
            }
            return ARNBytes.equal(r, 0..<slash, "federated-user") ? .session(name: text((slash + 1)..<r.count), role: nil) : .nothing
        }
        switch found {
        case .session(let name, let role): return (name, role)
        case .notARN, .nothing: return nil
        case .notASCII: return sessionByCharacters(of: arn, roleWanted: roleWanted)
        }
    }

    /// `session(of:roleWanted:)` for a resource with non-ASCII text, searched by characters:
    /// a slash followed by a combining mark is not a slash.
    static func sessionByCharacters(of arn: String, roleWanted: Bool) -> (name: String, roleARN: String?)? {
        guard let parsed = ARN(arn) else { return nil }
        func role(_ name: some StringProtocol) -> String? {
            roleWanted ? "arn:\(parsed.partition):iam::\(parsed.account):role/\(name)" : nil
        }
        let resource = parsed.resource
        guard let slash = resource.firstIndex(of: "/") else { return nil }
        let kind = resource[..<slash]
        let rest = resource[resource.index(after: slash)...]
        if kind == "assumed-role", let second = rest.firstIndex(of: "/") {
            return (String(rest[rest.index(after: second)...]), role(rest[..<second]))
        }
        return kind == "federated-user" ? (String(rest), nil) : nil
    }

    /// Key ARNs named in `resources`: entries typed `AWS::KMS::Key`, or untyped entries whose ARN is
    /// a key ARN. An alias ARN is no key, whatever its type says: `UpdateAlias` and `DeleteAlias`
    /// list the alias first, typed `AWS::KMS::Key`, then the key.
    static func resourceKeys(_ resources: [KMSRecordFields.ResourceEntry]?) -> [String] {
        var keys: [String] = []
        var seen = Set<String>()  // a search of `keys` per entry made a long list quadratic
        for item in resources ?? [] {
            if let arn = keyARN(of: item), seen.insert(arn).inserted { keys.append(arn) }
        }
        return keys
    }

    /// The key ARN a `resources` entry names, if it names a key.
    private static func keyARN(of item: KMSRecordFields.ResourceEntry) -> String? {
        guard let arn = item.arn else { return nil }
        if item.type == "AWS::KMS::Key" { return arn.withARNBytes { $0?.isKMSAlias(arn) == true } ? nil : arn }
        return item.type == nil && arn.withARNBytes { $0?.isKMSKey(arn) == true } ? arn : nil
    }

    /// The key ARN among `candidates` that a `keyId` (ARN, bare id or alias) names, if it can
    /// tell; else, for a bare key id, the key of that id in `region` and `account`. A key ARN
    /// that `resources` lists keys without is not taken: the keys CloudTrail says the call
    /// acted on come first (the ARN is still kept, as the requested key), unless `listedFirst`
    /// is false.
    static func match(
        _ keyID: String?, in candidates: [String], region: String? = nil, account: String? = nil, listedFirst: Bool = true
    ) -> String? {
        guard let keyID else { return nil }
        let kind = keyID.withARNBytes { arn in arn.map { $0.isKMSKey(keyID) ? 1 : $0.isKMSAlias(keyID) ? 2 : 0 } ?? 0 }
        if kind == 1 { return !listedFirst || candidates.isEmpty || candidates.contains(keyID) ? keyID : nil }
        if kind == 2 || keyID.hasPrefix("alias/") { return nil }
        return candidates.first { $0.hasSuffix("/" + keyID) } ?? keyARN(bareID: keyID, region: region, account: account)
    }

    /// The ARN of the key a bare key id names. KMS takes a bare id only for a key of the
    /// caller's own account, in the region called: the account that records the call
    /// (`recipientAccountId`) and `awsRegion`. Records from before late 2022 often name their
    /// key this way only, without `resources`. Nil unless the id, account and region have
    /// their AWS forms.
    static func keyARN(bareID: String, region: String?, account: String?) -> String? {
        guard let region, let account, isKeyID(bareID), account.utf8.count == 12, account.utf8.allSatisfy(isDigit),
            !region.isEmpty, region.utf8.count <= 32, region.utf8.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        else { return nil }
        let partition =
            region.hasPrefix("cn-")
            ? "aws-cn"
            : region.hasPrefix("us-gov-")
                ? "aws-us-gov" : region.hasPrefix("us-isob-") ? "aws-iso-b" : region.hasPrefix("us-iso-") ? "aws-iso" : "aws"
        return "arn:\(partition):kms:\(region):\(account):key/\(bareID)"
    }

    /// A key id as KMS makes them: a UUID in lower case, or `mrk-` and 32 hexadecimal digits
    /// (a multi-Region key).
    static func isKeyID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func hex(_ b: UInt8) -> Bool { isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "f")) }
        guard bytes.count == 36 else { return false }  // both forms
        if text.hasPrefix("mrk-") { return bytes.dropFirst(4).allSatisfy(hex) }
        return bytes.indices.allSatisfy { [8, 13, 18, 23].contains($0) ? bytes[$0] == UInt8(ascii: "-") : hex(bytes[$0]) }
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    static func isLowerAlphanumeric(_ b: UInt8) -> Bool { isDigit(b) || (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) }

    static func resolveKeys(
        eventName: String, parameters: KMSRecordFields.ParameterFields?,
        resources: [KMSRecordFields.ResourceEntry]?, region: String? = nil, account: String? = nil
    )
        -> (keyARN: String?, sourceKeyARN: String?, requestedKey: String?, aliases: [(alias: String, keyARN: String)])
    {
        let keys = resourceKeys(resources)
        let keyID = parameters?.keyID
        let destinationKeyID = parameters?.destinationKeyID
        let sourceKeyID = parameters?.sourceKeyID
        let requested = keyID ?? destinationKeyID

        var primary = match(requested, in: keys, region: region, account: account)
        var sourceKeyARN: String?
        if eventName == "ReEncrypt" {
            let destination = match(destinationKeyID, in: keys, region: region, account: account)
            // CloudTrail lists the source key, then the destination: one key listed twice is
            // both (a ReEncrypt that changes only the encryption context).
            let keyEntries = resources?.lazy.filter { keyARN(of: $0) != nil }.count ?? 0
            let source =
                match(sourceKeyID, in: keys, region: region, account: account)
                ?? keys.first { $0 != primary && $0 != destination } ?? (keys.count == 1 && keyEntries >= 2 ? keys.first : nil)
            sourceKeyARN = source
            if primary == nil { primary = keys.first { $0 != source } ?? keys.first }
        } else if primary == nil {
            primary = keys.first
        }
        var requestedKey: String?
        if let requested, requested != primary { requestedKey = requested }

        // An alias used beside a known key teaches alias -> key.
        var aliases: [(alias: String, keyARN: String)] = []
        func learn(_ alias: String?, _ key: String?) {
            guard let alias, let key else { return }
            if let name = aliasName(alias) { aliases.append((name, key)) }
        }
        learn(requested, primary)
        learn(sourceKeyID, sourceKeyARN)
        if eventName == "CreateAlias" || eventName == "UpdateAlias", let target = parameters?.targetKeyID {
            // The key the alias names now, as the request names it.
            let targetARN = match(target, in: keys, listedFirst: false) ?? keys.first
            learn(parameters?.aliasName, targetARN)
        }
        return (primary, sourceKeyARN, requestedKey, aliases)
    }

    /// `alias/NAME` from an alias name or alias ARN; nil for anything else.
    package static func aliasName(_ text: String) -> String? {
        if text.hasPrefix("alias/") { return text }
        return text.withARNBytes { arn in
            guard let arn, arn.isKMSAlias(text) else { return nil }
            return arn.string(arn.resourceStart..<arn.bytes.count)
        }
    }

    /// `aws:s3:arn` and `aws:cloudtrail:arn` of the request's context, and every other pair.
    static func readContexts(_ parameters: KMSRecordFields.ParameterFields?)
        -> (s3ARN: String?, trailARN: String?, other: [ContextPair])
    {
        var s3ARN, trailARN: String?
        var other: [ContextPair?] = []
        guard let parameters else { return (nil, nil, []) }
        for index in 0..<3 {
            guard let members = parameters[context: index], let scope = ContextScope(rawValue: index) else { continue }
            // A name repeated in a context: the last one counts, in the place of the last. Names
            // are told apart in bytes, as JSON keys are (and the index's context names); found
            // through a table, so that a context of many pairs costs no search per pair.
            var position: [[UInt8]: Int] = [:]
            for member in members {
                let name = Array(member.name.utf8)
                if let earlier = position.removeValue(forKey: name) { other[earlier] = nil }
                let request = scope == .request
                if request && member.name == contextS3 { s3ARN = nil }
                if request && member.name == contextTrail { trailARN = nil }
                // An empty or non-text value names no object and no trail: it is kept as a pair.
                let names = request && member.isString && !member.value.isEmpty
                if names && member.name == contextS3 {
                    s3ARN = member.value
                } else if names && member.name == contextTrail {
                    trailARN = member.value
                } else {
                    position[name] = other.count
                    other.append(ContextPair(scope: scope, name: member.name, value: member.value))
                }
            }
        }
        return (s3ARN, trailARN, other.compactMap { $0 })
    }
}
