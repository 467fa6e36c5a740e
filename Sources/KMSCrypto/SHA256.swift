import COpenSSL
import Foundation

/// SHA-256 (FIPS 180-4), streaming, by libcrypto (OpenSSL's EVP interface): the content
/// hashes of ingest and of digest files, the signing string of a digest, the generator's
/// digests.
///
/// A value, as a hash state is: a copy goes on from where the original was, independently
/// (copied on write). Feed bytes with `update`; `finalize` returns the digest of what was fed
/// so far and leaves the state as it was.
public struct SHA256: Sendable {
    private var state: DigestState

    /// A hasher with nothing fed yet.
    public init() {
        state = DigestState(EVP_sha256())
    }

    /// Feeds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if !isKnownUniquelyReferenced(&state) { state = state.copy() }
        state.update(bytes)
    }

    /// Feeds bytes.
    public mutating func update<C: ContiguousBytes>(_ bytes: C) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest of everything fed so far.
    public func finalize() -> [UInt8] {
        state.copy().finish()
    }

    /// The digest of `bytes`.
    public static func hash<C: ContiguousBytes>(_ bytes: C) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hexDigest<C: ContiguousBytes>(_ bytes: C) -> String {
        hex(hash(bytes))
    }

    /// Lowercase hex of a byte array.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// MD5, for the one place a format names it: the fingerprint of a CloudTrail public key.
public enum MD5 {
    /// The 16-byte digest of `bytes`.
    public static func hash<C: ContiguousBytes>(_ bytes: C) -> [UInt8] {
        let state = DigestState(EVP_md5())
        bytes.withUnsafeBytes { state.update($0) }
        return state.finish()
    }
}

/// An EVP digest context, owned: freed with this object.
final class DigestState: @unchecked Sendable {
    // Sendable: a context is only changed through a uniquely referenced owner (`SHA256`
    // copies it before writing), or before it is shared.
    private let context: OpaquePointer

    init(_ algorithm: OpaquePointer?) {
        // Allocation failure is the only way these fail, with a known algorithm.
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, algorithm, nil) == 1 else {
            fatalError("libcrypto: cannot set up a digest (\(CryptoError.lastOpenSSLError()))")
        }
        self.context = context
    }

    private init(copying other: DigestState) {
        guard let context = EVP_MD_CTX_new(), EVP_MD_CTX_copy_ex(context, other.context) == 1 else {
            fatalError("libcrypto: cannot copy a digest (\(CryptoError.lastOpenSSLError()))")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    func copy() -> DigestState { DigestState(copying: self) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard EVP_DigestUpdate(context, base, bytes.count) == 1 else {
            fatalError("libcrypto: digest update failed (\(CryptoError.lastOpenSSLError()))")
        }
    }

    /// The digest; the context is spent.
    func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var count: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &count) == 1 else {
            fatalError("libcrypto: digest final failed (\(CryptoError.lastOpenSSLError()))")
        }
        return Array(digest.prefix(Int(count)))
    }
}
