/// The KMS calls of everyday traffic: S3 SSE-KMS reads and writes, Lambda, EBS, Secrets
/// Manager, applications doing envelope encryption, key administration, and failures.
extension RecordFactory {
    private static let operationTable = WeightedTable([
        52,  // Decrypt
        20,  // GenerateDataKey
        9,  // DescribeKey
        7,  // Encrypt
        4,  // GenerateDataKeyWithoutPlaintext
        3,  // CreateGrant
        2.5,  // ReEncrypt
        0.01,  // ScheduleKeyDeletion
        0.01,  // RotateKey
    ])

    /// Keys of objects whose names need care: spaces, Unicode, quotes, backslashes, controls.
    static let awkwardObjectKeys = [
        "reports/2024 Q1/売上レポート 最終版.pdf",
        "inbox/quote\"and\\backslash.txt",
        "tmp/tab\tand\u{1}control.csv",
        "photos/🎉 party/IMG 0001.JPG",
        "weird/line\nbreak.txt",
        "名前/ファイル名.txt",
        "a+b=c/100% sure?.txt",
        "exports/Ünïcödé — dash/€uro.xlsx",
    ]

    /// One KMS record (sometimes with the S3 data event that caused it) of everyday traffic
    /// in the place's account and region.
    func backgroundKMS(_ place: StreamPlace, at time: Int64) {
        switch Self.operationTable.draw(&rng) {
        case 0: backgroundDecrypt(place, at: time)
        case 1: backgroundGenerateDataKey(place, at: time)
        case 2: backgroundDescribeKey(place, at: time)
        case 3: backgroundEncrypt(place, at: time)
        case 4: ebsDataKey(place, at: time)
        case 5: ebsCreateGrant(place, at: time)
        case 6: applicationReEncrypt(place, at: time)
        case 7: scheduleKeyDeletion(place, at: time)
        default: rotateKey(place, at: time)
        }
    }

    // MARK: Building blocks

    /// A call made by AWS on a principal's behalf (S3, Lambda, Secrets Manager...).
    func serviceCall(
        _ request: KMSRequest, _ place: StreamPlace, at time: Int64, identity: Identity?, key: KMSKey,
        via service: String
    ) -> KMSCall {
        let source = rng.pick([service, service, "internal.amazonaws.com", "AWS Internal"])
        return KMSCall(
            request: request, identity: identity, time: time, region: place.region.name,
            recipient: place.account.id, sourceIP: source, userAgent: source == "AWS Internal" ? "AWS Internal" : source,
            keys: [key])
    }

    /// A call an application or a person makes to KMS's endpoint.
    func directCall(
        _ request: KMSRequest, _ place: StreamPlace, at time: Int64, identity: Identity?, keys: [KMSKey]
    ) -> KMSCall {
        var call = KMSCall(
            request: request, identity: identity, time: time, region: place.region.name,
            recipient: place.account.id, sourceIP: publicIP(), userAgent: userAgent(), keys: keys, direct: true)
        if rng.chance(0.004) { call.userAgent = rng.pick(Self.hostileUserAgents) }
        if call.userAgent == "AWS Internal" || call.userAgent == "console.amazonaws.com" {
            call.sourceIP = call.userAgent == "AWS Internal" ? "AWS Internal" : publicIP()
        }
        return call
    }

    /// Emits with the finishing touches every call may get: milliseconds in eventTime,
    /// the old shape without resources (only when keyId is a key ARN, so the key stays knowable).
    func finishAndEmit(_ call: KMSCall, keyIsArn: Bool = false) {
        var call = call
        if rng.chance(0.01) {
            call.fractional = true
            call.time += Int64(rng.int(in: 1...999))
        }
        if keyIsArn && call.style == .modern && call.identity?.kind != .awsAccount && rng.chance(0.02) {
            call.style = .noResources
        }
        emitKMS(call)
    }

    /// An application caller in the place's account.
    func applicationCaller(_ place: StreamPlace, at time: Int64) -> Identity {
        let account = place.account
        if churn != nil, rng.chance(0.85),
            let id = churn!.caller(account, at: time, newShare: profile.newSessionShare, invokedBy: nil)
        {
            return id
        }
        switch rng.below(10) {
        case 0..<5: return ids.randomRoleSession(account, rng.pick([.appBackend, .dataPipeline]), at: time, rng: &rng)
        case 5: return ids.randomRoleSession(account, .analyst, at: time, rng: &rng)
        case 6: return ids.randomRoleSession(account, .ssoAdmin, at: time, rng: &rng)
        case 7: return ids.iamUser(account, account.user(rng.pick([.deployBot, .ciRunner])), at: time, rng: &rng)
        case 8: return ids.iamUser(account, account.user(rng.pick([.alice, .bob])), at: time, console: rng.chance(0.3), rng: &rng)
        default: return ids.randomCaller(account, at: time, rng: &rng)
        }
    }

