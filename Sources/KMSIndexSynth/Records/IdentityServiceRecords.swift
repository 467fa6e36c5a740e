/// STS and IAM events: AssumeRole (and its SAML and web identity variants), IAM calls with
/// policy documents as escaped JSON strings.
extension RecordFactory {
    func backgroundSTS(_ place: StreamPlace, at time: Int64) {
        switch rng.below(20) {
        case 0: assumeRoleWithSAML(place, at: time)
        case 1: assumeRoleWithWebIdentity(place, at: time)
        default: assumeRole(place, at: time)
        }
    }

    private func credentials(_ time: Int64, to w: inout JSONWriter, accessKey: String, token: String) {
        w.key("credentials")
        w.beginObject()
        w.field("accessKeyId", accessKey)
        w.field("sessionToken", token)
        w.field("expiration", UTCTime.humanReadable(time + UTCTime.msPerHour))
        w.endObject()
    }

    func assumeRole(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let caller: Identity =
            rng.chance(0.6)
            ? ids.awsService(rng.pick(["ec2.amazonaws.com", "lambda.amazonaws.com", "glue.amazonaws.com"]))
            : ids.randomCaller(account, at: time, rng: &rng)
        let roleName: Account.RoleName = rng.pick([.appBackend, .dataPipeline, .lambdaExec, .securityAudit, .logIngest])
        let role = account.role(roleName)
        let session = rng.pick(role.sessions)
        var envelope = plainEnvelope("sts.amazonaws.com", "AssumeRole", place, at: time, identity: caller, readOnly: true)
        if caller.kind == .awsService {
            envelope.sourceIP = caller.invokedBy ?? "sts.amazonaws.com"
            envelope.userAgent = envelope.sourceIP
            envelope.sharedEventID = rng.uuid()
        } else {
            envelope.tlsHost = "sts.\(place.region.name).amazonaws.com"
        }
        envelope.resources = [Resource(accountID: account.id, type: "AWS::IAM::Role", arn: role.arn)]
        let token = "IQoJb3JpZ2luX2VjE" + rng.alphanumeric(300)
        let roleArn = role.arn
        let sessionArn = "arn:aws:sts::\(account.id):assumed-role/\(role.name)/\(session.name)"
        let assumedID = role.principalID + ":" + session.name
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.field("roleArn", roleArn)
            w.field("roleSessionName", session.name)
            w.field("durationSeconds", 3600)
            w.optionalField("sourceIdentity", session.sourceIdentity)
            w.endObject()
            w.key("responseElements")
            w.beginObject()
            credentials(time, to: &w, accessKey: session.accessKeyID, token: token)
            w.key("assumedRoleUser")
            w.beginObject()
            w.field("assumedRoleId", assumedID)
            w.field("arn", sessionArn)
            w.endObject()
            w.optionalField("sourceIdentity", session.sourceIdentity)
            w.endObject()
        }
    }

    func assumeRoleWithSAML(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let identity = ids.samlUser(account, rng: &rng)
        let role = account.role(.ssoAdmin)
        var envelope = plainEnvelope("sts.amazonaws.com", "AssumeRoleWithSAML", place, at: time, identity: identity, readOnly: true)
        envelope.resources = [
            Resource(accountID: account.id, type: "AWS::IAM::Role", arn: role.arn),
            Resource(accountID: account.id, type: "AWS::IAM::SAMLProvider", arn: "arn:aws:iam::\(account.id):saml-provider/Okta"),
        ]
        let token = "IQoJb3JpZ2luX2VjE" + rng.alphanumeric(300)
        let accessKey = "ASIA" + rng.upperAlphanumeric(16)
        let user = identity.userName ?? ""
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.field("sAMLAssertionID", "_" + String(token.suffix(32)))
            w.field("roleSessionName", user)
            w.field("roleArn", role.arn)
            w.field("principalArn", "arn:aws:iam::\(account.id):saml-provider/Okta")
            w.field("durationSeconds", 3600)
            w.endObject()
            w.key("responseElements")
            w.beginObject()
            credentials(time, to: &w, accessKey: accessKey, token: token)
            w.key("assumedRoleUser")
            w.beginObject()
            w.field("assumedRoleId", role.principalID + ":" + user)
            w.field("arn", "arn:aws:sts::\(account.id):assumed-role/\(role.name)/\(user)")
            w.endObject()
            w.field("subject", user)
            w.field("subjectType", "persistent")
            w.field("issuer", "http://www.okta.com/exk" + String(token.prefix(17)))
            w.field("audience", "https://signin.aws.amazon.com/saml")
            w.endObject()
        }
    }

    func assumeRoleWithWebIdentity(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let identity = ids.webIdentityUser(account, rng: &rng)
        let role = account.role(.appBackend)
        var envelope = plainEnvelope("sts.amazonaws.com", "AssumeRoleWithWebIdentity", place, at: time, identity: identity, readOnly: true)
        envelope.resources = [Resource(accountID: account.id, type: "AWS::IAM::Role", arn: role.arn)]
        let token = "IQoJb3JpZ2luX2VjE" + rng.alphanumeric(300)
        let accessKey = "ASIA" + rng.upperAlphanumeric(16)
        let session = "web-" + rng.digits(13)
        let provider = identity.identityProvider ?? ""
        let subject = identity.userName ?? ""
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.field("roleArn", role.arn)
            w.field("roleSessionName", session)
            w.endObject()
            w.key("responseElements")
            w.beginObject()
            credentials(time, to: &w, accessKey: accessKey, token: token)
            w.field("subjectFromWebIdentityToken", subject)
            w.key("assumedRoleUser")
            w.beginObject()
            w.field("assumedRoleId", role.principalID + ":" + session)
            w.field("arn", "arn:aws:sts::\(account.id):assumed-role/\(role.name)/\(session)")
            w.endObject()
            w.field("provider", provider)
            w.field("audience", "sts.amazonaws.com")
            w.endObject()
        }
    }

    /// A policy document as IAM logs it: JSON text inside a JSON string (quotes, newlines).
    func policyDocument(_ account: Account) -> String {
        let bucket = "acme-datalake-\(account.id)-*"
        return """
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "ReadDataLake",
                  "Effect": "Allow",
                  "Action": ["s3:GetObject", "s3:ListBucket", "kms:Decrypt"],
                  "Resource": ["arn:aws:s3:::\(bucket)", "arn:aws:s3:::\(bucket)/*"],
                  "Condition": {"StringEquals": {"aws:PrincipalTag/team": "データ基盤"}}
                },
                {
                  "Effect": "Deny",
                  "Action": "kms:ScheduleKeyDeletion",
                  "Resource": "*"
                }
              ]
            }
            """
    }

    /// IAM calls, logged in the home region as us-east-1 events (IAM is global).
    func backgroundIAM(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        guard place.region.name == estate.homeRegion else {
            assumeRole(place, at: time)
            return
        }
        let identity =
            rng.chance(0.7)
            ? ids.randomRoleSession(account, .ssoAdmin, at: time, rng: &rng)
            : ids.iamUser(account, account.user(rng.pick([.deployBot, .alice])), at: time, rng: &rng)
        let which = rng.below(4)
        let name = ["PutRolePolicy", "CreatePolicy", "GetRole", "ListAttachedRolePolicies"][which]
        var envelope = plainEnvelope("iam.amazonaws.com", name, place, at: time, identity: identity, readOnly: which >= 2)
        envelope.region = "us-east-1"
        envelope.tlsHost = "iam.amazonaws.com"
        if rng.chance(0.05) {
            envelope.errorCode = "AccessDenied"
            envelope.errorMessage =
                "User: \(identity.arn ?? "") is not authorized to perform: iam:\(name) on resource: role app-backend because no identity-based policy allows the iam:\(name) action"
        }
        let failed = envelope.errorCode != nil
        let role = account.role(rng.pick([.appBackend, .dataPipeline, .analyst]))
        let document = policyDocument(account)
        let policyID = "ANPA" + rng.upperAlphanumeric(17)
        let created = UTCTime.humanReadable(time)
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            switch which {
            case 0:
                w.field("roleName", role.name)
                w.field("policyName", "data-lake-read")
                w.field("policyDocument", document)
            case 1:
                w.field("policyName", "kms-decrypt-データ")
                w.field("policyDocument", document)
                w.field("description", "Allows \"decrypt\" on the data lake\nsecond line")
            default:
                w.field("roleName", role.name)
            }
            w.endObject()
            w.key("responseElements")
            if which == 1 && !failed {
                w.beginObject()
                w.key("policy")
                w.beginObject()
                w.field("policyName", "kms-decrypt-データ")
                w.field("policyId", policyID)
                w.field("arn", "arn:aws:iam::\(account.id):policy/kms-decrypt-data")
                w.field("path", "/")
                w.field("defaultVersionId", "v1")
                w.field("attachmentCount", 0)
                w.field("isAttachable", true)
                w.field("createDate", created)
                w.field("updateDate", created)
                w.endObject()
                w.endObject()
            } else {
                w.null()
            }
        }
    }
}
