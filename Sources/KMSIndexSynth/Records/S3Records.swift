/// S3 data events: GetObject, PutObject, HeadObject, ListObjects.
extension RecordFactory {
    /// The envelope of an ordinary (non-KMS) call in the place's account and region.
    func plainEnvelope(
        _ source: StaticString, _ name: String, _ place: StreamPlace, at time: Int64, identity: Identity?,
        readOnly: Bool?, eventVersion: StaticString = "1.08"
    ) -> RecordEnvelope {
        var envelope = RecordEnvelope(
            eventVersion: eventVersion, identity: identity, time: time, eventSource: source, eventName: name,
            region: place.region.name, sourceIP: publicIP(), userAgent: userAgent(), requestID: rng.uuid(),
            eventID: rng.uuid(), readOnly: readOnly, recipientAccountID: place.account.id)
        if rng.chance(0.01) {
            envelope.fractionalTime = true
            envelope.time += Int64(rng.int(in: 1...999))
        }
        if rng.chance(0.002) { envelope.userAgent = rng.pick(Self.hostileUserAgents) }
        return envelope
    }

    /// A data event on one object. `kmsKey` set: the object is SSE-KMS encrypted.
    /// `listed`: a read the ground truth lists (`s3_reads`), refused with `error` when set,
    /// the same read as the Decrypt `pairedDecrypt`.
    func s3ObjectEvent(
        _ place: StreamPlace, at time: Int64, identity: Identity?, bucket: String, key: String, put: Bool,
        kmsKey: KMSKey?, name: String? = nil, listed: Bool = false, error: String? = nil, pairedDecrypt: String? = nil
    ) {
        let eventName = name ?? (put ? "PutObject" : "GetObject")
        var envelope = plainEnvelope(
            "s3.amazonaws.com", eventName, place, at: time, identity: identity, readOnly: !put, eventVersion: "1.09")
        if let error {
            envelope.errorCode = error
            envelope.errorMessage = "Access Denied"
        }
        envelope.requestID = rng.hex(16, uppercase: true)
        envelope.userAgent = "[" + envelope.userAgent + "]"
        if rng.chance(0.5) { envelope.sourceIP = "10.\(rng.int(in: 0...255)).\(rng.int(in: 0...255)).\(rng.int(in: 1...254))" }
        envelope.managementEvent = false
        envelope.eventCategory = "Data"
        envelope.resources = [
            Resource(accountID: nil, type: "AWS::S3::Object", arn: "arn:aws:s3:::\(bucket)/\(key)"),
            Resource(accountID: place.account.id, type: "AWS::S3::Bucket", arn: "arn:aws:s3:::\(bucket)"),
        ]
        if rng.chance(0.3) { envelope.vpcEndpointID = "vpce-" + rng.hex(17) }
        envelope.tlsHost = "\(bucket).s3.\(place.region.name).amazonaws.com"
        // A refused read sends nothing (the draw is made anyway: trees without refusals stay as they were).
        let drawn = rng.int(in: 200...50_000_000)
        let bytes = error == nil ? drawn : 0
        let versionID = rng.alphanumeric(32)
        let amzID = rng.alphanumeric(76) + "="
        let region = place.region.name
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.field("bucketName", bucket)
            w.field("Host", "\(bucket).s3.\(region).amazonaws.com")
            w.field("key", key)
            if put, let kmsKey {
                w.field("x-amz-server-side-encryption", "aws:kms")
                w.field("x-amz-server-side-encryption-aws-kms-key-id", kmsKey.arn)
            }
            w.endObject()
            w.key("responseElements")
            if put {
                w.beginObject()
                if let kmsKey {
                    w.field("x-amz-server-side-encryption-aws-kms-key-id", kmsKey.arn)
                    w.field("x-amz-server-side-encryption", "aws:kms")
                } else {
                    w.field("x-amz-server-side-encryption", "AES256")
                }
                w.field("x-amz-version-id", versionID)
                w.endObject()
            } else {
                w.null()
            }
            w.key("additionalEventData")
            w.beginObject()
            w.field("SignatureVersion", "SigV4")
            w.field("CipherSuite", "TLS_AES_128_GCM_SHA256")
            w.field("bytesTransferredIn", put ? bytes : 0)
            w.field("SSEApplied", kmsKey == nil ? "Default_SSE_S3" : "SSE_KMS")
            w.field("AuthenticationMethod", "AuthHeader")
            w.field("x-amz-id-2", amzID)
            w.field("bytesTransferredOut", put ? 0 : bytes)
            w.endObject()
        }
        if listed {
            markLastAsS3Read(
                S3ReadFacts(
                    objectArn: "arn:aws:s3:::\(bucket)/\(key)", timeMs: envelope.time,
                    read: GroundTruthS3Read(
                        eventTime: UTCTime.iso8601(envelope.time, fractional: envelope.fractionalTime), eventID: envelope.eventID,
                        eventName: eventName, principalArn: identity?.principalArn,
                        onBehalfOfUserID: identity?.onBehalfOf?.userID, errorCode: error,
                        bytes: put ? 0 : bytes, pairedDecrypt: pairedDecrypt)))
        }
    }

    /// S3 traffic on buckets without KMS: static assets, anonymous reads, listings.
    func backgroundS3(_ place: StreamPlace, at time: Int64) {
        let account = place.account
        let bucket = "acme-static-\(account.id)-\(place.region.name)"
        let identity: Identity
        if rng.chance(0.08) {
            // Anonymous read of a public object.
            var anonymous = Identity(kind: .awsAccount)
            anonymous.principalID = ""
            anonymous.accountID = "anonymous"
            identity = anonymous
        } else {
            identity = ids.randomCaller(account, at: time, rng: &rng)
        }
        let assets = ["index.html", "css/site.css", "js/app.\(rng.hex(8)).js", "img/logo.png", "docs/ガイド.pdf"]
        switch rng.below(10) {
        case 0..<6:
            s3ObjectEvent(place, at: time, identity: identity, bucket: bucket, key: rng.pick(assets), put: false, kmsKey: nil)
        case 6, 7:
            s3ObjectEvent(place, at: time, identity: identity, bucket: bucket, key: "uploads/\(rng.uuid()).bin", put: true, kmsKey: nil)
        case 8:
            s3ObjectEvent(
                place, at: time, identity: identity, bucket: bucket, key: rng.pick(assets), put: false, kmsKey: nil, name: "HeadObject")
        default:
            var envelope = plainEnvelope(
                "s3.amazonaws.com", "ListObjects", place, at: time, identity: identity, readOnly: true, eventVersion: "1.09")
            envelope.requestID = rng.hex(16, uppercase: true)
            envelope.managementEvent = false
            envelope.eventCategory = "Data"
            envelope.resources = [Resource(accountID: account.id, type: "AWS::S3::Bucket", arn: "arn:aws:s3:::\(bucket)")]
            let region = place.region.name
            emit(envelope) { w in
                w.key("requestParameters")
                w.beginObject()
                w.field("list-type", "2")
                w.field("bucketName", bucket)
                w.field("prefix", "docs/")
                w.field("Host", "\(bucket).s3.\(region).amazonaws.com")
                w.endObject()
                w.nullField("responseElements")
            }
        }
    }
}
