#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the parts of an ARN are in its UTF-8 bytes, split as `ARN(_:)` splits it.
///
/// For the normalizer's hot paths (several ARNs per event): `ARN` makes a String of each
/// part, most of which are only compared and dropped; here the parts are compared as bytes,
/// and only a part that is kept becomes a String.
struct ARNBytes {
    let bytes: UnsafeBufferPointer<UInt8>
    let partition: Range<Int>
    let service: Range<Int>
    let region: Range<Int>
    let account: Range<Int>
    /// Where the resource starts; it runs to the end.
    let resourceStart: Int

    /// Nil where `ARN(_:)` is nil: not `arn:`, fewer than five colons, or an empty
    /// partition or service.
    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count >= 4, bytes[0] == UInt8(ascii: "a"), bytes[1] == UInt8(ascii: "r"), bytes[2] == UInt8(ascii: "n"),
            bytes[3] == UInt8(ascii: ":")
        else { return nil }
        var colons = (0, 0, 0, 0)
        var found = 0
        for i in 4..<bytes.count where bytes[i] == UInt8(ascii: ":") {
            switch found {
            case 0: colons.0 = i
            case 1: colons.1 = i
            case 2: colons.2 = i
            default: colons.3 = i
            }
            found += 1
            if found == 4 { break }
        }
        guard found == 4, colons.0 > 4, colons.1 > colons.0 + 1 else { return nil }
        self.bytes = bytes
        partition = 4..<colons.0
        service = (colons.0 + 1)..<colons.1
        region = (colons.1 + 1)..<colons.2
        account = (colons.2 + 1)..<colons.3
        resourceStart = colons.3 + 1
    }

    var resource: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: bytes[resourceStart...]) }

    /// `ARN.service == name`, for an ASCII `name`. Equal bytes are what a String comparison
    /// finds here: no other text is canonically equivalent to a lowercase ASCII name.
    func serviceIs(_ name: StaticString) -> Bool {
        Self.equal(bytes, service, name)
    }

    static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        range.count == literal.utf8CodeUnitCount
            && memcmp(bytes.baseAddress! + range.lowerBound, literal.utf8Start, range.count) == 0
    }

    /// `ARN.isKMSKey` of the ARN whose text is `text`.
    func isKMSKey(_ text: String) -> Bool {
        serviceIs("kms") && resourceHasPrefix(text, "key/") && bytes.count - resourceStart > 4
    }

    /// `ARN.isKMSAlias` of the ARN whose text is `text`.
    func isKMSAlias(_ text: String) -> Bool {
        serviceIs("kms") && resourceHasPrefix(text, "alias/")
    }

    /// `ARN.hasPrefix(resource, prefix)`: decided by the bytes, unless a non-ASCII byte
    /// follows the prefix; then `ARN.hasPrefix` decides on the resource's characters.
    private func resourceHasPrefix(_ text: String, _ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard bytes.count - resourceStart >= n, Self.equal(bytes, resourceStart..<(resourceStart + n), prefix) else {
            return false
        }
        let next = resourceStart + n
        if next == bytes.count || bytes[next] < 0x80 { return true }
        return ARN.hasPrefix(text[text.utf8.index(text.utf8.startIndex, offsetBy: resourceStart)...], prefix.description)
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

extension String {
    /// Calls `body` with the ARN split from this text's bytes, nil when it is not one.
    func withARNBytes<T>(_ body: (ARNBytes?) -> T) -> T {
        var text = self
        return text.withUTF8 { body(ARNBytes($0)) }
    }
}
