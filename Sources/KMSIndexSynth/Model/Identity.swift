/// A record's `userIdentity`, in any of the shapes CloudTrail writes.
struct Identity {
    /// Every `userIdentity.type` CloudTrail documents.
    enum Kind: String, CaseIterable {
        case root = "Root"
        case iamUser = "IAMUser"
        case assumedRole = "AssumedRole"
        case federatedUser = "FederatedUser"
        case awsAccount = "AWSAccount"
        case awsService = "AWSService"
        case identityCenterUser = "IdentityCenterUser"
        case samlUser = "SAMLUser"
        case webIdentityUser = "WebIdentityUser"
        case directory = "Directory"
        case unknown = "Unknown"
    }

    /// The issuer of temporary credentials (a role, or the user behind a federation token).
    struct SessionIssuer {
        var type: String
        var principalID: String
        var arn: String
        var accountID: String
        var userName: String
    }

    /// nil writes no `type` at all, as KMS's own service events (RotateKey) do.
    var kind: Kind?
    var principalID: String?
    var arn: String?
    var accountID: String?
    var accessKeyID: String?
    var userName: String?
    var issuer: SessionIssuer?
    /// Writes `webIdFederationData` next to the issuer, as modern AssumedRole records do.
    var webIdFederationData = false
    /// When the session started; nil writes no `sessionContext.attributes`.
    var creationMs: Int64?
    /// Writes creationDate as `20131102T010628Z` instead of `2013-11-02T01:06:28Z`.
    var compactCreationDate = false
    var mfaAuthenticated = false
    var sourceIdentity: String?
    var invokedBy: String?
    var identityProvider: String?
    var onBehalfOf: (userID: String, identityStoreArn: String)?
    var credentialID: String?
    /// The session came from the console: the record gets `sessionCredentialFromConsole`.
    var fromConsole = false

    /// `userIdentity.arn` as the ground truth reports it (absent or empty becomes nil).
    var principalArn: String? {
        guard let arn, !arn.isEmpty else { return nil }
        return arn
    }

    /// Writes the `userIdentity` object. `seedOrder` writes sessionContext as the 2015-era
    /// records do (attributes first, mfaAuthenticated before creationDate); otherwise as
    /// today's (sessionIssuer, webIdFederationData, attributes with creationDate first).
    func write(to w: inout JSONWriter, seedOrder: Bool = false) {
        w.beginObject()
        if let kind { w.field("type", kind.rawValue) }
        w.optionalField("principalId", principalID)
        w.optionalField("arn", arn)
        w.optionalField("accountId", accountID)
        w.optionalField("accessKeyId", accessKeyID)
        w.optionalField("userName", userName)
        if let onBehalfOf {
            w.key("onBehalfOf")
            w.beginObject()
            w.field("userId", onBehalfOf.userID)
            w.field("identityStoreArn", onBehalfOf.identityStoreArn)
            w.endObject()
        }
        w.optionalField("credentialId", credentialID)
        if creationMs != nil || issuer != nil || sourceIdentity != nil {
            w.key("sessionContext")
            w.beginObject()
            if seedOrder {
                writeAttributes(to: &w, seedOrder: true)
                writeIssuer(to: &w)
            } else {
                writeIssuer(to: &w)
                if webIdFederationData {
                    w.key("webIdFederationData")
                    w.beginObject()
                    w.endObject()
                }
                writeAttributes(to: &w, seedOrder: false)
            }
            w.optionalField("sourceIdentity", sourceIdentity)
            w.endObject()
        }
        w.optionalField("invokedBy", invokedBy)
        w.optionalField("identityProvider", identityProvider)
        w.endObject()
    }

    private func writeIssuer(to w: inout JSONWriter) {
        guard let issuer else { return }
        w.key("sessionIssuer")
        w.beginObject()
        w.field("type", issuer.type)
        w.field("principalId", issuer.principalID)
        w.field("arn", issuer.arn)
        w.field("accountId", issuer.accountID)
        w.field("userName", issuer.userName)
        w.endObject()
    }

