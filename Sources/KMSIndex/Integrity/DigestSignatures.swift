import KMSCrypto

/// Verifies each digest's RSA signature (PKCS#1 v1.5 with SHA-256) over CloudTrail's signing
/// string, with the public keys of `aws cloudtrail list-public-keys`.
///
/// A digest's signature comes from the next digest (`previousDigestSignature`), or from a
/// signature file for the newest of a chain, whose signature is only in S3 metadata.
struct DigestSignatures {
    let keys: PublicKeySet
    let signatureFile: DigestSignatureFile?

    /// Keys come into service a little before the digests they sign are due: the signature is
    /// made when the digest is written, after its end time.
    static let startSlackMs: Int64 = 3_600_000

    /// Findings for the digests at `indices`, and how many signatures were verified.
    /// `newest` are the newest digests of their chains: the others a later digest should vouch
    /// for (it is missing or unreadable when it does not).
    func check(_ digests: [DigestRecord], indices: [Int], vouched: [Int: String], newest: Set<Int> = [])
        -> (findings: [AuditFinding], verified: Int)
    {
        // A chain that ended well before the newest digest here gets no next digest: its last
        // signature is only in S3 metadata.
        let latestEnd = indices.map { digests[$0].endMs }.max() ?? 0
        var findings: [AuditFinding] = []
        var verified = 0
        for i in indices {
            let digest = digests[i]
            func finding(_ kind: AuditFinding.Kind, _ detail: String) {
                findings.append(AuditFinding(kind: kind, subject: digest.uri, detail: detail))
            }
            guard let signature = vouched[i] ?? signatureFile?.signatures[digest.object] else {
                let metadata = "CloudTrail keeps it as S3 object metadata, x-amz-meta-signature, which aws s3 sync does not copy"
                if !newest.contains(i) {
                    finding(
                        .unsignedDigest,
                        "no later digest carries its signature: the one after it in its chain is missing or unreadable (see "
                            + "the chain's findings), so it cannot be verified from the tree (\(metadata)); give it with --signatures")
                } else if latestEnd - digest.endMs > 2 * Self.startSlackMs {
                    finding(
                        .unsignedDigest,
                        "no later digest carries its signature: the last of a chain that ended hours before the newest digest "
                            + "here (a trail stopped or deleted, or a digest CloudTrail did not write), so none will (\(metadata)); "
                            + "verify it with --signatures")
                } else {
                    finding(
                        .unsignedDigest,
                        "no later digest carries its signature (the newest of a chain: \(metadata)); it is checked once the next "
                            + "digest arrives, or with --signatures")
                }
                continue
            }
            let source = vouched[i] != nil ? "the next digest's previousDigestSignature" : "the signature in \(signatureFile?.path ?? "")"
            guard digest.algorithm == "SHA256withRSA" else {
                finding(.signatureInvalid, "digestSignatureAlgorithm is \(digest.algorithm), not SHA256withRSA")
                continue
            }
            guard let key = keys.keys[digest.fingerprint] else {
                finding(.unknownKey, "signed with key \(digest.fingerprint), which is not in the public key files")
                continue
            }
            if let from = key.validFrom, digest.endMs < from - Self.startSlackMs {
                finding(
                    .keyNotValidThen,
                    "key \(key.fingerprint) is valid from \(StoredTime.text(from)); the digest ends at \(StoredTime.text(digest.endMs))")
            } else if let until = key.validUntil, digest.endMs > until {
                finding(
                    .keyNotValidThen,
                    "key \(key.fingerprint) is valid until \(StoredTime.text(until)); the digest ends at \(StoredTime.text(digest.endMs))")
            }
            guard let bytes = Hex.decode(signature) else {
                finding(.signatureInvalid, "\(source) is not hex")
                continue
            }
            let valid = key.publicKey.isValidSignature(bytes, sha256Digest: digest.signedHash)
            if valid {
                verified += 1
            } else {
                finding(
                    .signatureInvalid,
                    "\(source) does not match its end time, location, content and previous signature: changed after CloudTrail signed it, or not signed by CloudTrail"
                )
            }
        }
        return (findings, verified)
    }
}
