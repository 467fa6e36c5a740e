import Foundation

/// Digests' own signatures, which CloudTrail stores as S3 object metadata
/// (`x-amz-meta-signature`) and `aws s3 sync` does not copy: one line per digest, its object
/// key (or `s3://bucket/key`) and the hex signature, separated by white space. Blank lines
/// and lines starting with `#` are skipped. Only the newest digest of each chain needs one:
/// the next digest carries the signature of the one before it.
package struct DigestSignatureFile: Sendable {
    /// Hex signatures by object key.
    package private(set) var signatures: [String: String] = [:]
    package let path: String

    /// Reads `path`; throws `IntegrityInputError` naming the file, the line and the reason.
    package init(path: String) throws {
        self.path = path
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw IntegrityInputError(path: path, reason: "cannot read as UTF-8 text: \(error.localizedDescription)")
        }
        // By any line break: "\r\n" is one Character to Swift, which a split on "\n" would not cut.
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 2, Hex.decode(String(fields[1])) != nil else {
                throw IntegrityInputError(path: path, reason: "line \(n + 1): expected a digest's key and its hex signature")
            }
            signatures[Self.objectKey(String(fields[0]))] = String(fields[1])
        }
    }

    /// The object key of `s3://bucket/key`, or the text as it is.
    static func objectKey(_ text: String) -> String {
        guard text.hasPrefix("s3://") else { return text }
        let rest = text.dropFirst(5)
        return rest.firstIndex(of: "/").map { String(rest[rest.index(after: $0)...]) } ?? ""
    }
}
