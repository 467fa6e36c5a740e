/// CloudTrail's chain of digests, checked without keys: each digest names the one before it
/// (per trail, account and region) and records the SHA-256 of its content. Whoever rewrites
/// a log file and the digest listing it must also rewrite every later digest, up to the
/// newest; the signatures (`DigestSignatures`) are what stops that.
struct DigestChain {
    /// Chain findings.
    var findings: [AuditFinding] = []
    /// For each digest (by index) that a later digest names, that digest's
    /// `previousDigestSignature`: its own signature, as CloudTrail vouched for it.
    var vouchedSignatures: [Int: String] = [:]
    /// The digests kept in the chain (in place on disk), by index.
    var checked: [Int] = []
    /// The newest digest of each chain (backfills aside), by index.
    var newest: Set<Int> = []

    /// Checks `digests`: O(N log N), a sort by time within each chain. `unreadable` are the
    /// names of digest files in the tree that could not be read: a link to one is not to a
    /// digest removed.
    init(_ digests: [DigestRecord], unreadable: Set<String> = []) {
        var byLocation: [String: Int] = [:]
        var series: [String: [Int]] = [:]
        for (i, digest) in digests.enumerated() {
            guard digest.isInPlace else {
                broken(digest.path, "holds the digest CloudTrail wrote at \(digest.uri): moved, or a copy")
                continue
            }
            guard byLocation[digest.location] == nil else {
                broken(digest.path, "a second file with the digest of \(digest.uri)")
                continue
            }
            byLocation[digest.location] = i
            series[digest.bucket + " " + Audit.series(digest.object), default: []].append(i)
            checked.append(i)
        }

        // Each named previous digest: its content must be what the later digest recorded.
        var namedBy: [Int: Int] = [:]
        for i in checked {
            guard let link = digests[i].previous, let p = byLocation[link.bucket + "/" + link.object] else { continue }
            if let other = namedBy[p] {
                broken(
                    digests[i].uri,
                    "names \(digests[p].uri) as the digest before it, as \(digests[other].uri) does: one of them was not written by CloudTrail"
                )
                continue
            }
            namedBy[p] = i
            if digests[p].contentSHA256 != link.hash {
                broken(
                    digests[p].uri,
                    "its SHA-256 is \(digests[p].contentSHA256), but \(digests[i].uri), written after it, recorded \(link.hash): changed after the next digest was written"
                )
            }
            if let signature = digests[i].previousSignature { vouchedSignatures[p] = signature }
        }

        // In time order, each digest names the one just before it, or starts a new chain.
        for (_, members) in series.sorted(by: { $0.key < $1.key }) {
            let ordered = members.sorted { a, b in
                digests[a].endMs != digests[b].endMs ? digests[a].endMs < digests[b].endMs : digests[a].object < digests[b].object
            }.filter { !digests[$0].isBackfill }
            if let last = ordered.last { newest.insert(last) }
            // A digest followed by a starting digest ended its chain (logging stopped, then
            // started again): the newest of that chain.
            for (i, next) in zip(ordered, ordered.dropFirst()) where digests[next].previous == nil { newest.insert(i) }
            for (n, i) in ordered.enumerated() {
                guard let link = digests[i].previous else { continue }
                let named = byLocation[link.bucket + "/" + link.object]
                let before = n > 0 ? ordered[n - 1] : nil
                // Where late digests sit in a chain is not documented: a link to one is checked
                // by its hash alone.
                if let named, named == before || digests[named].isBackfill { continue }
                let namedURI = "s3://\(link.bucket)/\(link.object)"
                switch (named, before) {
                case (nil, nil):
                    findings.append(
                        AuditFinding(
                            kind: .chainStart, subject: digests[i].uri,
                            detail:
                                "the oldest digest here names \(namedURI), which is not in the tree (expired, not synced, or removed): the chain is checked from here on"
                        ))
                case (nil, let before?):
                    let gone =
                        unreadable.contains(String(link.object.split(separator: "/").last ?? ""))
                        ? "which is in the tree but could not be read (unreadable-digest)" : "which is not in the tree: removed"
                    broken(
                        digests[i].uri,
                        "names \(namedURI) as the digest before it, \(gone) (the digest before it here is \(digests[before].uri))")
                case (let named?, nil):
                    broken(digests[i].uri, "names \(digests[named].uri) as the digest before it, which is not older in its chain")
                case (let named?, let before?):
                    broken(
                        digests[i].uri,
                        "names \(digests[named].uri) as the digest before it, but \(digests[before].uri) comes between: added or replaced")
                }
            }
        }
    }

    private mutating func broken(_ subject: String, _ detail: String) {
        findings.append(AuditFinding(kind: .digestChainBroken, subject: subject, detail: detail))
    }
}