    /// A session of one of the account's roles; in a shape with churn roles, mostly one of
    /// their short sessions instead.
    func roleCaller(
        _ account: Account, _ roleName: Account.RoleName, at time: Int64, invokedBy: String? = nil
    ) -> Identity {
        if churn != nil, rng.chance(0.85),
            let id = churn!.caller(account, at: time, newShare: profile.newSessionShare, invokedBy: invokedBy)
        {
            return id
        }
        return ids.randomRoleSession(account, roleName, at: time, invokedBy: invokedBy, rng: &rng)
    }

    /// A long-tail object of a data bucket to read: always a fresh one in the default shape;
    /// in the others, often one written lately.
    func tailReadKey(bucket: String, at time: Int64) -> String {
        if let share = profile.freshTailShare, let key = churn?.tailRead(bucket: bucket, freshShare: share) {
            return key
        }
        return tailObjectKey(at: time)
    }

    /// An encryption context an application chose, or none.
    func applicationContext() -> EncryptionContext? {
        switch rng.below(6) {
        case 0: return [("department", "finance"), ("project", "q1-close")]
        case 1: return [("tenant", "acme-株式会社"), ("purpose", "pii")]
        case 2: return [("aws-crypto-public-key", "A" + rng.alphanumeric(43) + "=")]
        case 3: return [("order_id", rng.digits(10)), ("note", "contains \"quotes\" and \\ backslash")]
        default: return nil
        }
    }

    func s3ObjectArn(_ bucket: String, _ key: String) -> String {
        "arn:aws:s3:::\(bucket)/\(key)"
    }

    /// A fresh long-tail object key, named after the event's day.
    func tailObjectKey(at time: Int64) -> String {
        let kind = rng.below(4)
        let date = UTCTime.datePath(time)
        switch kind {
        case 0: return "events/\(date)/part-\(rng.digits(5))-\(rng.uuid()).snappy.parquet"
        case 1: return "uploads/user-\(rng.digits(6))/\(rng.hex(12)).jpg"
        case 2: return "backups/db/\(date)/dump-\(rng.hex(8)).sql.gz"
        default: return "logs/app/\(date)/\(rng.hex(16)).json"
        }
    }

    /// An object of an SSE-KMS bucket: hot objects often, a long tail otherwise.
    func dataObject(_ place: StreamPlace, at time: Int64) -> (bucket: String, key: String) {
        let region = place.region
        if rng.chance(profile.hotObjectShare) {
            // Zipf-like: the first hot object is read far more than the others.
            let i = rng.chance(0.6) ? 0 : rng.below(region.hotObjects.count)
            return (region.dataBucket, region.hotObjects[i])
        }
        if rng.chance(0.04) {
            return (region.reportsBucket, rng.pick(Self.awkwardObjectKeys))
        }
        return (region.dataBucket, tailReadKey(bucket: region.dataBucket, at: time))
    }

    func accessDenied(_ identity: Identity?, _ operation: String, _ key: KMSKey) -> (code: String, message: String) {
        let who = identity?.arn ?? identity?.principalID ?? "anonymous"
        return (
            "AccessDenied",
            "User: \(who) is not authorized to perform: kms:\(operation) on resource: \(key.arn) because no identity-based policy allows the kms:\(operation) action"
        )
    }

