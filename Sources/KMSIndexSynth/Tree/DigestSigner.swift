import Foundation
import KMSCrypto

/// Signs digest files as CloudTrail does, with the test key (`TestSigningKey`): RSA PKCS#1
/// v1.5 with SHA-256 over `digestEndTime`, `digestS3Bucket/digestS3Object`, the hex SHA-256 of
/// the uncompressed digest and the previous digest's signature ("null" in a starting digest),
/// joined by newlines; the signature in hex.
struct DigestSigner {
    let privateKey: RSAPrivateKey
    /// Hex MD5 of the public key's DER (PKCS#1), as `list-public-keys` gives it.
    let fingerprint: String
    let publicKeyDER: Data

    init() throws {
        do {
            privateKey = try RSAPrivateKey(pem: TestSigningKey.pem)
        } catch {
            throw SynthError.invalidOptions("the test signing key cannot be read: \(error)")
        }
        publicKeyDER = Data(privateKey.publicKeyPKCS1DER)
        fingerprint = SHA256.hex(MD5.hash(publicKeyDER))
    }

    /// The hex signature of a digest.
    func signature(endTime: Int64, bucket: String, key: String, contentSHA256: String, previous: String?) throws -> String {
        let text = UTCTime.iso8601(endTime) + "\n" + bucket + "/" + key + "\n" + contentSHA256 + "\n" + (previous ?? "null")
        do {
            return SHA256.hex(try privateKey.signature(for: Array(text.utf8)))
        } catch {
            throw SynthError.io(path: key, reason: "cannot sign: \(error)")
        }
    }

    /// The key as `aws cloudtrail list-public-keys` prints it (CLI v1: times in seconds).
    func publicKeysJSON(validFrom: Int64, validUntil: Int64) -> Data {
        let text = """
            {
                "PublicKeyList": [
                    {
                        "ValidityStartTime": \(validFrom / 1000).0,
                        "ValidityEndTime": \(validUntil / 1000).0,
                        "Value": "\(publicKeyDER.base64EncodedString())",
                        "Fingerprint": "\(fingerprint)"
                    }
                ]
            }

            """
        return Data(text.utf8)
    }
}
