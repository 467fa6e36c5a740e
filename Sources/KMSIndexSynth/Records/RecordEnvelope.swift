/// One entry of a record's `resources` array.
struct Resource {
    var accountID: String?
    var type: String?
    var arn: String

    /// `{"accountId":..,"type":"AWS::KMS::Key","ARN":..}`.
    static func kmsKey(_ key: KMSKey) -> Resource {
        Resource(accountID: key.accountID, type: "AWS::KMS::Key", arn: key.arn)
    }
}

/// The fields every CloudTrail record shares, written in CloudTrail's order around the
/// service-specific middle (`requestParameters`, `responseElements`, `additionalEventData`).
struct RecordEnvelope {
    var eventVersion: StaticString = "1.08"
    /// nil: the record has no `userIdentity` at all.
    var identity: Identity?
    /// Field order of the 2015 examples (sessionContext attributes first, resources as
    /// `{"ARN","accountId"}`, no managementEvent/eventCategory).
    var seedOrder = false
    var time: Int64
    var fractionalTime = false
    var eventSource: StaticString
    var eventName: String
    var region: String
    var sourceIP: String
    var userAgent: String
    var errorCode: String?
    var errorMessage: String?
    var requestID: String
    var eventID: String
    var readOnly: Bool?
    /// nil: no `resources` field (management events before late 2022).
    var resources: [Resource]?
    var eventType: StaticString = "AwsApiCall"
    var managementEvent = true
    var recipientAccountID: String
    var sharedEventID: String?
    var vpcEndpointID: String?
    var serviceEventDetails: [(String, String)]?
    var eventCategory: StaticString = "Management"
    /// The endpoint a client reached: writes `tlsDetails`.
    var tlsHost: String?

    /// Writes `{` and every field up to and including `userAgent`/`errorMessage`.
    func writeHead(to w: inout JSONWriter) {
        w.beginObject()
        w.field("eventVersion", eventVersion)
        if let identity {
            w.key("userIdentity")
            identity.write(to: &w, seedOrder: seedOrder)
        }
        w.key("eventTime")
        w.time(time, fractional: fractionalTime)
        w.field("eventSource", eventSource)
        w.field("eventName", eventName)
        w.field("awsRegion", region)
        w.field("sourceIPAddress", sourceIP)
        w.field("userAgent", userAgent)
        w.optionalField("errorCode", errorCode)
        w.optionalField("errorMessage", errorMessage)
    }

    /// Writes every field from `requestID` on, and the closing `}`.
    func writeTail(to w: inout JSONWriter) {
        w.field("requestID", requestID)
        w.field("eventID", eventID)
        if let readOnly { w.field("readOnly", readOnly) }
        if let resources {
            w.key("resources")
            w.beginArray()
            for r in resources {
                w.beginObject()
                if seedOrder {
                    w.field("ARN", r.arn)
                    w.optionalField("accountId", r.accountID)
                } else {
                    w.optionalField("accountId", r.accountID)
                    w.optionalField("type", r.type)
                    w.field("ARN", r.arn)
                }
                w.endObject()
            }
            w.endArray()
        }
        w.field("eventType", eventType)
        if !seedOrder { w.field("managementEvent", managementEvent) }
        w.field("recipientAccountId", recipientAccountID)
        w.optionalField("sharedEventID", sharedEventID)
        w.optionalField("vpcEndpointId", vpcEndpointID)
        if let serviceEventDetails {
            w.key("serviceEventDetails")
            w.stringMap(serviceEventDetails)
        }
        if !seedOrder { w.field("eventCategory", eventCategory) }
        if let tlsHost {
            w.key("tlsDetails")
            w.beginObject()
            w.field("tlsVersion", "TLSv1.3")
            w.field("cipherSuite", "TLS_AES_128_GCM_SHA256")
            w.field("clientProvidedHostHeader", tlsHost)
            w.endObject()
        }
        if identity?.fromConsole == true { w.field("sessionCredentialFromConsole", "true") }
        w.endObject()
    }
}