    /// Makes some calls fail. Returns the key the call ends up naming (a disabled or
    /// pending-deletion key for the state errors).
    func maybeFail(_ call: inout KMSCall, rate: Double, place: StreamPlace) {
        guard rng.chance(rate), let key = call.keys.first else { return }
        let op = call.request.eventName
        switch rng.below(10) {
        case 0..<5:
            call.error = accessDenied(call.identity, op, key)
        case 5, 6:
            let dead = place.region.keys.pendingDeletion
            call.keys = [dead]
            call.request = Self.retarget(call.request, to: dead)
            call.error = ("KMSInvalidStateException", "\(dead.arn) is pending deletion.")
        case 7:
            let off = place.region.keys.disabled
            call.keys = [off]
            call.request = Self.retarget(call.request, to: off)
            call.error = ("DisabledException", "\(off.arn) is disabled.")
        case 8:
            call.error = ("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
        default:
            call.error = (
                "InvalidCiphertextException",
                "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access."
            )
        }
    }

    /// The same request naming another key (by ARN where it named one).
    static func retarget(_ request: KMSRequest, to key: KMSKey) -> KMSRequest {
        switch request {
        case let .decrypt(keyID, ctx): return .decrypt(keyID: keyID == nil ? nil : key.arn, context: ctx)
        case let .encrypt(_, ctx): return .encrypt(keyID: key.arn, context: ctx)
        case let .generateDataKey(_, ctx, n): return .generateDataKey(keyID: key.arn, context: ctx, numberOfBytes: n)
        case let .generateDataKeyWithoutPlaintext(_, ctx): return .generateDataKeyWithoutPlaintext(keyID: key.arn, context: ctx)
        case .describeKey: return .describeKey(keyID: key.arn)
        default: return request
        }
    }

    // MARK: Data keys and encryption

    private func backgroundGenerateDataKey(_ place: StreamPlace, at time: Int64) {
        let region = place.region
        let account = place.account
        switch rng.below(100) {
        case 0..<40:
            // S3 writes a new SSE-KMS object.
            let object =
                rng.chance(0.9)
                ? (bucket: region.dataBucket, key: tailObjectKey(at: time))
                : (bucket: region.reportsBucket, key: rng.pick(Self.awkwardObjectKeys))
            if churn != nil, object.bucket == region.dataBucket {
                churn!.remember(bucket: object.bucket, key: object.key)
            }
            let key = region.keys.dataLake
            let caller = roleCaller(account, rng.pick([.appBackend, .dataPipeline]), at: time)
            var call = serviceCall(
                .generateDataKey(keyID: key.arn, context: [("aws:s3:arn", s3ObjectArn(object.bucket, object.key))], numberOfBytes: false),
                place, at: time, identity: caller, key: key, via: "s3.amazonaws.com")
            maybeFail(&call, rate: 0.01, place: place)
            if rng.chance(0.35) && call.error == nil {
                s3ObjectEvent(place, at: time, identity: caller, bucket: object.bucket, key: object.key, put: true, kmsKey: key)
            }
            finishAndEmit(call, keyIsArn: true)
        case 40..<45:
            let key = region.keys.dataLake
            let caller = roleCaller(account, .dataPipeline, at: time)
            let call = serviceCall(
                .generateDataKey(keyID: key.arn, context: [("aws:s3:arn", "arn:aws:s3:::\(region.bucketKeyBucket)")], numberOfBytes: false),
                place, at: time, identity: caller, key: key, via: "s3.amazonaws.com")
            finishAndEmit(call, keyIsArn: true)
        case 45..<55:
            let secret = rng.pick(region.secretARNs)
            let caller = roleCaller(account, .ssoAdmin, at: time, invokedBy: "secretsmanager.amazonaws.com")
            let key = region.keys.secretsManaged
            let call = serviceCall(
                .generateDataKey(
                    keyID: key.alias, context: [("SecretARN", secret), ("SecretVersionId", rng.uuid())], numberOfBytes: false),
                place, at: time, identity: caller, key: key, via: "secretsmanager.amazonaws.com")
            finishAndEmit(call)
        default:
            let key = rng.pick(region.keys.applicationKeys)
            let form = rng.pick(KeyIDForm.allCases)
            var call = directCall(
                .generateDataKey(keyID: form.render(key), context: applicationContext(), numberOfBytes: rng.chance(0.3)),
                place, at: time, identity: applicationCaller(place, at: time), keys: [key])
            maybeFail(&call, rate: 0.03, place: place)
            finishAndEmit(call, keyIsArn: form == .keyArn)
        }
    }

    private func backgroundEncrypt(_ place: StreamPlace, at time: Int64) {
        let key = rng.pick(place.region.keys.applicationKeys)
        let form = rng.pick(KeyIDForm.allCases)
        var call = directCall(
            .encrypt(keyID: form.render(key), context: applicationContext()), place, at: time,
            identity: applicationCaller(place, at: time), keys: [key])
        maybeFail(&call, rate: 0.03, place: place)
        finishAndEmit(call, keyIsArn: form == .keyArn)
    }

    private func backgroundDescribeKey(_ place: StreamPlace, at time: Int64) {
        let keys = place.region.keys
        let key = rng.pick(keys.applicationKeys + [keys.s3Managed, keys.ebsManaged])
        let form = rng.pick(KeyIDForm.allCases)
        if rng.chance(0.3) {
            let service = rng.pick(["s3.amazonaws.com", "ec2.amazonaws.com", "rds.amazonaws.com"])
            let call = serviceCall(.describeKey(keyID: key.arn), place, at: time, identity: ids.awsService(service), key: key, via: service)
            finishAndEmit(call, keyIsArn: true)
        } else {
            var call = directCall(
                .describeKey(keyID: form.render(key)), place, at: time, identity: applicationCaller(place, at: time), keys: [key])
            maybeFail(&call, rate: 0.03, place: place)
            finishAndEmit(call, keyIsArn: form == .keyArn)
        }
    }

    /// EBS creates a volume: a data key without plaintext, context `aws:ebs:id`.
    private func ebsDataKey(_ place: StreamPlace, at time: Int64) {
        let key = place.region.keys.ebsManaged
        let caller =
            rng.chance(0.5)
            ? ids.awsService("ec2.amazonaws.com")
            : roleCaller(place.account, .appBackend, at: time, invokedBy: "ec2.amazonaws.com")
        let call = serviceCall(
            .generateDataKeyWithoutPlaintext(keyID: key.arn, context: [("aws:ebs:id", rng.pick(place.region.volumes))]),
            place, at: time, identity: caller, key: key, via: "ec2.amazonaws.com")
        finishAndEmit(call, keyIsArn: true)
    }

    /// EBS attaches a volume: a grant to the instance's role, constrained to the volume.
    private func ebsCreateGrant(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let key = rng.chance(0.7) ? place.region.keys.ebsManaged : place.region.keys.appData
        let role = account.role(.appBackend)
        let caller = roleCaller(account, .appBackend, at: time, invokedBy: "ec2.amazonaws.com")
        var call = serviceCall(
            .createGrant(
                keyID: key.arn, grantee: role.arn, retiring: "ec2.\(place.region.name).amazonaws.com",
                operations: [
                    "Decrypt", "RetireGrant", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "DescribeKey",
                    "CreateGrant",
                ],
                constraint: [("aws:ebs:id", rng.pick(place.region.volumes))]),
            place, at: time, identity: caller, key: key, via: "ec2.amazonaws.com")
        maybeFail(&call, rate: 0.02, place: place)
        finishAndEmit(call, keyIsArn: true)
    }

    /// An application re-encrypts data under another key: both keys in resources.
    func applicationReEncrypt(_ place: StreamPlace, at time: Int64) {
        let keys = place.region.keys
        let source = keys.appData
        let destination = rng.chance(0.5) ? keys.finance : keys.dataLake
        let sourceID: String? = rng.chance(0.6) ? source.arn : nil
        let destinationForm = rng.pick(KeyIDForm.allCases)
        var call = directCall(
            .reEncrypt(
                sourceKeyID: sourceID, destinationKeyID: destinationForm.render(destination),
                sourceContext: [("department", "finance")], destinationContext: [("department", "finance"), ("rotation", "2024")]),
            place, at: time, identity: applicationCaller(place, at: time), keys: [source, destination])
        if rng.chance(0.03) { call.error = accessDenied(call.identity, "ReEncryptFrom", source) }
        finishAndEmit(call)
    }

    /// An administrator schedules the retired key's deletion.
    func scheduleKeyDeletion(_ place: StreamPlace, at time: Int64) {
        let key = place.region.keys.pendingDeletion
        let identity = roleCaller(place.account, .ssoAdmin, at: time)
        var call = directCall(
            .scheduleKeyDeletion(keyID: rng.chance(0.5) ? key.id : key.arn, pendingDays: rng.pick([7, 30])),
            place, at: time, identity: identity, keys: [key])
        call.userAgent = "console.amazonaws.com"
        call.sourceIP = publicIP()
        finishAndEmit(call)
    }

    /// KMS rotates a key on its own: a service event whose userIdentity has no type.
    func rotateKey(_ place: StreamPlace, at time: Int64) {
        let key = place.region.keys.appData
        var call = KMSCall(
            request: .rotateKey, identity: ids.kmsServiceEvent(place.account), time: time, region: place.region.name,
            recipient: place.account.id, sourceIP: "kms.amazonaws.com", userAgent: "kms.amazonaws.com", keys: [key])
        call.eventType = "AwsServiceEvent"
        emitKMS(call)
    }
}
