/// Who made a call, as CloudTrail's `userIdentity` tells it.
///
/// Two events share a principal row when their identity texts (every field but the derived
/// ones, in bytes; see `PrincipalIdentity`) are the same; the assumed-role
/// fields (`roleARN`, `sessionName`) are derived so that a role matches all its sessions.
package struct Principal: Hashable, Sendable {
    package var type: String?
    package var arn: String?
    package var accountID: String?
    package var principalID: String?
    package var userName: String?
    /// The role behind an assumed-role session (`sessionContext.sessionIssuer.arn`).
    package var roleARN: String?
    /// The session name: the last part of an assumed-role or federated-user ARN.
    package var sessionName: String?
    /// The service that made the call on the principal's behalf.
    package var invokedBy: String?
    package var accessKeyID: String?
    package var sourceIdentity: String?
    package var credentialFromConsole: String?
    /// Who an Identity Center user is (`onBehalfOf.userId`, `.identityStoreArn`): such a
    /// caller has no ARN and no principalId, and its account is shared by all its users.
    package var onBehalfOfUserID: String?
    package var identityStoreARN: String?
    /// A SAML or web identity user's `identityProvider`; the resource a service's credentials
    /// were issued to (`inScopeOf.credentialsIssuedTo`: which Lambda function called, say).
    package var identityProvider: String?
    package var credentialsIssuedTo: String?
    /// The session's `attributes.mfaAuthenticated` and `.creationDate`, its web identity
    /// provider (`webIdFederationData.federatedProvider`) and `ec2RoleDelivery`, as written.
    package var mfaAuthenticated: String?
    package var sessionCreated: String?
    package var federatedProvider: String?
    package var ec2RoleDelivery: String?

    package init() {}

    init(
        type: String?, arn: String?, accountID: String?, principalID: String?, userName: String?, roleARN: String?,
        sessionName: String?, invokedBy: String?, accessKeyID: String?, sourceIdentity: String?,
        credentialFromConsole: String?, onBehalfOfUserID: String? = nil, identityStoreARN: String? = nil
    ) {
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
        self.onBehalfOfUserID = onBehalfOfUserID
        self.identityStoreARN = identityStoreARN
    }
}

/// Which encryption context of the request a pair came from.
package enum ContextScope: Int, Sendable {
    case request = 0
    case source = 1
    case destination = 2

    package var name: String {
        switch self {
        case .request: return "encryptionContext"
        case .source: return "sourceEncryptionContext"
        case .destination: return "destinationEncryptionContext"
        }
    }
}

/// One encryption-context pair; non-string values keep their JSON text.
package struct ContextPair: Equatable, Sendable {
    package var scope: ContextScope
    package var name: String
    package var value: String
}

/// A KMS event reduced to what the index stores.
package struct KMSEvent: Sendable {
    package var eventID: CloudTrailID
    /// Milliseconds since 1970-01-01 UTC (see `EventTime`).
    package var eventTimeMs: Int64
    package var eventName: String
    package var awsRegion: String?
    package var recipientAccountID: String?
    package var sourceIPAddress: String?
    package var userAgent: String?
    package var errorCode: String?
    package var errorMessage: String?
    package var requestID: CloudTrailID?
    package var sharedEventID: CloudTrailID?
    package var readOnly: Bool?
    package var eventType: String?
    package var principal = Principal()

    /// The key the call used, as a key ARN, when the event says it.
    package var keyARN: String?
    /// The source key of a `ReEncrypt`.
    package var sourceKeyARN: String?
    /// `keyId` as the caller wrote it, when it is not the key ARN itself (an alias, a bare id).
    package var requestedKey: String?
    /// Alias names (`alias/NAME`) learned from this event, with the key ARN they point to.
    package var aliases: [(alias: String, keyARN: String)] = []

    /// `aws:s3:arn` of the request's encryption context.
    package var s3ARN: String?
    /// `aws:cloudtrail:arn` of the request's encryption context.
    package var trailARN: String?
    /// Every other encryption-context pair, of every context of the request.
    package var otherContext: [ContextPair] = []
    /// CreateGrant's `granteePrincipal`.
    package var granteePrincipal: String? = nil
    /// The record's `addendum`, when it has one.
    package var addendum: Addendum? = nil
}

/// A record's `addendum`: why it came late (`DELIVERY_DELAY`, `SERVICE_OUTAGE`), or which event
/// it updates (`UPDATED_DATA`, with the fields it updates and that event's ids).
package struct Addendum: Equatable, Sendable {
    package var reason, updatedFields: String?
    package var originalRequestID, originalEventID: CloudTrailID?
    package init() {}
}

// The public initializer is in an extension, so that the struct keeps its memberwise
// initializer: the normalizer builds events with that, each field stored once. (An
// initializer declared in the struct stored the default values first, then assigned every
// field, and copied the whole event on the way out.)
extension KMSEvent {
    package init(eventID: CloudTrailID, eventTimeMs: Int64, eventName: String) {
        self.eventID = eventID
        self.eventTimeMs = eventTimeMs
        self.eventName = eventName
    }

    /// The event's time as the index shows it: UTC, `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    package var eventTime: String { StoredTime.text(eventTimeMs) }
}
