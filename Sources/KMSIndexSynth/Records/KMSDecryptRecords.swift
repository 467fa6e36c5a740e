/// Decrypt calls: reads of SSE-KMS objects and of log files, and applications' own.
extension RecordFactory {
    func backgroundDecrypt(_ place: StreamPlace, at time: Int64) {
        let region = place.region
        let account = place.account
        switch rng.below(100) {
        case 0..<52:
            // S3 reads an SSE-KMS object for its caller.
            let object = dataObject(place, at: time)
            let caller = roleCaller(
                account, rng.pick([.appBackend, .dataPipeline, .analyst, .appBackend]), at: time,
                invokedBy: rng.chance(0.5) ? "s3.amazonaws.com" : nil)
            let arn = s3ObjectArn(object.bucket, object.key)
            var call = serviceCall(
                .decrypt(keyID: nil, context: [("aws:s3:arn", arn)]), place, at: time, identity: caller,
                key: region.keys.dataLake, via: "s3.amazonaws.com")
            maybeFail(&call, rate: 0.02, place: place)
            if rng.chance(0.35) && call.error == nil {
                s3ObjectEvent(
                    place, at: time, identity: caller, bucket: object.bucket, key: object.key, put: false, kmsKey: region.keys.dataLake)
            }
            finishAndEmit(call)
        case 52..<55:
            // A bucket with S3 Bucket Keys: the context names the bucket only.
            let caller = roleCaller(account, .dataPipeline, at: time)
            let call = serviceCall(
                .decrypt(keyID: nil, context: [("aws:s3:arn", "arn:aws:s3:::\(region.bucketKeyBucket)")]), place,
                at: time, identity: caller, key: region.keys.dataLake, via: "s3.amazonaws.com")
            finishAndEmit(call)
        case 55..<65:
            let function = rng.pick(region.functions)
            let role = account.role(.lambdaExec)
            let session = role.sessions.first { $0.name == function } ?? role.sessions[0]
            let caller = ids.assumedRole(account, role, session: session, at: time, invokedBy: "lambda.amazonaws.com", rng: &rng)
            let context: EncryptionContext = [
                ("aws:lambda:FunctionArn", "arn:aws:lambda:\(region.name):\(account.id):function:\(function)")
            ]
            var call = serviceCall(
                .decrypt(keyID: nil, context: context), place, at: time, identity: caller, key: region.keys.lambdaManaged,
                via: "lambda.amazonaws.com")
            maybeFail(&call, rate: 0.01, place: place)
            finishAndEmit(call)
        case 65..<73:
            let volume = rng.pick(region.volumes)
            let key = region.keys.ebsManaged
            let caller =
                rng.chance(0.5)
                ? ids.awsService("ec2.amazonaws.com")
                : roleCaller(account, .appBackend, at: time, invokedBy: "ec2.amazonaws.com")
            let call = serviceCall(
                .decrypt(keyID: key.arn, context: [("aws:ebs:id", volume)]), place, at: time, identity: caller, key: key,
                via: "ec2.amazonaws.com")
            finishAndEmit(call, keyIsArn: true)
        case 73..<83:
            let secret = rng.pick(region.secretARNs)
            let caller = roleCaller(account, rng.pick([.appBackend, .lambdaExec]), at: time, invokedBy: "secretsmanager.amazonaws.com")
            let context: EncryptionContext = [("SecretARN", secret), ("SecretVersionId", rng.uuid())]
            var call = serviceCall(
                .decrypt(keyID: nil, context: context), place, at: time, identity: caller, key: region.keys.secretsManaged,
                via: "secretsmanager.amazonaws.com")
            maybeFail(&call, rate: 0.01, place: place)
            finishAndEmit(call)
        default:
            // An application decrypting its own ciphertext, keyId in any form or absent.
            let key = rng.pick(region.keys.applicationKeys)
            let form: KeyIDForm? = rng.chance(0.4) ? nil : rng.pick(KeyIDForm.allCases)
            var call = directCall(
                .decrypt(keyID: form?.render(key), context: applicationContext()), place, at: time,
                identity: applicationCaller(place, at: time), keys: [key])
            maybeFail(&call, rate: 0.05, place: place)
            finishAndEmit(call, keyIsArn: form == .keyArn)
        }
    }
}
