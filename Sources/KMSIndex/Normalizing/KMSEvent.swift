/// Who made a call, as CloudTrail's `userIdentity` tells it.
///
/// Two events share a principal row when their identity texts (every field but the derived
/// ones, in bytes) are the same; the assumed-role
/// fields (`roleARN`, `sessionName`) are derived so that a role matches all its sessions.
public struct Principal: Hashable, Sendable {
    public var type: String?
    public var arn: String?
    public var accountID: String?
    public var principalID: String?
    public var userName: String?
    /// The role behind an assumed-role session (`sessionContext.sessionIssuer.arn`).
    public var roleARN: String?
    /// The session name: the last part of an assumed-role or federated-user ARN.
    public var sessionName: String?
    /// The service that made the call on the principal's behalf.
    public var invokedBy: String?
    public var accessKeyID: String?
    public var sourceIdentity: String?
    public var credentialFromConsole: String?

    public init() {}

    init(type: String?, arn: String?, accountID: String?, principalID: String?, userName: String?, roleARN: String?,
         sessionName: String?, invokedBy: String?, accessKeyID: String?, sourceIdentity: String?,
         credentialFromConsole: String?) {
        self.type = type
        self.arn = arn
        self.accountID = accountID
        self.principalID = principalID
        self.userName = userName
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.invokedBy = invokedBy
        self.accessKeyID = accessKeyID
        self.sourceIdentity = sourceIdentity
        self.credentialFromConsole = credentialFromConsole
    }
}

/// Which encryption context of the request a pair came from.
public enum ContextScope: Int, Sendable {
    case request = 0
    case source = 1
    case destination = 2

    public var name: String {
        switch self {
        case .request: return "encryptionContext"
        case .source: return "sourceEncryptionContext"
        case .destination: return "destinationEncryptionContext"
        }
    }
}

/// One encryption-context pair; non-string values keep their JSON text.
public struct ContextPair: Equatable, Sendable {
    public var scope: ContextScope
    public var name: String
    public var value: String
}

/// A KMS event reduced to what the index stores.
public struct KMSEvent: Sendable {
    public var eventID: CloudTrailID
    /// Milliseconds since 1970-01-01 UTC (see `EventTime`).
    public var eventTimeMs: Int64
    public var eventName: String
    public var awsRegion: String?
    public var recipientAccountID: String?
    public var sourceIPAddress: String?
    public var userAgent: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var requestID: CloudTrailID?
    public var sharedEventID: CloudTrailID?
    public var readOnly: Bool?
    public var eventType: String?
    public var principal = Principal()

    /// The key the call used, as a key ARN, when the event says it.
    public var keyARN: String?
    /// The source key of a `ReEncrypt`.
    public var sourceKeyARN: String?
    /// `keyId` as the caller wrote it, when it is not the key ARN itself (an alias, a bare id).
    public var requestedKey: String?
    /// Alias names (`alias/NAME`) learned from this event, with the key ARN they point to.
    public var aliases: [(alias: String, keyARN: String)] = []

    /// `aws:s3:arn` of the request's encryption context.
    public var s3ARN: String?
    /// `aws:cloudtrail:arn` of the request's encryption context.
    public var trailARN: String?
    /// Every other encryption-context pair, of every context of the request.
    public var otherContext: [ContextPair] = []
    /// CreateGrant's `granteePrincipal`.
    public var granteePrincipal: String? = nil
}

// The public initializer is in an extension, so that the struct keeps its memberwise
// initializer: the normalizer builds events with that, each field stored once. (An
// initializer declared in the struct stored the default values first, then assigned every
// field, and copied the whole event on the way out.)
extension KMSEvent {
    public init(eventID: CloudTrailID, eventTimeMs: Int64, eventName: String) {
        self.eventID = eventID
        self.eventTimeMs = eventTimeMs
        self.eventName = eventName
    }

    /// The event's time as the index shows it: UTC, `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    public var eventTime: String { StoredTime.text(eventTimeMs) }
}
