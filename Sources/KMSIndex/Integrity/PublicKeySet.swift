import Foundation
import KMSCrypto

/// CloudTrail's public keys, as `aws cloudtrail list-public-keys` prints them (saved once,
/// online, for use offline): `{"PublicKeyList": [{"Value", "Fingerprint",
/// "ValidityStartTime", "ValidityEndTime"}, …]}`. `Value` is the base64 DER of the key
/// (PKCS#1 `RSAPublicKey`, or a SubjectPublicKeyInfo); `Fingerprint` is the hex MD5 of
/// those DER bytes; the times are seconds since 1970 (CLI v1) or ISO-8601 text (CLI v2).
package struct PublicKeySet: Sendable {
    package struct Key: Sendable {
        package var fingerprint: String
        /// Validity in milliseconds since 1970; nil when the file gives none.
        package var validFrom: Int64?
        package var validUntil: Int64?
        package var file: String
        let publicKey: RSAPublicKey
    }

    /// Keys by lowercase fingerprint.
    package private(set) var keys: [String: Key] = [:]

    package init() {}

    /// Reads key files (one per region, or the same region's keys over several ranges).
    package init(paths: [String]) throws {
        for path in paths { try add(path) }
    }

    /// Adds the keys of one file; throws `IntegrityInputError` naming the file and the reason.
    package mutating func add(_ path: String) throws {
        func bad(_ reason: String) -> IntegrityInputError { IntegrityInputError(path: path, reason: reason) }
        let json: JSONValue
        do {
            json = try JSONFile.read(path).value
        } catch {
            throw bad("\(error)")
        }
        guard case .array(let entries)? = json["PublicKeyList"] ?? json["publicKeyList"] else {
            throw bad("no PublicKeyList array: not the output of aws cloudtrail list-public-keys")
        }
        for (n, entry) in entries.enumerated() {
            let name = "PublicKeyList[\(n)]"
            guard let value = entry["Value"]?.string, let der = Data(base64Encoded: value) else {
                throw bad("\(name).Value is not base64 text")
            }
            let publicKey: RSAPublicKey
            do {
                publicKey = try RSAPublicKey(der: der)
            } catch {
                throw bad("\(name).Value is not an RSA public key of 2048 bits or more (DER)")
            }
            let md5 = Hex.encode(MD5.hash(der))
            let fingerprint = entry["Fingerprint"]?.string?.lowercased() ?? md5
            guard fingerprint == md5 else {
                throw bad("\(name).Fingerprint \(fingerprint) is not the MD5 of its Value (\(md5))")
            }
            keys[fingerprint] = Key(
                fingerprint: fingerprint, validFrom: try Self.time(entry["ValidityStartTime"], "\(name).ValidityStartTime", bad),
                validUntil: try Self.time(entry["ValidityEndTime"], "\(name).ValidityEndTime", bad), file: path,
                publicKey: publicKey)
        }
    }

    /// A validity time: seconds since 1970 as a number or as text, or an ISO-8601 time.
    static func time(_ value: JSONValue?, _ name: String, _ bad: (String) -> IntegrityInputError) throws -> Int64? {
        guard let value, value != .null else { return nil }
        if let text = value.scalarText {
            if let seconds = Double(text), seconds.isFinite { return Int64((seconds * 1000).rounded()) }
            if let ms = EventTime.milliseconds(text) { return ms }
        }
        throw bad("\(name) is not a time: \(value.jsonText)")
    }
}
