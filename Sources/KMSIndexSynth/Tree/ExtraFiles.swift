/// The files of a CloudTrail bucket that are not log files: Insights files and stray files
/// (ConfigWritabilityCheckFile, a note somebody dropped).
struct ExtraFiles {
    let estate: Estate
    let layout: TreeLayout

    /// Writes a Start and an End Insights file for the first account's home region, about a
    /// burst of KMS Decrypt calls. Returns how many files were written.
    func writeInsights(firstDay: Int64, days: Int, output: TreeOutput, rng: inout SynthRandom) throws -> Int {
        let account = estate.accounts[0]
        let region = estate.homeRegion
        let burstStart = firstDay + Int64(days > 1 ? 34 : 10) * UTCTime.msPerHour
        let shared = rng.uuid()
        let who = "arn:aws:sts::\(account.id):assumed-role/\(account.role(.analyst).name)/\(account.role(.analyst).sessions[0].name)"
        for (index, state) in ["Start", "End"].enumerated() {
            let eventTime = burstStart + Int64(index) * UTCTime.msPerHour
            var w = JSONWriter(capacity: 2048)
            w.beginObject()
            w.key("Records")
            w.beginArray()
            w.beginObject()
            w.field("eventVersion", "1.07")
            w.key("eventTime")
            w.time(eventTime)
            w.field("awsRegion", region)
            w.field("eventID", rng.uuid())
            w.field("eventType", "AwsCloudTrailInsight")
            w.field("recipientAccountId", account.id)
            w.field("sharedEventID", shared)
            w.key("insightDetails")
            w.beginObject()
            w.field("state", state)
            w.field("eventSource", "kms.amazonaws.com")
            w.field("eventName", "Decrypt")
            w.field("insightType", "ApiCallRateInsight")
            w.key("insightContext")
            w.beginObject()
            w.key("statistics")
            w.beginObject()
            w.key("baseline")
            w.beginObject()
            w.key("average")
            w.double(0.0416)
            w.endObject()
            w.key("insight")
            w.beginObject()
            w.key("average")
            w.double(31.5)
            w.endObject()
            if state == "End" {
                w.field("insightDuration", 60)
                w.field("baselineDuration", 10080)
            } else {
                w.field("insightDuration", 1)
            }
            w.endObject()
            w.key("attributions")
            w.beginArray()
            w.beginObject()
            w.field("attribute", "userIdentityArn")
            w.key("insight")
            w.beginArray()
            w.beginObject()
            w.field("value", who)
            w.key("average")
            w.double(31.5)
            w.endObject()
            w.endArray()
            w.key("baseline")
            w.beginArray()
            w.beginObject()
            w.field("value", who)
            w.key("average")
            w.double(0.0416)
            w.endObject()
            w.endArray()
            w.endObject()
            w.endArray()
            w.endObject()
            w.endObject()
            w.field("eventCategory", "Insight")
            w.endObject()
            w.endArray()
            w.endObject()
            let delivery = eventTime + Int64(rng.int(in: 5...25)) * UTCTime.msPerMinute
            let key = layout.insightKey(account: 0, region: region, delivery: delivery, unique: rng.alphanumeric(16))
            try output.writeCompressed(w.bytes, to: key, mtime: delivery)
        }
        return 2
    }

    /// Writes files that are in CloudTrail buckets but are neither logs, digests nor
    /// Insights. Returns how many were written.
    func writeStrayFiles(firstDay: Int64, output: TreeOutput) throws -> Int {
        let prefix = estate.logPrefix(account: 0)
        try output.write([], to: prefix + "CloudTrail/ConfigWritabilityCheckFile", mtime: firstDay)
        let note = Array("Do not delete: evidence for ticket SEC-1234 (see 監査メモ).\n".utf8)
        try output.write(
            note, to: prefix + "CloudTrail/\(estate.homeRegion)/\(UTCTime.datePath(firstDay))/README.txt",
            mtime: firstDay + UTCTime.msPerHour)
        return 2
    }
}
