#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// Calls `body` with the string's UTF-8 bytes. `withUTF8` is mutating, so a parameter must
    /// be copied to call it (a retain and a release, for every value the writer stores); a
    /// native string is read in place here.
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }

    /// True when both strings have the same UTF-8 bytes. `==` also equates canonically
    /// equivalent strings ("é" and "e\u{301}"), which SQLite's UNIQUE columns tell apart.
    func hasSameUTF8(as other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return other.withUTF8Bytes { hasSameUTF8(as: $0) }
    }

    /// True when the string's UTF-8 is exactly `bytes`.
    func hasSameUTF8(as bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        withUTF8Bytes { $0.hasSameBytes(as: bytes) }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// True when both buffers hold the same bytes.
    func hasSameBytes(as other: UnsafeBufferPointer<UInt8>) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }
}
