import COpenSSL
import Foundation

/// What libcrypto refused, and its own reason.
public struct CryptoError: Error, CustomStringConvertible {
    /// What was being done (`"reading the key"`).
    public var operation: String
    /// OpenSSL's text for its first queued error, if any.
    public var reason: String

    init(_ operation: String) {
        self.operation = operation
        reason = Self.lastOpenSSLError()
    }

    public var description: String { reason.isEmpty ? operation : "\(operation): \(reason)" }

    /// The oldest error queued on this thread, as text, and the queue cleared.
    static func lastOpenSSLError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An RSA public key that checks PKCS#1 v1.5 signatures over SHA-256 digests, as CloudTrail
/// signs its digest files.
public final class RSAPublicKey: @unchecked Sendable {
    // Sendable: the key is never changed after it is read, and verifying only reads it.
    private let key: OpaquePointer

    /// The smallest modulus accepted, in bits.
    public static let minimumBits: Int32 = 2048

    /// Reads a DER key: a SubjectPublicKeyInfo, or PKCS#1's `RSAPublicKey` (which
    /// `aws cloudtrail list-public-keys` gives). Throws for anything else, for a key that is
    /// not RSA, and for a modulus under `minimumBits`.
    public init<C: ContiguousBytes>(der: C) throws {
        let parsed: OpaquePointer? = der.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let base = bytes.baseAddress else { return nil }
            var cursor: UnsafePointer<UInt8>? = base
            if let key = d2i_PUBKEY(nil, &cursor, bytes.count), cursor == base + bytes.count { return key }
            ERR_clear_error()
            cursor = base
            if let key = d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, bytes.count), cursor == base + bytes.count { return key }
            return nil
        }
        guard let parsed else { throw CryptoError("not a DER public key") }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA, EVP_PKEY_get_bits(parsed) >= Self.minimumBits else {
            EVP_PKEY_free(parsed)
            throw CryptoError("not an RSA public key of \(Self.minimumBits) bits or more")
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    /// True when `signature` is this key's PKCS#1 v1.5 signature of the SHA-256 `digest`.
    public func isValidSignature(_ signature: [UInt8], sha256Digest digest: [UInt8]) -> Bool {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { return false }
        defer {
            EVP_PKEY_CTX_free(context)
            ERR_clear_error()
        }
        guard EVP_PKEY_verify_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
            EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) == 1
        else { return false }
        return EVP_PKEY_verify(context, signature, signature.count, digest, digest.count) == 1
    }
}

/// An RSA private key that makes PKCS#1 v1.5 signatures with SHA-256, as CloudTrail signs its
/// digest files: the generator signs with a test key.
public final class RSAPrivateKey: @unchecked Sendable {
    // Sendable: the key is never changed after it is read; signing only reads it.
    private let key: OpaquePointer

    /// Reads a PEM private key (PKCS#1 or PKCS#8, unencrypted).
    public init(pem: String) throws {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let memory = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(memory) }
            return PEM_read_bio_PrivateKey(memory, nil, nil, nil)
        }
        guard let parsed else { throw CryptoError("not a PEM private key") }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else {
            EVP_PKEY_free(parsed)
            throw CryptoError("not an RSA private key")
        }
        key = parsed
    }

    deinit { EVP_PKEY_free(key) }

    /// The public half as PKCS#1 `RSAPublicKey` DER, as `list-public-keys` gives it.
    public var publicKeyPKCS1DER: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let count = i2d_PublicKey(key, &out)
        guard count > 0, let out else {
            fatalError("libcrypto: cannot write a public key (\(CryptoError.lastOpenSSLError()))")
        }
        defer { CRYPTO_free(out, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(count)))
    }

    /// The PKCS#1 v1.5 signature of the SHA-256 of `message`.
    public func signature<C: ContiguousBytes>(for message: C) throws -> [UInt8] {
        let digest = SHA256.hash(message)
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError("signing") }
        defer { EVP_PKEY_CTX_free(context) }
        var count = 0
        guard EVP_PKEY_sign_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
            EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) == 1,
            EVP_PKEY_sign(context, nil, &count, digest, digest.count) == 1
        else { throw CryptoError("signing") }
        var signature = [UInt8](repeating: 0, count: count)
        guard EVP_PKEY_sign(context, &signature, &count, digest, digest.count) == 1 else { throw CryptoError("signing") }
        return Array(signature.prefix(count))
    }
}
