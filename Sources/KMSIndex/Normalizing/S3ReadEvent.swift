/// A read of an S3 object's content, from an S3 data event: `GetObject`,
/// `SelectObjectContent`, or the source of `CopyObject` / `UploadPartCopy`.
package struct S3ReadEvent: Sendable, Equatable {
    package var eventID: String
    /// The id CloudTrail gives the records of one call delivered to two accounts (the caller's,
    /// the bucket owner's).
    package var sharedEventID: String?
    package var eventTimeMs: Int64
    package var eventName: String
    package var awsRegion: String?
    package var recipientAccountID: String?
    package var principal = Principal()
    package var sourceIPAddress: String?
    package var userAgent: String?
    package var errorCode: String?
    package var errorMessage: String?
    /// The bucket and key read (for a copy, the source's).
    package var bucket: String
    package var key: String
    /// `additionalEventData.bytesTransferredOut`.
    package var bytes: Int64?
    /// The eventID of the record this one corrects (an `UPDATED_DATA` addendum's
    /// `originalEventID`): that read is superseded, as an updated KMS event is (`Addenda`).
    package var supersedes: String?

    /// The object's ARN, in the partition of the record's region.
    package var objectARN: String { "arn:\(partition):s3:::\(bucket)/\(key)" }

    var partition: String {
        guard let region = awsRegion else { return "aws" }
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        return "aws"
    }
}

/// Turns an S3 record into an `S3ReadEvent`, or says why it is none.
package enum S3ReadNormalizer {
    /// Operations that read an object's content. `HeadObject` reads metadata only.
    package static let readOperations: Set<String> = ["GetObject", "SelectObjectContent", "CopyObject", "UploadPartCopy"]

    /// The read `record` records; nil when it is not a data event that reads an object (a
    /// management event, `HeadObject`, `PutObject`…). Throws for a read without the fields
    /// a read needs.
    package static func normalize(_ record: JSONValue) throws -> S3ReadEvent? {
        guard case .object = record, record["eventSource"]?.string == "s3.amazonaws.com" else { return nil }
        guard let name = record["eventName"]?.string, readOperations.contains(name) else { return nil }
        // Data events: eventCategory Data; older records say managementEvent false.
        if let category = record["eventCategory"]?.string {
            guard category == "Data" else { return nil }
        } else if record["managementEvent"] != .bool(false) {
            return nil
        }
        guard let eventID = record["eventID"]?.string, !eventID.isEmpty else {
            throw RecordError.s3NoEventID
        }
        guard let time = record["eventTime"]?.string, let ms = EventTime.milliseconds(time) else {
            throw RecordError.s3NoEventTime(eventID: eventID)
        }
        let parameters = record["requestParameters"]
        var bucket = parameters?["bucketName"]?.string
        var key = parameters?["key"]?.string
        if name == "CopyObject" || name == "UploadPartCopy" {
            // The source is read: `x-amz-copy-source` is `bucket/key`, maybe URL-encoded,
            // maybe with a leading slash and `?versionId=`.
            guard let source = parameters?["x-amz-copy-source"]?.string, let parsed = copySource(source) else {
                throw RecordError.s3NoCopySource(eventID: eventID, eventName: name)
            }
            (bucket, key) = parsed
        }
        if bucket == nil || key == nil, let arn = objectResource(record["resources"]) {
            let location = S3Location(arn: arn)
            bucket = bucket ?? location.bucket
            key = key ?? location.key
        }
        guard let bucket, !bucket.isEmpty, let key, !key.isEmpty else {
            throw RecordError.s3NoObject(eventID: eventID, eventName: name)
        }
        var event = S3ReadEvent(eventID: eventID, eventTimeMs: ms, eventName: name, bucket: bucket, key: key)
        event.awsRegion = record["awsRegion"]?.string
        event.recipientAccountID = record["recipientAccountId"]?.scalarText
        event.sourceIPAddress = record["sourceIPAddress"]?.string
        event.userAgent = record["userAgent"]?.string
        event.errorCode = record["errorCode"]?.string
        event.errorMessage = record["errorMessage"]?.string
        if let out = record["additionalEventData"]?["bytesTransferredOut"]?.scalarText {
            // Written as an integer or as a float (`2048.0`), as real records do.
            event.bytes = Int64(out) ?? Double(out).flatMap { Int64(exactly: $0) }
        }
        let fields = KMSRecordFields(record)
        EventNormalizer.fillPrincipal(&event.principal, fields.identity, credentialFromConsole: fields.credentialFromConsole)
        event.sharedEventID = fields.sharedEventID.flatMap { $0.isEmpty ? nil : $0.text }
        if record["addendum"]?["reason"]?.string == Addenda.updatedData, let original = record["addendum"]?["originalEventID"]?.string,
            !original.isEmpty, original != eventID
        {
            event.supersedes = original
        }
        return event
    }

    /// `bucket/key` of an `x-amz-copy-source`, percent-decoded.
    /// nil for a source named through an access point (`arn:aws:s3:REGION:ACCOUNT:accesspoint/
    /// NAME/object/KEY`), which does not name its bucket: the read is reported as malformed
    /// rather than filed under a bucket that does not exist.
    static func copySource(_ text: String) -> (String, String)? {
        var source = text
        if let query = source.firstIndex(of: "?") { source = String(source[..<query]) }
        source = source.removingPercentEncodingIfValid
        if source.hasPrefix("/") { source.removeFirst() }
        if source.hasPrefix("arn:") { return nil }
        guard let slash = source.firstIndex(of: "/") else { return nil }
        let bucket = String(source[..<slash]), key = String(source[source.index(after: slash)...])
        return bucket.isEmpty || key.isEmpty ? nil : (bucket, key)
    }

    /// The first `AWS::S3::Object` ARN of `resources`.
    static func objectResource(_ resources: JSONValue?) -> String? {
        guard case let .array(entries)? = resources else { return nil }
        for entry in entries where entry["type"]?.string == "AWS::S3::Object" {
            if let arn = entry["ARN"]?.string ?? entry["arn"]?.string { return arn }
        }
        return nil
    }
}

extension String {
    /// Percent-decoded, or the text as it is when it holds an invalid escape.
    var removingPercentEncodingIfValid: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var it = Array(utf8)[...]
        while let b = it.popFirst() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return self }
            bytes.append(v)
            it = it.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
