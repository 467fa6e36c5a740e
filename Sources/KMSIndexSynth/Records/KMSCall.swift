/// An encryption context: string pairs in the order they are written.
typealias EncryptionContext = [(String, String)]

/// The KMS operations the generator writes, with their `requestParameters`.
enum KMSRequest {
    case decrypt(keyID: String?, context: EncryptionContext?)
    case encrypt(keyID: String, context: EncryptionContext?)
    case generateDataKey(keyID: String, context: EncryptionContext?, numberOfBytes: Bool)
    case generateDataKeyWithoutPlaintext(keyID: String, context: EncryptionContext?)
    case describeKey(keyID: String)
    case createGrant(
        keyID: String, grantee: String, retiring: String?, operations: [String], constraint: EncryptionContext?)
    case reEncrypt(
        sourceKeyID: String?, destinationKeyID: String, sourceContext: EncryptionContext?,
        destinationContext: EncryptionContext?)
    case scheduleKeyDeletion(keyID: String, pendingDays: Int)
    /// KMS's yearly automatic rotation, a service event.
    case rotateKey
    /// The end of a deletion's waiting period, a service event.
    case deleteKey

    var eventName: String {
        switch self {
        case .decrypt: return "Decrypt"
        case .encrypt: return "Encrypt"
        case .generateDataKey: return "GenerateDataKey"
        case .generateDataKeyWithoutPlaintext: return "GenerateDataKeyWithoutPlaintext"
        case .describeKey: return "DescribeKey"
        case .createGrant: return "CreateGrant"
        case .reEncrypt: return "ReEncrypt"
        case .scheduleKeyDeletion: return "ScheduleKeyDeletion"
        case .rotateKey: return "RotateKey"
        case .deleteKey: return "DeleteKey"
        }
    }

    var readOnly: Bool {
        switch self {
        case .decrypt, .encrypt, .generateDataKey, .generateDataKeyWithoutPlaintext, .describeKey, .reEncrypt:
            return true
        case .createGrant, .scheduleKeyDeletion, .rotateKey, .deleteKey:
            return false
        }
    }

    /// The `aws:s3:arn` a Decrypt's context names, for the ground truth.
    var decryptedS3Arn: String? {
        guard case let .decrypt(_, context?) = self else { return nil }
        return context.first { $0.0 == "aws:s3:arn" }?.1
    }
}

/// How `requestParameters.keyId` names a key.
enum KeyIDForm: CaseIterable {
    case keyArn, bareID, aliasArn, aliasName

    func render(_ key: KMSKey) -> String {
        switch self {
        case .keyArn: return key.arn
        case .bareID: return key.id
        case .aliasArn: return key.aliasArn
        case .aliasName: return key.alias
        }
    }
}

/// Everything that varies between KMS records.
struct KMSCall {
    /// The shape of the record around the request.
    enum Style {
        /// Today's records: eventVersion 1.08, typed resources, tlsDetails for direct calls.
        case modern
        /// A management event from before resources[] existed: no resources at all.
        case noResources
        /// The 2015 examples' shape, field order included (eventVersion 1.02).
        case seed
    }

    var request: KMSRequest
    var identity: Identity?
    var time: Int64
    var fractional = false
    var region: String
    var recipient: String
    var sourceIP: String
    var userAgent: String
    var error: (code: String, message: String)?
    /// The keys listed in resources[] (ReEncrypt: source and destination).
    var keys: [KMSKey]
    var style: Style = .modern
    var eventType: StaticString = "AwsApiCall"
    var sharedEventID: String?
    var requestID: String?
    var eventID: String?
    /// The caller reached KMS's endpoint itself (writes tlsDetails).
    var direct = false
    /// In the seed style, write GenerateDataKey's keyId before its context (the first seed
    /// example) instead of after it (the second).
    var seedKeyIDFirst = false
}

