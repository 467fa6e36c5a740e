/// Records written once at the start of every tree so that each documented oddity is present
/// however small the tree: every userIdentity type (and none), every keyId form, every error
/// kind, hostile user agents, fractional seconds, compact creation dates, old-style records
/// without resources, awkward object keys, bucket-key and service contexts.
extension RecordFactory {
    /// Emits the showcase records of `place`, their times spread over `[from, to)`.
    func showcase(_ place: StreamPlace, from: Int64, to: Int64) {
        let account = place.account
        let region = place.region
        let keys = region.keys
        var tick: Int64 = 0
        let span = max(1, (to - from) / 1000)
        func time() -> Int64 {
            tick += 1
            return from + (tick * 7 % span) * 1000
        }
        let hot = s3ObjectArn(region.dataBucket, region.hotObjects[0])

        // Every identity type calling KMS, each with a different keyId form.
        var t = time()
        emitKMS(
            directCall(
                .encrypt(keyID: keys.appData.alias, context: nil), place, at: t, identity: ids.root(account, at: t, rng: &rng),
                keys: [keys.appData]))
        t = time()
        emitKMS(
            directCall(
                .generateDataKey(keyID: keys.finance.id, context: [("department", "finance")], numberOfBytes: false), place, at: t,
                identity: ids.iamUser(account, account.user(.alice), at: t, rng: &rng), keys: [keys.finance]))
        t = time()
        let auditor = account.role(.securityAudit)
        var call = serviceCall(
            .decrypt(keyID: nil, context: [("aws:s3:arn", hot)]), place, at: t,
            identity: ids.assumedRole(account, auditor, session: auditor.sessions[0], at: t, rng: &rng), key: keys.dataLake,
            via: "s3.amazonaws.com")
        emitKMS(call)
        t = time()
        let admin = account.role(.ssoAdmin)
        emitKMS(
            directCall(
                .describeKey(keyID: keys.dataLake.aliasArn), place, at: t,
                identity: ids.assumedRole(account, admin, session: admin.sessions[0], at: t, rng: &rng), keys: [keys.dataLake]))
        t = time()
        var compact = ids.randomRoleSession(account, .appBackend, at: t, rng: &rng)
        compact.compactCreationDate = true
        call = serviceCall(
            .decrypt(keyID: nil, context: [("aws:s3:arn", hot)]), place, at: t, identity: compact, key: keys.dataLake,
            via: "s3.amazonaws.com")
        call.sourceIP = "internal.amazonaws.com"
        emitKMS(call)
        t = time()
        emitKMS(
            directCall(
                .decrypt(keyID: keys.appData.arn, context: [("project", "partner-sync")]), place, at: t,
                identity: ids.federatedUser(account, name: "partner-sync", at: t, rng: &rng), keys: [keys.appData]))
        t = time()
        let external = ids.awsAccount(callerAccountID: "210987654321", principalID: "AROA" + rng.upperAlphanumeric(17) + ":partner-etl")
        emitKMS(
            directCall(
                .decrypt(keyID: keys.appData.arn, context: [("partner", "acme-analytics")]), place, at: t, identity: external,
                keys: [keys.appData]))
        t = time()
        call = serviceCall(
            .generateDataKeyWithoutPlaintext(keyID: keys.ebsManaged.arn, context: [("aws:ebs:id", region.volumes[0])]), place, at: t,
            identity: ids.awsService("ec2.amazonaws.com"), key: keys.ebsManaged, via: "ec2.amazonaws.com")
        emitKMS(call)
        t = time()
        emitKMS(
            directCall(
                .describeKey(keyID: keys.appData.id), place, at: t, identity: ids.identityCenterUser(account, rng: &rng),
                keys: [keys.appData]))
        t = time()
        emitKMS(
            directCall(
                .decrypt(keyID: nil, context: [("tenant", "acme-株式会社")]), place, at: t, identity: ids.samlUser(account, rng: &rng),
                keys: [keys.finance]))
        t = time()
        call = serviceCall(
            .decrypt(keyID: nil, context: [("aws:s3:arn", "arn:aws:s3:::\(region.bucketKeyBucket)")]), place, at: t,
            identity: ids.webIdentityUser(account, rng: &rng), key: keys.dataLake, via: "s3.amazonaws.com")
        emitKMS(call)
        t = time()
        emitKMS(
            directCall(
                .encrypt(keyID: keys.finance.aliasArn, context: nil), place, at: t, identity: ids.directory(account, rng: &rng),
                keys: [keys.finance]))
        t = time()
        emitKMS(
            directCall(
                .decrypt(keyID: nil, context: [("purpose", "sign-in")]), place, at: t, identity: ids.unknown(account, rng: &rng),
                keys: [keys.appData]))
        rotateKey(place, at: time())
        t = time()
        var deletion = KMSCall(
            request: .deleteKey, identity: nil, time: t, region: region.name, recipient: account.id,
            sourceIP: "kms.amazonaws.com", userAgent: "kms.amazonaws.com", keys: [keys.pendingDeletion])
        deletion.eventType = "AwsServiceEvent"
        emitKMS(deletion)

        // Failures of every kind.
        t = time()
        let intern = ids.iamUser(account, account.user(.intern), at: t, rng: &rng)
        call = serviceCall(
            .decrypt(keyID: nil, context: [("aws:s3:arn", hot)]), place, at: t, identity: intern, key: keys.dataLake,
            via: "s3.amazonaws.com")
        call.error = accessDenied(intern, "Decrypt", keys.dataLake)
        emitKMS(call)
        t = time()
        call = directCall(
            .decrypt(keyID: keys.finance.arn, context: nil), place, at: t, identity: applicationCaller(place, at: t), keys: [keys.finance])
        call.error = ("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
        emitKMS(call)
        t = time()
        call = directCall(
            .encrypt(keyID: keys.pendingDeletion.alias, context: nil), place, at: t, identity: applicationCaller(place, at: t),
            keys: [keys.pendingDeletion])
        call.error = ("KMSInvalidStateException", "\(keys.pendingDeletion.arn) is pending deletion.")
        emitKMS(call)
        t = time()
        call = directCall(
            .generateDataKey(keyID: keys.disabled.arn, context: nil, numberOfBytes: true), place, at: t,
            identity: applicationCaller(place, at: t), keys: [keys.disabled])
        call.error = ("DisabledException", "\(keys.disabled.arn) is disabled.")
        emitKMS(call)

        // Hostile user agents.
        for agent in Self.hostileUserAgents {
            t = time()
            call = directCall(
                .encrypt(keyID: keys.appData.alias, context: nil), place, at: t,
                identity: ids.iamUser(account, account.user(.bob), at: t, rng: &rng), keys: [keys.appData])
            call.userAgent = agent
            emitKMS(call)
        }

        // Key administration and re-encryption.
        applicationReEncrypt(place, at: time())
        scheduleKeyDeletion(place, at: time())
        t = time()
        call = serviceCall(
            .createGrant(
                keyID: keys.ebsManaged.arn, grantee: account.role(.appBackend).arn, retiring: nil, operations: ["Decrypt", "RetireGrant"],
                constraint: [("aws:ebs:id", region.volumes[1])]),
            place, at: t, identity: ids.awsService("ec2.amazonaws.com"), key: keys.ebsManaged, via: "ec2.amazonaws.com")
        emitKMS(call)

        // Milliseconds in eventTime, and an old record without resources.
        t = time() + 123
        call = serviceCall(
            .decrypt(keyID: nil, context: [("aws:s3:arn", hot)]), place, at: t, identity: applicationCaller(place, at: t),
            key: keys.dataLake, via: "s3.amazonaws.com")
        call.fractional = true
        emitKMS(call)
        t = time()
        call = directCall(
            .generateDataKey(keyID: keys.appData.arn, context: nil, numberOfBytes: false), place, at: t,
            identity: applicationCaller(place, at: t), keys: [keys.appData])
        call.style = .noResources
        emitKMS(call)

        // Objects whose keys need escaping, and other services' contexts.
        for objectKey in Self.awkwardObjectKeys {
            t = time()
            call = serviceCall(
                .decrypt(keyID: nil, context: [("aws:s3:arn", s3ObjectArn(region.reportsBucket, objectKey))]), place, at: t,
                identity: applicationCaller(place, at: t), key: keys.dataLake, via: "s3.amazonaws.com")
            emitKMS(call)
        }
        t = time()
        let function = region.functions[0]
        call = serviceCall(
            .decrypt(keyID: nil, context: [("aws:lambda:FunctionArn", "arn:aws:lambda:\(region.name):\(account.id):function:\(function)")]),
            place, at: t, identity: ids.randomRoleSession(account, .lambdaExec, at: t, invokedBy: "lambda.amazonaws.com", rng: &rng),
            key: keys.lambdaManaged, via: "lambda.amazonaws.com")
        emitKMS(call)
        t = time()
        call = serviceCall(
            .decrypt(keyID: keys.ebsManaged.arn, context: [("aws:ebs:id", region.volumes[0])]), place, at: t,
            identity: ids.awsService("ec2.amazonaws.com"), key: keys.ebsManaged, via: "ec2.amazonaws.com")
        emitKMS(call)

        // Non-KMS traffic of every kind.
        consoleLogin(place, at: time())
        describeInstances(place, at: time(), count: 12)
        createTags(place, at: time())
        assumeRole(place, at: time())
        assumeRoleWithSAML(place, at: time())
        assumeRoleWithWebIdentity(place, at: time())
        backgroundIAM(place, at: time())
        backgroundLambda(place, at: time())
        for _ in 0..<3 { backgroundIdentityCenter(place, at: time()) }
        snapshotServiceEvent(place, at: time())
        backgroundS3(place, at: time())
    }
}
