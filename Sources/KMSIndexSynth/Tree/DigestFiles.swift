/// A delivered log file, as its hourly digest lists it.
struct DeliveredLogFile {
    /// Index of the background write job (its result carries the SHA-256).
    var id: Int
    var key: String
    var delivery: Int64
    var oldestEvent: Int64
    var newestEvent: Int64
}

/// CloudTrail's hourly digest files: one per hour for each account and region, listing the
/// log files delivered in that hour with the SHA-256 of their uncompressed content, chained
/// to the previous digest by its hash.
struct DigestWriter {
    let estate: Estate
    let layout: TreeLayout

    /// Writes the digests of one account and region; returns how many were written.
    func write(
        account: Int, region: String, files: [DeliveredLogFile], firstDay: Int64, output: TreeOutput,
        rng: inout SynthRandom
    ) throws -> Int {
        guard let lastDelivery = files.map(\.delivery).max() else { return 0 }
        let fingerprint = rng.hex(32)
        let offset = Int64(rng.int(in: 1...59)) * 1000
        var start = firstDay + offset
        var previous: (key: String, hash: String, signature: String)?
        var written = 0
        let sorted = files.sorted { $0.delivery < $1.delivery }
        var next = 0
        while start <= lastDelivery {
            let end = start + UTCTime.msPerHour
            var listed: [DeliveredLogFile] = []
            while next < sorted.count && sorted[next].delivery < end {
                listed.append(sorted[next])
                next += 1
            }
            let key = layout.digestKey(account: account, region: region, end: end)
            var w = JSONWriter(capacity: 1024 + 400 * listed.count)
            w.beginObject()
            w.field("awsAccountId", estate.accounts[account].id)
            w.key("digestStartTime")
            w.time(start)
            w.key("digestEndTime")
            w.time(end)
            w.field("digestS3Bucket", estate.logBucket)
            w.field("digestS3Object", key)
            w.field("digestPublicKeyFingerprint", fingerprint)
            w.field("digestSignatureAlgorithm", "SHA256withRSA")
            if listed.isEmpty {
                w.nullField("newestEventTime")
                w.nullField("oldestEventTime")
            } else {
                w.key("newestEventTime")
                w.time(listed.map(\.newestEvent).max()! / 1000 * 1000)
                w.key("oldestEventTime")
                w.time(listed.map(\.oldestEvent).min()! / 1000 * 1000)
            }
            if let previous {
                w.field("previousDigestS3Bucket", estate.logBucket)
                w.field("previousDigestS3Object", previous.key)
                w.field("previousDigestHashValue", previous.hash)
                w.field("previousDigestHashAlgorithm", "SHA-256")
                w.field("previousDigestSignature", previous.signature)
            } else {
                w.nullField("previousDigestS3Bucket")
                w.nullField("previousDigestS3Object")
                w.nullField("previousDigestHashValue")
                w.nullField("previousDigestHashAlgorithm")
                w.nullField("previousDigestSignature")
            }
            w.key("logFiles")
            w.beginArray()
            for file in listed {
                guard let result = output.result(for: file.id) else {
                    throw SynthError.io(path: file.key, reason: "log file was not written")
                }
                w.beginObject()
                w.field("s3Bucket", estate.logBucket)
                w.field("s3Object", file.key)
                w.field("hashValue", result.sha256)
                w.field("hashAlgorithm", "SHA-256")
                w.key("newestEventTime")
                w.time(file.newestEvent / 1000 * 1000)
                w.key("oldestEventTime")
                w.time(file.oldestEvent / 1000 * 1000)
                w.endObject()
            }
            w.endArray()
            w.endObject()
            try output.writeCompressed(w.bytes, to: key, mtime: end + Int64(rng.int(in: 30...600)) * 1000)
            previous = (key, SHA256.hexDigest(w.bytes), rng.hex(512))
            written += 1
            start = end
        }
        return written
    }
}
