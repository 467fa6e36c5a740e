import Crypto
import _CryptoExtras
import Foundation

/// Signs digest files as CloudTrail does, with the test key (`TestSigningKey`): RSA PKCS#1
/// v1.5 with SHA-256 over `digestEndTime`, `digestS3Bucket/digestS3Object`, the hex SHA-256 of
/// the uncompressed digest and the previous digest's signature ("null" in a starting digest),
/// joined by newlines; the signature in hex.
struct DigestSigner {
    let privateKey: _RSA.Signing.PrivateKey
    /// Hex MD5 of the public key's DER (PKCS#1), as `list-public-keys` gives it.
    let fingerprint: String
    let publicKeyDER: Data

    init() throws {
        do {
            privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: TestSigningKey.pem)
        } catch {
            throw SynthError.invalidOptions("the test signing key cannot be read: \(error)")
        }
        publicKeyDER = privateKey.publicKey.pkcs1DERRepresentation
        fingerprint = SHA256.hex(Array(Insecure.MD5.hash(data: publicKeyDER)))
    }

    /// The hex signature of a digest.
    func signature(endTime: Int64, bucket: String, key: String, contentSHA256: String, previous: String?) throws -> String {
        let text = UTCTime.iso8601(endTime) + "\n" + bucket + "/" + key + "\n" + contentSHA256 + "\n" + (previous ?? "null")
        do {
            let signature = try privateKey.signature(for: Data(text.utf8), padding: .insecurePKCS1v1_5)
            return SHA256.hex(Array(signature.rawRepresentation))
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