extension RecordFactory {
    /// Writes a KMS record.
    func emitKMS(_ call: KMSCall) {
        let eventID = call.eventID ?? rng.uuid()
        let requestID = call.requestID ?? rng.uuid()
        let eventVersion: StaticString
        switch call.style {
        case .modern: eventVersion = "1.08"
        case .noResources: eventVersion = "1.05"
        case .seed: eventVersion = "1.02"
        }
        let resources: [Resource]?
        switch call.style {
        case .modern: resources = call.keys.map(Resource.kmsKey)
        case .noResources: resources = nil
        case .seed: resources = call.keys.map { Resource(accountID: $0.accountID, type: nil, arn: $0.arn) }
        }
        var envelope = RecordEnvelope(
            eventVersion: eventVersion, identity: call.identity, seedOrder: call.style == .seed, time: call.time,
            fractionalTime: call.fractional, eventSource: "kms.amazonaws.com", eventName: call.request.eventName,
            region: call.region, sourceIP: call.sourceIP, userAgent: call.userAgent, errorCode: call.error?.code,
            errorMessage: call.error?.message, requestID: requestID, eventID: eventID,
            readOnly: call.request.readOnly, resources: resources, eventType: call.eventType,
            recipientAccountID: call.recipient, sharedEventID: call.sharedEventID)
        if call.direct && call.style == .modern {
            envelope.tlsHost = "kms.\(call.region).amazonaws.com"
        }
        if case .deleteKey = call.request, let key = call.keys.first {
            envelope.serviceEventDetails = [("keyId", key.id)]
        }
        let facts = KMSRecordFacts(
            eventID: eventID, eventName: call.request.eventName, timeMs: call.time,
            eventTime: UTCTime.iso8601(call.time, fractional: call.fractional),
            principalArn: call.identity?.principalArn, errorCode: call.error?.code,
            decryptedS3Arn: call.request.decryptedS3Arn, onBehalfOfUserID: call.identity?.onBehalfOf?.userID,
            sharedEventID: call.sharedEventID)
        let failed = call.error != nil
        let seed = call.style == .seed
        let contextFirst = seed && !call.seedKeyIDFirst
        let firstKey = call.keys.first
        let grantID = rng.hex(64)
        emit(envelope, facts: facts) { w in
            Self.writeKMSMiddle(
                call.request, key: firstKey, failed: failed, seed: seed, contextFirst: contextFirst, grantID: grantID,
                time: call.time, to: &w)
        }
    }

    private static func writeKMSMiddle(
        _ request: KMSRequest, key: KMSKey?, failed: Bool, seed: Bool, contextFirst: Bool, grantID: String,
        time: Int64, to w: inout JSONWriter
    ) {
        func context(_ name: StaticString, _ pairs: EncryptionContext?) {
            if let pairs {
                w.key(name)
                w.stringMap(pairs)
            }
        }
        w.key("requestParameters")
        switch request {
        case let .decrypt(keyID, ctx):
            w.beginObject()
            w.optionalField("keyId", keyID)
            if !seed { w.field("encryptionAlgorithm", "SYMMETRIC_DEFAULT") }
            context("encryptionContext", ctx)
            w.endObject()
        case let .encrypt(keyID, ctx):
            w.beginObject()
            w.field("keyId", keyID)
            w.field("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
            context("encryptionContext", ctx)
            w.endObject()
        case let .generateDataKey(keyID, ctx, numberOfBytes):
            w.beginObject()
            if contextFirst {
                // The second seed example: context first, then keyId and keySpec.
                context("encryptionContext", ctx)
                w.field("keyId", keyID)
                w.field("keySpec", "AES_256")
            } else if seed {
                w.field("keyId", keyID)
                context("encryptionContext", ctx)
                w.field("keySpec", "AES_256")
            } else {
                w.field("keyId", keyID)
                context("encryptionContext", ctx)
                if numberOfBytes { w.field("numberOfBytes", 32) } else { w.field("keySpec", "AES_256") }
            }
            w.endObject()
        case let .generateDataKeyWithoutPlaintext(keyID, ctx):
            w.beginObject()
            w.field("keyId", keyID)
            context("encryptionContext", ctx)
            w.field("keySpec", "AES_256")
            w.endObject()
        case let .describeKey(keyID):
            w.beginObject()
            w.field("keyId", keyID)
            w.endObject()
        case let .createGrant(keyID, grantee, retiring, operations, constraint):
            w.beginObject()
            w.field("keyId", keyID)
            w.field("granteePrincipal", grantee)
            w.optionalField("retiringPrincipal", retiring)
            w.key("operations")
            w.beginArray()
            for op in operations { w.string(op) }
            w.endArray()
            if let constraint {
                w.key("constraints")
                w.beginObject()
                w.key("encryptionContextSubset")
                w.stringMap(constraint)
                w.endObject()
            }
            w.endObject()
        case let .reEncrypt(sourceKeyID, destinationKeyID, sourceContext, destinationContext):
            w.beginObject()
            w.optionalField("sourceKeyId", sourceKeyID)
            w.field("destinationKeyId", destinationKeyID)
            w.field("sourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
            w.field("destinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT")
            context("sourceEncryptionContext", sourceContext)
            context("destinationEncryptionContext", destinationContext)
            w.endObject()
        case let .scheduleKeyDeletion(keyID, days):
            w.beginObject()
            w.field("keyId", keyID)
            w.field("pendingWindowInDays", days)
            w.endObject()
        case .rotateKey, .deleteKey:
            w.null()
        }
        w.key("responseElements")
        switch request {
        case .createGrant where !failed:
            w.beginObject()
            w.field("grantId", grantID)
            w.field("keyId", key?.arn ?? "")
            w.endObject()
        case let .scheduleKeyDeletion(_, days) where !failed:
            w.beginObject()
            w.field("keyId", key?.arn ?? "")
            w.field("deletionDate", UTCTime.humanReadable((time / UTCTime.msPerDay + Int64(days) + 1) * UTCTime.msPerDay))
            w.field("keyState", "PendingDeletion")
            w.field("pendingWindowInDays", days)
            w.endObject()
        default:
            w.null()
        }
    }
}