    private func writeAttributes(to w: inout JSONWriter, seedOrder: Bool) {
        guard let creationMs else { return }
        w.key("attributes")
        w.beginObject()
        if seedOrder { w.field("mfaAuthenticated", mfaAuthenticated ? "true" : "false") }
        w.key("creationDate")
        if compactCreationDate {
            w.string(UTCTime.compactSeconds(creationMs))
        } else {
            w.time(creationMs)
        }
        if !seedOrder { w.field("mfaAuthenticated", mfaAuthenticated ? "true" : "false") }
        w.endObject()
    }
}

/// Makes identities of an account's principals at a given time.
struct IdentityFactory {
    let estate: Estate

    /// When a session used at `time` started: on a whole 15 minutes, up to ~6 hours before.
    private func sessionStart(_ time: Int64, _ rng: inout SynthRandom) -> Int64 {
        let quarter = 15 * UTCTime.msPerMinute
        return (time / quarter - Int64(rng.int(in: 0...24))) * quarter + Int64(rng.int(in: 0...899)) * 1000
    }

    func root(_ account: Account, at time: Int64, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .root)
        id.principalID = account.id
        id.arn = "arn:aws:iam::\(account.id):root"
        id.accountID = account.id
        id.accessKeyID = account.rootAccessKeyID
        id.creationMs = sessionStart(time, &rng)
        id.mfaAuthenticated = true
        return id
    }

    /// An IAM user, with long-term keys (API) or a console session.
    func iamUser(_ account: Account, _ user: IAMUser, at time: Int64, console: Bool = false, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .iamUser)
        id.principalID = user.principalID
        id.arn = user.arn
        id.accountID = account.id
        id.accessKeyID = console ? "ASIA" + rng.upperAlphanumeric(16) : user.accessKeyID
        id.userName = user.name
        if console {
            id.creationMs = sessionStart(time, &rng)
            id.mfaAuthenticated = rng.chance(0.7)
            id.fromConsole = true
        }
        return id
    }

    /// A session of a role: ARN `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, the role in
    /// `sessionContext.sessionIssuer`.
    func assumedRole(
        _ account: Account, _ role: IAMRole, session: RoleSession, at time: Int64,
        invokedBy: String? = nil, rng: inout SynthRandom
    ) -> Identity {
        var id = Identity(kind: .assumedRole)
        id.principalID = role.principalID + ":" + session.name
        id.arn = "arn:aws:sts::\(account.id):assumed-role/\(role.name)/\(session.name)"
        id.accountID = account.id
        id.accessKeyID = session.accessKeyID
        id.issuer = Identity.SessionIssuer(
            type: "Role", principalID: role.principalID, arn: role.arn, accountID: account.id, userName: role.name)
        id.webIdFederationData = true
        id.creationMs = sessionStart(time, &rng)
        id.compactCreationDate = rng.chance(0.05)
        id.mfaAuthenticated = session.fromConsole
        id.sourceIdentity = session.sourceIdentity
        id.invokedBy = invokedBy
        id.fromConsole = session.fromConsole
        return id
    }

    func randomRoleSession(
        _ account: Account, _ roleName: Account.RoleName, at time: Int64, invokedBy: String? = nil,
        rng: inout SynthRandom
    ) -> Identity {
        let role = account.role(roleName)
        return assumedRole(account, role, session: rng.pick(role.sessions), at: time, invokedBy: invokedBy, rng: &rng)
    }

    func federatedUser(_ account: Account, name: String, at time: Int64, rng: inout SynthRandom) -> Identity {
        let broker = account.user(.fedBroker)
        var id = Identity(kind: .federatedUser)
        id.principalID = account.id + ":" + name
        id.arn = "arn:aws:sts::\(account.id):federated-user/\(name)"
        id.accountID = account.id
        id.accessKeyID = "ASIA" + rng.upperAlphanumeric(16)
        id.issuer = Identity.SessionIssuer(
            type: "IAMUser", principalID: broker.principalID, arn: broker.arn, accountID: account.id,
            userName: broker.name)
        id.creationMs = sessionStart(time, &rng)
        return id
    }

    /// A principal of another account, as the resource owner's trail sees it.
    func awsAccount(callerAccountID: String, principalID: String) -> Identity {
        var id = Identity(kind: .awsAccount)
        id.principalID = principalID
        id.accountID = callerAccountID
        return id
    }

    /// An AWS service acting on its own (no ARN).
    func awsService(_ service: String) -> Identity {
        var id = Identity(kind: .awsService)
        id.invokedBy = service
        return id
    }

    func identityCenterUser(_ account: Account, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .identityCenterUser)
        id.accountID = account.id
        id.onBehalfOf = (
            rng.pick(account.identityCenterUserIDs),
            "arn:aws:identitystore::\(account.id):identitystore/\(account.identityStoreID)"
        )
        id.credentialID = rng.alphanumeric(44)
        return id
    }

    func samlUser(_ account: Account, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .samlUser)
        let provider = "bdGOnTesti4Ep" + rng.alphanumeric(10) + "="
        let name = rng.pick(["alice@example.com", "山田太郎@example.co.jp", "dave.o'brien@example.com"])
        id.principalID = provider + ":" + name
        id.userName = name
        id.identityProvider = provider
        return id
    }

    func webIdentityUser(_ account: Account, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .webIdentityUser)
        let audience = rng.digits(12) + "-" + rng.alphanumeric(12).lowercased() + ".apps.googleusercontent.com"
        let subject = rng.digits(21)
        id.principalID = "accounts.google.com:\(audience):\(subject)"
        id.userName = subject
        id.identityProvider = "accounts.google.com"
        return id
    }

    func directory(_ account: Account, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .directory)
        id.principalID = "S-1-5-21-" + rng.digits(10) + "-" + rng.digits(10) + "-" + rng.digits(10) + "-1104"
        id.accountID = account.id
        id.userName = rng.pick(["jdoe", "CORP\\svc-backup", "maría.garcía"])
        return id
    }

    /// What sign-in and Identity Center events show before the user is known: an empty ARN.
    func unknown(_ account: Account, rng: inout SynthRandom) -> Identity {
        var id = Identity(kind: .unknown)
        id.principalID = account.id
        id.arn = ""
        id.accountID = account.id
        id.accessKeyID = ""
        id.userName = rng.pick(["alice", "carol.nguyen", "bob.smith"])
        return id
    }

    /// KMS's own service events: an account and `invokedBy`, no type.
    func kmsServiceEvent(_ account: Account) -> Identity {
        var id = Identity(kind: nil)
        id.accountID = account.id
        id.invokedBy = "kms.amazonaws.com"
        return id
    }

    /// A caller of an ordinary API call in `account`, drawn with realistic weights.
    func randomCaller(_ account: Account, at time: Int64, rng: inout SynthRandom) -> Identity {
        let r = rng.unit()
        switch r {
        case ..<0.40:
            return randomRoleSession(account, rng.pick([.appBackend, .dataPipeline, .lambdaExec]), at: time, rng: &rng)
        case ..<0.52:
            return randomRoleSession(account, .ssoAdmin, at: time, rng: &rng)
        case ..<0.58:
            return randomRoleSession(account, rng.pick([.securityAudit, .analyst]), at: time, rng: &rng)
        case ..<0.78:
            let user = account.user(rng.pick([.alice, .bob, .deployBot, .ciRunner]))
            return iamUser(account, user, at: time, console: rng.chance(0.2), rng: &rng)
        case ..<0.90:
            return awsService(rng.pick(Self.services))
        case ..<0.93:
            return federatedUser(account, name: rng.pick(["bob", "partner-sync"]), at: time, rng: &rng)
        case ..<0.95:
            return identityCenterUser(account, rng: &rng)
        case ..<0.96:
            return samlUser(account, rng: &rng)
        case ..<0.97:
            return webIdentityUser(account, rng: &rng)
        case ..<0.98:
            return directory(account, rng: &rng)
        case ..<0.99:
            return unknown(account, rng: &rng)
        default:
            return root(account, at: time, rng: &rng)
        }
    }

    static let services = [
        "cloudtrail.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "config.amazonaws.com",
        "lambda.amazonaws.com", "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com",
    ]
}
