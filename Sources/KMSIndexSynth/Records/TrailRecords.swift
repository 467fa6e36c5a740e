/// The KMS calls caused by CloudTrail itself (the three flows of the seed document) and by
/// callers in another account.
extension RecordFactory {
    /// The account CloudTrail's own principals live in, as in the seed examples.
    static let cloudTrailServiceAccount = "086441151436"

    /// The encryption context of one object of the log bucket.
    func logContext(_ trail: Trail, objectKey: String) -> EncryptionContext {
        [("aws:cloudtrail:arn", trail.arn), ("aws:s3:arn", "arn:aws:s3:::\(estate.logBucket)/\(objectKey)")]
    }

    /// Seed flow 1: the trail is configured with a key, CloudTrail checks it with a
    /// GenerateDataKey whose context names the bucket prefix (ending in "/"), not an object.
    func trailKeyCheck(_ trail: Trail, at time: Int64) {
        let owner = estate.accounts[trail.ownerIndex]
        let prefix = estate.organizationID.map { "AWSLogs/\($0)/" } ?? estate.logPrefix(account: owner.index)
        let svc = Self.cloudTrailServiceAccount
        var identity = Identity(kind: .iamUser)
        identity.principalID = "AIDA" + rng.upperAlphanumeric(17)
        identity.arn = "arn:aws:iam::\(svc):user/AWSCloudTrail"
        identity.accountID = svc
        identity.accessKeyID = "AKIA" + rng.upperAlphanumeric(16)
        identity.userName = "AWSCloudTrail"
        identity.creationMs = time
        identity.invokedBy = "internal.amazonaws.com"
        var call = KMSCall(
            request: .generateDataKey(keyID: trail.key.aliasArn, context: logContext(trail, objectKey: prefix), numberOfBytes: false),
            identity: identity, time: time, region: trail.homeRegion, recipient: owner.id,
            sourceIP: "internal.amazonaws.com", userAgent: "internal.amazonaws.com", keys: [trail.key])
        call.style = .seed
        call.seedKeyIDFirst = true
        call.eventType = "AwsServiceEvent"
        emitKMS(call)
    }

    /// Seed flow 2: S3 asks KMS for the data key of a log file CloudTrail is writing. The
    /// context names the log file's object; the record lands in a later log file.
    func logFileDelivery(_ trail: Trail, objectKey: String, at time: Int64) {
        let owner = estate.accounts[trail.ownerIndex]
        let context = logContext(trail, objectKey: objectKey)
        if rng.chance(0.3) {
            let svc = Self.cloudTrailServiceAccount
            let instance = "i-" + rng.hex(8)
            let rolePrincipal = "AROA" + rng.upperAlphanumeric(17)
            var identity = Identity(kind: .assumedRole)
            identity.principalID = rolePrincipal + ":" + instance
            identity.arn = "arn:aws:sts::\(svc):assumed-role/AWSCloudTrail/\(instance)"
            identity.accountID = svc
            identity.accessKeyID = "ASIA" + rng.upperAlphanumeric(16)
            identity.creationMs = time - Int64(rng.int(in: 60...3000)) * 1000
            identity.issuer = Identity.SessionIssuer(
                type: "Role", principalID: rolePrincipal, arn: "arn:aws:iam::\(svc):role/AWSCloudTrail", accountID: svc,
                userName: "AWSCloudTrail")
            identity.invokedBy = "internal.amazonaws.com"
            var call = KMSCall(
                request: .generateDataKey(keyID: trail.key.arn, context: context, numberOfBytes: false),
                identity: identity, time: time, region: trail.homeRegion, recipient: owner.id,
                sourceIP: "internal.amazonaws.com", userAgent: "internal.amazonaws.com", keys: [trail.key])
            call.style = .seed
            call.eventType = "AwsServiceEvent"
            emitKMS(call)
        } else {
            var call = KMSCall(
                request: .generateDataKey(keyID: trail.key.arn, context: context, numberOfBytes: false),
                identity: ids.awsService("cloudtrail.amazonaws.com"), time: time, region: trail.homeRegion,
                recipient: owner.id, sourceIP: "cloudtrail.amazonaws.com", userAgent: "cloudtrail.amazonaws.com",
                keys: [trail.key])
            call.sharedEventID = rng.uuid()
            emitKMS(call)
        }
    }

