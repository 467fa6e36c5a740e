import KMSCrypto

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
    /// Signs the digests with the test key; without it, signatures are random hex.
    var signer: DigestSigner? = nil

    /// Where one account and region's chain of digests stands: the next hour to write, the
    /// previous digest, and the delivered files not listed yet (in delivery order).
    struct Chain {
        var fingerprint: String
        var start: Int64
        var previous: (key: String, hash: String, signature: String)?
        var files: [DeliveredLogFile] = []
        var lastDelivery: Int64?
        var written = 0
        /// The first and the newest digest written (object keys).
        var oldest: String?
        var newest: String?
        /// Signed trees: each digest's own signature (`KEY SIGNATURE` lines), what S3 keeps as
        /// its `x-amz-meta-signature`.
        var signatureLines: [String] = []

        init(firstDay: Int64, rng: inout SynthRandom) {
            fingerprint = rng.hex(32)
            start = firstDay + Int64(rng.int(in: 1...59)) * 1000
        }

        mutating func add(_ file: DeliveredLogFile) {
            files.append(file)
            lastDelivery = max(lastDelivery ?? file.delivery, file.delivery)
        }
    }

    /// Writes the digests of one account and region; returns their chain.
    func write(
        account: Int, region: String, files: [DeliveredLogFile], firstDay: Int64, output: TreeOutput,
        rng: inout SynthRandom
    ) throws -> Chain {
        var chain = Chain(firstDay: firstDay, rng: &rng)
        guard let lastDelivery = files.map(\.delivery).max() else { return chain }
        chain.files = files.sorted { $0.delivery < $1.delivery }
        try writeHours(of: &chain, account: account, region: region, output: output, forget: false, rng: &rng) { start, _ in
            start <= lastDelivery
        }
        return chain
    }

    /// Writes the hours of a chain that are complete: every file delivered before `safe` is
    /// in the chain already. With `safe` nil, the rest of the chain (up to its last delivery).
    /// The results of listed files are forgotten by `output`.
    func writeCompleteHours(
        of chain: inout Chain, account: Int, region: String, safe: Int64?, output: TreeOutput, rng: inout SynthRandom
    ) throws {
        chain.files.sort { $0.delivery < $1.delivery }
        if let safe {
            try writeHours(of: &chain, account: account, region: region, output: output, forget: true, rng: &rng) { _, end in
                end <= safe
            }
        } else if let last = chain.lastDelivery {
            try writeHours(of: &chain, account: account, region: region, output: output, forget: true, rng: &rng) { start, _ in
                start <= last
            }
        }
    }

    private func writeHours(
        of chain: inout Chain, account: Int, region: String, output: TreeOutput, forget: Bool, rng: inout SynthRandom,
        while more: (_ start: Int64, _ end: Int64) -> Bool
    ) throws {
        var next = 0
        while more(chain.start, chain.start + UTCTime.msPerHour) {
            let start = chain.start
            let end = start + UTCTime.msPerHour
            var listed: [DeliveredLogFile] = []
            while next < chain.files.count && chain.files[next].delivery < end {
                listed.append(chain.files[next])
                next += 1
            }
            let fingerprint = signer?.fingerprint ?? chain.fingerprint
            let previous = chain.previous
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
                guard let result = (forget ? output.takeResult(for: file.id) : output.result(for: file.id)) else {
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
            let hash = SHA256.hexDigest(w.bytes)
            // Drawn either way, so that a signed tree differs from an unsigned one only in its
            // signatures and fingerprints.
            var signature = rng.hex(512)
            if let signer {
                signature = try signer.signature(
                    endTime: end, bucket: estate.logBucket, key: key, contentSHA256: hash, previous: previous?.signature)
                chain.signatureLines.append(key + " " + signature)
            }
            chain.previous = (key, hash, signature)
            chain.oldest = chain.oldest ?? key
            chain.newest = key
            chain.written += 1
            chain.start = end
        }
        chain.files.removeFirst(next)
    }
}
