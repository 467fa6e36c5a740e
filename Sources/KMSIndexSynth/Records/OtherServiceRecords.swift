/// Lambda, console sign-in, Identity Center, directory and monitoring events.
extension RecordFactory {
    func backgroundLambda(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let function = rng.pick(place.region.functions)
        let functionArn = "arn:aws:lambda:\(place.region.name):\(account.id):function:\(function)"
        if rng.chance(0.75) {
            // Invoke is a data event.
            let identity =
                rng.chance(0.5)
                ? ids.awsService(rng.pick(["apigateway.amazonaws.com", "events.amazonaws.com", "s3.amazonaws.com"]))
                : ids.randomRoleSession(account, .appBackend, at: time, rng: &rng)
            var envelope = plainEnvelope("lambda.amazonaws.com", "Invoke", place, at: time, identity: identity, readOnly: false)
            envelope.managementEvent = false
            envelope.eventCategory = "Data"
            envelope.resources = [Resource(accountID: account.id, type: "AWS::Lambda::Function", arn: functionArn)]
            if identity.kind == .awsService {
                envelope.sourceIP = identity.invokedBy ?? ""
                envelope.userAgent = envelope.sourceIP
                envelope.sharedEventID = rng.uuid()
            }
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.field("functionName", functionArn)
                w.field("invocationType", "RequestResponse")
                w.field("logType", "None")
                w.endObject()
                w.nullField("responseElements")
                w.key("additionalEventData")
                w.beginObject()
                w.field("functionVersion", functionArn + ":$LATEST")
                w.endObject()
            }
        } else {
            let identity = ids.randomCaller(account, at: time, rng: &rng)
            var envelope = plainEnvelope(
                "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", place, at: time, identity: identity,
                readOnly: false)
            envelope.tlsHost = "lambda.\(place.region.name).amazonaws.com"
            let kmsKey = place.region.keys.lambdaManaged.arn
            let revision = rng.uuid()
            let modified = UTCTime.iso8601(time)
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.field("functionName", function)
                w.key("environment")
                w.beginObject()
                w.key("variables")
                w.beginObject()
                w.key("GREETING")
                w.string("こんにちは 👋")
                w.key("DB_SECRET_ARN")
                w.string("arn:aws:secretsmanager:\(place.region.name):\(account.id):secret:prod/db/password")
                w.endObject()
                w.endObject()
                w.field("kMSKeyArn", kmsKey)
                w.endObject()
                w.key("responseElements")
                w.beginObject()
                w.field("functionName", function)
                w.field("functionArn", functionArn)
                w.field("runtime", "python3.12")
                w.field("handler", "app.handler")
                w.field("codeSize", 18_734)
                w.field("timeout", 30)
                w.field("memorySize", 512)
                w.field("lastModified", modified)
                w.field("kMSKeyArn", kmsKey)
                w.field("revisionId", revision)
                w.field("state", "Active")
                w.endObject()
            }
        }
    }

    /// ConsoleLogin from signin.amazonaws.com, sometimes failed.
    func consoleLogin(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let identity: Identity
        switch rng.below(10) {
        case 0: identity = ids.root(account, at: time, rng: &rng)
        case 1..<6: identity = ids.iamUser(account, account.user(rng.pick([.alice, .bob, .cloudtrailAdmin, .intern])), at: time, rng: &rng)
        default: identity = ids.randomRoleSession(account, .ssoAdmin, at: time, rng: &rng)
        }
        var envelope = plainEnvelope(
            "signin.amazonaws.com", "ConsoleLogin", place, at: time, identity: identity, readOnly: nil, eventVersion: "1.09")
        envelope.userAgent = RecordFactory.userAgents[6]
        envelope.eventType = "AwsConsoleSignIn"
        envelope.tlsHost = "signin.aws.amazon.com"
        let failed = identity.kind == .iamUser && rng.chance(0.1)
        if failed { envelope.errorMessage = "Failed authentication" }
        let region = place.region.name
        emit(envelope) { w in
            w.nullField("requestParameters")
            w.key("responseElements")
            w.beginObject()
            w.field("ConsoleLogin", failed ? "Failure" : "Success")
            w.endObject()
            w.key("additionalEventData")
            w.beginObject()
            w.field("LoginTo", "https://console.aws.amazon.com/console/home?region=\(region)&state=hashArgs%23&isauthcode=true")
            w.field("MobileVersion", "No")
            w.field("MFAUsed", failed ? "No" : "Yes")
            w.endObject()
        }
    }

    /// Identity Center, directory and sign-in flow events (IdentityCenterUser, Unknown,
    /// Directory identities).
    func backgroundIdentityCenter(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        switch rng.below(3) {
        case 0:
            let identity = ids.identityCenterUser(account, rng: &rng)
            var envelope = plainEnvelope("sso.amazonaws.com", "GetRoleCredentials", place, at: time, identity: identity, readOnly: true)
            envelope.userAgent = RecordFactory.userAgents[0]
            let roleName = account.role(.ssoAdmin).name
            let accountID = account.id
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.field("roleName", roleName)
                w.field("accountId", accountID)
                w.endObject()
                w.nullField("responseElements")
            }
        case 1:
            let identity = ids.unknown(account, rng: &rng)
            var envelope = plainEnvelope("signin.amazonaws.com", "UserAuthentication", place, at: time, identity: identity, readOnly: nil)
            envelope.eventType = "AwsServiceEvent"
            envelope.serviceEventDetails = [("UserAuthentication", "Success")]
            let flowID = rng.uuid()
            emit(envelope) { w in
                w.nullField("requestParameters")
                w.nullField("responseElements")
                w.key("additionalEventData")
                w.beginObject()
                w.field("AuthWorkflowID", flowID)
                w.field("LoginTo", "https://d-\(account.identityStoreID.dropFirst(2)).awsapps.com/start/")
                w.field("CredentialType", "PASSWORD")
                w.endObject()
            }
        default:
            let identity = ids.directory(account, rng: &rng)
            let envelope = plainEnvelope(
                "workdocs.amazonaws.com", "DescribeDocumentVersions", place, at: time, identity: identity, readOnly: true)
            let folder = rng.uuid()
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.field("DocumentId", folder)
                w.field("Limit", 50)
                w.endObject()
                w.nullField("responseElements")
            }
        }
    }

    /// Monitoring and configuration noise: CloudWatch, Logs, Config.
    func backgroundMonitoring(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        switch rng.below(3) {
        case 0:
            let identity = ids.randomCaller(account, at: time, rng: &rng)
            var envelope = plainEnvelope("monitoring.amazonaws.com", "GetMetricData", place, at: time, identity: identity, readOnly: true)
            envelope.tlsHost = "monitoring.\(place.region.name).amazonaws.com"
            let id = "m" + rng.digits(4)
            let volume = rng.pick(place.region.volumes)
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.key("metricDataQueries")
                w.beginArray()
                w.beginObject()
                w.field("id", id)
                w.key("metricStat")
                w.beginObject()
                w.key("metric")
                w.beginObject()
                w.field("namespace", "AWS/EBS")
                w.field("metricName", "VolumeReadBytes")
                w.key("dimensions")
                w.beginArray()
                w.beginObject()
                w.field("name", "VolumeId")
                w.field("value", volume)
                w.endObject()
                w.endArray()
                w.endObject()
                w.field("period", 300)
                w.field("stat", "Average")
                w.endObject()
                w.endObject()
                w.endArray()
                w.field("startTime", "Mar 1, 2024, 12:00:00 AM")
                w.field("endTime", "Mar 1, 2024, 1:00:00 AM")
                w.endObject()
                w.nullField("responseElements")
            }
        case 1:
            let identity = ids.randomRoleSession(account, .lambdaExec, at: time, rng: &rng)
            var envelope = plainEnvelope("logs.amazonaws.com", "CreateLogStream", place, at: time, identity: identity, readOnly: false)
            envelope.sourceIP = "lambda.amazonaws.com"
            let function = rng.pick(place.region.functions)
            let stream = UTCTime.datePath(time) + "/[$LATEST]" + rng.hex(32)
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.field("logGroupName", "/aws/lambda/\(function)")
                w.field("logStreamName", stream)
                w.endObject()
                w.nullField("responseElements")
            }
        default:
            let identity = ids.awsService("config.amazonaws.com")
            var envelope = plainEnvelope("config.amazonaws.com", "PutEvaluations", place, at: time, identity: identity, readOnly: false)
            envelope.sourceIP = "config.amazonaws.com"
            envelope.userAgent = "config.amazonaws.com"
            let resource = rng.pick(place.region.instances)
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.key("evaluations")
                w.beginArray()
                w.beginObject()
                w.field("complianceResourceType", "AWS::EC2::Instance")
                w.field("complianceResourceId", resource)
                w.field("complianceType", "NON_COMPLIANT")
                w.field("annotation", "Instance is not using IMDSv2 \u{2014} remediation pending")
                w.endObject()
                w.endArray()
                w.field("resultToken", "eyJ" + String(repeating: "A", count: 120))
                w.endObject()
                w.nullField("responseElements")
            }
        }
    }
}