    /// Seed flow 3: somebody reads a log file; S3 calls Decrypt under the reader's identity.
    /// Some readers are refused.
    /// With `dataEvent`, the read is in the S3 data events too: a GetObject by the same caller,
    /// the moment before. With `readerAccount` (not the key's), the reader is a role of that
    /// account, and the call is logged in both accounts (`crossAccountLogFileRead`), with no
    /// data event.
    func logFileRead(
        _ trail: Trail, objectKey: String, at time: Int64, ingest: Bool, dataEvent: Bool = false, readerAccount: Account? = nil
    ) {
        let owner = estate.accounts[trail.ownerIndex]
        let context = logContext(trail, objectKey: objectKey)
        let home = owner.region(trail.homeRegion)
        let place = StreamPlace(account: owner, region: home)
        if let reader = readerAccount, reader.index != owner.index {
            crossAccountLogFileRead(trail, context: context, reader: reader, at: time, ingest: ingest)
            return
        }
        if !ingest && rng.chance(0.2) {
            // The seed's reader: an IAM user signed in to the console.
            let user = owner.user(.cloudtrailAdmin)
            var identity = ids.iamUser(owner, user, at: time, console: true, rng: &rng)
            identity.fromConsole = false
            identity.invokedBy = "signin.amazonaws.com"
            var call = KMSCall(
                request: .decrypt(keyID: nil, context: context), identity: identity, time: time,
                region: trail.homeRegion, recipient: owner.id, sourceIP: "internal.amazonaws.com",
                userAgent: "internal.amazonaws.com", keys: [trail.key])
            call.style = .seed
            emitKMS(call)
            return
        }
        let identity: Identity
        var denied = false
        if ingest {
            identity = ids.randomRoleSession(owner, .logIngest, at: time, rng: &rng)
        } else {
            switch rng.below(10) {
            case 0..<4: identity = ids.randomRoleSession(owner, .securityAudit, at: time, rng: &rng)
            case 4..<6: identity = ids.iamUser(owner, owner.user(.cloudtrailAdmin), at: time, rng: &rng)
            case 6: identity = ids.randomRoleSession(owner, .ssoAdmin, at: time, rng: &rng)
            default:
                identity = ids.iamUser(owner, owner.user(.intern), at: time, console: rng.chance(0.5), rng: &rng)
                denied = rng.chance(0.7)
            }
        }
        var call = serviceCall(
            .decrypt(keyID: nil, context: context), place, at: time, identity: identity, key: trail.key, via: "s3.amazonaws.com")
        if rng.chance(0.3) { call.sourceIP = publicIP() }
        if denied { call.error = accessDenied(identity, "Decrypt", trail.key) }
        finishAndEmit(call)
        if dataEvent, let decrypt = emitted.last?.facts?.eventID {
            s3ObjectEvent(
                place, at: time - 1000, identity: identity, bucket: estate.logBucket, key: objectKey, put: false,
                kmsKey: trail.key, listed: true, error: denied ? "AccessDenied" : nil, pairedDecrypt: denied ? nil : decrypt)
        }
    }

    /// A log file read by a role of `reader`, another account than the key's: S3's Decrypt is
    /// logged in the reader's account (its record first) and in the key owner's, where the caller
    /// is an `AWSAccount`, with one requestID and sharedEventID, as `crossAccountCall` writes it.
    func crossAccountLogFileRead(_ trail: Trail, context: EncryptionContext, reader: Account, at time: Int64, ingest: Bool) {
        let place = StreamPlace(account: reader, region: reader.region(trail.homeRegion))
        let identity = ids.randomRoleSession(reader, ingest ? .logIngest : .securityAudit, at: time, rng: &rng)
        var call = serviceCall(
            .decrypt(keyID: nil, context: context), place, at: time, identity: identity, key: trail.key, via: "s3.amazonaws.com")
        call.requestID = rng.uuid()
        call.sharedEventID = rng.uuid()
        emitKMS(call)

        var ownerCopy = call
        ownerCopy.identity = ids.awsAccount(callerAccountID: reader.id, principalID: identity.principalID ?? "")
        ownerCopy.recipient = estate.accounts[trail.ownerIndex].id
        ownerCopy.eventID = nil
        emitKMS(ownerCopy)
    }

    /// Reads of a copy of the log file kept in the Bucket Keys bucket of the trail's home
    /// region, which KMS sees only as bucket-level Decrypts: a GetObject by an auditor (some
    /// refused), a HeadObject now and then, and a bucket-level Decrypt now and then.
    func s3DataEventReads(_ trail: Trail, objectKey: String, at time: Int64) {
        let owner = estate.accounts[trail.ownerIndex]
        let home = owner.region(trail.homeRegion)
        let place = StreamPlace(account: owner, region: home)
        let bucket = home.bucketKeyBucket
        // The first read of each bucket comes with one, so that every tree has it.
        if rng.chance(0.1) || bucketKeyDecrypts.insert(bucket).inserted {
            let caller = ids.randomRoleSession(owner, .securityAudit, at: time, rng: &rng)
            emitKMS(
                serviceCall(
                    .decrypt(keyID: nil, context: [("aws:s3:arn", "arn:aws:s3:::\(bucket)")]), place, at: time - 2000,
                    identity: caller, key: home.keys.dataLake, via: "s3.amazonaws.com"))
        }
        if rng.chance(0.1) {
            let caller = ids.randomRoleSession(owner, .analyst, at: time, rng: &rng)
            s3ObjectEvent(
                place, at: time - 1000, identity: caller, bucket: bucket, key: objectKey, put: false, kmsKey: nil, name: "HeadObject")
        }
        guard rng.chance(0.4) else { return }
        if rng.chance(0.1) {
            let intern = ids.iamUser(owner, owner.user(.intern), at: time, rng: &rng)
            s3ObjectEvent(
                place, at: time, identity: intern, bucket: bucket, key: objectKey, put: false, kmsKey: nil,
                listed: true, error: "AccessDenied")
        } else {
            let caller = ids.randomRoleSession(owner, .securityAudit, at: time, rng: &rng)
            s3ObjectEvent(place, at: time, identity: caller, bucket: bucket, key: objectKey, put: false, kmsKey: nil, listed: true)
        }
    }

    /// A call by a principal of `caller` on a key of `owner`, logged in both accounts: same
    /// requestID and sharedEventID, different eventID and recipientAccountId. The owner's copy
    /// shows the caller as an `AWSAccount` identity. Both records are emitted (caller first).
    func crossAccountCall(caller: Account, owner: Account, regionName: String, at time: Int64) {
        let callerPlace = StreamPlace(account: caller, region: caller.region(regionName))
        let ownerRegion = owner.region(regionName)
        let requestID = rng.uuid()
        let shared = rng.uuid()
        let identity = ids.randomRoleSession(caller, rng.pick([.appBackend, .dataPipeline, .analyst]), at: time, rng: &rng)
        let request: KMSRequest
        let key: KMSKey
        var viaS3 = false
        if rng.chance(0.5) {
            key = ownerRegion.keys.dataLake
            let objectKey = rng.chance(0.5) ? ownerRegion.hotObjects[0] : tailReadKey(bucket: ownerRegion.dataBucket, at: time)
            request = .decrypt(keyID: nil, context: [("aws:s3:arn", s3ObjectArn(ownerRegion.dataBucket, objectKey))])
            viaS3 = true
        } else {
            key = ownerRegion.keys.appData
            request =
                rng.chance(0.5)
                ? .generateDataKey(keyID: key.arn, context: [("partner", "acme-analytics")], numberOfBytes: false)
                : .decrypt(keyID: key.arn, context: [("partner", "acme-analytics")])
        }
        var call =
            viaS3
            ? serviceCall(request, callerPlace, at: time, identity: identity, key: key, via: "s3.amazonaws.com")
            : directCall(request, callerPlace, at: time, identity: identity, keys: [key])
        call.requestID = requestID
        call.sharedEventID = shared
        if rng.chance(0.05) { call.error = accessDenied(identity, request.eventName, key) }
        emitKMS(call)

        var ownerCopy = call
        ownerCopy.identity = ids.awsAccount(callerAccountID: caller.id, principalID: identity.principalID ?? "")
        ownerCopy.recipient = owner.id
        ownerCopy.eventID = nil
        emitKMS(ownerCopy)
    }
}
